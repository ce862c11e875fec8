"""Honest evaluation: error statistics overall and per operating regime.

RMSE alone hides that errors while producing are mostly tiny with rare large transients, so every
figure set also carries the median and 90th percentile of the absolute error and the share of
rows within 1°.

Example:
    >>> import numpy as np
    >>> m = error_stats(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.5, 4.0]))
    >>> m["mae"], m["within_1deg"]
    (0.8333333333333334, 0.6666666666666666)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def error_stats(measured: FloatArray, predicted: FloatArray) -> dict[str, Any]:
    """RMSE, MAE, median and p90 absolute error (degrees) and share within 1°."""
    err = np.asarray(predicted, dtype=np.float64) - np.asarray(measured, dtype=np.float64)
    if err.size == 0:
        return {"n": 0, "rmse": None, "mae": None, "median_abs": None, "p90_abs": None, "within_1deg": None}
    absolute = np.abs(err)
    return {
        "n": int(err.size),
        "rmse": float(np.sqrt(np.mean(err * err))),
        "mae": float(absolute.mean()),
        "median_abs": float(np.median(absolute)),
        "p90_abs": float(np.quantile(absolute, 0.9)),
        "within_1deg": float(np.mean(absolute <= 1.0)),
    }


def regimes(power_kw: FloatArray, wind_ms: FloatArray, rated_wind_ms: float) -> dict[str, npt.NDArray[np.bool_]]:
    """Row masks: overall, producing (P > 0), stopped (P ≤ 0), above rated wind speed."""
    power = np.asarray(power_kw)
    wind = np.asarray(wind_ms)
    return {
        "overall": np.ones(power.shape, dtype=bool),
        "producing": power > 0,
        "stopped": power <= 0,
        "above_rated": wind >= rated_wind_ms,
    }


def evaluate(measured: FloatArray, predicted: FloatArray, masks: dict[str, npt.NDArray[np.bool_]]) -> dict[str, Any]:
    """:func:`error_stats` for every regime mask."""
    return {name: error_stats(measured[mask], predicted[mask]) for name, mask in masks.items()}


def card_section(per_regime: dict[str, Any]) -> dict[str, Any]:
    """The model card's shape: overall figures at the top (``metrics.test.rmse``), regimes beside.

    Example:
        >>> card_section({"overall": {"rmse": 1.0}, "stopped": {"rmse": 9.0}})
        {'rmse': 1.0, 'regimes': {'stopped': {'rmse': 9.0}}}
    """
    return {**per_regime["overall"], "regimes": {k: v for k, v in per_regime.items() if k != "overall"}}


def by_regime(section: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`card_section`."""
    return {"overall": {k: v for k, v in section.items() if k != "regimes"}, **section.get("regimes", {})}


def rated_wind_speed(
    power_kw: FloatArray,
    wind_ms: FloatArray,
    rated_kw: float,
    *,
    share: float = 0.95,
    bin_ms: float = 0.5,
    min_rows: int = 50,
) -> float:
    """The lowest wind speed bin whose median power reaches ``share`` of rated power.

    Learned from the training data, because nacelle anemometry reads lower than the datasheet's
    free-stream rated wind speed.
    """
    power = np.asarray(power_kw)
    wind = np.asarray(wind_ms)
    ok = ~(np.isnan(power) | np.isnan(wind))
    bins = np.floor(wind[ok] / bin_ms).astype(np.int64)
    for b in np.unique(bins):
        in_bin = power[ok][bins == b]
        if in_bin.size >= min_rows and np.median(in_bin) >= share * rated_kw:
            return float(b * bin_ms)
    raise ValueError(f"power never reaches {share:.0%} of {rated_kw:g} kW in the training data")
