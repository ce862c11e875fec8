"""Publish: what readers see, written only for units the ledger names.

* a unit's staged outputs (its bundle, ``state/staged/<unit>.zip``) are written under their public keys
  (predictions, quarantine, monitoring and shadow counts), then the bundle is dropped;
* the dashboard's files: each turbine's state (its recent series and events, merged), the fleet summary, the
  anomalies, and the analysts' ``anomalies/events.{json,parquet}``.

The commit (:mod:`windpitch_batch.commit`) calls both after the units' ledger entries are written, so the
dashboard, Athena and DuckDB never see a unit the ledger does not hold.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pandas as pd

from windpitch.runtime import PitchModel

from . import keys
from .config import BatchConfig
from .dashboard import (
    all_events,
    fleet_events,
    fleet_summary,
    merge_series,
    rows_empty,
    shadow_view,
    turbine_state,
    without_shadow,
)
from .leases import quietly
from .outputs import Upload, events_parquet, json_bytes, unbundle
from .registry import Challenger
from .score import JSON, PARQUET, UnitResult
from .store import Conflict, NotFound, S3Store


def publish_outputs(store: S3Store, results: list[UnitResult]) -> None:
    """Write every unit's staged outputs under their public keys (a publish redone writes the same bytes).

    One unit's bundle is read while the previous unit's outputs upload (16 at a time), so at most two bundles are
    held: memory stays bounded however many units one commit takes."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        uploading: list[Future[str]] = []
        for result in results:
            outputs = _staged(store, result)
            for future in uploading:
                future.result()  # an upload that failed after its retries fails the commit (before its manifest)
            uploading = [pool.submit(store.put, key, body, kind) for key, body, kind in outputs]
        for future in uploading:
            future.result()


def _staged(store: S3Store, result: UnitResult) -> list[Upload]:
    try:
        return unbundle(store.get(keys.staged(result.unit))[0])
    except NotFound:
        # Bundles are dropped only after the manifest, whose units are then never committed again: a missing one
        # was published by a commit whose lease ran out under it, and its outputs are there.
        return []


def drop_staged(store: S3Store, results: list[UnitResult]) -> None:
    """After the commit: the staged bundles are published, and the lifecycle would only expire them later."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        for future in [pool.submit(quietly, store.delete, keys.staged(r.unit)) for r in results]:
            future.result()


def update_dashboard(
    store: S3Store,
    model: PitchModel,
    config: BatchConfig,
    results: list[UnitResult],
    *,
    run_id: str,
    now: datetime,
    challenger: Challenger | None = None,
) -> dict[str, dict[str, Any]]:
    """Merge the run's rows into the turbines' states, detect faults fleet-wide, then write the fleet files."""
    frames = [r.scored for r in results if r.scored is not None and len(r.scored)]
    scored = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["turbine"])
    rows = {str(t): g for t, g in scored.groupby("turbine", sort=True, observed=True)}
    shadowing = challenger.version if challenger is not None and challenger.model is not None else None
    states = _update_turbines_with_retry(store, model, config, rows, shadowing=shadowing)
    fleet = fleet_summary(states, model.info.version, run_id, now, config.schedule_minutes)
    events = all_events(states)
    store.put(keys.dashboard("fleet.json"), json_bytes(fleet), JSON, cache_control=keys.SHORT_CACHE)
    store.put(keys.dashboard("anomalies.json"), json_bytes({"events": events[:500]}), JSON,
              cache_control=keys.SHORT_CACHE)  # fmt: skip
    detector = config.detector.as_dict()
    store.put(f"{keys.ANOMALIES}events.json", json_bytes({"detector": detector, "events": events}), JSON)
    store.put(f"{keys.ANOMALIES}events.parquet", events_parquet(events), PARQUET)
    return states


def _update_turbines_with_retry(
    store: S3Store,
    model: PitchModel,
    config: BatchConfig,
    rows: dict[str, pd.DataFrame],
    *,
    shadowing: str | None,
    attempts: int = 8,
) -> dict[str, dict[str, Any]]:
    """Read every turbine's state, merge, detect across the fleet, and write what changed, each write
    conditional on the state read (optimistic concurrency): if another commit changed one meanwhile, all is
    read and merged again (merges are idempotent, so redoing one never duplicates a row).

    With a challenger in shadow (``shadowing``: its version), its events are detected the same way on its own
    residuals, so the two models' events are compared like for like."""
    for attempt in range(attempts):
        read = _read_turbines(store)
        previous = {name: without_shadow(state, shadowing) for name, (state, _) in read.items()}
        series = {name: merge_series(previous.get(name), rows.get(name, rows_empty())) for name in {*read, *rows}}
        events = fleet_events(series, {n: (s or {}).get("events", []) for n, s in previous.items()}, model.farm,
                              config.detector)  # fmt: skip
        shadow_events: dict[str, list[dict[str, Any]]] = {}
        if shadowing is not None:
            views = {name: shadow_view(frame) for name, frame in series.items()}
            earlier = {n: (s or {}).get("shadow_events", []) for n, s in previous.items()}
            shadow_events = fleet_events(views, earlier, model.farm, config.detector)
        states = {
            name: turbine_state(
                name,
                series[name],
                events[name],
                config.detector,
                config.window_days,
                shadow=(shadowing, shadow_events[name]) if shadowing is not None else None,
            )
            for name in series
        }
        try:
            for name, state in sorted(states.items()):
                if state == previous.get(name):
                    continue  # unchanged: no write, no conflict to risk
                etag = read[name][1] if name in read else None
                condition: dict[str, Any] = {"if_match": etag} if etag else {"if_none_match": True}
                store.put(keys.turbine_state(name), json_bytes(state), JSON, cache_control=keys.SHORT_CACHE,
                          **condition)  # fmt: skip
            return states
        except Conflict:
            time.sleep(0.05 * (attempt + 1))  # another commit updated a turbine: read all again and merge again
    raise RuntimeError(f"turbine states still conflicting after {attempts} attempts")


def _read_turbines(store: S3Store) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
    read: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
    for obj in store.list(keys.TURBINES):
        name = obj.key.rsplit("/", 1)[-1].removesuffix(".json")
        try:
            data, etag = store.get(obj.key)
        except NotFound:
            continue
        read[name] = (json.loads(data), etag)
    return read
