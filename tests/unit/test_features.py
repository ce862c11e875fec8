import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from windpitch.features import FEATURES, derive_wind_speed, season, time_inputs, transform
from windpitch.records import parse_record
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada

F = {name: i for i, name in enumerate(FEATURES)}


def test_transform_computes_physics_features() -> None:
    # P_avg, Ws_avg, Va_avg, Ot_avg, Ya_avg, Wa_avg, month, hour
    out = transform([[1000.0, 10.0, -5.0, 12.0, 90.0, 180.0, 7.0, 13.0]])[0]
    assert out[F["P_avg"]] == 1000.0
    assert out[F["Va_avg"]] == -5.0
    assert out[F["Ot_avg"]] == 12.0
    assert out[F["Ya_sin"]] == pytest.approx(1.0)
    assert out[F["Ya_cos"]] == pytest.approx(0.0, abs=1e-12)
    assert out[F["Wa_cos"]] == pytest.approx(-1.0)
    assert (out[F["Ws_sq"]], out[F["Ws_cube"]]) == (100.0, 1000.0)
    assert out[F["power_coefficient"]] == 1.0
    assert (out[F["month"]], out[F["season"]], out[F["hour"]]) == (7.0, 2.0, 13.0)


def test_directions_are_circular() -> None:
    near_north = transform([[0, 5, 0, 10, 359.0, 1.0, 1, 0], [0, 5, 0, 10, 1.0, 359.0, 1, 0]])
    assert near_north[0, F["Ya_cos"]] == pytest.approx(near_north[1, F["Ya_cos"]])


def test_power_coefficient_stays_finite_in_calm() -> None:
    out = transform([[50.0, 0.0, 0, 10, 0, 0, 1, 0]])
    assert math.isfinite(out[0, F["power_coefficient"]])
    assert out[0, F["power_coefficient"]] == 50.0 / 0.125


def test_season_follows_meteorological_seasons() -> None:
    months = np.arange(1.0, 13.0)
    assert season(months).tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0]


def test_transform_refuses_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"expected an \(n, 8\) array"):
        transform([[1.0, 2.0]])


def test_time_inputs_in_utc_and_nan_for_missing() -> None:
    times = np.array(["2014-12-31T23:50", "NaT"], dtype="datetime64[m]")
    out = time_inputs(times)
    assert out[0].tolist() == [12.0, 23.0]
    assert np.isnan(out[1]).all()


def test_columnar_and_record_wind_speed_rules_agree() -> None:
    rng = np.random.default_rng(1)
    columns = rng.uniform(0, 20, (500, 3))
    columns[rng.random((500, 3)) < 0.4] = np.nan
    derived = derive_wind_speed(columns[:, 0], columns[:, 1], columns[:, 2])
    for row, expected in zip(columns, derived, strict=True):
        record = {
            k: (None if np.isnan(v) else float(v)) for k, v in zip(("Ws_avg", "Ws1_avg", "Ws2_avg"), row, strict=True)
        }
        got = parse_record(record).inputs[1]
        assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_training_and_serving_build_identical_inputs(synthetic_csv: Path) -> None:
    """Train/serve parity: a file's rows loaded for training equal the same rows sent as records."""
    frame, _ = load_scada(synthetic_csv)
    trained = frame_inputs(frame)
    sample = frame.sample(400, random_state=0)
    for index, row in sample.iterrows():
        record: dict[str, Any] = {k: (None if pd.isna(v) else v) for k, v in row.items()}
        record["Date_time"] = row["Date_time"].isoformat()
        served = parse_record(record).inputs
        np.testing.assert_array_equal(np.array(served), trained[frame.index.get_loc(index)])
