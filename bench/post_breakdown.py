"""Where a POST /predict of 1,000 records spends its time, step by step, in this process (best of 30).

    make build && .venv/bin/python bench/post_breakdown.py [--records 1000]

Groundwork for a vectorised POST path (issue 14): the handler's total is in bench/handler_latency.py; this
splits the work it does into the body's JSON decode, the rulebook per record, the tree evaluation, and the
response's encoding, on real test-period rows.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np
from common import machine
from handler_latency import real_records

from windpitch.columns import judge_records
from windpitch.predict import load_model, predict
from windpitch.records import parse_record
from windpitch_api.encoding import encode_response


def best(step: Callable[[], object], repeats: int = 30) -> float:
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    records = real_records(args.records, args.data)
    model = load_model()
    body = json.dumps({"records": records})
    inputs = np.array([parse_record(r, model.farm).inputs for r in records])
    results = predict(records, model)
    steps = {
        "decode the body (json.loads)": lambda: json.loads(body),
        "judge every record (parse_record, the rulebook)": lambda: [parse_record(r, model.farm) for r in records],
        "judge them column-wise (judge_records)": lambda: judge_records(records, model.farm),
        "evaluate the trees (PitchModel.predict_inputs)": lambda: model.predict_inputs(inputs),
        "windpitch.predict (judge + evaluate + results)": lambda: predict(records, model),
        "encode the response (as_dict + json.dumps)": lambda: json.dumps(
            {"results": [{"index": i, **r.as_dict()} for i, r in enumerate(results)]}
        ),
        "encode it from shared pieces (encode_response)": lambda: encode_response(results, model.info.version),
    }
    print(machine())
    print(f"{args.records:,} real test-period records; milliseconds, best of 30\n")
    print("| step | ms |")
    print("| --- | ---: |")
    for name, step in steps.items():
        print(f"| {name} | {best(step):.2f} |")


if __name__ == "__main__":
    main()
