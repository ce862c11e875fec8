"""Pitch anomalies: measured minus expected pitch beyond a threshold, persisting while producing.

A single ten-minute interval far from the model is usually a start, a stop or a gust inside the
averaging window; a pitch-system fault persists. So a row is *flagged* when |residual| exceeds the
threshold while the turbine produces (P_avg > 0), and an *event* is a run of at least
``min_intervals`` consecutive flagged intervals (consecutive = exactly one cadence apart).
The defaults come from the data (docs/benchmarks.md, bench/anomaly_thresholds.py): on the healthy
test period, 5° for one hour raises 0.08 events per turbine-month; for 30 minutes, 3.5.

Example:
    >>> import numpy as np
    >>> t = np.arange(0, 8 * 600, 600).astype("datetime64[s]")
    >>> r = np.array([0, 6, 7, 8, 0, 9, 9, 0.0])
    >>> [(e.intervals, e.peak_residual_deg) for e in find_events("R1", t, r, np.ones(8, bool), AnomalyRule(5, 3))]
    [(3, 8.0)]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

CADENCE_S: Final = 600  # ten-minute SCADA


@dataclass(frozen=True)
class AnomalyRule:
    threshold_deg: float = 5.0
    min_intervals: int = 6
    cadence_s: int = CADENCE_S


@dataclass(frozen=True)
class Event:
    """One anomaly: ``start`` is the first interval's timestamp, ``end`` the end of the last one."""

    turbine: str
    start: str
    end: str
    intervals: int
    peak_residual_deg: float  # signed: the residual of largest magnitude
    open: bool  # still going at the last interval seen

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def flag(
    residual: npt.NDArray[np.float64], producing: npt.NDArray[np.bool_], rule: AnomalyRule
) -> npt.NDArray[np.bool_]:
    """Row-level flag: |residual| > threshold while producing (NaN residuals are never flagged)."""
    with np.errstate(invalid="ignore"):
        return (np.abs(residual) > rule.threshold_deg) & producing & np.isfinite(residual)


def find_events(
    turbine: str,
    times: npt.NDArray[np.datetime64],
    residual: npt.NDArray[np.float64],
    producing: npt.NDArray[np.bool_],
    rule: AnomalyRule,
) -> list[Event]:
    """Events in one turbine's series (``times`` sorted ascending, unique)."""
    if len(times) == 0:
        return []
    seconds = np.asarray(times).astype("datetime64[s]").astype(np.int64)
    flagged = flag(np.asarray(residual, dtype=np.float64), np.asarray(producing, dtype=bool), rule)
    contiguous = np.concatenate([[False], np.diff(seconds) == rule.cadence_s])
    starts = flagged & ~(contiguous & np.concatenate([[False], flagged[:-1]]))
    run = np.cumsum(starts) * flagged  # 0 outside runs, k inside the k-th run
    lengths = np.bincount(run)
    events = []
    for k in np.flatnonzero(lengths >= rule.min_intervals):
        if k == 0:
            continue
        rows = np.flatnonzero(run == k)
        first, last = rows[0], rows[-1]
        peak = float(residual[rows[np.argmax(np.abs(residual[rows]))]])
        events.append(
            Event(
                turbine=turbine,
                start=_iso(seconds[first]),
                end=_iso(seconds[last] + rule.cadence_s),
                intervals=len(rows),
                peak_residual_deg=round(peak, 3),
                open=bool(last == len(seconds) - 1),
            )
        )
    return events


def _iso(seconds: np.int64) -> str:
    return str(np.datetime64(int(seconds), "s")) + "Z"
