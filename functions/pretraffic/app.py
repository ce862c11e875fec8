"""PreTrafficHookFunction: before CodeDeploy shifts traffic to a new PredictFunction version, that version must
serve this model and answer the model card's golden records as the card says (windpitch_api.canary).

Thin: the check is windpitch_api.canary; this shim wires it to Lambda's and CodeDeploy's APIs. boto3 comes with
the runtime; its clients are made once per execution environment.
"""

import functools
import json
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from windpitch import settings
from windpitch.artifacts import default_model_dir, read_card
from windpitch_api.canary import run_hook

logger = Logger(service=settings.SERVICE_NAME.read())


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    answer = client("lambda").invoke(FunctionName=settings.NEW_VERSION.read(), Payload=json.dumps(event).encode())
    payload: dict[str, Any] = json.loads(answer["Payload"].read() or b"{}")
    return payload


def report(deployment: str, execution: str, status: str) -> None:
    client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=deployment, lifecycleEventHookExecutionId=execution, status=status
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = run_hook(event, invoke, report, lambda: read_card(default_model_dir()))
    logger.info("pre-traffic check", extra={"outcome": outcome, "new_version": settings.NEW_VERSION.read()})
    return outcome
