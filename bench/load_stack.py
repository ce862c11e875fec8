"""Load on the whole local stack: API and dashboard under concurrent requests while the batch runs.

    make build dashboard && .venv/bin/python bench/load_stack.py [--requests 6000] [--concurrency 8]

Starts ``python -m windpitch_local stack`` on free 127.0.0.1 ports (replay at 600× real time, so a file
lands and the scheduled batch runs every second, writing to the S3 the dashboard reads), waits for the
first published run, then sends ``--requests`` requests round-robin over five kinds: ``GET /health``,
``GET /predict?Ws1_avg=…``, ``POST /predict`` with 100 records, the dashboard's ``fleet.json`` and a
turbine's series through the dashboard's origin. Bounded by count and by ``--deadline`` seconds; loopback
only (``windpitch_local.load`` refuses any other address); the stack is always stopped. Prints per kind:
count, errors (must be 0), p50/p99; and exits 1 on any error.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import boto3
import numpy as np
import requests
from common import ROOT, machine
from http_throughput import RECORDS

from windpitch_local.load import Kind, run_load, scored
from windpitch_local.processes import stop_process
from windpitch_local.s3 import free_port


def wait_for_first_run(dashboard: str, deadline_s: float = 180) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{dashboard}/dashboard/fleet.json", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the stack published nothing within {deadline_s} s")


def batch_runs(s3_endpoint: str) -> int:
    """Runs committed so far (manifests in the local bucket)."""
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-3",
                      aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106  # fmt: skip
    return int(s3.list_objects_v2(Bucket="windpitch-local", Prefix="manifests/").get("KeyCount", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--deadline", type=float, default=300, help="stop sending after this many seconds")
    args = parser.parse_args()
    ports = {"api": free_port(), "s3": free_port(), "dashboard": free_port()}
    command = [sys.executable, "-m", "windpitch_local", "stack", "--speed", "600", "--backfill-days", "2",
               *(f"--{name}-port={port}" for name, port in ports.items())]  # fmt: skip
    stack = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api, dashboard = f"http://127.0.0.1:{ports['api']}", f"http://127.0.0.1:{ports['dashboard']}"
    try:
        wait_for_first_run(dashboard)
        kinds = [
            Kind("GET /health", "GET", f"{api}/health"),
            Kind("GET /predict?Ws1_avg=12", "GET", f"{api}/predict?Ws1_avg=12", ok=scored),
            Kind("POST /predict, 100 records", "POST", f"{api}/predict", {"records": RECORDS}, ok=scored),
            Kind("dashboard fleet.json", "GET", f"{dashboard}/dashboard/fleet.json"),
            Kind("dashboard turbine series", "GET", f"{dashboard}/dashboard/turbines/R80711.json"),
        ]
        runs_before = batch_runs(f"http://127.0.0.1:{ports['s3']}")
        result = run_load(kinds, count=args.requests, concurrency=args.concurrency, deadline_s=args.deadline)
        runs = batch_runs(f"http://127.0.0.1:{ports['s3']}") - runs_before
    finally:
        stop_process(stack)
    print(machine("numpy", "aws-lambda-powertools", "aws-sam-cli", "moto"))
    print(f"{result.sent + result.total_errors} requests in {result.wall_s:.1f} s ({args.concurrency} concurrent, "
          f"loopback); the scheduled batch committed {runs} runs meanwhile")  # fmt: skip
    print()
    print("| request | answered | errors | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, times in result.latencies.items():
        p50, p99 = np.percentile(times, [50, 99]) if times else (float("nan"), float("nan"))
        print(f"| {name} | {len(times)} | {result.errors[name]} | {p50:.1f} | {p99:.1f} |")
    print(f"\nerrors: {result.total_errors}" + ("" if not result.examples else f" — e.g. {result.examples}"))
    if result.total_errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
