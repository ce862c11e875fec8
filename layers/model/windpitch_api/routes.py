"""The API's routes: thin adapters from HTTP to :mod:`windpitch` (parse, call the domain, shape).

Parameters and return types are annotated for the OpenAPI document (generated at build time by
:mod:`windpitch_api.openapi`); at run time the routes read the event themselves and return plain dicts,
so no pydantic model is built per request (10,000 results stay fast, and cold start stays small).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Annotated, Any, Final, cast

from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

import windpitch
from windpitch.predict import Prediction, bounded

from .encoding import encode_response
from .errors import ApiError
from .observability import metrics
from .requests import body_records, query_record

if TYPE_CHECKING:
    # Documentation only: importing these costs ~0.3 s of cold start (pydantic, Powertools' OpenAPI
    # models); the document generator (openapi.py) binds them before reading the annotations.
    from aws_lambda_powertools.event_handler.openapi.params import Body, Query
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

    from .models import PredictQuery, PredictRequest

# The health check runs a prediction end to end, not just a file read.
_CANARY: Final = {"Ws1_avg": 10.0}

# Response schemas are attached by the document generator (openapi.py): naming the models here would load them.
_400: Final[OpenAPIResponse] = {"description": "Bad input: every problem names its field and reason"}
_413: Final[OpenAPIResponse] = {"description": "Too many records or too large a body"}
_503: Final[OpenAPIResponse] = {"description": "The model cannot be used (missing or failing its integrity check)"}

health = Router()
predict = Router()


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


method_not_allowed(health, "/health", ["GET"])
method_not_allowed(predict, "/predict", ["GET", "POST"])


@health.get(
    "/health",
    summary="Is the model loaded, verified and answering?",
    responses={200: {"description": "The model loads, passes its integrity check and predicts"}, 503: _503},
    tags=["health"],
)
def get_health() -> dict[str, Any]:  # documented as models.HealthResponse
    model = windpitch.load_model()  # ModelUnavailable → 503 with the reason
    [canary] = windpitch.predict(_CANARY, model)
    if not (isinstance(canary, Prediction) and math.isfinite(canary.pitch_deg)):
        raise windpitch.ModelUnavailable(f"the model loads but its canary prediction failed: {canary.as_dict()}")
    metrics.add_metric(name="HealthChecks", unit="Count", value=1)
    return {"status": "ok", "model": model.info.as_dict()}


@predict.get(
    "/predict",
    summary="Expected pitch for one record given as query parameters",
    description="Any schema field is a query parameter, e.g. `?Ws1_avg=10&P_avg=1500`. Fields left out take the "
    "model's training defaults (power from its power curve) and are listed under `imputed`.",
    responses={200: {"description": "The expected pitch"}, 400: _400, 503: _503},
    tags=["predict"],
)
def get_predict(query: Annotated[PredictQuery, Query()] = None) -> dict[str, Any]:
    record = query_record(cast(APIGatewayProxyEvent, predict.current_event))
    started = time.perf_counter()
    model = windpitch.load_model()
    [result] = windpitch.predict(record, model)
    _count(started, [result], model)
    if not result.ok:
        raise ApiError(400, "invalid record", result.as_dict()["errors"])
    return {"index": 0, **result.as_dict()}


@predict.post(
    "/predict",
    summary="Expected pitch for 1 to 10,000 records",
    description="Each record is scored or rejected on its own: one bad record never costs the others. "
    "Over 10,000 records, or a body over 6 MB: 413.",
    responses={200: {"description": "One result per record, in order"}, 400: _400, 413: _413, 503: _503},
    tags=["predict"],
)
def post_predict(body: Annotated[PredictRequest, Body()] = None) -> dict[str, Any]:  # type: ignore[assignment]
    records = body_records(cast(APIGatewayProxyEvent, predict.current_event))
    started = time.perf_counter()
    model = windpitch.load_model()
    results = windpitch.predict(records, model)
    _count(started, results, model)
    results = bounded(results)  # the answer's size bounded whatever the request's mistakes
    # Encoded here, record by record from shared pieces: the bytes Powertools would write for the response as a
    # dict (windpitch_api.encoding; tested byte for byte), 1.6 → 0.6 ms for 1,000 records. Typed as the dict
    # it encodes, for the OpenAPI document.
    text = encode_response(results, model.info.version)
    return Response(status_code=200, content_type="application/json", body=text)  # type: ignore[return-value]


def _count(started: float, results: list[windpitch.Result], model: windpitch.PitchModel) -> int:
    """The request's metrics; returns how many records were scored. Predictions outside the pitch range seen
    in training feed the canary's model alarm (PredictionsOutOfRangeAlarm)."""
    pitches = [r.pitch_deg for r in results if isinstance(r, Prediction)]
    low, high = model.pitch_range
    metrics.add_metric(name="Predictions", unit="Count", value=len(pitches))
    if len(pitches) < len(results):
        metrics.add_metric(name="RejectedRecords", unit="Count", value=len(results) - len(pitches))
    outside = sum(1 for p in pitches if not low <= p <= high)
    if outside:
        metrics.add_metric(name="PredictionsOutOfTrainingRange", unit="Count", value=outside)
    metrics.add_metric(name="PredictLatency", unit="Milliseconds", value=(time.perf_counter() - started) * 1000)
    return len(pitches)
