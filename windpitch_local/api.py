"""The local API: SAM's API Gateway emulation on the template, with handlers run in-process.

    python -m windpitch_local api [--host 127.0.0.1] [--port 3000] [--parameter-overrides K=V ...]

Serves the routes of ``template.yaml`` exactly as ``sam local start-api`` would (same routing, CORS and
proxy events), without Docker. The layers come from :func:`local_build` (``make build-local``: the same layers
built for this interpreter, which need not be the runtime's python3.13) as /opt/python, else from their source
folders.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from flask import Response, request
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.yamlhelper import yaml_parse

from windpitch_deploy.layers import this_host

from .runner import InProcessLambdaRunner

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_BUILD = ROOT / ".aws-sam" / "build"  # make build: what Lambda and `sam local` run (python3.13)


def local_build() -> Path:
    """``make build-local``'s output for this interpreter: the layers built for its Python and processor."""
    python, arch = this_host()
    return ROOT / ".aws-sam" / "local" / f"{python}-{arch}" / "build"


DEFAULT_PORT = 3000  # SAM's
DASHBOARD_ORIGIN = "http://127.0.0.1:8080"  # windpitch_local.stack's dashboard


def build_service(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    template: Path = ROOT / "template.yaml",
    parameter_overrides: dict[str, str] | None = None,
    build_dir: Path | None = None,
    overrides: dict[str, dict[str, str]] | None = None,
) -> tuple[LocalApigwService, InProcessLambdaRunner]:
    os.environ.setdefault("SAM_CLI_TELEMETRY", "0")
    parameters = dict(parameter_overrides or {})
    # Deployed, the API allows the dashboard's CloudFront origin; locally, the local dashboard's.
    parameters.setdefault("AllowedOrigin", DASHBOARD_ORIGIN)
    # SAM CLI ignores resource Conditions locally (the client API's function would take /predict over):
    # leave out what the template would not deploy with these parameters.
    document = yaml_parse(template.read_text())
    for name in absent_resources(document, parameters):
        del document["Resources"][name]
    # Given a dictionary (not the file), SAM reads paths relative to the working directory; the runner and
    # the API provider below resolve them against the template's folder.
    stacks, _ = SamLocalStackProvider.get_stacks(parameter_overrides=parameters, template_dictionary=document)
    functions = SamFunctionProvider(stacks, use_raw_codeuri=True)
    runner = InProcessLambdaRunner(functions.get_all(), template.parent, build_dir or local_build(), overrides)
    api = ApiProvider(stacks, cwd=str(template.parent)).api
    if not api.routes:
        raise SystemExit(f"no API routes in {template}")
    service = LocalApigwService(api=api, lambda_runner=runner, port=port, host=host)
    service.create()
    service._app.before_request(_refuse_undecodable_body)
    return service, runner


def absent_resources(template: dict[str, Any], parameters: dict[str, str]) -> set[str]:
    """Resources whose ``Condition`` is false for these parameter values (defaults for the others).

    Understands what this template's conditions use: ``Fn::Equals`` of a parameter and a literal, and
    ``Fn::And``/``Fn::Or``/``Fn::Not``/``Condition`` over those.

    Example:
        >>> on = {"Fn::Equals": [{"Ref": "On"}, "true"]}
        >>> t = {"Parameters": {"On": {"Default": "false"}}, "Conditions": {"C": on},
        ...      "Resources": {"X": {"Condition": "C"}, "Y": {}}}
        >>> absent_resources(t, {}), absent_resources(t, {"On": "true"})
        ({'X'}, set())
    """
    values = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    values.update(parameters)
    conditions = template.get("Conditions", {})

    def holds(expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            [(function, arguments)] = expression.items()
            if function == "Fn::Equals":
                left, right = (values.get(a["Ref"], "") if isinstance(a, dict) else str(a) for a in arguments)
                return bool(left == right)
            if function == "Fn::And":
                return all(holds(a) for a in arguments)
            if function == "Fn::Or":
                return any(holds(a) for a in arguments)
            if function == "Fn::Not":
                return not holds(arguments[0])
            if function == "Condition":
                return holds(conditions[arguments])
        raise ValueError(f"cannot evaluate the condition {expression!r} locally")

    return {
        name
        for name, resource in template.get("Resources", {}).items()
        if "Condition" in resource and not holds(conditions[resource["Condition"]])
    }


def deployed_template(build_dir: Path, parameters: dict[str, str] | None = None) -> Path:
    """The built template as CloudFormation would deploy it with these parameters: without the resources whose
    conditions are false, which SAM CLI would otherwise emulate too (it ignores ``Condition``: the optional
    client API's function would take ``/predict`` over). Written beside the built one, so paths resolve;
    ``sam local invoke/start-api --template`` reads it.
    """
    from samcli.yamlhelper import yaml_dump  # noqa: PLC0415 - only for sam local

    document = yaml_parse((build_dir / "template.yaml").read_text())
    for name in absent_resources(document, dict(parameters or {})):
        del document["Resources"][name]
    document["Outputs"] = {
        k: v for k, v in document.get("Outputs", {}).items() if v.get("Condition") not in _false(document, parameters)
    }
    target = build_dir / "template.deployed.yaml"
    target.write_text(yaml_dump(document))
    return target


def _false(document: dict[str, Any], parameters: dict[str, str] | None) -> set[str]:
    """The conditions that are false for these parameters."""
    probe = {"Conditions": document.get("Conditions", {}), "Parameters": document.get("Parameters", {}),
             "Resources": {f"_{c}": {"Condition": c} for c in document.get("Conditions", {})}}  # fmt: skip
    return {name[1:] for name in absent_resources(probe, dict(parameters or {}))}


def _refuse_undecodable_body() -> Response | None:
    """A body that is not UTF-8 gets the API's JSON 400, as the handler words it for a base64 body.

    SAM's emulator decodes every body as UTF-8 before building the proxy event and answers 502 when it
    cannot (found by the fuzzing in tests/integration/test_api_fuzz.py); the API must never 5xx on input.
    """
    try:
        request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        body = {"error": "invalid body", "details": [{"field": "body", "reason": "not UTF-8 text"}]}
        return Response(json.dumps(body), status=400, mimetype="application/json")
    return None


def serve(host: str, port: int, parameter_overrides: dict[str, str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    service, runner = build_service(host, port, parameter_overrides=parameter_overrides)
    for function in runner.functions.values():  # import now: a broken handler fails at start, not per request
        runner.handler(function)
    origin = runner.check_layers()
    print(f"windpitch local API on http://{host}:{port}  (windpitch from {origin.parent})", flush=True)
    for route in sorted(service.api.routes, key=lambda r: r.path):
        print(
            f"  {','.join(sorted(route.methods)):40s} http://{host}:{port}{route.path} -> {route.function_name}",
            flush=True,
        )
    service.run()
