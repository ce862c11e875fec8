"""The fan-out: backfill of the whole La Haute Borne file with 1, 2 and 4 worker processes (issue 14), and a
worker's peak memory by unit size (issue 21).

    .venv/bin/python bench/fanout.py [--workers 1 2 4] [--runs 2] [--slice-lines 50000] [--data PATH]

Each run starts a fresh moto server (S3 and SQS) on 127.0.0.1 with the 420,480-row file under raw/, then times
``python -m windpitch backfill``'s work: the file's message on the queue; WorkerFunction's handler in N
processes under windpitch_cli.workers's event source mapping, the file split into units of ``--slice-lines``
lines (``BATCH_SLICE_LINES``; 50,000 by default: 9 units); then the commit (BatchFunction's). Prints wall time
(work, then with the commit), rows per minute, the units the ledger holds after it, and the largest peak RSS a
worker process reported (its own, not moto's server's). Every pair of ``--workers`` and ``--slice-lines`` is a
row. On 2 cores, moto's server and the parent take CPU too: 4 workers measure contention, not AWS's scaling
(docs/scaling.md builds that from the 1-worker rate).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import boto3
from common import machine

from windpitch_batch import keys
from windpitch_batch.store import RETRIES, S3Store
from windpitch_cli.backfill import backfill
from windpitch_local.s3 import MotoServer
from windpitch_train.datasets import resolve_data_path

BUCKET = "windpitch-bench"


def one_run(data: bytes, workers: int, slice_lines: int, log: Path) -> dict[str, float]:
    os.environ["BATCH_SLICE_LINES"] = str(slice_lines)  # the workers' and the commit's (BatchConfig.from_env)
    with MotoServer() as server:
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint  # the parent's SQS client and the workers' environment
        client = boto3.client("s3", endpoint_url=server.endpoint, config=RETRIES)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        client.put_object(Bucket=BUCKET, Key="raw/la-haute-borne-data-2014-2015.csv.gz", Body=data)
        store = S3Store(BUCKET, client)
        started = time.perf_counter()
        outcome = backfill(store, server.endpoint, workers, log=log, progress=False)
        wall = time.perf_counter() - started
        units = len(store.list(keys.LEDGER))  # one ledger entry per committed unit (slice)
    if outcome["rows_in"] != 420_480 or outcome["dead_letters"]:
        raise SystemExit(f"the backfill did not account for every row: {outcome}")
    return {"wall": wall, "work": outcome["work_seconds"], "units": units, "rows": outcome["rows_in"]}


def worker_peak_mb(log: Path) -> float:
    """The largest peak RSS a worker process reported when it stopped (windpitch_cli.workers)."""
    peaks = [json.loads(line)["peak_rss_mb"] for line in log.read_text().splitlines() if '"worker stopped"' in line]
    if not peaks:
        raise SystemExit(f"no worker reported its peak memory in {log}")
    return max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--slice-lines", type=int, nargs="+", default=[50_000], help="lines per unit")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="eu-west-3")  # noqa: S106
    data = resolve_data_path(args.data).read_bytes()
    log = Path(".local-stack/bench-workers.jsonl")
    print(machine())
    print("| workers | lines per unit | runs | work (s, median) | with the commit (s) | rows/min | units | "
          "worker peak RSS (MB) |")  # fmt: skip
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for slice_lines in args.slice_lines:
        for workers in args.workers:
            log.unlink(missing_ok=True)
            runs = [one_run(data, workers, slice_lines, log) for _ in range(args.runs)]
            peak = worker_peak_mb(log)
            work = statistics.median(r["work"] for r in runs)
            wall = statistics.median(r["wall"] for r in runs)
            rate = runs[0]["rows"] / wall * 60
            print(f"| {workers} | {slice_lines:,} | {len(runs)} | {work:.1f} | {wall:.1f} | {rate:,.0f} | "
                  f"{runs[0]['units']:.0f} | {peak:,.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
