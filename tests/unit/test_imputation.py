import numpy as np
import pytest

from windpitch.imputation import impute, learn_power_curve
from windpitch.schema import MODEL_INPUTS

P, WS = MODEL_INPUTS.index("P_avg"), MODEL_INPUTS.index("Ws_avg")
MEDIANS = np.array([187.0, 5.4, -0.2, 12.0, 190.0, 190.0, 6.0, 12.0])
CURVE = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 20.0, 60.0, 120.0, 200.0, 300.0])  # 0.5 m/s bins to 5 m/s


def test_missing_power_follows_the_power_curve_when_the_wind_is_known() -> None:
    x = np.full((3, 8), np.nan)
    x[0, WS] = 4.2  # bin 8
    x[1, WS] = 30.0  # beyond the curve: its last value
    out = impute(x, MEDIANS, CURVE)
    assert out[0, P] == 120.0
    assert out[1, P] == 300.0
    assert out[2, P] == 187.0  # no wind either: the median
    assert out[2, WS] == 5.4
    assert not np.isnan(out).any()


def test_given_values_are_never_changed() -> None:
    x = np.array([[10.0, 4.2, 1, 2, 3, 4, 5, 6]])
    assert impute(x, MEDIANS, CURVE).tolist() == x.tolist()


def test_the_learned_curve_is_a_monotone_median_per_bin() -> None:
    rng = np.random.default_rng(0)
    wind = rng.uniform(0, 15, 20_000)
    power = np.clip((wind - 3) / 9, 0, 1) ** 3 * 2050 + rng.normal(0, 20, wind.size)
    curve = learn_power_curve(power, wind)
    assert len(curve) == 30
    assert np.all(np.diff(curve) >= 0)
    assert curve[20] == pytest.approx(((10.25 - 3) / 9) ** 3 * 2050, rel=0.05)  # bin 10–10.5 m/s
    assert curve[-1] == pytest.approx(2050, rel=0.02)


def test_a_curve_needs_data() -> None:
    with pytest.raises(ValueError, match="cannot learn a power curve"):
        learn_power_curve(np.array([1.0]), np.array([5.0]))
