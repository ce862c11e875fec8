"""Monitoring of the live model, published by every run (the adapter around :mod:`windpitch.monitoring`).

Per scored file and UTC day, the monitored inputs' values are counted into the model card's reference bins,
one object per file under its last day (``monitoring/counts/date=D/part-<id>.json``, named by the raw key like
the predictions: a new version of a file replaces its counts, a rerun rewrites the same bytes). Each run then
sums the last ``window_days`` days of counts up to the newest data (from the daily sums the commit keeps,
:mod:`windpitch_batch.daily`: one GET a day) and publishes ``monitoring/latest.json``, a
dated copy under ``monitoring/date=D/``, and ``dashboard/monitoring.json`` for the page::

    {"inputs": {"<field>": {"psi": float, "drifted": bool, "n": int}}, "turbines": {...},
     "imputed_share": float, "rejected_share": float, "model": {"version", "age_days"}, ...}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from windpitch.monitoring import MONITORED, MonitorSettings, input_drift, residual_trend
from windpitch.runtime import PitchModel
from windpitch.schema import MODEL_INPUTS

from . import daily, keys
from .outputs import json_bytes
from .store import NotFound, S3Store

COUNTS = keys.MONITORING_COUNTS


def unit_counts(
    rows: pd.DataFrame, inputs: npt.NDArray[np.float64], model: PitchModel, rejected: int
) -> dict[str, dict[str, Any]]:
    """Per UTC day of a file's scored rows: bin counts per monitored input, missing values, rows, rejects
    (a file's rejected rows are counted on its first day: a row without a usable time has no day).

    One pass per input over the whole file (a backfill file spans two years: 730 days)."""
    if not len(rows):
        return {}
    stamps = rows["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[D]")
    days, day_of = np.unique(stamps, return_inverse=True)
    n_days = len(days)
    monitored = inputs[:, [_column(n) for n in MONITORED]]
    per_day_rows = np.bincount(day_of, minlength=n_days)
    per_day_missing = np.bincount(day_of, weights=np.isnan(monitored).sum(axis=1), minlength=n_days)
    bins: dict[str, npt.NDArray[np.int64]] = {}
    for name, reference in model.reference.items():
        values = inputs[:, _column(name)]
        finite = np.isfinite(values)
        which = np.searchsorted(np.asarray(reference["edges"], dtype=np.float64), values[finite], side="right")
        width = len(reference["edges"]) + 1
        flat = np.bincount(day_of[finite] * width + which, minlength=n_days * width)
        bins[name] = flat.reshape(n_days, width)
    return {
        str(day): {
            "rows": int(per_day_rows[k]),
            "rejected": rejected if k == 0 else 0,
            "missing": int(per_day_missing[k]),
            "inputs": {name: counts[k].tolist() for name, counts in bins.items()},
        }
        for k, day in enumerate(days)
    }


def count_uploads(part: str, counts: dict[str, dict[str, Any]]) -> list[tuple[str, bytes, str]]:
    """The file's monitoring counts, as :func:`dated_upload` keeps them."""
    return dated_upload(COUNTS, part, counts)


def dated_upload(prefix: str, part: str, by_day: dict[str, Any]) -> list[tuple[str, bytes, str]]:
    """One object per file, under its *last* day (``<prefix>date=D/part-<part>.json``): a window that holds
    any of its days holds that one too (the window ends at the newest data), so listing the window's days finds
    it; a backfill of two years is one object, not 730. Nothing for a file without a day."""
    if not by_day:
        return []
    return [(keys.dated_part(prefix, max(by_day), part), json_bytes({"days": by_day}), "application/json")]


def window(states: dict[str, dict[str, Any]], days: int) -> list[str] | None:
    """The window's days, newest first, ending on the newest day the turbines' series hold; None before any."""
    last = max((s["series"]["time"][-1] for s in states.values() if s["series"]["time"]), default=None)
    if last is None:
        return None
    end = pd.Timestamp(last).normalize()
    return [(end - pd.Timedelta(days=k)).strftime("%Y-%m-%d") for k in range(days)]


def dated_counts(store: S3Store, prefix: str, days: list[str], outputs: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """Each ``(day, counts)`` of the window's days: the committed units' counts (``outputs``) folded into the
    daily sums first (:mod:`windpitch_batch.daily`), then one GET a day."""
    daily.fold_outputs(store, prefix, outputs, days)
    return daily.window_counts(store, prefix, days, legacy=per_file_counts(store, prefix, days))


def per_file_counts(store: S3Store, prefix: str, days: list[str]) -> Iterator[tuple[str, str, Any]]:
    """``(part, key, {day: counts})`` of the per-file objects :func:`dated_upload` wrote under the window's days:
    what a bucket held before the daily sums (a listing a day, a GET a file)."""
    for listed in days:
        for obj in store.list(f"{prefix}date={listed}/"):
            parsed = daily.parse(obj.key)
            try:
                by_day = json.loads(store.get(obj.key)[0])["days"]
            except NotFound:
                continue  # replaced meanwhile by a new version of its file
            if parsed is not None:
                yield parsed[1], obj.key, by_day


def update_monitoring(
    store: S3Store,
    model: PitchModel,
    states: dict[str, dict[str, Any]],
    settings: MonitorSettings,
    now: datetime,
    *,
    outputs: Iterable[str] = (),
) -> dict[str, Any] | None:
    """Sum the window's counts (``outputs``: the committed units', folded in first), judge drift and the
    residuals' trends, publish; None before any data."""
    days = window(states, settings.window_days)
    if days is None:
        return None
    totals = _sum_counts(store, days, outputs)
    # A verdict needs half the window's days: two days of a 28-day window are weather, not drift.
    enough = len(totals["days"]) * 2 >= settings.window_days
    drift = input_drift(
        model.reference, totals["inputs"], settings, totals["months"], thresholds=model.thresholds, enough=enough
    )
    created = pd.Timestamp(model.info.created_at) if model.info.created_at else None
    report = {
        "generated_at": now.isoformat(),
        "window": {
            "first_day": days[-1],
            "last_day": days[0],
            "days": settings.window_days,
            "days_with_data": len(totals["days"]),
            "judged": enough,
        },
        "settings": {"psi_floor": settings.psi_threshold, "min_values": settings.min_values},
        "inputs": drift,
        "drifted": sorted(name for name, verdict in drift.items() if verdict["drifted"]),
        "turbines": {name: _trend(state, days[-1]) for name, state in sorted(states.items())},
        "rows": totals["rows"],
        "imputed_share": round(totals["missing"] / max(totals["rows"] * len(MONITORED), 1), 4),
        "rejected_share": round(totals["rejected"] / max(totals["rows"] + totals["rejected"], 1), 4),
        "model": {
            "version": model.info.version,
            "created_at": model.info.created_at,
            "age_days": round((pd.Timestamp(now) - created).total_seconds() / 86400, 1) if created else None,
        },
    }
    body = json_bytes(report)
    store.put(f"{keys.MONITORING}latest.json", body, "application/json")
    store.put(f"{keys.MONITORING}date={days[0]}/monitoring.json", body, "application/json")
    store.put(keys.dashboard("monitoring.json"), body, "application/json", cache_control=keys.SHORT_CACHE)
    return {"drifted": report["drifted"], "rows": report["rows"]}


def _sum_counts(store: S3Store, days: list[str], outputs: Iterable[str]) -> dict[str, Any]:
    totals: dict[str, Any] = {"rows": 0, "rejected": 0, "missing": 0, "inputs": {}, "months": {}, "days": set()}
    for day, counts in dated_counts(store, COUNTS, days, outputs):
        _add(totals, day, counts)
    return totals


def _add(totals: dict[str, Any], day: str, counts: dict[str, Any]) -> None:
    for key in ("rows", "rejected", "missing"):
        totals[key] += counts[key]
    totals["days"].add(day)
    month = int(day[5:7])  # the seasonal reference weighs each calendar month by its rows
    totals["months"][month] = totals["months"].get(month, 0) + counts["rows"]
    for name, bins in counts["inputs"].items():
        have = totals["inputs"].setdefault(name, [0] * len(bins))
        totals["inputs"][name] = [a + b for a, b in zip(have, bins, strict=True)]


def _trend(state: dict[str, Any], first_day: str) -> dict[str, Any]:
    """The turbine's producing residuals in the window: weekly median and the trend of its daily medians."""
    series = state["series"]
    times = pd.to_datetime(pd.Series(series["time"]), utc=True)
    keep = (times >= pd.Timestamp(first_day, tz="UTC")).to_numpy() & np.asarray(series["producing"], dtype=bool)
    days = ((times - pd.Timestamp(first_day, tz="UTC")).dt.total_seconds() // 86400).to_numpy()[keep]
    residual = np.array([np.nan if v is None else v for v in series["residual"]], dtype=np.float64)[keep]
    return residual_trend(days, residual)


def _column(name: str) -> int:
    return MODEL_INPUTS.index(name)
