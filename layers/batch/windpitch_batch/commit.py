"""Commit: the scored units waiting in ``state/results/`` become one run, once.

Whoever scored them (a worker, ``python -m windpitch batch``, a backfill), the commit is the same, under one
lease (``state/leases/aggregator``) so two never interleave. Its listing is ``state/results/`` only: finished
units not yet committed, which grows with new work, never with history. In order:

1. the records kept before the ledger are migrated into it (:func:`windpitch_batch.ledger.migrate`; a listing
   of three empty prefixes once done);
2. a result whose ledger entry names a run with a manifest was committed by a commit that died before its
   clean-up: it is dropped, never counted twice;
3. **the ledger entries** (the commit point of each unit), then what a replaced version leaves behind is removed
   (:func:`supersede`), the staged outputs are published, the turbines' dashboard states merged and fault events
   detected fleet-wide, the monitoring and the shadow comparison updated;
4. **the manifest** (``manifests/run-<run>.json``, only if absent) and ``dashboard/manifest.json``;
5. the committed results and staged bundles are deleted.

Dying anywhere before the manifest leaves the results in place: the next commit does them again (the same
bytes; the ledger entries are rewritten under its run). Every row is counted in exactly one manifest.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from windpitch.runtime import PitchModel

from . import daily, keys, ledger
from .config import BatchConfig
from .keys import digest
from .leases import quietly, take_lease
from .monitoring import update_monitoring
from .outputs import json_bytes
from .plan import UnitRef
from .publish import drop_staged, publish_outputs, update_dashboard
from .registry import Challenger, challenger_for
from .score import JSON, UnitResult
from .shadow import update_shadow
from .store import Conflict, NotFound, S3Store

Status = Literal["committed", "nothing to do", "nothing done"]
_PART = re.compile(r"([0-9a-f]{16})(?:-(\d{4}))?(?=[./])")  # an output's part: digest(key), and its slice


@dataclass(frozen=True)
class RunOutcome:
    """What one run did: ``committed`` with its manifest, or why it did nothing.

    Example:
        >>> RunOutcome("nothing done", reason="no time left in this invocation", files_pending=3).as_dict()
        {'status': 'nothing done', 'reason': 'no time left in this invocation', 'files_pending': 3}
    """

    status: Status
    reason: str | None = None
    files_pending: int = 0
    manifest: dict[str, Any] | None = None

    @property
    def committed(self) -> bool:
        return self.manifest is not None

    def as_dict(self) -> dict[str, Any]:
        """The manifest of a committed run; otherwise the status and why."""
        if self.manifest is not None:
            return self.manifest
        if self.status == "nothing to do":
            return {"status": self.status}
        return {"status": self.status, "reason": self.reason, "files_pending": self.files_pending}

    def summary(self) -> dict[str, Any]:
        """:meth:`as_dict` without the per-file inputs: what logs and the CLI print."""
        return {k: v for k, v in self.as_dict().items() if k != "inputs"}


def commit(
    store: S3Store,
    model: PitchModel,
    config: BatchConfig,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    limit: int = 2000,
    left: int = 0,
    marks: dict[str, Any] | None = None,
) -> RunOutcome:
    """Commit up to ``limit`` scored units as one run (the rest wait for the next commit).

    ``left``: files the caller found and did not score (they count in the manifest as left for the next run);
    ``marks``: added to the manifest. The challenger is the registry's now: rows a unit carries from another are
    not taken for its answers.
    """
    started = now()
    if not take_lease(store, keys.AGGREGATOR_LEASE, uuid.uuid4().hex, started, config.lease_seconds):
        return RunOutcome("nothing done", "another commit is running")
    try:
        ledger.migrate(store)
        fresh = _uncommitted(store)
        if not fresh:
            return RunOutcome("nothing to do")
        shadow = challenger_for(store, model, config.challenger)
        shadowing = shadow.version if shadow is not None and shadow.model is not None else None
        results = [_load(store, summary, shadowing) for summary in fresh[:limit]]
        run_id = digest(model.info.version, *([shadowing] if shadowing else []), *(r.unit for r in results))
        manifest = _commit_run(store, model, config, results, run_id=run_id, started=started, now=now,
                               left=left + max(len(fresh) - limit, 0), challenger=shadow)  # fmt: skip
        manifest.update(marks or {})
        # Absent-only: if the same run (same units, same model) was committed already, its content is identical.
        with contextlib.suppress(Conflict):
            store.put(keys.manifest(run_id), json_bytes(manifest), JSON, if_none_match=True)
        store.put(keys.dashboard("manifest.json"), json_bytes(manifest), JSON, cache_control=keys.SHORT_CACHE)
        with ThreadPoolExecutor(max_workers=16) as pool:  # two deletes a unit: round trips overlap
            for future in [pool.submit(_forget, store, result.unit) for result in results]:
                future.result()
        drop_staged(store, results)
        return RunOutcome("committed", manifest=manifest)
    finally:
        quietly(store.delete, keys.AGGREGATOR_LEASE)


def _uncommitted(store: S3Store) -> list[dict[str, Any]]:
    """The waiting results' summaries, in key and slice order; those a dead commit had finished are cleaned up."""
    fresh = []
    for obj in store.list(keys.RESULTS):
        if not obj.key.endswith(".json"):
            continue
        try:
            summary = json.loads(store.get(obj.key)[0])
        except NotFound:
            continue
        entry = ledger.read(store, _ref(summary))
        if entry is not None and entry.unit == summary["unit"] and _exists(store, keys.manifest(entry.run_id)):
            _forget(store, summary["unit"])  # committed: its commit died between the manifest and the clean-up
        else:
            fresh.append(summary)
    return sorted(fresh, key=lambda s: (s["key"], s.get("slice", 0)))


def _commit_run(
    store: S3Store,
    model: PitchModel,
    config: BatchConfig,
    results: list[UnitResult],
    *,
    run_id: str,
    started: datetime,
    now: Callable[[], datetime],
    left: int,
    challenger: Challenger | None,
) -> dict[str, Any]:
    """The ledger entries, then everything readers see; return the manifest (not yet written)."""
    committed_at = now().isoformat()
    for result in results:
        ledger.record(store, _entry(result, model, run_id, committed_at))
    supersede(store, results)
    publish_outputs(store, results)
    states = update_dashboard(store, model, config, results, run_id=run_id, now=started, challenger=challenger)
    outputs = [key for result in results for key in result.outputs]
    monitored = update_monitoring(store, model, states, config.monitoring, started, outputs=outputs)
    shadow = update_shadow(store, model, challenger, states, window_days=config.monitoring.window_days, now=started,
                           outputs=outputs)  # fmt: skip
    manifest = _manifest(run_id, model, config=config, started=started, finished=now(), results=results,
                         states=states, left=left)  # fmt: skip
    if monitored is not None:
        manifest["monitoring"] = monitored
    manifest["shadow"] = shadow
    return manifest


def supersede(store: S3Store, results: list[UnitResult]) -> None:
    """A new version of a raw file replaces its old versions: their outputs that the new one does not rewrite
    under the same name are deleted (a day the new slice no longer covers, the slices it no longer has). The old
    versions' ledger entries stay, as the history of what was scored."""
    by_key: dict[str, list[UnitResult]] = {}
    for result in results:
        by_key.setdefault(result.key, []).append(result)
    for key, units in by_key.items():
        etag = units[-1].etag
        old = [e for e in ledger.entries_of(store, key) if e.etag != etag]
        if not old:
            continue
        slices = max(units[-1].ref.slices, 1)
        rewritten = {u.ref.slice: set(u.outputs) for u in units if u.etag == etag}
        for entry in old:
            for output in entry.outputs:
                found = _PART.search(output)
                index = int(found.group(2)) if found and found.group(2) else 0
                if index >= slices or (index in rewritten and output not in rewritten[index]):
                    quietly(store.delete, output)
                    if counted := daily.parse(output):  # its counts leave the daily sums too
                        daily.unfold(store, *counted)


def _entry(result: UnitResult, model: PitchModel, run_id: str, committed_at: str) -> ledger.Entry:
    return ledger.Entry(
        key=result.key, etag=result.etag, unit=result.unit, slice=result.ref.slice,
        slices=max(result.ref.slices, 1), model_version=model.info.version, run_id=run_id, committed_at=committed_at,
        rows_in=result.rows_in, rows_scored=result.rows_scored, rows_rejected=result.rows_rejected,
        outputs=result.outputs, rejected_file=result.rejected_file,
    )  # fmt: skip


def _ref(summary: dict[str, Any]) -> UnitRef:
    return UnitRef(summary["key"], summary["etag"], int(summary.get("slice", 0)), int(summary.get("slices", 1)))


def _load(store: S3Store, summary: dict[str, Any], shadowing: str | None) -> UnitResult:
    """A scored unit's result and rows; the challenger's answers kept only if they are ``shadowing``'s."""
    result = UnitResult(_ref(summary), summary["rows_in"], summary["rows_scored"], summary["rows_rejected"],
                        summary["outputs"], summary["rejected_file"],
                        scoring_id=summary.get("scoring_id", ""))  # fmt: skip
    try:
        rows = pd.read_parquet(io.BytesIO(store.get(keys.result(result.unit, ".parquet"))[0]))
    except NotFound:
        rows = pd.DataFrame()
    if len(rows):
        rows["timestamp"] = pd.to_datetime(rows["timestamp"], utc=True)
        if summary.get("shadowed") != shadowing and "shadow_expected_deg" in rows:
            rows["shadow_expected_deg"] = float("nan")  # another challenger's (or none): not this comparison's
    result.scored = rows
    return result


def _forget(store: S3Store, unit: str) -> None:
    for suffix in (".parquet", ".json"):
        quietly(store.delete, keys.result(unit, suffix))


def _exists(store: S3Store, key: str) -> bool:
    try:
        store.get(key)
        return True
    except NotFound:
        return False


def _manifest(
    run_id: str,
    model: PitchModel,
    *,
    config: BatchConfig,
    started: datetime,
    finished: datetime,
    results: list[UnitResult],
    states: dict[str, dict[str, Any]],
    left: int,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "model_version": model.info.version,
        "detector": config.detector.as_dict(),
        "inputs": [r.summary() for r in results],
        "files_in": len({(r.key, r.etag) for r in results}),
        "units_in": len(results),
        "files_rejected": sum(1 for r in results if r.rejected_file),
        "files_left_for_next_run": left,
        "rows_in": sum(r.rows_in for r in results),
        "rows_scored": sum(r.rows_scored for r in results),
        "rows_rejected": sum(r.rows_rejected for r in results),
        "anomalies": {
            "events": sum(len(s["events"]) for s in states.values()),
            "open": sum(1 for s in states.values() for e in s["events"] if e["open"]),
        },
    }
