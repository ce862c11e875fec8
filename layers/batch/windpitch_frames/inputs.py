"""The model's input matrix for a loaded SCADA frame: what training fits and the batch scores.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Date_time": pd.to_datetime(["2014-06-01T13:00Z"]), "Ws1_avg": [8.0]})
    >>> frame_inputs(frame)[0].tolist()[1:2], frame_inputs(frame)[0].tolist()[-2:]
    ([8.0], [6.0, 13.0])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from windpitch.features import derive_wind_speed, time_inputs
from windpitch.schema import ANEMOMETERS, SIGNAL_INPUTS, TIME_FIELD


def frame_inputs(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The model's input matrix (n × len(MODEL_INPUTS)) for a loaded frame, NaN where missing."""
    n = len(frame)
    nan = np.full(n, np.nan)

    def column(name: str) -> npt.NDArray[np.float64]:
        return frame[name].to_numpy(np.float64) if name in frame else nan

    signals = {name: column(name) for name in SIGNAL_INPUTS}
    signals["Ws_avg"] = derive_wind_speed(column("Ws_avg"), *(column(a) for a in ANEMOMETERS))
    times = frame[TIME_FIELD].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[m]")
    return np.column_stack([*(signals[name] for name in SIGNAL_INPUTS), time_inputs(times)])
