import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import OPENOA_HEADER
from windpitch.errors import DataError
from windpitch.schema import ALL_FIELDS
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada
from windpitch_train import datasets as data
from windpitch_train.datasets import content_sha256, resolve_data_path

ROWS = [
    "R80736,2014-01-01T01:00:00+01:00,-1.0,642.78003,7.1199999,0.66000003,4.6900001,181.34,182.00999",
    "R80721,2014-01-01T01:10:00+01:00,-1.01,441.06,6.3899999,-2.48,4.9400001,179.82001,177.36",
    "R80790,2014-07-01T01:00:00+02:00,,,,,,,",
]
OPENOA = (OPENOA_HEADER + "\n" + "\n".join(ROWS) + "\n").encode()


def engie_export(seed_record: dict[str, Any], rows: int = 3) -> bytes:
    """ENGIE's full export: ';'-separated, all 138 columns (the seed row, shifted in time)."""
    lines = [";".join(ALL_FIELDS)]
    for i in range(rows):
        values = dict(seed_record, Date_time=f"2017-02-08T08:{10 * i:02d}:00+01:00")
        lines.append(";".join("" if values[f] is None else str(values[f]) for f in ALL_FIELDS))
    return ("\n".join(lines) + "\n").encode()


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("compressed", [False, True])
def test_openoa_subset_loads_plain_or_gzip(tmp_path: Path, compressed: bool) -> None:
    # The name says nothing: gzip is detected by content.
    path = write(tmp_path, "scada.csv", gzip.compress(OPENOA) if compressed else OPENOA)
    frame, report = load_scada(path)
    assert (report.shape, report.delimiter, report.rows) == ("openoa", ",", 3)
    assert str(frame["Date_time"].dt.tz) == "UTC"
    assert frame["Date_time"].iloc[0] == pd.Timestamp("2014-01-01T00:00:00Z")
    assert frame["Date_time"].iloc[2] == pd.Timestamp("2014-06-30T23:00:00Z")
    assert frame["P_avg"].iloc[0] == pytest.approx(642.78003)
    assert frame["Ws_avg"].isna().iloc[2]


def test_engie_full_export_loads_all_columns(tmp_path: Path, seed_record: dict[str, Any]) -> None:
    path = write(tmp_path, "engie.csv.gz", gzip.compress(engie_export(seed_record)))
    frame, report = load_scada(path)
    assert (report.shape, report.delimiter, report.rows) == ("engie", ";", 3)
    assert set(frame.columns) == set(ALL_FIELDS)
    assert frame["Va1_avg"].isna().all()
    assert frame["Wa_max"].iloc[0] == 54.56
    assert frame["Date_time"].iloc[0] == pd.Timestamp("2017-02-08T07:00:00Z")
    inputs = frame_inputs(frame)
    assert inputs.shape == (3, 8)
    assert inputs[0, 1] == 0.18  # Ws_avg as given


def test_both_shapes_hash_alike_compressed_or_not(tmp_path: Path) -> None:
    plain = write(tmp_path, "a.csv", OPENOA)
    packed = write(tmp_path, "b.csv.gz", gzip.compress(OPENOA))
    assert content_sha256(plain) == content_sha256(packed)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        ((OPENOA_HEADER + "\n").encode(), "header only, no data rows"),
        (OPENOA.replace(b",", b"\t"), "missing column(s) Wind_turbine_name, Date_time"),
        (b"Wind_turbine_name,Ba_avg\nR1,3\n", "missing column(s) Date_time"),
        (bytes(range(256)) * 4, "not a text CSV file"),
        (gzip.compress(OPENOA * 50)[:-40], "cannot decompress or read"),
    ],
    ids=["empty", "blank", "header-only", "wrong-delimiter", "missing-column", "garbage-bytes", "truncated-gzip"],
)
def test_bad_files_raise_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(DataError) as caught:
        load_scada(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_bad_cells_are_counted_and_bad_timestamps_dropped(tmp_path: Path) -> None:
    content = OPENOA + b"R80711,not-a-date,1,2,3,4,5,6,7\nR80711,2014-01-02T00:00:00+01:00,1,oops,3,4,5,6,7\n"
    frame, report = load_scada(write(tmp_path, "s.csv", content))
    assert report.bad_timestamps == 1
    assert report.bad_numbers == {"P_avg": 1}
    assert report.rows == 4
    assert np.isnan(frame.loc[frame["Date_time"] == pd.Timestamp("2014-01-01T23:00Z"), "P_avg"]).all()


def test_data_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write(tmp_path, "x.csv", OPENOA)
    env = write(tmp_path, "y.csv", OPENOA)
    monkeypatch.setenv(data.DATA_ENV, str(env))
    assert resolve_data_path(explicit) == explicit
    assert resolve_data_path() == env
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match="WINDPITCH_DATA"):
        resolve_data_path()
    with pytest.raises(DataError, match="no such file"):
        resolve_data_path(tmp_path / "nope.csv")


def test_without_any_data_the_error_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setattr(data, "repository_root", lambda: tmp_path / "repo")
    with pytest.raises(DataError, match="python -m windpitch data fetch"):
        resolve_data_path()
