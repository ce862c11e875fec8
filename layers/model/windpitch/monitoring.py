"""Monitoring the live model: do its inputs still look like its training data, and how do its residuals move?

Training stores, per monitored input, the decile edges of its training values and the share of values in each
bin (the *reference*, in the model card). The batch counts each new file's values into the same bins, per day;
over the last ``window_days`` the **population stability index** compares the two:

    PSI = Σ (live share − reference share) × ln(live share / reference share)

A common reading, used for the default threshold: under 0.1 no shift, 0.1–0.25 a moderate one, over 0.25 a
shift worth a look. Month and hour are model inputs too, but a week's months and hours cannot look like a
year's by construction, so they are not monitored: the six SCADA signals are.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = reference_bins(rng.normal(10, 5, 50_000))
    >>> same, shifted = rng.normal(10, 5, 5_000), rng.normal(25, 5, 5_000)
    >>> round(psi(reference, bin_counts(reference, same)), 3) < 0.01, psi(reference, bin_counts(reference, shifted)) > 1
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .schema import SIGNAL_INPUTS

MONITORED: Final = SIGNAL_INPUTS
BINS: Final = 10
_FLOOR: Final = 1e-4  # a share of zero would make the logarithm infinite: an empty bin counts as 0.01%


@dataclass(frozen=True)
class MonitorSettings:
    """When an input counts as drifted (template parameters ``MonitoringPsiThreshold``, ``MonitoringWindowDays``)."""

    psi_threshold: float = 0.25
    window_days: int = 7
    min_values: int = 500  # fewer values in the window: no verdict (a PSI of a few dozen values is noise)


def reference_bins(values: npt.ArrayLike, bins: int = BINS) -> dict[str, Any]:
    """Decile edges of the training values and the share of them in each bin (``edges`` are interior)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)
    return {"edges": edges.round(6).tolist(), "shares": (counts / max(len(x), 1)).round(6).tolist()}


def bin_counts(reference: dict[str, Any], values: npt.ArrayLike) -> list[int]:
    """How many finite values fall in each of the reference's bins."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    edges = np.asarray(reference["edges"], dtype=np.float64)
    return np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1).tolist()


def psi(reference: dict[str, Any], counts: list[int] | npt.NDArray[np.int64]) -> float:
    """The population stability index of live ``counts`` against the reference's shares."""
    live = np.asarray(counts, dtype=np.float64)
    expected = np.maximum(np.asarray(reference["shares"], dtype=np.float64), _FLOOR)
    actual = np.maximum(live / max(live.sum(), 1.0), _FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def input_drift(
    references: dict[str, dict[str, Any]], counts: dict[str, list[int]], settings: MonitorSettings
) -> dict[str, dict[str, Any]]:
    """``{input: {"psi", "drifted", "n"}}`` for every monitored input the model card has a reference for.

    Example:
        >>> ref = {"Ot_avg": {"edges": [0.0], "shares": [0.5, 0.5]}}
        >>> input_drift(ref, {"Ot_avg": [0, 1000]}, MonitorSettings())["Ot_avg"]["drifted"]
        True
    """
    out = {}
    for name, reference in references.items():
        live = counts.get(name) or [0] * (len(reference["edges"]) + 1)
        n = int(sum(live))
        value = psi(reference, live) if n else float("nan")
        out[name] = {
            "psi": round(value, 4) if n else None,
            "drifted": bool(n >= settings.min_values and value > settings.psi_threshold),
            "n": n,
        }
    return out


def residual_trend(days: npt.ArrayLike, residual: npt.ArrayLike) -> dict[str, Any]:
    """A turbine's residual over the window: its median, and the slope of its daily medians (° per day).

    Example:
        >>> d = np.repeat(np.arange(7), 100).astype(float)
        >>> residual_trend(d, 0.1 * d)["trend_deg_per_day"]
        0.1
    """
    d = np.asarray(days, dtype=np.float64)
    r = np.asarray(residual, dtype=np.float64)
    ok = np.isfinite(d) & np.isfinite(r)
    d, r = d[ok], r[ok]
    if len(r) == 0:
        return {"median_deg": None, "trend_deg_per_day": None, "n": 0}
    unique = np.unique(d)
    daily = np.array([np.median(r[d == day]) for day in unique])
    slope = float(np.polyfit(unique, daily, 1)[0]) if len(unique) >= 2 else 0.0
    return {"median_deg": round(float(np.median(r)), 3), "trend_deg_per_day": round(slope, 3), "n": len(r)}
