"""Property-based fuzzing of the API from the OpenAPI document it serves (schemathesis + Hypothesis).

Every operation in ``/openapi.json`` of the running local API gets generated requests, valid and invalid
(schemathesis' positive and negative modes): over 500 in all, bounded by ``max_examples`` per operation
and derandomised, so a run is repeatable and a failure reproduces. Every response must pass every
schemathesis check: no 5xx, a status code and content type the document declares, a body that conforms to
the declared schema, invalid data rejected with a 4xx and valid data accepted.

One check is left out: ``unsupported_method`` sends ``TRACE`` and expects 405. API Gateway refuses methods
outside its ``ANY`` (``TRACE``, ``CONNECT``) itself with 403, before any Lambda runs; the template's
``DEFAULT_4XX`` gateway response gives it the API's JSON error shape. Every method ``ANY`` covers gets
405 with ``Allow`` from our routes (tests/integration/test_bad_input_catalogue.py).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES

from tests.conftest import ROOT
from windpitch.errors import ModelUnavailable
from windpitch.runtime import PitchModel
from windpitch_api.app import OPENAPI_FILE
from windpitch_api.document import for_farm

EXAMPLES_PER_OPERATION = 250
CASES: Counter[str] = Counter()


BUILT_MODEL = ROOT / ".aws-sam" / "build" / "ModelLayer" / "python" / "windpitch" / "artifacts"


def served_document() -> dict[str, Any]:
    """The committed document fitted to the built model's farm (its limits, its fleet): what the API serves."""
    document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text())
    try:
        return for_farm(document, PitchModel.load(BUILT_MODEL).farm)
    except ModelUnavailable:
        return document  # no build: the fuzzing test skips with the api fixture


# Loaded at import because schemathesis' lazy fixture loader does not work with this pytest.
schema = schemathesis.openapi.from_dict(
    served_document(),
    config=schemathesis.Config.from_dict(
        {
            "checks": {
                # Over 10,000 records or 6 MB the API answers 413 Content Too Large, which is the right
                # refusal for an oversized request; schemathesis' default list lacks it.
                "negative_data_rejection": {"expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]},
                "unsupported_method": {"enabled": False},  # see the module's docstring
            }
        }
    ),
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,  # timings are not what is tested; max_examples bounds the run
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_every_generated_request_gets_a_documented_answer_and_never_a_5xx(case: Any, api: str) -> None:
    CASES[f"{case.operation.method.upper()} {case.operation.path}"] += 1  # probes of other methods included
    case.call_and_validate(base_url=api)


def test_the_fuzzed_document_is_the_one_the_api_serves(api: str) -> None:
    served = requests.get(f"{api}/openapi.json", timeout=10).json()
    assert served == served_document()
    assert served != json.loads(OPENAPI_FILE.read_text()), "the farm's fleet is in the served document"
    turbine = next(p for p in served["paths"]["/predict"]["get"]["parameters"] if p["name"] == "Wind_turbine_name")
    assert turbine["schema"]["anyOf"][0]["enum"] == ["R80711", "R80721", "R80736", "R80790"]


def test_at_least_500_cases_were_sent_across_every_operation() -> None:
    """Runs after the fuzzing above (pytest keeps a module's order): the fuzzing really happened."""
    if not CASES:
        pytest.skip("run with the fuzzing test above: it sends the cases this counts")
    operations = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items()
                  for method in item}  # fmt: skip
    assert set(CASES) == operations
    assert sum(CASES.values()) >= 500, CASES
    print(f"\nfuzzing: {sum(CASES.values())} cases: {dict(sorted(CASES.items()))}")  # shown with -s / -rP
