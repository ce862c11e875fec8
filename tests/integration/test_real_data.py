"""Acceptance on the real La Haute Borne data (skipped with the reason when it is absent).

Nothing here trusts the card's numbers: the test period is predicted again by the numpy runtime, the
seed's recipe is trained again on the same split, and both are scored here.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import windpitch
from windpitch.artifacts import read_card
from windpitch.runtime import PitchModel
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada
from windpitch_train.datasets import DATA_CONTENT_SHA256, content_sha256
from windpitch_train.evaluation import error_stats, regimes
from windpitch_train.pipeline import load_pipeline
from windpitch_train.train import Split, clean, seed_recipe, seed_recipe_features

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def periods(real_data: Path, real_model_dir: Path) -> dict[str, Any]:
    frame, report = load_scada(real_data)
    card = read_card(real_model_dir)
    split = Split(**card["split"])
    usable, _ = clean(frame)
    train_mask, test_mask = split.masks(usable["Date_time"])
    raw_test = frame[split.masks(frame["Date_time"])[1].to_numpy()]
    return {
        "frame": frame,
        "report": report,
        "card": card,
        "train": usable[train_mask.to_numpy()],
        "test": usable[test_mask.to_numpy()],
        "raw_test": raw_test,
    }


def test_the_data_is_the_published_file(real_data: Path, periods: dict[str, Any]) -> None:
    assert content_sha256(real_data) == DATA_CONTENT_SHA256
    assert periods["report"].rows == 420_480
    assert periods["report"].shape == "openoa"
    assert periods["frame"]["Wind_turbine_name"].nunique() == 4


def test_model_beats_the_seed_recipe_on_the_same_split(real_model_dir: Path, periods: dict[str, Any]) -> None:
    train, test = periods["train"], periods["test"]
    model = PitchModel.load(real_model_dir)
    x_test = frame_inputs(test)
    y_test = test["Ba_avg"].to_numpy()
    ours = model.predict_inputs(x_test)
    seed = seed_recipe().fit(seed_recipe_features(train), train["Ba_avg"].to_numpy())
    theirs = seed.predict(seed_recipe_features(test))
    masks = regimes(test["P_avg"].to_numpy(), x_test[:, 1], periods["card"]["rated_wind_speed_ms"])
    for regime in ("overall", "producing"):
        mine, seeds = (
            error_stats(y_test[masks[regime]], ours[masks[regime]]),
            error_stats(y_test[masks[regime]], theirs[masks[regime]]),
        )
        assert mine["rmse"] < seeds["rmse"], (regime, mine, seeds)
        assert mine["mae"] < seeds["mae"], (regime, mine, seeds)
    # The card reports what the artifact does.
    overall = error_stats(y_test, ours)
    assert overall["rmse"] == pytest.approx(periods["card"]["metrics"]["test"]["rmse"], abs=1e-9)


def test_export_matches_scikit_learn_on_the_whole_test_period(real_model_dir: Path, periods: dict[str, Any]) -> None:
    # Every test-period row, including the ones with missing values that the imputer fills.
    x = frame_inputs(periods["raw_test"])
    assert np.isnan(x).any()
    sklearn_pitch = load_pipeline(real_model_dir).predict(x)
    runtime_pitch = PitchModel.load(real_model_dir).predict_inputs(x)
    assert len(x) > 100_000
    np.testing.assert_allclose(runtime_pitch, sklearn_pitch, rtol=0, atol=1e-9)


def test_seed_request_moves_with_the_wind(real_model_dir: Path, seed_record: dict[str, Any]) -> None:
    model = PitchModel.load(real_model_dir)
    [seed] = windpitch.predict(seed_record, model)
    assert seed.ok
    pitch = {ws: windpitch.predict({"Ws1_avg": ws}, model)[0].pitch_deg for ws in (2, 6, 10, 13, 16, 20)}
    # Wind alone, power from the learned power curve: the physics of a pitch-regulated turbine.
    assert pitch[2] > 30  # below cut-in the rotor idles with blades feathered
    assert abs(pitch[6]) < 3 and abs(pitch[10]) < 3  # fine pitch while producing below rated
    assert pitch[10] < pitch[13] < pitch[16] < pitch[20]  # above rated, blades pitch out as wind rises
