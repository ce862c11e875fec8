"""The API's routes: thin adapters from HTTP to :mod:`windpitch` (parse, call the domain, shape)."""

from __future__ import annotations

import math
import time
from typing import Annotated, Final

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

import windpitch
from windpitch.predict import Prediction

from .app import ERROR_RESPONSES, ApiError, method_not_allowed, metrics
from .models import (
    MAX_BODY_BYTES,
    HealthResponse,
    ModelSummary,
    PredictionResult,
    PredictQuery,
    PredictRequest,
    PredictResponse,
)

# The health check runs the seed's example request end to end, not just a file read.
_CANARY: Final = {"Ws1_avg": 10.0, "P_avg": 1500.0}

health = Router()
predict = Router()
method_not_allowed(health, "/health", ["GET"])
method_not_allowed(predict, "/predict", ["GET", "POST"])


@health.get(
    "/health",
    summary="Is the model loaded and answering?",
    responses={
        200: {"description": "The model loads, passes its integrity check and predicts"},
        503: ERROR_RESPONSES[503],
    },
    tags=["health"],
)
def get_health() -> HealthResponse:
    model = windpitch.load_model()  # ModelUnavailable → 503 with the reason
    [canary] = windpitch.predict(_CANARY, model)
    if not (isinstance(canary, Prediction) and math.isfinite(canary.pitch_deg)):
        raise windpitch.ModelUnavailable(f"the model loads but its canary prediction failed: {canary.as_dict()}")
    return HealthResponse(status="ok", model=ModelSummary(**model.info.as_dict()))


@predict.get(
    "/predict",
    summary="Expected pitch for one record given as query parameters",
    description="Any schema field is a query parameter, e.g. `?Ws1_avg=10&P_avg=1500`. Fields left out take the "
    "model's training defaults and are listed under `imputed`.",
    responses={200: {"description": "The expected pitch"}, 400: ERROR_RESPONSES[400], 503: ERROR_RESPONSES[503]},
    tags=["predict"],
)
def get_predict(query: Annotated[PredictQuery, Query()]) -> PredictionResult:
    event = predict.current_event
    values = event.multi_value_query_string_parameters or {}
    repeated = [{"field": k, "reason": "given more than once"} for k, v in values.items() if len(v) > 1]
    if repeated:
        raise ApiError(400, "invalid record", repeated)
    record = {k: v[0] for k, v in values.items()}
    started = time.perf_counter()
    [result] = windpitch.predict(record)
    _record_metrics(started, 1 if result.ok else 0, 0 if result.ok else 1)
    if not result.ok:
        raise ApiError(400, "invalid record", result.as_dict()["errors"])
    return PredictionResult(index=0, **result.as_dict())


@predict.post(
    "/predict",
    summary="Expected pitch for 1 to 10,000 records",
    description="Each record is scored or rejected on its own: one bad record never costs the others. "
    "Over 10,000 records, or a body over 6 MB: 413.",
    responses={
        200: {"description": "One result per record, in order"},
        400: ERROR_RESPONSES[400],
        413: {
            "description": "Too many records or too large a body",
            "content": {"application/json": {"model": ERROR_RESPONSES[400]["content"]["application/json"]["model"]}},
        },
        503: ERROR_RESPONSES[503],
    },
    tags=["predict"],
)
def post_predict(body: Annotated[PredictRequest, Body()]) -> PredictResponse:
    raw = predict.current_event.body or ""
    size = len(raw.encode())
    if size > MAX_BODY_BYTES:
        raise ApiError(
            413, f"body too large: at most {MAX_BODY_BYTES:,} bytes", [{"field": "body", "reason": f"{size:,} bytes"}]
        )
    started = time.perf_counter()
    model = windpitch.load_model()
    results = windpitch.predict(body.records, model)
    scored = sum(1 for r in results if r.ok)
    _record_metrics(started, scored, len(results) - scored)
    return PredictResponse(
        model_version=model.info.version,
        scored=scored,
        rejected=len(results) - scored,
        results=[PredictionResult(index=i, **r.as_dict()) for i, r in enumerate(results)],
    )


def _record_metrics(started: float, scored: int, rejected: int) -> None:
    metrics.add_metric(name="Predictions", unit="Count", value=scored)
    if rejected:
        metrics.add_metric(name="RejectedRecords", unit="Count", value=rejected)
    metrics.add_metric(name="PredictLatency", unit="Milliseconds", value=(time.perf_counter() - started) * 1000)
