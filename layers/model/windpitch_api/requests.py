"""Read a request's records from the API Gateway event, refusing malformed envelopes with a reason.

Field values are judged by the domain (:func:`windpitch.records.parse_record`); this module only checks
the envelope: the JSON itself, its size, ``{"records": [...]}`` with 1 to 10,000 objects.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from windpitch.records import Repeated, object_pairs

from .errors import ApiError
from .limits import MAX_BODY_BYTES, MAX_RECORDS

ENVELOPE = 'must be a JSON object: {"records": [...]}'


def query_record(event: APIGatewayProxyEvent) -> dict[str, Any]:
    """The query string as one record; a field given twice is :class:`Repeated`, which the domain refuses
    as it refuses a JSON key given twice (which value would be meant?)."""
    values = event.multi_value_query_string_parameters or {}
    return {k: v[0] if len(v) == 1 else Repeated(tuple(v)) for k, v in values.items() if v}


def body_records(event: APIGatewayProxyEvent) -> list[Any]:
    """The ``records`` of a POST body; each is judged by the domain on its own (a non-object included)."""
    content_type = event.headers.get("Content-Type") or event.headers.get("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError(
            400,
            "unsupported content type",
            [{"field": "Content-Type", "reason": f"got {content_type!r}; send application/json"}],
        )
    try:
        raw = event.decoded_body or ""
    except (UnicodeDecodeError, binascii.Error):  # a base64 body (binary media type) that is not UTF-8 JSON
        raise ApiError(400, "invalid body", [{"field": "body", "reason": "not UTF-8 text"}]) from None
    size = len(raw.encode())
    if size > MAX_BODY_BYTES:
        raise ApiError(
            413, f"body too large: at most {MAX_BODY_BYTES:,} bytes", [{"field": "body", "reason": f"{size:,} bytes"}]
        )
    try:
        body = json.loads(raw, object_pairs_hook=object_pairs)  # a key given twice is refused, not dropped
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid JSON body", [{"field": "body", "reason": f"invalid JSON: {exc.msg} at position {exc.pos}"}]
        ) from None
    except RecursionError:
        raise ApiError(400, "invalid JSON body", [{"field": "body", "reason": "nested too deeply"}]) from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid request", [{"field": "body", "reason": ENVELOPE}])
    repeated = [{"field": str(k)[:64], "reason": "given more than once"} for k, v in body.items()
                if isinstance(v, Repeated)]  # fmt: skip
    if repeated:
        raise ApiError(400, "invalid request", repeated)
    unknown = [{"field": str(k)[:64], "reason": "unknown field"} for k in body if k != "records"]
    if "records" not in body:
        raise ApiError(400, "invalid request", [{"field": "records", "reason": "required"}, *unknown])
    if unknown:
        raise ApiError(400, "invalid request", unknown)
    records = body["records"]
    if not isinstance(records, list):
        raise ApiError(400, "invalid request", [{"field": "records", "reason": "must be an array"}])
    if not records:
        raise ApiError(400, "invalid request", [{"field": "records", "reason": "must hold at least one record"}])
    if len(records) > MAX_RECORDS:
        raise ApiError(
            413,
            f"too many records: at most {MAX_RECORDS:,} per request",
            [{"field": "records", "reason": f"{len(records):,} records; at most {MAX_RECORDS} per request"}],
        )
    return records


# What the resolver reads of a proxy event, and the JSON types it expects there (None: absent, as API Gateway
# sends for a request without query string, headers or body).
PROXY_FIELDS: dict[str, tuple[type, ...]] = {
    "httpMethod": (str,),
    "path": (str,),
    "headers": (dict, type(None)),
    "multiValueHeaders": (dict, type(None)),
    "queryStringParameters": (dict, type(None)),
    "multiValueQueryStringParameters": (dict, type(None)),
    "body": (str, type(None)),
    "isBase64Encoded": (bool, type(None)),
    "requestContext": (dict, type(None)),
}
REQUIRED_PROXY_FIELDS = ("httpMethod", "path")


def proxy_event_problems(event: object) -> list[dict[str, str]]:
    """Why ``event`` is not an API Gateway REST proxy event, field by field; empty when it is one.

    API Gateway always sends one. A function invoked directly (``sam local invoke`` with another event, a
    console test, a wrong integration) must get a 400 naming the field, not a KeyError from the resolver.

    Example:
        >>> proxy_event_problems({"httpMethod": "GET", "path": "/health", "headers": None})
        []
        >>> for problem in proxy_event_problems({"httpMethod": "GET", "headers": "x"}):
        ...     print(problem)
        {'field': 'path', 'reason': 'missing'}
        {'field': 'headers', 'reason': 'must be an object or null, not a string'}
        >>> proxy_event_problems(["GET"])
        [{'field': 'event', 'reason': 'must be an API Gateway proxy event (a JSON object), not an array'}]
    """
    if not isinstance(event, dict):
        return [{"field": "event", "reason": f"must be an API Gateway proxy event (a JSON object), not {_kind(event)}"}]
    problems = [{"field": name, "reason": "missing"} for name in REQUIRED_PROXY_FIELDS if name not in event]
    for name, types in PROXY_FIELDS.items():
        if name in event and not isinstance(event[name], types):
            wanted = " or ".join(JSON_KINDS[t] for t in types)
            problems.append({"field": name, "reason": f"must be {wanted}, not {_kind(event[name])}"})
    return problems


# A decoded JSON value's type, in words: what a field must be, and what it was.
JSON_KINDS = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string",
              list: "an array", dict: "an object"}  # fmt: skip


def _kind(value: object) -> str:
    """The JSON kind of a decoded value, in words."""
    return JSON_KINDS.get(type(value), "an object")
