"""Load SCADA CSVs (ENGIE's shapes, any farm) into a typed pandas DataFrame, judged by the rulebook.

Two shapes are found in the wild, both read here, plain or gzip (detected by content, not name):

* the OpenOA subset: comma-separated, 9 columns (the file in ``../shared/data/la-haute-borne/``);
* ENGIE's full export: semicolon-separated, 138 columns (``_avg/_min/_max/_std`` of 34 variables).

Timestamps carry offsets (``2014-01-01T01:00:00+01:00``) and come out as UTC. A file that cannot be
SCADA (empty, header only, wrong delimiter, missing columns, not text, truncated gzip) raises
:class:`DataError` with the reason. Every cell is judged by the rulebook (:mod:`windpitch_frames.quality`):
cells that are not numbers become missing and are counted, and with ``keep_invalid`` each row says why it
cannot be scored, in the words the API uses for the same record.

Example:
    >>> frame, report = load_scada("la-haute-borne-data-2014-2015.csv.gz")   # doctest: +SKIP
    >>> report.rows, report.shape                                           # doctest: +SKIP
    (420480, 'openoa')
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from windpitch.errors import DataError
from windpitch.farm import Farm
from windpitch.schema import FIELDS, SIGNAL_INPUTS, TIME_FIELD, TURBINE_FIELD

from .quality import judge

__all__ = ["DataError", "LoadReport", "load_scada", "open_binary"]

REQUIRED: Final = (TURBINE_FIELD, TIME_FIELD)
GZIP_MAGIC: Final = b"\x1f\x8b"


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


def load_scada(
    source: str | os.PathLike[str] | bytes,
    name: str | None = None,
    keep_invalid: bool = False,
    farm: Farm | None = None,
) -> tuple[pd.DataFrame, LoadReport]:
    """Read one SCADA CSV (a path, or the file's bytes) into a typed frame sorted by time.

    Columns: ``Wind_turbine_name`` (str), ``Date_time`` (UTC), and every schema field the file
    has, as float64 (missing and unparseable cells are NaN; out-of-range values are kept as read).

    With ``keep_invalid`` (the batch job), every row is kept, and two columns say where each came from
    and what is wrong with it under the rulebook and ``farm``'s limits (the model's fleet and ratings),
    so nothing is lost silently: ``_line`` (1-based line in the file) and ``_problem`` ("" when the row
    can be scored). Without it (training, analysts), rows whose timestamp is unusable are dropped.
    Lines whose field count differs from the header's are never parsed (values would shift); their
    numbers are in ``report.bad_lines``.

    Raises:
        DataError: the file is not SCADA data (the message says why).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    text = _decode(source, label)
    _, delimiter, columns = _header(text, label)
    known = [c for c in dict.fromkeys(columns) if c in FIELDS or c in REQUIRED]
    good, bad_lines = _split_by_width(text, delimiter, len(columns))
    if not good and not bad_lines:
        raise DataError(f"{label}: header only, no data rows")
    cells = _read_cells(good, delimiter, columns, known, label)
    if not keep_invalid and cells.empty:
        raise DataError(f"{label}: no readable rows ({len(bad_lines)} lines do not have {len(columns)} fields)")
    numeric = [c for c in known if c in FIELDS]
    shape = "engie" if len(numeric) >= 100 else "openoa" if set(numeric) >= set(SIGNAL_INPUTS) else "custom"
    report = LoadReport(
        label, shape, delimiter, ignored_columns=[c for c in columns if c not in known], bad_lines=bad_lines
    )
    judged = judge(cells, farm, files=True)
    frame, problems = judged.frame, _repeated_columns(columns, judged.problems)
    report.bad_numbers = judged.bad_cells
    report.bad_timestamps = int(frame[TIME_FIELD].isna().sum())
    if keep_invalid:
        frame["_line"] = np.asarray([n for n, _ in good], dtype=np.int64)
        frame["_problem"] = problems
    else:
        frame = frame[frame[TIME_FIELD].notna()]
    frame = frame.sort_values([TIME_FIELD, TURBINE_FIELD], kind="stable", na_position="last").reset_index(drop=True)
    report.rows = len(frame)
    return frame, report


def _decode(source: str | os.PathLike[str] | bytes, label: str) -> str:
    try:
        text = _decoded_text(source)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{label}: cannot decompress or read: {exc}") from None
    except UnicodeDecodeError:
        raise DataError(f"{label}: not a text CSV file (bytes that are not UTF-8)") from None
    if not text.strip():
        raise DataError(f"{label}: the file is empty")
    return text


def _header(text: str, label: str) -> tuple[str, str, list[str]]:
    """The header line, its delimiter (';' or ',', whichever it has more of) and its column names."""
    header = text.split("\n", 1)[0].lstrip("\ufeff").strip()
    delimiter = ";" if header.count(";") > header.count(",") else ","
    columns = [c.strip() for c in header.split(delimiter)]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise DataError(
            f"{label}: missing column(s) {', '.join(missing)} (header read with delimiter "
            f"{delimiter!r}: {header[:80]!r}); expected ENGIE SCADA with ',' or ';'"
        )
    return header, delimiter, columns


def _read_cells(
    good: list[tuple[int, str]], delimiter: str, columns: list[str], known: list[str], label: str
) -> pd.DataFrame:
    """The known columns' cells as text (NaN where empty): the rulebook judges them as the file wrote them.

    A column named twice is read once per copy (positions, not names) and refused in every row by
    :func:`_repeated_columns`, as a record giving a field twice is.
    """
    once = [i for i, c in enumerate(columns) if c in known and columns.count(c) == 1]
    try:
        cells = pd.read_csv(
            io.StringIO("\n".join(line for _, line in good)),
            sep=delimiter,
            header=None,
            names=list(range(len(columns))),
            usecols=once,
            engine="c",
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{label}: not a readable CSV: {exc}") from None
    cells.columns = [columns[i] for i in cells.columns]
    return cells


def _repeated_columns(columns: list[str], problems: pd.Series) -> pd.Series:
    repeated = {c: columns.count(c) for c in dict.fromkeys(columns) if columns.count(c) > 1 and c in FIELDS}
    for name, times in repeated.items():
        said = f"{name}: given more than once ({times} times)"
        problems = pd.Series(np.where(problems == "", said, said + "; " + problems), index=problems.index)
    return problems


def open_binary(path: Path) -> io.BufferedIOBase:
    """The file's bytes as a stream, decompressed when it is gzip (by content, not name)."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else path.open("rb")


def _split_by_width(text: str, delimiter: str, fields: int) -> tuple[list[tuple[int, str]], list[int]]:
    """Data lines with the header's field count (numbered from 1), and the numbers of the others.

    Counted here because pandas pads short lines and, with ``usecols``, ignores extra fields, which
    would shift values silently. SCADA exports quote nothing, so counting delimiters is exact.
    """
    numbered = [(i + 1, line.rstrip("\r")) for i, line in enumerate(text.split("\n")) if i and line.strip()]
    width = fields - 1
    good = [(n, line) for n, line in numbered if line.count(delimiter) == width]
    return good, [n for n, line in numbered if line.count(delimiter) != width]


def _decoded_text(source: str | os.PathLike[str] | bytes) -> str:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    return data.decode("utf-8")
