import math
from datetime import UTC, datetime
from typing import Any

import pytest

from windpitch.records import InvalidRecord, Repeated, parse_record, parse_timestamp
from windpitch.schema import MODEL_INPUTS

WS = MODEL_INPUTS.index("Ws_avg")


def errors_of(record: Any) -> dict[str, str]:
    with pytest.raises(InvalidRecord) as caught:
        parse_record(record)
    return {e.field: e.reason for e in caught.value.errors}


def test_seed_row_validates_as_it_is(seed_record: dict[str, Any]) -> None:
    parsed = parse_record(seed_record)
    # Its quirks are real SCADA: Ws1_max < Ws1_avg, Wa_max < Wa_min across north; None is missing.
    assert parsed.imputed == ()
    assert parsed.derived == ()  # Ws_avg is given (0.18), so it is used as given
    assert parsed.inputs[WS] == 0.18
    assert parsed.measured_pitch == 44.99
    assert parsed.turbine == "R80721"
    assert parsed.timestamp == datetime(2017, 2, 8, 7, 0, tzinfo=UTC)
    assert parsed.inputs[-2:] == [2.0, 7.0]  # month, hour in UTC


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"Ws1_avg": 10}, 10.0),
        ({"Ws2_avg": 8}, 8.0),
        ({"Ws1_avg": 10, "Ws2_avg": 8}, 9.0),
        ({"Ws1_avg": 10, "Ws2_avg": None}, 10.0),
    ],
)
def test_wind_speed_is_derived_from_the_anemometers(record: dict[str, Any], expected: float) -> None:
    parsed = parse_record(record)
    assert parsed.inputs[WS] == expected
    assert parsed.derived == ("Ws_avg",)
    assert "Ws_avg" not in parsed.imputed


def test_given_wind_speed_wins_over_the_anemometers() -> None:
    parsed = parse_record({"Ws_avg": 5, "Ws1_avg": 10})
    assert parsed.inputs[WS] == 5.0
    assert parsed.derived == ()


def test_missing_inputs_are_reported_as_imputed() -> None:
    parsed = parse_record({"P_avg": 100, "Ws_avg": ""})
    assert parsed.imputed == ("Ws_avg", "Va_avg", "Ot_avg", "Ya_avg", "Wa_avg", "Date_time")
    assert math.isnan(parsed.inputs[WS])


@pytest.mark.parametrize("value", [10, 10.0, "10", " 10 ", "1e1", "+10.0", "10."])
def test_numbers_in_any_plain_spelling(value: Any) -> None:
    assert parse_record({"Ws_avg": value}).inputs[WS] == 10.0


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"Wind_speed": 3}, "Wind_speed", "unknown field"),
        ({"Ws_avg": "fast"}, "Ws_avg", "not a number"),
        ({"Ws_avg": "nan"}, "Ws_avg", "not a finite number"),
        ({"Ws_avg": "-Infinity"}, "Ws_avg", "not a finite number"),
        ({"Ws_avg": "1e309"}, "Ws_avg", "not a finite number"),
        ({"Ws_avg": float("nan")}, "Ws_avg", "not a finite number"),
        ({"Ws_avg": float("inf")}, "Ws_avg", "not a finite number"),
        ({"Ws_avg": True}, "Ws_avg", "not a number"),
        ({"Ws_avg": [1]}, "Ws_avg", "expected a number, got list"),
        ({"Ws_avg": "1_0"}, "Ws_avg", "not a number"),
        ({"Ws_avg": "١٠"}, "Ws_avg", "not a number"),  # float() reads Arabic-Indic digits; SCADA never writes them
        ({"Ws_avg": 1, "Wind_turbine_name": Repeated(("a", "b"))}, "Wind_turbine_name", "given more than once"),
        ({"Ws_avg": -1}, "Ws_avg", "out of range: -1 m/s is outside [0, 60]"),
        ({"Ba_avg": 263}, "Ba_avg", "out of range"),
        ({"Ot_avg": -273.2}, "Ot_avg", "out of range"),
        ({"Ws_std": -0.1}, "Ws_std", "out of range"),
        ({"Date_time": "yesterday"}, "Date_time", "not an ISO 8601 timestamp"),
        ({"Date_time": "2014-01-01T01:00:00"}, "Date_time", "no UTC offset"),
        ({"Date_time": "1800-01-01T00:00:00+00:00"}, "Date_time", "out of range"),
        ({"Date_time": 1388534400}, "Date_time", "expected a string"),
        ({"Wind_turbine_name": "<script>"}, "Wind_turbine_name", "not a turbine name"),
        ({"Wind_turbine_name": 7}, "Wind_turbine_name", "expected a string"),
    ],
)
def test_bad_fields_are_named_with_the_reason(record: dict[str, Any], field: str, reason: str) -> None:
    errors = errors_of(record)
    assert list(errors) == [field]
    assert reason in errors[field]


def test_every_bad_field_is_reported_at_once() -> None:
    errors = errors_of({"Ws_avg": "x", "P_avg": 1e6, "bogus": 1, "Ot_avg": 3})
    assert set(errors) == {"Ws_avg", "P_avg", "bogus"}


def test_a_record_must_be_an_object() -> None:
    assert errors_of([1, 2]) == {"record": "must be an object, got list"}


def test_hostile_field_names_are_echoed_safely() -> None:
    errors = errors_of({"a\x00b" + "x" * 200: 1})
    [name] = errors
    assert name.isprintable()
    assert len(name) <= 64


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2014-01-01T01:00:00+01:00", datetime(2014, 1, 1, 0, 0, tzinfo=UTC)),
        ("2014-01-01T01:00:00 01:00", datetime(2014, 1, 1, 0, 0, tzinfo=UTC)),  # '+' decoded to ' ' in a URL
        ("2014-06-01T00:00:00Z", datetime(2014, 6, 1, 0, 0, tzinfo=UTC)),
        ("2014-06-01T02:30:00-02:00", datetime(2014, 6, 1, 4, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_convert_to_utc(text: str, utc: datetime) -> None:
    assert parse_timestamp(text) == utc
