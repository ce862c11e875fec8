"""Injected pitch faults on a healthy period: the harness behind ``bench/fault_injection.py`` and the
real-data test that recomputes its headline numbers (tests/integration/test_detection_real_data.py).

Faults are added to one turbine's *measured* pitch at a random turbine, onset and sign; the detector is
:func:`windpitch.detection.detect`, the batch's own, with the fleet's residual as reference. What *caught*,
*observable* and *delay* mean is in the benchmark's docstring and docs/benchmarks.md.

Example:
    >>> FAULTS[8].label, FAULTS[-1].label
    ('±3° offset, 1 h', 'drift 0→4° over 24 h')
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from windpitch.artifacts import default_model_dir, read_card
from windpitch.detection import DetectorSettings, FaultEvent, Series, detect, fleet_reference, regimes
from windpitch.runtime import PitchModel
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada

from .datasets import resolve_data_path
from .fitting import Split

HOUR = 3600
BEFORE, AFTER = 2 * 24 * HOUR, 24 * HOUR  # the window each trial runs the detector on, around the fault
# A stuck pitch is observable only when the wind crosses rated speed during it (a few percent of random
# onsets): twenty times the trials, so the observable ones number in the tens.
STUCK_TRIALS = {"stuck": 20}
STUCK_ABOVE_RATED_INTERVALS = 3


@dataclass
class Turbine:
    name: str
    rated_kw: float
    seconds: np.ndarray
    measured: np.ndarray
    expected: np.ndarray
    power: np.ndarray
    wind: np.ndarray
    reference: np.ndarray | None = None  # the other turbines' residual at the same times (the batch's view)


@dataclass(frozen=True)
class Fault:
    kind: str  # "offset", "stuck", "drift"
    magnitude: float  # degrees (offset, drift's final value); 0 for stuck
    hours: float

    @property
    def label(self) -> str:
        if self.kind == "offset":
            return f"±{self.magnitude:g}° offset, {self.hours:g} h"
        if self.kind == "drift":
            return f"drift 0→{self.magnitude:g}° over {self.hours:g} h"
        return f"stuck pitch, {self.hours:g} h"


FAULTS = (
    *(Fault("offset", m, h) for m in (1.0, 2.0, 3.0, 4.0) for h in (1.0, 2.0, 6.0, 24.0)),
    Fault("stuck", 0.0, 6.0),
    Fault("stuck", 0.0, 24.0),
    Fault("drift", 4.0, 24.0),
)


def healthy_period(data: str | None) -> tuple[list[Turbine], float]:
    """Each turbine's test-period series scored by the trained model, and the card's rated wind speed."""
    frame, _ = load_scada(resolve_data_path(data))
    _, test = Split().masks(frame["Date_time"])
    period = frame[test.to_numpy()].sort_values(["Wind_turbine_name", "Date_time"]).reset_index(drop=True)
    model = PitchModel.load()
    inputs = frame_inputs(period)
    expected = model.predict_inputs(inputs)
    seconds = period["Date_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]").astype(np.int64)
    turbines = []
    for name, rows in period.groupby("Wind_turbine_name").indices.items():
        turbines.append(
            Turbine(
                name,
                model.farm.rated_kw(name),
                seconds[rows],
                period["Ba_avg"].to_numpy(np.float64)[rows],
                expected[rows],
                inputs[rows, 0],
                inputs[rows, 1],
            )
        )
    settings = DetectorSettings()
    judged = {
        t.name: (
            t.seconds,
            t.measured - t.expected,
            regimes(t.measured - t.expected, t.expected, t.power, t.rated_kw, settings) > 0,
        )
        for t in turbines
    }
    references = fleet_reference(judged, settings.fleet_min_others)
    for t in turbines:
        t.reference = references[t.name]
    return turbines, float(read_card(default_model_dir())["rated_wind_speed_ms"])


def inject(turbine: Turbine, fault: Fault, onset: int, sign: float) -> np.ndarray:
    """The measured pitch with the fault in it."""
    measured = turbine.measured.copy()
    during = (turbine.seconds >= onset) & (turbine.seconds < onset + fault.hours * HOUR)
    if fault.kind == "offset":
        measured[during] += sign * fault.magnitude
    elif fault.kind == "drift":
        measured[during] += sign * fault.magnitude * (turbine.seconds[during] - onset) / (fault.hours * HOUR)
    elif during.any():
        measured[during] = measured[np.flatnonzero(during)[0]]  # frozen at its value at onset
    return measured


def run(turbine: Turbine, measured: np.ndarray, part: slice, settings: DetectorSettings) -> list[FaultEvent]:
    series = Series(
        turbine.seconds[part],
        measured[part] - turbine.expected[part],
        measured[part],
        turbine.expected[part],
        turbine.power[part],
    )
    reference = None if turbine.reference is None else turbine.reference[part]
    return detect(turbine.name, series, turbine.rated_kw, settings=settings, reference=reference)


def seconds_of(iso: str) -> int:
    return int(np.datetime64(iso.removesuffix("Z"), "s").astype(np.int64))


@dataclass
class Trial:
    caught: bool
    observable: bool
    delay_h: float | None
    offset_error: float | None  # |estimated - injected| for offsets


def trial(
    turbine: Turbine, fault: Fault, onset: int, sign: float, *, settings: DetectorSettings, rated_ws: float
) -> Trial:
    end = onset + int(fault.hours * HOUR)
    part = slice(*np.searchsorted(turbine.seconds, [onset - BEFORE, end + AFTER]))
    healthy = {(e.start, np.sign(e.median_residual_deg)) for e in run(turbine, turbine.measured, part, settings)}
    events = run(turbine, inject(turbine, fault, onset, sign), part, settings)
    hits = [
        e
        for e in events
        if seconds_of(e.start) < end + HOUR
        and seconds_of(e.end) > onset
        and (e.start, np.sign(e.median_residual_deg)) not in healthy
    ]
    during = (turbine.seconds >= onset) & (turbine.seconds < end)
    if fault.kind == "stuck":
        wind = turbine.wind[during]
        # The wind crosses rated speed: it starts below and stays above for at least 30 minutes (a single
        # ten-minute gust moves the expected pitch for one interval, which no persistence test can tell from noise).
        above = np.count_nonzero(wind >= rated_ws) if len(wind) else 0
        observable = bool(len(wind)) and bool(above >= STUCK_ABOVE_RATED_INTERVALS) and bool(wind[0] < rated_ws)
    else:
        residual = turbine.measured - turbine.expected
        judged = regimes(residual, turbine.expected, turbine.power, turbine.rated_kw, settings)[during] > 0
        observable = bool(judged.sum() >= 0.5 * fault.hours * 6)
    if not hits:
        return Trial(False, observable, None, None)
    first = min(hits, key=lambda e: e.detected_at)
    delay = (seconds_of(first.detected_at) - onset) / HOUR
    error = abs(first.estimated_offset_deg - sign * fault.magnitude) if fault.kind == "offset" else None
    return Trial(True, observable, delay, error)


def trials(
    turbines: list[Turbine], fault: Fault, count: int, seed: int, *, settings: DetectorSettings, rated_ws: float
) -> Iterator[Trial]:
    rng = np.random.default_rng(
        [seed, int(fault.magnitude * 10), int(fault.hours), zlib.crc32(fault.kind.encode()) % 1000]
    )
    for _ in range(count):
        turbine = turbines[rng.integers(len(turbines))]
        first, last = int(turbine.seconds[0]), int(turbine.seconds[-1] - fault.hours * HOUR)
        onset = int(rng.integers(first, last) // 600 * 600)
        yield trial(turbine, fault, onset, float(rng.choice([-1.0, 1.0])), settings=settings, rated_ws=rated_ws)


def false_alarms(turbines: list[Turbine], settings: DetectorSettings) -> tuple[int, float]:
    """Events on the unaltered period, and the turbine-months they are spread over."""
    events = sum(len(run(t, t.measured, slice(None), settings)) for t in turbines)
    months = sum((t.seconds[-1] - t.seconds[0]) / (30.44 * 24 * HOUR) for t in turbines)
    return events, months


def summarise(results: list[Trial], fault: Fault) -> dict[str, Any]:
    seen = [r for r in results if r.observable]
    caught = [r for r in results if r.caught]
    caught_seen = [r for r in seen if r.caught]
    errors = [r.offset_error for r in caught if r.offset_error is not None]
    return {
        "fault": fault.label,
        "trials": len(results),
        "caught": len(caught) / len(results),
        "observable": len(seen),
        "caught_observable": len(caught_seen) / len(seen) if seen else float("nan"),
        "median_delay_h": float(np.median([r.delay_h for r in caught_seen])) if caught_seen else float("nan"),
        "offset_within_0_5": float(np.mean([e <= 0.5 for e in errors])) if errors else float("nan"),
    }
