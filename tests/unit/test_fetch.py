"""``windpitch data fetch`` without the network: pip is replaced by a fake that drops an sdist."""

import gzip
import hashlib
import io
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from windpitch.errors import DataError
from windpitch_train import fetch as fetch_module
from windpitch_train.datasets import DATA_FILE

CSV = b"Wind_turbine_name,Date_time,Ba_avg\nR80711,2014-01-01T01:00:00+01:00,1.0\n"


def fake_sdist(path: Path, csv: bytes = CSV) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr(fetch_module.CSV_MEMBER, csv)
        archive.writestr("plant_data.csv", b"other")
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"openoa-3.2/{fetch_module.ZIP_MEMBER}")
        info.size = len(inner.getvalue())
        tar.addfile(info, io.BytesIO(inner.getvalue()))


@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(cmd: list[str], check: bool = False, **_: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append(cmd)
        fake_sdist(Path(cmd[cmd.index("-d") + 1]) / "openoa-3.2.tar.gz")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(fetch_module.subprocess, "run", run)
    return calls


def test_fetch_verifies_and_caches_the_csv_as_gzip(
    fake_pip: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_module, "DATA_CONTENT_SHA256", hashlib.sha256(CSV).hexdigest())
    path = fetch_module.fetch(tmp_path)
    assert path == tmp_path / DATA_FILE
    assert gzip.decompress(path.read_bytes()) == CSV
    assert fake_pip[0][-3:-1] == ["openoa==3.2", "-d"]
    assert "--no-binary" in fake_pip[0]
    fetch_module.fetch(tmp_path)  # cached: pip is not called again
    assert len(fake_pip) == 1


def test_fetch_refuses_a_file_with_the_wrong_hash(fake_pip: list[list[str]], tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"SHA-256 \w+ is not the expected"):
        fetch_module.fetch(tmp_path)
    assert not (tmp_path / DATA_FILE).exists()


def test_fetch_reports_a_failed_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fetch_module.subprocess, "run", lambda cmd, **_: subprocess.CompletedProcess(cmd, 1))
    with pytest.raises(DataError, match=r"pip download openoa==3\.2 failed"):
        fetch_module.fetch(tmp_path)


def test_an_sdist_without_the_data_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "openoa-3.2.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("openoa-3.2/setup.py"), io.BytesIO(b""))
    with pytest.raises(DataError, match=r"no examples/data/la_haute_borne\.zip inside"):
        fetch_module.extract_csv(path)
