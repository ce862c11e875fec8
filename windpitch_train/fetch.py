"""``python -m windpitch data fetch``: obtain the real La Haute Borne data from PyPI.

NREL's OpenOA ships the file in the source distribution of ``openoa==3.2``
(``examples/data/la_haute_borne.zip``, member ``la-haute-borne-data-2014-2015.csv``). PyPI is a
registry every developer and CI machine reaches, so this needs no other host. The member's SHA-256
is checked before the cached copy is written.

Source: ENGIE, La Haute Borne open data (Etalab Open Licence 2.0), as redistributed in NREL OpenOA
(BSD-3-Clause).
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Final

from windpitch.artifacts import sha256_bytes
from windpitch.errors import DataError

from .datasets import DATA_CONTENT_SHA256, DATA_FILE, cache_dir

PACKAGE: Final = "openoa==3.2"
ZIP_MEMBER: Final = "examples/data/la_haute_borne.zip"
CSV_MEMBER: Final = "la-haute-borne-data-2014-2015.csv"


def fetch(dest: Path | None = None, force: bool = False) -> Path:
    """Download (once), verify and cache the data as gzip; return its path.

    Raises:
        DataError: the download failed or the file is not the expected one.
    """
    target = (dest or cache_dir()) / DATA_FILE
    if target.exists() and not force:
        print(f"already cached: {target}", file=sys.stderr)
        return target
    with tempfile.TemporaryDirectory(prefix="windpitch-fetch-") as tmp:
        print(f"downloading the {PACKAGE} source distribution from PyPI (about 75 MB, once)…", file=sys.stderr)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", PACKAGE, "-d", tmp],
            check=False,
        )
        archives = sorted(Path(tmp).glob("openoa-*.tar.gz"))
        if result.returncode != 0 or not archives:
            raise DataError(f"pip download {PACKAGE} failed (exit {result.returncode}); is PyPI reachable?")
        csv = extract_csv(archives[0])
    actual = sha256_bytes(csv)
    if actual != DATA_CONTENT_SHA256:
        raise DataError(f"{CSV_MEMBER}: SHA-256 {actual} is not the expected {DATA_CONTENT_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with gzip.GzipFile(partial, "wb", mtime=0) as out:  # mtime=0: the same bytes on every machine
        out.write(csv)
    partial.replace(target)
    print(f"verified SHA-256 {actual[:16]}… and cached {target}", file=sys.stderr)
    return target


def extract_csv(sdist: Path) -> bytes:
    """The data CSV from inside the sdist's example zip."""
    try:
        with tarfile.open(sdist) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith(ZIP_MEMBER)), None)
            handle = tar.extractfile(member) if member else None
            if handle is None:
                raise DataError(f"{sdist.name}: no {ZIP_MEMBER} inside")
            with zipfile.ZipFile(handle) as archive:
                return archive.read(CSV_MEMBER)
    except (tarfile.TarError, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DataError(f"{sdist.name}: cannot extract {CSV_MEMBER}: {exc}") from None
