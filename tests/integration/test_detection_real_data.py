"""The detector's headline numbers, recomputed on the real healthy period with the benchmark's own harness
(windpitch_train.faults; bench/fault_injection.py prints the full table into docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from windpitch.detection import DetectorSettings
from windpitch_train.faults import FAULTS, STUCK_TRIALS, false_alarms, healthy_period, summarise, trials

pytestmark = pytest.mark.real_data
SETTINGS = DetectorSettings()


@pytest.fixture(scope="module")
def period(real_data: Path, real_model_dir: Path, monkeypatch_module: Any) -> Any:
    monkeypatch_module.setenv("WINDPITCH_MODEL_DIR", str(real_model_dir))
    return healthy_period(str(real_data))


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def cell(period: Any, label: str, seed: int = 0) -> dict[str, Any]:
    turbines, rated_ws = period
    [fault] = [f for f in FAULTS if f.label == label]
    count = 200 * STUCK_TRIALS.get(fault.kind, 1)
    return summarise(list(trials(turbines, fault, count, seed, settings=SETTINGS, rated_ws=rated_ws)), fault)


def test_false_alarms_stay_under_half_an_event_per_turbine_month(period: Any) -> None:
    events, months = false_alarms(period[0], SETTINGS)
    assert months == pytest.approx(24.2, abs=0.1), "four turbines over the six healthy months"
    assert events / months <= 0.5


@pytest.mark.parametrize("label", ["±3° offset, 1 h", "±3° offset, 24 h"])
def test_three_degree_offsets_are_caught_within_the_hour(period: Any, label: str) -> None:
    found = cell(period, label)
    assert found["caught_observable"] >= 0.95
    assert found["median_delay_h"] <= 1.0
    assert found["offset_within_0_5"] >= 0.9


@pytest.mark.parametrize("label", ["±2° offset, 2 h", "±2° offset, 6 h"])
def test_two_degree_offsets_of_two_hours_are_caught(period: Any, label: str) -> None:
    found = cell(period, label)
    assert found["caught_observable"] >= 0.95
    assert found["offset_within_0_5"] >= 0.9


def test_a_stuck_pitch_is_caught_when_the_wind_crosses_rated(period: Any) -> None:
    found = cell(period, "stuck pitch, 6 h")
    assert found["observable"] >= 20, "enough observable stuck faults to judge"
    assert found["caught_observable"] >= 0.9


def test_what_the_detector_cannot_see_is_said_too(period: Any) -> None:
    """A ±1° offset hides in the healthy residual: the benchmark reports it caught rarely, and so does this."""
    assert cell(period, "±1° offset, 2 h")["caught_observable"] < 0.2
