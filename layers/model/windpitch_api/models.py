"""Pydantic models of the HTTP API, generated from the one SCADA schema.

The OpenAPI document describes every field as a number with its unit and range (and the timestamp and
turbine name as strings), straight from :mod:`windpitch.schema`. Field *values* are then judged by the
domain (:func:`windpitch.records.parse_record`) so that the API, the CLI, the batch job and the embedded
model give the same reason for the same bad value, and so that one bad record in a POST costs only
itself. The models therefore accept any JSON value per field and carry the schema for documentation.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from windpitch.schema import FIELDS, TIME_FIELD, TURBINE_FIELD, TURBINE_PATTERN

MAX_RECORDS: Final = 10_000
# Lambda refuses synchronous payloads over 6 MB; the API says so first, as JSON.
MAX_BODY_BYTES: Final = 6_000_000


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


def _documented(name: str, nullable: bool) -> Any:
    schema = dict(FIELD_SCHEMAS[name])
    if nullable:
        schema = {"anyOf": [schema, {"type": "null"}], "description": schema.pop("description")}
    return Annotated[Any, WithJsonSchema(schema)]


# GET /predict?Ws1_avg=10: every schema field may be a query parameter.
PredictQuery = create_model(  # type: ignore[call-overload]
    "PredictQuery",
    __config__=ConfigDict(extra="allow"),
    **dict.fromkeys(FIELD_SCHEMAS, (str | None, None)),
)

# One record of POST /predict: any subset of the schema's fields; null means missing.
ScadaRecord = create_model(  # type: ignore[call-overload]
    "ScadaRecord",
    __config__=ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False}),
    **{name: (_documented(name, nullable=True), None) for name in FIELD_SCHEMAS},
)


class PredictRequest(BaseModel):
    """``POST /predict`` body."""

    model_config = ConfigDict(extra="forbid")

    records: Annotated[
        list[Annotated[dict[str, Any], WithJsonSchema(ScadaRecord.model_json_schema())]],
        Field(
            min_length=1,
            max_length=MAX_RECORDS,
            description=f"1 to {MAX_RECORDS:,} SCADA records; each is scored or rejected on its own",
        ),
    ]


class FieldProblem(BaseModel):
    field: str = Field(description="The field (or body part) at fault")
    reason: str = Field(description="Why it was refused")


class ErrorResponse(BaseModel):
    error: str
    details: list[FieldProblem] = []
    correlation_id: str | None = None


class PredictionResult(BaseModel):
    index: int
    ok: bool
    pitch_deg: float | None = Field(default=None, description="Expected pitch angle Ba_avg, degrees")
    imputed: list[str] | None = Field(default=None, description="Fields the model filled with training defaults")
    derived: list[str] | None = Field(default=None, description="Fields computed from others (Ws_avg)")
    model_version: str | None = None
    measured_pitch_deg: float | None = None
    residual_deg: float | None = Field(default=None, description="Measured minus expected pitch, degrees")
    errors: list[FieldProblem] | None = None


class PredictResponse(BaseModel):
    model_version: str
    scored: int
    rejected: int
    results: list[PredictionResult]


class ModelSummary(BaseModel):
    version: str
    sha256: str
    export_sha256: str
    created_at: str
    metrics: dict[str, Any]


class HealthResponse(BaseModel):
    status: str
    model: ModelSummary
