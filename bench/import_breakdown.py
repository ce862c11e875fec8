"""Where PredictFunction's init goes in its python3.13 container: ``python -X importtime`` of the runtime
interface client and the handler module, with the layers mounted as Lambda mounts them.

    make build lambda-image && .venv/bin/python bench/import_breakdown.py [--runs 5]

Each run is a fresh container (``--network none``, layers read-only, the image's own ``.pyc``). Prints, for the
packages that matter, the median cumulative import time over the runs (a package's own modules and everything
they import that was not imported before them: the order of imports decides who pays for a shared module).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess

from common import BUILD, machine

from windpitch_local.image import build, ensure_docker, stop_docker

# The handler's imports in its order (functions/predict/app.py), and what they pull in; nested rows are part of the
# row above them (Powertools' event_handler imports its AppSync resolver, which imports asyncio).
ROOTS = ("awslambdaric", "app", "aws_lambda_powertools.logging", "aws_lambda_powertools.event_handler", "asyncio",
         "aws_lambda_powertools.utilities.data_classes", "windpitch_api.snapstart", "windpitch", "numpy",
         "windpitch_api.app")  # fmt: skip
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def one_run(image: str) -> dict[str, float]:
    mounts = ["-v", f"{BUILD / 'PredictFunction'}:/var/task:ro"]
    for layer in ("ModelLayer", "DepsLayer"):
        mounts += ["-v", f"{BUILD / layer / 'python'}:/opt/{layer}:ro"]
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/python3", *mounts, "-w", "/var/task",
         "-e", "PYTHONPATH=/var/runtime:/var/task:/opt/ModelLayer:/opt/DepsLayer", "-e", "POWERTOOLS_SERVICE_NAME=w",
         image, "-X", "importtime", "-c", "import awslambdaric, app"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    # Each module is imported once: its line's cumulative time is its subtree, less what was imported before it.
    cumulative = {module: int(total) / 1000 for _, total, _, module in LINE.findall(done.stderr) if module in ROOTS}
    everything = sum(int(total) for _, total, indent, _ in LINE.findall(done.stderr) if len(indent) == 1) / 1000
    return {**cumulative, "everything": everything}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = ensure_docker()
    try:
        image = build("3.13", quiet=True)
        runs = [one_run(image) for _ in range(args.runs)]
    finally:
        stop_docker(engine)
    print(machine("numpy", "aws-lambda-powertools"))
    print(f"{image}, {args.runs} fresh containers; milliseconds of `import awslambdaric, app`, median (min–max)\n")
    print("| imported | cumulative ms |")
    print("| --- | ---: |")
    for name in ("everything", *ROOTS):
        values = [run.get(name, 0.0) for run in runs]
        print(f"| {name} | {statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f}) |")


if __name__ == "__main__":
    main()
