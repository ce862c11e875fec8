"""Lambda's SQS event source mapping in local processes: how `python -m windpitch backfill --workers N` (and the
local stack) run the pipeline's units in parallel on one machine, against any S3 and SQS endpoint.

What Lambda does for an SQS trigger, and this does the same way:

* **poll** the queue (long polling, up to ``batch_size`` messages);
* **batch** them into one event, shaped as ``sam local generate-event sqs receive-message`` shapes it
  (``events/worker/s3_notification.json`` is the template: each message fills a copy of its record);
* **invoke** the function with it; with ``ReportBatchItemFailures``, the answer's ``batchItemFailures`` name
  the messages that failed;
* **delete on success**: every other message of the batch is deleted; a failed one (or all of them, when the
  invocation itself fails) is left to reappear after the queue's visibility timeout, and SQS's redrive policy
  moves it to the dead-letter queue after ``maxReceiveCount`` receives;
* **N workers in parallel processes** (:func:`run_workers`): Lambda's concurrency, each process one execution
  environment that imports the function's handler once and serves invocation after invocation.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import multiprocessing
import os
import resource
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
TEMPLATE_EVENT: Final = ROOT / "events" / "worker" / "s3_notification.json"
WORKER_APP: Final = ROOT / "functions" / "worker" / "app.py"
QUEUE: Final = "windpitch-units"
MAX_RECEIVES: Final = 3  # the template's maxReceiveCount: a poison message reaches the dead-letter queue on its 3rd


def ensure_queues(client: Any, name: str = QUEUE, visibility_timeout_s: int = 30) -> tuple[str, str]:
    """The work queue and its dead-letter queue (created if absent, as the template declares them)."""
    dlq = client.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES})
    attributes = {"VisibilityTimeout": str(visibility_timeout_s), "RedrivePolicy": redrive}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, dlq


def notify_raw(s3: Any, bucket: str, sqs: Any, queue_url: str) -> None:
    """S3 event notifications of new objects under raw/ to the queue (the template's NotificationConfiguration)."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}}
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": rule}]
        },
    )


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The SQS event Lambda would send for ``messages`` (as ReceiveMessage returns them)."""
    template = json.loads(TEMPLATE_EVENT.read_text())["Records"][0]
    records = []
    for message in messages:
        record = copy.deepcopy(template)
        record.update(
            messageId=message["MessageId"],
            receiptHandle=message["ReceiptHandle"],
            body=message["Body"],
            md5OfBody=hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's checksum
            eventSourceARN=queue_arn,
        )
        record["attributes"] = {**template["attributes"], **message.get("Attributes", {})}
        records.append(record)
    return {"Records": records}


@dataclass
class Polled:
    received: int = 0
    deleted: int = 0
    failed: int = 0


class EventSourceMapping:
    """One poller: receive a batch, invoke, delete what succeeded (see the module)."""

    def __init__(self, client: Any, queue_url: str, invoke: Callable[[dict[str, Any]], Any], batch_size: int = 5):
        self.client, self.queue_url, self.invoke, self.batch_size = client, queue_url, invoke, batch_size
        self.arn = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def poll(self, wait_s: int = 1) -> Polled:
        answer = self.client.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
        )  # fmt: skip
        messages = answer.get("Messages", [])
        if not messages:
            return Polled()
        try:
            response = self.invoke(sqs_event(messages, self.arn)) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:  # the invocation failed whole: every message comes back (Lambda's behaviour)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
            ]
            self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return Polled(len(messages), len(done), len(failed))


def backlog(client: Any, queue_url: str) -> int:
    """Messages waiting or being worked on (SQS's approximate counts)."""
    attributes = client.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


class WorkerContext:
    """The Lambda context fields Powertools reads."""

    function_name = "WorkerFunction"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:eu-west-3:123456789012:function:windpitch-local-WorkerFunction"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def load_handler(path: Path = WORKER_APP) -> Callable[[dict[str, Any], Any], Any]:
    """The function's handler, imported from its folder once (an execution environment's cold start)."""
    spec = importlib.util.spec_from_file_location("windpitch_worker_app", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[[dict[str, Any], Any], Any] = module.lambda_handler
    return handler


def _worker_main(  # noqa: PLR0917 - a process target's arguments
    endpoint: str, queue_url: str, env: dict[str, str], stop: Any, layers: list[str], log: str | None
) -> None:
    """One execution environment: the function's environment, its layers first, its handler, then poll."""
    import boto3  # noqa: PLC0415 - in the child, after its environment is set

    # Ctrl-C reaches the whole process group: the parent stops the workers (its event), they finish their batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update(env)
    sys.path[:0] = layers
    if log:  # the function's JSON logs and metrics, as CloudWatch would keep them, not on the console
        sys.stdout = Path(log).open("a", buffering=1, encoding="utf-8")  # noqa: SIM115 - the process's own stdout
    handler = load_handler()
    client = boto3.client("sqs", endpoint_url=endpoint)
    mapping = EventSourceMapping(client, queue_url, lambda event: handler(event, WorkerContext()))
    while not stop.is_set():
        try:
            mapping.poll()
        except Exception as exc:  # the queue unreachable for a moment: Lambda's poller waits and polls again
            print(json.dumps({"message": "poll failed", "error": f"{type(exc).__name__}: {exc}"[:300]}), flush=True)
            stop.wait(1.0)
    # What this execution environment used at its peak: a Lambda's memory setting must exceed it.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"message": "worker stopped", "pid": os.getpid(), "peak_rss_mb": round(peak_mb, 1)}), flush=True)


def run_workers(
    workers: int,
    endpoint: str,
    queue_url: str,
    env: dict[str, str],
    *,
    layers: list[str] | None = None,
    log: Path | None = None,
    until: Callable[[], bool],
    every_s: float = 0.5,
) -> None:
    """``workers`` processes polling the queue until ``until()`` is true (checked every ``every_s``); always
    stopped, even when interrupted."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each: no state shared by accident
    stop = context.Event()
    processes = [
        context.Process(
            target=_worker_main,
            args=(endpoint, queue_url, env, stop, layers or [], str(log) if log else None),
            daemon=True,
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        while not until():
            if not any(p.is_alive() for p in processes):
                raise RuntimeError("every worker process exited (see its output above)")
            time.sleep(every_s)
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
