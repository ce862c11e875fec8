"""Backfill: the whole La Haute Borne file from raw/ to published outputs on moto's S3 server.

    .venv/bin/python bench/backfill.py [--runs 3] [--data PATH] [--profile] [--challenger DIR]

moto's server runs in its own process on a free 127.0.0.1 port (HTTP, as in the local stack). Each run starts from a
fresh server and bucket holding the 420,480-row file under raw/, then times one ``run_batch`` (the BatchFunction's
work: read, validate, score, write 730 daily Parquet parts, quarantine, dashboard state, manifest).
Prints wall time, rows per minute and the peak resident memory of this process. With ``--challenger`` (a
trained model folder, e.g. ``build/challenger`` from ``make challenger``), the model is published to the
bucket's registry first and scored in shadow: what shadow scoring costs a run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from common import machine

from windpitch.runtime import PitchModel
from windpitch_batch import registry
from windpitch_batch.config import BatchConfig
from windpitch_batch.run import run_batch
from windpitch_batch.store import RETRIES, S3Store
from windpitch_local.s3 import MotoServer
from windpitch_train.datasets import resolve_data_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", default=None)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of the last run")
    parser.add_argument("--challenger", type=Path, help="a trained model folder to score in shadow")
    args = parser.parse_args()

    # moto accepts any credentials; these keep boto3 from looking for real ones.
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-3")  # noqa: S106
    data = resolve_data_path(args.data).read_bytes()
    model = PitchModel.load()
    walls = []
    for i in range(args.runs):
        # A fresh server per run: moto keeps every object in memory and slows down as buckets pile up.
        with MotoServer() as server:
            client = boto3.client("s3", endpoint_url=server.endpoint, config=RETRIES)
            bucket = "windpitch-bench"
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
            client.put_object(Bucket=bucket, Key="raw/la-haute-borne-data-2014-2015.csv.gz", Body=data)
            if args.challenger:
                store = S3Store(bucket, client)
                registry.set_challenger(store, registry.publish(store, args.challenger, datetime.now(UTC))["version"],
                                        datetime.now(UTC))  # fmt: skip
            profiler = cProfile.Profile() if args.profile and i == args.runs - 1 else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            manifest = run_batch(S3Store(bucket, client), model, BatchConfig(bucket=bucket)).as_dict()
            if profiler:
                profiler.disable()
            walls.append(time.perf_counter() - started)
        print(
            f"run {i + 1}: {walls[-1]:.2f} s, rows in {manifest['rows_in']:,} = scored "
            f"{manifest['rows_scored']:,} + rejected {manifest['rows_rejected']:,}; "
            f"anomaly events {manifest['anomalies']['events']}; shadow: {shadow_line(manifest['shadow'])}",
            flush=True,
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = statistics.median(walls)
    print()
    print(f"{machine()}; moto server on 127.0.0.1")
    print(
        f"backfill of {manifest['rows_in']:,} rows: median {median:.2f} s (min {min(walls):.2f}, max "
        f"{max(walls):.2f}) over {len(walls)} runs = {manifest['rows_in'] / median * 60:,.0f} rows/min; "
        f"peak RSS {peak_mb:,.0f} MB"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def shadow_line(shadow: dict[str, Any]) -> str:
    if shadow["status"] != "compared":
        return shadow["status"]
    overall = shadow["overall"]
    return (
        f"challenger {shadow['challenger']} MAE {overall['challenger']['mae']:.3f} vs live "
        f"{overall['live']['mae']:.3f} on {overall['n']:,} producing rows"
    )


if __name__ == "__main__":
    main()
