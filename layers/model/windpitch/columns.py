"""The many-record path: a request's records judged a column at a time, with the one-record path's verdicts.

``POST /predict`` sends up to 10,000 records, nearly always alike: the same fields, JSON numbers in range, a
known turbine, a valid time. Such records are judged here by field, not by record: each field's values are
checked for type in one pass and against the turbine's limits with numpy, and the records' model inputs are
laid out as columns. Every record that is not plainly good (a value of another type, out of range, NaN, a
null, an unknown field or turbine, a refused time, a field given twice) is handed whole to
:func:`windpitch.records.parse_record`, so its errors, and every result, are exactly the one-record path's
(``tests/unit/test_columns.py`` checks that on generated mixes of good and bad records).

Example:
    >>> judged = judge_records([{"Ws_avg": 10.0}, {"Ws_avg": "fast"}, {"Ws_avg": 12}])
    >>> judged.good.tolist(), judged.inputs[:, 1].tolist(), judged.errors[1][0].reason
    ([0, 2], [10.0, 12.0], "not a number: 'fast'")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .errors import FieldError, InvalidRecord
from .farm import Farm
from .features import derive_wind_speed
from .records import ParsedRecord, parse_record
from .rules import Refused, time_verdict
from .schema import ANEMOMETERS, MODEL_INPUTS, SIGNAL_INPUTS, TARGET, TIME_FIELD, TURBINE_FIELD

_REFERENCE: Final = Farm.reference()
_NUMBER_TYPES: Final = (float, int)  # exactly these (bool is an int subclass, and is refused)
_UNSEEN: Final[Any] = object()


@dataclass
class Judged:
    """A request's records, judged: the good ones' model inputs (rows in record order), what each good record
    is told (imputed and derived fields, its measured pitch), and each bad record's errors."""

    good: npt.NDArray[np.intp]
    inputs: npt.NDArray[np.float64]
    imputed: list[tuple[str, ...]] = field(default_factory=list)
    derived: list[tuple[str, ...]] = field(default_factory=list)
    measured: list[float | None] = field(default_factory=list)
    errors: dict[int, list[FieldError]] = field(default_factory=dict)


def judge_records(records: Sequence[Any], farm: Farm = _REFERENCE) -> Judged:
    """Judge ``records`` (as the API's body gives them) under the rulebook and ``farm``'s limits."""
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    slow: list[int] = []
    for i, record in enumerate(records):
        turbine = record.get(TURBINE_FIELD) if type(record) is dict else None
        if type(record) is dict and (turbine is None or type(turbine) is str):
            groups[(tuple(record), turbine)].append(i)  # alike records: the same fields in order, one turbine
        else:
            slow.append(i)  # not an object, or a turbine name that is not text: the one-record path says why
    parsed: dict[int, ParsedRecord] = {}
    rows: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], tuple[str, ...], tuple[str, ...], Any]] = []
    verdicts: dict[str, datetime | Refused | None] = {}  # each distinct time text's, shared by the turbines
    for (names, turbine), members in groups.items():
        done = _judge_group(records, members, names, turbine, farm, verdicts)
        if done is None:
            slow += members
            continue
        accepted, refused = done[0], done[1]
        slow += refused
        if len(accepted[0]):
            rows.append(accepted)
    errors: dict[int, list[FieldError]] = {}
    for i in slow:
        try:
            parsed[i] = parse_record(records[i], farm)
        except InvalidRecord as bad:
            errors[i] = bad.errors
    return _assemble(rows, parsed, errors)


def _judge_group(  # noqa: PLR0917 - a group's parts, and the request's shared verdicts
    records: Sequence[Any],
    members: list[int],
    names: tuple[str, ...],
    turbine: str | None,
    farm: Farm,
    verdicts: dict[str, datetime | Refused | None],
) -> tuple[Any, list[int]] | None:
    """The group's plainly good records as columns, and the members to judge one by one; None: all of them."""
    known = turbine if turbine in farm.turbines else None
    if turbine is not None and known is None:
        return None  # an unknown turbine: its errors are the one-record path's
    ranges = farm.ranges(known)
    numeric = [n for n in names if n in ranges]
    others = [n for n in names if n not in ranges]
    if any(n not in (TIME_FIELD, TURBINE_FIELD) for n in others):
        return None  # an unknown field
    ok = np.ones(len(members), dtype=bool)
    values: dict[str, npt.NDArray[np.float64]] = {}
    for name in numeric:
        column = [records[i][name] for i in members]
        typed = np.fromiter((type(v) in _NUMBER_TYPES for v in column), dtype=bool, count=len(column))
        ok &= typed
        try:
            array = np.array([v if t else np.nan for v, t in zip(column, typed, strict=True)], dtype=np.float64)
        except OverflowError:  # an integer beyond any float: out of every range, as the one-record path says
            return None
        low, high = ranges[name]
        with np.errstate(invalid="ignore"):
            ok &= (array >= low) & (array <= high)  # NaN and ±inf fail: the one-record path's full check
        values[name] = array
    stamps: list[datetime | None] = [None] * len(members)
    if TIME_FIELD in names:
        # The rulebook's verdict once per distinct text: a farm's records share their times (four turbines,
        # one interval), and the time checks are most of the judging (9 µs of a record's 12).
        for k, i in enumerate(members):
            text = records[i][TIME_FIELD]
            if type(text) is str:
                verdict = verdicts.get(text, _UNSEEN)
                if verdict is _UNSEEN:
                    verdict = verdicts[text] = time_verdict(text)
            else:
                verdict = None
            if isinstance(verdict, datetime):
                stamps[k] = verdict
            else:
                ok[k] = False  # refused, missing or not text: the one-record path says what it means
    accepted = np.flatnonzero(ok)
    refused = [members[k] for k in np.flatnonzero(~ok)]
    chosen = {name: array[accepted] for name, array in values.items()}
    layout = _layout(chosen, [stamps[k] for k in accepted] if TIME_FIELD in names else None, len(accepted))
    index = np.asarray([members[k] for k in accepted], dtype=np.intp)
    return (index, *layout, chosen.get(TARGET)), refused


def _layout(
    values: Mapping[str, npt.NDArray[np.float64]], stamps: list[datetime | None] | None, count: int
) -> tuple[npt.NDArray[np.float64], tuple[str, ...], tuple[str, ...]]:
    """:func:`windpitch.records._reduce` for a column of alike records: the inputs, imputed and derived."""
    columns = dict(values)
    derived: tuple[str, ...] = ()
    if "Ws_avg" not in columns and any(a in columns for a in ANEMOMETERS):
        nan = np.full(count, np.nan)
        columns["Ws_avg"] = derive_wind_speed(nan, *(columns.get(a, nan) for a in ANEMOMETERS))
        derived = ("Ws_avg",)
    inputs = np.full((count, len(MODEL_INPUTS)), np.nan)
    for j, name in enumerate(SIGNAL_INPUTS):
        if name in columns:
            inputs[:, j] = columns[name]
    imputed = [name for name in SIGNAL_INPUTS if name not in columns]
    if stamps is None:
        imputed.append(TIME_FIELD)
    else:
        inputs[:, len(SIGNAL_INPUTS)] = [float(s.month) for s in stamps]  # type: ignore[union-attr]
        inputs[:, len(SIGNAL_INPUTS) + 1] = [float(s.hour) for s in stamps]  # type: ignore[union-attr]
    return inputs, tuple(imputed), derived


def _assemble(
    rows: list[tuple[Any, ...]],
    parsed: dict[int, ParsedRecord],
    errors: dict[int, list[FieldError]],
) -> Judged:
    """Every good record's row, in record order (the columns' groups and the one-by-one records merged)."""
    width = len(MODEL_INPUTS)
    index_parts = [r[0] for r in rows] + [np.asarray(sorted(parsed), dtype=np.intp)]
    input_parts = [r[1] for r in rows] + [np.asarray([parsed[i].inputs for i in sorted(parsed)]).reshape(-1, width)]
    index = np.concatenate(index_parts) if index_parts else np.empty(0, dtype=np.intp)
    inputs = np.concatenate(input_parts) if input_parts else np.empty((0, width))
    imputed: list[tuple[str, ...]] = []
    derived: list[tuple[str, ...]] = []
    measured: list[float | None] = []
    for r in rows:
        count = len(r[0])
        imputed += [r[2]] * count
        derived += [r[3]] * count
        measured += r[4].tolist() if r[4] is not None else [None] * count
    for i in sorted(parsed):
        imputed.append(parsed[i].imputed)
        derived.append(parsed[i].derived)
        measured.append(parsed[i].measured_pitch)
    order = np.argsort(index, kind="stable")
    return Judged(
        good=index[order],
        inputs=inputs[order],
        imputed=[imputed[k] for k in order],
        derived=[derived[k] for k in order],
        measured=[measured[k] for k in order],
        errors=errors,
    )
