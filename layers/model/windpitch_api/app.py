"""The REST resolver the API functions share: routes, CORS, the OpenAPI document, Swagger UI, errors.

Every error is JSON ``{"error": "...", "details": [{"field": "...", "reason": "..."}]}``: 400 for bad
input, 404/405 for unknown routes and methods, 413 over the size limits, 503 when the model cannot be
used, and 500 (with the request's correlation id, never a stack trace) for a fault of our own.
"""

from __future__ import annotations

import functools
import html
import json
from pathlib import Path
from typing import Any, Final

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router

import windpitch
from windpitch import ModelUnavailable, settings

from .document import for_farm
from .errors import ApiError, error
from .observability import logger, metrics
from .requests import proxy_event_problems

OPENAPI_FILE: Final = Path(__file__).resolve().parent / "openapi.json"


def resolve(app: APIGatewayRestResolver, event: Any, context: Any) -> dict[str, Any]:
    """``app.resolve(event, context)`` for an API Gateway proxy event; anything else gets a 400 naming the field.

    Example:
        >>> answer = resolve(create_app(), {"path": "/health"}, None)
        >>> answer["statusCode"], json.loads(answer["body"])["details"]
        (400, [{'field': 'httpMethod', 'reason': 'missing'}])
    """
    problems = proxy_event_problems(event)
    if not problems:
        return app.resolve(event, context)
    logger.warning("not an API Gateway proxy event", problems=problems)
    body = {"error": "not an API Gateway proxy event", "details": problems}
    return {"statusCode": 400, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body),
            "isBase64Encoded": False}  # fmt: skip


def create_app(*routers: Router, enable_validation: bool = False) -> APIGatewayRestResolver:
    """A resolver with the given routes, /openapi.json and /docs.

    ``enable_validation`` is for generating the OpenAPI document (:mod:`windpitch_api.openapi`); the
    functions run without it, because the domain judges every value and Powertools' validation costs
    ~0.3 s of cold start.
    """
    cors = CORSConfig(
        allow_origin=settings.ALLOWED_ORIGIN.read(),
        allow_headers=["Content-Type"],
        max_age=300,
    )
    app = APIGatewayRestResolver(cors=cors, enable_validation=enable_validation)
    for router in routers:
        app.include_router(router)

    # Routes that build a Response carry no return annotation: Powertools would try to model the type.
    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document():
        return Response(status_code=200, content_type="application/json", body=_openapi_text())

    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        # Swagger UI is 1.7 MB: served as static files beside the dashboard (docs.html), not by this function.
        target = settings.DOCS_URL.read()
        page = f'<!doctype html><title>windpitch API reference</title><p><a href="{html.escape(target)}">The API reference</a>; the document: <a href="openapi.json">openapi.json</a>.'  # noqa: E501
        return Response(status_code=302, content_type="text/html; charset=utf-8", body=page,
                        headers={"Location": target})  # fmt: skip

    @app.not_found
    def not_found(_exc: Exception) -> Response:
        event = app.current_event
        return error(
            404,
            f"no route {event.http_method} {event.path}",
            [{"field": "path", "reason": "see /openapi.json for the routes"}],
        )

    @app.exception_handler(ApiError)
    def api_error(exc: ApiError) -> Response:
        if exc.status < 500:
            metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
        return error(exc.status, exc.message, exc.details, exc.headers)

    @app.exception_handler(ModelUnavailable)
    def unavailable(exc: ModelUnavailable) -> Response:
        logger.error("model unavailable", reason=str(exc))
        return error(503, "model unavailable", [{"field": "model", "reason": str(exc)}])

    @app.exception_handler(Exception)
    def unexpected(_exc: Exception) -> Response:
        logger.exception("unexpected fault")
        return error(500, "internal error: the request could not be completed; quote the correlation id")

    return app


@functools.cache
def _openapi_text() -> str:
    """The built document fitted to the deployed model's farm (its limits and fleet); as built without a model."""
    try:
        document = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ApiError(503, "OpenAPI document unavailable", [{"field": "openapi.json", "reason": str(exc)}]) from None
    try:
        farm = windpitch.load_model().farm
    except ModelUnavailable:
        return json.dumps(document)  # /health and /predict say why; the document still describes the API
    return json.dumps(for_farm(document, farm))
