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
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, machine

from windpitch.detection import DetectorSettings
from windpitch_train.faults import (
    FAULTS,
    STUCK_TRIALS,
    Turbine,
    false_alarms,
    healthy_period,
    summarise,
    trials,
)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| fault | trials | caught (all) | observable | caught (observable) | median delay (observable) "
        "| offset ±0.5° |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['fault']} | {r['trials']} | {r['caught']:.0%} | {r['observable']} | {r['caught_observable']:.0%} "
            f"| {_hours(r['median_delay_h'])} | {_pct(r['offset_within_0_5'])} |"
        )
    return "\n".join(lines)


def _pct(x: float) -> str:
    return "—" if np.isnan(x) else f"{x:.0%}"


def _hours(x: float) -> str:
    return "—" if np.isnan(x) else f"{x:.2f} h"


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
