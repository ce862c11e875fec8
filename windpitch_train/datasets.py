"""Where training data is found, and how a copy is recognised (training side; never in a Lambda).

Example:
    >>> DATA_FILE
    'la-haute-borne-data-2014-2015.csv.gz'
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Final

from windpitch import settings
from windpitch.errors import DataError
from windpitch_frames.loading import open_binary

DATA_ENV: Final = settings.DATA.name
DATA_FILE: Final = "la-haute-borne-data-2014-2015.csv.gz"
ASSETS_FILE: Final = "la-haute-borne_asset_table.csv"
# SHA-256 of the uncompressed CSV: the same for the shared copy and for `windpitch data fetch`.
DATA_CONTENT_SHA256: Final = "9be32aabe7e6b911f58ad3a9f292aed1e5b48cdc603b35d3feccb94f4c043cf4"


def repository_root() -> Path:
    """The checkout this package sits in, else the cwd.

    The nearest folder up from this package with both the template and pyproject.toml.
    """
    for folder in Path(__file__).resolve().parents:
        if (folder / "template.yaml").exists() and (folder / "pyproject.toml").exists():
            return folder
    return Path.cwd()


def cache_dir() -> Path:
    """Where ``windpitch data fetch`` keeps the data (git-ignored)."""
    return repository_root() / "data"


def resolve_data_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--data PATH``, else ``$WINDPITCH_DATA``, else the shared copy, else the fetched cache.

    Raises:
        DataError: none of them exists, with what to do about it.
    """
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise DataError(f"{path}: no such file")
        return path
    if env := settings.DATA.read():
        path = Path(env)
        if not path.exists():
            raise DataError(f"${DATA_ENV}={env}: no such file")
        return path
    root = repository_root()
    candidates = [root.parent / "shared" / "data" / "la-haute-borne" / DATA_FILE, cache_dir() / DATA_FILE]
    for path in candidates:
        if path.exists():
            return path
    raise DataError(
        "no SCADA data found (looked at " + ", ".join(str(c) for c in candidates) + "): pass --data PATH, "
        f"set ${DATA_ENV}, or run `python -m windpitch data fetch`"
    )


def content_sha256(path: Path) -> str:
    """SHA-256 of the file's CSV text, decompressed if gzip (so both copies hash alike)."""
    digest = hashlib.sha256()
    with open_binary(path) as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
