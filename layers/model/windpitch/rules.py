"""The rulebook: every check a SCADA record must pass, in one declarative table, with its reasons.

:data:`RULEBOOK` lists the checks in the order they are tried. Each says which fields it judges
(:class:`Kind`), where it applies (every entry point, or files only), and ``test``: given a value and
its :class:`Context`, the reason it is refused, or None. A field's verdict is its first failing check.

Two executors run this one table:

* the **record path** (:func:`windpitch.records.parse_record`: the API, the CLI, the embedded model)
  calls ``test`` on each value of a record;
* the **frame path** (``windpitch_frames.quality``: the batch job, training) runs each check over a whole
  column with a vectorised twin of ``test`` registered under the check's name, then words every bad cell
  with the same ``test``. A check without a twin fails the frame path's import, and a property test holds
  both paths to the same verdict and the same reason for arbitrary records.

Where the two kinds of entry point differ, the table says so (``applies``): a file's row must name its
turbine and time and carry a measurement; a request may leave them out (the model imputes time). An
unknown field is refused in a record (a typo in a request is a client's bug) while a file's extra columns
are reported by the loader and ignored (exports carry more than the model reads).

Example:
    >>> [c.name for c in checks_for(Kind.NUMBER)]
    ['not_a_number', 'not_finite', 'out_of_range']
    >>> judge_field("P_avg", "3000", Context(Farm({"WTG01": 3300.0}), "WTG01"))
    3000.0
    >>> judge_field("P_avg", "3000", Context(Farm({"R1": 2050.0}), "R1"))
    Traceback (most recent call last):
    ...
    windpitch.rules.Refused: out of range: 3000 kW is outside [-100, 2300]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from .farm import Farm
from .schema import FIELDS, TIME_FIELD, TURBINE_FIELD, TURBINE_PATTERN, YEARS

# float() also accepts "nan", "inf", "1_000" and surrounding blanks; a SCADA value is plainer.
# ASCII digits only: float() also reads other scripts' digits ("١٠" is 10), which no SCADA system writes.
NUMBER_PATTERN: Final = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER: Final = re.compile(NUMBER_PATTERN)
_NOT_FINITE_WORDS: Final = frozenset({"nan", "inf", "infinity"})
_TURBINE: Final = re.compile(TURBINE_PATTERN)
# In a URL query an unencoded "+" arrives as a space: "2014-01-01T01:00:00 01:00".
_SPACED_OFFSET: Final = re.compile(r"^(.*T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")
NO_OFFSET: Final = "timestamp has no UTC offset (write e.g. 2014-01-01T01:00:00+01:00)"


class Kind(StrEnum):
    """What a check judges."""

    NUMBER = "number"  # the 136 numeric fields
    TIMESTAMP = "timestamp"  # Date_time
    TURBINE = "turbine"  # Wind_turbine_name
    ROW = "row"  # the record as a whole


class Applies(StrEnum):
    """Where a check applies."""

    EVERYWHERE = "everywhere"
    FILES = "files"  # rows of a SCADA file (the batch); a request may leave these out


@dataclass(frozen=True)
class Context:
    """What judging a value needs besides the value: the model's farm, and the record's turbine when known
    (power-like limits are that turbine's; without one, the fleet's widest)."""

    farm: Farm
    turbine: str | None = None
    field: str = ""


class Refused(ValueError):
    """A value's first failing check: ``reason`` is what the user is told (with the field beside it)."""

    def __init__(self, reason: str, check: str = "") -> None:
        self.reason = reason
        self.check = check
        super().__init__(reason)


@dataclass(frozen=True)
class Check:
    """One row of the rulebook."""

    name: str
    kind: Kind
    applies: Applies
    rule: str  # the rule in words, for clients and docs (rulebook(), python -m windpitch schema)
    test: Callable[[Any, Context], str | None]  # the reason a value is refused, or None


def shorten(value: Any, limit: int = 40) -> str:
    """Quote a client's value for an error message without echoing a megabyte or raw control chars."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- numbers: a JSON number, or text as a CSV cell or a query parameter carries it --------------------


def is_missing(value: Any) -> bool:
    """None, or text that is empty once blanks are stripped: the model imputes it."""
    return value is None or (isinstance(value, str) and value.strip() == "")


def number(value: Any) -> float:
    """The float a value that passed ``not_a_number`` stands for (may be non-finite).

    An integer beyond any float (a JSON number of 400 digits) stands for ±inf, as the same digits in text do:

    >>> number(10**400), number("1" + "0" * 400)
    (inf, inf)
    """
    if isinstance(value, str):
        return float(value.strip())
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _not_a_number(value: Any, _: Context) -> str | None:
    if isinstance(value, bool):  # bool is an int in Python; true/false is not a measurement
        return f"not a number: {value!r}"
    if isinstance(value, int | float) or is_missing(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return None
        if text.lower().lstrip("+-") in _NOT_FINITE_WORDS:
            return f"not a finite number: {value!r}"
        return f"not a number: {shorten(value)}"
    return f"not a number: expected a number, got {type(value).__name__}"


def _not_finite(value: Any, _: Context) -> str | None:
    if is_missing(value) or math.isfinite(number(value)):
        return None
    return f"not a finite number: {shorten(value)}"


def _out_of_range(value: Any, ctx: Context) -> str | None:
    if is_missing(value):
        return None
    x = number(value)
    low, high = ctx.farm.bounds(ctx.field, ctx.turbine)
    if low <= x <= high:
        return None
    return f"out of range: {x:g} {FIELDS[ctx.field].unit} is outside [{low:g}, {high:g}]"


# --- the timestamp -------------------------------------------------------------------------------------


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a UTC offset as a UTC datetime; None when it is not one (any reason).

    Example:
        >>> timestamp("2014-01-01T01:00:00+01:00").isoformat()
        '2014-01-01T00:00:00+00:00'
    """
    if isinstance(value, str):
        return _utc_text(value)
    return _utc(_datetime(value))


def _utc(stamp: datetime | None) -> datetime | None:
    if stamp is None or stamp.tzinfo is None or stamp.utcoffset() is None:
        return None
    return stamp.astimezone(UTC)


def _utc_text(value: str) -> datetime | None:
    # The timestamp checks run one after the other on the same text, each needing this conversion: the
    # last text's is kept (a one-entry memo costs a comparison where an LRU cache costs a miss per record).
    global _last_utc  # noqa: PLW0603 - the memo; a race only recomputes the same value
    last = _last_utc
    if last[0] == value:
        return last[1]
    converted = _utc(_datetime_text(value))
    _last_utc = (value, converted)
    return converted


_last_utc: tuple[str | None, datetime | None] = (None, None)


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    return _datetime_text(value)


def _datetime_text(value: str) -> datetime | None:
    """The parse of one text (naive or aware); None when it is not ISO 8601 (memoised as _utc_text is)."""
    global _last_parse  # noqa: PLW0603 - the memo; a race only recomputes the same value
    last = _last_parse
    if last[0] == value:
        return last[1]
    parsed = _parse_text(value)
    _last_parse = (value, parsed)
    return parsed


_last_parse: tuple[str | None, datetime | None] = (None, None)


def _parse_text(value: str) -> datetime | None:
    text = value.strip()
    spaced = _SPACED_OFFSET.match(text) if " " in text else None
    if spaced:
        text = f"{spaced.group(1)}+{spaced.group(2)}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _not_a_timestamp(value: Any, _: Context) -> str | None:
    if is_missing(value) or _datetime(value) is not None:
        return None
    if not isinstance(value, str):
        return f"not a timestamp: expected a string, got {type(value).__name__}"
    return f"not an ISO 8601 timestamp: {shorten(value)}"


def _no_offset(value: Any, _: Context) -> str | None:
    if is_missing(value) or timestamp(value) is not None:
        return None
    return NO_OFFSET


def _year(value: Any, _: Context) -> str | None:
    stamp = None if is_missing(value) else timestamp(value)
    if stamp is None or YEARS[0] <= stamp.year < YEARS[1]:
        return None
    return f"out of range: year {stamp.year} is outside [{YEARS[0]}, {YEARS[1]})"


# --- the turbine ---------------------------------------------------------------------------------------


def _not_a_turbine_name(value: Any, _: Context) -> str | None:
    if is_missing(value):
        return None
    if not isinstance(value, str):
        return f"not a turbine name: expected a string, got {type(value).__name__}"
    if not _TURBINE.fullmatch(value):
        return f"not a turbine name: {shorten(value)} (letters, digits, '_', '.', '-'; 64 at most)"
    return None


def _unknown_turbine(value: Any, ctx: Context) -> str | None:
    if is_missing(value) or ctx.farm.knows(value):
        return None
    fleet = ctx.farm.fleet
    listed = ", ".join(fleet[:8]) + (f" and {len(fleet) - 8} more" if len(fleet) > 8 else "")
    return f"unknown turbine {shorten(value)}: the model's fleet is {listed} (retrain with its data to score it)"


# --- rows of a file --------------------------------------------------------------------------------------


def _missing(value: Any, _: Context) -> str | None:
    return "missing" if is_missing(value) else None


# Signals that make a row worth scoring: the model's inputs and the anemometers Ws_avg derives from.
MEASUREMENTS: Final = ("P_avg", "Ws_avg", "Va_avg", "Ot_avg", "Ya_avg", "Wa_avg", "Ws1_avg", "Ws2_avg")


def _no_measurements(record: Any, _: Context) -> str | None:
    present = any(not is_missing(record.get(name)) for name in MEASUREMENTS)
    return None if present else "no measurements (every signal the model reads is empty)"


RULEBOOK: Final[tuple[Check, ...]] = (
    Check("not_a_number", Kind.NUMBER, Applies.EVERYWHERE, "a JSON number, or plain decimal text", _not_a_number),
    Check("not_finite", Kind.NUMBER, Applies.EVERYWHERE, "finite (no NaN, no infinity)", _not_finite),
    Check(
        "out_of_range",
        Kind.NUMBER,
        Applies.EVERYWHERE,
        "within the field's range; power-like ranges scaled to the turbine's rated power",
        _out_of_range,
    ),
    Check("missing_time", Kind.TIMESTAMP, Applies.FILES, "present", _missing),
    Check("not_a_timestamp", Kind.TIMESTAMP, Applies.EVERYWHERE, "ISO 8601 date and time", _not_a_timestamp),
    Check("no_offset", Kind.TIMESTAMP, Applies.EVERYWHERE, "with a UTC offset", _no_offset),
    Check("year", Kind.TIMESTAMP, Applies.EVERYWHERE, f"a year in [{YEARS[0]}, {YEARS[1]})", _year),
    Check("missing_turbine", Kind.TURBINE, Applies.FILES, "present", _missing),
    Check(
        "not_a_turbine_name",
        Kind.TURBINE,
        Applies.EVERYWHERE,
        "letters, digits, '_', '.', '-'; 64 at most",
        _not_a_turbine_name,
    ),
    Check("unknown_turbine", Kind.TURBINE, Applies.EVERYWHERE, "one of the model's fleet", _unknown_turbine),
    Check("no_measurements", Kind.ROW, Applies.FILES, "at least one signal the model reads", _no_measurements),
)


def rulebook() -> list[dict[str, str]]:
    """The table in words, for clients and docs (``python -m windpitch schema`` prints it).

    Example:
        >>> first = rulebook()[0]
        >>> first["check"], first["judges"], first["applies"]
        ('not_a_number', 'number', 'everywhere')
    """
    return [{"check": c.name, "judges": c.kind.value, "applies": c.applies.value, "rule": c.rule} for c in RULEBOOK]


def absent_from_file(name: str, farm: Farm) -> str | None:
    """The reason a file's row that lacks ``name`` altogether is refused (the table's, as for an empty cell).

    Example:
        >>> absent_from_file("Date_time", Farm.reference()), absent_from_file("Ws_avg", Farm.reference())
        ('missing', None)
    """
    try:
        judge_field(name, None, Context(farm), files=True)
    except Refused as bad:
        return bad.reason
    return None


def checks_for(kind: Kind, files: bool = False) -> tuple[Check, ...]:
    """The checks a field of ``kind`` goes through, in order (``files``: as a row of a SCADA file)."""
    return _CHECKS[kind, files]


_CHECKS: Final = {
    (kind, files): tuple(c for c in RULEBOOK if c.kind is kind and (files or c.applies is Applies.EVERYWHERE))
    for kind in Kind
    for files in (False, True)
}


def kind_of(name: str) -> Kind | None:
    """The kind of a schema field, or None for a field the schema does not know."""
    return _KINDS.get(name)


_KINDS: Final[dict[str, Kind]] = {
    **dict.fromkeys(FIELDS, Kind.NUMBER),
    TIME_FIELD: Kind.TIMESTAMP,
    TURBINE_FIELD: Kind.TURBINE,
}


def time_verdict(value: str, files: bool = False) -> datetime | Refused | None:
    """The rulebook's timestamp checks on a text: its UTC datetime, None when missing, or the first refusal."""
    for check in _CHECKS[Kind.TIMESTAMP, files]:
        reason = check.test(value, _TIME_CONTEXT)
        if reason is not None:
            return Refused(reason, check.name)
    return None if is_missing(value) else timestamp(value)


_TIME_CONTEXT: Final = Context(Farm.reference(), None, TIME_FIELD)  # a timestamp's checks need no farm


def judge_field(name: str, value: Any, ctx: Context, files: bool = False) -> Any:
    """Run the rulebook on one value: its parsed form (float, UTC datetime, name, or None when missing).

    Raises:
        Refused: with the first failing check's reason.
    """
    kind = kind_of(name)
    if kind is None:
        raise Refused("unknown field", "unknown_field")
    if kind is Kind.TIMESTAMP and isinstance(value, str):
        verdict = time_verdict(value, files)  # no farm in it: judged once per distinct text
        if isinstance(verdict, Refused):
            raise verdict
        return verdict
    if kind is Kind.NUMBER:
        ctx = Context(ctx.farm, ctx.turbine, name)  # its range is the field's (and the turbine's)
    for check in _CHECKS[kind, files]:
        reason = check.test(value, ctx)
        if reason is not None:
            raise Refused(reason, check.name)
    if is_missing(value):
        return None
    if kind is Kind.NUMBER:
        return number(value)
    if kind is Kind.TIMESTAMP:
        return timestamp(value)
    return value
