"""The challenger in shadow: its answers beside the live model's, counted per file and compared per run.

Per scored file, each turbine's producing rows of each UTC day are summed (:func:`windpitch.shadow.error_sums`)
into one object under the file's last day, ``shadow/<version>/counts/date=D/part-<id>.json``, named by the raw
key like the predictions (a rerun rewrites the same bytes; a new challenger version starts its own counts).
Each run then adds up the window's days and publishes the comparison, with the fault events each model raised
(the live model's and the challenger's, both detected fleet-wide on the turbines' series: see
:mod:`windpitch_batch.dashboard`)::

    shadow/latest.json, shadow/<version>/date=D/comparison.json, dashboard/shadow.json
    {"status": "compared", "live": {...}, "challenger": {...}, "overall": {...}, "turbines": {...}, "days": [...]}

With no challenger named it publishes ``{"status": "none"}``; with one refused, ``{"status": "refused", ...}``
and the reason: the dashboard and ``python -m windpitch model compare`` say so rather than show stale figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from windpitch.runtime import PitchModel
from windpitch.shadow import EDGES, add_sums, empty_sums, grouped_error_sums, match_events, summarise

from . import keys
from .monitoring import dated_counts, dated_upload, window
from .outputs import json_bytes
from .registry import Challenger
from .store import S3Store

SHADOW: Final = keys.SHADOW


def counts_prefix(version: str) -> str:
    return keys.shadow_counts(version)


def unit_sums(rows: pd.DataFrame, challenger_expected: npt.NDArray[np.float64]) -> dict[str, dict[str, Any]]:
    """``{day: {turbine: sums}}`` over a file's producing rows (the regime the models are judged in)."""
    producing = rows["producing"].to_numpy(bool)
    if not producing.any():
        return {}
    stamps = rows["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[D]")[producing]
    turbines = rows["turbine"].astype(str).to_numpy()[producing]
    days, day_of = np.unique(stamps, return_inverse=True)
    names, turbine_of = np.unique(turbines, return_inverse=True)
    pair, group = np.unique(day_of * len(names) + turbine_of, return_inverse=True)
    sums = grouped_error_sums(
        group.astype(np.intp),
        len(pair),
        rows["measured_pitch_deg"].to_numpy(np.float64)[producing],
        rows["expected_pitch_deg"].to_numpy(np.float64)[producing],
        challenger_expected[producing],
    )
    out: dict[str, dict[str, Any]] = {}
    for code, figures in zip(pair.tolist(), sums, strict=True):
        out.setdefault(str(days[code // len(names)]), {})[str(names[code % len(names)])] = figures
    return out


def count_uploads(version: str, part: str, sums: dict[str, dict[str, Any]]) -> list[tuple[str, bytes, str]]:
    """The file's sums for ``version``, kept as the monitoring counts are (one object under its last day)."""
    return dated_upload(counts_prefix(version), part, sums)


def update_shadow(
    store: S3Store,
    live: PitchModel,
    challenger: Challenger | None,
    states: dict[str, dict[str, Any]],
    *,
    window_days: int,
    now: datetime,
    outputs: Iterable[str] = (),
) -> dict[str, Any]:
    """Publish the comparison (or why there is none); return what the manifest records. ``outputs``: the
    committed units', whose sums are folded into the daily sums first."""
    if challenger is None:
        report: dict[str, Any] = {"status": "none", "live": {"version": live.info.version}}
    elif challenger.model is None:
        report = {"status": "refused", "live": {"version": live.info.version}, "challenger": challenger.as_dict()}
    else:
        report = _comparison(store, live, challenger, states, window_days=window_days, now=now, outputs=outputs)
    body = json_bytes(report)
    store.put(f"{SHADOW}latest.json", body, "application/json")
    store.put(keys.dashboard("shadow.json"), body, "application/json", cache_control=keys.SHORT_CACHE)
    if report["status"] == "compared":
        day = report["window"]["last_day"]
        store.put(f"{SHADOW}{challenger.version}/date={day}/comparison.json", body, "application/json")  # type: ignore[union-attr]
        return {"status": "compared", "challenger": challenger.version, "overall": report["overall"]}  # type: ignore[union-attr]
    return {k: v for k, v in report.items() if k != "live"}


def _comparison(
    store: S3Store,
    live: PitchModel,
    challenger: Challenger,
    states: dict[str, dict[str, Any]],
    *,
    window_days: int,
    now: datetime,
    outputs: Iterable[str],
) -> dict[str, Any]:
    version = str(challenger.version)
    today = pd.Timestamp(now).normalize()  # before any data: the window ends today, and holds nothing
    days = window(states, window_days) or [(today - pd.Timedelta(days=k)).strftime("%Y-%m-%d")
                                           for k in range(window_days)]  # fmt: skip
    sums = _window_sums(store, version, days, outputs)
    compared = {(day, turbine) for day, by_turbine in sums.items() for turbine in by_turbine}
    events = {
        name: _events_on(state, compared, name)
        for name, state in sorted(states.items())
        if state.get("shadow_version") == version
    }
    per_turbine: dict[str, dict[str, Any]] = {}
    rows = []
    total = empty_sums()
    for day in sorted(sums):
        for turbine, group in sorted(sums[day].items()):
            per_turbine[turbine] = add_sums(per_turbine.get(turbine, empty_sums()), group)
            total = add_sums(total, group)
            live_events, shadow_events = events.get(turbine, ([], []))
            rows.append(
                {
                    "day": day,
                    "turbine": turbine,
                    **summarise(group),
                    "events": {
                        "live": sum(1 for e in live_events if e["start"][:10] == day),
                        "challenger": sum(1 for e in shadow_events if e["start"][:10] == day),
                    },
                }
            )
    all_live = [e for pair in events.values() for e in pair[0]]
    all_shadow = [e for pair in events.values() for e in pair[1]]
    return {
        "status": "compared",
        "generated_at": now.isoformat(),
        "regime": "producing (P_avg > 0, measured pitch known)",
        "live": {"version": live.info.version},
        "challenger": challenger.as_dict(),
        "window": {"first_day": days[-1], "last_day": days[0], "days": window_days, "days_with_data": len(sums)},
        "overall": {**summarise(total), "events": match_events(all_live, all_shadow)},
        "turbines": {
            name: {**summarise(group), "events": match_events(*events.get(name, ([], [])))}
            for name, group in sorted(per_turbine.items())
        },
        "days": rows,
        "disagreement_bins": {"edges_deg": EDGES.tolist(), "counts": total["disagreement"]},
    }


def _events_on(
    state: dict[str, Any], compared: set[tuple[str, str]], turbine: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The turbine's live and challenger events that start on a day both models scored (a live event from
    before the challenger was published has no counterpart to be compared with)."""

    def kept(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if (e["start"][:10], turbine) in compared]

    return kept(state.get("events", [])), kept(state.get("shadow_events", []))


def _window_sums(store: S3Store, version: str, days: list[str], outputs: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for day, by_turbine in dated_counts(store, counts_prefix(version), days, outputs):
        for turbine, group in by_turbine.items():
            out.setdefault(day, {})[turbine] = add_sums(out.get(day, {}).get(turbine, empty_sums()), group)
    return out
