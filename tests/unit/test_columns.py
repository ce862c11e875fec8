"""The many-record path (windpitch.columns, windpitch_api.encoding) against the one-record path.

A property test over generated requests: mixes of good records (alike, as clients send them) and bad ones of
every kind. Each request scored at once must give every record exactly what it gets scored alone (the same
pitch to the bit, the same imputed and derived fields, the same errors in the same order), and the encoded
response must be the bytes Powertools writes for the same response as a dict.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.api_gateway import _JSON_DUMP_CALL
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from windpitch.farm import Farm
from windpitch.predict import predict
from windpitch.records import Repeated
from windpitch.runtime import PitchModel
from windpitch_api.encoding import as_payload, encode_response

# A mixed fleet: power limits differ per turbine, and a record without one is judged by the widest.
FARM = Farm({"R80711": 3300.0, "R80721": 2050.0, "R80736": 2050.0, "R80790": 2050.0}, "asset table")
FIELDS = ("P_avg", "Ws_avg", "Ws1_avg", "Ws2_avg", "Va_avg", "Ot_avg", "Ya_avg", "Wa_avg", "Ba_avg", "Rm_avg")

good_numbers = {
    "P_avg": st.floats(-10, 2000),
    "Ws_avg": st.floats(0, 25),
    "Ws1_avg": st.floats(0, 25),
    "Ws2_avg": st.floats(0, 25),
    "Va_avg": st.floats(-30, 30),
    "Ot_avg": st.floats(-20, 40),
    "Ya_avg": st.floats(0, 359),
    "Wa_avg": st.floats(0, 359),
    "Ba_avg": st.floats(-2, 90),
    "Rm_avg": st.floats(0, 1000),
}
bad_values = st.one_of(
    st.sampled_from([None, True, False, "fast", "10", "", [], {}, math.nan, math.inf, -math.inf, 10**400, 1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.builds(lambda a, b: Repeated((a, b)), st.floats(0, 10), st.floats(0, 10)),
)
times = st.sampled_from(["2015-06-01T00:00:00+00:00", "2015-06-01T10:10:00+02:00", "2015-12-31T23:50:00+01:00"])
bad_times = st.sampled_from(["", "yesterday", "2015-06-01T00:00:00", "2015-13-01T00:00:00+00:00", 5, None,
                             "2150-01-01T00:00:00+00:00"])  # fmt: skip
turbines = st.sampled_from(["R80711", "R80721", "R80736"])
bad_turbines = st.sampled_from(["WTG99", "", 7, None, "R80711 "])


@st.composite
def requests(draw: st.DrawFn) -> list[Any]:
    """A request: a shape most records share (its fields, in order), with good values, and some bad records."""
    fields = draw(st.lists(st.sampled_from(FIELDS), min_size=0, max_size=6, unique=True))
    timed, named = draw(st.booleans()), draw(st.booleans())
    records: list[Any] = []
    for _ in range(draw(st.integers(2, 30))):
        record: dict[str, Any] = {}
        if named:
            record["Wind_turbine_name"] = draw(turbines)
        if timed:
            record["Date_time"] = draw(times)
        for name in fields:
            record[name] = draw(st.one_of(good_numbers[name], st.integers(0, 20)))
        kind = draw(st.integers(0, 9))
        if kind == 1 and fields:  # a bad value
            record[draw(st.sampled_from(fields))] = draw(bad_values)
        elif kind == 2:  # an unknown or misspelt field
            record[draw(st.sampled_from(["ws_avg", "Pavg", "Ba_std_x"]))] = 1.0
        elif kind == 3 and timed:
            record["Date_time"] = draw(bad_times)
        elif kind == 4 and named:
            record["Wind_turbine_name"] = draw(bad_turbines)
        elif kind == 5:  # another shape: fields reordered or left out
            record = dict(reversed(list(record.items()))) if draw(st.booleans()) else {}
        elif kind == 6:
            record = draw(st.sampled_from([[], "record", 3, None]))  # not an object at all
        elif kind == 7 and fields:  # a power beyond the smaller turbines' limit, within R80711's
            record["P_avg"] = 3000.0
        records.append(record)
    return records


@pytest.fixture(scope="module")
def model(synthetic_model_dir: Any) -> PitchModel:
    loaded = PitchModel.load(synthetic_model_dir)
    loaded.farm = FARM
    return loaded


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(request_=requests())
@example(request_=[{"Ws1_avg": 10, "Ws2_avg": 12.5}, {"Ws1_avg": 3.0, "Ws2_avg": 4}])  # Ws_avg derived
@example(request_=[{"P_avg": 10**400}, {"P_avg": 1.0}])  # an integer beyond any float
@example(request_=[{"P_avg": True}, {"P_avg": 1.0}])  # a bool is not a number
def test_a_request_scored_at_once_gives_each_record_what_it_gets_alone(model: PitchModel, request_: Any) -> None:
    together = predict(request_, model)
    alone = [predict([record], model)[0] for record in request_]  # one record: the one-record path
    assert [r.as_dict() for r in together] == [r.as_dict() for r in alone]
    encoded = encode_response(together, model.info.version)
    assert encoded == _JSON_DUMP_CALL(as_payload(together, model.info.version))
    assert json.loads(encoded)["scored"] == sum(r.ok for r in together)
