"""What input drift does the real data show? PSI of each monitored input against the training deciles.

    make model && .venv/bin/python bench/input_drift.py [--data PATH]

The trained model's card holds each SCADA input's training deciles (2014-01…2015-06) with each calendar
month's shares over them, and each input's threshold calibrated on the six 28-day windows of the held-out
healthy period (2015-07…12). The same functions as the batch's monitoring (:mod:`windpitch.monitoring`) then
judge (1) every week of that period at the textbook threshold 0.25, and (2) every 28-day window starting each
week (most of them are not the calibration windows), as recorded and with the outdoor temperature raised by
15 °C: the synthetic shift the monitoring must flag.
"""

from __future__ import annotations

import argparse

import numpy as np
from common import machine

from windpitch.monitoring import MonitorSettings, bin_counts, input_drift
from windpitch.runtime import PitchModel
from windpitch.schema import MODEL_INPUTS
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada
from windpitch_train.datasets import resolve_data_path
from windpitch_train.train import Split


def verdicts(model: PitchModel, rows: np.ndarray, months: np.ndarray, settings: MonitorSettings, **kw: object) -> dict:
    month_rows = {int(m): int(c) for m, c in zip(*np.unique(months, return_counts=True), strict=True)}
    counts = {n: bin_counts(model.reference[n], rows[:, MODEL_INPUTS.index(n)]) for n in model.reference}
    return input_drift(model.reference, counts, settings, month_rows, **kw)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    model = PitchModel.load()
    frame, _ = load_scada(resolve_data_path(args.data))
    _, test = Split().masks(frame["Date_time"])
    period = frame[test.to_numpy()].reset_index(drop=True)
    x = frame_inputs(period)
    stamps = period["Date_time"].dt.tz_convert("UTC").dt.tz_localize(None)
    days = stamps.to_numpy("datetime64[D]").astype(np.int64)
    months = stamps.dt.month.to_numpy()
    names = list(model.reference)
    ot = MODEL_INPUTS.index("Ot_avg")
    warmer = x.copy()
    warmer[:, ot] += 15
    print(machine())
    print(f"calibrated thresholds (model card): {model.thresholds}\n")

    weekly = MonitorSettings(psi_threshold=0.25, window_days=7)
    flagged = dict.fromkeys(names, 0)
    weeks = list(range(days.min(), days.max() - 5, 7))
    for start in weeks:
        mask = (days >= start) & (days < start + 7)
        for name, verdict in verdicts(model, x[mask], months[mask], weekly).items():
            flagged[name] += verdict["drifted"]
    print(f"1. weeks at the textbook PSI > 0.25 ({len(weeks)} weeks): flagged per input {flagged}\n")

    settings = MonitorSettings()
    print(f"2. {settings.window_days}-day windows, one starting each week, calibrated thresholds:\n")
    print("| window from | " + " | ".join(names) + " | drifted | drifted with Ot +15 °C |")
    print("| --- |" + " ---: |" * len(names) + " --- | --- |")
    windows = list(range(days.min(), days.max() - settings.window_days + 2, 7))
    clean = shifted = 0
    for start in windows:
        mask = (days >= start) & (days < start + settings.window_days)
        plain = verdicts(model, x[mask], months[mask], settings, thresholds=model.thresholds)
        hot = verdicts(model, warmer[mask], months[mask], settings, thresholds=model.thresholds)
        drifted = [n for n in names if plain[n]["drifted"]]
        with_shift = [n for n in names if hot[n]["drifted"]]
        clean += not drifted
        shifted += "Ot_avg" in with_shift
        cells = " | ".join(f"{plain[n]['psi']:.2f}" for n in names)
        day = str(np.datetime64(int(start), "D"))
        print(f"| {day} | {cells} | {', '.join(drifted) or '—'} | {', '.join(with_shift) or '—'} |")
    print(
        f"\nwindows with no input drifted: {clean} of {len(windows)}; Ot +15 °C flagged in {shifted} of {len(windows)}"
    )


if __name__ == "__main__":
    main()
