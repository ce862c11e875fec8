"""Where PredictFunction's init goes in its python3.13 container: ``python -X importtime`` of the runtime
interface client and the handler module, with the layers mounted as Lambda mounts them.

    make build lambda-image && .venv/bin/python bench/import_breakdown.py [--runs 5] [--python 3.13 3.11]

Each run is a fresh container (``--network none``, layers read-only, the image's own ``.pyc``). Prints, for the
packages that matter, the median cumulative import time over the runs (a package's own modules and everything
they import that was not imported before them: the order of imports decides who pays for a shared module).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
from pathlib import Path

from common import machine
from sam_local import build_for, predict_mounts

from windpitch_deploy.image import build, ensure_docker, stop_docker

# The handler's imports in its order (functions/predict/app.py), and what they pull in; nested rows are part of the
# row above them (Powertools' event_handler imports its AppSync resolver, which imports asyncio).
ROOTS = ("awslambdaric", "app", "aws_lambda_powertools.logging", "windpitch_api.app",
         "aws_lambda_powertools.event_handler", "asyncio", "aws_lambda_powertools.utilities.data_classes", "windpitch",
         "numpy", "typing", "dataclasses", "enum", "re", "json")  # fmt: skip
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def one_run(image: str, built: Path) -> dict[str, float]:
    mounts, layers = predict_mounts(built)
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/python3", *mounts, "-w", "/var/task",
         "-e", f"PYTHONPATH=/var/runtime:/var/task:{layers}", "-e", "POWERTOOLS_SERVICE_NAME=w",
         image, "-X", "importtime", "-c", "import awslambdaric, app"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = LINE.findall(done.stderr)
    # Each module is imported once: its line's cumulative time is its subtree, less what was imported before it.
    cumulative = {module: int(total) / 1000 for _, total, _, module in lines if module in ROOTS}
    everything = sum(int(total) for _, total, indent, _ in lines if len(indent) == 1) / 1000
    return {**cumulative, "everything": everything}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", nargs="+", default=["3.13"], choices=["3.13", "3.11"],
                        help="3.11 uses bench/sam_local.py's cp311 build of the same pins")  # fmt: skip
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {}
    engine = ensure_docker()
    try:
        for python in args.python:
            image = build(python, quiet=True)
            runs[python] = [one_run(image, build_for(python)) for _ in range(args.runs)]
    finally:
        stop_docker(engine)
    print(machine("numpy", "aws-lambda-powertools"))
    print(f"windpitch/lambda-python, {args.runs} fresh containers each; milliseconds of `import awslambdaric, app`, "
          "median (min–max)\n")  # fmt: skip
    print("| imported | " + " | ".join(f"python{p}" for p in runs) + " |")
    print("| --- | " + " | ".join("---:" for _ in runs) + " |")
    for name in ("everything", *ROOTS):
        cells = []
        for each in runs.values():
            values = [run.get(name, 0.0) for run in each]
            cells.append(f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
