"""The local API over HTTP, two ways, with the same tests: the Docker-free in-process API (SAM's routing and
events, our handlers, the built layers) and the real `sam local start-api` on Docker (a container per
function from the Lambda-like image).

The fixtures (tests/integration/conftest.py) start each once for the session on a free 127.0.0.1 port and
always stop it; `served` gives each test both, and the last test compares their answers byte for byte.
"""

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT
from tests.integration.conftest import BUILT_CARD

ORIGIN = "http://127.0.0.1:8080"
BACKENDS = {"in-process": "api", "sam local start-api": "sam_api"}


@pytest.fixture(params=list(BACKENDS))
def served(request: pytest.FixtureRequest) -> str:
    """The base URL of one local API: the in-process one, then SAM's own on Docker."""
    url: str = request.getfixturevalue(BACKENDS[request.param])
    return url


def test_health_reports_the_built_model(served: str) -> None:
    answer = requests.get(f"{served}/health", timeout=60)
    assert answer.status_code == 200
    assert answer.json()["model"]["version"] == json.loads(BUILT_CARD.read_text())["version"]


def test_the_seed_request_and_the_wind(served: str) -> None:
    at10 = requests.get(f"{served}/predict", params={"Ws1_avg": 10}, timeout=60)
    at16 = requests.get(f"{served}/predict", params={"Ws1_avg": 16}, timeout=60)
    assert at10.status_code == at16.status_code == 200
    assert at10.headers["Content-Type"].startswith("application/json")
    assert abs(at10.json()["pitch_deg"]) < 3 < at16.json()["pitch_deg"]


def test_the_seed_row_as_query_parameters(served: str, seed_record: dict[str, Any]) -> None:
    params = {k: v for k, v in seed_record.items() if v is not None}
    answer = requests.get(f"{served}/predict", params=params, timeout=60)  # '+01:00' is encoded as it should be
    assert answer.status_code == 200, answer.text
    assert answer.json()["measured_pitch_deg"] == 44.99
    assert answer.json()["imputed"] == []


def test_post_a_thousand_records(served: str) -> None:
    records = [{"Ws_avg": 3 + (i % 15), "P_avg": 100 * (i % 20)} for i in range(1000)]
    answer = requests.post(f"{served}/predict", json={"records": records}, timeout=30)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["scored"], body["rejected"], len(body["results"])) == (1000, 0, 1000)


def test_post_keeps_good_records_beside_bad_ones(served: str) -> None:
    answer = requests.post(f"{served}/predict", json={"records": [{"Ws_avg": 5}, {"Ws_avg": "x"}]}, timeout=60)
    assert answer.status_code == 200
    assert [r["ok"] for r in answer.json()["results"]] == [True, False]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "field"),
    [
        ("GET", "/predict", {"params": {"Ws1_avg": "ten"}}, 400, "Ws1_avg"),
        ("GET", "/predict", {"params": {"Ws1_avg": "NaN"}}, 400, "Ws1_avg"),
        ("GET", "/predict", {"params": {"Ws1_avg": "Infinity"}}, 400, "Ws1_avg"),
        ("GET", "/predict", {"params": {"Ws1_avg": "-4"}}, 400, "Ws1_avg"),
        ("GET", "/predict", {"params": {"speed": "4"}}, 400, "speed"),
        ("GET", "/predict", {"params": [("Ws_avg", "4"), ("Ws_avg", "5")]}, 400, "Ws_avg"),
        ("POST", "/predict", {"data": "{oops", "headers": {"Content-Type": "application/json"}}, 400, "body"),
        (
            "POST",
            "/predict",
            {"data": '{"records": [{}]}', "headers": {"Content-Type": "text/plain"}},
            400,
            "Content-Type",
        ),
        ("POST", "/predict", {"json": {"records": [{"Ws_avg": 1}] * 10_001}}, 413, "records"),
        ("GET", "/nowhere", {}, 404, "path"),
        ("PUT", "/predict", {}, 405, "method"),
        ("DELETE", "/health", {}, 405, "method"),
    ],
    ids=[
        "not-a-number",
        "nan",
        "infinity",
        "out-of-range",
        "unknown-field",
        "duplicated",
        "bad-json",
        "content-type",
        "10001-records",
        "unknown-route",
        "put-predict",
        "delete-health",
    ],
)
def test_every_error_class_is_json_naming_the_field(
    served: str, method: str, path: str, kwargs: dict[str, Any], status: int, field: str
) -> None:
    answer = requests.request(method, f"{served}{path}", timeout=60, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert field in [d["field"] for d in answer.json()["details"]]


def test_cors_lets_the_dashboard_origin_in(served: str) -> None:
    preflight = requests.options(
        f"{served}/predict", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}, timeout=10
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    answer = requests.get(f"{served}/predict", params={"Ws1_avg": 5}, headers={"Origin": ORIGIN}, timeout=60)
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_openapi_and_swagger_ui(served: str) -> None:
    document = requests.get(f"{served}/openapi.json", timeout=60).json()
    assert {"/health", "/predict"} <= set(document["paths"])
    page = requests.get(f"{served}/docs", timeout=60, allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"].endswith("/docs.html")
    assert len(page.content) < 64 * 1024


def test_the_function_sees_its_layer_not_the_repository() -> None:
    # The running server's log line is asserted in the fixture; here the rule itself:
    sys.path.insert(0, str(ROOT))
    from windpitch_local.runner import InProcessLambdaRunner

    runner = InProcessLambdaRunner([], ROOT)
    runner.layer_paths = [Path("/nonexistent/layer")]
    with pytest.raises(RuntimeError, match="not from a layer"):
        runner.check_layers()


def test_the_in_process_runner_sets_a_functions_environment_before_importing_it() -> None:
    """Lambda sets the environment, then imports the handler's module: Powertools reads its service name and
    metrics namespace at import, so the other order logs "service_undefined" and cannot publish metrics."""
    from windpitch_local.api import build_service

    if not BUILT_CARD.exists():
        pytest.skip("no built layers with a model: run `make build` (needs a trained model)")
    _, runner = build_service(
        "127.0.0.1", 0, parameter_overrides={}, overrides={"BatchFunction": {"WINDPITCH_BUCKET": "b"}}
    )
    runner.handler(runner.functions["BatchFunction"])
    module = sys.modules["windpitch_local_fn_BatchFunction"]
    assert module.logger.service == "windpitch"
    assert module.metrics.namespace == "windpitch"
    every = {k: v for f in runner.functions.values() for k, v in runner.environment(f).items()}
    assert not [k for k, v in every.items() if v.startswith("{")], "every template value resolves locally"


REQUESTS = [
    ("GET", "/health", {}),
    ("GET", "/predict", {"params": {"Ws1_avg": "10"}}),
    ("GET", "/predict", {"params": {"Ws1_avg": "ten"}}),
    ("POST", "/predict", {"json": {"records": [{"Ws_avg": 9.0, "P_avg": 1500}, {"Ws_avg": -3}, {"Ws1_avg": 12}]}}),
    ("POST", "/predict", {"data": b"{not json"}),
    ("DELETE", "/predict", {}),
    ("GET", "/nowhere", {}),
]


def test_sam_local_start_api_answers_byte_for_byte_as_the_in_process_api(api: str, sam_api: str) -> None:
    """The same requests to both: same status, same content type, the same body bytes."""
    for method, path, kwargs in REQUESTS:
        ours = requests.request(method, f"{api}{path}", timeout=60, **kwargs)
        sams = requests.request(method, f"{sam_api}{path}", timeout=60, **kwargs)
        assert (sams.status_code, sams.headers.get("Content-Type")) == (
            ours.status_code,
            ours.headers.get("Content-Type"),
        ), (method, path)
        assert sams.content == ours.content, (method, path)
