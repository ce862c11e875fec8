"""The fan-out's worker: score the units an SQS message names, and leave each one's result for the aggregator.

A *unit* is a raw file version (key + ETag), as in :mod:`windpitch_batch.run`; a file of more than
``slice_lines`` data lines is scored as slices of that many lines, each its own unit, so that one worker's
memory stays bounded whatever the file's size (a whole two-year file took 735 MB in one process; a slice of
50,000 lines, ``BatchConfig.slice_lines``, peaks at about 320 MB) and one large
file spreads over many workers. Messages are S3 event notifications (a raw file landed) or the worker's own
slice messages (``{"unit": {"key", "etag", "slice", "slices"}}``); the worker that gets a large file's
notification sends the other slices' messages and scores the first slice.

For each unit, in this order (the guarantees are the batch's, kept across processes):

1. **Done already?** Its result is waiting for the aggregator (``state/results/<unit>.json``) or a committed run
   names it (``state/done/<unit>.json`` and that run's manifest): a duplicate delivery; nothing is written.
2. **Lease** ``state/leases/<unit>`` (``If-None-Match``): a unit is never scored by two workers, or by a worker
   and a scheduled run, at once. A unit leased elsewhere fails the message, which comes back later.
3. **Score and publish** its outputs (deterministic bytes, keys named by the raw key and slice).
4. **Result** ``state/results/<unit>.json`` and the rows the dashboard merges (``.parquet``), written last: a
   worker dying before it loses nothing (the message comes back and the unit is redone, same bytes).

A unit that raises records why in ``state/failures/<unit>.json`` and fails its message; after the queue's
``maxReceiveCount`` deliveries SQS moves the message to the dead-letter queue, the reason beside it.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote_plus

import pandas as pd

from windpitch.runtime import PitchModel

from . import config as paths
from .config import BatchConfig
from .dashboard import SERIES
from .outputs import GZIP_MAGIC, digest, json_bytes, parquet_bytes
from .registry import Challenger
from .run import JSON, PARQUET, Piece, UnitResult, _quietly, lease_key, process_unit, take_lease
from .store import NotFound, Object, S3Store

RESULTS: Final = f"{paths.STATE}results/"
DONE: Final = f"{paths.STATE}done/"
FAILURES: Final = f"{paths.STATE}failures/"


@dataclass(frozen=True)
class UnitRef:
    """What a message asks for: a raw file version, or one slice of it (``slices`` > 1)."""

    key: str
    etag: str
    slice: int = 0
    slices: int = 0  # 0: not known yet (an S3 notification); the worker counts the file's lines

    def unit(self) -> str:
        whole = digest(self.key, self.etag)
        return whole if self.slices <= 1 else digest(self.key, self.etag, f"{self.slice}/{self.slices}")

    def part(self) -> str:
        whole = digest(self.key)
        return whole if self.slices <= 1 else f"{whole}-{self.slice:04d}"

    def as_message(self) -> str:
        return json.dumps({"unit": {"key": self.key, "etag": self.etag, "slice": self.slice, "slices": self.slices}})


class BadMessage(ValueError):
    """A message that names no unit the worker can find (it is not retried: it never will)."""


def unit_refs(body: str) -> list[UnitRef]:
    """The units a message names: an S3 event notification's objects under ``raw/``, or a slice message.

    S3's test event (sent when notifications are configured) names none.

    Example:
        >>> unit_refs('{"unit": {"key": "raw/a.csv", "etag": "e", "slice": 1, "slices": 3}}')
        [UnitRef(key='raw/a.csv', etag='e', slice=1, slices=3)]
        >>> unit_refs('{"Service": "Amazon S3", "Event": "s3:TestEvent"}')
        []

    Raises:
        BadMessage: not JSON, or neither kind of message.
    """
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadMessage("not a JSON object")
    if payload.get("Event") == "s3:TestEvent":
        return []
    if "unit" in payload:
        unit = payload["unit"]
        try:
            return [UnitRef(str(unit["key"]), str(unit["etag"]), int(unit["slice"]), int(unit["slices"]))]
        except (KeyError, TypeError, ValueError):
            raise BadMessage(f"unit message without key, etag, slice and slices: {body[:200]}") from None
    if "Records" in payload:
        refs = []
        for record in payload["Records"]:
            try:
                obj = record["s3"]["object"]
                key = unquote_plus(obj["key"])  # S3 event keys are URL-encoded
            except (KeyError, TypeError):
                raise BadMessage(f"S3 event record without s3.object.key: {str(record)[:200]}") from None
            if (
                key.startswith(paths.RAW)
                and not key.endswith("/")
                and str(record.get("eventName", "")).startswith("ObjectCreated")
            ):
                refs.append(UnitRef(key, str(obj.get("eTag", "")).strip('"')))
        return refs
    raise BadMessage(f"neither an S3 event nor a unit message: {body[:200]}")


@dataclass
class Worked:
    """What became of one unit: ``scored``, ``duplicate`` (done already), or ``gone`` (the file was replaced
    or deleted since the message was sent: its current version has its own notification)."""

    ref: UnitRef
    status: str
    rows: int = 0


def work_message(
    store: S3Store,
    model: PitchModel,
    config: BatchConfig,
    body: str,
    *,
    send: Callable[[list[str]], None],
    challenger: Challenger | None = None,
) -> list[Worked]:
    """Do every unit a message names (raises on the first that fails: the message then fails whole, and the
    units done before it are found done when it comes back)."""
    return [work_unit(store, model, config, ref, send=send, challenger=challenger) for ref in unit_refs(body)]


def work_unit(
    store: S3Store,
    model: PitchModel,
    config: BatchConfig,
    ref: UnitRef,
    *,
    send: Callable[[list[str]], None],
    challenger: Challenger | None = None,
) -> Worked:
    """Score one unit and leave its result (see the module's steps)."""
    try:
        data, etag = store.get(ref.key)
    except NotFound:
        return Worked(ref, "gone")
    if ref.etag and etag != ref.etag:
        return Worked(ref, "gone")  # replaced since: the new version's own notification brings it
    if ref.slices == 0:  # a notification: count the file's lines, and hand its other slices to other workers
        total = sum(1 for _ in _data_lines(data))
        slices = max(1, -(-total // config.slice_lines))
        ref = UnitRef(ref.key, etag, 0, slices)
        if slices > 1:
            send([UnitRef(ref.key, etag, k, slices).as_message() for k in range(1, slices)])
    unit = ref.unit()
    if finished(store, unit):
        return Worked(ref, "duplicate")
    obj = Object(ref.key, etag, len(data))
    token = uuid.uuid4().hex
    # A whole file's lease is the one a scheduled run takes: the two never score it at once.
    if not take_lease(store, lease_key(unit), token, datetime.now(UTC), config.lease_seconds):
        raise RuntimeError(f"unit {unit} ({ref.key}) is being scored elsewhere; retry later")
    try:
        piece = _piece(data, ref, unit, config.slice_lines)
        try:
            result = process_unit(store, model, config, obj, _scoring_id(model, challenger, unit),
                                  challenger=challenger, piece=piece)  # fmt: skip
        except Exception as exc:
            record_failure(store, ref, unit, exc)
            raise
        shadowed = str(challenger.version) if challenger is not None and challenger.model is not None else None
        write_result(store, result, ref, shadowed)
    finally:
        _quietly(store.delete, lease_key(unit))
    return Worked(ref, "scored", result.rows_in)


def finished(store: S3Store, unit: str) -> bool:
    """Its result waits for the aggregator, or a committed run counted it."""
    try:
        store.get(f"{RESULTS}{unit}.json")
        return True
    except NotFound:
        pass
    return committed_run(store, unit) is not None


def committed_run(store: S3Store, unit: str) -> str | None:
    """The run whose manifest counts ``unit``, if any (its done marker names a run whose manifest exists)."""
    try:
        run = json.loads(store.get(f"{DONE}{unit}.json")[0])["run"]
        store.get(f"{paths.MANIFESTS}run-{run}.json")
    except (NotFound, ValueError, KeyError):
        return None
    return str(run)


def write_result(store: S3Store, result: UnitResult, ref: UnitRef, shadowed: str | None = None) -> None:
    """The rows the dashboard merges (Parquet), then the summary: the summary's presence is the unit's end.

    ``shadowed``: the challenger whose answers the rows carry, so that an aggregation under another challenger
    (the pointer moved while the unit was in flight) does not take them for its own."""
    rows = result.scored if result.scored is not None else pd.DataFrame()
    columns = ["turbine", *SERIES.values()]
    series = rows.reindex(columns=columns) if len(rows) else pd.DataFrame({c: [] for c in columns})
    series = series.assign(turbine=series["turbine"].astype(str))
    store.put(f"{RESULTS}{result.unit}.parquet", parquet_bytes(series), PARQUET)
    summary = {**result.summary(), "slice": ref.slice, "slices": ref.slices, "shadowed": shadowed}
    store.put(f"{RESULTS}{result.unit}.json", json_bytes(summary), JSON)


def record_failure(store: S3Store, ref: UnitRef, unit: str, exc: BaseException) -> None:
    """Why the unit failed, beside the message that SQS will move to the dead-letter queue."""
    key = f"{FAILURES}{unit}.json"
    try:
        attempts = int(json.loads(store.get(key)[0]).get("attempts", 0)) + 1
    except (NotFound, ValueError):
        attempts = 1
    reason = f"{type(exc).__name__}: {exc}"
    body = {"key": ref.key, "etag": ref.etag, "slice": ref.slice, "slices": ref.slices, "unit": unit,
            "reason": reason, "attempts": attempts, "at": datetime.now(UTC).isoformat(),
            "where": traceback.format_exception(exc)[-2].strip()[:500] if exc.__traceback__ else ""}  # fmt: skip
    _quietly(store.put, key, json_bytes(body), JSON)


def _scoring_id(model: PitchModel, challenger: Challenger | None, unit: str) -> str:
    """The id the unit's rows carry (``run_id``): the same unit and models give the same id, so a redelivered
    unit writes the same bytes. The run that commits it lists it in its manifest."""
    shadowing = [str(challenger.version)] if challenger is not None and challenger.model is not None else []
    return digest(model.info.version, *shadowing, unit)


def _piece(data: bytes, ref: UnitRef, unit: str, slice_lines: int) -> Piece:
    if ref.slices <= 1:
        return Piece(data, unit, ref.part())
    lines = _data_lines(data, header=True)
    header = next(lines)
    start, stop = ref.slice * slice_lines, (ref.slice + 1) * slice_lines
    chunk = list(itertools.islice(lines, start, stop))  # reading stops at the slice's end
    return Piece(header + b"".join(chunk), unit, ref.part(), lines_before=start)


def _data_lines(data: bytes, *, header: bool = False) -> Iterator[bytes]:
    """The file's lines, streamed (gzip or not): the header first when asked, then each data line."""
    stream: io.BufferedIOBase = gzip.GzipFile(fileobj=io.BytesIO(data)) if data[:2] == GZIP_MAGIC else io.BytesIO(data)
    first = stream.readline()
    if header:
        yield first
    for line in stream:
        if line.strip():
            yield line if line.endswith(b"\n") else line + b"\n"


def send_to(client: Any, queue_url: str) -> Callable[[list[str]], None]:
    """A sender of messages to ``queue_url`` (SQS takes ten at a time)."""

    def send(bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
            answer = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"SQS refused {len(answer['Failed'])} slice messages: {answer['Failed'][0]}")

    return send
