"""Parse and validate one SCADA record (a dict of fields) into the model's input vector.

Pure Python on purpose: the single-record path (an API request, the CLI) must not build a pandas
DataFrame or even a numpy array per field. Every problem becomes a :class:`FieldError` naming the
field and the reason, and all of a record's problems are reported at once.

Example:
    >>> r = parse_record({"Ws1_avg": 10})
    >>> r.inputs[1], r.derived
    (10.0, ('Ws_avg',))
    >>> parse_record({"Ws_avg": "fast"})
    Traceback (most recent call last):
    ...
    windpitch.records.InvalidRecord: Ws_avg: not a number: 'fast'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from .schema import (
    ANEMOMETERS,
    FIELDS,
    MODEL_INPUTS,
    SIGNAL_INPUTS,
    TARGET,
    TIME_FIELD,
    TURBINE_FIELD,
    TURBINE_PATTERN,
    YEARS,
)

# float() also accepts "nan", "inf", "1_000" and surrounding blanks; a SCADA value is plainer.
# ASCII digits only: float() also reads other scripts' digits ("١٠" is 10), which no SCADA system writes.
_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_TURBINE: Final = re.compile(TURBINE_PATTERN)
# In a URL query an unencoded "+" arrives as a space: "2014-01-01T01:00:00 01:00".
_SPACED_OFFSET: Final = re.compile(r"^(.*T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
_INPUT_INDEX: Final = {name: i for i, name in enumerate(MODEL_INPUTS)}
# (low, high) of each numeric field, for the fast path in parse_record.
_RANGES: Final = {name: (spec.low, spec.high) for name, spec in FIELDS.items()}


@dataclass(frozen=True)
class FieldError:
    """Why one field of one record was refused."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class InvalidRecord(ValueError):
    """A record with one or more bad fields; ``errors`` lists them all."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))


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


def parse_number(name: str, value: Any) -> float | None:
    """A finite float within the field's range, or None for a missing value (None or "").

    Raises:
        _Bad: with the reason (the caller knows the field and turns it into a FieldError).
    """
    if value is None:
        return None
    if isinstance(value, bool):  # bool is an int in Python; true/false is not a measurement
        raise _Bad(f"not a number: {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        if not _NUMBER.fullmatch(text):
            if text.lower().lstrip("+-") in {"nan", "inf", "infinity"}:
                raise _Bad(f"not a finite number: {value!r}")
            raise _Bad(f"not a number: {_shorten(value)}")
        number = float(text)
    else:
        raise _Bad(f"not a number: expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise _Bad(f"not a finite number: {_shorten(value)}")
    spec = FIELDS[name]
    if not spec.low <= number <= spec.high:
        raise _Bad(f"out of range: {number:g} {spec.unit} is outside [{spec.low:g}, {spec.high:g}]")
    return number


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 timestamp with a UTC offset, converted to UTC.

    Example:
        >>> parse_timestamp("2014-01-01T01:00:00+01:00").isoformat()
        '2014-01-01T00:00:00+00:00'
    """
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str):
        text = value.strip()
        spaced = _SPACED_OFFSET.match(text) if " " in text else None
        if spaced:
            text = f"{spaced.group(1)}+{spaced.group(2)}"
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise _Bad(f"not an ISO 8601 timestamp: {_shorten(value)}") from None
    else:
        raise _Bad(f"not a timestamp: expected a string, got {type(value).__name__}")
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        raise _Bad("timestamp has no UTC offset (write e.g. 2014-01-01T01:00:00+01:00)")
    stamp = stamp.astimezone(UTC)
    if not YEARS[0] <= stamp.year < YEARS[1]:
        raise _Bad(f"out of range: year {stamp.year} is outside [{YEARS[0]}, {YEARS[1]})")
    return stamp


def parse_record(record: Mapping[str, Any]) -> ParsedRecord:
    """Validate one record and reduce it to the model's inputs.

    Raises:
        InvalidRecord: with every bad field named (unknown field, not a number, not finite,
            out of range, bad timestamp or turbine name).
    """
    if not isinstance(record, Mapping):
        raise InvalidRecord([FieldError("record", f"must be an object, got {type(record).__name__}")])
    errors: list[FieldError] = []
    values: dict[str, float] = {}
    named: dict[str, Any] = {}  # the turbine and the timestamp, parsed
    ranges = _RANGES
    for name, value in record.items():
        # Fast path for what clients almost always send, a JSON number within its field's range
        # (NaN and ±inf fail the comparison and take the full check below): a third of the time.
        kind = type(value)
        if kind is float or kind is int:
            bounds = ranges.get(name)
            if bounds is not None and bounds[0] <= value <= bounds[1]:
                values[name] = float(value)
                continue
        try:
            _judge(name, value, values, named)
        except _Bad as bad:
            errors.append(FieldError(_safe_name(name), bad.reason))
    if errors:
        raise InvalidRecord(errors)

    return _reduce(values, named.get(TURBINE_FIELD), named.get(TIME_FIELD))


def _judge(name: str, value: Any, values: dict[str, float], named: dict[str, Any]) -> None:
    """One field the fast path did not take: a number into ``values``, the turbine or time into ``named``.

    Raises:
        _Bad: with the reason.
    """
    if isinstance(value, Repeated):
        raise _Bad(f"given more than once ({len(value.values)} times)")
    if name in FIELDS:
        number = parse_number(name, value)
        if number is not None:
            values[name] = number
    elif name not in (TIME_FIELD, TURBINE_FIELD):
        raise _Bad("unknown field")
    elif value is None or value == "":
        return  # a missing timestamp or name is allowed: the model imputes time
    elif name == TIME_FIELD:
        named[name] = parse_timestamp(value)
    else:
        named[name] = _parse_turbine(value)


def _reduce(values: dict[str, float], turbine: str | None, stamp: datetime | None) -> ParsedRecord:
    """Derive what is derivable, then lay out the model's inputs (NaN = impute)."""
    derived: tuple[str, ...] = ()
    if "Ws_avg" not in values:
        anemometers = [values[a] for a in ANEMOMETERS if a in values]
        if anemometers:
            values["Ws_avg"] = sum(anemometers) / len(anemometers)
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


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _parse_turbine(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"not a turbine name: expected a string, got {type(value).__name__}")
    if not _TURBINE.fullmatch(value):
        raise _Bad(f"not a turbine name: {_shorten(value)} (letters, digits, '_', '.', '-'; 64 at most)")
    return value


def _shorten(value: Any, limit: int = 40) -> str:
    """Quote a client's value for an error message without echoing a megabyte or raw control chars."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _safe_name(name: Any, limit: int = 64) -> str:
    """A client's field name fit to echo back: printable, and short."""
    text = str(name)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."
