"""The daily sums of the dated counts (windpitch_batch.daily): a window read is one GET a day, whatever the number
of files a day holds; folding a part again replaces it; a bucket whose counts predate the sums is folded once."""

from __future__ import annotations

import collections
import json
from typing import Any

from windpitch_batch import daily, keys
from windpitch_batch.monitoring import dated_counts, dated_upload
from windpitch_batch.store import S3Store

PREFIX = keys.MONITORING_COUNTS
DAYS = ["2015-06-03", "2015-06-02", "2015-06-01"]  # a window, newest first


class Counting(S3Store):
    """A store that counts its requests by kind."""

    def __init__(self, store: S3Store) -> None:
        super().__init__(store.bucket, store.client)
        self.requests: collections.Counter[str] = collections.Counter()

    def list(self, prefix: str) -> Any:
        self.requests["list"] += 1
        return super().list(prefix)

    def get(self, key: str) -> Any:
        self.requests["get"] += 1
        return super().get(key)


def publish(store: S3Store, part: str, by_day: dict[str, Any]) -> str:
    """A unit's counts as the commit publishes them (one object under its last day); return its key."""
    [(key, body, kind)] = dated_upload(PREFIX, part, by_day)
    store.put(key, body, kind)
    return key


def counts(rows: int) -> dict[str, Any]:
    return {"rows": rows, "rejected": 0, "missing": 0, "inputs": {"Ws_avg": [rows, 0]}}


def read(store: S3Store, outputs: list[str] = ()) -> dict[str, int]:  # type: ignore[assignment]
    """Rows per day of the window, as the monitoring sums them."""
    total: dict[str, int] = collections.Counter()
    for day, found in dated_counts(store, PREFIX, DAYS, outputs):
        total[day] += found["rows"]
    return dict(total)


def test_a_window_is_one_get_a_day_whatever_the_files_a_day(store: S3Store) -> None:
    outputs = [publish(store, f"p{n:03d}", {"2015-06-01": counts(1), "2015-06-02": counts(2)}) for n in range(50)]
    assert read(store, outputs) == {"2015-06-01": 50, "2015-06-02": 100}

    counting = Counting(store)
    assert read(counting) == {"2015-06-01": 50, "2015-06-02": 100}
    assert counting.requests == {"get": len(DAYS) + 1}  # the days and the marker; no listing


def test_a_part_folded_again_leaves_the_days_it_no_longer_covers(store: S3Store) -> None:
    first = publish(store, "p", {"2015-06-01": counts(4), "2015-06-02": counts(4)})
    assert read(store, [first]) == {"2015-06-01": 4, "2015-06-02": 4}

    second = publish(store, "p", {"2015-06-02": counts(3), "2015-06-03": counts(1)})  # a new version of its file

    assert read(store, [second]) == {"2015-06-02": 3, "2015-06-03": 1}


def test_a_part_that_is_gone_is_unfolded(store: S3Store) -> None:
    kept = publish(store, "a", {"2015-06-01": counts(2)})
    gone = publish(store, "b", {"2015-06-01": counts(5)})
    read(store, [kept, gone])

    daily.unfold(store, *daily.parse(gone))  # type: ignore[misc]

    assert read(store) == {"2015-06-01": 2}
    assert not store.list(daily.index_key(PREFIX, "b"))


def test_days_behind_the_window_are_not_folded(store: S3Store) -> None:
    old = publish(store, "p", {"2015-05-01": counts(9), "2015-06-01": counts(1)})
    assert read(store, [old]) == {"2015-06-01": 1}
    assert not store.list(daily.day_key(PREFIX, "2015-05-01"))
    assert json.loads(store.get(daily.index_key(PREFIX, "p"))[0]) == {"days": ["2015-06-01"]}


def test_counts_from_before_the_daily_sums_are_folded_once(store: S3Store) -> None:
    for n in range(5):  # published by the code before the daily sums: no daily/ at all
        publish(store, f"old{n}", {"2015-06-02": counts(1), "2015-06-03": counts(2)})
    counting = Counting(store)

    assert read(counting) == {"2015-06-02": 5, "2015-06-03": 10}
    assert counting.requests["list"] == len(DAYS), "the window's per-file objects, listed once"

    counting.requests.clear()
    assert read(counting) == {"2015-06-02": 5, "2015-06-03": 10}
    assert counting.requests == {"get": len(DAYS) + 1}
