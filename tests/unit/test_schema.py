import json
from typing import Any

import pytest

from windpitch import schema


def test_schema_covers_the_engie_export_138_columns(seed_record: dict[str, Any]) -> None:
    assert len(schema.ALL_FIELDS) == 138
    assert set(schema.ALL_FIELDS) == set(seed_record)


@pytest.mark.parametrize(
    ("field", "unit", "low", "high"),
    [
        ("Ba_avg", "deg", -10, 100),
        ("Ws_avg", "m/s", 0, 60),
        ("Ws1_max", "m/s", 0, 60),
        ("P_avg", "kW", -100, 2300),
        ("Wa_avg", "deg", 0, 360),
        ("Ya_min", "deg", 0, 360),
        ("Ot_avg", "deg_C", -40, 60),
    ],
)
def test_ranges_are_physically_plausible(field: str, unit: str, low: float, high: float) -> None:
    spec = schema.FIELDS[field]
    assert (spec.unit, spec.low, spec.high) == (unit, low, high)


def test_standard_deviations_are_non_negative_and_bounded_by_the_span() -> None:
    for name, spec in schema.FIELDS.items():
        if name.endswith("_std"):
            assert spec.low == 0
            assert spec.high == spec.variable.high - spec.variable.low


def test_model_inputs_are_schema_fields_or_time() -> None:
    for name in schema.SIGNAL_INPUTS:
        assert name in schema.FIELDS
    assert schema.TARGET not in schema.MODEL_INPUTS
    assert schema.MODEL_INPUTS[-2:] == ("month", "hour")


def test_as_dict_is_json_and_marks_what_the_model_uses() -> None:
    data = json.loads(json.dumps(schema.as_dict()))
    assert data["fields"]["Ws1_avg"]["used_by_model"] is True
    assert data["fields"]["Ws_avg"]["used_by_model"] is True
    assert data["fields"]["Gost_avg"]["used_by_model"] is False
    assert data["fields"]["P_avg"] == {
        "unit": "kW",
        "description": "Active power (10-minute mean, kW)",
        "minimum": -100.0,
        "maximum": 2300.0,
        "used_by_model": True,
    }


@pytest.mark.parametrize("year", [1, 999, 1989, 1990, 2015, 2099, 2100, 9999])
def test_the_documented_year_pattern_agrees_with_the_domain(year: int) -> None:
    import re

    from windpitch.records import InvalidRecord, parse_record
    from windpitch.schema import YEAR_PATTERN, YEARS

    stamp = f"{year:04d}-06-01T00:00:00+00:00"
    try:
        parse_record({"Date_time": stamp})
        accepted = True
    except InvalidRecord:
        accepted = False
    assert accepted == (YEARS[0] <= year < YEARS[1]) == bool(re.match(YEAR_PATTERN, stamp))
