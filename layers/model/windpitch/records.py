"""Parse and validate one SCADA record (a dict of fields) into the model's input vector.

Pure Python on purpose: the single-record path (an API request, the CLI) must not build a pandas
DataFrame or even a numpy array per field. The checks are the rulebook's (:mod:`windpitch.rules`), with
the limits of the model's farm; every problem becomes a :class:`FieldError` naming the field and the
reason, and all of a record's problems are reported at once.

Example:
    >>> r = parse_record({"Ws1_avg": 10})
    >>> r.inputs[1], r.derived
    (10.0, ('Ws_avg',))
    >>> parse_record({"Ws_avg": "fast"})
    Traceback (most recent call last):
    ...
    windpitch.errors.InvalidRecord: Ws_avg: not a number: 'fast'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import numpy as np

from .errors import FieldError, InvalidRecord
from .farm import Farm
from .features import derive_wind_speed
from .rules import Context, Kind, Refused, absent_from_file, checks_for, judge_field, time_verdict
from .schema import ANEMOMETERS, MODEL_INPUTS, SIGNAL_INPUTS, TARGET, TIME_FIELD, TURBINE_FIELD

__all__ = ["FieldError", "InvalidRecord", "ParsedRecord", "Repeated", "object_pairs", "parse_record"]

_INPUT_INDEX: Final = {name: i for i, name in enumerate(MODEL_INPUTS)}
_REFERENCE: Final = Farm.reference()
_ROW_CHECKS_IN_FILES: Final = checks_for(Kind.ROW, files=True)


@dataclass
class ParsedRecord:
    """A valid record reduced to what the model reads, plus what the caller should be told."""

    inputs: list[float]  # in MODEL_INPUTS order; NaN where the model must impute
    imputed: tuple[str, ...]  # record fields the model filled with its training defaults
    derived: tuple[str, ...] = ()  # fields computed from others (Ws_avg from the anemometers)
    measured_pitch: float | None = None
    turbine: str | None = None
    timestamp: datetime | None = None
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Repeated:
    """A field a JSON object gave more than once: which value was meant is unknowable, so it is refused."""

    values: tuple[Any, ...]


def object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads(..., object_pairs_hook=object_pairs)``: a key given twice becomes :class:`Repeated`.

    Plain ``json.loads`` keeps the last value silently; a record with ``"Ws_avg"`` twice is refused instead.

    Example:
        >>> import json
        >>> json.loads('{"Ws_avg": 1, "Ws_avg": 2}', object_pairs_hook=object_pairs)
        {'Ws_avg': Repeated(values=(1, 2))}
    """
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            earlier = found[key]
            found[key] = Repeated((*earlier.values, value) if isinstance(earlier, Repeated) else (earlier, value))
        else:
            found[key] = value
    return found


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 timestamp with a UTC offset, converted to UTC.

    Example:
        >>> parse_timestamp("2014-01-01T01:00:00+01:00").isoformat()
        '2014-01-01T00:00:00+00:00'

    Raises:
        InvalidRecord: naming ``Date_time`` and the reason.
    """
    try:
        stamp = judge_field(TIME_FIELD, value, Context(_REFERENCE))
    except Refused as bad:
        raise InvalidRecord([FieldError(TIME_FIELD, bad.reason)]) from None
    if stamp is None:
        raise InvalidRecord([FieldError(TIME_FIELD, "missing")])
    return stamp


def record_errors(record: Mapping[str, Any], farm: Farm = _REFERENCE, files: bool = False) -> list[FieldError]:
    """Every problem of a record under the rulebook, in the record's field order, then the row's own.

    ``files``: judge it as a row of a SCADA file (the batch): turbine and time required, a measurement too.
    What the frame path (``windpitch_frames.quality``) gives each row of a file, one record at a time.
    """
    try:
        parse_record(record, farm, files=files)
    except InvalidRecord as bad:
        return bad.errors
    return []


def parse_record(record: Mapping[str, Any], farm: Farm = _REFERENCE, *, files: bool = False) -> ParsedRecord:
    """Validate one record against the rulebook and the farm's limits, and reduce it to the model's inputs.

    Raises:
        InvalidRecord: with every bad field named (unknown field, not a number, not finite, out of
            range, bad timestamp, bad or unknown turbine name, a field given twice).
    """
    if not isinstance(record, Mapping):
        raise InvalidRecord([FieldError("record", f"must be an object, got {type(record).__name__}")])
    errors: list[FieldError] = []
    values: dict[str, float] = {}
    named: dict[str, Any] = {}  # the turbine and the timestamp, parsed
    # The turbine first: power-like limits are its own (a record without one, or with a bad one, gets the
    # fleet's widest, so its other fields are still judged and reported).
    turbine = record.get(TURBINE_FIELD)
    known = turbine if isinstance(turbine, str) and turbine in farm.turbines else None
    ranges = farm.ranges(known)
    ctx = None  # built only for a value off the fast path (most requests have none but time and turbine)
    for name, value in record.items():
        # Fast path for what clients almost always send, a JSON number within its field's range
        # (NaN and ±inf fail the comparison and take the full check below): a third of the time.
        kind = type(value)
        if kind is float or kind is int:
            bounds = ranges.get(name)
            if bounds is not None and bounds[0] <= value <= bounds[1]:
                values[name] = float(value)
                continue
        elif value is None and name in ranges:
            continue  # a missing measurement (JSON null): imputed, in a request and in a file alike
        elif value is known and name == TURBINE_FIELD:
            named[name] = value  # a fleet member passes every turbine check (names are checked in Farm)
            continue
        elif kind is str and name == TIME_FIELD:
            stamp = time_verdict(value, files)  # the rulebook's timestamp checks; they need no farm
            if isinstance(stamp, Refused):
                errors.append(FieldError(name, stamp.reason))
            elif stamp is not None:
                named[name] = stamp
            continue
        if ctx is None:
            ctx = Context(farm, known)
        _judge_slow(name, value, ctx, files, (values, named, errors))
    if files:
        errors += _file_row_errors(record, ctx or Context(farm, known))
    if errors:
        raise InvalidRecord(errors)
    return _reduce(values, named.get(TURBINE_FIELD), named.get(TIME_FIELD))


def _judge_slow(
    name: str,
    value: Any,
    ctx: Context,
    files: bool,
    into: tuple[dict[str, float], dict[str, Any], list[FieldError]],
) -> None:
    """A value off the fast path, through the rulebook: its parse into ``values``/``named``, or its error."""
    values, named, errors = into
    if isinstance(value, Repeated):
        errors.append(FieldError(_safe_name(name), f"given more than once ({len(value.values)} times)"))
        return
    try:
        parsed = judge_field(name, value, ctx, files)
    except Refused as bad:
        errors.append(FieldError(_safe_name(name), bad.reason))
        return
    if parsed is None:
        return
    if name in (TIME_FIELD, TURBINE_FIELD):
        named[name] = parsed
    else:
        values[name] = parsed


def _file_row_errors(record: Mapping[str, Any], ctx: Context) -> list[FieldError]:
    """A file's row must name its turbine and time (checked above when present) and carry a measurement."""
    errors = []
    for name in (TURBINE_FIELD, TIME_FIELD):
        reason = absent_from_file(name, ctx.farm) if name not in record else None
        if reason is not None:
            errors.append(FieldError(name, reason))
    for check in _ROW_CHECKS_IN_FILES:
        reason = check.test(record, ctx)
        if reason is not None:
            errors.append(FieldError("record", reason))
    return errors


def _reduce(values: dict[str, float], turbine: str | None, stamp: datetime | None) -> ParsedRecord:
    """Derive what is derivable, then lay out the model's inputs (NaN = impute)."""
    derived: tuple[str, ...] = ()
    if "Ws_avg" not in values and any(a in values for a in ANEMOMETERS):
        absent = np.array([math.nan])
        anemometers = [np.array([values[a]]) if a in values else absent for a in ANEMOMETERS]
        values["Ws_avg"] = float(derive_wind_speed(absent, *anemometers)[0])
        derived = ("Ws_avg",)
    nan = math.nan
    inputs = [values.get(name, nan) for name in SIGNAL_INPUTS]
    imputed = [name for name in SIGNAL_INPUTS if name not in values]
    if stamp is None:
        inputs += [nan, nan]
        imputed.append(TIME_FIELD)
    else:
        inputs += [float(stamp.month), float(stamp.hour)]
    return ParsedRecord(inputs, tuple(imputed), derived, values.get(TARGET), turbine, stamp, values)


def input_index(name: str) -> int:
    """Position of a model input in :data:`MODEL_INPUTS`."""
    return _INPUT_INDEX[name]


def _safe_name(name: Any, limit: int = 64) -> str:
    """A client's field name fit to echo back: printable, and short."""
    text = str(name)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."
