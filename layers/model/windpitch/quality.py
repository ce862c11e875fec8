"""Which rows of a loaded SCADA file can be scored, and why the others cannot (vectorized).

The same rules as :mod:`windpitch.records` applies to one record, over a whole frame: a row is
rejected for an unusable timestamp or cell (from the loader), an unknown turbine, a value out of its
schema range, no measurement at all, or for repeating a turbine and timestamp seen earlier in the file.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Wind_turbine_name": ["R80711", "X1"],
    ...                       "Date_time": pd.to_datetime(["2014-01-01", "2014-01-01"], utc=True),
    ...                       "Ws_avg": [5.0, 5.0]})
    >>> row_problems(frame).tolist()
    ['', "Wind_turbine_name: unknown turbine 'X1'"]
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .data import out_of_range
from .schema import FLEET, SIGNAL_INPUTS, TIME_FIELD, TURBINE_FIELD


def row_problems(frame: pd.DataFrame, fleet: Sequence[str] = FLEET) -> pd.Series:
    """Per row, the first reason it cannot be scored ("" if it can)."""
    problem = frame["_problem"].copy() if "_problem" in frame else pd.Series("", index=frame.index, dtype=object)

    def note(mask: pd.Series, reason: pd.Series | str) -> None:
        nonlocal problem
        problem = problem.mask(mask & (problem == ""), reason)

    turbine = frame[TURBINE_FIELD]
    note(turbine == "", TURBINE_FIELD + ": missing")
    unknown = ~turbine.isin(list(fleet)) & (turbine != "")
    if unknown.any():
        note(unknown, TURBINE_FIELD + ": unknown turbine '" + turbine.astype(str).str.slice(0, 40) + "'")
    note(frame[TIME_FIELD].isna(), TIME_FIELD + ": missing")
    ranges = out_of_range(frame.drop(columns=[c for c in ("_line", "_problem") if c in frame]))
    note(ranges != "", ranges)
    signals = [c for c in (*SIGNAL_INPUTS, "Ws1_avg", "Ws2_avg") if c in frame]
    note(frame[signals].isna().all(axis=1) if signals else pd.Series(True, index=frame.index), "no measurements")
    # Duplicates: the first occurrence of a (turbine, time) is kept; the file's later copies are not.
    clean = problem == ""
    repeated = frame[clean].duplicated(subset=[TURBINE_FIELD, TIME_FIELD], keep="first")
    note(repeated.reindex(frame.index, fill_value=False), "duplicate of an earlier row (same turbine and Date_time)")
    return problem
