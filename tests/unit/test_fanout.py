"""The fan-out on moto (mock_aws): S3 notifications to SQS, WorkerFunction's handler under the emulated event
source mapping (windpitch_cli.workers), and BatchFunction's commit.

Each guarantee of issue 14 has its test: a unit delivered twice publishes nothing twice; a worker dying between
its outputs and its result loses no row; a poison file reaches the dead-letter queue with its reason and costs
the file beside it nothing; aggregations and workers running at once account for every row exactly once; large
files are split into slices that publish what one run publishes.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any
from urllib.parse import unquote_plus

import pandas as pd
import pytest

from tests.conftest import BUCKET, bucket_snapshot, drain, edited_model, scada_bytes
from tests.unit.test_batch_run import two_days
from windpitch_batch import commit as committing
from windpitch_batch import score
from windpitch_batch.commit import RunOutcome, commit
from windpitch_batch.config import BatchConfig
from windpitch_batch.keys import AGGREGATOR_LEASE
from windpitch_batch.plan import UnitRef
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store
from windpitch_cli.workers import EventSourceMapping, WorkerContext, backlog

CONFIG = BatchConfig(bucket=BUCKET)


def aggregate(store: S3Store, model: Any, config: BatchConfig) -> RunOutcome:
    """What the scheduled BatchFunction does when workers score: commit what they finished."""
    return commit(store, model, config, marks={"fanned_out": True})


def predictions(s3: Any, bucket: str = BUCKET) -> pd.DataFrame:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="predictions/").get("Contents", [])
    frames = [pd.read_parquet(io.BytesIO(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())) for o in listed]
    table = pd.concat(frames, ignore_index=True).drop(columns=["run_id", "source"])
    return table.sort_values(["timestamp", "turbine"]).reset_index(drop=True)


def manifests(s3: Any) -> list[dict[str, Any]]:
    return [json.loads(v) for k, v in bucket_snapshot(s3, "manifests/").items()]


def upload_days(s3: Any) -> pd.DataFrame:
    frame = two_days()
    stamps = pd.to_datetime(frame["Date_time"], utc=True)
    for day, rows in frame.groupby(stamps.dt.strftime("%Y-%m-%d")):
        s3.put_object(Bucket=BUCKET, Key=f"raw/{day}.csv", Body=scada_bytes(rows))
    return frame


def test_landed_files_are_scored_by_workers_and_committed_once(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any
) -> None:
    frame = upload_days(s3)

    drain(queue, functions)
    outcome = aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG)

    manifest = outcome.as_dict()
    assert manifest["fanned_out"] and manifest["files_in"] == 2
    assert manifest["rows_in"] == len(frame) == manifest["rows_scored"] + manifest["rows_rejected"]
    assert not bucket_snapshot(s3, "state/results/"), "committed results are cleaned up"
    assert aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG).status == "nothing to do"
    # The same outputs as one scheduled run over the same files (in another bucket).
    s3.create_bucket(Bucket="inline", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    for key, data in bucket_snapshot(s3, "raw/").items():
        s3.put_object(Bucket="inline", Key=key, Body=data)
    run_batch(S3Store("inline", s3), pitch_model, BatchConfig(bucket="inline"))
    pd.testing.assert_frame_equal(predictions(s3), predictions(s3, "inline"))
    # The dashboard's turbine states too: the aggregation merged and detected as the scheduled run did.
    inline = {o["Key"]: s3.get_object(Bucket="inline", Key=o["Key"])["Body"].read()
              for o in s3.list_objects_v2(Bucket="inline", Prefix="dashboard/turbines/")["Contents"]}  # fmt: skip
    assert bucket_snapshot(s3, "dashboard/turbines/") == inline and len(inline) == 4


def test_a_unit_delivered_twice_publishes_nothing_twice(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any
) -> None:
    frame = upload_days(s3)
    message = UnitRef("raw/2015-03-01.csv", "").as_message()
    queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody=message)  # the same file, again

    drain(queue, functions)
    aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG)
    queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody=message)  # and again, after the commit
    drain(queue, functions)

    assert aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG).status == "nothing to do"
    assert sum(m["rows_in"] for m in manifests(s3)) == len(frame)
    assert len(predictions(s3)) == len(frame)


def test_a_worker_dying_between_its_outputs_and_its_result_loses_no_row(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = score.write_result, {"n": 0}

    def dies_once(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the worker's environment was lost")  # after the outputs, before the result
        real(*args, **kwargs)

    monkeypatch.setattr(score, "write_result", dies_once)
    frame = upload_days(s3)

    drain(queue, functions)
    manifest = aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG).as_dict()

    assert calls["n"] == 3  # two files, one of them twice
    assert manifest["rows_in"] == len(frame) and len(predictions(s3)) == len(frame)


def test_a_poison_file_reaches_the_dead_letter_queue_with_its_reason(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = score.score_piece

    def poisoned(store: Any, model: Any, config: Any, unit: Any, **kwargs: Any) -> Any:
        if unit.ref.key == "raw/2015-03-02.csv":
            raise MemoryError("this file takes the worker down")
        return real(store, model, config, unit, **kwargs)

    monkeypatch.setattr(score, "score_piece", poisoned)
    frame = upload_days(s3)

    drain(queue, functions)
    manifest = aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG).as_dict()

    dead = queue["sqs"].receive_message(QueueUrl=queue["dlq"], MaxNumberOfMessages=10)["Messages"]
    assert len(dead) == 1
    record = json.loads(dead[0]["Body"])["Records"][0]
    assert unquote_plus(record["s3"]["object"]["key"]) == "raw/2015-03-02.csv"  # S3 URL-encodes event keys
    (failure,) = [json.loads(v) for v in bucket_snapshot(s3, "state/failures/").values()]
    assert failure["key"] == "raw/2015-03-02.csv" and failure["attempts"] == 3
    assert failure["reason"] == "MemoryError: this file takes the worker down"
    # The file beside it in the same batch was scored and committed (partial batch failure).
    assert manifest["files_in"] == 1
    stamps = pd.to_datetime(frame["Date_time"], utc=True)
    assert manifest["rows_in"] == int((stamps.dt.day == 1).sum())


def test_a_message_that_names_no_unit_is_acknowledged(
    queue: dict[str, Any], functions: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody="not json")
    drain(queue, functions)
    assert backlog(queue["sqs"], queue["url"]) == 0
    assert not queue["sqs"].receive_message(QueueUrl=queue["dlq"]).get("Messages")
    assert '"BadMessages":[1.0]' in capsys.readouterr().out.replace(" ", "")


def test_large_files_are_scored_in_slices_with_the_files_own_line_numbers(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCH_SLICE_LINES", "300")
    frame = two_days()
    frame = frame.astype({"Ws_avg": object})
    frame.loc[700, "Ws_avg"] = "fast"  # line 702 of the file (header, then 1-based rows): in the third slice
    s3.put_object(Bucket=BUCKET, Key="raw/both-days.csv.gz", Body=scada_bytes(frame, gz=True))

    drain(queue, functions)
    manifest = aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG).as_dict()

    assert (manifest["files_in"], manifest["units_in"]) == (1, 4)  # 1,152 lines in slices of 300
    assert manifest["rows_in"] == len(frame) and manifest["rows_rejected"] == 1
    published = predictions(s3)
    assert len(published) == len(frame) - 1 and not published.duplicated(["timestamp", "turbine"]).any()
    (rows_csv,) = [v for k, v in bucket_snapshot(s3, "quarantine/").items() if k.endswith("rows.csv")]
    line = rows_csv.decode().splitlines()[1]
    assert line.startswith("702,") and "Ws_avg" in line and ",fast," in line


def test_workers_and_aggregations_at_once_count_every_row_once(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCH_SLICE_LINES", "200")
    frame = two_days()
    s3.put_object(Bucket=BUCKET, Key="raw/both-days.csv", Body=scada_bytes(frame))
    store = S3Store(BUCKET, s3)
    handler = functions["worker"].lambda_handler
    esm = EventSourceMapping(queue["sqs"], queue["url"], lambda event: handler(event, WorkerContext()))
    outcomes: list[str] = []
    for _ in range(50):  # each poll of the workers with an aggregation running beside it
        if backlog(queue["sqs"], queue["url"]) == 0:
            break
        beside = threading.Thread(target=lambda: outcomes.append(aggregate(store, pitch_model, CONFIG).status))
        beside.start()
        try:
            esm.poll(wait_s=0)
        finally:
            beside.join()
    outcomes.append(aggregate(store, pitch_model, CONFIG).status)

    assert outcomes.count("committed") >= 2, outcomes  # runs committed while workers were still scoring
    assert sum(m["rows_in"] for m in manifests(s3)) == len(frame)
    units = [i["unit"] for m in manifests(s3) for i in m["inputs"]]
    assert len(units) == len(set(units)) == 6
    assert len(predictions(s3)) == len(frame)


def test_two_aggregations_never_run_at_once(s3: Any, pitch_model: Any, use_synthetic_model: Any) -> None:
    store = S3Store(BUCKET, s3)
    store.put(AGGREGATOR_LEASE, b'{"token": "other", "taken_at": "2999-01-01T00:00:00+00:00"}')
    outcome = aggregate(store, pitch_model, CONFIG)
    assert (outcome.status, outcome.reason) == ("nothing done", "another commit is running")


def test_an_aggregation_that_died_after_its_manifest_is_not_counted_again(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = upload_days(s3)
    drain(queue, functions)
    monkeypatch.setattr(committing, "_forget", lambda store, unit: None)  # dies before cleaning up
    aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG)
    monkeypatch.undo()

    assert aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG).status == "nothing to do"
    assert sum(m["rows_in"] for m in manifests(s3)) == len(frame)
    assert not bucket_snapshot(s3, "state/results/")


def test_a_new_version_with_fewer_slices_replaces_every_output_of_the_old(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,152 lines in four slices, then a corrected file of 500 lines in two: only the new rows remain."""
    monkeypatch.setenv("BATCH_SLICE_LINES", "300")
    frame = two_days()
    bad = frame.astype({"Ws_avg": object})
    bad.loc[1000, "Ws_avg"] = "fast"  # quarantined in the old version's last slice
    s3.put_object(Bucket=BUCKET, Key="raw/both-days.csv", Body=scada_bytes(bad))
    drain(queue, functions)
    aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG)
    corrected = frame.head(500)
    s3.put_object(Bucket=BUCKET, Key="raw/both-days.csv", Body=scada_bytes(corrected))

    drain(queue, functions)
    manifest = aggregate(S3Store(BUCKET, s3), pitch_model, CONFIG).as_dict()

    assert (manifest["files_in"], manifest["units_in"], manifest["rows_in"]) == (1, 2, 500)
    published = predictions(s3)
    assert len(published) == 500
    stamps = pd.to_datetime(corrected["Date_time"], utc=True).dt.tz_convert("UTC")
    assert sorted(published["timestamp"]) == sorted(stamps)
    assert not [k for k in bucket_snapshot(s3, "quarantine/") if k.endswith("rows.csv")], "the old slice's rejects"
    counts = [k for k in bucket_snapshot(s3, "monitoring/counts/") if "/daily/" not in k]
    assert len(counts) == 2, counts
    # The daily sums hold the new version's two slices only: the old version's other slices were taken out.
    live = {k.rsplit("part-", 1)[1].removesuffix(".json") for k in counts}
    sums = bucket_snapshot(s3, "monitoring/counts/daily/")
    folded = {p for k, v in sums.items() if "/date=" in k for p in json.loads(v)["parts"]}
    assert folded == live
    assert {k.rsplit("/", 1)[1].removesuffix(".json") for k in sums if "/parts/" in k} == live
    rows = sum(c["rows"] for k, v in sums.items() if "/date=" in k for c in json.loads(v)["parts"].values())
    assert rows == 500


def test_the_challenger_is_scored_in_shadow_by_the_workers_and_compared_by_the_aggregation(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], pitch_model: Any, synthetic_challenger_dir: Any,
    synthetic_model_dir: Any, tmp_path: Any,
) -> None:  # fmt: skip
    """Workers score the challenger beside the live model; the aggregation compares them. Rows a worker scored
    under a challenger the pointer has since left are not taken for the new one's."""
    from datetime import UTC, datetime

    from windpitch_batch import registry

    store, now = S3Store(BUCKET, s3), datetime(2026, 11, 26, tzinfo=UTC)
    first = registry.publish(store, synthetic_challenger_dir, now)["version"]
    registry.set_challenger(store, first, now)
    frame = upload_days(s3)
    drain(queue, functions)
    manifest = aggregate(store, pitch_model, CONFIG).as_dict()
    assert manifest["shadow"]["challenger"] == first
    report = json.loads(bucket_snapshot(s3, "shadow/latest.json")["shadow/latest.json"])
    producing = int(pd.to_numeric(frame["P_avg"]).gt(0).sum())
    assert report["overall"]["n"] == producing > 0

    twin = edited_model(synthetic_model_dir, tmp_path / "twin", version="second")
    registry.publish(store, twin, now)
    s3.put_object(Bucket=BUCKET, Key="raw/later.csv", Body=scada_bytes(frame.head(8)))  # scored under `first`
    drain(queue, functions)
    registry.set_challenger(store, "second", now)  # the pointer moves before the aggregation

    aggregate(store, pitch_model, CONFIG)

    state = json.loads(bucket_snapshot(s3, "dashboard/turbines/R80711.json")["dashboard/turbines/R80711.json"])
    assert state["shadow_version"] == "second"
    assert all(v is None for v in state["series"]["shadow"])
