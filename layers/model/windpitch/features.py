"""Feature engineering: one numpy-only transform used at training and at serving time.

The scikit-learn pipeline wraps :func:`transform` in a ``FunctionTransformer``; the serving runtime
(:mod:`windpitch.runtime`) calls the very same function, so train/serve skew cannot creep in. The
browser's evaluator (``dashboard/``) re-implements it and is tested against it on shared vectors, so
any change here must bump :data:`FEATURES_VERSION` and be mirrored there.

Example:
    >>> import numpy as np
    >>> x = np.array([[1000.0, 10.0, 0.0, 12.0, 90.0, 180.0, 1.0, 13.0]])
    >>> dict(zip(FEATURES, transform(x)[0].round(3)))["Ws_cube"]
    np.float64(1000.0)
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .schema import MODEL_INPUTS

FEATURES_VERSION: Final = "windpitch-features/2"

FEATURES: Final = (
    "P_avg",
    "Ws_avg",
    "Ot_avg",
    "Va_avg",
    # Directions are circular: 359° and 1° are neighbours, which sin/cos preserve.
    "Ya_sin",
    "Ya_cos",
    "Wa_sin",
    "Wa_cos",
    # Power in the wind grows with v³; pitch control begins where the power curve saturates.
    "Ws_sq",
    "Ws_cube",
    # A power-coefficient proxy P / v³: separates curtailed, starting and derated operation.
    "power_coefficient",
    "month",
    "season",
    "hour",
)

# Below 0.5 m/s the anemometer reads noise; clamping keeps P / v³ finite and meaningful.
_MIN_WIND_FOR_CP: Final = 0.5
_TRIG_DECIMALS: Final = 9
_P, _WS, _VA, _OT, _YA, _WA, _MONTH, _HOUR = (
    MODEL_INPUTS.index(n) for n in ("P_avg", "Ws_avg", "Va_avg", "Ot_avg", "Ya_avg", "Wa_avg", "month", "hour")
)


def transform(inputs: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Map model inputs (n × len(MODEL_INPUTS), imputed, no NaN) to features (n × len(FEATURES))."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(MODEL_INPUTS):
        raise ValueError(f"expected an (n, {len(MODEL_INPUTS)}) array of {MODEL_INPUTS}, got {x.shape}")
    ws = x[:, _WS]
    ya = np.deg2rad(x[:, _YA])
    wa = np.deg2rad(x[:, _WA])
    month = x[:, _MONTH]
    out = np.empty((x.shape[0], len(FEATURES)), dtype=np.float64)
    out[:, 0] = x[:, _P]
    out[:, 1] = ws
    out[:, 2] = x[:, _OT]
    out[:, 3] = x[:, _VA]
    # Rounded to 1e-9: a browser's Math.sin may differ from numpy's in the last bit, and a split
    # threshold can sit exactly on a training value; on a 1e-9 grid both land on the same side.
    out[:, 4] = np.round(np.sin(ya), _TRIG_DECIMALS)
    out[:, 5] = np.round(np.cos(ya), _TRIG_DECIMALS)
    out[:, 6] = np.round(np.sin(wa), _TRIG_DECIMALS)
    out[:, 7] = np.round(np.cos(wa), _TRIG_DECIMALS)
    out[:, 8] = ws * ws
    out[:, 9] = ws * ws * ws
    clamped = np.maximum(ws, _MIN_WIND_FOR_CP)
    out[:, 10] = x[:, _P] / (clamped * clamped * clamped)
    out[:, 11] = month
    out[:, 12] = season(month)
    out[:, 13] = x[:, _HOUR]
    return out


def season(month: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Meteorological season: 0 winter (DJF), 1 spring, 2 summer, 3 autumn.

    Example:
        >>> season(np.array([12.0, 1.0, 3.0, 8.0, 11.0])).tolist()
        [0.0, 0.0, 1.0, 2.0, 3.0]
    """
    return np.floor((month % 12.0) / 3.0)


def time_inputs(times: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
    """Month (1–12) and hour (0–23) of UTC ``datetime64`` values, NaN where the time is NaT.

    Example:
        >>> time_inputs(np.array(["2014-12-31T23:50"], dtype="datetime64[m]")).tolist()
        [[12.0, 23.0]]
    """
    t = np.asarray(times).astype("datetime64[m]")
    missing = np.isnat(t)
    months = t.astype("datetime64[M]").astype(np.int64) % 12 + 1
    hours = t.astype("datetime64[h]").astype(np.int64) % 24
    out = np.column_stack([months, hours]).astype(np.float64)
    out[missing] = np.nan
    return out


def derive_wind_speed(ws: npt.NDArray[np.float64], *anemometers: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The one rule for ``Ws_avg``: as measured, else the mean of the anemometers present (NaN: absent). The API's
    records (:mod:`windpitch.records`, :mod:`windpitch.columns`), the batch's and training's frames
    (:func:`windpitch_frames.inputs.frame_inputs`) all derive it here.

    Example:
        >>> nan = float("nan")
        >>> derive_wind_speed(np.array([nan, 5.0, nan]), np.array([10.0, 1.0, nan]),
        ...                   np.array([nan, 1.0, nan])).tolist()
        [10.0, 5.0, nan]
    """
    if not anemometers:
        return ws
    present = np.column_stack(anemometers)
    count = (~np.isnan(present)).sum(axis=1)
    mean = np.divide(np.nansum(present, axis=1), count, out=np.full(len(ws), np.nan), where=count > 0)
    return np.where(np.isnan(ws), mean, ws)
