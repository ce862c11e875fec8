"""One pipeline, one ledger: whichever entry point reaches a unit first scores it, every other one finds it done.

The entry points, on moto (mock_aws):

* ``batch``: ``python -m windpitch batch`` and the scheduled run on a bucket without workers (``run_batch``);
* ``fanout``: the deployed pipeline: S3 notifications → SQS → WorkerFunction's handler → BatchFunction's commit;
* ``reconcile``: BatchFunction's hourly reconciler, which queues what the ledger does not hold.

Each pair runs over the same raw files, landing in two waves, in both orders: every row is scored once
(manifests' ``rows_scored`` add up to the rows published, no ``(turbine, timestamp)`` twice, one scoring per
unit). Then: a worker killed in the middle of a unit and rerun loses and duplicates nothing; a raw file whose
notification was dropped is scored after the next reconciliation; a forged message is refused; dead letters are
redriven.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from tests.conftest import BUCKET, bucket_snapshot, drain, scada_bytes, synthetic_scada
from windpitch_batch import ledger, score
from windpitch_batch.commit import RunOutcome, commit
from windpitch_batch.config import BatchConfig
from windpitch_batch.discover import BadMessage, Inbox, pending, unit_refs
from windpitch_batch.keys import digest
from windpitch_batch.plan import UnitRef
from windpitch_batch.reconcile import reconcile, redrive
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store
from windpitch_cli.workers import backlog

CONFIG = BatchConfig(bucket=BUCKET)
FLEET = ("R80711", "R80721", "R80736", "R80790")


@pytest.fixture
def scorings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every unit scored, by unit id, whichever entry point scored it."""
    seen: list[str] = []
    real = score.score_piece

    def counted(store: Any, model: Any, config: Any, unit: Any, **kwargs: Any) -> Any:
        seen.append(unit.ref.unit())
        return real(store, model, config, unit, **kwargs)

    monkeypatch.setattr(score, "score_piece", counted)
    return seen


def four_days() -> pd.DataFrame:
    return synthetic_scada(144 * 4, seed=21, freq="10min", start="2015-05-01", turbines=FLEET)


def upload(s3: Any, frame: pd.DataFrame, days: list[str]) -> None:
    stamps = pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d")
    for day in days:
        s3.put_object(Bucket=BUCKET, Key=f"raw/{day}.csv", Body=scada_bytes(frame[stamps == day]))


def manifests(s3: Any) -> list[dict[str, Any]]:
    return [json.loads(body) for body in bucket_snapshot(s3, "manifests/").values()]


def published(s3: Any) -> pd.DataFrame:
    parts = bucket_snapshot(s3, "predictions/").values()
    return pd.concat([pd.read_parquet(io.BytesIO(b)) for b in parts], ignore_index=True) if parts else pd.DataFrame()


def assert_every_row_once(s3: Any, frame: pd.DataFrame, scorings: list[str]) -> None:
    rows = published(s3)
    assert sum(m["rows_scored"] for m in manifests(s3)) == len(rows) == len(frame)
    assert not rows.duplicated(["turbine", "timestamp"]).any()
    assert len(scorings) == len(set(scorings)), "a unit was scored twice"
    assert not bucket_snapshot(s3, "state/results/") and not bucket_snapshot(s3, "state/staged/")


def by_batch(s3: Any, model: Any, queue: dict[str, Any], functions: dict[str, Any]) -> None:
    run_batch(S3Store(BUCKET, s3), model, CONFIG)


def by_inbox(s3: Any, model: Any, queue: dict[str, Any], functions: dict[str, Any]) -> None:
    """``python -m windpitch batch --queue-url``: the in-process run, finding work in the queue's notifications."""
    run_batch(S3Store(BUCKET, s3), model, CONFIG, inbox=Inbox(queue["sqs"], queue["url"]))


def by_fanout(s3: Any, model: Any, queue: dict[str, Any], functions: dict[str, Any]) -> None:
    drain(queue, functions)
    commit(S3Store(BUCKET, s3), model, CONFIG, marks={"fanned_out": True})


def by_reconciler(s3: Any, model: Any, queue: dict[str, Any], functions: dict[str, Any]) -> None:
    """The hourly reconciliation (an hour on), then the workers and the commit; the notifications are lost."""
    while answer := queue["sqs"].receive_message(QueueUrl=queue["url"], MaxNumberOfMessages=10).get("Messages"):
        for message in answer:  # lost on the way
            queue["sqs"].delete_message(QueueUrl=queue["url"], ReceiptHandle=message["ReceiptHandle"])
    later = datetime.now(UTC) + timedelta(hours=2)
    reconcile(S3Store(BUCKET, s3), score.send_to(queue["sqs"], queue["url"]), now=later)
    by_fanout(s3, model, queue, functions)


ENTRY_POINTS: dict[str, Callable[..., None]] = {
    "batch": by_batch, "inbox": by_inbox, "fanout": by_fanout, "reconcile": by_reconciler
}  # fmt: skip
PAIRS = [(a, b) for a in ENTRY_POINTS for b in ENTRY_POINTS if a != b]


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}-then-{b}" for a, b in PAIRS])
def test_every_pair_of_entry_points_scores_every_row_once(
    first: str, second: str, s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any,
    scorings: list[str],
) -> None:  # fmt: skip
    frame = four_days()
    days = sorted(pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d").unique())
    upload(s3, frame, days[:2])
    ENTRY_POINTS[first](s3, pitch_model, queue, functions)
    upload(s3, frame, days[2:])

    ENTRY_POINTS[second](s3, pitch_model, queue, functions)
    ENTRY_POINTS[first](s3, pitch_model, queue, functions)  # and back: nothing left for it
    ENTRY_POINTS[second](s3, pitch_model, queue, functions)

    assert len(scorings) == 4
    assert_every_row_once(s3, frame, scorings)
    in_process = {"batch", "inbox"}
    assert {m.get("fanned_out", False) for m in manifests(s3)} == {first not in in_process, second not in in_process}
    assert not pending(S3Store(BUCKET, s3)), "the ledger holds every file"


KILLS: dict[str, Callable[[str, str], bool]] = {
    "after its lease": lambda action, key: action == "put-done" and key.startswith("state/leases/"),
    "after staging its outputs": lambda action, key: action == "put-done" and key.startswith("state/staged/"),
    "before its result's summary": lambda action, key: (
        action == "put" and key.endswith(".json") and key.startswith("state/results/")
    ),
}


class Killed(BaseException):
    """The worker's environment vanished (a BaseException: nothing in the code under test catches it)."""


class Dying(S3Store):
    def __init__(self, client: Any, when: Callable[[str, str], bool]) -> None:
        super().__init__(BUCKET, client)
        self.when, self.dead = when, False

    def _check(self, action: str, key: str) -> None:
        if not self.dead and self.when(action, key):
            self.dead = True
            raise Killed(key)

    def get(self, key: str) -> tuple[bytes, str]:
        self._check("get", key)
        return super().get(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream", **kw: Any) -> str:
        self._check("put", key)
        etag = super().put(key, data, content_type, **kw)
        self._check("put-done", key)
        return etag

    def delete(self, key: str) -> None:
        if self.dead:
            return  # a killed process releases nothing: its lease stays until it is stale
        super().delete(key)


@pytest.mark.parametrize("moment", list(KILLS))
def test_a_worker_killed_in_a_unit_and_rerun_loses_and_duplicates_nothing(
    moment: str, s3: Any, pitch_model: Any, use_synthetic_model: Any, scorings: list[str]
) -> None:
    frame = four_days()
    days = sorted(pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d").unique())
    upload(s3, frame, days)
    ref = UnitRef(f"raw/{days[1]}.csv", "")
    sent: list[str] = []
    dying = Dying(s3, KILLS[moment])

    with pytest.raises(Killed):
        score.work_unit(dying, pitch_model, CONFIG, ref, send=sent.extend)
    assert dying.dead
    assert not bucket_snapshot(s3, "predictions/"), "nothing is published before its commit"

    # The message comes back after its visibility timeout; the lease the dead worker held is stale by then.
    later = datetime.now(UTC) + timedelta(seconds=CONFIG.lease_seconds + 1)
    store = S3Store(BUCKET, s3)
    assert score.work_unit(store, pitch_model, CONFIG, ref, send=sent.extend, now=lambda: later).status == "scored"
    run_batch(store, pitch_model, CONFIG, now=lambda: later)  # the other files, and the commit

    assert_every_row_once(s3, frame, scorings[-4:])
    assert not bucket_snapshot(s3, "state/leases/")


def test_a_file_whose_notification_was_dropped_is_scored_after_the_next_reconciliation(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, lambda_context: Any,
    scorings: list[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    frame = four_days()
    days = sorted(pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d").unique())
    upload(s3, frame, days[:3])
    by_fanout(s3, pitch_model, queue, functions)
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={})  # the fourth is lost
    upload(s3, frame, days[3:])
    drain(queue, functions)
    assert pending(S3Store(BUCKET, s3))[0].key == f"raw/{days[3]}.csv"

    first = functions["batch"].lambda_handler({"action": "reconcile"}, lambda_context)
    assert first["queued"] == 0, "a file that just landed may still have its notification on the way"
    monkeypatch.setattr("windpitch_batch.reconcile.datetime", _Later)  # an hour later
    found = functions["batch"].lambda_handler({"action": "reconcile"}, lambda_context)
    assert (found["queued"], found["keys"]) == (1, [f"raw/{days[3]}.csv"])
    by_fanout(s3, pitch_model, queue, functions)

    assert_every_row_once(s3, frame, scorings)
    assert functions["batch"].lambda_handler({"action": "reconcile"}, lambda_context)["queued"] == 0


class _Later(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _Later:  # type: ignore[override]
        return cls.fromtimestamp(datetime.now(UTC).timestamp() + 7200, tz)


FORGED = {
    "a unit outside raw/": {"unit": {"key": "models/live/model.json", "etag": "e", "slice": 0, "slices": 0}},
    "a path out of raw/": {"unit": {"key": "raw/../models/live/model.json", "etag": "e", "slice": 0, "slices": 0}},
    "a slice past the file's end": {"unit": {"key": "raw/2015-05-01.csv", "etag": "e", "slice": 5, "slices": 3}},
    "a slice that is not a number": {"unit": {"key": "raw/2015-05-01.csv", "etag": "e", "slice": "0", "slices": 2}},
    "a notification outside raw/": {"Records": [{"eventName": "ObjectCreated:Put",
                                                 "s3": {"object": {"key": "dashboard/fleet.json", "eTag": "e"}}}]},
}  # fmt: skip
NAMED = {
    "a unit outside raw/": "unit.key",
    "a path out of raw/": "unit.key",
    "a slice past the file's end": "unit.slice",
    "a slice that is not a number": "unit.slice",
    "a notification outside raw/": "s3.object.key",
}


@pytest.mark.parametrize("kind", list(FORGED))
def test_a_forged_message_is_refused_naming_the_field_and_never_processed(
    kind: str, s3: Any, queue: dict[str, Any], functions: dict[str, Any], capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    body = json.dumps(FORGED[kind])
    with pytest.raises(BadMessage, match=NAMED[kind]):
        unit_refs(body)
    s3.put_object(Bucket=BUCKET, Key="models/live/model.json", Body=b"{}")
    queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody=body)

    drain(queue, functions)

    assert backlog(queue["sqs"], queue["url"]) == 0, "acknowledged: retrying would not make it a unit"
    assert not bucket_snapshot(s3, "state/"), "nothing read, leased, scored or recorded"
    assert '"BadMessages":[1.0]' in capsys.readouterr().out.replace(" ", "")
    (warning,) = [r for r in caplog.records if r.getMessage() == "message names no unit"]
    assert NAMED[kind] in warning.__dict__["reason"]


def test_a_forged_slice_count_of_a_real_file_is_refused_and_the_file_scored_once_by_its_own_plan(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The real key and ETag, a made-up slicing: refused naming unit.slices, never scored; the file's own
    notification (the bucket notifies the queue) scores it once, under its own plan."""
    frame = four_days().head(40)
    s3.put_object(Bucket=BUCKET, Key="raw/forged.csv", Body=scada_bytes(frame))
    etag = s3.head_object(Bucket=BUCKET, Key="raw/forged.csv")["ETag"].strip('"')
    forged = {"unit": {"key": "raw/forged.csv", "etag": etag, "slice": 7, "slices": 50}}
    queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody=json.dumps(forged))

    drain(queue, functions)

    assert '"BadMessages":[1.0]' in capsys.readouterr().out.replace(" ", "")
    (warning,) = [r for r in caplog.records if r.getMessage() == "message names no unit"]
    assert "unit.slices 50" in warning.__dict__["reason"]
    results = [json.loads(v) for k, v in bucket_snapshot(s3, "state/results/").items() if k.endswith(".json")]
    assert [(r["key"], r["slice"], r["slices"], r["rows_in"]) for r in results] == [("raw/forged.csv", 0, 1, 40)]
    assert not bucket_snapshot(s3, "state/failures/")


def test_dead_letters_are_redriven_after_the_fix_and_the_reconciler_leaves_them_aside_until_then(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, monkeypatch: pytest.MonkeyPatch,
    scorings: list[str],
) -> None:  # fmt: skip
    frame = four_days()
    days = sorted(pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d").unique())
    poison = f"raw/{days[2]}.csv"
    real = score.score_piece

    def broken(store: Any, model: Any, config: Any, unit: Any, **kwargs: Any) -> Any:
        if unit.ref.key == poison:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "a bug, since fixed"}}, "GetObject")
        return real(store, model, config, unit, **kwargs)

    monkeypatch.setattr(score, "score_piece", broken)
    upload(s3, frame, days)
    by_fanout(s3, pitch_model, queue, functions)
    store = S3Store(BUCKET, s3)
    assert [o.key for o in pending(store, skip_failed=True)] == [], "parked: the reconciler leaves it to a person"
    assert (
        queue["sqs"].get_queue_attributes(QueueUrl=queue["dlq"], AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "1"
    )

    monkeypatch.setattr(score, "score_piece", real)  # the fix is deployed
    moved = redrive(store, queue["sqs"], queue["dlq"], queue["url"])
    by_fanout(s3, pitch_model, queue, functions)

    assert moved == {"moved": 1, "refused": []}
    assert not bucket_snapshot(s3, "state/failures/"), "the failure record is cleared"
    assert sum(m["rows_scored"] for m in manifests(s3)) == len(published(s3)) == len(frame)
    assert not pending(store)


def test_the_ledger_records_what_was_scored_by_which_model_from_which_input(
    s3: Any, store: S3Store, pitch_model: Any, use_synthetic_model: Any
) -> None:
    frame = four_days()
    upload(s3, frame, sorted(pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d").unique()))
    manifest = run_batch(store, pitch_model, CONFIG).as_dict()

    raw = {o["Key"]: o["ETag"].strip('"') for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/")["Contents"]}
    entries = [e for key in raw for e in ledger.entries_of(store, key)]
    assert {(e.key, e.etag) for e in entries} == set(raw.items())
    assert {e.model_version for e in entries} == {pitch_model.info.version}
    assert {e.run_id for e in entries} == {manifest["run_id"]}
    assert sum(e.rows_scored for e in entries) == manifest["rows_scored"]
    for entry in entries:
        assert all(key in bucket_snapshot(s3, key) for key in entry.outputs), "every output it names is published"


def test_a_changed_input_is_the_reason_to_score_it_again(
    s3: Any, store: S3Store, pitch_model: Any, use_synthetic_model: Any, scorings: list[str]
) -> None:
    frame = four_days()
    days = sorted(pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d").unique())
    upload(s3, frame, days)
    run_batch(store, pitch_model, CONFIG)
    assert run_batch(store, pitch_model, CONFIG).status == "nothing to do"
    upload(s3, frame.assign(Ba_avg=frame["Ba_avg"] + 1.0), days[:1])  # a corrected file: a new ETag

    outcome: RunOutcome = run_batch(store, pitch_model, CONFIG)

    assert [i["key"] for i in outcome.as_dict()["inputs"]] == [f"raw/{days[0]}.csv"]
    assert len(scorings) == 5
    rows = published(s3)
    assert len(rows) == len(frame) and not rows.duplicated(["turbine", "timestamp"]).any()
    old, new = sorted(ledger.entries_of(store, f"raw/{days[0]}.csv"), key=lambda e: e.committed_at)
    assert new.etag == s3.head_object(Bucket=BUCKET, Key=f"raw/{days[0]}.csv")["ETag"].strip('"') != old.etag
    assert old.outputs == new.outputs, "the history keeps what was scored; its outputs are rewritten in place"


def test_the_in_process_run_with_a_queue_finds_new_work_without_listing_history(
    s3: Any, queue: dict[str, Any], pitch_model: Any, scorings: list[str]
) -> None:
    """History (a committed day) costs it nothing: it lists neither raw/ nor the ledger, only the results waiting."""
    frame = four_days()
    days = sorted(pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d").unique())
    upload(s3, frame, days[:3])
    run_batch(S3Store(BUCKET, s3), pitch_model, CONFIG, inbox=Inbox(queue["sqs"], queue["url"]))
    listed: list[str] = []

    class Listing(S3Store):
        def list(self, prefix: str) -> Any:
            listed.append(prefix)
            return super().list(prefix)

    upload(s3, frame, days[3:])
    queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody="not a unit")
    inbox = Inbox(queue["sqs"], queue["url"])
    outcome = run_batch(Listing(BUCKET, s3), pitch_model, CONFIG, inbox=inbox)

    assert [i["key"] for i in outcome.as_dict()["inputs"]] == [f"raw/{days[3]}.csv"]
    # Listings: the new file's own ledger folder (is it done? what does it replace?), never raw/ or the ledger.
    assert not [p for p in listed if p in ("raw/", "state/ledger/")], listed
    assert {p for p in listed if p.startswith("state/ledger/")} <= {
        f"state/ledger/{digest(f'raw/{days[3]}.csv')}/",
        *(p for p in listed if p.startswith(f"state/ledger/{digest(f'raw/{days[3]}.csv')}/")),
    }
    assert inbox.refused and "not JSON" in inbox.refused[0]
    assert backlog(queue["sqs"], queue["url"]) == 0, "every message taken is dropped once its unit is scored"
    assert_every_row_once(s3, frame, scorings)
