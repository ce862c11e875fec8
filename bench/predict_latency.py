"""Single-record prediction latency, in-process: windpitch's serving path against the seed's way.

    .venv/bin/python bench/predict_latency.py [--calls 10000] [--model DIR] [--data PATH]

Measures, one record per call, p50/p99 over ``--calls`` calls after a warm-up:

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
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

import windpitch
from windpitch.artifacts import default_model_dir, load_pipeline
from windpitch.data import frame_inputs, load_scada, resolve_data_path
from windpitch.records import parse_record
from windpitch.runtime import PitchModel
from windpitch.schema import TIME_FIELD
from windpitch.train import Split, clean, seed_recipe, seed_recipe_features

ROOT = Path(__file__).resolve().parents[1]


def measure(fn: Callable[[], object], calls: int, warmup: int = 200) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        start = clock()
        fn()
        times.append((clock() - start) / 1e6)
    return times


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    model_dir = Path(args.model) if args.model else default_model_dir()
    model = PitchModel.load(model_dir)
    pipeline = load_pipeline(model_dir)
    seed_row = json.loads((ROOT / "events" / "seed_record.json").read_text())

    # The seed's model: its recipe fitted on the training period of the real data.
    frame, _ = load_scada(resolve_data_path(args.data))
    usable, _ = clean(frame)
    train_mask, _ = Split().masks(usable[TIME_FIELD])
    train = usable[train_mask.to_numpy()]
    seed_model = seed_recipe().fit(seed_recipe_features(train), train["Ba_avg"].to_numpy())

    def seed_way() -> float:
        one = pd.DataFrame([seed_row])
        one[TIME_FIELD] = pd.to_datetime(one[TIME_FIELD], utc=True)
        return float(seed_model.predict(seed_recipe_features(one))[0])

    parsed = np.array([parse_record(seed_row).inputs])
    prebuilt = frame_inputs(train.iloc[:1])
    cases: dict[str, Callable[[], object]] = {
        "windpitch.predict(seed 138-field row)": lambda: windpitch.predict(seed_row, model),
        'windpitch.predict({"Ws1_avg": 10})': lambda: windpitch.predict({"Ws1_avg": 10}, model),
        "PitchModel.predict_inputs(1 row) — runtime alone": lambda: model.predict_inputs(parsed),
        "seed's way: 1-row DataFrame + prep + RandomForest.predict": seed_way,
        "scikit-learn Pipeline.predict(prebuilt 1-row array)": lambda: pipeline.predict(prebuilt),
    }
    results = {name: measure(fn, args.calls) for name, fn in cases.items()}
    seed_p50 = statistics.median(results["seed's way: 1-row DataFrame + prep + RandomForest.predict"])

    print(
        f"machine: {__import__('os').cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, scikit-learn {sklearn.__version__}; "
        f"model {model.info.version} ({model.n_trees} trees, depth {model.depth}); {args.calls} calls each"
    )
    print()
    print("| path | p50 (ms) | p99 (ms) | seed's p50 ÷ this p50 |")
    print("| --- | ---: | ---: | ---: |")
    for name, times in results.items():
        p50 = statistics.median(times)
        print(f"| {name} | {p50:.4f} | {percentile(times, 99):.4f} | {seed_p50 / p50:.1f}× |")


if __name__ == "__main__":
    main()
