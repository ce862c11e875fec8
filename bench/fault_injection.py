"""Injected pitch faults on the healthy test period: what the detector catches, how fast, how often it cries wolf.

    make build && .venv/bin/python bench/fault_injection.py [--trials 200] [--seeds 0 1]
        [--plot docs/detection_tradeoff.png] [--json FILE]

The test period (2015-07…12, never seen in training, no known pitch fault) is scored with the trained model.
Faults are added to one turbine's *measured* pitch, at a random turbine and a random onset over the whole
period (not hand-picked clean stretches), with a random sign:

* offsets of 1, 2, 3 and 4° lasting 1, 2, 6 and 24 h (a calibration slip, a drifting encoder);
* a stuck pitch (frozen at its value at onset) lasting 6 and 24 h;
* a drift growing from 0 to 4° over 24 h.

A fault is **caught** by an event on that turbine that overlaps it or starts within 1 h of its end and that
the same window without the fault does not raise. The **delay** is from onset to the event's
``detected_at``. A fault is **observable** when the turbine spends at least half of it in a regime the
detector judges (a stuck pitch: when the wind, below rated speed at onset, is above it for at least
30 minutes of the fault). **False alarms** are the
events raised on the unaltered period, per turbine-month. The detector is :func:`windpitch.detection.detect`,
the batch's own.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, machine

from windpitch.artifacts import default_model_dir, read_card
from windpitch.detection import DetectorSettings, FaultEvent, Series, detect, fleet_reference, regimes
from windpitch.runtime import PitchModel
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada
from windpitch_train.datasets import resolve_data_path
from windpitch_train.train import Split

HOUR = 3600
# A stuck pitch is observable only when the wind crosses rated speed during it (a few percent of random
# onsets): twenty times the trials, so the observable ones number in the tens.
STUCK_TRIALS = {"stuck": 20}
STUCK_ABOVE_RATED_INTERVALS = 3
BEFORE, AFTER = 2 * 24 * HOUR, 24 * HOUR  # the window each trial runs the detector on, around the fault


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
                model.farm.turbines.get(name, 2050.0),
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
        observable = bool(len(wind)) and above >= STUCK_ABOVE_RATED_INTERVALS and bool(wind[0] < rated_ws)
    else:
        residual = turbine.measured - turbine.expected
        judged = regimes(residual, turbine.expected, turbine.power, turbine.rated_kw, settings)[during] > 0
        observable = judged.sum() >= 0.5 * fault.hours * 6
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


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| fault | trials | caught (all) | observable | caught (observable) | median delay (observable) "
        "| offset ±0.5° |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['fault']} | {r['trials']} | {r['caught']:.0%} | {r['observable']} | {r['caught_observable']:.0%} "
            f"| {r['median_delay_h']:.2f} h | {_pct(r['offset_within_0_5'])} |"
        )
    return "\n".join(lines)


def _pct(x: float) -> str:
    return "—" if np.isnan(x) else f"{x:.0%}"


def tradeoff(
    turbines: list[Turbine], settings: DetectorSettings, rated_ws: float, count: int, plot: Path | None
) -> list[dict[str, Any]]:
    """Detection of ±2° (2 h) and ±3° (1 h) offsets against false alarms, over the steady threshold."""
    points = []
    for threshold in (0.5, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0):
        variant = dataclasses.replace(settings, steady_threshold_deg=threshold)
        events, months = false_alarms(turbines, variant)
        two = summarise(list(trials(turbines, FAULTS[5], count, 0, settings=variant, rated_ws=rated_ws)), FAULTS[5])
        three = summarise(list(trials(turbines, FAULTS[8], count, 0, settings=variant, rated_ws=rated_ws)), FAULTS[8])
        points.append(
            {
                "steady_threshold_deg": threshold,
                "false_alarms_per_turbine_month": events / months,
                "caught_2deg_2h": two["caught_observable"],
                "caught_3deg_1h": three["caught_observable"],
            }
        )
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        x = [p["false_alarms_per_turbine_month"] for p in points]
        for key, label in (("caught_2deg_2h", "±2° for 2 h"), ("caught_3deg_1h", "±3° for 1 h")):
            ax.plot(x, [p[key] for p in points], marker="o", label=label)
        for p in points:
            ax.annotate(f"{p['steady_threshold_deg']:g}°", (p["false_alarms_per_turbine_month"], p["caught_2deg_2h"]),
                        textcoords="offset points", xytext=(4, -10), fontsize=8)  # fmt: skip
        ax.axvline(0.5, color="grey", linestyle=":", label="0.5 false alarms / turbine-month")
        ax.set_xlabel("false-alarm events per turbine-month (healthy test period)")
        ax.set_ylabel("share of observable faults caught")
        ax.set_title("Detection against false alarms, by the steady-regime threshold")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(plot)
        plt.close(fig)
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--trials", type=int, default=200, help="per fault and seed (200)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "detection_tradeoff.png")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    turbines, rated_ws = healthy_period(args.data)
    settings = DetectorSettings()
    print(machine())
    print(f"settings: {json.dumps(settings.as_dict())}; rated wind speed {rated_ws:g} m/s (model card)")
    events, months = false_alarms(turbines, settings)
    print(f"false alarms on the healthy period: {events} events over {months:.1f} turbine-months "
          f"= {events / months:.2f} per turbine-month")  # fmt: skip
    report: dict[str, Any] = {"settings": settings.as_dict(), "false_alarms_per_turbine_month": events / months}
    for seed in args.seeds:
        rows = [
            summarise(
                list(
                    trials(
                        turbines,
                        f,
                        args.trials * STUCK_TRIALS.get(f.kind, 1),
                        seed,
                        settings=settings,
                        rated_ws=rated_ws,
                    )
                ),
                f,
            )
            for f in FAULTS
        ]
        report[f"seed_{seed}"] = rows
        print(f"\nseed {seed}:\n{table(rows)}")
    points = tradeoff(turbines, settings, rated_ws, max(50, args.trials // 2), args.plot)
    report["tradeoff"] = points
    print("\ntrade-off (seed 0, observable faults):")
    print("| steady threshold | false alarms / turbine-month | ±2° 2 h caught | ±3° 1 h caught |")
    print("| ---: | ---: | ---: | ---: |")
    for p in points:
        print(f"| {p['steady_threshold_deg']:g}° | {p['false_alarms_per_turbine_month']:.2f} | "
              f"{p['caught_2deg_2h']:.0%} | {p['caught_3deg_1h']:.0%} |")  # fmt: skip
    if args.plot:
        print(f"\nplot: {args.plot.relative_to(ROOT) if args.plot.is_relative_to(ROOT) else args.plot}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float))


if __name__ == "__main__":
    main()
