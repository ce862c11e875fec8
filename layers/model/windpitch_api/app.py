"""The REST resolver both API functions share: validation, OpenAPI, CORS, errors, observability.

Every error is JSON ``{"error": "...", "details": [{"field": "...", "reason": "..."}]}``: 400 for bad
input, 404/405 for unknown routes and methods, 413 over the size limits, 503 when the model cannot be
used, and 500 (with the request's correlation id, never a stack trace) for a fault of our own.
"""

from __future__ import annotations

import functools
import json
import os
from http import HTTPStatus
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import Server

from windpitch import ModelUnavailable, __version__

from .models import FIELD_SCHEMAS, MAX_RECORDS, ErrorResponse

SERVICE: Final = os.environ.get("POWERTOOLS_SERVICE_NAME", "windpitch")
ALLOWED_ORIGIN_ENV: Final = "WINDPITCH_ALLOWED_ORIGIN"
DEFAULT_ALLOWED_ORIGIN: Final = "http://127.0.0.1:8080"  # the local dashboard

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "windpitch"), service=SERVICE)
tracer = Tracer(service=SERVICE)

ERROR_RESPONSES: Final[dict[int | str, Any]] = {
    400: {
        "description": "Bad input: every problem names its field and reason",
        "content": {"application/json": {"model": ErrorResponse}},
    },
    503: {
        "description": "The model cannot be used (missing or failing its integrity check)",
        "content": {"application/json": {"model": ErrorResponse}},
    },
}


class ApiError(Exception):
    """Raised by a route to answer with the API's error shape (typed routes stay typed)."""

    def __init__(
        self,
        status: int,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.details, self.headers = status, message, details or [], headers


def error(
    status: int, message: str, details: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None
) -> Response:
    """A JSON error response in the API's one error shape."""
    body = ErrorResponse(error=message, details=details or [])  # type: ignore[arg-type]
    if status >= 500:
        body.correlation_id = logger.get_correlation_id()
    return Response(
        status_code=status,
        content_type="application/json",
        body=body.model_dump_json(exclude_none=True),
        headers=headers,
    )


def create_app(*routers: Router) -> APIGatewayRestResolver:
    """A resolver with the given routes, the OpenAPI document at /openapi.json and Swagger UI at /docs."""
    cors = CORSConfig(
        allow_origin=os.environ.get(ALLOWED_ORIGIN_ENV, DEFAULT_ALLOWED_ORIGIN),
        allow_headers=["Content-Type"],
        max_age=300,
    )
    app = APIGatewayRestResolver(cors=cors, enable_validation=True)
    for router in routers:
        app.include_router(router)
    info: dict[str, Any] = {
        "title": "windpitch API",
        "version": __version__,
        "description": "Expected blade pitch angle (Ba_avg, degrees) of a wind turbine from ten-minute SCADA "
        "signals: a normal-behaviour model. Measured minus expected pitch flags pitch-system faults.",
        "servers": [Server(url="/")],
    }
    app.configure_openapi(**info)
    app.enable_swagger(path="/docs", **info)

    @app.get("/openapi.json", include_in_schema=False)
    # No return annotation on routes that build a Response: Powertools would try to model the type.
    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document():
        return Response(status_code=200, content_type="application/json", body=openapi_json(app))

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

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response:
        metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
        problems = exc.errors()
        if app.current_event.http_method == "POST" and not any(p.get("type") == "json_invalid" for p in problems):
            body = app.current_event.json_body
            if not isinstance(body, dict):  # pydantic would report the list's first item's fields instead
                return error(
                    400, "invalid request", [{"field": "body", "reason": _reason("model_attributes_type", "")}]
                )
        return validation_error(problems)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_type(_exc: RequestUnsupportedContentType) -> Response:
        metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
        sent = app.current_event.headers.get("Content-Type") or app.current_event.headers.get("content-type")
        return error(
            400,
            "unsupported content type",
            [{"field": "Content-Type", "reason": f"got {sent!r}; send application/json"}],
        )

    @app.exception_handler(RecursionError)
    def too_deep(_exc: RecursionError) -> Response:
        metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
        return error(400, "invalid JSON body", [{"field": "body", "reason": "nested too deeply"}])

    @app.exception_handler(ModelUnavailable)
    def unavailable(exc: ModelUnavailable) -> Response:
        logger.error("model unavailable", reason=str(exc))
        return error(503, "model unavailable", [{"field": "model", "reason": str(exc)}])

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        logger.exception("unexpected fault")
        return error(500, "internal error: the request could not be completed; quote the correlation id")

    return app


@functools.cache
def openapi_json(app: APIGatewayRestResolver) -> str:
    """Powertools' OpenAPI document, with each query parameter described from the SCADA schema.

    Query values are strings on the wire and are judged by the domain, so Powertools documents them
    as strings; clients need to know they are numbers with units and ranges.
    """
    document = json.loads(app.get_openapi_json_schema())
    for operation in document.get("paths", {}).get("/predict", {}).values():
        for parameter in operation.get("parameters", []):
            schema = FIELD_SCHEMAS.get(parameter.get("name"))
            if parameter.get("in") == "query" and schema:
                parameter["schema"] = {k: v for k, v in schema.items() if k != "description"}
                parameter["description"] = schema["description"]
    return json.dumps(document)


def method_not_allowed(router: Router, path: str, allowed: list[str]) -> None:
    """Answer 405 (with Allow) for the methods a path does not take, instead of a bare 404."""
    others = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD") if m not in allowed]

    @router.route(path, method=others, include_in_schema=False)
    def _not_allowed() -> None:
        method = router.current_event.http_method
        raise ApiError(
            405,
            f"method {method} not allowed on {path}",
            [{"field": "method", "reason": f"{path} accepts {', '.join(allowed)}"}],
            headers={"Allow": ", ".join(allowed)},
        )


def validation_error(problems: Any) -> Response:
    """Map pydantic's validation errors to the API's error shape (and 413 over the record limit)."""
    details = []
    for problem in problems:
        loc = [str(part) for part in problem.get("loc", ())]
        kind = problem.get("type", "")
        if kind == "json_invalid":
            ctx = problem.get("ctx") or {}
            return error(
                400, "invalid JSON body", [{"field": "body", "reason": f"invalid JSON: {ctx.get('error', '')}"}]
            )
        if kind == "unsupported_content_type":
            return error(
                400,
                "unsupported content type",
                [{"field": "Content-Type", "reason": f"{problem.get('msg')}; send application/json"}],
            )
        if loc[:2] == ["body", "records"] and kind == "too_long":
            return error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"too many records: at most {MAX_RECORDS:,} per request",
                [{"field": "records", "reason": f"at most {MAX_RECORDS} records per request"}],
            )
        details.append({"field": _field_name(loc), "reason": _reason(kind, problem.get("msg", ""))})
    return error(400, "invalid request", details)


def _field_name(loc: list[str]) -> str:
    parts = loc[1:] if loc and loc[0] in {"body", "query", "path", "header"} else loc
    if not parts:
        return "body"
    name = parts[0]
    for part in parts[1:]:
        name += f"[{part}]" if part.isdigit() else f".{part}"
    return name


def _reason(kind: str, message: str) -> str:
    return {
        "missing": "required",
        "extra_forbidden": "unknown field",
        "dict_type": "must be an object",
        "model_attributes_type": 'must be a JSON object: {"records": [...]}',
        "list_type": "must be an array",
        "too_short": "must hold at least one record",
    }.get(kind, message)
