"""Regenerate the events under events/ with SAM's own generator: API Gateway requests (events/api/), the
batch's EventBridge schedule (events/batch/scheduled.json) and the worker's SQS message of an S3 notification
(events/worker/s3_notification.json).

    SAM_CLI_TELEMETRY=0 .venv/bin/python events/generate.py

`sam local generate-event apigateway aws-proxy` builds the REST proxy event; its query string, multi-value
query and base64 flag are placeholders, so they are made consistent with the request each file describes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = json.loads((HERE / "seed_record.json").read_text())

REQUESTS: dict[str, dict[str, Any]] = {
    "health_get": {"method": "GET", "path": "/health"},
    "predict_get_ws1": {"method": "GET", "path": "/predict", "query": {"Ws1_avg": "10"}},
    "predict_get_bad": {"method": "GET", "path": "/predict", "query": {"Ws1_avg": "ten"}},
    "predict_post_seed": {"method": "POST", "path": "/predict", "body": {"records": [SEED]}},
    "predict_post_mixed": {
        "method": "POST",
        "path": "/predict",
        "body": {"records": [{"Ws_avg": 9.0, "P_avg": 1500}, {"Ws_avg": -3}, {"Ws1_avg": 12}]},
    },
    "openapi_get": {"method": "GET", "path": "/openapi.json"},
}


def sam_event(*arguments: str) -> dict[str, Any]:
    """``sam local generate-event ARGUMENTS``, parsed (SAM CLI from this venv, telemetry off)."""
    sam = Path(sys.executable).with_name("sam")
    out = subprocess.run(
        [str(sam), "local", "generate-event", *arguments],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    event: dict[str, Any] = json.loads(out.stdout)
    return event


def generate(
    name: str, method: str, path: str, query: dict[str, str] | None = None, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    text = json.dumps(body) if body is not None else ""
    event = sam_event("apigateway", "aws-proxy", "--method", method, "--path", path.lstrip("/"),
                      "--resource", path, "--body", text, "--stage", "dev")  # fmt: skip
    event["path"] = path
    event["body"] = text or None
    event["isBase64Encoded"] = False
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    event["pathParameters"] = None
    event["stageVariables"] = None
    if body is not None:
        event["headers"]["Content-Type"] = "application/json"
        event["multiValueHeaders"]["Content-Type"] = ["application/json"]
    event["requestContext"]["path"] = f"/dev{path}"
    event["requestContext"]["resourcePath"] = path
    event["requestContext"]["httpMethod"] = method
    event["requestContext"]["requestId"] = f"req-{name}"
    return event


def scheduled_event() -> dict[str, Any]:
    """`sam local generate-event cloudwatch scheduled-event` for the batch's rule (the local stack sends it)."""
    return sam_event("cloudwatch", "scheduled-event", "--region", "eu-west-3", "--rule", "windpitch-dev-BatchSchedule")


def worker_event() -> dict[str, Any]:
    """`sam local generate-event sqs receive-message` carrying `s3 put`'s notification of a raw file: what
    WorkerFunction receives when a file lands (the local event source mapping fills in each message)."""
    notification = sam_event("s3", "put", "--region", "eu-west-3", "--bucket", "windpitch-local",
                             "--key", "raw/2015-06-01.csv")  # fmt: skip
    # SAM pastes --body into its JSON unescaped: a JSON body goes in afterwards, with its MD5 as SQS computes it.
    event = sam_event("sqs", "receive-message", "--region", "eu-west-3", "--queue-name", "windpitch-units",
                      "--body", "BODY")  # fmt: skip
    body = json.dumps(notification)
    event["Records"][0]["body"] = body
    event["Records"][0]["md5OfBody"] = hashlib.md5(body.encode()).hexdigest()  # noqa: S324 - SQS's checksum
    return event


def main() -> None:
    batch = HERE / "batch"
    batch.mkdir(exist_ok=True)
    (batch / "scheduled.json").write_text(json.dumps(scheduled_event(), indent=1) + "\n")
    print("events/batch/scheduled.json")
    (HERE / "worker").mkdir(exist_ok=True)
    (HERE / "worker" / "s3_notification.json").write_text(json.dumps(worker_event(), indent=1) + "\n")
    print("events/worker/s3_notification.json")
    target = HERE / "api"
    target.mkdir(exist_ok=True)
    for name, request in REQUESTS.items():
        (target / f"{name}.json").write_text(json.dumps(generate(name, **request), indent=1) + "\n")
        print(f"events/api/{name}.json")


if __name__ == "__main__":
    main()
