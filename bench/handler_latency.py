"""Handler latency, in-process: an API Gateway proxy event through the predict Lambda's handler to its
response, against the seed's Flask route answering the same request through Flask's test client.

    make build && .venv/bin/python bench/handler_latency.py [--calls 2000] [--repeats 3] [--data PATH]

The predict handler runs in its own process (``bench/lambda_worker.py``, started with ``-S``) whose path
holds only the built function folder and layers, as ``/opt/python`` is on Lambda, so imports and garbage
collection are the Lambda's; everything it does per request is timed: Powertools' resolver and routing,
the domain's validation of every field, imputation, features, trees, JSON serialisation, the correlation
id, and the EMF metrics and log lines it writes (to /dev/null here; to CloudWatch on Lambda). Requests:

* ``GET /predict?Ws1_avg=10`` — the generated event ``events/api/predict_get_ws1.json``;
* ``POST /predict`` with 1, 1,000 and 10,000 records: real test-period rows of La Haute Borne (the seven
  OpenOA signals, turbine and time), so validation sees what clients send.

Each row: p50 and p99 per request, the median of ``--repeats`` rounds (range in brackets), and the
seed's p50 ÷ ours.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import LOCAL_BUILD, ROOT, machine, measure_ms, percentile, require_build, spread
from seed_service import create_app as seed_app
from seedway import fit_seed_model

from windpitch.schema import TARGET, TIME_FIELD
from windpitch_frames.loading import load_scada
from windpitch_train.datasets import resolve_data_path


def real_records(count: int, data: str | None) -> list[dict[str, Any]]:
    """``count`` test-period rows as a client sends them: JSON numbers, ISO time with offset, no nulls."""
    frame, _ = load_scada(resolve_data_path(data))
    rows = frame[frame[TIME_FIELD] >= "2015-07-01"].dropna().head(count).drop(columns=[TARGET])
    records: list[dict[str, Any]] = json.loads(rows.to_json(orient="records", date_format="iso"))
    for record in records:
        record[TIME_FIELD] = record[TIME_FIELD].replace("Z", "+00:00").replace(".000", "")
    return records


def event(name: str, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A generated API Gateway event from events/api/, with ``records`` as its JSON body."""
    loaded: dict[str, Any] = json.loads((ROOT / "events" / "api" / f"{name}.json").read_text())
    if records is not None:
        loaded["body"] = json.dumps({"records": records})
    return loaded


def lambda_rounds(cases: list[dict[str, Any]], repeats: int) -> tuple[dict[str, list[dict[str, float]]], float]:
    """Each case's rounds, timed by bench/lambda_worker.py in a Lambda-like process; and its peak RSS (MB)."""
    layers = require_build()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "WINDPITCH_"))}
    env.update(
        PYTHONPATH=os.pathsep.join(str(p) for p in [LOCAL_BUILD / "PredictFunction", *layers]),
        PYTHONDONTWRITEBYTECODE="1",
        POWERTOOLS_SERVICE_NAME="windpitch",
        POWERTOOLS_METRICS_NAMESPACE="windpitch",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".json") as spec:
        json.dump({"cases": cases, "repeats": repeats, "warmup": 50}, spec)
        spec.flush()
        out = subprocess.run(
            [sys.executable, "-S", str(Path(__file__).with_name("lambda_worker.py")), spec.name],
            env=env,
            cwd=LOCAL_BUILD / "PredictFunction",
            capture_output=True,
            text=True,
            check=True,
        )
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return {case["label"]: case["rounds"] for case in answer["cases"]}, answer["peak_rss_mb"]


def seed_rounds(client: Any, request: dict[str, Any], calls: int, repeats: int) -> list[dict[str, float]]:
    """The seed's Flask route through Flask's test client (no socket), in this process."""
    method = client.post if "json" in request else client.get

    def call() -> object:
        response = method("/predict", **request)
        if response.status_code != 200:
            raise RuntimeError(f"the seed's route answered {response.status_code}: {response.data[:300]!r}")
        return response

    rounds = []
    for _ in range(repeats):
        times = measure_ms(call, calls, warmup=min(50, calls))
        rounds.append({"p50": statistics.median(times), "p99": percentile(times, 99)})
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="requests per round for 1 record (÷50 for 1,000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    records = real_records(10_000, args.data)
    many = max(20, args.calls // 50)
    most = max(5, args.calls // 400)
    cases = [  # label, Lambda event, the same request to Flask, calls per round
        ("GET /predict?Ws1_avg=10", event("predict_get_ws1"), {"query_string": {"Ws1_avg": "10"}}, args.calls),
        ("POST /predict, 1 record", event("predict_post_seed", records[:1]), {"json": {"records": records[:1]}},
         args.calls),
        ("POST /predict, 1,000 records", event("predict_post_seed", records[:1000]),
         {"json": {"records": records[:1000]}}, many),
        ("POST /predict, 10,000 records", event("predict_post_seed", records), {"json": {"records": records}}, most),
    ]  # fmt: skip
    ours, _ = lambda_rounds([{"label": c[0], "event": c[1], "calls": c[3]} for c in cases], args.repeats)
    seed = seed_app(fit_seed_model(args.data)).test_client()

    print(machine("numpy", "pandas", "scikit-learn", "aws-lambda-powertools", "flask"))
    print(f"{args.repeats} rounds each; requests per round: {args.calls} (1 record), {many} (1,000 records), "
          f"{most} (10,000 records)")  # fmt: skip
    print()
    print("| request | path | p50 ms, median of rounds (range) | p99 ms (range) | seed's p50 ÷ this p50 |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, _, request, calls in cases:
        rows = {"predict Lambda handler": ours[label], "seed's Flask route": seed_rounds(seed, request, calls,
                                                                                          args.repeats)}  # fmt: skip
        seed_p50 = statistics.median(r["p50"] for r in rows["seed's Flask route"])
        for name, rounds in rows.items():
            p50s, p99s = [r["p50"] for r in rounds], [r["p99"] for r in rounds]
            ratio = seed_p50 / statistics.median(p50s)
            print(f"| {label} | {name} | {spread(p50s)} | {spread(p99s)} | {ratio:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
