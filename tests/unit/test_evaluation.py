import numpy as np
import pytest

from windpitch_train.evaluation import error_stats, rated_wind_speed, regimes
from windpitch_train.train import regime_notes


def test_error_stats_report_the_tail_as_well_as_the_mean() -> None:
    measured = np.zeros(10)
    predicted = np.array([0.1] * 9 + [10.0])  # mostly tiny errors, one transient
    stats = error_stats(measured, predicted)
    assert stats["n"] == 10
    assert stats["rmse"] == pytest.approx(np.sqrt((9 * 0.01 + 100) / 10))
    assert stats["mae"] == pytest.approx(1.09)
    assert stats["median_abs"] == pytest.approx(0.1)
    assert stats["within_1deg"] == 0.9


def test_empty_regimes_have_no_figures() -> None:
    assert error_stats(np.array([]), np.array([]))["rmse"] is None


def test_regimes_split_producing_stopped_and_above_rated() -> None:
    masks = regimes(np.array([-2.0, 0.0, 500.0, 2050.0]), np.array([1.0, 3.0, 7.0, 14.0]), 13.5)
    assert masks["producing"].tolist() == [False, False, True, True]
    assert masks["stopped"].tolist() == [True, True, False, False]
    assert masks["above_rated"].tolist() == [False, False, False, True]


def test_rated_wind_speed_is_learned_from_the_power_curve() -> None:
    wind = np.repeat(np.arange(0.0, 20.0, 0.5), 60)
    power = np.clip((wind - 3) / 9, 0, 1) * 2050
    # the 11.5 m/s bin reaches (11.5 - 3) / 9 = 94.4% of rated; the 12 m/s bin is the first at 95%
    assert rated_wind_speed(power, wind, 2050.0) == 12.0
    with pytest.raises(ValueError, match="never reaches"):
        rated_wind_speed(power * 0.5, wind, 2050.0)


def test_notes_name_every_regime_where_the_seed_does_better() -> None:
    ours = {"overall": {"n": 5, "rmse": 1.0, "mae": 0.5}, "above_rated": {"n": 2, "rmse": 2.0, "mae": 0.4}}
    seed = {"overall": {"n": 5, "rmse": 2.0, "mae": 0.9}, "above_rated": {"n": 2, "rmse": 1.5, "mae": 0.6}}
    assert regime_notes(ours, seed) == [
        "above_rated (2 test rows): the seed recipe does better (RMSE 2.000 vs 1.500 deg)"
    ]
