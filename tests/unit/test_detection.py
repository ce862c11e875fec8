"""The pitch-fault detector on synthetic series with known answers (windpitch.detection)."""

from __future__ import annotations

import numpy as np
import pytest

from windpitch.detection import DetectorSettings, Series, detect, fleet_reference, regimes

RATED = 2050.0
DAY = 144  # ten-minute intervals


def healthy(n: int = 2 * DAY, seed: int = 0) -> dict[str, np.ndarray]:
    """Steady partial load at fine pitch: the model within a tenth of a degree, as in the real data."""
    rng = np.random.default_rng(seed)
    expected = np.full(n, -1.0)
    measured = expected + rng.normal(0, 0.1, n)
    return {
        "seconds": np.arange(n, dtype=np.int64) * 600 + 1_435_708_800,  # 2015-07-01
        "measured": measured,
        "expected": expected,
        "power": np.full(n, 700.0),
    }


def run(series: dict[str, np.ndarray], settings: DetectorSettings | None = None, **extra: object) -> list:
    data = Series(
        series["seconds"],
        series["measured"] - series["expected"],
        series["measured"],
        series["expected"],
        series["power"],
    )
    return detect("R1", data, RATED, settings=settings, **extra)  # type: ignore[arg-type]


def test_healthy_steady_data_raises_nothing() -> None:
    assert run(healthy()) == []


@pytest.mark.parametrize("offset", [2.0, -3.0, 4.0])
def test_a_clean_offset_is_one_event_with_its_size_class_and_time(offset: float) -> None:
    series = healthy()
    start, hours = 60, 6
    series["measured"][start : start + 6 * hours] += offset
    [event] = run(series)
    assert event.fault_class == "offset"
    assert event.estimated_offset_deg == pytest.approx(offset, abs=0.1)
    assert 0 < event.offset_uncertainty_deg < 0.2
    onset = series["seconds"][start]
    detected = np.datetime64(event.detected_at.removesuffix("Z"), "s").astype(np.int64)
    assert 0 < detected - onset <= 3600, "known within the hour"
    assert event.start <= _iso(series["seconds"][start]) < event.end
    assert not event.open
    assert event.settings == DetectorSettings().as_dict()


def test_one_outlier_inside_a_fault_neither_splits_nor_moves_it() -> None:
    series = healthy()
    series["measured"][60:96] += 3.0
    series["measured"][78] -= 40.0  # one wild interval mid-fault (a start, a gust in the average)
    [event] = run(series)
    assert event.estimated_offset_deg == pytest.approx(3.0, abs=0.1)
    assert event.peak_residual_deg < -30


def test_an_outlier_alone_raises_nothing() -> None:
    series = healthy()
    series["measured"][100] += 25.0
    assert run(series) == []


def test_a_gap_in_the_data_inside_a_fault_keeps_it_one_event() -> None:
    series = healthy()
    series["measured"][60:120] += 2.5
    keep = np.ones(len(series["seconds"]), bool)
    keep[80:86] = False  # an hour of missing SCADA in the middle of the fault
    [event] = run({k: v[keep] for k, v in series.items()})
    assert event.estimated_offset_deg == pytest.approx(2.5, abs=0.1)


def test_a_long_gap_gives_no_verdict_across_it() -> None:
    """A window's intervals must lie within max_span_hours: a day without data does not join two stretches."""
    series = healthy()
    series["measured"][71:73] += 3.0  # two intervals: too few for a window of five on its own
    series["measured"][80:82] += 3.0
    keep = np.ones(len(series["seconds"]), bool)
    keep[73:80] = False
    series = {k: v[keep] for k, v in series.items()}
    series["seconds"][73:] += 86_400  # what follows comes a day later
    assert run(series) == []
    series["seconds"][73:] -= 86_400  # the same intervals an hour apart are one window: flagged
    assert len(run(series)) == 1


def test_a_fault_still_running_at_the_end_is_open() -> None:
    series = healthy()
    series["measured"][-20:] += 3.0
    [event] = run(series)
    assert event.open


def test_a_stuck_blade_is_caught_when_the_wind_crosses_rated_and_classed_stuck() -> None:
    series = healthy()
    rising = slice(100, 130)
    series["power"][rising] = RATED
    series["expected"][rising] = np.linspace(0.0, 12.0, 30)  # the controller would pitch
    series["measured"][90:140] = series["measured"][90]  # frozen at its value at onset
    [event] = run(series)
    assert event.fault_class == "stuck"
    assert event.median_residual_deg < -2


def test_a_drift_is_classed_drift() -> None:
    series = healthy(3 * DAY)
    series["measured"][100:244] += np.linspace(0.0, 4.0, 144)
    events = run(series)
    assert [e.fault_class for e in events] == ["drift"]


def test_only_steady_and_pitching_intervals_are_judged() -> None:
    settings = DetectorSettings()
    residual = np.zeros(5)
    expected = np.array([-1.0, -1.0, 8.0, -1.0, -1.0])
    power = np.array([700.0, 50.0, 1500.0, 1900.0, -5.0])  # steady, cut-in, pitching, near rated, stopped
    assert regimes(residual, expected, power, RATED, settings).tolist() == [1, 0, 2, 2, 0]


def test_the_fleet_reference_cancels_what_every_turbine_shows_at_once() -> None:
    """A model error common to the farm (weather it never learned) is no fault of any one turbine."""
    farm = {name: healthy(seed=i) for i, name in enumerate(("A", "B", "C", "D"))}
    for series in farm.values():
        series["measured"][60:96] += 2.0  # all four at once
    farm["B"]["measured"][150:190] += 3.0  # and B alone, later
    residuals = {
        n: (s["seconds"], s["measured"] - s["expected"], np.ones(len(s["seconds"]), bool)) for n, s in farm.items()
    }
    reference = fleet_reference(residuals)
    assert run(farm["A"], reference=reference["A"]) == []
    [event] = run(farm["B"], reference=reference["B"])
    assert event.estimated_offset_deg == pytest.approx(3.0, abs=0.15)
    assert len(run(farm["A"])) == 1, "without the fleet, the common error is an event"


def _iso(seconds: np.int64) -> str:
    return str(np.datetime64(int(seconds), "s")) + "Z"
