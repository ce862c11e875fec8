"""An answer's size does not grow with a request's mistakes (issue 25, item 1): unknown fields are named up to five
and counted beyond, a record's errors listed up to 20 and counted beyond, one answer lists at most 1,000 errors, and
every error body goes through the same bound. Each case answers a 4xx or a 200 within 256 KB."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import LambdaContext, api_event
from windpitch.errors import MAX_LISTED
from windpitch.predict import MAX_LISTED_PER_ANSWER
from windpitch.rules import Kind, kind_of
from windpitch.schema import FIELDS

pytestmark = pytest.mark.usefixtures("use_synthetic_model")
BUDGET = 256 * 1024


def answer(functions: dict[str, Any], event: dict[str, Any]) -> tuple[int, str]:
    response = functions["predict"].lambda_handler(event, LambdaContext())
    return response["statusCode"], response["body"]


def post(functions: dict[str, Any], body: str) -> tuple[int, str]:
    return answer(functions, api_event("predict_post_seed", body=body))


def test_a_record_of_150000_unknown_fields_is_answered_small(functions: dict[str, Any]) -> None:
    record = {"Ws1_avg": 10, **{f"field_{i}": 1 for i in range(150_000)}}
    status, body = post(functions, json.dumps({"records": [record]}))

    assert status == 200
    assert len(body.encode()) < 2_000, "one rejected record answers its errors, bounded"
    errors = json.loads(body)["results"][0]["errors"]
    assert [e["field"] for e in errors[:5]] == [f"field_{i}" for i in range(5)]
    assert errors[5] == {"field": "record", "reason": "149,995 more unknown fields, not named"}


def test_8000_unknown_query_fields_are_answered_small(functions: dict[str, Any]) -> None:
    params = {f"q{i}": ["1"] for i in range(8_000)}
    status, body = answer(functions, api_event(
        "predict_get_ws1", queryStringParameters={k: v[0] for k, v in params.items()},
        multiValueQueryStringParameters=params,
    ))  # fmt: skip

    assert status == 400
    assert len(body.encode()) < 2_000
    details = json.loads(body)["details"]
    assert len(details) <= MAX_LISTED
    assert any("more" in d["reason"] and "7,995" in d["reason"] for d in details), details


def test_a_record_of_many_bad_values_lists_twenty_and_counts_the_rest(functions: dict[str, Any]) -> None:
    numbers = [name for name in FIELDS if kind_of(name) is Kind.NUMBER]
    assert len(numbers) > MAX_LISTED
    record = dict.fromkeys(numbers, "not a number")
    status, body = post(functions, json.dumps({"records": [record]}))

    errors = json.loads(body)["results"][0]["errors"]
    assert status == 200 and len(errors) == MAX_LISTED
    assert errors[-1] == {"field": "record", "reason": f"{len(numbers) - MAX_LISTED + 1:,} more errors, not listed"}


def test_10000_records_full_of_mistakes_stay_under_lambdas_limit(functions: dict[str, Any]) -> None:
    record = {f"u{i}": 1 for i in range(30)}
    status, body = post(functions, json.dumps({"records": [record] * 10_000}))

    assert status == 200
    results = json.loads(body)["results"]
    listed = sum(len(r["errors"]) for r in results if r["errors"][0]["reason"].find("not listed: one answer") < 0)
    assert listed <= MAX_LISTED_PER_ANSWER
    assert results[-1]["errors"] == [
        {"field": "record", "reason": "30 errors, not listed: one answer lists at most 1,000"}
    ]
    assert len(body.encode()) < 1_500_000, "about 130 bytes a record beyond the listed errors, under 6 MB"


def test_a_field_name_of_a_megabyte_is_cut(functions: dict[str, Any]) -> None:
    status, body = post(functions, json.dumps({"records": [{"x" * 1_000_000: 1}]}))

    assert status == 200
    assert len(body.encode()) < BUDGET
    [error] = json.loads(body)["results"][0]["errors"]
    assert len(error["field"]) <= 64


def test_unknown_envelope_keys_are_bounded(functions: dict[str, Any]) -> None:
    body = json.dumps({"records": [{"Ws1_avg": 10}], **{f"k{i}": 1 for i in range(100_000)}})
    status, text = post(functions, body)

    assert status == 400
    assert len(text.encode()) < 2_000
    assert len(json.loads(text)["details"]) <= MAX_LISTED
