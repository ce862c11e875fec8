"""Monitoring the live model: do its inputs still look like its training data, and how do its residuals move?

Training stores, per monitored input, the decile edges of its training values and the share of values in each
bin (the *reference*, in the model card). The batch counts each new file's values into the same bins, per day;
over the last ``window_days`` the **population stability index** compares the two:

    PSI = Σ (live share − reference share) × ln(live share / reference share)

A common reading, used for the default threshold: under 0.1 no shift, 0.1–0.25 a moderate one, over 0.25 a
shift worth a look. Month and hour are model inputs too, but a week's months and hours cannot look like a
year's by construction, so they are not monitored: the six SCADA signals are.

A week of July is not a year: compared with the whole year's temperatures every week drifts (measured:
bench/input_drift.py). So the reference keeps each calendar month's shares over the year's bins too, and a
window is compared with the mixture of its months' shares, weighted by its rows in each month. What remains
is weather: a week's prevailing wind direction is not a month's (docs/benchmarks.md reports it).

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

from . import settings
from .schema import SIGNAL_INPUTS

MONITORED: Final = SIGNAL_INPUTS
BINS: Final = 10
_FLOOR: Final = 1e-4  # a share of zero would make the logarithm infinite: an empty bin counts as 0.01%


@dataclass(frozen=True)
class MonitorSettings:
    """When an input counts as drifted (template parameters ``MonitoringPsiThreshold``, ``MonitoringWindowDays``)."""

    # The floor: each input's own threshold is the card's, calibrated at training.
    psi_threshold: float = settings.MONITORING_PSI_THRESHOLD.default
    # A week of SCADA is weather, not drift (docs/benchmarks.md: bench/input_drift.py).
    window_days: int = settings.MONITORING_WINDOW_DAYS.default
    min_values: int = 500  # fewer values in the window: no verdict (a PSI of a few dozen values is noise)


def reference_bins(values: npt.ArrayLike, months: npt.ArrayLike | None = None, bins: int = BINS) -> dict[str, Any]:
    """Decile edges of the training values, the share of them in each bin (``edges`` are interior), and with
    ``months`` (1–12, per value) each calendar month's shares over the same bins."""
    x = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(x)
    edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, bins + 1)[1:-1]))
    which = np.searchsorted(edges, x, side="right")

    def shares(mask: npt.NDArray[np.bool_]) -> list[float]:
        counts = np.bincount(which[mask], minlength=len(edges) + 1)
        return (counts / max(int(mask.sum()), 1)).round(6).tolist()

    out: dict[str, Any] = {"edges": edges.round(6).tolist(), "shares": shares(ok)}
    if months is not None:
        month = np.asarray(months)
        out["monthly"] = {str(m): shares(ok & (month == m)) for m in range(1, 13) if np.any(ok & (month == m))}
    return out


def expected_shares(reference: dict[str, Any], month_rows: dict[int, int] | None = None) -> npt.NDArray[np.float64]:
    """What a window's shares should be: its months' training shares weighted by its rows in each month (the
    year's shares for a month training never saw, or without months)."""
    year = np.asarray(reference["shares"], dtype=np.float64)
    monthly = reference.get("monthly") or {}
    if not month_rows or not monthly:
        return year
    total = sum(month_rows.values())
    mixture = sum(
        (rows / total) * np.asarray(monthly.get(str(m), year), dtype=np.float64) for m, rows in month_rows.items()
    )
    return np.asarray(mixture, dtype=np.float64)


def bin_counts(reference: dict[str, Any], values: npt.ArrayLike) -> list[int]:
    """How many finite values fall in each of the reference's bins."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    edges = np.asarray(reference["edges"], dtype=np.float64)
    return np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1).tolist()


def psi(
    reference: dict[str, Any], counts: list[int] | npt.NDArray[np.int64], month_rows: dict[int, int] | None = None
) -> float:
    """The population stability index of live ``counts`` against the reference's (seasonal) shares."""
    live = np.asarray(counts, dtype=np.float64)
    expected = np.maximum(expected_shares(reference, month_rows), _FLOOR)
    actual = np.maximum(live / max(live.sum(), 1.0), _FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def calibrate(
    references: dict[str, dict[str, Any]],
    values: dict[str, npt.NDArray[np.float64]],
    days: npt.NDArray[np.int64],
    months: npt.NDArray[np.int64],
    *,
    window_days: int = 28,
    margin: float = 1.25,
) -> dict[str, Any]:
    """Each input's threshold from healthy held-out data: the largest PSI of its consecutive ``window_days``
    windows, times ``margin``. A month of weather moves a marginal distribution far more than the textbook
    0.25 allows; what is unusual is more than the healthy months showed.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> ref = {"x": reference_bins(rng.normal(0, 1, 20_000))}
        >>> cal = calibrate(ref, {"x": rng.normal(0, 1, 10_000)}, np.arange(10_000) // 100, np.ones(10_000, int))
        >>> 0 < cal["thresholds"]["x"] < 0.25, cal["windows"]
        (True, 3)
    """
    first = int(days.min())
    window = (days - first) // window_days
    complete = [w for w in np.unique(window) if np.ptp(days[window == w]) >= window_days - 1]
    healthy: dict[str, float] = {}
    for name, reference in references.items():
        worst = 0.0
        for w in complete:
            mask = window == w
            month_rows = {int(m): int(c) for m, c in zip(*np.unique(months[mask], return_counts=True), strict=True)}
            worst = max(worst, psi(reference, bin_counts(reference, values[name][mask]), month_rows))
        healthy[name] = round(worst, 4)
    return {
        "thresholds": {name: round(margin * worst, 4) for name, worst in healthy.items()},
        "healthy_max_psi": healthy,
        "window_days": window_days,
        "windows": len(complete),
        "margin": margin,
    }


def input_drift(
    references: dict[str, dict[str, Any]],
    counts: dict[str, list[int]],
    settings: MonitorSettings,
    month_rows: dict[int, int] | None = None,
    *,
    thresholds: dict[str, float] | None = None,
    enough: bool = True,
) -> dict[str, dict[str, Any]]:
    """``{input: {"psi", "threshold", "drifted", "n"}}`` for every monitored input the card has a reference for.

    ``enough``: whether the window holds enough of its days to judge (a few days of a month are weather).

    Example:
        >>> ref = {"Ot_avg": {"edges": [0.0], "shares": [0.5, 0.5]}}
        >>> input_drift(ref, {"Ot_avg": [0, 1000]}, MonitorSettings())["Ot_avg"]["drifted"]
        True
    """
    out = {}
    for name, reference in references.items():
        live = counts.get(name) or [0] * (len(reference["edges"]) + 1)
        n = int(sum(live))
        value = psi(reference, live, month_rows) if n else float("nan")
        threshold = max(settings.psi_threshold, (thresholds or {}).get(name, 0.0))
        out[name] = {
            "psi": round(value, 4) if n else None,
            "threshold": threshold,
            "drifted": bool(enough and n >= settings.min_values and value > threshold),
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
