"""The canary's PreTraffic hook: the new version of the predict function must serve this model, and answer the
model card's golden records as the card says, before CodeDeploy shifts any traffic to it.

CodeDeploy invokes the hook with a deployment id and a lifecycle execution id; the hook invokes the new
version (``NEW_VERSION``, the function's version ARN) with ``GET /health`` and ``POST /predict`` as API Gateway
would, compares, and reports ``Succeeded`` or ``Failed`` back. A failed hook stops the deployment and the alias
stays on the old version (SAM's DeploymentPreference, template.yaml).

Example:
    >>> problems = check({"status": 200, "body": {"model": {"version": "v2"}}},
    ...                  {"status": 200, "body": {"results": [{"ok": True, "pitch_deg": 1.0}]}},
    ...                  {"version": "v1", "golden": {"expected_pitch_deg": [1.0], "tolerance_deg": 1e-6}})
    >>> problems
    ["the new version serves model 'v2', the model card says 'v1'"]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from windpitch.golden import departures

Invoke = Callable[[dict[str, Any]], dict[str, Any]]  # an API Gateway proxy event -> the function's response


def proxy_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    """A minimal API Gateway REST proxy event, as the stage would send it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "User-Agent": "windpitch-canary"},
        "multiValueHeaders": {"Content-Type": ["application/json"], "User-Agent": ["windpitch-canary"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "windpitch-canary", "stage": "canary", "httpMethod": method, "path": path},
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def ask(invoke: Invoke, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke and decode: ``{"status": int, "body": dict}`` (a body that is not JSON becomes ``{}``)."""
    response = invoke(event)
    try:
        body = json.loads(response.get("body") or "{}")
    except ValueError:
        body = {}
    return {"status": int(response.get("statusCode", 0)), "body": body if isinstance(body, dict) else {}}


def check(health: dict[str, Any], golden: dict[str, Any], card: dict[str, Any]) -> list[str]:
    """What is wrong with the new version's answers, given the model card it must serve ([] when nothing)."""
    problems = []
    if health["status"] != 200:
        problems.append(f"GET /health answered {health['status']}: {health['body'].get('error', '')}".strip())
    served = health["body"].get("model", {}).get("version")
    if health["status"] == 200 and served != card.get("version"):
        problems.append(f"the new version serves model {served!r}, the model card says {card.get('version')!r}")
    if golden["status"] != 200:
        problems.append(f"POST /predict of the golden records answered {golden['status']}")
    else:
        results = golden["body"].get("results", [])
        answers = [r.get("pitch_deg") if r.get("ok") else None for r in results]
        problems += departures(card.get("golden", {}), answers)
    return problems


def run_hook(
    event: dict[str, Any],
    invoke: Invoke,
    report: Callable[[str, str, str], None],
    read_card: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Check the new version and report to CodeDeploy; returns what was found (also logged by the handler).

    Anything that stops the check itself (the card unreadable, the invoke refused or failing) is reported as
    ``Failed`` with its reason: a hook that reported nothing would leave the deployment hanging until CodeDeploy's
    timeout. Only an event without CodeDeploy's ids, or the report itself failing, leaves nothing to report to.

    Example:
        >>> reported = []
        >>> def refused(_event):
        ...     raise PermissionError("not authorized to invoke the new version")
        >>> run_hook({"DeploymentId": "d", "LifecycleEventHookExecutionId": "h"}, refused,
        ...          lambda *args: reported.append(args), lambda: {"version": "v1", "golden": {"records": [{}]}})
        ... # doctest: +ELLIPSIS
        {'status': 'Failed', 'problems': ['the hook could not check the new version: PermissionError: not ...'], ...}
        >>> reported
        [('d', 'h', 'Failed')]
    """
    deployment, execution = event["DeploymentId"], event["LifecycleEventHookExecutionId"]
    card: dict[str, Any] = {}
    try:
        card = read_card()
        problems = _problems(invoke, card)
    except Exception as exc:  # any failure of the check is the deployment's failure, and is reported
        problems = [f"the hook could not check the new version: {type(exc).__name__}: {exc}"]
    status = "Failed" if problems else "Succeeded"
    report(deployment, execution, status)
    return {"status": status, "problems": problems, "model_version": card.get("version")}


def _problems(invoke: Invoke, card: dict[str, Any]) -> list[str]:
    golden = card.get("golden")
    if not isinstance(golden, dict) or not golden.get("records"):
        return ["the model card has no golden records: it fails its checks"]
    health = ask(invoke, proxy_event("GET", "/health"))
    answers = ask(invoke, proxy_event("POST", "/predict", {"records": golden["records"]}))
    return check(health, answers, card)
