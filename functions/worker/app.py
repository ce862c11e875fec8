"""WorkerFunction: SQS → score the units each message names (the pipeline's score stage, windpitch_batch.score).

Thin: Powertools' batch processing reports each failed message back to SQS (ReportBatchItemFailures), so one
poison file fails only its own message; SQS redelivers it after the visibility timeout, and moves it to the
dead-letter queue after the queue's maxReceiveCount, with the reason in state/failures/<unit>.json. The
results are committed by BatchFunction's aggregation, not here: a worker never touches the dashboard state.
"""

import functools
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from windpitch import settings
from windpitch.predict import load_model
from windpitch.runtime import PitchModel
from windpitch_batch.config import BatchConfig
from windpitch_batch.discover import BadMessage
from windpitch_batch.registry import Challenger, RegistryError, challenger_for, pointed_challenger
from windpitch_batch.score import send_to, work_message
from windpitch_batch.store import S3Store

# Named from windpitch.settings, not from the template: the same names run locally and deployed.
logger = Logger(service=settings.SERVICE_NAME.read())
metrics = Metrics(namespace=settings.METRICS_NAMESPACE.read(), service=settings.SERVICE_NAME.read())
tracer = Tracer(service=settings.SERVICE_NAME.read())
processor = BatchProcessor(event_type=EventType.SQS)
LOADED: dict[tuple[str, str], Challenger] = {}  # challengers by bucket and version: a version never changes


@functools.cache
def bucket(name: str) -> S3Store:
    return S3Store(name)


@functools.cache
def queue() -> Any:
    return boto3.client("sqs")


def shadow(config: BatchConfig) -> Challenger | None:
    """The challenger named now (the pointer is read at every invocation: it changes while environments live),
    loaded once per execution environment and version (its refusal is the aggregation's to report)."""
    version = config.challenger or pointed_challenger(bucket(config.bucket))
    if not version:
        return None
    if (config.bucket, version) not in LOADED:
        found = challenger_for(bucket(config.bucket), load_model(), version)
        if found is None or found.model is None:
            return found  # refused: asked again next time (the version may be published meanwhile)
        LOADED[config.bucket, version] = found
    return LOADED[config.bucket, version]


@dataclass(frozen=True)
class Setup:
    """What every message of one invocation is scored with: read once per invocation, not per message."""

    config: BatchConfig
    model: PitchModel
    challenger: Challenger | None


def setup() -> Setup:
    config = BatchConfig.from_env()
    try:
        challenger = shadow(config)
    except RegistryError:  # an unreadable pointer: scored without a challenger; the aggregation reports why
        challenger = None
    return Setup(config, load_model(), challenger)


@tracer.capture_method
def record_handler(record: SQSRecord, *, ready: Setup) -> None:
    try:
        worked = work_message(
            bucket(ready.config.bucket), ready.model, ready.config, record.body,
            send=send_to(queue(), settings.WORK_QUEUE_URL.read()),
            challenger=ready.challenger,
        )  # fmt: skip
    except BadMessage as exc:  # not a unit, or one it may not score (a key outside raw/): refused, logged, counted
        logger.warning("message names no unit", extra={"reason": str(exc), "message_id": record.message_id})
        metrics.add_metric(name="BadMessages", unit=MetricUnit.Count, value=1)
        return
    for unit in worked:
        logger.info("unit", extra={"key": unit.ref.key, "slice": unit.ref.slice, "status": unit.status})
        if unit.status == "scored":
            metrics.add_metric(name="UnitsScored", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="WorkerRowsIn", unit=MetricUnit.Count, value=unit.rows)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="MessagesReceived", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    handler = functools.partial(record_handler, ready=setup())
    return process_partial_response(event=event, record_handler=handler, processor=processor, context=context)
