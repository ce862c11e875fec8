"""How often would each (threshold, persistence) pair raise a pitch anomaly on healthy data?

    .venv/bin/python bench/anomaly_thresholds.py [--data PATH]

Scores the test period (2015-07…12, never seen in training) with the trained model, then counts the
events :func:`windpitch.anomalies.find_events` (the batch's own rule) opens per turbine. The period
has no known pitch-system fault, so every event is a false alarm: the defaults (5°, 6 intervals) are
chosen from this table (docs/benchmarks.md, README).
"""

from __future__ import annotations

import argparse

import numpy as np

from windpitch.anomalies import AnomalyRule, find_events
from windpitch.runtime import PitchModel
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada
from windpitch_train.datasets import resolve_data_path
from windpitch_train.train import Split, clean

THRESHOLDS = (3.0, 5.0, 8.0, 10.0)
PERSISTENCE = (1, 2, 3, 6, 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    frame, _ = load_scada(resolve_data_path(args.data))
    usable, _ = clean(frame)
    _, test = Split().masks(usable["Date_time"])
    period = usable[test.to_numpy()].sort_values(["Wind_turbine_name", "Date_time"]).reset_index(drop=True)
    residual = period["Ba_avg"].to_numpy() - PitchModel.load().predict_inputs(frame_inputs(period))
    producing = (period["P_avg"] > 0).to_numpy()
    magnitude = np.abs(residual[producing])
    print(f"test period: {len(period):,} rows, {int(producing.sum()):,} producing")
    quantiles = ", ".join(f"p{q * 100:g} {np.quantile(magnitude, q):.2f}" for q in (0.5, 0.9, 0.95, 0.99, 0.999))
    print(f"producing |residual| quantiles (deg): {quantiles}")
    turbine_months = period["Wind_turbine_name"].nunique() * 6
    print()
    print("| threshold | persistence | events | per turbine-month |")
    print("| --- | --- | --- | --- |")
    groups = [
        np.flatnonzero((period["Wind_turbine_name"] == t).to_numpy()) for t in sorted(set(period["Wind_turbine_name"]))
    ]
    times = period["Date_time"].dt.tz_localize(None).to_numpy("datetime64[s]")
    for threshold in THRESHOLDS:
        for intervals in PERSISTENCE:
            rule = AnomalyRule(threshold, intervals)
            events = sum(len(find_events("t", times[g], residual[g], producing[g], rule)) for g in groups)
            print(f"| {threshold:g}° | {intervals} × 10 min | {events} | {events / turbine_months:.2f} |")
    detection(times, residual, producing, groups)


def detection(times: np.ndarray, residual: np.ndarray, producing: np.ndarray, groups: list[np.ndarray]) -> None:
    """Sensitivity of the default rule: offsets added to 2-hour producing stretches of the healthy data,
    as a stuck or drifting blade would add them; the share of those stretches the rule then flags."""
    rng = np.random.default_rng(0)
    rule = AnomalyRule()
    print()
    print(f"| offset added for 2 h | stretches | detected by {rule.threshold_deg:g}° × {rule.min_intervals} |")
    print("| --- | --- | --- |")
    for offset in (3.0, 5.0, 6.0, 8.0, 12.0):
        tried = found = 0
        for g in groups:
            seconds = times[g].astype(np.int64)
            ok = producing[g]
            starts = [i for i in range(len(g) - 12) if ok[i : i + 12].all() and seconds[i + 11] - seconds[i] == 6600]
            for i in rng.choice(starts, size=min(100, len(starts)), replace=False):
                shifted = residual[g].copy()
                shifted[i : i + 12] += offset
                window = slice(max(0, i - 12), i + 24)
                events = find_events("t", times[g][window], shifted[window], ok[window], rule)
                tried += 1
                found += any(e.start <= str(times[g][i + 11]) + "Z" and e.end > str(times[g][i]) + "Z" for e in events)
        print(f"| +{offset:g}° | {tried} | {found / tried:.0%} |")


if __name__ == "__main__":
    main()
