"""HTTP throughput on loopback: the local API (SAM's API Gateway emulation + the predict Lambda) against
a seed-style Flask service with the seed's model, same load generator, same concurrency.

    make build && .venv/bin/python bench/http_throughput.py [--requests 2000] [--concurrency 8] [--repeats 3]

Both servers are Werkzeug's threaded server on 127.0.0.1 in their own process (free ports, always
stopped); only the request path differs. Bounded: ``--requests`` per repeat and kind. Each request kind
(GET one record; POST 100 records) is timed per request; reported: requests/s (median and range over
repeats), p50/p99 latency over all repeats, errors (must be 0), and each server's peak RSS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
from common import machine, peak_rss_mb, start_server, stop_server

from windpitch_local.load import Kind, run_load
from windpitch_local.s3 import free_port

RECORDS = [{"Ws_avg": 4 + (i % 20) * 0.6, "P_avg": 50.0 * (i % 40)} for i in range(100)]


def load(base: str, kind: str, count: int, concurrency: int) -> tuple[float, list[float], int]:
    """``count`` requests of one kind on ``concurrency`` threads (windpitch_local.load, loopback only,
    a keep-alive session per thread); (requests/s, latencies ms, errors)."""
    request = (
        Kind(kind, "GET", f"{base}/predict?Ws1_avg=10")
        if kind == "GET"
        else Kind(kind, "POST", f"{base}/predict", {"records": RECORDS})
    )
    result = run_load([request], count=count, concurrency=concurrency, deadline_s=600)
    return count / result.wall_s, result.latencies[kind], result.total_errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    api_port, seed_port = free_port(), free_port()
    servers = {
        "windpitch local API (API Gateway emulation + predict Lambda)": start_server(
            [sys.executable, "-m", "windpitch_local", "api", "--port", str(api_port)],
            f"http://127.0.0.1:{api_port}/health",
        ),
        "seed-style Flask (DataFrame + RandomForest)": start_server(
            [sys.executable, str(Path(__file__).with_name("seed_service.py")), "--port", str(seed_port)],
            f"http://127.0.0.1:{seed_port}/predict?Ws1_avg=10",
        ),
    }
    bases = dict(zip(servers, [f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{seed_port}"], strict=True))
    rows: list[dict[str, Any]] = []
    try:
        for kind in ("GET", "POST"):
            for name, base in bases.items():
                load(base, kind, 100, args.concurrency)  # warm-up
                rates, latencies, errors = [], [], 0
                for _ in range(args.repeats):
                    rate, times, failed = load(base, kind, args.requests, args.concurrency)
                    rates.append(rate)
                    latencies += times
                    errors += failed
                rows.append({"kind": kind, "name": name, "rates": rates, "latencies": latencies, "errors": errors})
        memory = {name: peak_rss_mb(process.pid) for name, process in servers.items()}
    finally:
        for process in servers.values():
            stop_server(process)
    print(machine("numpy", "pandas", "scikit-learn", "aws-lambda-powertools", "aws-sam-cli", "flask", "werkzeug"))
    print(f"{args.requests} requests × {args.repeats} repeats per row, concurrency {args.concurrency}, loopback")
    print()
    print("| request | server | req/s median (range) | p50 ms | p99 ms | errors | req/s ÷ seed's |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for kind in ("GET", "POST"):
        pair = [r for r in rows if r["kind"] == kind]
        seed = statistics.median(pair[1]["rates"])
        label = "GET ?Ws1_avg=10" if kind == "GET" else "POST 100 records"
        for r in pair:
            rate = statistics.median(r["rates"])
            p50, p99 = np.percentile(r["latencies"], [50, 99])
            print(f"| {label} | {r['name']} | {rate:.0f} ({min(r['rates']):.0f}–{max(r['rates']):.0f}) | "
                  f"{p50:.1f} | {p99:.1f} | {r['errors']} | {rate / seed:.2f}× |")  # fmt: skip
    print()
    for name, mb in memory.items():
        print(f"peak RSS, {name}: {mb:.0f} MB")


if __name__ == "__main__":
    main()
