"""One rulebook: the record path (API, CLI, embedded) and the frame path (batch, training) give every
record the same verdict and the same reason, for arbitrary records (hypothesis), with a farm's limits."""

from __future__ import annotations

import string
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from windpitch.errors import describe
from windpitch.farm import Farm
from windpitch.records import InvalidRecord, parse_record, record_errors
from windpitch.rules import RULEBOOK, Applies, Kind, checks_for
from windpitch_frames import quality
from windpitch_frames.loading import load_scada

# A mixed fleet: limits differ per turbine, and a record without one is judged by the widest.
FARM = Farm({"WTG01": 3300.0, "WTG02": 2050.0}, "asset table")
NUMERIC = ("Ba_avg", "P_avg", "P_std", "S_max", "Ws1_avg", "Ws_avg", "Ot_avg", "Wa_avg", "Rm_avg")

# Cells as a CSV writes them: no delimiter, quote or line break (SCADA exports quote nothing).
cell_text = st.text(alphabet=string.printable.translate(str.maketrans("", "", ',"\n\r\x0b\x0c')), max_size=12)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-5000, 5000).map(lambda x: f"{x:g}"),
    st.integers(-10_000, 10_000).map(str),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-Infinity", "1e400", "1_0", "١٠", "+.5", "1.", " 7 ", "0x10"]),
    st.sampled_from(["2300", "2300.0000000000005", "3702.4390243902435", "3702.44", "-100", "-161", "60", "60.1"]),
    cell_text,
)
turbines = st.one_of(
    st.sampled_from(["WTG01", "WTG02", "WTG03", "", " ", "<script>", "a b", "R-1.x", "x" * 70]), cell_text
)
stamps = st.one_of(
    st.sampled_from(
        [
            "",
            "2015-06-01T00:00:00+00:00",
            "2015-06-01T00:00:00+02:00",
            "2015-06-01T00:00:00Z",
            "2015-06-01T00:00:00",
            "2015-06-01 00:00:00+01:00",
            "2150-01-01T00:00:00+00:00",
            "1989-12-31T23:00:00-01:00",
            "2015-13-01T00:00:00+00:00",
            "yesterday",
            "2015-06-01T00:00:00 01:00",
        ]
    ),
    st.datetimes().map(lambda d: d.isoformat() + "+00:00"),
    cell_text,
)


@st.composite
def files(draw: st.DrawFn) -> tuple[list[str], list[dict[str, str]]]:
    """A SCADA file's header (columns in any order; a file without turbine or time is refused whole) and rows."""
    columns = draw(st.lists(st.sampled_from(NUMERIC), min_size=1, max_size=6, unique=True))
    for name in ("Wind_turbine_name", "Date_time"):
        columns.insert(draw(st.integers(0, len(columns))), name)
    makers = {"Wind_turbine_name": turbines, "Date_time": stamps}
    rows = draw(st.lists(st.fixed_dictionaries({c: makers.get(c, numbers) for c in columns}), min_size=1, max_size=6))
    return columns, rows


def frame_verdicts(columns: list[str], rows: list[dict[str, str]]) -> list[str]:
    """The frame path's reason per row ("" when it can be scored), in the file's order."""
    text = "\n".join([",".join(columns), *(",".join(row[c] for c in columns) for row in rows)]) + "\n"
    frame, report = load_scada(text.encode(), name="t.csv", keep_invalid=True, farm=FARM)
    assert report.bad_lines == [], "every generated line has the header's width"
    by_line = dict(zip(frame["_line"], frame["_problem"], strict=True))
    return [by_line[line] for line in range(2, len(rows) + 2)]


TIME = {"Date_time": "2015-06-01T00:00:00+00:00"}


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(files())
@example((["Wind_turbine_name", "Date_time", "P_avg"], [{"Wind_turbine_name": "WTG01", **TIME, "P_avg": "3000"}]))
@example((["Wind_turbine_name", "Date_time", "P_avg"], [{"Wind_turbine_name": "WTG02", **TIME, "P_avg": "3000"}]))
@example((["Date_time", "Wind_turbine_name", "Ws_avg"], [{**TIME, "Wind_turbine_name": "", "Ws_avg": "nan"}]))
def test_both_paths_give_every_record_the_same_verdict_and_reason(file: tuple[list[str], list[dict[str, str]]]) -> None:
    columns, rows = file
    records = [{c: row[c] for c in columns} for row in rows]  # a record's fields in the file's column order
    expected = [describe(record_errors(record, FARM, files=True)) for record in records]
    assert frame_verdicts(columns, rows) == expected


def test_the_cases_above_are_judged_as_an_operator_expects() -> None:
    """The examples pinned above, spelled out: a 3.3 MW turbine may make 3,000 kW, a 2 MW one may not."""
    ok = {"Wind_turbine_name": "WTG01", "Date_time": "2015-06-01T00:00:00+00:00", "P_avg": "3000"}
    assert record_errors(ok, FARM, files=True) == []
    [error] = record_errors({**ok, "Wind_turbine_name": "WTG02"}, FARM, files=True)
    assert (error.field, error.reason) == ("P_avg", "out of range: 3000 kW is outside [-100, 2300]")
    [error] = record_errors({**ok, "Wind_turbine_name": "WTG03"}, FARM, files=True)
    assert error.field == "Wind_turbine_name"
    assert error.reason.startswith("unknown turbine 'WTG03': the model's fleet is WTG01, WTG02")


def test_an_unknown_turbine_gets_the_same_verdict_from_the_api_path_as_from_the_batch() -> None:
    """One verdict everywhere: refused, naming the fleet (its residual was never learned)."""
    with pytest.raises(InvalidRecord) as refused:
        parse_record({"Wind_turbine_name": "WTG03", "Ws_avg": 8}, FARM)
    frame = pd.DataFrame({"Wind_turbine_name": ["WTG03"], "Date_time": ["2015-06-01T00:00:00Z"], "Ws_avg": ["8"]})
    assert quality.judge(frame, FARM).problems.tolist() == [str(refused.value)]


def test_requests_may_leave_out_what_a_files_row_must_carry() -> None:
    """The table says where checks apply: a file's row needs its turbine, time and a measurement."""
    assert parse_record({}, FARM).imputed[-1] == "Date_time"
    assert [str(e) for e in record_errors({}, FARM, files=True)] == [
        "Wind_turbine_name: missing",
        "Date_time: missing",
        "record: no measurements (every signal the model reads is empty)",
    ]
    assert {c.name for c in RULEBOOK if c.applies is Applies.FILES} == {
        "missing_time",
        "missing_turbine",
        "no_measurements",
    }


def test_every_check_of_the_table_has_its_column_form() -> None:
    """The frame path refuses to import with a check it cannot run; this names the contract."""
    assert {c.name for c in RULEBOOK if c.kind is not Kind.ROW} == set(quality.COLUMN_CHECKS)
    assert [c.name for c in checks_for(Kind.NUMBER)] == ["not_a_number", "not_finite", "out_of_range"]


def test_a_column_given_twice_is_refused_in_every_row_as_a_repeated_json_key_is() -> None:
    text = b"Wind_turbine_name,Date_time,Ws_avg,Ws_avg\nWTG01,2015-06-01T00:00:00Z,5,6\n"
    frame, _ = load_scada(text, keep_invalid=True, farm=FARM)
    [problem] = frame["_problem"].tolist()
    assert problem.startswith("Ws_avg: given more than once (2 times)")
    record: Any = {"Ws_avg": parse_record.__globals__["Repeated"]((5, 6))}
    with pytest.raises(InvalidRecord, match=r"Ws_avg: given more than once \(2 times\)"):
        parse_record(record, FARM)
