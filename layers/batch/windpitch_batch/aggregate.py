"""The fan-out's aggregation step: commit what the workers finished, once, as a run.

The scheduled BatchFunction runs it when the work is fanned out (``WORK_QUEUE_URL`` is set). It lists
``state/results/`` only (finished units not yet committed: the listing grows with new work, never with
history), and then, as one run:

1. merges their rows into the turbines' dashboard states and detects fault events fleet-wide (here, once,
   not by every worker), publishes the fleet files, the monitoring and the shadow comparison;
2. writes each unit's done marker (``state/done/<unit>.json``, naming the run), then the manifest, last
   (the commit point: a unit counts once a manifest names it, as in :mod:`windpitch_batch.run`);
3. deletes the results it committed.

Dying anywhere before the manifest leaves the results in place: the next aggregation commits them (the same
run id, the same bytes). Dying after it leaves results whose done marker names a committed run: they are
found committed and deleted. A lease (``state/leases/aggregator``) keeps two aggregations apart.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from windpitch.runtime import PitchModel

from . import config as paths
from .config import BatchConfig
from .outputs import digest, json_bytes
from .registry import challenger_for
from .run import JSON, RunOutcome, UnitResult, _quietly, commit_run, take_lease
from .store import NotFound, S3Store
from .worker import DONE, RESULTS, committed_run

AGGREGATOR_LEASE = f"{paths.STATE}leases/aggregator"  # expires with the other leases
KEYS = f"{paths.STATE}keys/"
_PART = re.compile(r"([0-9a-f]{16})(?:-(\d{4}))?(?=[./])")  # an output's part: digest(key), and its slice


def aggregate(
    store: S3Store,
    model: PitchModel,
    config: BatchConfig,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    limit: int = 2000,
) -> RunOutcome:
    """Commit up to ``limit`` finished units as one run (the rest wait for the next aggregation)."""
    started = now()
    token = uuid.uuid4().hex
    if not take_lease(store, AGGREGATOR_LEASE, token, started, config.lease_seconds):
        return RunOutcome("nothing done", "another aggregation is running")
    try:
        units = sorted(o.key.removeprefix(RESULTS).removesuffix(".json") for o in store.list(RESULTS)
                       if o.key.endswith(".json"))  # fmt: skip
        fresh = []
        for unit in units:
            if committed_run(store, unit) is not None:  # committed by an aggregation that died before cleaning up
                _forget(store, unit)
            else:
                fresh.append(unit)
        if not fresh:
            return RunOutcome("nothing to do")
        challenger = challenger_for(store, model, config.challenger)
        shadowing = challenger.version if challenger is not None and challenger.model is not None else None
        results = [_load(store, unit, shadowing) for unit in fresh[:limit]]
        # A new version's superseded outputs go first: before the monitoring sums its counts, before the commit.
        supersede(store, results)
        run_id = digest(model.info.version, "aggregate", *(r.unit for r in results))
        manifest = commit_run(
            store, model, config, results, run_id=run_id, started=started, now=now,
            candidates=len(results) + max(len(fresh) - limit, 0), challenger=challenger,
            ledger=lambda result: store.put(f"{DONE}{result.unit}.json",
                                            json_bytes({"run": run_id, "key": result.key}), JSON),
            marks={"fanned_out": True},
        )  # fmt: skip
        for unit in fresh[:limit]:
            _forget(store, unit)
        return RunOutcome("committed", manifest=manifest)
    finally:
        _quietly(store.delete, AGGREGATOR_LEASE)


def supersede(store: S3Store, results: list[UnitResult]) -> None:
    """A new version of a raw file replaces its old version's outputs: those of the same slice are rewritten
    under the same names, and this deletes the rest (the old version had more slices, or was sliced and is now
    whole, or the reverse). ``state/keys/<digest(key)>.json`` remembers each file's committed outputs.

    Done before the commit: an aggregation that dies after it leaves only what the new version replaces.
    """
    by_key: dict[str, list[UnitResult]] = {}
    for result in results:
        by_key.setdefault(result.key, []).append(result)
    for key, units in by_key.items():
        part, etag, slices = digest(key), units[-1].etag, units[-1].slices
        index = f"{KEYS}{part}.json"
        try:
            old = json.loads(store.get(index)[0])
        except NotFound:
            old = None
        outputs = sorted({o for u in units if u.etag == etag for o in u.outputs})
        if old is not None and old.get("etag") == etag:
            outputs = sorted({*old.get("outputs", []), *outputs})
        elif old is not None:
            kept = {None} if slices <= 1 else {f"{k:04d}" for k in range(slices)}
            for output in old.get("outputs", []):
                found = _PART.search(output)
                if found and found.group(1) == part and found.group(2) not in kept:
                    _quietly(store.delete, output)
        store.put(index, json_bytes({"key": key, "etag": etag, "slices": slices, "outputs": outputs}), JSON)


def _load(store: S3Store, unit: str, shadowing: str | None) -> UnitResult:
    """A finished unit's summary and rows; the challenger's answers kept only if they are ``shadowing``'s."""
    summary = json.loads(store.get(f"{RESULTS}{unit}.json")[0])
    result = UnitResult(summary["key"], summary["etag"], summary["unit"], summary["rows_in"], summary["rows_scored"],
                        summary["rows_rejected"], summary["outputs"], summary["rejected_file"],
                        slices=max(1, int(summary.get("slices", 1))))  # fmt: skip
    try:
        rows = pd.read_parquet(io.BytesIO(store.get(f"{RESULTS}{unit}.parquet")[0]))
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
        _quietly(store.delete, f"{RESULTS}{unit}{suffix}")
