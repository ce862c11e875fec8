"""Single-record prediction latency, in-process: windpitch's serving path against the seed's way.

    .venv/bin/python bench/predict_latency.py [--calls 10000] [--repeats 3] [--model DIR] [--data PATH]

Measures, one record per call, p50/p99 over ``--calls`` calls after a warm-up, in ``--repeats`` rounds
(median of the rounds, range in brackets):

* windpitch.predict(seed's 138-field row)   — validation + imputation + features + trees (numpy)
* windpitch.predict({"Ws1_avg": 10})        — the seed's API request
* PitchModel.predict_inputs(one parsed row)  — the runtime alone
* the seed's way: a one-row pandas DataFrame of the 138-field row, its feature preparation
  (timestamp parse, year/month/season, fillna(0)) and RandomForest ``predict``
* scikit-learn ``Pipeline.predict`` of our own model on a prebuilt one-row array

Prints a Markdown table for docs/benchmarks.md. Timings belong here, never in tests.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import machine, measure_ms, percentile, spread
from seedway import fit_seed_model, seed_predict, seed_row

import windpitch
from windpitch.artifacts import default_model_dir
from windpitch.records import parse_record
from windpitch.runtime import PitchModel
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada
from windpitch_train.datasets import resolve_data_path
from windpitch_train.pipeline import load_pipeline

SEED = "seed's way: 1-row DataFrame + prep + RandomForest.predict"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    model_dir = Path(args.model) if args.model else default_model_dir()
    model = PitchModel.load(model_dir)
    pipeline = load_pipeline(model_dir)
    row = seed_row()
    seed_model = fit_seed_model(args.data)
    parsed = np.array([parse_record(row).inputs])
    prebuilt = frame_inputs(load_scada(resolve_data_path(args.data))[0].iloc[:1])
    cases: dict[str, Callable[[], object]] = {
        "windpitch.predict(seed 138-field row)": lambda: windpitch.predict(row, model),
        'windpitch.predict({"Ws1_avg": 10})': lambda: windpitch.predict({"Ws1_avg": 10}, model),
        "PitchModel.predict_inputs(1 row) — runtime alone": lambda: model.predict_inputs(parsed),
        SEED: lambda: seed_predict(seed_model, [{}]),
        "scikit-learn Pipeline.predict(prebuilt 1-row array)": lambda: pipeline.predict(prebuilt),
    }
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, fn in cases.items():
            times = measure_ms(fn, args.calls)
            rounds[name].append((statistics.median(times), percentile(times, 99)))
    seed_p50 = statistics.median(p50 for p50, _ in rounds[SEED])

    print(f"{machine('numpy', 'pandas', 'scikit-learn')}; model {model.info.version} ({model.n_trees} trees, "
          f"depth {model.depth}); {args.calls} calls × {args.repeats} rounds each")  # fmt: skip
    print()
    print("| path | p50 ms, median of rounds (range) | p99 ms (range) | seed's p50 ÷ this p50 |")
    print("| --- | ---: | ---: | ---: |")
    for name, results in rounds.items():
        p50s, p99s = [r[0] for r in results], [r[1] for r in results]
        print(f"| {name} | {spread(p50s, '.4f')} | {spread(p99s, '.4f')} | {seed_p50 / statistics.median(p50s):.1f}× |")


if __name__ == "__main__":
    main()
