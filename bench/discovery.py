"""Finding new work with a long history: one new file after N already published, inline and fanned out (issue 14).

    .venv/bin/python bench/discovery.py [--history 100000]

moto in-process (mock_aws). The bucket holds ``--history`` published raw files (one per ten-minute interval, as
the live feed lands) with their bookkeeping, then one new file lands. Timed and counted (S3 and SQS requests by
operation, from botocore's own events):

* **inline** (``run_batch``, the scheduled run without a queue): it lists raw/, manifests/ and the ledger
  state/processed/ to find the one new file, then scores and commits it;
* **fanned out**: the file's S3 notification is one message; WorkerFunction's work (``work_message``) scores
  it, and BatchFunction's aggregation lists only state/results/ and commits it.

The history's bookkeeping (put straight into moto's backend) is as each mode leaves it: a ledger entry per
file and a manifest per 200 files (inline); a done marker per file and a manifest per 200 (fanned out).
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from common import machine
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from windpitch.predict import load_model
from windpitch_batch.aggregate import aggregate
from windpitch_batch.config import BatchConfig
from windpitch_batch.outputs import digest, json_bytes
from windpitch_batch.run import run_batch, unit_id
from windpitch_batch.store import Object, S3Store
from windpitch_batch.worker import UnitRef, work_message

BUCKET = "windpitch-discovery"
HEADER = "Wind_turbine_name,Date_time,Ba_avg,P_avg,Ws_avg,Va_avg,Ot_avg,Ya_avg,Wa_avg\n"


@contextmanager
def counted(*clients: Any) -> Iterator[collections.Counter[str]]:
    """Requests by ``service operation`` made through ``clients`` inside the block."""
    counts: collections.Counter[str] = collections.Counter()

    def count(event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".")[:3]
        counts[f"{service} {operation}"] += 1

    for client in clients:
        client.meta.events.register("before-call.*.*", count)
    try:
        yield counts
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.*.*", count)


def history(files: int, mode: str) -> None:
    """``files`` published raw files and their bookkeeping, put straight into moto's backend (setup, not
    measured: 100,000 files through the SDK would take ten minutes)."""
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    body = (HEADER + "R80711,2015-01-01T00:00:00+01:00,-1,500,6,0,10,180,180\n").encode()
    run = ""
    for n in range(files):
        key = f"raw/2015/{n:06d}.csv"
        etag = backend.put_object(BUCKET, key, body).etag.strip('"')
        unit = unit_id(Object(key, etag, len(body)))
        if n % 200 == 0:
            run = digest("history", str(n))
            backend.put_object(BUCKET, f"manifests/run-{run}.json", json_bytes({"run_id": run}))
        if mode == "inline":
            backend.put_object(BUCKET, f"state/processed/{unit}.{run}.json", b"{}")
        else:
            backend.put_object(BUCKET, f"state/done/{unit}.json", json_bytes({"run": run}))


def new_file() -> bytes:
    rows = [f"R80711,2016-01-01T00:{m:02d}:00+01:00,-1,500,6,0,10,180,180" for m in range(0, 60, 10)]
    return (HEADER + "\n".join(rows) + "\n").encode()


def measure(files: int, mode: str) -> tuple[float, collections.Counter[str], int]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-3")
        sqs = boto3.client("sqs", region_name="eu-west-3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        history(files, mode)
        etag = s3.put_object(Bucket=BUCKET, Key="raw/2016/new.csv", Body=new_file())["ETag"].strip('"')
        store, model, config = S3Store(BUCKET, s3), load_model(), BatchConfig(bucket=BUCKET)
        queue = sqs.create_queue(QueueName="units")["QueueUrl"]
        started = time.perf_counter()
        with counted(s3, sqs) as requests:
            if mode == "inline":
                outcome = run_batch(store, model, config)
            else:  # the notification's message, then the aggregation
                work_message(store, model, config, UnitRef("raw/2016/new.csv", etag).as_message(),
                             send=lambda bodies: None)  # fmt: skip
                outcome = aggregate(store, model, config)
        took = time.perf_counter() - started
        del queue
    return took, requests, int((outcome.manifest or {}).get("rows_in", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-3")  # noqa: S106
    print(machine())
    print(f"one new file after {args.history:,} published; moto in-process\n")
    print("| mode | run (s) | S3 and SQS requests | of which listing | rows committed |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for mode in ("inline", "fanned out"):
        took, requests, rows = measure(args.history, mode)
        listing = sum(n for op, n in requests.items() if op.endswith("ListObjectsV2"))
        print(f"| {mode} | {took:.2f} | {sum(requests.values())} | {listing} | {rows} |", flush=True)
        print(f"|  | | {dict(sorted(requests.items()))} | | |", flush=True)


if __name__ == "__main__":
    main()
