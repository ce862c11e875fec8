"""The local API: SAM's API Gateway emulation on the template, with handlers run in-process.

    python -m windpitch_local api [--host 127.0.0.1] [--port 3000] [--parameter-overrides K=V ...]

Serves the routes of ``template.yaml`` exactly as ``sam local start-api`` would (same routing, CORS and
proxy events), without Docker. The layers come from ``.aws-sam/build`` when ``sam build`` has run
(as /opt/python), else from their source folders.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from flask import Response, request
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.local.apigw.local_apigw_service import LocalApigwService

from .runner import InProcessLambdaRunner

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 3000  # SAM's
DASHBOARD_ORIGIN = "http://127.0.0.1:8080"  # windpitch_local.stack's dashboard


def build_service(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    template: Path = ROOT / "template.yaml",
    parameter_overrides: dict[str, str] | None = None,
    build_dir: Path | None = ROOT / ".aws-sam" / "build",
    overrides: dict[str, dict[str, str]] | None = None,
) -> tuple[LocalApigwService, InProcessLambdaRunner]:
    os.environ.setdefault("SAM_CLI_TELEMETRY", "0")
    parameters = dict(parameter_overrides or {})
    # Deployed, the API allows the dashboard's CloudFront origin; locally, the local dashboard's.
    parameters.setdefault("AllowedOrigin", DASHBOARD_ORIGIN)
    stacks, _ = SamLocalStackProvider.get_stacks(str(template), parameter_overrides=parameters)
    functions = SamFunctionProvider(stacks, use_raw_codeuri=True)
    runner = InProcessLambdaRunner(functions.get_all(), template.parent, build_dir, overrides)
    api = ApiProvider(stacks, cwd=str(template.parent)).api
    if not api.routes:
        raise SystemExit(f"no API routes in {template}")
    service = LocalApigwService(api=api, lambda_runner=runner, port=port, host=host)
    service.create()
    service._app.before_request(_refuse_undecodable_body)
    return service, runner


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
