"""Per-turbine state for the dashboard and for fault events across runs.

``dashboard/turbines/<turbine>.json`` holds the turbine's recent series (``window_days``) and its fault
events. A run merges its scored rows into the turbines' series, then runs the detector
(:mod:`windpitch.detection`) on every turbine's merged series with the fleet's residual as reference, so a
fault that spans files (live SCADA lands every ten minutes) is seen whole, and a backfill finds the same
events as the live runs did. Merging is idempotent: the same rows merged twice give the same state.
``fleet.json`` and the event lists are derived from the turbine states.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from windpitch.detection import DetectorSettings, Series, detect, fleet_reference, regimes
from windpitch.farm import Farm

SERIES: Final = {  # state key -> scored column
    "time": "timestamp",
    "measured": "measured_pitch_deg",
    "expected": "expected_pitch_deg",
    "residual": "residual_deg",
    "wind": "wind_speed_ms",
    "power": "power_kw",
    "producing": "producing",
    "shadow": "shadow_expected_deg",  # the challenger's expected pitch (kept only while one is scored)
}
_ROUNDED: Final = (
    "measured_pitch_deg", "expected_pitch_deg", "residual_deg", "wind_speed_ms", "power_kw", "shadow_expected_deg"
)  # fmt: skip
MAX_EVENTS: Final = 1000  # per turbine: the dashboard file stays small


def series_frame(state: dict[str, Any] | None) -> pd.DataFrame:
    series = (state or {}).get("series") or {}
    length = len(series.get("time", []))
    # A state written with no challenger has no shadow series: the challenger's answer is unknown there.
    frame = pd.DataFrame({column: series.get(key, [None] * length) for key, column in SERIES.items()})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.astype(dict.fromkeys(_ROUNDED, float)).astype({"producing": bool})


def without_shadow(state: dict[str, Any] | None, version: str | None) -> dict[str, Any] | None:
    """``state`` as merging sees it: the challenger's series and events kept only if they are ``version``'s."""
    if state is None or state.get("shadow_version") == version:
        return state
    series = {k: v for k, v in state["series"].items() if k != "shadow"}
    return {**state, "series": series, "shadow_version": None, "shadow_events": []}


def shadow_view(frame: pd.DataFrame) -> pd.DataFrame:
    """A merged series as the challenger sees it: its expected pitch, and the residual from it (rounded as the
    state keeps it, so live runs and a backfill judge the same numbers)."""
    view = frame.copy()
    view["expected_pitch_deg"] = frame["shadow_expected_deg"]
    view["residual_deg"] = (frame["measured_pitch_deg"] - frame["shadow_expected_deg"]).round(3)
    return view


def rows_empty() -> pd.DataFrame:
    """No new rows for a turbine (its series is merged with nothing, its events are detected again)."""
    return series_frame(None)


def merge_series(state: dict[str, Any] | None, rows: pd.DataFrame) -> pd.DataFrame:
    """The turbine's kept series with ``rows`` (its scored rows) merged in: a row again replaces itself.

    New rows are rounded as the state keeps them (3 decimals), so the detector sees the same numbers whether
    a row arrived in this run or an earlier one: live runs and a backfill find the same events.
    """
    new = rows.reindex(columns=list(SERIES.values())).round(dict.fromkeys(_ROUNDED, 3))
    combined = pd.concat([series_frame(state), new], ignore_index=True)
    return combined.drop_duplicates("timestamp", keep="last").sort_values("timestamp").reset_index(drop=True)


def fleet_events(
    series: dict[str, pd.DataFrame],
    previous: dict[str, list[dict[str, Any]]],
    farm: Farm,
    settings: DetectorSettings,
) -> dict[str, list[dict[str, Any]]]:
    """Every turbine's events: the detector on its merged series against the fleet's, plus the events an
    earlier run saw whole before the kept window began."""
    arrays = {name: _arrays(frame) for name, frame in series.items()}
    judged = {
        name: (
            a["seconds"],
            a["residual"],
            regimes(a["residual"], a["expected"], a["power"], farm.rated_kw(name), settings) > 0,
        )
        for name, a in arrays.items()
    }
    reference = fleet_reference(judged, settings.fleet_min_others)
    out = {}
    for name, a in arrays.items():
        data = Series(a["seconds"], a["residual"], a["measured"], a["expected"], a["power"])
        found = detect(name, data, farm.rated_kw(name), settings=settings, reference=reference[name])
        frame = series[name]
        first = _iso(frame["timestamp"].iloc[0]) if len(frame) else ""
        earlier = [e for e in previous.get(name, []) if e["start"] < first]
        # An event already under way when the kept window began was seen whole by an earlier run: keep that one.
        carried = {e["start"] for e in earlier if e["end"] >= first}
        events = earlier + [e.as_dict() for e in found if not (e.start == first and carried)]
        out[name] = sorted({e["start"]: e for e in events}.values(), key=lambda e: e["start"])[-MAX_EVENTS:]
    return out


def turbine_state(
    turbine: str,
    combined: pd.DataFrame,
    events: list[dict[str, Any]],
    settings: DetectorSettings,
    window_days: int,
    *,
    shadow: tuple[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """What ``dashboard/turbines/<turbine>.json`` holds: the last ``window_days`` of the series, and events;
    with ``shadow`` (the challenger's version and events), the challenger's expected pitch and events too."""
    cutoff = combined["timestamp"].max() - pd.Timedelta(days=window_days) if len(combined) else None
    recent = combined[combined["timestamp"] > cutoff] if cutoff is not None else combined
    state: dict[str, Any] = {
        "turbine": turbine,
        "detector": settings.as_dict(),
        "window_days": window_days,
        "series": {
            key: [_iso(t) for t in recent[column]]
            if key == "time"
            else recent[column].astype(bool).tolist()
            if key == "producing"
            else [None if not np.isfinite(v) else round(float(v), 3) for v in recent[column]]
            for key, column in SERIES.items()
            if key != "shadow" or shadow is not None
        },
        "events": events,
    }
    if shadow is not None:
        state["shadow_version"], state["shadow_events"] = shadow
    return state


def _arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    seconds = frame["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]").astype(np.int64)
    return {
        "seconds": seconds,
        "residual": frame["residual_deg"].to_numpy(np.float64),
        "measured": frame["measured_pitch_deg"].to_numpy(np.float64),
        "expected": frame["expected_pitch_deg"].to_numpy(np.float64),
        "power": frame["power_kw"].to_numpy(np.float64),
    }


def fleet_summary(
    states: dict[str, dict[str, Any]], model_version: str, run_id: str, now: datetime, schedule_minutes: int
) -> dict[str, Any]:
    """What the fleet overview shows: each turbine now, open anomalies, and how fresh the data is."""
    turbines = []
    for name in sorted(states):
        series = states[name]["series"]
        if not series["time"]:
            continue
        last = len(series["time"]) - 1
        last_time = series["time"][last]
        month_ago = _iso(pd.Timestamp(last_time) - pd.Timedelta(days=30))
        events = states[name]["events"]
        turbines.append(
            {
                "turbine": name,
                "last_time": last_time,
                "measured_pitch_deg": series["measured"][last],
                "expected_pitch_deg": series["expected"][last],
                "residual_deg": series["residual"][last],
                "producing": series["producing"][last],
                "open_anomaly": any(e["open"] for e in events),
                "events_30d": sum(1 for e in events if e["end"] >= month_ago),
            }
        )
    return {
        "generated_at": _iso(now),
        "model_version": model_version,
        "run_id": run_id,
        "schedule_minutes": schedule_minutes,
        "stale_after_minutes": 2 * schedule_minutes,
        "turbines": turbines,
    }


def all_events(states: dict[str, dict[str, Any]], limit: int | None = None) -> list[dict[str, Any]]:
    """Every turbine's events, most recent first."""
    events = sorted((e for s in states.values() for e in s["events"]), key=lambda e: e["start"], reverse=True)
    return events[:limit] if limit else events


def _iso(value: Any) -> str:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
