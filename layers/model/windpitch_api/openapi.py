"""Generate the API's OpenAPI document from the routes and the one SCADA schema (at build time).

    python -m windpitch_api.openapi            # writes layers/model/windpitch_api/openapi.json
    python -m windpitch_api.openapi --check    # exit 1 if the committed file is out of date

Powertools builds the document from the routes' annotations and the pydantic models; query parameters
(strings on the wire) are then described from the SCADA schema as the numbers they must hold.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from types import ModuleType
from typing import Any

from aws_lambda_powertools.event_handler.openapi import params
from aws_lambda_powertools.event_handler.openapi.models import Server
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from windpitch import __version__

from . import models
from .app import OPENAPI_FILE, create_app
from .models import FIELD_SCHEMAS, ErrorResponse, HealthResponse, PredictionResult, PredictResponse

# What each operation answers with, per status (the routes return plain dicts at run time).
RESPONSES: dict[tuple[str, str], dict[str, type[BaseModel]]] = {
    ("/health", "get"): {"200": HealthResponse, "503": ErrorResponse},
    ("/predict", "get"): {"200": PredictionResult, "400": ErrorResponse, "503": ErrorResponse},
    ("/predict", "post"): {"200": PredictResponse, "400": ErrorResponse, "413": ErrorResponse, "503": ErrorResponse},
}

INFO: dict[str, Any] = {
    "title": "windpitch API",
    "version": __version__,
    "description": "Expected blade pitch angle (Ba_avg, degrees) of a wind turbine from ten-minute SCADA signals: "
    "a normal-behaviour model. Measured minus expected pitch flags pitch-system faults. Every error is "
    '`{"error": ..., "details": [{"field": ..., "reason": ...}]}`.',
}


def documented_routes() -> ModuleType:
    """A copy of :mod:`windpitch_api.routes` whose annotations resolve: the names it imports for type checkers only
    (pydantic models and Powertools' parameters cost the functions ~0.3 s of cold start) are in its namespace
    before its code runs. The served module is never touched; the document describes the very same routes."""
    spec = importlib.util.find_spec("windpitch_api.routes")
    assert spec is not None and spec.loader is not None  # noqa: S101 - the package's own module
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(
        Body=params.Body, Query=params.Query, PredictQuery=models.PredictQuery, PredictRequest=models.PredictRequest
    )
    spec.loader.exec_module(module)
    return module


def build_document() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    routes = documented_routes()
    app = create_app(routes.predict, routes.health, enable_validation=True)
    app.configure_openapi(servers=[Server(url="/")], **INFO)
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    for operation in document.get("paths", {}).get("/predict", {}).values():
        for parameter in operation.get("parameters", []):
            schema = FIELD_SCHEMAS.get(parameter.get("name"))
            if parameter.get("in") == "query" and schema:
                # An empty value (`?P_avg=`, as an HTML form sends a blank field) means not given: imputed.
                given = {k: v for k, v in schema.items() if k != "description"}
                parameter["schema"] = {"anyOf": [given, {"type": "string", "maxLength": 0}]}
                parameter["description"] = f"{schema['description']} Empty: not given (imputed)."
    # The route's body parameter defaults to None only so the handler can read the event itself.
    document["paths"]["/predict"]["post"]["requestBody"]["required"] = True
    _attach_responses(document)
    _prune_components(document)
    return document


def _prune_components(document: dict[str, Any]) -> None:
    """Drop component schemas no operation reaches (Powertools adds some for its own validation)."""
    schemas = document.get("components", {}).get("schemas", {})
    reached: set[str] = set()
    pending = [json.dumps(document.get("paths", {}))]
    while pending:
        for name in re.findall(r'"#/components/schemas/([^"]+)"', pending.pop()):
            if name not in reached and name in schemas:
                reached.add(name)
                pending.append(json.dumps(schemas[name]))
    for name in set(schemas) - reached:
        del schemas[name]


def _attach_responses(document: dict[str, Any]) -> None:
    """Response schemas from the models; Powertools' 422 entries go (this API answers 400)."""
    used = {model for table in RESPONSES.values() for model in table.values()}
    _, defs = models_json_schema([(m, "serialization") for m in used], ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(defs.get("$defs", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for (path, method), table in RESPONSES.items():
        responses = document["paths"][path][method]["responses"]
        responses.pop("422", None)
        for status, model in table.items():
            responses.setdefault(status, {"description": status})["content"] = {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            }


def render() -> str:
    return json.dumps(build_document(), indent=1, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed document is out of date")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OPENAPI_FILE.read_text(encoding="utf-8") if OPENAPI_FILE.exists() else ""
        if current != text:
            print(f"{OPENAPI_FILE} is out of date: run python -m windpitch_api.openapi", file=sys.stderr)
            return 1
        return 0
    OPENAPI_FILE.write_text(text, encoding="utf-8")
    print(OPENAPI_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
