"""Fill missing model inputs with what training learned: one numpy function for training and serving.

A record that gives the wind speed but not the power (the seed's ``GET /predict?Ws1_avg=10``) must not
get the *overall* median power: 187 kW at 10 m/s looks like a curtailed or stopping turbine, and the
model answers ~44° instead of ~1°. So a missing ``P_avg`` comes from the power curve learned at training
(median power per wind-speed bin); every other missing input, and ``P_avg`` when the wind is missing
too, takes its training median. Never forward-fill: a single request has no neighbours.

Example:
    >>> import numpy as np
    >>> nan = np.nan
    >>> curve = np.array([0.0, 0.0, 100.0, 400.0])          # bins of 0.5 m/s
    >>> x = np.array([[nan, 1.2, nan, 5.0, 0, 0, 1, 0]])     # P missing, Ws = 1.2 m/s
    >>> impute(x, np.array([50.0, 6, 0, 10, 180, 180, 6, 12]), curve, 0.5)[0, [0, 2]].tolist()
    [100.0, 0.0]
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .schema import MODEL_INPUTS

POWER_CURVE_BIN_MS: Final = 0.5
_P: Final = MODEL_INPUTS.index("P_avg")
_WS: Final = MODEL_INPUTS.index("Ws_avg")


def impute(
    inputs: npt.NDArray[np.float64],
    medians: npt.NDArray[np.float64],
    power_curve: npt.NDArray[np.float64],
    bin_width: float = POWER_CURVE_BIN_MS,
) -> npt.NDArray[np.float64]:
    """A copy of ``inputs`` (n × len(MODEL_INPUTS)) with every NaN filled."""
    x = np.array(inputs, dtype=np.float64, ndmin=2)
    missing = np.isnan(x)
    if not missing.any():
        return x
    from_curve = missing[:, _P] & ~missing[:, _WS]
    if from_curve.any():
        bins = np.floor(x[from_curve, _WS] / bin_width).astype(np.intp)
        x[from_curve, _P] = power_curve[np.clip(bins, 0, len(power_curve) - 1)]
    return np.where(np.isnan(x), medians, x)


def learn_power_curve(
    power: npt.NDArray[np.float64],
    wind: npt.NDArray[np.float64],
    bin_width: float = POWER_CURVE_BIN_MS,
    min_rows: int = 20,
) -> npt.NDArray[np.float64]:
    """Median power per wind-speed bin, from 0 m/s to the highest well-populated bin.

    Bins with fewer than ``min_rows`` rows take the previous bin's value, and the curve is made
    non-decreasing (a cumulative maximum): sparse, noisy high-wind bins must not bend it down.
    Wind beyond the last bin takes the last value (see :func:`impute`).

    Example:
        >>> learn_power_curve(np.array([0.0] * 30 + [500.0] * 30), np.array([0.2] * 30 + [1.1] * 30)).tolist()
        [0.0, 0.0, 500.0]
    """
    ok = ~(np.isnan(power) | np.isnan(wind))
    bins = np.floor(wind[ok] / bin_width).astype(np.intp)
    counts = np.bincount(bins)
    populated = np.flatnonzero(counts >= min_rows)
    if populated.size == 0:
        raise ValueError(f"no wind-speed bin has {min_rows} rows with power: cannot learn a power curve")
    curve = np.zeros(populated[-1] + 1)
    last = 0.0
    for b in range(len(curve)):
        if counts[b] >= min_rows:
            last = float(np.median(power[ok][bins == b]))
        curve[b] = last
    return np.maximum.accumulate(curve)
