"""Pydantic models of the HTTP API, generated from the one SCADA schema, for its OpenAPI document.

The document describes every field as a number with its unit and range (the timestamp and turbine
name as strings), straight from :mod:`windpitch.schema`. Values are judged by the domain
(:func:`windpitch.records.parse_record`), so the API, the CLI, the batch job and the embedded model
give the same reason for the same bad value, and one bad record in a POST costs only itself.

Every model defers its pydantic schema build: the document is generated at build time
(:mod:`windpitch_api.openapi`), and the predict function's cold start pays nothing for 138 fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from windpitch.schema import FIELDS, TIME_FIELD, TURBINE_FIELD, TURBINE_PATTERN, YEAR_PATTERN

from .limits import MAX_RECORDS

DEFERRED: Final = ConfigDict(defer_build=True)


def _field_schemas() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {
        TURBINE_FIELD: {
            "type": "string",
            "pattern": TURBINE_PATTERN,
            "description": "Wind turbine name, e.g. R80721",
            "examples": ["R80721"],
        },
        TIME_FIELD: {
            "type": "string",
            "format": "date-time",
            "pattern": YEAR_PATTERN,
            "description": "Timestamp with UTC offset (ISO 8601); month and hour (UTC) are model inputs",
            "examples": ["2017-02-08T08:00:00+01:00"],
        },
    }
    for name, spec in FIELDS.items():
        schemas[name] = {
            "type": "number",
            "minimum": spec.low,
            "maximum": spec.high,
            "description": f"{spec.description}. Range [{spec.low:g}, {spec.high:g}] {spec.unit}.",
        }
    return schemas


FIELD_SCHEMAS: Final = _field_schemas()

# One record of POST /predict: any subset of the schema's fields; null means missing.
RECORD_SCHEMA: Final = {
    "title": "ScadaRecord",
    "type": "object",
    "description": "Any subset of the SCADA schema's fields; null or absent means missing (imputed).",
    "properties": {
        name: {
            "anyOf": [{k: v for k, v in s.items() if k != "description"}, {"type": "null"}],
            "description": s["description"],
        }
        for name, s in FIELD_SCHEMAS.items()
    },
    "additionalProperties": False,
}

# An item of ``records``: what is scored is a ScadaRecord; anything else is still accepted in the request
# and rejected on its own, with the reason, in its result (``ok: false``), so it never costs the others.
ITEM_SCHEMA: Final = {
    "anyOf": [RECORD_SCHEMA, {}],
    "description": "A ScadaRecord is scored; any other item is rejected on its own in its result, with the reason.",
}

# GET /predict?Ws1_avg=10: every schema field may be a query parameter (a string on the wire).
PredictQuery = create_model(  # type: ignore[call-overload]
    "PredictQuery",
    __config__=ConfigDict(defer_build=True, extra="allow"),
    **dict.fromkeys(FIELD_SCHEMAS, (str | None, None)),
)


class PredictRequest(BaseModel):
    """``POST /predict`` body."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    records: Annotated[
        list[Annotated[Any, WithJsonSchema(ITEM_SCHEMA)]],
        Field(
            min_length=1,
            max_length=MAX_RECORDS,
            description=f"1 to {MAX_RECORDS:,} SCADA records; each is scored or rejected on its own",
        ),
    ]


class FieldProblem(BaseModel):
    model_config = DEFERRED
    field: str = Field(description="The field (or body part) at fault")
    reason: str = Field(description="Why it was refused")


class ErrorResponse(BaseModel):
    model_config = DEFERRED
    error: str
    details: list[FieldProblem] = []
    correlation_id: str | None = Field(default=None, description="On 5xx: quote it when reporting the fault")


class PredictionResult(BaseModel):
    model_config = DEFERRED
    index: int
    ok: bool
    pitch_deg: float | None = Field(default=None, description="Expected pitch angle Ba_avg, degrees")
    imputed: list[str] | None = Field(default=None, description="Fields the model filled with training defaults")
    derived: list[str] | None = Field(default=None, description="Fields computed from others (Ws_avg)")
    model_version: str | None = None
    measured_pitch_deg: float | None = Field(default=None, description="Ba_avg as sent, degrees")
    residual_deg: float | None = Field(default=None, description="Measured minus expected pitch, degrees")
    errors: list[FieldProblem] | None = None


class PredictResponse(BaseModel):
    model_config = DEFERRED
    model_version: str
    scored: int
    rejected: int
    results: list[PredictionResult]


class ModelSummary(BaseModel):
    model_config = DEFERRED
    version: str
    sha256: str
    export_sha256: str
    created_at: str
    metrics: dict[str, Any]


class HealthResponse(BaseModel):
    model_config = DEFERRED
    status: str
    model: ModelSummary
