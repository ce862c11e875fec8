"""BatchFunction's handler on the scheduled event SAM generates (events/batch/scheduled.json), on moto."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BUCKET, EVENTS, bucket_snapshot, scada_bytes, synthetic_scada


@pytest.fixture
def batch_env(monkeypatch: pytest.MonkeyPatch, s3: Any, use_synthetic_model: Path) -> None:
    monkeypatch.setenv("WINDPITCH_BUCKET", BUCKET)
    monkeypatch.setenv("BATCH_SAFETY_MARGIN_MS", "1000")  # the test context says 10 s remain
    # Inline: no work queue (an in-process local API built earlier in the session sets the template's).
    monkeypatch.delenv("WORK_QUEUE_URL", raising=False)


def scheduled_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "batch" / "scheduled.json").read_text())
    return event


def emitted_metrics(out: str) -> dict[str, float]:
    """The EMF documents Powertools printed: metric name -> value."""
    found: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            doc = json.loads(line)
            for directive in doc["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    value = doc[metric["Name"]]
                    found[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return found


def test_a_scheduled_run_publishes_and_reports_metrics(
    batch_env: None,
    s3: Any,
    functions: dict[str, Any],
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs_out = io.StringIO()  # the Logger's handler kept the stdout it was created with
    monkeypatch.setattr(functions["batch"].logger.registered_handler, "stream", logs_out)
    frame = synthetic_scada(72, seed=4, freq="10min", start="2015-07-01")
    s3.put_object(Bucket=BUCKET, Key="raw/2015-07-01.csv", Body=scada_bytes(frame))

    summary = functions["batch"].lambda_handler(scheduled_event(), lambda_context)

    assert (summary["rows_in"], summary["rows_scored"], summary["rows_rejected"]) == (len(frame), len(frame), 0)
    assert f"manifests/run-{summary['run_id']}.json" in bucket_snapshot(s3, "manifests/")
    out = capsys.readouterr().out
    metrics = emitted_metrics(out)
    assert metrics["RowsScored"] == len(frame)
    assert metrics["FilesProcessed"] == 1
    assert metrics["RowsRejected"] == 0
    logs = [json.loads(line) for line in logs_out.getvalue().splitlines()]
    (run_log,) = [entry for entry in logs if entry["message"] == "batch run"]
    assert run_log["correlation_id"] == scheduled_event()["id"]
    assert run_log["run"]["rows_scored"] == len(frame)


def test_nothing_new_is_a_quiet_success(
    batch_env: None, functions: dict[str, Any], lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert functions["batch"].lambda_handler(scheduled_event(), lambda_context) == {"status": "nothing to do"}
    assert emitted_metrics(capsys.readouterr().out)["FilesProcessed"] == 0


def test_a_tampered_model_stops_the_run_before_any_file_is_touched(
    monkeypatch: pytest.MonkeyPatch,
    s3: Any,
    model_dir_copy: Path,
    functions: dict[str, Any],
    lambda_context: Any,
) -> None:
    from windpitch.artifacts import MODEL_DIR_ENV, ModelUnavailable
    from windpitch.predict import load_model

    export = model_dir_copy / "model.json"
    export.write_text(export.read_text().replace('"depth"', '"depth" ', 1))
    monkeypatch.setenv(MODEL_DIR_ENV, str(model_dir_copy))
    monkeypatch.setenv("WINDPITCH_BUCKET", BUCKET)
    load_model.cache_clear()
    logs_out = io.StringIO()
    monkeypatch.setattr(functions["batch"].logger.registered_handler, "stream", logs_out)
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=scada_bytes(synthetic_scada(10, freq="10min")))
    try:
        with pytest.raises(ModelUnavailable, match="does not match"):
            functions["batch"].lambda_handler(scheduled_event(), lambda_context)
    finally:
        load_model.cache_clear()
    assert set(bucket_snapshot(s3)) == {"raw/a.csv"}
    (error,) = [json.loads(line) for line in logs_out.getvalue().splitlines()]
    assert error["level"] == "ERROR"
    assert error["message"] == "refusing to run: the model is unavailable"
    assert "integrity check failed" in error["reason"]


@pytest.mark.parametrize("challenger", ["published", "unknown"])
def test_the_challenger_is_reported_in_metrics(
    batch_env: None,
    s3: Any,
    functions: dict[str, Any],
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    synthetic_challenger_dir: Path,
    challenger: str,
) -> None:
    """A challenger named by the function's setting (ChallengerVersion): both models' MAE as metrics, or a
    refusal (ChallengerRefusedAlarm's metric) while the live model still scores every row."""
    from datetime import UTC, datetime

    from windpitch_batch import registry
    from windpitch_batch.store import S3Store

    version = registry.publish(S3Store(BUCKET, s3), synthetic_challenger_dir, datetime.now(UTC))["version"]
    monkeypatch.setenv("CHALLENGER_VERSION", version if challenger == "published" else "no-such-version")
    frame = synthetic_scada(72, seed=4, freq="10min", start="2015-07-01")
    s3.put_object(Bucket=BUCKET, Key="raw/2015-07-01.csv", Body=scada_bytes(frame))

    summary = functions["batch"].lambda_handler(scheduled_event(), lambda_context)

    assert summary["rows_scored"] == len(frame)
    metrics = emitted_metrics(capsys.readouterr().out)
    if challenger == "published":
        assert summary["shadow"]["status"] == "compared"
        assert metrics["ShadowChallengerMAE"] == summary["shadow"]["overall"]["challenger"]["mae"]
        assert metrics["ShadowLiveMAE"] == summary["shadow"]["overall"]["live"]["mae"]
        assert "ChallengerRefused" not in metrics
    else:
        assert summary["shadow"]["status"] == "refused"
        assert metrics["ChallengerRefused"] == 1
        assert "ShadowChallengerMAE" not in metrics


def test_with_a_work_queue_the_scheduled_run_commits_what_the_workers_finished(
    batch_env: None, s3: Any, functions: dict[str, Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from windpitch_cli.workers import EventSourceMapping, WorkerContext, ensure_queues, notify_raw

    sqs = boto3.client("sqs", region_name="eu-west-3")
    url, _ = ensure_queues(sqs, visibility_timeout_s=0)
    notify_raw(s3, BUCKET, sqs, url)
    monkeypatch.setenv("WORK_QUEUE_URL", url)
    frame = synthetic_scada(72, seed=4, freq="10min", start="2015-07-01")
    s3.put_object(Bucket=BUCKET, Key="raw/2015-07-01.csv", Body=scada_bytes(frame))
    worker = functions["worker"].lambda_handler
    for _ in range(3):  # the test event S3 sends first, then the file's notification
        EventSourceMapping(sqs, url, lambda event: worker(event, WorkerContext())).poll(wait_s=0)
    assert bucket_snapshot(s3, "state/results/"), "the worker left its result"

    summary = functions["batch"].lambda_handler(scheduled_event(), lambda_context)

    assert summary["fanned_out"] and summary["rows_in"] == len(frame) == summary["rows_scored"]
    assert not bucket_snapshot(s3, "state/results/")
