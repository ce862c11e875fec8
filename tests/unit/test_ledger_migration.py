"""The ledger's migration, on a bucket the OLD code wrote (tests/fixtures/legacy_bucket, made by its make.py with
commit 62ee84b's own run_batch, worker and aggregate; its docstring tells the story).

What the old code left:

* ``raw/2015-06-01.csv`` (a rejected row) and ``raw/2015-06-02.csv.gz``: committed whole by the old scheduled run
  (``state/processed/<unit>.<run>.json``, a manifest);
* ``raw/2015-06-03.csv``: committed by the old fan-out in 3 slices of 80 lines (``state/done/<unit>.json``,
  ``state/keys/<digest(key)>.json``, a manifest marked ``fanned_out``);
* ``raw/2015-06-04/feed-1.csv``: scored by an old scheduled run that died writing its manifest: a stale
  ``state/processed/`` record, and the outputs that run had published;
* ``raw/2015-06-04/feed-2.csv``: never scored.

Whichever entry point runs first after the upgrade, the ledger must end up holding what the old code committed
(key, ETag, slice, rows, outputs, run, model version, as its manifests say), the old records gone, feed-1 and
feed-2 scored once, nothing else scored again, and every published row counted in exactly one manifest.

Each entry point runs at the shipped slice size (50,000 lines: every file here is scored whole) and at the old
fan-out's (80 lines: the files the old scheduled run committed whole are above it, and feed-1, whose dead run
published it whole, is sliced when rescored), since a migrated version was committed under a slicing that need
not be the one planned now.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import BUCKET, bucket_snapshot, drain
from windpitch_batch import ledger, score
from windpitch_batch.commit import commit
from windpitch_batch.config import BatchConfig
from windpitch_batch.discover import pending
from windpitch_batch.keys import LEDGER, LEGACY_DONE, LEGACY_KEYS, LEGACY_PROCESSED
from windpitch_batch.plan import UnitRef
from windpitch_batch.reconcile import reconcile
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_bucket"
INDEX: dict[str, dict[str, str]] = json.loads((FIXTURE / "index.json").read_text())
OLD_SLICE_LINES = 80  # the old fan-out's BATCH_SLICE_LINES when it scored the fixture (make.py)
SHIPPED_SLICE_LINES = BatchConfig(bucket=BUCKET).slice_lines
# What the old code committed: (key, slice, slices).
COMMITTED = {
    ("raw/2015-06-01.csv", 0, 1),
    ("raw/2015-06-02.csv.gz", 0, 1),
    *(("raw/2015-06-03.csv", k, 3) for k in range(3)),
}
LEFT = {"raw/2015-06-04/feed-1.csv", "raw/2015-06-04/feed-2.csv"}  # its run died / never scored
RAW_ROWS, REJECTED = 768, 2  # four days of four turbines every 30 minutes; a bad row on 06-01 and on 06-03
LEGACY = (LEGACY_PROCESSED, LEGACY_DONE, LEGACY_KEYS)

# --- The fixture, and what its manifests say was committed -----------------------------------------------------


def load(s3: Any) -> None:
    """The legacy bucket, object by object with its content type; the same bytes give the same ETags."""
    for key, meta in INDEX.items():
        body = (FIXTURE / "objects" / key).read_bytes()
        answer = s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=meta["content_type"])
        assert answer["ETag"].strip('"') == meta["etag"], key


def old_manifests() -> dict[str, bytes]:
    return {key: (FIXTURE / "objects" / key).read_bytes() for key in INDEX if key.startswith("manifests/")}


def expected_entries() -> dict[tuple[str, int, int], dict[str, Any]]:
    """Each committed unit's ledger entry, field by field, from the old manifest that counts it."""
    inputs = {}
    for body in old_manifests().values():
        manifest = json.loads(body)
        for summary in manifest["inputs"]:
            inputs[summary["unit"]] = (summary, manifest)
    expected = {}
    for key, k, slices in COMMITTED:
        etag = INDEX[key]["etag"]
        unit = UnitRef(key, etag, k, slices).unit()
        summary, manifest = inputs[unit]
        assert (summary["key"], summary["etag"]) == (key, etag)
        expected[key, k, slices] = {
            "key": key, "etag": etag, "unit": unit, "slice": k, "slices": slices,
            "model_version": manifest["model_version"], "run_id": manifest["run_id"],
            "committed_at": manifest["finished_at"], "rows_in": summary["rows_in"],
            "rows_scored": summary["rows_scored"], "rows_rejected": summary["rows_rejected"],
            "outputs": summary["outputs"], "rejected_file": summary["rejected_file"],
        }  # fmt: skip
    return expected


def assert_the_old_records_tell_the_story(s3: Any) -> None:
    """make.py's story, as the old records hold it (so a regenerated fixture that lost a part of it fails here)."""
    runs = {json.loads(b)["run_id"]: json.loads(b) for b in old_manifests().values()}
    batch = next(m for m in runs.values() if not m.get("fanned_out"))
    fanout = next(m for m in runs.values() if m.get("fanned_out"))
    assert len(runs) == 2
    assert [i["key"] for i in batch["inputs"]] == ["raw/2015-06-01.csv", "raw/2015-06-02.csv.gz"]
    assert [(i["rows_in"], i["rows_rejected"]) for i in batch["inputs"]] == [(192, 1), (192, 0)]
    assert [(i["key"], i["rows_in"], i["rows_rejected"]) for i in fanout["inputs"]] == [
        ("raw/2015-06-03.csv", 80, 0), ("raw/2015-06-03.csv", 80, 0), ("raw/2015-06-03.csv", 32, 1)]  # fmt: skip
    processed = [k.removeprefix(LEGACY_PROCESSED) for k in bucket_snapshot(s3, LEGACY_PROCESSED)]
    stale = [name for name in processed if name.split(".")[1] not in runs]
    assert len(processed) == 3 and len(stale) == 1
    stale_summary = json.loads(bucket_snapshot(s3, LEGACY_PROCESSED + stale[0])[LEGACY_PROCESSED + stale[0]])
    assert stale_summary["key"] == "raw/2015-06-04/feed-1.csv"
    done = [json.loads(v) for v in bucket_snapshot(s3, LEGACY_DONE).values()]
    assert done == [{"key": "raw/2015-06-03.csv", "run": fanout["run_id"]}] * 3
    (index,) = [json.loads(v) for v in bucket_snapshot(s3, LEGACY_KEYS).values()]
    assert (index["key"], index["slices"]) == ("raw/2015-06-03.csv", 3)
    assert len(expected_entries()) == 5


# --- What every entry point must leave ---------------------------------------------------------------------------


@pytest.fixture
def scorings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Every unit scored, whichever entry point scored it: (key, slice, slices)."""
    seen: list[tuple[str, int, int]] = []
    real = score.score_piece

    def counted(store: Any, model: Any, config: Any, unit: Any, **kwargs: Any) -> Any:
        seen.append((unit.ref.key, unit.ref.slice, unit.ref.slices))
        return real(store, model, config, unit, **kwargs)

    monkeypatch.setattr(score, "score_piece", counted)
    return seen


def entries(store: S3Store) -> list[ledger.Entry]:
    return [ledger.Entry.from_json(store.get(obj.key)[0]) for obj in store.list(LEDGER)]


def published(s3: Any) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(io.BytesIO(b)) for b in bucket_snapshot(s3, "predictions/").values()])


def assert_migrated(s3: Any, scorings: list[tuple[str, int, int]]) -> None:
    store = S3Store(BUCKET, s3)
    # Only what the old code did not commit was scored, each unit once.
    assert {key for key, _, _ in scorings} == LEFT, scorings
    assert len(scorings) == len(set(scorings))
    # The ledger: what the old code committed, as its manifests say; feed-1 and feed-2 by the runs that scored them.
    found = entries(store)
    migrated = {(e.key, e.slice, e.slices): asdict(e) for e in found if e.key not in LEFT}
    assert migrated == expected_entries()
    manifests = {json.loads(b)["run_id"]: json.loads(b) for b in bucket_snapshot(s3, "manifests/").values()}
    for entry in (e for e in found if e.key in LEFT):
        assert entry.etag == INDEX[entry.key]["etag"]
        assert entry.unit in {i["unit"] for i in manifests[entry.run_id]["inputs"]}
    assert not pending(store), "the ledger holds every raw file's current version"
    # The old records are gone, and nothing waits.
    for prefix in (*LEGACY, "state/results/", "state/staged/"):
        assert not bucket_snapshot(s3, prefix), prefix
    # The old manifests are untouched; the new ones count feed-1 and feed-2 only.
    for key, body in old_manifests().items():
        assert bucket_snapshot(s3, key)[key] == body
    fresh = [m for key, m in manifests.items() if f"manifests/run-{key}.json" not in old_manifests()]
    assert {i["key"] for m in fresh for i in m["inputs"]} == LEFT
    # Every published row counted in exactly one manifest, none twice, each where the ledger says.
    rows = published(s3)
    assert sum(m["rows_scored"] for m in manifests.values()) == len(rows) == RAW_ROWS - REJECTED
    assert not rows.duplicated(["turbine", "timestamp"]).any()
    by_source = rows.groupby(rows["source"].astype(str)).size().to_dict()
    by_entry: dict[str, int] = {}
    for entry in found:
        by_entry[entry.key] = by_entry.get(entry.key, 0) + entry.rows_scored
    assert by_source == by_entry


# --- The entry points --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slice_lines", [SHIPPED_SLICE_LINES, OLD_SLICE_LINES])
def test_the_scheduled_run_migrates_and_scores_only_what_the_old_code_left(
    slice_lines: int, s3: Any, pitch_model: Any, scorings: list[tuple[str, int, int]]
) -> None:
    """``python -m windpitch batch`` / the scheduled run on a bucket without workers, once: it migrates, scores
    feed-1 and feed-2 only, and commits them in one run.

    At 80 lines this is the stale record's case: its dead run published feed-1 whole
    (``part-5e111bcefc7bcbf2.parquet``); dropping the record without those outputs left them beside the rescoring's
    slices (96 rows published twice, counted in no manifest)."""
    load(s3)

    outcome = run_batch(S3Store(BUCKET, s3), pitch_model, BatchConfig(bucket=BUCKET, slice_lines=slice_lines))

    assert outcome.committed and outcome.manifest is not None
    assert outcome.manifest["files_in"] == 2 and outcome.manifest["rows_in"] == 192
    assert_migrated(s3, scorings)


def commit_fanned_out(s3: Any, model: Any) -> Any:
    """What the scheduled BatchFunction does when workers score (WORK_QUEUE_URL set)."""
    return commit(S3Store(BUCKET, s3), model, BatchConfig.from_env(), marks={"fanned_out": True})


@pytest.mark.parametrize("slice_lines", [SHIPPED_SLICE_LINES, OLD_SLICE_LINES])
def test_the_fanout_migrates_and_its_workers_rescore_nothing_on_notifications_of_every_raw_file(
    slice_lines: int, s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any,
    scorings: list[tuple[str, int, int]], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The deployed pipeline: the first scheduled commit migrates, then workers get a notification of every raw
    file and rescore none the old code committed, whatever slicing they plan now (the old scheduled run committed
    192-line files whole, the old fan-out one in 3 slices of 80 lines)."""
    monkeypatch.setenv("BATCH_SLICE_LINES", str(slice_lines))
    load(s3)  # S3 notifies the queue of each raw file, the old ones too (a redelivery, a re-upload of the same bytes)

    first = commit_fanned_out(s3, pitch_model)  # the first scheduled invocation after the upgrade: it migrates
    assert first.status == "nothing to do"
    assert {(e.key, e.slice, e.slices) for e in entries(S3Store(BUCKET, s3))} == COMMITTED
    drain(queue, functions)
    outcome = commit_fanned_out(s3, pitch_model)

    assert outcome.committed
    assert_migrated(s3, scorings)
    assert not queue["sqs"].receive_message(QueueUrl=queue["dlq"]).get("Messages")


@pytest.mark.parametrize("slice_lines", [SHIPPED_SLICE_LINES, OLD_SLICE_LINES])
def test_the_fanout_migrates_and_the_reconciler_queues_only_what_the_old_code_left(
    slice_lines: int, s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any,
    scorings: list[tuple[str, int, int]], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The deployed pipeline's discovery of old files: after the migrating commit, the hourly reconciler queues
    only the files the old code did not commit."""
    monkeypatch.setenv("BATCH_SLICE_LINES", str(slice_lines))
    load(s3)
    while answer := queue["sqs"].receive_message(QueueUrl=queue["url"], MaxNumberOfMessages=10).get("Messages"):
        for message in answer:  # the old files' notifications were consumed long ago, by the old workers
            queue["sqs"].delete_message(QueueUrl=queue["url"], ReceiptHandle=message["ReceiptHandle"])

    assert commit_fanned_out(s3, pitch_model).status == "nothing to do"  # migrates
    later = datetime.now(UTC) + timedelta(hours=2)
    store = S3Store(BUCKET, s3)
    found = reconcile(store, score.send_to(queue["sqs"], queue["url"]), now=later)
    drain(queue, functions)
    outcome = commit_fanned_out(s3, pitch_model)

    assert (found["queued"], set(found["keys"])) == (2, LEFT)
    assert outcome.committed
    assert_migrated(s3, scorings)


# --- migrate itself ----------------------------------------------------------------------------------------------


def test_a_second_migrate_is_a_no_op(s3: Any) -> None:
    """The first call writes the five entries and leaves nothing published that the ledger does not name (the dead
    run's outputs); the second finds nothing to do, and changes nothing."""
    load(s3)
    assert_the_old_records_tell_the_story(s3)
    store = S3Store(BUCKET, s3)

    assert ledger.migrate(store) == len(COMMITTED)
    after = bucket_snapshot(s3)
    named = {output for entry in entries(store) for output in entry.outputs}
    assert {key for key in after if key.startswith("predictions/")} <= named
    assert ledger.migrate(store) == 0

    assert bucket_snapshot(s3) == after, "the second call writes and deletes nothing"
    assert {(e.key, e.slice, e.slices): asdict(e) for e in entries(store)} == expected_entries()
    assert not any(key.startswith(LEGACY) for key in after)


class _Racing(S3Store):
    """A store on which another process migrates between this one's listing of the old records and its reads."""

    def __init__(self, client: Any) -> None:
        super().__init__(BUCKET, client)
        self.raced = False

    def list(self, prefix: str) -> list[Any]:
        listed = super().list(prefix)
        if prefix == LEGACY_PROCESSED and not self.raced:
            self.raced = True
            ledger.migrate(S3Store(BUCKET, self.client))  # the other process: the scheduled run, a backfill
        return listed


def test_two_migrations_at_once_both_succeed(s3: Any) -> None:
    """run_batch and backfill migrate outside the aggregator lease: an old record another migration deleted since
    this one listed it is its to migrate, not a NotFound out of the run."""
    load(s3)
    store = _Racing(s3)

    ledger.migrate(store)

    assert store.raced
    assert {(e.key, e.slice, e.slices): asdict(e) for e in entries(store)} == expected_entries()
    assert not any(bucket_snapshot(s3, prefix) for prefix in LEGACY)
