"""The canary's PreTraffic hook, with CodeDeploy's lifecycle call faked by botocore's Stubber (moto lacks it) and
the new version answered by the real predict handler in-process: a good version passes, a wrong model fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.conftest import LambdaContext
from windpitch.artifacts import read_card
from windpitch_api.canary import run_hook

pytestmark = pytest.mark.usefixtures("use_synthetic_model")
EVENT = {"DeploymentId": "d-ABC123", "LifecycleEventHookExecutionId": "hook-1"}


def codedeploy_expecting(status: str) -> tuple[Any, Stubber]:
    client = boto3.client("codedeploy", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-1"},
        {"deploymentId": "d-ABC123", "lifecycleEventHookExecutionId": "hook-1", "status": status},
    )
    stub.activate()
    return client, stub


def report_with(client: Any) -> Any:
    def report(deployment: str, execution: str, status: str) -> None:
        client.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment, lifecycleEventHookExecutionId=execution, status=status
        )

    return report


def new_version(functions: dict[str, Any]) -> Any:
    """The predict function's handler, as Lambda would run the new version for the hook's invocation."""
    return lambda event: functions["predict"].lambda_handler(json.loads(json.dumps(event)), LambdaContext())


def test_a_version_serving_this_model_and_answering_its_golden_records_passes(
    functions: dict[str, Any], use_synthetic_model: Path
) -> None:
    card = read_card(use_synthetic_model)
    assert len(card["golden"]["records"]) >= 12, "held-out rows across the power bands"
    client, stub = codedeploy_expecting("Succeeded")
    outcome = run_hook(EVENT, new_version(functions), report_with(client), lambda: card)
    assert outcome == {"status": "Succeeded", "problems": [], "model_version": card["version"]}
    stub.assert_no_pending_responses()


def test_a_version_serving_another_model_fails_the_deployment(
    functions: dict[str, Any], use_synthetic_model: Path
) -> None:
    """The hook's card (the stack's new model) says one version; the function serves another, whose answers differ."""
    card = read_card(use_synthetic_model)
    expected = card["golden"]["expected_pitch_deg"]
    other = {
        **card,
        "version": "2099.01.01+deadbeef",
        "golden": {**card["golden"], "expected_pitch_deg": [p + 0.5 for p in expected]},
    }
    client, stub = codedeploy_expecting("Failed")
    outcome = run_hook(EVENT, new_version(functions), report_with(client), lambda: other)
    assert outcome["status"] == "Failed"
    assert (
        outcome["problems"][0]
        == f"the new version serves model {card['version']!r}, the model card says '2099.01.01+deadbeef'"
    )
    assert len(outcome["problems"]) == 1 + len(expected), "every golden answer departs by 0.5°"
    stub.assert_no_pending_responses()


def test_a_card_without_golden_records_fails_without_asking_the_version() -> None:
    client, stub = codedeploy_expecting("Failed")

    def never(_: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("the version must not be invoked")

    outcome = run_hook(EVENT, never, report_with(client), lambda: {"version": "v1"})
    assert outcome["problems"] == ["the model card has no golden records: it fails its checks"]
    stub.assert_no_pending_responses()


def test_a_version_that_cannot_load_its_model_fails(functions: dict[str, Any], use_synthetic_model: Path) -> None:
    card = read_card(use_synthetic_model)
    client, stub = codedeploy_expecting("Failed")

    def broken(event: dict[str, Any]) -> dict[str, Any]:
        return {"statusCode": 503, "body": json.dumps({"error": "model unavailable", "details": []})}

    outcome = run_hook(EVENT, broken, report_with(client), lambda: card)
    assert outcome["problems"][:2] == [
        "GET /health answered 503: model unavailable",
        "POST /predict of the golden records answered 503",
    ]
    stub.assert_no_pending_responses()


def test_a_refused_invoke_is_reported_failed_not_left_hanging(use_synthetic_model: Path) -> None:
    """The hook's own failure (here Lambda refusing the invoke) is reported Failed with its reason."""
    from botocore.exceptions import ClientError

    card = read_card(use_synthetic_model)
    client, stub = codedeploy_expecting("Failed")

    def refused(_: dict[str, Any]) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "Invoke")

    outcome = run_hook(EVENT, refused, report_with(client), lambda: card)
    assert outcome["status"] == "Failed"
    assert outcome["problems"] == [
        "the hook could not check the new version: ClientError: An error occurred (AccessDeniedException) when "
        "calling the Invoke operation: not authorized"
    ]
    stub.assert_no_pending_responses()


def test_an_unreadable_model_card_is_reported_failed(tmp_path: Path) -> None:
    from windpitch.errors import ModelUnavailable

    client, stub = codedeploy_expecting("Failed")

    def unreadable() -> dict[str, Any]:
        return read_card(tmp_path)  # no card there

    outcome = run_hook(EVENT, lambda _: {}, report_with(client), unreadable)
    assert outcome["status"] == "Failed" and outcome["model_version"] is None
    assert outcome["problems"][0].startswith("the hook could not check the new version: ")
    with pytest.raises((ModelUnavailable, OSError, ValueError)):
        unreadable()
    stub.assert_no_pending_responses()
