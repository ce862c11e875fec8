"""Pitch-fault detection: a persistent shift of measured minus expected pitch, judged where pitch is steady.

Healthy residuals are not equally noisy everywhere (docs/benchmarks.md, bench/fault_injection.py): in steady
partial load the blade sits at fine pitch and the model is within 0.2° nine times in ten, while at cut-in,
in starts and stops it is off by degrees. So the detector judges two regimes apart and ignores the rest:

* **steady**: producing between 5% and 80% of the turbine's rated power with the expected pitch at fine
  pitch (below 2°) — a 2° calibration slip stands out here;
* **pitching**: producing from 80% of rated power, or with the expected pitch above 2° — noisier, but where a
  stuck blade shows (the wind rises, the controller would pitch, the blade does not).

In each regime the statistic is the **rolling median** of the last ``window`` judged residuals (robust to an
outlier, unlike "every interval over a threshold"), provided they lie within ``max_span_hours``. A window
whose median passes the regime's threshold is *flagged*; flagged windows of one sign that touch or overlap
make an **event**. The event is known when its first window is complete (``detected_at``); it stays open
until ``close_after`` judged intervals past its last flagged window.

For an operator, each event carries the estimated offset (median residual over its judged intervals, with a
95% interval from the median's standard error), a fault class — *stuck* (the measured pitch does not move
while the expected does), *drift* (the residual grows across the event), *offset* (otherwise) — and its
median and peak residual, with the settings that raised it.

One implementation: the batch (``windpitch_batch.dashboard``) and the benchmark (``bench/fault_injection.py``)
both call :func:`detect`.

Example:
    >>> import numpy as np
    >>> n = 48
    >>> t = np.arange(n) * 600
    >>> residual = np.where((t >= 12 * 600) & (t < 30 * 600), 3.0, 0.0)
    >>> power, expected, measured = np.full(n, 800.0), np.full(n, -1.0), -1.0 + residual
    >>> [e] = detect("R1", Series(t, residual, measured, expected, power), rated_kw=2050.0)
    >>> e.start, e.end, e.fault_class, e.estimated_offset_deg, e.open
    ('1970-01-01T02:00:00Z', '1970-01-01T05:00:00Z', 'offset', 3.0, False)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from . import settings

CADENCE_S: Final = 600  # ten-minute SCADA
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DetectorSettings:
    """What raises an event. Defaults come from the injected-fault benchmark (docs/benchmarks.md)."""

    # The three the template exposes: their defaults live with the other settings (windpitch.settings).
    steady_threshold_deg: float = settings.DETECTOR_STEADY_THRESHOLD_DEG.default
    pitching_threshold_deg: float = settings.DETECTOR_PITCHING_THRESHOLD_DEG.default
    window: int = settings.DETECTOR_WINDOW_INTERVALS.default
    pitching_window: int = 3  # above rated the wind seldom stays long: a stuck blade shows in a few intervals
    max_span_hours: float = 3.0  # a window's intervals lie within this span, or it gives no verdict
    steady_power_band: tuple[float, float] = (0.05, 0.80)  # of rated power
    fine_pitch_deg: float = 2.0  # expected pitch below this: the blade sits at fine pitch
    close_after: int = 6  # judged intervals past the last flagged window that end an event
    fleet_min_others: int = 2  # judged turbines at the same time that make a fleet reference
    stuck_window: int = 4  # judged intervals in which a blade that does not move while it should is stuck
    stuck_still_deg: float = 0.05  # the measured pitch's range: "does not move"
    stuck_expected_deg: float = 2.0  # the expected pitch's range: "should move"

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DetectorSettings:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        if "steady_power_band" in known:
            known["steady_power_band"] = tuple(known["steady_power_band"])
        return cls(**known)


@dataclass(frozen=True)
class FaultEvent:
    """One detected pitch fault on one turbine."""

    turbine: str
    start: str  # the first interval the fault moved (of those the flagged windows judged)
    end: str  # the end of the last such interval
    detected_at: str  # when the first flagged window was complete: the earliest an operator could know
    open: bool  # still flagged near the end of the data seen
    intervals: int  # judged intervals inside the event
    estimated_offset_deg: float  # median residual over them
    offset_uncertainty_deg: float  # half-width of its 95% interval
    fault_class: str  # "offset", "stuck" or "drift"
    median_residual_deg: float
    peak_residual_deg: float  # signed: the residual of largest magnitude
    settings: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


STEADY, PITCHING = 1, 2
STUCK = 3  # a window flagged because the blade does not move (not a regime of the series)


def regimes(
    residual: FloatArray,
    expected: FloatArray,
    power: FloatArray,
    rated_kw: FloatArray | float,
    settings: DetectorSettings,
) -> npt.NDArray[np.int8]:
    """Per interval: 0 not judged, :data:`STEADY` or :data:`PITCHING`."""
    share = np.asarray(power, dtype=np.float64) / rated_kw
    low, high = settings.steady_power_band
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(residual) & np.isfinite(expected) & (share >= low)
        steady = usable & (share < high) & (expected < settings.fine_pitch_deg)
    out = np.zeros(len(residual), dtype=np.int8)
    out[usable] = PITCHING
    out[steady] = STEADY
    return out


@dataclass(frozen=True)
class Window:
    """A flagged window: its judged intervals (indices into the series), its regime and its median."""

    members: tuple[int, ...]
    regime: int
    median: float

    @property
    def first(self) -> int:
        return self.members[0]

    @property
    def last(self) -> int:
        return self.members[-1]


def exceedance(
    residual: FloatArray,
    expected: FloatArray,
    power: FloatArray,
    rated_kw: FloatArray | float,
    settings: DetectorSettings,
) -> npt.NDArray[np.bool_]:
    """Per interval: judged, and beyond its regime's threshold. A row-by-row flag (the predictions dataset's
    ``anomaly``), with no persistence and no fleet: the faults are :func:`detect`'s events.

    Example:
        >>> exceedance(np.array([2.0, 2.0, 0.1]), np.array([-1.0, 8.0, -1.0]), np.array([700.0, 1900, 700]),
        ...            2050.0, DetectorSettings()).tolist()
        [True, False, False]
    """
    regime = regimes(residual, expected, power, rated_kw, settings)
    threshold = np.where(regime == STEADY, settings.steady_threshold_deg, settings.pitching_threshold_deg)
    with np.errstate(invalid="ignore"):
        return (regime > 0) & (np.abs(residual) > threshold)


def flagged_windows(
    seconds: npt.NDArray[np.int64], residual: FloatArray, regime: npt.NDArray[np.int8], settings: DetectorSettings
) -> list[Window]:
    """Every flagged window, in the order their last intervals end."""
    found: list[Window] = []
    for kind, w, threshold in (
        (STEADY, settings.window, settings.steady_threshold_deg),
        (PITCHING, settings.pitching_window, settings.pitching_threshold_deg),
    ):
        idx = np.flatnonzero(regime == kind)
        if len(idx) < w:
            continue
        medians = np.median(np.lib.stride_tricks.sliding_window_view(residual[idx], w), axis=1)
        first, last = idx[: len(idx) - w + 1], idx[w - 1 :]
        within = seconds[last] - seconds[first] <= settings.max_span_hours * 3600
        hit = np.flatnonzero(within & (np.abs(medians) > threshold))
        found += [Window(tuple(int(i) for i in idx[k : k + w]), kind, float(medians[k])) for k in hit]
    return sorted(found, key=lambda f: (f.last, f.first))


def stuck_windows(
    seconds: npt.NDArray[np.int64],
    residual: FloatArray,
    series: tuple[FloatArray, FloatArray, FloatArray],
    regime: npt.NDArray[np.int8],
    settings: DetectorSettings,
) -> list[Window]:
    """Windows near rated power where the measured pitch stands still (to 0.05°) while the expected moves by
    2° or more: a stuck blade as the wind crosses rated speed. Near rated only: at low power the blade rests
    at fine pitch while the model's expectation wobbles (the healthy period has such windows daily)."""
    measured, expected, share = series
    w = settings.stuck_window
    with np.errstate(invalid="ignore"):
        near_rated = share >= settings.steady_power_band[1]
    idx = np.flatnonzero((regime > 0) & np.isfinite(measured))
    if len(idx) < w:
        return []
    view = np.lib.stride_tricks.sliding_window_view
    still = np.ptp(view(measured[idx], w), axis=1) <= settings.stuck_still_deg
    moving = np.ptp(view(expected[idx], w), axis=1) >= settings.stuck_expected_deg
    first, last = idx[: len(idx) - w + 1], idx[w - 1 :]
    within = seconds[last] - seconds[first] <= settings.max_span_hours * 3600
    rated = view(near_rated[idx], w).sum(axis=1) * 2 >= w  # half the window near or above rated power
    medians = np.median(view(residual[idx], w), axis=1)
    hit = np.flatnonzero(still & moving & rated & within & (medians != 0))
    return [Window(tuple(int(i) for i in idx[k : k + w]), STUCK, float(medians[k])) for k in hit]


@dataclass(frozen=True)
class Series:
    """One turbine's scored intervals: seconds since the epoch (ascending, unique), residual, measured and
    expected pitch (degrees), and active power (kW)."""

    seconds: npt.ArrayLike
    residual: npt.ArrayLike
    measured: npt.ArrayLike
    expected: npt.ArrayLike
    power: npt.ArrayLike


def detect(
    turbine: str,
    series: Series,
    rated_kw: float,
    *,
    settings: DetectorSettings | None = None,
    reference: npt.ArrayLike | None = None,
) -> list[FaultEvent]:
    """Fault events in one turbine's series.

    ``reference``: the fleet's residual at the same times (:func:`fleet_reference`), NaN where there is none.
    Where it is known, the detector judges the turbine's residual *minus* it: errors the model makes for the
    whole farm at once (weather it has not learned) cancel, and a fault on one turbine stands out.
    """
    settings = settings or DetectorSettings()
    t = np.asarray(series.seconds, dtype=np.int64)
    r, m, e = (np.asarray(a, dtype=np.float64) for a in (series.residual, series.measured, series.expected))
    if len(t) == 0:
        return []
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float64)
        r = np.where(np.isfinite(ref), r - ref, r)
    p = np.asarray(series.power, dtype=np.float64)
    regime = regimes(r, e, p, rated_kw, settings)
    judged = np.flatnonzero(regime > 0)
    events = []
    windows = sorted(
        flagged_windows(t, r, regime, settings) + stuck_windows(t, r, (m, e, p / rated_kw), regime, settings),
        key=lambda f: (f.last, f.first),
    )
    for group in _merge(t, windows, settings):
        after = np.count_nonzero(judged > group[-1].last)
        events.append(_event(turbine, (t, r, m, e), group, bool(after < settings.close_after), settings))
    return events


def fleet_reference(
    residuals: dict[str, tuple[npt.NDArray[np.int64], FloatArray, npt.NDArray[np.bool_]]], min_others: int = 2
) -> dict[str, FloatArray]:
    """Per turbine, the median residual of the *other* turbines judged at the same times (NaN if too few).

    ``residuals``: turbine → (seconds, residual, judged). A farm of one turbine gets no reference.

    Example:
        >>> import numpy as np
        >>> t = np.array([0, 600])
        >>> ref = fleet_reference({k: (t, np.array([v, v]), np.ones(2, bool)) for k, v in
        ...                        {"A": 5.0, "B": 1.0, "C": 2.0, "D": 3.0}.items()})
        >>> ref["A"].tolist(), ref["B"].tolist()
        ([2.0, 2.0], [3.0, 3.0])
    """
    names = sorted(residuals)
    if len(names) <= min_others:
        return {n: np.full(len(residuals[n][0]), np.nan) for n in names}
    times = np.unique(np.concatenate([residuals[n][0] for n in names]))
    grid = np.full((len(names), len(times)), np.nan)
    for row, name in enumerate(names):
        seconds, residual, judged = residuals[name]
        grid[row, np.searchsorted(times, seconds)] = np.where(judged, residual, np.nan)
    out = {}
    for row, name in enumerate(names):
        others = np.delete(grid, row, axis=0)
        enough = np.count_nonzero(np.isfinite(others), axis=0) >= min_others
        median = np.full(len(times), np.nan)
        if enough.any():
            median[enough] = np.nanmedian(others[:, enough], axis=0)
        out[name] = median[np.searchsorted(times, residuals[name][0])]
    return out


def _merge(t: npt.NDArray[np.int64], windows: list[Window], settings: DetectorSettings) -> list[list[Window]]:
    """Flagged windows of one sign that overlap, or follow within ``max_span_hours``, make one event (a fault
    seen in the steady regime, then through a stretch the detector does not judge, then again, is one fault)."""
    groups: list[list[Window]] = []
    for window in windows:
        current = groups[-1] if groups else None
        if (
            current is not None
            and np.sign(current[0].median) == np.sign(window.median)
            and t[window.first] <= t[max(w.last for w in current)] + settings.max_span_hours * 3600
        ):
            current.append(window)
        else:
            groups.append([window])
    return groups


def _event(
    turbine: str,
    series: tuple[npt.NDArray[np.int64], FloatArray, FloatArray, FloatArray],
    group: list[Window],
    is_open: bool,
    settings: DetectorSettings,
) -> FaultEvent:
    t, r, m, e = series
    # The estimate: the median over the intervals the fault moved, those nearer the flagging windows' median
    # than zero. A median over all the windows' intervals is dragged by the healthy ones at a fault's edges
    # (a 1 h fault is 6 of 10 of them); the windows' medians alone, by windows only half in the fault.
    members = np.array(sorted({i for w in group for i in w.members}))
    rough = float(np.median([w.median for w in group]))
    shifted = np.abs(r[members] - rough) < np.abs(r[members])
    moved_at = members[shifted] if shifted.any() else members
    moved = r[moved_at]
    median = float(np.median(moved))
    # Its 95% interval: the standard error of a median, 1.2533 σ/√n with σ = 1.4826 MAD, over those
    # intervals; never below the export's rounding.
    mad = float(np.median(np.abs(moved - median)))
    half_width = max(1.96 * 1.2533 * 1.4826 * mad / np.sqrt(len(moved)), 0.01)
    # The event runs from the first interval the fault moved to the last (the windows reach past both ends).
    first, last = int(moved_at[0]), int(moved_at[-1])
    inside = np.arange(min(w.first for w in group), max(w.last for w in group) + 1)
    judged = inside[np.isfinite(r[inside])]
    peak = float(r[judged][np.argmax(np.abs(r[judged]))])
    return FaultEvent(
        turbine=turbine,
        start=_iso(t[first]),
        end=_iso(t[last] + CADENCE_S),
        detected_at=_iso(t[group[0].last] + CADENCE_S),
        open=bool(is_open),
        intervals=len(moved_at),
        estimated_offset_deg=round(median, 3),
        offset_uncertainty_deg=round(half_width, 3),
        fault_class=_fault_class(t[members], r[members], m[members], e[members]),
        median_residual_deg=round(float(np.median(r[judged])), 3),
        peak_residual_deg=round(peak, 3),
        settings=settings.as_dict(),
    )


def _fault_class(t: npt.NDArray[np.int64], r: FloatArray, m: FloatArray, e: FloatArray) -> str:
    """stuck: the measured pitch stands still while the expected moves; drift: the residual grows; else offset."""
    finite = np.isfinite(m)
    if finite.sum() >= 3 and np.ptp(m[finite]) <= 0.05 and np.ptp(e) >= 1.0:
        return "stuck"
    if len(r) >= 6:
        hours = (t - t[0]) / 3600.0
        slope = np.polyfit(hours, r, 1)[0] if np.ptp(hours) > 0 else 0.0
        thirds = np.array_split(r, 3)
        growth = float(np.median(thirds[-1]) - np.median(thirds[0]))
        if abs(growth) >= 1.0 and np.sign(growth) == np.sign(np.median(r)) and abs(slope) * np.ptp(hours) >= 1.0:
            return "drift"
    return "offset"


def _iso(seconds: np.int64 | int) -> str:
    return str(np.datetime64(int(seconds), "s")) + "Z"
