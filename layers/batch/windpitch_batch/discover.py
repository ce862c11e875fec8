"""Discover: the work there is, from a queue message or from the ledger.

Two ways in, one answer (units to plan, :class:`windpitch_batch.plan.UnitRef`):

* **a message** (:func:`unit_refs`): an S3 event notification of a raw file (the deployed pipeline's way: work
  is found as it lands, at a cost that grows with the new data only), or a unit message the pipeline sent itself
  (a large file's other slices, a backfill, the reconciler). A message naming a key outside ``raw/``, or a unit
  that cannot be one, is refused (:class:`BadMessage`) and never scored;
* **the ledger** (:func:`pending`): the raw files whose current version the ledger does not hold. It lists
  ``raw/`` and the ledger (listings only, no GET per file): the reconciler's way, hourly, a backfill's, and
  ``python -m windpitch batch``'s on a bucket with no queue (nothing else records what landed there).

:class:`Inbox` reads the work queue in the scoring process itself: ``python -m windpitch batch --queue-url``
finds what landed from its notifications, as the workers do, at a cost that grows with the new data only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from . import ledger
from .keys import FAILURES, RAW, is_raw
from .plan import UnitRef
from .store import Object, S3Store


class BadMessage(ValueError):
    """A message that names no unit the pipeline may score (it is not retried: it never will be)."""


def unit_refs(body: str) -> list[UnitRef]:
    """The units a message names.

    Example:
        >>> unit_refs('{"unit": {"key": "raw/a.csv", "etag": "e", "slice": 1, "slices": 3}}')
        [UnitRef(key='raw/a.csv', etag='e', slice=1, slices=3)]
        >>> unit_refs('{"Service": "Amazon S3", "Event": "s3:TestEvent"}')
        []
        >>> unit_refs('{"unit": {"key": "models/live/model.json", "etag": "e", "slice": 0, "slices": 0}}')
        Traceback (most recent call last):
        ...
        windpitch_batch.discover.BadMessage: unit.key 'models/live/model.json': not a raw file (raw/...)

    Raises:
        BadMessage: not JSON, neither kind of message, or a unit the pipeline may not score, naming the field.
    """
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadMessage("not a JSON object")
    if payload.get("Event") == "s3:TestEvent":
        return []  # what S3 sends once when the notification is configured
    if "unit" in payload:
        return [_unit(payload["unit"])]
    if "Records" in payload and isinstance(payload["Records"], list):
        return [ref for record in payload["Records"] if (ref := _notified(record)) is not None]
    raise BadMessage(f"neither an S3 event nor a unit message: {body[:200]}")


def _unit(unit: Any) -> UnitRef:
    """A unit message's unit, each field checked: a forged one is refused naming what is wrong."""
    if not isinstance(unit, dict):
        raise BadMessage("unit: not a JSON object")
    for name, kind in (("key", str), ("etag", str), ("slice", int), ("slices", int)):
        if not isinstance(unit.get(name), kind) or isinstance(unit.get(name), bool):
            raise BadMessage(f"unit.{name}: missing or not a{'n integer' if kind is int else ' string'}")
    ref = UnitRef(unit["key"], unit["etag"], unit["slice"], unit["slices"])
    if not is_raw(ref.key):
        raise BadMessage(f"unit.key {ref.key!r}: not a raw file ({RAW}...)")
    if ref.slices < 0 or not 0 <= ref.slice < max(ref.slices, 1):
        raise BadMessage(f"unit.slice {ref.slice} of {ref.slices}: not a slice of the file")
    return ref


def _notified(record: Any) -> UnitRef | None:
    """An S3 notification record's raw file; None for an event that brings no work (a deletion)."""
    try:
        obj = record["s3"]["object"]
        key = unquote_plus(obj["key"])  # S3 event keys are URL-encoded
    except (KeyError, TypeError):
        raise BadMessage(f"S3 event record without s3.object.key: {str(record)[:200]}") from None
    if not str(record.get("eventName", "")).startswith("ObjectCreated"):
        return None
    if not is_raw(key):  # the bucket notifies raw/ only: anything else was not sent by it
        raise BadMessage(f"s3.object.key {key!r}: not a raw file ({RAW}...)")
    return UnitRef(key, str(obj.get("eTag", "")).strip('"'))


def pending(store: S3Store, *, settled_before: datetime | None = None, skip_failed: bool = False) -> list[Object]:
    """Raw files whose current version the ledger does not hold as committed, in key order.

    ``settled_before``: leave out files modified since (their notification is likely still in flight);
    ``skip_failed``: leave out files whose unit failed (their message waits in the dead-letter queue for a person).
    """
    done = ledger.done_versions(store)
    failed = (
        {o.key.removeprefix(FAILURES).removesuffix(".json") for o in store.list(FAILURES)} if skip_failed else set()
    )
    found = []
    for obj in store.list(RAW):
        if not is_raw(obj.key) or ledger.version_of(obj.key, obj.etag) in done:
            continue
        if UnitRef(obj.key, obj.etag).unit() in failed:
            continue  # a poison file waits for a person (python -m windpitch redrive), not for the next hour
        if settled_before is not None and obj.modified is not None and obj.modified >= settled_before:
            continue
        found.append(obj)
    return sorted(found, key=lambda o: o.key)


@dataclass
class Inbox:
    """The work queue, read by the process that scores (instead of a worker): take messages, then drop them once
    their units are scored (a process that dies before leaves them to come back; their units are found done)."""

    sqs: Any
    url: str
    refused: list[str] = field(default_factory=list)  # why each message that names no unit was dropped
    _handles: list[str] = field(default_factory=list)

    def take(self, limit: int) -> list[UnitRef]:
        """Up to ``limit`` units from the messages waiting now, in the order they come; each file version once."""
        refs: dict[tuple[str, str, int, int], UnitRef] = {}
        while len(refs) < limit:
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                self._handles.append(message["ReceiptHandle"])
                try:
                    found = unit_refs(message["Body"])
                except BadMessage as exc:
                    self.refused.append(str(exc))
                    continue
                refs.update({(r.key, r.etag, r.slice, r.slices): r for r in found})
        return list(refs.values())

    def done(self) -> None:
        """Drop every message taken (their units are scored, waiting for the commit, or were never units)."""
        for start in range(0, len(self._handles), 10):
            entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(self._handles[start : start + 10])]
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
        self._handles.clear()
