"""Cold init of the predict Lambda: a fresh process importing the handler and loading the model.

    make build-local && .venv/bin/python bench/cold_init.py [--runs 15]

Each run is a new interpreter (this one: the runtime's python3.13 in its container is bench/sam_local.py's)
started with -S (no site-packages, as on Lambda) and with only the function folder and the *built* layers
(make build-local's, for this interpreter, read as /opt/python would be) on
its path, and with bytecode writing off (Lambda's /opt is read-only). It times `import app` plus
`windpitch.load_model()` (hash check and JSON parse included). The comparison is the seed's stack in
the development venv: import pandas and scikit-learn and `joblib.load` the same model's pipeline.
Prints medians and spreads for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import LOCAL_BUILD as BUILD
from common import ROOT, machine

LAMBDA_INIT = """
import time, json, sys
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
import windpitch
windpitch.load_model()
t2 = time.perf_counter()
assert windpitch.__file__.startswith(sys.argv[1]), windpitch.__file__  # the layer, not the repository
print(json.dumps({"import_s": t1 - t0, "model_s": t2 - t1, "total_s": t2 - t0}))
"""

SEED_INIT = """
import time, json, io
t0 = time.perf_counter()
import pandas, sklearn.ensemble, joblib
t1 = time.perf_counter()
joblib.load(io.BytesIO(open(__import__("sys").argv[1], "rb").read()))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "model_s": t2 - t1, "total_s": t2 - t0}))
"""


def run(code: str, args: list[str], python_flags: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, *python_flags, "-c", code, *args], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(name: str, runs: list[dict[str, float]]) -> str:
    def cell(key: str) -> str:
        values = [r[key] * 1000 for r in runs]
        return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"

    return f"| {name} | {cell('import_s')} | {cell('model_s')} | {cell('total_s')} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    layers = [BUILD / "ModelLayer" / "python", BUILD / "DepsLayer" / "python"]
    if not all(p.exists() for p in layers):
        sys.exit("no built layers: run `make build-local` first")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "WINDPITCH_"))}
    lambda_env = {
        **base,
        "PYTHONPATH": os.pathsep.join(str(p) for p in [BUILD / "PredictFunction", *layers]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "POWERTOOLS_SERVICE_NAME": "windpitch",
        "POWERTOOLS_METRICS_NAMESPACE": "windpitch",
    }
    ours = [run(LAMBDA_INIT, [str(layers[0])], ["-S"], lambda_env, BUILD / "PredictFunction") for _ in range(args.runs)]
    pipeline = ROOT / "layers" / "model" / "windpitch" / "artifacts" / "model.joblib"
    seed = [
        run(SEED_INIT, [str(pipeline)], [], {**base, "PYTHONDONTWRITEBYTECODE": "1"}, ROOT) for _ in range(args.runs)
    ]
    print(machine("numpy", "pandas", "scikit-learn", "aws-lambda-powertools"))
    print(f"{args.runs} fresh processes each; milliseconds, median (min–max)")
    print()
    print("| cold init | imports | model load | total |")
    print("| --- | ---: | ---: | ---: |")
    print(summary("predict Lambda: import handler + load model (built layers)", ours))
    print(summary("seed's stack: pandas + scikit-learn + joblib.load", seed))
    ratio = statistics.median(r["total_s"] for r in seed) / statistics.median(r["total_s"] for r in ours)
    print(f"\nseed's stack ÷ windpitch: {ratio:.1f}×")


if __name__ == "__main__":
    main()
