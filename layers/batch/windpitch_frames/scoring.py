"""Score a loaded SCADA file: expected pitch, residual and anomaly flag per row, rejects with reasons.

Pure pandas and numpy (no AWS): the batch job calls it on each file it reads, analysts on a frame.

Example:
    >>> scored, rejected, inputs = score_frame(frame, model, DetectorSettings())  # doctest: +SKIP
    >>> list(scored.columns)                                              # doctest: +SKIP
    ['timestamp', 'turbine', 'measured_pitch_deg', 'expected_pitch_deg', 'residual_deg', ...]
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from windpitch.detection import DetectorSettings, exceedance
from windpitch.runtime import PitchModel
from windpitch.schema import TARGET, TIME_FIELD, TURBINE_FIELD

from .inputs import frame_inputs
from .quality import duplicate_rows

PREDICTION_COLUMNS: Final = (
    "timestamp",
    "turbine",
    "measured_pitch_deg",
    "expected_pitch_deg",
    "residual_deg",
    "anomaly",
    "producing",
    "wind_speed_ms",
    "power_kw",
    "model_version",
)


class Scored(NamedTuple):
    """A scored file: its rows in PREDICTION_COLUMNS, its rejected rows (``line``, ``reason``), and the model's
    input matrix of the scored rows (what monitoring compares with the training data)."""

    rows: pd.DataFrame
    rejected: pd.DataFrame
    inputs: npt.NDArray[np.float64]


def score_frame(frame: pd.DataFrame, model: PitchModel, detector: DetectorSettings) -> Scored:
    """Scored rows in PREDICTION_COLUMNS, rejected rows with ``line`` and ``reason``, and the inputs.

    ``frame`` is :func:`windpitch_frames.loading.load_scada`'s with ``keep_invalid`` and the model's farm:
    its ``_problem`` column holds each row's verdict under the rulebook; the file-level rule (a turbine
    and time given twice) is applied here.
    """
    problems = duplicate_rows(frame, frame["_problem"] if "_problem" in frame else pd.Series("", index=frame.index))
    ok = (problems == "").to_numpy()
    good = frame[ok]
    inputs = frame_inputs(good)
    expected = model.predict_inputs(inputs) if len(good) else np.empty(0)
    measured = good[TARGET].to_numpy(np.float64) if TARGET in good else np.full(len(good), np.nan)
    power = inputs[:, 0]
    turbines = good[TURBINE_FIELD].to_numpy()
    ratings = {t: model.farm.rated_kw(t) for t in pd.unique(turbines)}
    rated = np.array([ratings[t] for t in turbines], dtype=np.float64)
    producing = power > 0  # NaN power (imputed for the model) is not evidence of production
    residual = measured - expected
    scored = pd.DataFrame(
        {
            "timestamp": good[TIME_FIELD].dt.tz_convert("UTC").reset_index(drop=True),
            "turbine": turbines,
            "measured_pitch_deg": measured,
            "expected_pitch_deg": expected,
            "residual_deg": residual,
            # Row by row, file by file: beyond the detector's threshold for the row's regime. An exceedance, not
            # a fault: the events (anomalies/) are the detector's verdict on the series, with the fleet.
            "anomaly": exceedance(residual, expected, power, rated, detector),
            "producing": producing,
            "wind_speed_ms": inputs[:, 1],
            "power_kw": power,
            "model_version": model.info.version,
        }
    )
    rejected = pd.DataFrame(
        {
            "line": frame["_line"].to_numpy()[~ok] if "_line" in frame else np.full(int((~ok).sum()), -1),
            "reason": problems[~ok].to_numpy(),
        }
    )
    return Scored(scored, rejected, inputs)
