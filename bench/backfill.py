"""Backfill: the whole La Haute Borne file from raw/ to published outputs on moto's S3 server.

    .venv/bin/python bench/backfill.py [--runs 3] [--slice-lines 50000] [--data PATH] [--profile] [--challenger DIR]

moto's server runs in its own process on a free 127.0.0.1 port (HTTP, as in the local stack). Each run starts from
a fresh server and bucket holding the 420,480-row file under raw/, then times one ``run_batch`` (the
BatchFunction's work): units of ``--slice-lines`` lines (the pipeline's default, 50,000: 9 units), each read,
validated, scored, its daily Parquet parts staged under ``state/staged/``; then the commit: ledger, staged outputs
copied to their public keys and dropped, dashboard state, monitoring, manifest. Prints wall time, rows per minute
and the peak resident memory of this process, then where the median run's time went: scoring the units against
committing them (``run_batch``'s ``on_unit`` marks the last unit's end), with the S3 requests of each by kind and
the seconds spent inside them (botocore's events; requests on 16 threads at once each count their own time); and
the wall time of the pipeline's own steps (its functions wrapped with a timer in this process: :data:`STEPS`).
With ``--challenger`` (a trained model folder, e.g. ``build/challenger`` from ``make challenger``), the model is
published to the bucket's registry first and scored in shadow: what shadow scoring costs a run.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import os
import pstats
import resource
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from common import S3_KINDS, Meter, Step, machine

from windpitch.runtime import PitchModel
from windpitch_batch import commit as commit_stage
from windpitch_batch import registry
from windpitch_batch import score as score_stage
from windpitch_batch.config import BatchConfig
from windpitch_batch.run import run_batch
from windpitch_batch.store import RETRIES, S3Store
from windpitch_local.s3 import MotoServer
from windpitch_train.datasets import resolve_data_path

# The pipeline's steps timed in each run (the names its modules call them by; nested steps are listed apart):
# scoring a unit, then committing the units.
STEPS = {
    score_stage: ("plan", "piece", "load_scada", "score_frame", "parquet_bytes", "_stage", "write_result"),
    commit_stage: ("_uncommitted", "_load", "supersede", "publish_outputs", "update_dashboard", "update_monitoring",
                   "update_shadow", "drop_staged", "_forget"),
}  # fmt: skip
TIMES: collections.Counter[str] = collections.Counter()
CALLS: collections.Counter[str] = collections.Counter()


def instrument() -> None:
    """Wrap each of :data:`STEPS` with a timer adding to :data:`TIMES` and :data:`CALLS` (this process only)."""
    for module, names in STEPS.items():
        for name in names:
            label = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
            setattr(module, name, functools.partial(_timed, getattr(module, name), label))


def _timed(function: Any, label: str, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return function(*args, **kwargs)
    finally:
        TIMES[label] += time.perf_counter() - started  # parquet_bytes runs on one thread: no race that matters
        CALLS[label] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slice-lines", type=int, default=BatchConfig.slice_lines, help="lines per unit")
    parser.add_argument("--data", default=None)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of the last run")
    parser.add_argument("--challenger", type=Path, help="a trained model folder to score in shadow")
    args = parser.parse_args()

    # moto accepts any credentials; these keep boto3 from looking for real ones.
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-3")  # noqa: S106
    data = resolve_data_path(args.data).read_bytes()
    model = PitchModel.load()
    walls, phases, steps = [], [], []
    instrument()
    for i in range(args.runs):
        TIMES.clear()
        CALLS.clear()
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
            meter, scored = Meter(client), [Step()]
            on_unit = functools.partial(after_unit, meter, scored)
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            with meter.step() as whole:
                config = BatchConfig(bucket=bucket, slice_lines=args.slice_lines)
                manifest = run_batch(S3Store(bucket, client), model, config, on_unit=on_unit).as_dict()
            if profiler:
                profiler.disable()
            walls.append(time.perf_counter() - started)
            phases.append({"score units": scored[-1], "commit": whole - scored[-1], "run_batch": whole})
            steps.append({label: (CALLS[label], TIMES[label]) for label in TIMES})
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
    middle = walls.index(median) if median in walls else -1
    breakdown(phases[middle], steps[middle], units=len(scored) - 1)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def breakdown(phases: dict[str, Step], steps: dict[str, tuple[int, float]], *, units: int) -> None:
    """Where one run's time went: its phases with their requests, then the pipeline's own steps."""
    print()
    print(f"where the median run's time went ({units} units; S3 requests: count, s inside)")
    print()
    print("| phase | s | " + " | ".join(S3_KINDS) + " |")
    print("| --- | ---: |" + " ---: |" * len(S3_KINDS))
    for phase, step in phases.items():
        cells = [f"{step.requests.get(f's3 {k}', 0)}, {step.spent.get(f's3 {k}', 0):.1f}" for k in S3_KINDS]
        print(f"| {phase} | {step.seconds:.2f} | " + " | ".join(cells) + " |")
    print()
    print("| the pipeline's step (its function) | calls | s |")
    print("| --- | ---: | ---: |")
    for label, (calls, seconds) in steps.items():
        print(f"| {label} | {calls} | {seconds:.2f} |")


def after_unit(meter: Meter, scored: list[Step], *_: Any) -> None:
    """``run_batch``'s ``on_unit``: what the run had taken when each unit was scored."""
    scored.append(meter.snapshot())


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
