"""Replay recorded SCADA into ``raw/`` as live SCADA would arrive: one file per ten-minute interval.

The local stack's data source (the seed's "generated data", but real): rows of the La Haute Borne file
are grouped by interval and uploaded in time order, each file holding the original lines under the
original header, at ``speed`` times real time (600 = one interval a second; 0 = as fast as possible).
An optional backfill file first gives the dashboard a recent window at once.

Example:
    >>> plan = plan_replay(text, start="2015-06-01", days=1, backfill_days=7)   # doctest: +SKIP
    >>> [f.key for f in plan.files[:2]]                                         # doctest: +SKIP
    ['raw/replay/backfill-20150525T0000Z-20150601T0000Z.csv', 'raw/replay/2015/06/01/scada-20150601T0000Z.csv']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from windpitch.errors import DataError
from windpitch.schema import TARGET, TIME_FIELD, TURBINE_FIELD

from .store import S3Store

INTERVAL = pd.Timedelta(minutes=10)
PREFIX = "raw/replay/"


@dataclass(frozen=True)
class ReplayFile:
    key: str
    start: pd.Timestamp  # the interval's start, UTC
    body: bytes
    rows: int


@dataclass(frozen=True)
class InjectedFault:
    """A pitch fault added to the replayed data: ``offset_deg`` on one turbine's measured pitch for ``hours``
    from ``start`` (a demonstration of what the detector catches, clearly labelled where it is used).

    Example:
        >>> InjectedFault.parse("R80711,2015-05-31T10:00,4,3").offset_deg
        3.0
    """

    turbine: str
    start: pd.Timestamp
    hours: float
    offset_deg: float

    @classmethod
    def parse(cls, text: str) -> InjectedFault:
        """``TURBINE,START,HOURS,DEGREES`` (START in UTC).

        Raises:
            ValueError: with what is wrong.
        """
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValueError(f"{text!r}: expected TURBINE,START,HOURS,DEGREES, e.g. R80711,2015-05-31T10:00,4,3")
        start = pd.Timestamp(parts[1])
        return cls(
            parts[0], start.tz_localize("UTC") if start.tzinfo is None else start, float(parts[2]), float(parts[3])
        )

    def describe(self) -> str:
        return (
            f"{self.offset_deg:+g}° on {self.turbine}'s pitch from {self.start:%Y-%m-%d %H:%M} UTC for {self.hours:g} h"
        )


@dataclass(frozen=True)
class ReplayPlan:
    files: list[ReplayFile]
    skipped_lines: int  # lines without a usable timestamp (never uploaded)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def plan_replay(
    text: str,
    *,
    start: str | pd.Timestamp,
    days: float | None = None,
    backfill_days: float = 0,
    faults: tuple[InjectedFault, ...] = (),
) -> ReplayPlan:
    """The files to upload, in time order, for rows from ``start`` (UTC) for ``days`` (None: to the end),
    with ``faults`` added to the measured pitch.

    Raises:
        DataError: the text is not SCADA with a ``Date_time`` column, or ``start`` is after its last row.
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise DataError("replay: the data is empty")
    header = lines[0].rstrip("\r")
    delimiter = ";" if header.count(";") > header.count(",") else ","
    columns = header.split(delimiter)
    if TIME_FIELD not in columns:
        raise DataError(f"replay: no {TIME_FIELD} column in the header {header[:80]!r}")
    index = columns.index(TIME_FIELD)
    rows = lines[1:]
    cells = [parts[index] if len(parts := row.split(delimiter, index + 1)) > index else "" for row in rows]
    stamps = pd.to_datetime(pd.Series(cells), utc=True, format="ISO8601", errors="coerce")
    for fault in faults:
        rows = _inject(rows, columns, delimiter, stamps, fault)
    usable = stamps.notna().to_numpy()
    begin = pd.Timestamp(start).tz_localize("UTC") if pd.Timestamp(start).tzinfo is None else pd.Timestamp(start)
    last = stamps.max()
    if pd.isna(last) or begin > last:
        raise DataError(f"replay: start {begin.isoformat()} is after the data's last row ({last})")
    end = begin + pd.Timedelta(days=days) if days is not None else last + INTERVAL
    # Nanoseconds since the epoch, UTC, of each row's interval (NaT rows are masked out by ``usable``).
    slot = stamps.dt.floor(INTERVAL).dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)
    order = np.argsort(slot, kind="stable")
    order = order[usable[order]]
    files: list[ReplayFile] = []
    if backfill_days > 0:
        since = begin - pd.Timedelta(days=backfill_days)
        picked = order[(slot[order] >= since.value) & (slot[order] < begin.value)]
        if len(picked):
            key = f"{PREFIX}backfill-{_stamp(since)}-{_stamp(begin)}.csv"
            files.append(ReplayFile(key, since, _body(header, rows, picked), len(picked)))
    live = order[(slot[order] >= begin.value) & (slot[order] < end.value)]
    if len(live):
        bounds = np.flatnonzero(np.diff(slot[live])) + 1
        for group in np.split(live, bounds):
            interval = pd.Timestamp(int(slot[group[0]]), tz="UTC")
            key = f"{PREFIX}{interval:%Y/%m/%d}/scada-{_stamp(interval)}.csv"
            files.append(ReplayFile(key, interval, _body(header, rows, group), len(group)))
    return ReplayPlan(files, int((~usable).sum()))


def replay(
    plan: ReplayPlan,
    store: S3Store,
    *,
    speed: float = 600.0,
    progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Upload the plan's files at ``speed`` times real time; return the rows uploaded."""
    from tqdm import tqdm  # a development tool: the batch Lambda never replays

    pace = INTERVAL.total_seconds() / speed if speed > 0 else 0.0
    began = clock()
    uploaded = 0
    live = [f for f in plan.files if not f.key.startswith(f"{PREFIX}backfill-")]
    first_live = live[0].start if live else None
    with tqdm(total=plan.rows, unit="rows", desc="replay", disable=not progress) as bar:
        for item in plan.files:
            if pace and first_live is not None and item.start >= first_live:
                due = began + (item.start - first_live) / INTERVAL * pace  # on a schedule: no drift
                if (wait := due - clock()) > 0:
                    sleep(wait)
            store.put(item.key, item.body, "text/csv")
            uploaded += item.rows
            bar.update(item.rows)
            bar.set_postfix_str(f"{item.start:%Y-%m-%d %H:%M} UTC", refresh=False)
    return uploaded


def _inject(rows: list[str], columns: list[str], delimiter: str, stamps: pd.Series, fault: InjectedFault) -> list[str]:
    """``rows`` with the fault's offset added to the turbine's ``Ba_avg`` cells inside its window."""
    if TURBINE_FIELD not in columns or TARGET not in columns:
        raise DataError(f"replay: cannot inject a fault without {TURBINE_FIELD} and {TARGET} columns")
    name, pitch = columns.index(TURBINE_FIELD), columns.index(TARGET)
    end = fault.start + pd.Timedelta(hours=fault.hours)
    inside = ((stamps >= fault.start) & (stamps < end)).to_numpy()
    out = list(rows)
    for i in np.flatnonzero(inside):
        parts = out[i].rstrip("\r").split(delimiter)
        if len(parts) == len(columns) and parts[name] == fault.turbine and parts[pitch].strip():
            parts[pitch] = f"{float(parts[pitch]) + fault.offset_deg:.6g}"
            out[i] = delimiter.join(parts)
    return out


def _body(header: str, rows: list[str], picked: npt.NDArray[np.intp]) -> bytes:
    return (header + "\n" + "\n".join(rows[i].rstrip("\r") for i in picked) + "\n").encode()


def _stamp(moment: pd.Timestamp) -> str:
    return moment.tz_convert("UTC").strftime("%Y%m%dT%H%MZ")
