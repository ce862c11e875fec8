"""Load ENGIE La Haute Borne SCADA CSVs into a clean, typed pandas DataFrame (training side).

Two shapes are found in the wild, both read here, plain or gzip (detected by content, not name):

* the OpenOA subset: comma-separated, 9 columns (the file in ``../shared/data/la-haute-borne/``);
* ENGIE's full export: semicolon-separated, 138 columns (``_avg/_min/_max/_std`` of 34 variables).

Timestamps carry offsets (``2014-01-01T01:00:00+01:00``) and come out as UTC. A file that cannot be
SCADA (empty, header only, wrong delimiter, missing columns, not text, truncated gzip) raises
:class:`DataError` with the reason; cells that are not numbers become missing and are counted.

Example:
    >>> frame, report = load_scada("la-haute-borne-data-2014-2015.csv.gz")   # doctest: +SKIP
    >>> report.rows, report.shape                                           # doctest: +SKIP
    (420480, 'openoa')
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from .features import derive_wind_speed, time_inputs
from .schema import FIELDS, SIGNAL_INPUTS, TIME_FIELD, TURBINE_FIELD

DATA_ENV: Final = "WINDPITCH_DATA"
DATA_FILE: Final = "la-haute-borne-data-2014-2015.csv.gz"
# SHA-256 of the uncompressed CSV: the same for the shared copy and for `windpitch data fetch`.
DATA_CONTENT_SHA256: Final = "9be32aabe7e6b911f58ad3a9f292aed1e5b48cdc603b35d3feccb94f4c043cf4"
REQUIRED: Final = (TURBINE_FIELD, TIME_FIELD)
_GZIP_MAGIC: Final = b"\x1f\x8b"
_OFFSET: Final = r"(?:Z|[+-]\d{2}:?\d{2})$"


class DataError(ValueError):
    """A file that cannot be read as SCADA data; the message says which file and why."""


@dataclass
class LoadReport:
    """What loading found: the file's shape and every cell or row it had to give up."""

    path: str
    shape: str  # "openoa" (9 columns) or "engie" (the full export) or "custom"
    delimiter: str
    rows: int = 0
    bad_numbers: dict[str, int] = field(default_factory=dict)  # column -> cells that were not numbers
    bad_timestamps: int = 0  # rows without a usable Date_time (dropped unless keep_invalid)
    ignored_columns: list[str] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)  # lines that do not split into the header's fields


def repository_root() -> Path:
    """The checkout this package sits in, else the cwd.

    From the source tree (``layers/model/windpitch``) or a build of it (``.aws-sam/build/ModelLayer/
    python/windpitch``, as the local stack runs it): the nearest folder up with both the template and
    pyproject.toml.
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
    if env := os.environ.get(DATA_ENV):
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
    with _open_binary(path) as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def load_scada(
    source: str | os.PathLike[str] | bytes, name: str | None = None, keep_invalid: bool = False
) -> tuple[pd.DataFrame, LoadReport]:
    """Read one SCADA CSV (a path, or the file's bytes) into a typed frame sorted by time.

    Columns: ``Wind_turbine_name`` (str), ``Date_time`` (UTC), and every schema field the file
    has, as float64 (missing and unparseable cells are NaN).

    With ``keep_invalid`` (the batch job), rows whose timestamp is unusable are kept (NaT), and two
    columns say where each row came from and what is wrong with it, so nothing is lost silently:
    ``_line`` (1-based line in the file) and ``_problem`` ("" when the row parsed cleanly). Lines
    whose field count differs from the header's are never parsed (values would shift); their numbers
    are in ``report.bad_lines``.

    Raises:
        DataError: the file is not SCADA data (the message says why).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    try:
        text = _decoded_text(source)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{label}: cannot decompress or read: {exc}") from None
    except UnicodeDecodeError:
        raise DataError(f"{label}: not a text CSV file (bytes that are not UTF-8)") from None
    if not text.strip():
        raise DataError(f"{label}: the file is empty")
    header = text.split("\n", 1)[0].lstrip("\ufeff").strip()
    delimiter = ";" if header.count(";") > header.count(",") else ","
    columns = [c.strip() for c in header.split(delimiter)]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise DataError(
            f"{label}: missing column(s) {', '.join(missing)} (header read with delimiter "
            f"{delimiter!r}: {header[:80]!r}); expected ENGIE SCADA with ',' or ';'"
        )
    known = [c for c in columns if c in FIELDS]
    good, bad_lines = _split_by_width(text, delimiter, len(columns))
    if not good and not bad_lines:
        raise DataError(f"{label}: header only, no data rows")
    try:
        raw = pd.read_csv(
            io.StringIO(header + "\n" + "\n".join(line for _, line in good)),
            sep=delimiter,
            usecols=[*REQUIRED, *known],
            engine="c",
            dtype={TURBINE_FIELD: str, TIME_FIELD: str},
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{label}: not a readable CSV: {exc}") from None
    if not keep_invalid and raw.empty:
        raise DataError(f"{label}: no readable rows ({len(bad_lines)} lines do not have {len(columns)} fields)")
    shape = "engie" if len(known) >= 100 else "openoa" if set(known) >= set(SIGNAL_INPUTS) else "custom"
    report = LoadReport(
        label,
        shape,
        delimiter,
        ignored_columns=[c for c in columns if c not in known and c not in REQUIRED],
        bad_lines=bad_lines,
    )
    stamps, problem = _timestamps(raw[TIME_FIELD])
    columns_out: dict[str, pd.Series] = {TURBINE_FIELD: raw[TURBINE_FIELD].fillna("").str.strip(), TIME_FIELD: stamps}
    for column in known:
        cells = raw[column]
        if cells.dtype == object:
            numbers = pd.to_numeric(cells.str.strip(), errors="coerce")
            unparsed = cells.notna() & numbers.isna()
            if unparsed.any():
                report.bad_numbers[column] = int(unparsed.sum())
                problem = problem.mask(unparsed & (problem == ""), column + ": not a number")
            cells = numbers
        columns_out[column] = cells.astype(np.float64)
    frame = pd.DataFrame(columns_out)
    report.bad_timestamps = int(stamps.isna().sum())
    if keep_invalid:
        frame["_line"] = np.asarray([n for n, _ in good], dtype=np.int64)
        frame["_problem"] = problem
    else:
        frame = frame[stamps.notna()]
    frame = frame.sort_values([TIME_FIELD, TURBINE_FIELD], kind="stable", na_position="last").reset_index(drop=True)
    report.rows = len(frame)
    return frame, report


def frame_inputs(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The model's input matrix (n × len(MODEL_INPUTS)) for a loaded frame, NaN where missing."""
    n = len(frame)
    nan = np.full(n, np.nan)

    def column(name: str) -> npt.NDArray[np.float64]:
        return frame[name].to_numpy(np.float64) if name in frame else nan

    signals = {name: column(name) for name in SIGNAL_INPUTS}
    signals["Ws_avg"] = derive_wind_speed(column("Ws_avg"), column("Ws1_avg"), column("Ws2_avg"))
    times = frame[TIME_FIELD].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[m]")
    return np.column_stack([*(signals[name] for name in SIGNAL_INPUTS), time_inputs(times)])


def out_of_range(frame: pd.DataFrame) -> pd.Series:
    """Per row, the first schema field outside its range ('' if none): sensor faults and typos.

    Example:
        >>> out_of_range(pd.DataFrame({"Ot_avg": [12.0, -300.0]})).tolist()
        ['', 'Ot_avg: out of range: -300 deg_C is outside [-40, 60]']
    """
    reason = pd.Series("", index=frame.index, dtype=object)
    for name in frame.columns:
        spec = FIELDS.get(name)
        if spec is None:
            continue
        values = frame[name]
        bad = ((values < spec.low) | (values > spec.high)) & (reason == "")
        if bad.any():  # the API's wording (windpitch.records), so every entry point gives the same reason
            unit = f" {spec.unit}" if spec.unit else ""
            bounds = f" is outside [{spec.low:g}, {spec.high:g}]"
            said = f"{name}: out of range: " + values[bad].map("{:g}".format) + unit + bounds
            reason[bad] = said
    return reason


def _open_binary(path: Path) -> io.BufferedIOBase:
    with path.open("rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else path.open("rb")


def _split_by_width(text: str, delimiter: str, fields: int) -> tuple[list[tuple[int, str]], list[int]]:
    """Data lines with the header's field count (numbered from 1), and the numbers of the others.

    Counted here because pandas pads short lines and, with ``usecols``, ignores extra fields, which
    would shift values silently. SCADA exports quote nothing, so counting delimiters is exact.
    """
    numbered = [(i + 1, line.rstrip("\r")) for i, line in enumerate(text.split("\n")) if i and line.strip()]
    width = fields - 1
    good = [(n, line) for n, line in numbered if line.count(delimiter) == width]
    return good, [n for n, line in numbered if line.count(delimiter) != width]


def _timestamps(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """UTC timestamps (NaT where unusable) and, per row, why not ("" when usable)."""
    text = cells.fillna("").str.strip()
    stamps = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    # pandas reads a timestamp without offset as UTC; SCADA time without an offset is ambiguous.
    no_offset = stamps.notna() & ~text.str.contains(_OFFSET, regex=True)
    stamps = stamps.mask(no_offset)
    problem = pd.Series("", index=cells.index, dtype=object).mask(
        no_offset, TIME_FIELD + ": timestamp has no UTC offset"
    )
    problem = problem.mask(stamps.isna() & (problem == ""), TIME_FIELD + ": not an ISO 8601 timestamp")
    return stamps, problem


def _decoded_text(source: str | os.PathLike[str] | bytes) -> str:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if data[:2] == _GZIP_MAGIC:
        data = gzip.decompress(data)
    return data.decode("utf-8")
