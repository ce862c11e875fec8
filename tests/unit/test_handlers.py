"""The API Lambdas, invoked with the API Gateway events SAM generates (events/api/)."""

import base64
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, LambdaContext, api_event
from windpitch.artifacts import EXPORT_FILE, MODEL_DIR_ENV, PIPELINE_FILE
from windpitch.predict import load_model

pytestmark = pytest.mark.usefixtures("use_synthetic_model")


def call(functions: dict[str, Any], name: str, event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    handler = functions["health" if event["path"] == "/health" else "predict"].lambda_handler
    response = handler(event, LambdaContext())
    body = response["body"]
    return (
        response["statusCode"],
        json.loads(body) if body and body[0] in "{[" else body,
        response.get("multiValueHeaders", response.get("headers", {})),
    )


def post(functions: dict[str, Any], body: Any, content_type: str = "application/json") -> tuple[int, Any, Any]:
    event = api_event("predict_post_seed", body=body if isinstance(body, str) else json.dumps(body))
    event["headers"] = {**event["headers"], "Content-Type": content_type}
    event["multiValueHeaders"] = {**event["multiValueHeaders"], "Content-Type": [content_type]}
    return call(functions, "predict", event)


def query(functions: dict[str, Any], params: dict[str, list[str]]) -> tuple[int, Any, Any]:
    event = api_event(
        "predict_get_ws1",
        queryStringParameters={k: v[-1] for k, v in params.items()},
        multiValueQueryStringParameters=params,
    )
    return call(functions, "predict", event)


def test_health_reports_the_model(functions: dict[str, Any], use_synthetic_model: Path) -> None:
    status, body, _ = call(functions, "health", api_event("health_get"))
    assert status == 200
    assert body["status"] == "ok"
    card = json.loads((use_synthetic_model / "model_card.json").read_text())
    assert body["model"]["version"] == card["version"]
    assert body["model"]["sha256"] == card["sha256"]
    assert body["model"]["metrics"]["rmse"] == card["metrics"]["test"]["rmse"]


def test_health_is_503_with_the_reason_when_the_model_is_corrupt(
    functions: dict[str, Any], model_dir_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (model_dir_copy / EXPORT_FILE).write_bytes(b'{"format": "swapped"}')
    monkeypatch.setenv(MODEL_DIR_ENV, str(model_dir_copy))
    load_model.cache_clear()
    status, body, _ = call(functions, "health", api_event("health_get"))
    assert status == 503
    assert body["details"][0]["field"] == "model"
    assert "integrity check failed" in body["details"][0]["reason"]
    status, body, _ = call(functions, "predict", api_event("predict_get_ws1"))
    assert status == 503


def test_a_model_other_than_the_pinned_one_is_refused_and_health_says_why(
    functions: dict[str, Any], use_synthetic_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deployment pins its model's export digest (ModelExportSha256): a consistent model that is not that one
    (a layer swapped under the function) is refused at init, and /health names both digests."""
    from windpitch.artifacts import read_card

    digest = read_card(use_synthetic_model)["export"]["sha256"]
    monkeypatch.setenv("WINDPITCH_MODEL_SHA256", digest)
    load_model.cache_clear()
    status, _, _ = call(functions, "health", api_event("health_get"))
    assert status == 200, "the pinned model serves"

    monkeypatch.setenv("WINDPITCH_MODEL_SHA256", "0" * 64)
    load_model.cache_clear()
    status, body, _ = call(functions, "health", api_event("health_get"))
    assert status == 503
    reason = body["details"][0]["reason"]
    assert "is not the one this deployment pins" in reason and digest[:12] in reason and "000000000000" in reason
    status, _, _ = call(functions, "predict", api_event("predict_get_ws1"))
    assert status == 503
    load_model.cache_clear()


def test_make_build_pins_the_model_it_built(tmp_path: Path, use_synthetic_model: Path) -> None:
    from samcli.yamlhelper import yaml_parse

    from windpitch_deploy import built

    template = tmp_path / "template.yaml"
    template.write_text((ROOT / "template.yaml").read_text())
    layer = tmp_path / built.BUILT_CARD
    layer.parent.mkdir(parents=True)
    layer.write_bytes((use_synthetic_model / "model_card.json").read_bytes())

    assert built.main([str(template), "--model"]) == 0
    parameter = yaml_parse(template.read_text())["Parameters"]["ModelExportSha256"]
    digest = json.loads(layer.read_text())["export"]["sha256"]
    assert parameter["Default"] == digest and parameter["AllowedValues"] == [digest]


def test_a_swapped_model_makes_health_and_predict_503_json_and_nothing_is_unpickled(
    functions: dict[str, Any], model_dir_copy: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An attacker swaps both artifacts; the card's hashes refuse them, and the pickle's code never runs."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[Path, str]]:
            return (Path.write_text, (marker, "code ran"))

    (model_dir_copy / PIPELINE_FILE).write_bytes(pickle.dumps(Exploit()))
    export = model_dir_copy / EXPORT_FILE
    export.write_bytes(export.read_bytes().replace(b'"depth":', b'"depth": ', 1))
    monkeypatch.setenv(MODEL_DIR_ENV, str(model_dir_copy))
    load_model.cache_clear()
    try:
        for name, event in (("health", "health_get"), ("predict", "predict_get_ws1"), ("predict", "predict_post_seed")):
            status, body, headers = call(functions, name, api_event(event))
            assert status == 503, (event, body)
            assert "application/json" in str(headers["Content-Type"])
            assert body["error"] == "model unavailable"
            [detail] = body["details"]
            assert detail["field"] == "model"
            assert "integrity check failed" in detail["reason"]
            assert "Traceback" not in json.dumps(body)
    finally:
        load_model.cache_clear()
    assert not marker.exists(), "the swapped pickle was never loaded"


def test_seed_get_request_answers_and_moves_with_the_wind(functions: dict[str, Any]) -> None:
    status, body, _ = call(functions, "predict", api_event("predict_get_ws1"))
    assert status == 200
    assert body["derived"] == ["Ws_avg"]
    assert "P_avg" in body["imputed"]
    _, stronger, _ = query(functions, {"Ws1_avg": ["20"]})
    assert stronger["pitch_deg"] != body["pitch_deg"]


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"Ws1_avg": ["ten"]}, "Ws1_avg", "not a number"),
        ({"Ws1_avg": ["NaN"]}, "Ws1_avg", "not a finite number"),
        ({"Ws1_avg": ["1e309"]}, "Ws1_avg", "not a finite number"),
        ({"Ws1_avg": ["-1"]}, "Ws1_avg", "out of range"),
        ({"wind": ["3"]}, "wind", "unknown field"),
        ({"Ws1_avg": ["3", "4"]}, "Ws1_avg", "given more than once"),
        ({"Date_time": ["2014-01-01T01:00:00"]}, "Date_time", "no UTC offset"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_field(
    functions: dict[str, Any], params: dict[str, list[str]], field: str, reason: str
) -> None:
    status, body, _ = query(functions, params)
    assert status == 400
    assert body["details"][0]["field"] == field
    assert reason in body["details"][0]["reason"]


def test_post_scores_each_record_on_its_own(functions: dict[str, Any]) -> None:
    status, body, _ = call(functions, "predict", api_event("predict_post_mixed"))
    assert status == 200
    assert (body["scored"], body["rejected"]) == (2, 1)
    assert [r["ok"] for r in body["results"]] == [True, False, True]
    assert body["results"][1]["errors"] == [{"field": "Ws_avg", "reason": "out of range: -3 m/s is outside [0, 60]"}]


def test_post_seed_row_as_it_is(functions: dict[str, Any]) -> None:
    status, body, _ = call(functions, "predict", api_event("predict_post_seed"))
    assert status == 200
    assert body["results"][0]["measured_pitch_deg"] == 44.99


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        ("{not json", "application/json", 400, "body"),
        ({"records": []}, "application/json", 400, "records"),
        ({"records": "all"}, "application/json", 400, "records"),
        ({"rows": [{}]}, "application/json", 400, "records"),
        ([{"Ws_avg": 3}], "application/json", 400, "body"),
        ('{"records": [{"Ws_avg": 3}]}', "text/plain", 400, "Content-Type"),
        ({"records": [{"Ws_avg": 3}] * 10_001}, "application/json", 413, "records"),
        ("[" * 5000 + "]" * 5000, "application/json", 400, "body"),
    ],
    ids=[
        "invalid-json",
        "no-records",
        "not-a-list",
        "missing",
        "bare-list",
        "text-plain",
        "10001-records",
        "deeply-nested",
    ],
)
def test_bad_bodies_get_a_json_error_never_a_500(
    functions: dict[str, Any], body: Any, content_type: str, status: int, field: str
) -> None:
    got, answer, _ = post(functions, body, content_type)
    assert got == status, answer
    assert answer["error"]
    assert field in [d["field"] for d in answer["details"]], answer


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"records": [{"Ws_avg": "\xff\xfe"}]}', "body"),  # API Gateway base64-encodes binary media types
        (b'{"records": [{"Ws_avg": 1}], "records": []}', "records"),
    ],
    ids=["base64-not-utf8", "duplicated-key"],
)
def test_bodies_api_gateway_may_send_encoded(functions: dict[str, Any], body: bytes, field: str) -> None:
    event = api_event("predict_post_seed", body=base64.b64encode(body).decode(), isBase64Encoded=True)
    status, answer, _ = call(functions, "predict", event)
    assert status == 400, answer
    assert field in [d["field"] for d in answer["details"]], answer


def test_413_names_the_limit(functions: dict[str, Any]) -> None:
    status, body, _ = post(functions, {"records": [{"Ws_avg": 3}] * 10_001})
    assert status == 413
    assert "10,000" in body["error"]


def test_unknown_routes_and_methods(functions: dict[str, Any]) -> None:
    status, body, _ = call(functions, "predict", api_event("predict_get_ws1", path="/nowhere", httpMethod="GET"))
    assert status == 404
    assert "no route GET /nowhere" in body["error"]
    status, body, headers = call(functions, "predict", api_event("predict_get_ws1", httpMethod="PUT"))
    assert status == 405
    assert "GET, POST" in json.dumps(headers)


def test_an_unexpected_fault_is_a_500_with_the_correlation_id(
    functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("windpitch.predict", broken)
    status, body, _ = call(functions, "predict", api_event("predict_get_ws1"))
    assert status == 500
    assert body["correlation_id"] == "req-predict_get_ws1"
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)


def test_openapi_document_comes_from_the_schema(functions: dict[str, Any]) -> None:
    status, doc, _ = call(functions, "predict", api_event("openapi_get"))
    assert status == 200
    assert doc["info"]["title"] == "windpitch API"
    params = {p["name"]: p for p in doc["paths"]["/predict"]["get"]["parameters"]}
    ws1, empty = params["Ws1_avg"]["schema"]["anyOf"]
    assert ws1["minimum"] == 0 and ws1["maximum"] == 60
    assert empty == {"type": "string", "maxLength": 0}, "an empty query value means not given"
    assert "m/s" in params["Ws1_avg"]["description"]
    assert params["Date_time"]["schema"]["anyOf"][0]["format"] == "date-time"
    assert doc["paths"]["/predict"]["post"]["requestBody"]["required"] is True
    assert len(params) == 138
    assert {"/health", "/predict"} <= set(doc["paths"])


def test_cors_allows_the_dashboard_origin(functions: dict[str, Any]) -> None:
    event = api_event("predict_get_ws1")
    event["headers"]["Origin"] = "http://127.0.0.1:8080"
    event["multiValueHeaders"]["Origin"] = ["http://127.0.0.1:8080"]
    _, _, headers = call(functions, "predict", event)
    assert "http://127.0.0.1:8080" in json.dumps(headers)


def test_a_record_that_is_not_an_object_costs_only_itself(functions: dict[str, Any]) -> None:
    status, body, _ = post(functions, {"records": [{"Ws_avg": 3}, 1, "x"]})
    assert status == 200
    assert [r["ok"] for r in body["results"]] == [True, False, False]
    assert body["results"][1]["errors"] == [{"field": "record", "reason": "must be an object, got int"}]


def test_responses_match_the_documented_models(functions: dict[str, Any]) -> None:
    from windpitch_api.models import HealthResponse, PredictionResult, PredictResponse

    HealthResponse.model_validate(call(functions, "health", api_event("health_get"))[1])
    PredictionResult.model_validate(call(functions, "predict", api_event("predict_get_ws1"))[1])
    PredictResponse.model_validate(call(functions, "predict", api_event("predict_post_mixed"))[1])


def test_the_committed_openapi_document_is_up_to_date() -> None:
    from windpitch_api.app import OPENAPI_FILE
    from windpitch_api.openapi import render

    assert OPENAPI_FILE.read_text() == render(), "run: python -m windpitch_api.openapi"


def test_docs_redirect_to_swagger_ui_beside_the_dashboard(
    functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function answers a redirect of a few hundred bytes (Swagger UI is 1.7 MB: the dashboard serves it)."""
    status, page, headers = call(functions, "predict", api_event("openapi_get", path="/docs"))
    assert status == 302
    assert headers["Location"] in ("http://127.0.0.1:8080/docs.html", ["http://127.0.0.1:8080/docs.html"])
    assert len(page.encode()) < 64 * 1024 and "openapi.json" in page
    monkeypatch.setenv("WINDPITCH_DOCS_URL", "https://d1.cloudfront.net/docs.html")
    _, _, headers = call(functions, "predict", api_event("openapi_get", path="/docs"))
    assert "https://d1.cloudfront.net/docs.html" in str(headers["Location"])


def test_an_integer_beyond_any_float_is_rejected_not_a_500(functions: dict[str, Any], lambda_context: Any) -> None:
    """A JSON number of 400 digits decodes to a Python int no float holds: the record is refused, named."""
    body = '{"records": [{"P_avg": 1' + "0" * 400 + '}, {"Ws_avg": 10}]}'
    answer = functions["predict"].lambda_handler(api_event("predict_post_mixed", body=body), lambda_context)
    assert answer["statusCode"] == 200
    first, second = json.loads(answer["body"])["results"]
    assert first["errors"][0]["field"] == "P_avg" and first["errors"][0]["reason"].startswith("not a finite number")
    assert second["ok"]


@pytest.mark.parametrize(
    ("event", "field", "reason"),
    [
        ({}, "httpMethod", "missing"),
        ({"httpMethod": "GET"}, "path", "missing"),
        ({"httpMethod": "GET", "path": "/predict", "queryStringParameters": ["Ws1_avg"]}, "queryStringParameters",
         "must be an object or null, not an array"),
        ({"httpMethod": "POST", "path": "/predict", "body": {"records": []}}, "body",
         "must be a string or null, not an object"),
        (["GET", "/health"], "event", "must be an API Gateway proxy event (a JSON object), not an array"),
        ({"detail-type": "Scheduled Event", "source": "aws.events"}, "httpMethod", "missing"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("function", ["health", "predict"])
def test_an_event_api_gateway_would_never_send_is_a_400_naming_the_field(
    functions: dict[str, Any], function: str, event: Any, field: str, reason: str
) -> None:
    """A direct invoke with the wrong event (sam local invoke, a console test): a clear 400, not a KeyError."""
    response = functions[function].lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["error"] == "not an API Gateway proxy event"
    assert {"field": field, "reason": reason} in body["details"]
