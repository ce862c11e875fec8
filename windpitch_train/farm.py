"""Learn the farm a model serves from the operator's data: its turbines and their rated power.

* **Fleet**: the turbines of the asset table when one is given (every turbine of the training data
  must be in it), else the turbines the training data names.
* **Rated power**: the asset table's ``Rated_power`` (kW) when given, else learned from the power
  curve: the highest median power of any 0.5 m/s wind bin with at least 50 producing rows, per turbine.
  On La Haute Borne it reads 1,977 to 2,015 kW against the asset table's 2,050 (docs/benchmarks.md): the
  ten-minute means sit just under the nameplate, and the ranges' headroom (12% above rated for power)
  covers it; an asset table is still the better source.

The result is a :class:`windpitch.farm.Farm`, written into the model card; every entry point reads it.

Example:
    >>> import io
    >>> farm = read_asset_table(io.StringIO("Wind_turbine_name,Rated_power\\nWTG01,3300\\nWTG02,3300\\n"), "a.csv")
    >>> farm.fleet, farm.turbines["WTG01"], farm.rated_power_source
    (('WTG01', 'WTG02'), 3300.0, 'asset table a.csv')
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from windpitch.errors import DataError
from windpitch.farm import Farm
from windpitch.rules import Context, Refused, judge_field
from windpitch.schema import TURBINE_FIELD

RATED_COLUMN: Final = "Rated_power"
BIN_MS: Final = 0.5
MIN_ROWS: Final = 50


def read_asset_table(source: str | Path | io.TextIOBase, label: str | None = None) -> Farm:
    """The fleet and each turbine's rated power (kW) from an asset table (OpenOA's shape: a row per turbine).

    Raises:
        DataError: unreadable, missing a column, a turbine named twice or badly, a rating not a positive number.
    """
    name = label or (Path(source).name if isinstance(source, str | Path) else "asset table")
    try:
        table = pd.read_csv(source, dtype=str, keep_default_na=False, sep=None, engine="python")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{name}: not a readable asset table: {exc}") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in (TURBINE_FIELD, RATED_COLUMN) if c not in table.columns]
    if missing:
        raise DataError(
            f"{name}: missing column(s) {', '.join(missing)} (an asset table names each turbine "
            f"in {TURBINE_FIELD} and its rated power in kW in {RATED_COLUMN})"
        )
    turbines: dict[str, float] = {}
    for line, (cell, rated) in enumerate(zip(table[TURBINE_FIELD], table[RATED_COLUMN], strict=True), start=2):
        turbine = cell.strip()
        try:
            judge_field(TURBINE_FIELD, turbine, Context(Farm.reference()), files=True)
        except Refused as bad:
            raise DataError(f"{name}, line {line}: {TURBINE_FIELD}: {bad.reason}") from None
        if turbine in turbines:
            raise DataError(f"{name}, line {line}: turbine {turbine!r} is listed twice")
        try:
            kw = float(rated)
        except ValueError:
            kw = math.nan
        if not (math.isfinite(kw) and kw > 0):
            raise DataError(f"{name}, line {line}: {RATED_COLUMN}: {rated!r} is not a positive number of kW")
        turbines[turbine] = kw
    if not turbines:
        raise DataError(f"{name}: no turbines")
    return Farm(turbines, f"asset table {name}")


def rated_from_power_curve(power_kw: np.ndarray, wind_ms: np.ndarray) -> float:
    """The highest median power over 0.5 m/s wind bins holding at least 50 producing rows (kW).

    Raises:
        DataError: too little producing data to see where power levels off.
    """
    ok = np.isfinite(power_kw) & np.isfinite(wind_ms) & (power_kw > 0)
    bins = pd.Series(power_kw[ok]).groupby(np.floor(wind_ms[ok] / BIN_MS).astype(np.int64))
    medians = bins.median()[bins.size() >= MIN_ROWS]
    if medians.empty:
        raise DataError(
            f"too few producing rows to learn rated power (no {BIN_MS} m/s bin has {MIN_ROWS}): "
            "give an asset table (--assets)"
        )
    return float(round(medians.max(), 1))


def learn_farm(frame: pd.DataFrame, wind_ms: np.ndarray, assets: Farm | None = None) -> Farm:
    """The farm of a training frame: the asset table's when given (checked against the data), else learned.

    Raises:
        DataError: the data names a turbine the asset table does not list, or rated power cannot be learned.
    """
    names = frame[TURBINE_FIELD].astype(str)
    seen = sorted(set(names) - {""})
    if assets is not None:
        unlisted = [t for t in seen if not assets.knows(t)]
        if unlisted:
            raise DataError(f"the training data names turbine(s) the asset table does not list: {', '.join(unlisted)}")
        return assets
    power = frame["P_avg"].to_numpy(np.float64) if "P_avg" in frame else np.full(len(frame), np.nan)
    rated = {t: rated_from_power_curve(power[(names == t).to_numpy()], wind_ms[(names == t).to_numpy()]) for t in seen}
    return Farm(rated, f"power curve: highest median power of a {BIN_MS} m/s wind bin with {MIN_ROWS}+ producing rows")
