"""BatchFunction, on its EventBridge schedules: commit what was scored (and, on a bucket without workers, score it
first), or, on the hourly ``Reconcile`` schedule, queue the raw files the ledger does not hold.

Thin: the pipeline's stages live in windpitch_batch (run, commit, reconcile); this shim wires the Lambda to
them: settings from the environment, the time budget from the context, logs, metrics, traces. A model that
fails its integrity check stops the run before any file is touched (the error alarm and the on-failure
destination then see it).
"""

import functools
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from windpitch import settings
from windpitch.artifacts import ModelUnavailable
from windpitch.predict import load_model
from windpitch_batch.commit import commit
from windpitch_batch.config import BatchConfig
from windpitch_batch.reconcile import reconcile
from windpitch_batch.run import run_batch
from windpitch_batch.score import send_to
from windpitch_batch.store import S3Store

# Named from windpitch.settings, not from the template: the same names run locally and deployed.
logger = Logger(service=settings.SERVICE_NAME.read())
metrics = Metrics(namespace=settings.METRICS_NAMESPACE.read(), service=settings.SERVICE_NAME.read())
tracer = Tracer(service=settings.SERVICE_NAME.read())
COUNTS = {  # manifest field -> metric
    "files_in": "FilesProcessed",
    "files_rejected": "FilesRejected",
    "files_left_for_next_run": "FilesLeftForNextRun",
    "rows_in": "RowsIn",
    "rows_scored": "RowsScored",
    "rows_rejected": "RowsRejected",
}


@functools.cache
def bucket(name: str) -> S3Store:
    """One S3 client per execution environment, reused by warm invocations."""
    return S3Store(name)


@logger.inject_lambda_context(correlation_id_path="id")  # the scheduled event's id
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = BatchConfig.from_env()
    queue = settings.WORK_QUEUE_URL.read()
    if event.get("action") == "reconcile":  # the hourly schedule's input: nothing dropped
        if not queue:
            return {"action": "reconcile", "queued": 0, "reason": "no work queue (WORK_QUEUE_URL) to queue to"}
        found = reconcile(bucket(config.bucket), send_to(boto3.client("sqs"), queue))
        metrics.add_metric(name="FilesReconciled", unit=MetricUnit.Count, value=found["queued"])
        logger.info("reconcile", extra={"reconcile": found})
        return found
    try:
        model = load_model()
    except ModelUnavailable as exc:
        logger.error("refusing to run: the model is unavailable", extra={"reason": str(exc)})
        raise
    logger.append_keys(schedule_time=event.get("time"), model_version=model.info.version)
    if queue:  # fanned out: the workers score, this run commits what they finished
        outcome = commit(bucket(config.bucket), model, config, marks={"fanned_out": True})
    else:
        outcome = run_batch(bucket(config.bucket), model, config, remaining_ms=context.get_remaining_time_in_millis)
    manifest = outcome.manifest or {}
    for field, name in COUNTS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=manifest.get(field, 0))
    if outcome.committed:
        metrics.add_metric(name="OpenAnomalies", unit=MetricUnit.Count, value=manifest["anomalies"]["open"])
    if "monitoring" in manifest:  # inputs whose live distribution left the training data's (ModelInputDriftAlarm)
        metrics.add_metric(name="DriftedInputs", unit=MetricUnit.Count, value=len(manifest["monitoring"]["drifted"]))
    _shadow_metrics(manifest.get("shadow") or {})
    summary = outcome.summary()
    logger.info("batch run", extra={"run": summary})
    return summary


def _shadow_metrics(shadow: dict[str, Any]) -> None:
    """The challenger's standing: refused (a warning, live scoring went on), or both models' producing MAE."""
    if shadow.get("status") == "refused":
        logger.warning("challenger refused; scoring with the live model only", extra={"challenger": shadow})
        metrics.add_metric(name="ChallengerRefused", unit=MetricUnit.Count, value=1)
    elif shadow.get("status") == "compared":
        overall = shadow["overall"]
        for role, name in (("live", "ShadowLiveMAE"), ("challenger", "ShadowChallengerMAE")):
            if overall[role]["mae"] is not None:
                metrics.add_metric(name=name, unit=MetricUnit.NoUnit, value=overall[role]["mae"])
