"""The rulebook (:mod:`windpitch.rules`) over whole columns: which rows of a SCADA file can be scored, and why
the others cannot.

Each check of the rulebook has a vectorised twin here, registered under its name (:data:`COLUMN_CHECKS`);
importing this module fails if one is missing. A twin only finds the bad cells fast; every bad cell is then
worded by the rulebook's own ``test``, so a file's row gets the reason the API gives the same record:
``"<field>: <reason>"`` for each bad field in column order, then the row's own problems, joined by ``"; "``
(:func:`windpitch.errors.describe`). Text cells are judged as the file wrote them ("nan" is not a number;
an empty cell is missing).

Example:
    >>> import pandas as pd
    >>> from windpitch.farm import REFERENCE_RATED_KW, Farm
    >>> text = pd.DataFrame({"Wind_turbine_name": ["R1", "X1"], "Date_time": ["2014-01-01T00:00:00Z"] * 2,
    ...                      "Ws_avg": ["5", "nan"]})
    >>> judged = judge(text, Farm({"R1": 2050.0}))
    >>> judged.problems.tolist()[1]
    "Wind_turbine_name: unknown turbine 'X1': the model's fleet is R1 (retrain with its data to score it); \
Ws_avg: not a finite number: 'nan'"
    >>> judged.frame["Ws_avg"].tolist()[0]
    5.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from windpitch.farm import REFERENCE_RATED_KW, Farm
from windpitch.rules import (
    MEASUREMENTS,
    RULEBOOK,
    Check,
    Context,
    Kind,
    absent_from_file,
    checks_for,
    kind_of,
    timestamp,
)
from windpitch.schema import FIELDS, TIME_FIELD, TURBINE_FIELD, YEARS

# A column check: the column under judgement (its cells as the file wrote them, parsed, each row's turbine,
# the farm, and which cells are still open) -> mask of the cells this check refuses. Parsed columns are
# NaN/NaT where missing or unparsed; a check refuses only cells that passed the checks before it.
ColumnCheck = Callable[["Cells"], pd.Series]


@dataclass
class Cells:
    """One column under judgement."""

    name: str
    text: pd.Series  # object: str, or NaN for an empty cell
    parsed: pd.Series  # float64 / datetime64[UTC] / str
    turbine: pd.Series  # the row's turbine when the fleet knows it, else None (the fleet's widest limits)
    farm: Farm
    open: pd.Series | None = None  # cells no earlier check refused: a check's test assumes the earlier passed

    checks: tuple[Check, ...] = ()  # the column's checks, in order (for first_failing)
    _present: pd.Series | None = field(default=None, init=False, repr=False)
    _first: pd.Series | None = field(default=None, init=False, repr=False)

    def first_failing(self) -> pd.Series:
        """Per cell, the name of the first of ``checks`` its value fails ("" if none), judged once per value."""
        if self._first is None:
            ctx = Context(self.farm, None, self.name)

            def first(value: Any) -> str:
                return next((c.name for c in self.checks if c.test(value, ctx) is not None), "")

            verdict = {v: first(v) for v in pd.unique(self.text.dropna())}
            self._first = self.text.map(verdict).fillna(first(None)).astype(object)
        return self._first

    def __post_init__(self) -> None:
        if self.open is None:
            self.open = pd.Series(True, index=self.text.index)

    @property
    def present(self) -> pd.Series:
        if self._present is None:
            self._present = _present_text(self.text, self.parsed)
        return self._present


def _present(cells: Cells) -> pd.Series:
    return cells.present


def _present_text(text: pd.Series, parsed: pd.Series | None = None) -> pd.Series:
    """Not missing in the rulebook's sense (:func:`windpitch.rules.is_missing`): given, and not blank.

    A cell read as a finite number is present; only the others (few) are stripped to see if they are blank.
    """
    present = text.notna().to_numpy(bool)
    doubt = present.copy()
    if parsed is not None and parsed.dtype == np.float64:
        doubt &= ~np.isfinite(parsed.to_numpy(np.float64))
    if doubt.any():
        present[doubt] = (text[doubt].astype(str).str.strip() != "").to_numpy(bool)
    return pd.Series(present, index=text.index)


def _suspect_numbers(check_name: str) -> ColumnCheck:
    """Numbers: pandas' parser is stricter than the rulebook's (no "1_0", no other scripts' digits) and agrees
    with float() where it succeeds (tests/unit/test_rulebook.py), so only the cells it could not read as a
    finite number are suspects; each suspect is judged by the rulebook's own test (they are few)."""

    def run(cells: Cells) -> pd.Series:
        suspect = cells.present & ~np.isfinite(cells.parsed.to_numpy(np.float64)) & cells.open
        if suspect.any():
            check = _BY_NAME[check_name]
            ctx = Context(cells.farm, None, cells.name)
            suspect[suspect] = [check.test(v, ctx) is not None for v in cells.text[suspect]]
        return suspect

    return run


def _out_of_range(cells: Cells) -> pd.Series:
    spec = FIELDS[cells.name]
    values = cells.parsed.to_numpy(np.float64)
    if spec.variable.scales:
        rated = cells.turbine.map(cells.farm.turbines).astype(np.float64)
        factor = (rated / REFERENCE_RATED_KW).to_numpy(np.float64)  # as Farm.factor divides
        factor = np.where(np.isnan(factor), cells.farm.factor(None), factor)
        low, high = spec.low * factor, spec.high * factor
    else:
        low, high = np.full(len(values), spec.low), np.full(len(values), spec.high)
    with np.errstate(invalid="ignore"):
        return pd.Series((values < low) | (values > high), index=cells.text.index)


def _each_cell(check_name: str) -> ColumnCheck:
    """A twin for checks on repeated values (timestamps: one per interval; turbine names: a few): the column's
    checks run in the table's order once per distinct value, and a cell is this check's when its value's
    first failing check is this one."""

    def run(cells: Cells) -> pd.Series:
        return cells.first_failing() == check_name

    return run


COLUMN_CHECKS: Final[dict[str, ColumnCheck]] = {
    "not_a_number": _suspect_numbers("not_a_number"),
    "not_finite": _suspect_numbers("not_finite"),
    "out_of_range": _out_of_range,
    "missing_time": lambda cells: ~_present(cells),
    "not_a_timestamp": _each_cell("not_a_timestamp"),
    "no_offset": _each_cell("no_offset"),
    "year": _each_cell("year"),
    "missing_turbine": lambda cells: ~_present(cells),
    "not_a_turbine_name": _each_cell("not_a_turbine_name"),
    "unknown_turbine": _each_cell("unknown_turbine"),
}
_BY_NAME: Final = {c.name: c for c in RULEBOOK}
_missing = [c.name for c in RULEBOOK if c.kind is not Kind.ROW and c.name not in COLUMN_CHECKS]
if _missing:  # a check added to the rulebook without its column form would be skipped silently
    raise ImportError(f"windpitch_frames.quality has no column form of rulebook checks {_missing}")


@dataclass
class Judged:
    """A file's cells parsed (NaN/NaT where missing or unparseable) and, per row, why it cannot be scored."""

    frame: pd.DataFrame
    problems: pd.Series  # "" for a row that can be scored
    bad_cells: dict[str, int] = field(default_factory=dict)  # column -> cells refused as not a number/finite


def judge(text: pd.DataFrame, farm: Farm | None = None, files: bool = True) -> Judged:
    """Run the rulebook over a file's text cells: the columns it knows, in the file's order.

    ``files``: judge the rows as a SCADA file's (turbine and time required, a measurement too); without
    it, as records (analysts' frames). Columns the schema does not know are left out.
    """
    farm = farm or Farm.reference()
    index = text.index
    parsed: dict[str, pd.Series] = {}
    reasons: dict[str, pd.Series] = {}
    bad_cells: dict[str, int] = {}
    turbine = _fleet_turbine(text, farm)
    for name in text.columns:
        kind = kind_of(name)
        if kind is None:
            continue
        checks = checks_for(kind, files)
        cells = Cells(name, text[name], _parse(kind, text[name]), turbine, farm, checks=checks)
        reason = pd.Series("", index=index, dtype=object)
        cells.open = pd.Series(True, index=index)
        for check in checks:
            bad = COLUMN_CHECKS[check.name](cells) & cells.open
            if bad.any():
                reason[bad] = _words(check, cells, bad)
                cells.open = cells.open & ~bad
        refused = ~cells.open
        if refused.any() and kind is not Kind.TURBINE:
            # An out-of-range value is still a number: training counts it, the batch refuses its row.
            unparsed = refused.copy()
            unparsed[refused] = (~reason[refused].str.startswith("out of range")).to_numpy(bool)
            if kind is Kind.NUMBER and unparsed.any():
                bad_cells[name] = int(unparsed.sum())
            cells.parsed = cells.parsed.mask(unparsed)
        parsed[name] = cells.parsed
        reasons[name] = reason
    problems = _join(index, reasons)
    if files:
        problems = _row_rules(text, parsed, problems, farm)
    frame = pd.DataFrame(parsed, index=index)
    return Judged(frame, problems, bad_cells)


def _parse(kind: Kind, text: pd.Series) -> pd.Series:
    if kind is Kind.NUMBER:
        # to_numeric strips blanks itself (" 7 " is 7.0), as the rulebook's float(text.strip()) does.
        return pd.to_numeric(text, errors="coerce").astype(np.float64)
    if kind is Kind.TIMESTAMP:
        # Only plausible years become timestamps (pandas' nanoseconds end in 2262); the year check words the rest.
        stamps = {
            v: t if (t := timestamp(v)) is not None and YEARS[0] <= t.year < YEARS[1] else None
            for v in pd.unique(text.dropna())
        }
        return pd.to_datetime(text.map(stamps), utc=True)
    names = {v: str(v).strip() for v in pd.unique(text.dropna())}
    return text.map(names).fillna("")


def _fleet_turbine(text: pd.DataFrame, farm: Farm) -> pd.Series:
    if TURBINE_FIELD not in text:
        return pd.Series(None, index=text.index, dtype=object)
    names = text[TURBINE_FIELD]
    return names.where(names.isin(list(farm.turbines)), None)


def _words(check: Check, cells: Cells, bad: pd.Series) -> list[str]:
    """The rulebook's own reason for each bad cell, given the value as the file wrote it."""
    out = []
    for value, turbine in zip(cells.text[bad], cells.turbine[bad], strict=True):
        reason = check.test(None if _is_nan(value) else value, Context(cells.farm, turbine, cells.name))
        out.append(reason if reason is not None else f"{check.name}: refused by the column check only")
    return out


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _join(index: pd.Index, reasons: dict[str, pd.Series]) -> pd.Series:
    problems = pd.Series("", index=index, dtype=object)
    for name, reason in reasons.items():
        bad = reason.astype(bool)
        if bad.any():
            said = name + ": " + reason[bad]
            problems[bad] = np.where(problems[bad] == "", said, problems[bad] + "; " + said)
    return problems


def _row_rules(text: pd.DataFrame, parsed: dict[str, pd.Series], problems: pd.Series, farm: Farm) -> pd.Series:
    """A file's row names its turbine and time (a column the file lacks entirely) and carries a measurement."""
    for name in (TURBINE_FIELD, TIME_FIELD):
        reason = absent_from_file(name, farm) if name not in text else None
        if reason is not None:
            problems = _append(problems, pd.Series(True, index=text.index), f"{name}: {reason}")
    present = pd.Series(False, index=text.index)
    for name in MEASUREMENTS:
        if name in text:
            present |= _present_text(text[name], parsed.get(name))
    reason = _BY_NAME["no_measurements"].test({}, Context(farm))
    return _append(problems, ~present, f"record: {reason}")


def _append(problems: pd.Series, mask: pd.Series, said: str) -> pd.Series:
    return problems.mask(mask, np.where(problems == "", said, problems + "; " + said))


def duplicate_rows(frame: pd.DataFrame, problems: pd.Series) -> pd.Series:
    """The file-level rule: the first clean row of a (turbine, time) is kept, the file's later copies are not."""
    clean = problems == ""
    repeated = frame[clean].duplicated(subset=[TURBINE_FIELD, TIME_FIELD], keep="first")
    mask = repeated.reindex(frame.index, fill_value=False)
    return problems.mask(mask, "duplicate of an earlier row (same turbine and Date_time)")


def out_of_range(frame: pd.DataFrame, farm: Farm | None = None, columns: Any = None) -> pd.Series:
    """Per row, the out-of-range reasons of parsed values ('' if none), with the farm's limits per turbine.

    Training's policy (impossible targets and inputs are excluded) in the rulebook's words.

    Example:
        >>> out_of_range(pd.DataFrame({"Ot_avg": [12.0, -300.0]})).tolist()
        ['', 'Ot_avg: out of range: -300 deg_C is outside [-40, 60]']
    """
    farm = farm or Farm.reference()
    turbine = _fleet_turbine(frame, farm)
    check = _BY_NAME["out_of_range"]
    reasons = {}
    for name in columns if columns is not None else frame.columns:
        if name not in FIELDS or name not in frame:
            continue
        values = frame[name]
        cells = Cells(name, values.astype(object).where(values.notna(), np.nan), values, turbine, farm)
        bad = _out_of_range(cells)
        reason = pd.Series("", index=frame.index, dtype=object)
        if bad.any():
            reason[bad] = _words(check, cells, bad)
        reasons[name] = reason
    return _join(frame.index, reasons)
