"""``python -m windpitch backfill``: the pipeline with N workers on one machine, with progress.

1. **Discover**: every raw file whose version the ledger does not hold (:func:`windpitch_batch.discover.pending`)
   becomes a message on the work queue (as its S3 notification would have, had it landed after the queue was
   configured).
2. **Score**: N processes run WorkerFunction's handler under :mod:`windpitch_cli.workers`'s event source mapping
   until the queue is empty (large files split into slices on the way).
3. **Commit**: the pipeline's commit (:func:`windpitch_batch.commit.commit`) commits what they scored.

Messages that failed :data:`windpitch_cli.workers.MAX_RECEIVES` times are in the dead-letter queue; the summary
lists them with the reason each unit's worker recorded (``python -m windpitch redrive`` moves them back).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from windpitch.predict import load_model
from windpitch_batch import keys, ledger
from windpitch_batch.commit import commit
from windpitch_batch.config import BatchConfig
from windpitch_batch.discover import pending
from windpitch_batch.plan import UnitRef
from windpitch_batch.reconcile import failures
from windpitch_batch.store import S3Store, client

from .workers import backlog, ensure_queues, run_workers

RUN_FIELDS = ("run_id", "files_in", "units_in", "rows_in", "rows_scored", "rows_rejected")


def backfill(store: S3Store, endpoint: str, workers: int, *, log: Path, progress: bool = True) -> dict[str, Any]:
    """Plan, work with ``workers`` processes, commit; return what was done."""
    sqs: Any = client("sqs", endpoint)
    queue_url, dlq_url = ensure_queues(sqs)
    ledger.migrate(store)  # work done under the records kept before the ledger is found done
    planned = pending(store)
    for start in range(0, len(planned), 10):
        entries = [{"Id": str(i), "MessageBody": UnitRef(o.key, o.etag).as_message()}
                   for i, o in enumerate(planned[start : start + 10])]  # fmt: skip
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    started = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    env = _worker_environment(store.bucket, endpoint, queue_url)
    bar = _Progress(store, len(planned), progress)
    run_workers(workers, endpoint, queue_url, env, log=log, until=lambda: bar.update() and backlog(sqs, queue_url) == 0)
    worked_s = time.monotonic() - started
    model = load_model()
    commits = []
    while (outcome := commit(store, model, BatchConfig.from_env(env), marks={"fanned_out": True})).committed:
        commits.append(outcome.summary())
    dead = _dead_letters(store, sqs, dlq_url)
    bar.close()
    return {
        "files_planned": len(planned),
        "workers": workers,
        "work_seconds": round(worked_s, 2),
        "seconds": round(time.monotonic() - started, 2),
        "runs": [{k: c.get(k) for k in RUN_FIELDS} for c in commits],
        "rows_in": sum(c.get("rows_in", 0) for c in commits),
        "dead_letters": dead,
    }


def _worker_environment(bucket: str, endpoint: str, queue_url: str) -> dict[str, str]:
    """WorkerFunction's environment as the template sets it, pointed at the local endpoint."""
    keep = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "WINDPITCH_", "CHALLENGER_", "BATCH_"))}
    return {
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "eu-west-3",
        **keep,
        "AWS_ENDPOINT_URL": endpoint,
        "WINDPITCH_BUCKET": bucket,
        "WORK_QUEUE_URL": queue_url,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }  # fmt: skip


def _dead_letters(store: S3Store, sqs: Any, dlq_url: str) -> list[dict[str, Any]]:
    """The messages in the dead-letter queue, each with the reason its unit's worker recorded."""
    reasons = {failure["key"]: failure["reason"] for failure in failures(store)}
    dead = []
    answer = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    for message in answer.get("Messages", []):
        try:
            key = json.loads(message["Body"])["unit"]["key"]
        except (ValueError, KeyError, TypeError):
            key = None
        dead.append({"key": key, "reason": reasons.get(key, "no reason recorded")})
    return dead


class _Progress:
    """Units finished (results waiting for the aggregation) against the files planned."""

    def __init__(self, store: S3Store, files: int, shown: bool) -> None:
        from tqdm import tqdm  # noqa: PLC0415 - only the CLI shows progress

        self.store = store
        self.bar = tqdm(total=files, unit="units", desc="backfill", file=sys.stderr, disable=not shown)

    def update(self) -> bool:
        done = sum(1 for o in self.store.list(keys.RESULTS) if o.key.endswith(".json"))
        self.bar.total = max(self.bar.total or 0, done)
        self.bar.n = done
        self.bar.refresh()
        return True

    def close(self) -> None:
        self.bar.close()
