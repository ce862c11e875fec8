"""Score a unit: the one step every entry point runs for each unit, in whatever process runs it.

For a unit, in this order (:func:`work_unit`):

1. **Done already?** The ledger holds it (committed, under whatever slicing it was planned with), or its result
   waits for the commit (``state/results/<unit>.json``): a duplicate; nothing is written.
2. **Lease** ``state/leases/<unit>``: a unit is never scored by two processes at once. A unit leased elsewhere
   raises :class:`Busy` (a worker's message fails and comes back later; an in-process run leaves it).
3. **Score and stage** its outputs in one bundle, ``state/staged/<unit>.zip`` (deterministic bytes; readers never
   see them before the commit names the unit in the ledger and publishes them).
4. **Result** ``state/results/<unit>.json`` and the rows the dashboard merges (``.parquet``), written last: a
   process dying before it loses nothing (the unit is redone, the same bytes).

A unit that raises records why in ``state/failures/<unit>.json``. Bad input never raises: a file that is not
SCADA is quarantined whole with its reason, bad rows with their line and reason, and the good rows beside them
are scored.
"""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from windpitch.errors import DataError
from windpitch.runtime import PitchModel
from windpitch_frames.loading import LoadReport, load_scada
from windpitch_frames.scoring import score_frame

from . import keys, ledger
from .config import BatchConfig
from .dashboard import SERIES
from .discover import BadMessage, unit_refs
from .keys import digest
from .leases import quietly, take_lease
from .monitoring import count_uploads, unit_counts
from .outputs import Upload, bundle, by_date, json_bytes, parquet_bytes, quarantine_csv, text_lines
from .plan import Piece, UnitRef, piece, plan, slice_count
from .registry import Challenger
from .shadow import count_uploads as shadow_uploads
from .shadow import unit_sums
from .store import NotFound, Object, S3Store

JSON: Final = "application/json"
PARQUET: Final = "application/vnd.apache.parquet"
ZIP: Final = "application/zip"


class Busy(RuntimeError):
    """The unit is being scored elsewhere right now."""


@dataclass
class UnitResult:
    """What became of one unit: its counts and the outputs it staged, waiting for the commit."""

    ref: UnitRef
    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    outputs: list[str] = field(default_factory=list)  # the published keys its staged outputs go to
    rejected_file: str | None = None  # the reason, when the whole file (or slice) is quarantined
    scored: pd.DataFrame | None = None
    shadowed: str | None = None  # the challenger whose answers ``scored`` carries
    scoring_id: str = ""  # the ``run_id`` its rows carry: the same unit and models always give the same

    @property
    def key(self) -> str:
        return self.ref.key

    @property
    def etag(self) -> str:
        return self.ref.etag

    @property
    def unit(self) -> str:
        return self.ref.unit()

    def summary(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "etag": self.etag,
            "unit": self.unit,
            "slice": self.ref.slice,
            "slices": max(self.ref.slices, 1),
            "rows_in": self.rows_in,
            "rows_scored": self.rows_scored,
            "rows_rejected": self.rows_rejected,
            "outputs": self.outputs,
            "rejected_file": self.rejected_file,
            "scoring_id": self.scoring_id,
        }


@dataclass
class Worked:
    """What became of one unit: ``scored``, ``duplicate`` (done already), or ``gone`` (the file was replaced or
    deleted since the unit was found: its current version is found on its own)."""

    ref: UnitRef
    status: str
    rows: int = 0
    rejected: int = 0


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
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Worked:
    """Score one unit and leave its result (see the module's steps). A file not planned yet (``slices`` 0) is
    planned here: its first slice is scored, the others are handed to ``send`` as unit messages."""
    try:
        data, etag = store.get(ref.key)
    except NotFound:
        return Worked(ref, "gone")
    if ref.etag and etag != ref.etag:
        return Worked(ref, "gone")  # replaced since: the new version is found on its own
    ref = UnitRef(ref.key, etag, ref.slice, ref.slices)
    # The version's committed slices, by the slicing they were planned with (one listing): a version committed
    # under another slicing (an older setting, the records kept before the ledger) is done, or is finished in it.
    committed = ledger.committed_slices(store, ref.key, etag)
    if any(len(done) >= count for count, done in committed.items()):
        return Worked(ref, "duplicate")
    if ref.slices and ref.slices not in committed:
        _check_plan(data, ref, config.slice_lines)
    if not ref.slices:
        if committed:  # begun under another slicing: finished in that one
            count = max(committed)
            ref, *others = [UnitRef(ref.key, etag, k, count) for k in range(count)]
        else:
            ref, *others = plan(data, ref, config.slice_lines)
        if others:
            send([other.as_message() for other in others])
    unit = ref.unit()
    if ref.slice in committed.get(max(ref.slices, 1), set()) or waiting(store, ref):
        return Worked(ref, "duplicate")
    if not take_lease(store, keys.lease(unit), uuid.uuid4().hex, now(), config.lease_seconds):
        raise Busy(f"unit {unit} ({ref.key}) is being scored elsewhere; retry later")
    try:
        try:
            result = score_piece(store, model, config, piece(data, ref, config.slice_lines), challenger=challenger)
        except Exception as exc:
            record_failure(store, ref, exc)
            raise
        write_result(store, result)
    finally:
        quietly(store.delete, keys.lease(unit))
    return Worked(ref, "scored", result.rows_in, result.rows_rejected)


def _check_plan(data: bytes, ref: UnitRef, slice_lines: int) -> None:
    """A unit message's slicing must be the file's own plan (or one the ledger already holds, from an older
    setting): a forged slice count would otherwise re-plan the file into empty and partial units."""
    planned = slice_count(data, ref, slice_lines)
    if ref.slices != planned:
        raise BadMessage(f"unit.slices {ref.slices}: {ref.key} is planned in {planned} slice(s) of {slice_lines} lines")


def waiting(store: S3Store, ref: UnitRef) -> bool:
    """Scored, its result waiting for the commit."""
    try:
        store.get(keys.result(ref.unit()))
        return True
    except NotFound:
        return False


def scoring_id(model: PitchModel, challenger: Challenger | None, unit: str) -> str:
    """The id the unit's rows carry (``run_id``): the same unit and models give the same id, so a unit redone
    writes the same bytes. The run that commits it lists it in its manifest."""
    return digest(model.info.version, *_shadowing(challenger), unit)


def score_piece(
    store: S3Store, model: PitchModel, config: BatchConfig, unit: Piece, *, challenger: Challenger | None = None
) -> UnitResult:
    """Score one unit's rows and stage its predictions, quarantine and counts; with a challenger, score the same
    rows with it too and stage its sums (its answers join the dashboard's series, not the predictions)."""
    ref, data = unit.ref, unit.data
    result = UnitResult(ref, shadowed=next(iter(_shadowing(challenger)), None),
                        scoring_id=scoring_id(model, challenger, ref.unit()))  # fmt: skip
    lines = text_lines(data)
    try:
        # The model's farm: its fleet and each turbine's limits decide which rows can be scored.
        frame, report = load_scada(data, name=ref.key, keep_invalid=True, farm=model.farm)
    except DataError as exc:
        return _quarantine_whole(store, result, data, lines, reason=str(exc))
    scored, rejected, inputs = score_frame(frame, model, config.detector)
    rejected = _with_bad_lines(rejected, report, lines)
    rejected = rejected.assign(line=rejected["line"] + unit.lines_before)  # the file's own line numbers
    scored["run_id"] = result.scoring_id
    scored["source"] = ref.key
    # Dictionary-encoded in Parquet (readers see plain strings): 10.4 ms a part instead of 13.5.
    scored = scored.astype(dict.fromkeys(("turbine", "model_version", "run_id", "source"), "category"))
    result.rows_scored, result.rows_rejected = len(scored), len(rejected)
    result.rows_in = result.rows_scored + result.rows_rejected
    counts = count_uploads(ref.part(), unit_counts(scored, inputs, model, len(rejected)))
    shadow: npt.NDArray[np.float64] = np.full(len(scored), np.nan)
    if challenger is not None and challenger.model is not None and len(scored):
        shadow = challenger.model.predict_inputs(inputs)  # the same rows, the same inputs: only the model differs
        counts += shadow_uploads(str(challenger.version), ref.part(), unit_sums(scored, shadow))
    result.outputs = _stage(store, ref, scored, rejected, lines, extra=counts, lines_before=unit.lines_before)
    result.scored = scored.assign(shadow_expected_deg=shadow)
    return result


def _quarantine_whole(store: S3Store, result: UnitResult, data: bytes, lines: list[str], *, reason: str) -> UnitResult:
    """A file that is not SCADA goes whole to quarantine with a report; every row it held counts as rejected."""
    ref = result.ref
    rows = max(0, sum(1 for line in lines[1:] if line.strip()))
    result.rows_in = result.rows_rejected = rows
    result.rejected_file = reason
    report = {"key": ref.key, "etag": ref.etag, "reason": reason, "rows_rejected": rows}
    uploads = [
        (keys.quarantine(ref.part(), ref.key.rsplit("/", 1)[-1]), data, "application/octet-stream"),
        (keys.quarantine(ref.part(), "report.json"), json_bytes(report), JSON),
    ]
    store.put(keys.staged(ref.unit()), bundle(uploads), ZIP)
    result.outputs = [key for key, _, _ in uploads]
    return result


def _with_bad_lines(rejected: pd.DataFrame, report: LoadReport, lines: list[str]) -> pd.DataFrame:
    """Lines the loader could not split into the header's fields join the rejected rows, in line order."""
    if not report.bad_lines:
        return rejected
    width = len(lines[0].split(report.delimiter)) if lines else 0
    extra = pd.DataFrame({"line": report.bad_lines, "reason": f"line does not have the header's {width} fields"})
    return pd.concat([rejected, extra], ignore_index=True).sort_values("line", kind="stable")


def _stage(
    store: S3Store,
    ref: UnitRef,
    scored: pd.DataFrame,
    rejected: pd.DataFrame,
    lines: list[str],
    *,
    extra: list[tuple[str, bytes, str]],
    lines_before: int = 0,
) -> list[str]:
    """Stage a unit's quarantined rows, its counts (``extra``) and its predictions, one Parquet part per day, as
    one bundle; return the keys they are published under (named by the raw key and slice: a new version replaces
    them)."""
    part = ref.part()
    uploads: list[Upload] = list(extra)
    if len(rejected):
        quoted = rejected.assign(line=rejected["line"] - lines_before)  # the piece's own lines, to quote them
        uploads.append((keys.quarantine(part, "rows.csv"), quarantine_csv(lines, quoted, lines_before), "text/csv"))
        reasons = rejected["reason"].str.split(":").str[0].value_counts().sort_index().to_dict()
        report = {"key": ref.key, "etag": ref.etag, "rows_rejected": len(rejected), "by_reason": reasons}
        uploads.append((keys.quarantine(part, "report.json"), json_bytes(report), JSON))
    uploads += [(keys.prediction_part(day, part), parquet_bytes(rows), PARQUET) for day, rows in by_date(scored)]
    store.put(keys.staged(ref.unit()), bundle(uploads), ZIP)  # failing after its retries fails the unit (no result)
    return [key for key, _, _ in uploads]


def write_result(store: S3Store, result: UnitResult) -> None:
    """The rows the dashboard merges (Parquet), then the summary: the summary's presence is the unit's end.

    The summary names the challenger whose answers the rows carry, so that a commit under another challenger
    (the pointer moved while the unit was in flight) does not take them for its own."""
    rows = result.scored if result.scored is not None else pd.DataFrame()
    columns = ["turbine", *SERIES.values()]
    series = rows.reindex(columns=columns) if len(rows) else pd.DataFrame({c: [] for c in columns})
    series = series.assign(turbine=series["turbine"].astype(str))
    store.put(keys.result(result.unit, ".parquet"), parquet_bytes(series), PARQUET)
    store.put(keys.result(result.unit), json_bytes({**result.summary(), "shadowed": result.shadowed}), JSON)


def record_failure(store: S3Store, ref: UnitRef, exc: BaseException) -> None:
    """Why the unit failed, beside the message that SQS will move to the dead-letter queue."""
    key = keys.failure(ref.unit())
    try:
        attempts = int(json.loads(store.get(key)[0]).get("attempts", 0)) + 1
    except (NotFound, ValueError):
        attempts = 1
    reason = f"{type(exc).__name__}: {exc}"
    body = {"key": ref.key, "etag": ref.etag, "slice": ref.slice, "slices": ref.slices, "unit": ref.unit(),
            "reason": reason, "attempts": attempts, "at": datetime.now(UTC).isoformat(),
            "where": traceback.format_exception(exc)[-2].strip()[:500] if exc.__traceback__ else ""}  # fmt: skip
    quietly(store.put, key, json_bytes(body), JSON)


def send_to(client: Any, queue_url: str) -> Callable[[list[str]], None]:
    """A sender of messages to ``queue_url`` (SQS takes ten at a time)."""

    def send(bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
            answer = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"SQS refused {len(answer['Failed'])} unit messages: {answer['Failed'][0]}")

    return send


def ref_of(obj: Object) -> UnitRef:
    """A listed raw file as a unit to plan."""
    return UnitRef(obj.key, obj.etag)


def _shadowing(challenger: Challenger | None) -> list[str]:
    return [str(challenger.version)] if challenger is not None and challenger.model is not None else []
