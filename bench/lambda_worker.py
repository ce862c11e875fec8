"""Time the predict handler inside a Lambda-like process (run by bench/handler_latency.py, not by hand).

    python -S bench/lambda_worker.py CASES.json   # PYTHONPATH = the built function folder and layers

Standard library only: this process has on its path exactly what the Lambda has (``-S``: no
site-packages; the function folder and the built layers, as ``/opt/python``), so the garbage collector
and the import graph are the Lambda's, not the development venv's. Reads
``{"cases": [{"label", "event", "calls"}], "repeats", "warmup"}`` and prints JSON: per case, each round's
p50 and p99 in milliseconds, and the process's peak resident memory (VmHWM) at the end.
"""

import contextlib
import copy
import json
import os
import sys
import time
from pathlib import Path


class Context:
    function_name = "PredictFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-3:000000000000:function:PredictFunction"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    import app  # the function's handler, from the function folder on PYTHONPATH

    import windpitch

    layer = os.environ["PYTHONPATH"].split(os.pathsep)[1]
    if not windpitch.__file__.startswith(layer):  # the built layer, not the repository
        raise RuntimeError(f"windpitch came from {windpitch.__file__}, not from the layer {layer}")
    context = Context()
    out = []
    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):  # logs and EMF: written, not kept
        for case in spec["cases"]:
            event = case["event"]
            for _ in range(min(spec["warmup"], case["calls"])):
                app.lambda_handler(copy.copy(event), context)
            rounds = []
            for _ in range(spec["repeats"]):
                times = []
                for _ in range(case["calls"]):
                    started = time.perf_counter_ns()
                    response = app.lambda_handler(copy.copy(event), context)
                    times.append((time.perf_counter_ns() - started) / 1e6)
                    if response["statusCode"] != 200:
                        raise RuntimeError(f"{case['label']}: {response['statusCode']} {response['body'][:300]}")
                rounds.append({"p50": quantile(times, 0.5), "p99": quantile(times, 0.99)})
            out.append({"label": case["label"], "rounds": rounds})
    status = Path("/proc/self/status").read_text().splitlines()
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"cases": out, "peak_rss_mb": peak_kb / 1024}))


if __name__ == "__main__":
    main()
