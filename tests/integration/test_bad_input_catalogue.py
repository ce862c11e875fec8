"""The bad-input catalogue: every kind of bad request the API can be sent, over HTTP to the local API.

Each case names what is wrong, and asserts the exact status and the field the error names: in the
error's ``details`` for a request refused whole, or in the record's ``errors`` for a record refused
inside a ``POST`` whose other records are still scored. Never a 5xx, never a stack trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

JSON = {"Content-Type": "application/json"}
GOOD = {"Ws_avg": 8.0}


@dataclass(frozen=True)
class Bad:
    """One bad request: how it is sent, the status it must get, and the field the error must name."""

    method: str
    status: int
    field: str
    params: Any = None
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    path: str = "/predict"
    in_record: bool = False  # the record is refused, the request is not: 200 with the good record scored


def post(records: Any, **kw: Any) -> Bad:
    """A ``POST`` of ``records``; with ``in_record`` the good record beside the bad one must be scored."""
    in_record = kw.pop("in_record", False)
    sent = [records, GOOD] if in_record else records
    return Bad("POST", body=json.dumps({"records": sent}, allow_nan=True), in_record=in_record, **kw)


def record(bad: dict[str, Any], field_name: str) -> Bad:
    """One bad record in a ``POST``, beside a good one: 200, the bad one rejected naming the field."""
    return post(bad, status=200, field=field_name, in_record=True)


def query(params: Any, field_name: str) -> Bad:
    return Bad("GET", status=400, field=field_name, params=params)


NESTED = '{"records": [' + "[" * 100_000 + "]" * 100_000 + "]}"

CATALOGUE: dict[str, Bad] = {
    # Values that are not numbers, or not finite, or not plausible.
    "query: not a number": query({"Ws1_avg": "ten"}, "Ws1_avg"),
    "query: NaN": query({"Ws1_avg": "NaN"}, "Ws1_avg"),
    "query: Infinity": query({"Ws1_avg": "Infinity"}, "Ws1_avg"),
    "query: -Infinity": query({"P_avg": "-inf"}, "P_avg"),
    "query: 1e309 overflows to infinity": query({"Ws1_avg": "1e309"}, "Ws1_avg"),
    "query: negative wind speed": query({"Ws1_avg": "-4"}, "Ws1_avg"),
    "query: hex number": query({"Ws1_avg": "0x10"}, "Ws1_avg"),
    "query: digits with underscores": query({"Ws1_avg": "1_0"}, "Ws1_avg"),
    "query: empty field name": query({"": "4"}, ""),
    "query: unknown field": query({"speed": "4"}, "speed"),
    "query: field given twice": query([("Ws_avg", "4"), ("Ws_avg", "5")], "Ws_avg"),
    "query: timestamp without offset": query({"Date_time": "2015-01-01T00:00:00"}, "Date_time"),
    "query: timestamp that is no date": query({"Date_time": "yesterday"}, "Date_time"),
    "query: year 9999": query({"Date_time": "9999-01-01T00:00:00+00:00"}, "Date_time"),
    "query: SQL injection in a value": query({"Ws1_avg": "1; DROP TABLE predictions--"}, "Ws1_avg"),
    "query: script tag in a turbine name": query(
        {"Wind_turbine_name": "<script>alert(1)</script>"}, "Wind_turbine_name"
    ),
    "query: control characters in a value": query({"Ws1_avg": "1\x00\x1b[2J"}, "Ws1_avg"),
    "query: unicode digits": query({"Ws1_avg": "١٠"}, "Ws1_avg"),
    "record: string that is not a number": record({"Ws_avg": "fast"}, "Ws_avg"),
    "record: boolean": record({"Ws_avg": True}, "Ws_avg"),
    "record: null turbine name is fine, a number is not": record({"Wind_turbine_name": 80711}, "Wind_turbine_name"),
    "record: list as a value": record({"P_avg": [1, 2]}, "P_avg"),
    "record: object as a value": record({"P_avg": {"value": 1}}, "P_avg"),
    "record: NaN literal": record({"Ws_avg": float("nan")}, "Ws_avg"),
    "record: Infinity literal": record({"Ws_avg": float("inf")}, "Ws_avg"),
    # JSON that json.dumps would never write, spelled out.
    "record: 1e309": Bad("POST", 200, "Ws_avg", body='{"records": [{"Ws_avg": 1e309}, {"Ws_avg": 8}]}', in_record=True),
    "record: duplicated field": Bad(
        "POST", 200, "Ws_avg", body='{"records": [{"Ws_avg": 1, "Ws_avg": 2}, {}]}', in_record=True
    ),
    "record: negative wind speed": record({"Ws_avg": -3}, "Ws_avg"),
    "record: temperature below absolute zero": record({"Ot_avg": -300}, "Ot_avg"),
    "record: unknown field": record({"Ws_avg": 5, "colour": "red"}, "colour"),
    "record: unicode field name": record({"Wś_avg": 5}, "Wś_avg"),
    "record: control characters in a field name": record({"Ws_avg\u0000\u001b": 5}, "Ws_avg\\x00\\x1b"),
    "record: not an object": record([1, 2, 3], "record"),  # type: ignore[arg-type]
    # Envelopes refused whole.
    "body: empty": Bad("POST", 400, "body", body=""),
    "body: invalid JSON": Bad("POST", 400, "body", body="{oops"),
    "body: a JSON array, not an object": Bad("POST", 400, "body", body="[]"),
    "body: no records": Bad("POST", 400, "records", body="{}"),
    "body: records is not an array": Bad("POST", 400, "records", body='{"records": {"Ws_avg": 1}}'),
    "body: zero records": Bad("POST", 400, "records", body='{"records": []}'),
    "body: unknown top-level field": Bad("POST", 400, "extra", body='{"records": [{}], "extra": 1}'),
    "body: duplicated key": Bad("POST", 400, "records", body='{"records": [{"Ws_avg": 1}], "records": []}'),
    "body: deeply nested JSON": Bad("POST", 400, "body", body=NESTED),
    "body: 10,001 records": post([GOOD] * 10_001, status=413, field="records"),
    "body: over the 6 MB limit": Bad("POST", 413, "body", body='{"records": [{"Ws_avg": 1' + " " * 6_000_000 + "}]}"),
    "body: wrong content type": Bad(
        "POST", 400, "Content-Type", body='{"records": [{}]}', headers={"Content-Type": "text/plain"}
    ),
    "body: no content type": Bad("POST", 400, "Content-Type", body='{"records": [{}]}', headers={}),
    "record: lone surrogate in a turbine name": Bad(
        "POST", 200, "Wind_turbine_name", in_record=True, body='{"records": [{"Wind_turbine_name": "\\ud800"}, {}]}'
    ),
    # Routes and methods.
    "route: unknown path": Bad("GET", 404, "path", path="/nowhere"),
    "route: path traversal": Bad("GET", 404, "path", path="/predict/../../etc/passwd"),
    "method: PUT /predict": Bad("PUT", 405, "method"),
    "method: DELETE /health": Bad("DELETE", 405, "method", path="/health"),
}


def test_the_catalogue_has_at_least_thirty_cases() -> None:
    assert len(CATALOGUE) >= 30


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_bad_input_gets_the_exact_status_and_names_the_field(api: str, name: str) -> None:
    case = CATALOGUE[name]
    answer = requests.request(
        case.method, f"{api}{case.path}", params=case.params, data=case.body, headers=case.headers, timeout=60
    )
    assert answer.status_code == case.status, answer.text[:500]
    assert answer.headers["Content-Type"].startswith("application/json"), answer.headers
    payload = answer.json()
    assert "Traceback" not in answer.text
    if case.in_record:
        bad, good = payload["results"]
        assert not bad["ok"]
        assert case.field in [e["field"] for e in bad["errors"]], bad
        assert good["ok"], "the good record beside the bad one is still scored"
        assert payload["scored"] == 1
    else:
        assert case.field in [d["field"] for d in payload["details"]], payload
