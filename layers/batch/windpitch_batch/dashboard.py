"""Per-turbine state for the dashboard and for anomaly persistence across runs.

``dashboard/turbines/<turbine>.json`` holds the turbine's recent series (``window_days``) and its
anomaly events. A run merges its scored rows into it; events are found on the merged series, so an
anomaly that spans files (live SCADA lands every ten minutes) is seen whole. Merging is idempotent:
the same rows merged twice give the same state. ``fleet.json`` and the anomaly lists are derived
from the turbine states.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from windpitch.anomalies import AnomalyRule, find_events

SERIES: Final = {  # state key -> scored column
    "time": "timestamp",
    "measured": "measured_pitch_deg",
    "expected": "expected_pitch_deg",
    "residual": "residual_deg",
    "wind": "wind_speed_ms",
    "power": "power_kw",
    "producing": "producing",
}
MAX_EVENTS: Final = 1000  # per turbine: the dashboard file stays small


def series_frame(state: dict[str, Any] | None) -> pd.DataFrame:
    series = (state or {}).get("series") or {}
    frame = pd.DataFrame({column: series.get(key, []) for key, column in SERIES.items()})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.astype(
        dict.fromkeys(("measured_pitch_deg", "expected_pitch_deg", "residual_deg", "wind_speed_ms", "power_kw"), float)
    ).astype({"producing": bool})


def merge_turbine(
    turbine: str, state: dict[str, Any] | None, rows: pd.DataFrame, rule: AnomalyRule, window_days: int
) -> dict[str, Any]:
    """The turbine's new state after ``rows`` (scored rows of this turbine)."""
    combined = pd.concat([series_frame(state), rows[list(SERIES.values())]], ignore_index=True)
    combined = combined.drop_duplicates("timestamp", keep="last").sort_values("timestamp").reset_index(drop=True)
    times = combined["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]")
    found = find_events(turbine, times, combined["residual_deg"].to_numpy(), combined["producing"].to_numpy(bool), rule)
    first = _iso(combined["timestamp"].iloc[0]) if len(combined) else ""
    previous = [e for e in (state or {}).get("events", []) if e["start"] < first]
    # An event already under way when the kept window began was seen whole by an earlier run: keep that one.
    carried = {e["start"] for e in previous if e["end"] >= first}
    events = previous + [e.as_dict() for e in found if not (e.start == first and carried)]
    events = sorted({e["start"]: e for e in events}.values(), key=lambda e: e["start"])[-MAX_EVENTS:]
    cutoff = combined["timestamp"].max() - pd.Timedelta(days=window_days) if len(combined) else None
    recent = combined[combined["timestamp"] > cutoff] if cutoff is not None else combined
    return {
        "turbine": turbine,
        "rule": {"threshold_deg": rule.threshold_deg, "min_intervals": rule.min_intervals},
        "window_days": window_days,
        "series": {
            key: [_iso(t) for t in recent[column]]
            if key == "time"
            else recent[column].astype(bool).tolist()
            if key == "producing"
            else [None if not np.isfinite(v) else round(float(v), 3) for v in recent[column]]
            for key, column in SERIES.items()
        },
        "events": events,
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
