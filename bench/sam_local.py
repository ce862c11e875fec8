"""The real `sam local` on Docker (issue 13): PredictFunction's cold start in its container, and latency through
`sam local start-api` with warm containers, on the Lambda-like image (windpitch_local.image).

    make build lambda-image && .venv/bin/python bench/sam_local.py [--invokes 5] [--requests 300]

* ``sam local invoke PredictFunction`` on ``events/api/predict_get_ws1.json``, ``--invokes`` times: the wall
  time of the command (SAM starts a container from the image, the Runtime Interface Emulator starts the
  runtime, the handler's module is imported and the model loaded, one request answered, the container
  removed), and the init duration the emulator reports (``REPORT ... Init Duration``).
* ``sam local start-api --warm-containers EAGER``: ``--requests`` sequential ``GET /predict?Ws1_avg=10`` after
  one warm-up request each, p50 and p99; and a 1,000-record POST, p50 of 20.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
from common import ROOT, machine

from windpitch_local.api import deployed_template
from windpitch_local.image import build, ensure_docker, stop_docker
from windpitch_local.processes import stop_process
from windpitch_local.s3 import free_port

SAM = str(ROOT / ".venv" / "bin" / "sam")
BUILD = ROOT / ".aws-sam" / "build"
ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0"}


def invokes(image: str, template: Path, count: int) -> tuple[list[float], list[float]]:
    walls, inits = [], []
    for _ in range(count):
        started = time.perf_counter()
        done = subprocess.run(
            [SAM, "local", "invoke", "PredictFunction", "-e", str(ROOT / "events/api/predict_get_ws1.json"),
             "--template", str(template), "--invoke-image", image, "--skip-pull-image"],
            capture_output=True, text=True, env=ENV, check=True, cwd=ROOT,
        )  # fmt: skip
        walls.append((time.perf_counter() - started) * 1000)
        found = re.search(r"Init Duration: ([\d.]+) ms", done.stderr)
        inits.append(float(found.group(1)) if found else float("nan"))
    return walls, inits


def served(image: str, template: Path, count: int) -> tuple[list[float], list[float]]:
    port = free_port()
    server = subprocess.Popen(
        [SAM, "local", "start-api", "--template", str(template), "--host", "127.0.0.1", "--port", str(port),
         "--invoke-image", image, "--skip-pull-image", "--warm-containers", "EAGER"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/predict", params={"Ws1_avg": "10"}, timeout=60).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        body = {"records": [{"Ws_avg": 3 + i % 15, "P_avg": 100.0 * (i % 20)} for i in range(1000)]}
        requests.post(f"{url}/predict", json=body, timeout=60)
        gets, posts = [], []
        with requests.Session() as session:
            for _ in range(count):
                started = time.perf_counter()
                answer = session.get(f"{url}/predict", params={"Ws1_avg": "10"}, timeout=60)
                answer.raise_for_status()
                gets.append((time.perf_counter() - started) * 1000)
            for _ in range(20):
                started = time.perf_counter()
                session.post(f"{url}/predict", json=body, timeout=60).raise_for_status()
                posts.append((time.perf_counter() - started) * 1000)
        return gets, posts
    finally:
        stop_process(server, timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invokes", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    engine = ensure_docker()
    try:
        image = build("3.11", quiet=True)
        template = deployed_template(BUILD, {"AllowedOrigin": "http://127.0.0.1:8080"})
        walls, inits = invokes(image, template, args.invokes)
        gets, posts = served(image, template, args.requests)
    finally:
        stop_docker(engine)
    q = statistics.quantiles
    print(machine("numpy", "aws-lambda-powertools", "aws-sam-cli"))
    print(f"image {image} (Debian bookworm, Python 3.11), layers from .aws-sam/build (cp311, manylinux2014)\n")
    print("| measure | median | range |")
    print("| --- | ---: | ---: |")
    print(f"| sam local invoke PredictFunction, command wall (container start → answer → removed), ms | "
          f"{statistics.median(walls):,.0f} | {min(walls):,.0f}–{max(walls):,.0f} |")  # fmt: skip
    # The emulator's REPORT Init Duration is ~0.1 ms: it times its own init phase, not the runtime's imports.
    print(f"| REPORT Init Duration (the emulator's own phase, not the imports), ms | {statistics.median(inits):.2f} | "
          f"{min(inits):.2f}–{max(inits):.2f} |")  # fmt: skip
    print(f"| start-api, warm: GET /predict?Ws1_avg=10 ({len(gets)} sequential), p50 / p99 ms | "
          f"{statistics.median(gets):.1f} / {q(gets, n=100)[98]:.1f} | {min(gets):.1f}–{max(gets):.1f} |")  # fmt: skip
    print(f"| start-api, warm: POST 1,000 records (20 sequential), p50 ms | {statistics.median(posts):.1f} | "
          f"{min(posts):.1f}–{max(posts):.1f} |")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
