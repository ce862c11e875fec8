"""The API contract has one source: the routes and the pydantic models generate the committed document, which
is what /openapi.json serves; generating it patches nothing onto the module the functions run."""

from __future__ import annotations

import json

from windpitch_api import openapi, routes
from windpitch_api.app import OPENAPI_FILE


def test_the_committed_document_is_the_generated_one() -> None:
    assert OPENAPI_FILE.read_text(encoding="utf-8") == openapi.render(), "run python -m windpitch_api.openapi"


def test_generating_the_document_leaves_the_served_routes_untouched() -> None:
    before = dict(vars(routes))
    document = openapi.build_document()
    assert dict(vars(routes)) == before
    assert not {"Body", "Query", "PredictQuery", "PredictRequest"} & set(vars(routes)), "documentation-only names"
    # ...and the document still describes the body and the query from the models.
    post = document["paths"]["/predict"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PredictRequest"
    }
    assert {p["name"] for p in document["paths"]["/predict"]["get"]["parameters"]} >= {"Ws1_avg", "P_avg"}
    assert json.loads(openapi.render()) == document
