"""Daily sums of the dated counts (the monitoring's bin counts, the shadow comparison's error sums), so that a
window is read with one GET a day, whatever the number of files a day brings.

Each committed unit publishes its counts as one object under its last day,
``<prefix>date=D/part-<part>.json`` = ``{"days": {day: counts}}`` (:func:`windpitch_batch.monitoring.dated_upload`).
Reading a 28-day window from those took a listing a day and a GET a file: 4,032 GETs a commit with ten-minute
files. The commit now also folds each unit's counts into one object per day of the window,
``<prefix>daily/date=D.json`` = ``{"parts": {part: counts}}``, and records which days it folded a part into,
``<prefix>daily/parts/<part>.json`` = ``{"days": [...]}``:

* a new version of a raw file has the same part: folding it takes it out of the days it no longer covers;
* a part that is gone (a slice a new version no longer has, a file now quarantined whole) is unfolded when the
  commit deletes its counts (:func:`windpitch_batch.commit.supersede`);
* only the window's days are folded: the window ends at the newest data, so a day behind it is never read again;
* the commit is the only writer, under its lease, and folding the same counts again writes the same bytes.

A bucket whose counts predate the daily sums (no ``<prefix>daily/built.json``) has its window folded once from
the per-file objects, then the marker is written.

Example:
    >>> parse("monitoring/counts/date=2015-06-02/part-6fe166ca1a625f2a-0001.json")
    ('monitoring/counts/', '6fe166ca1a625f2a-0001')
    >>> parse("predictions/date=2015-06-02/part-6fe166ca1a625f2a.parquet") is None
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from .outputs import json_bytes
from .store import NotFound, S3Store

DAILY: Final = "daily/"
JSON: Final = "application/json"
_COUNTS = re.compile(r"^(?P<prefix>(?:.+/)?counts/)date=\d{4}-\d{2}-\d{2}/part-(?P<part>[^/]+)\.json$")


def parse(key: str) -> tuple[str, str] | None:
    """``(prefix, part)`` of a unit's dated counts object, or None for any other output."""
    found = _COUNTS.match(key)
    return (found.group("prefix"), found.group("part")) if found else None


def day_key(prefix: str, day: str) -> str:
    return f"{prefix}{DAILY}date={day}.json"


def index_key(prefix: str, part: str) -> str:
    return f"{prefix}{DAILY}parts/{part}.json"


def marker_key(prefix: str) -> str:
    return f"{prefix}{DAILY}built.json"


def fold_outputs(store: S3Store, prefix: str, outputs: Iterable[str], days: list[str]) -> None:
    """Fold the committed units' counts objects under ``prefix`` (among ``outputs``) into the window's ``days``."""
    parts: dict[str, dict[str, Any]] = {}
    for key in outputs:
        parsed = parse(key)
        if parsed is None or parsed[0] != prefix:
            continue
        try:
            parts[parsed[1]] = json.loads(store.get(key)[0])["days"]
        except NotFound:
            continue  # superseded meanwhile: its part is folded by the commit of its new version
    fold(store, prefix, parts, days)


def fold(store: S3Store, prefix: str, parts: dict[str, dict[str, Any]], days: list[str]) -> None:
    """Put each part's counts of the window's days in the daily sums, out of the days it is no longer in."""
    window = set(days)
    changes: dict[str, dict[str, Any]] = {}  # day -> {part: counts, or None to take it out}
    folded: dict[str, list[str]] = {}
    for part, by_day in parts.items():
        now = {day: counts for day, counts in by_day.items() if day in window}
        for day in _read(store, index_key(prefix, part), {"days": []})["days"]:
            if day not in now:
                changes.setdefault(day, {})[part] = None
        for day, counts in now.items():
            changes.setdefault(day, {})[part] = counts
        folded[part] = sorted(now)
    _apply(store, prefix, changes)
    for part, in_days in folded.items():
        store.put(index_key(prefix, part), json_bytes({"days": in_days}), JSON)


def unfold(store: S3Store, prefix: str, part: str) -> None:
    """Take a part that is gone out of every day it was folded into."""
    index = _read(store, index_key(prefix, part), None)
    if index is None:
        return
    _apply(store, prefix, {day: {part: None} for day in index["days"]})
    store.delete(index_key(prefix, part))


def window_counts(store: S3Store, prefix: str, days: list[str], legacy: Iterator[tuple[str, str, Any]]) -> Iterator[
    tuple[str, Any]
]:  # fmt: skip
    """Each ``(day, counts)`` of every part in the window's days: one GET a day.

    ``legacy`` yields ``(part, key, {day: counts})`` of the per-file objects under the window's days; it is read
    only the first time, on a bucket whose counts predate the daily sums."""
    if _read(store, marker_key(prefix), None) is None:
        fold(store, prefix, {part: by_day for part, _, by_day in legacy}, days)
        store.put(marker_key(prefix), json_bytes({"folded": "the per-file counts of the window, once"}), JSON)
    with ThreadPoolExecutor(max_workers=8) as pool:
        sums = list(pool.map(lambda day: _read(store, day_key(prefix, day), {"parts": {}}), days))
    for day, found in zip(days, sums, strict=True):
        for _, counts in sorted(found["parts"].items()):
            yield day, counts


def _apply(store: S3Store, prefix: str, changes: dict[str, dict[str, Any]]) -> None:
    """Each day's read, changed and written (days at once: one commit writes, under its lease)."""

    def one(day: str) -> None:
        found = _read(store, day_key(prefix, day), {"parts": {}})
        parts = dict(found["parts"])
        for part, counts in changes[day].items():
            if counts is None:
                parts.pop(part, None)
            else:
                parts[part] = counts
        if parts != found["parts"]:
            store.put(day_key(prefix, day), json_bytes({"parts": parts}), JSON)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(one, day) for day in sorted(changes)]:
            future.result()


def _read(store: S3Store, key: str, default: Any) -> Any:
    try:
        return json.loads(store.get(key)[0])
    except NotFound:
        return default
