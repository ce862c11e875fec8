"""Nothing dropped: the reconciler, and the redrive of the dead-letter queue.

S3 notifications are the pipeline's discovery, and they can be lost: a notification never sent, a message that
expired in the dead-letter queue after 14 days. Hourly, BatchFunction's ``Reconcile`` schedule compares ``raw/``
with the ledger (:func:`windpitch_batch.discover.pending`) and queues every file version that is neither
committed nor parked as failed (``state/failures/``), once it has settled (``settle_minutes`` after it landed,
so a file whose notification is on its way is not queued twice; a duplicate would only be found done).

A unit that failed three times waits in the dead-letter queue with its reason in ``state/failures/<unit>.json``.
Once the cause is fixed, :func:`redrive` (``python -m windpitch redrive``) moves its messages back to the work
queue and clears their failure records, so the reconciler no longer leaves those units aside.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from . import keys
from .discover import BadMessage, pending, unit_refs
from .leases import quietly
from .plan import UnitRef
from .store import S3Store


def reconcile(
    store: S3Store,
    send: Callable[[list[str]], None],
    *,
    now: datetime | None = None,
    settle_minutes: float = 60,
) -> dict[str, Any]:
    """Queue the raw files the ledger does not hold; return how many, and the first few keys."""
    moment = now or datetime.now(UTC)
    missed = pending(store, settled_before=moment - timedelta(minutes=settle_minutes), skip_failed=True)
    send([UnitRef(obj.key, obj.etag).as_message() for obj in missed])
    return {"action": "reconcile", "queued": len(missed), "keys": [obj.key for obj in missed[:10]]}


def redrive(store: S3Store, sqs: Any, dead_letter_url: str, queue_url: str, *, limit: int = 10_000) -> dict[str, Any]:
    """Move up to ``limit`` messages from the dead-letter queue back to the work queue, clearing each unit's
    failure record; a message that names no unit is left in the dead-letter queue and reported."""
    moved, refused = 0, list[dict[str, str]]()
    while moved + len(refused) < limit:
        answer = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                refs = unit_refs(message["Body"])
            except BadMessage as exc:
                refused.append({"message_id": message["MessageId"], "reason": str(exc)})
                continue
            for ref in refs:
                _clear_failures(store, ref)
            sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return {"moved": moved, "refused": refused}


def failures(store: S3Store) -> list[dict[str, Any]]:
    """Every parked unit's failure record (file, slice, reason, attempts), for an operator."""
    found = []
    for obj in store.list(keys.FAILURES):
        found.append(json.loads(store.get(obj.key)[0]))
    return found


def _clear_failures(store: S3Store, ref: UnitRef) -> None:
    """A notification names the file, not the slice that failed: clear the whole file's and each slice's."""
    for obj in store.list(keys.FAILURES):
        record = json.loads(store.get(obj.key)[0])
        if record.get("key") == ref.key and (not ref.etag or record.get("etag") == ref.etag):
            quietly(store.delete, obj.key)
