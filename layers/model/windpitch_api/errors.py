"""The API's one error shape, ``{"error": "...", "details": [{"field": "...", "reason": "..."}]}``."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response

from windpitch.errors import FieldError, listed

from .observability import logger


class ApiError(Exception):
    """Raised anywhere while handling a request; the resolver answers with :func:`error`."""

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
    """A JSON error response; 5xx carry the request's correlation id (and never a stack trace)."""
    # Bounded as a record's errors are (windpitch.errors.listed), whatever the request: 8,000 unknown query fields
    # answered 375 KB of details.
    shown = listed([FieldError(str(d.get("field", "")), str(d.get("reason", ""))) for d in details or []])
    body: dict[str, object] = {"error": message, "details": [e.as_dict() for e in shown]}
    if status >= 500:
        body["correlation_id"] = logger.get_correlation_id()
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers)
