"""The embedded model: windpitch.predict on one record or many."""

from pathlib import Path
from typing import Any

import pytest

import windpitch
from windpitch import Prediction, Rejected
from windpitch.runtime import PitchModel


@pytest.fixture
def model(synthetic_model_dir: Path) -> PitchModel:
    return PitchModel.load(synthetic_model_dir)


def test_seed_row_predicts_as_it_is(model: PitchModel, seed_record: dict[str, Any]) -> None:
    [result] = windpitch.predict(seed_record, model)
    assert isinstance(result, Prediction)
    assert -10 <= result.pitch_deg <= 100
    assert result.imputed == ()
    assert result.model_version == model.info.version
    assert result.measured_pitch_deg == 44.99
    assert result.residual_deg == pytest.approx(44.99 - result.pitch_deg)
    assert result.as_dict()["residual_deg"] == result.residual_deg


def test_the_answer_moves_with_the_wind(model: PitchModel) -> None:
    pitches = [windpitch.predict({"Ws1_avg": ws, "P_avg": 2000}, model)[0].pitch_deg for ws in (8, 14, 20)]
    assert pitches[0] < pitches[1] < pitches[2]  # above rated, the blades pitch out as wind rises


def test_bad_records_do_not_cost_the_good_ones(model: PitchModel) -> None:
    good = {"Ws_avg": 9.0, "P_avg": 1500}
    results = windpitch.predict([good, {"Ws_avg": "x"}, {**good, "Ot_avg": 5}, "junk"], model)  # type: ignore[list-item]
    assert [r.ok for r in results] == [True, False, True, False]
    assert isinstance(results[1], Rejected)
    assert results[1].as_dict() == {"ok": False, "errors": [{"field": "Ws_avg", "reason": "not a number: 'x'"}]}
    assert results[3].as_dict()["errors"][0]["field"] == "record"
    alone = windpitch.predict(good, model)[0]
    assert isinstance(alone, Prediction) and isinstance(results[0], Prediction)
    assert results[0].pitch_deg == alone.pitch_deg


def test_default_model_comes_from_the_environment(use_synthetic_model: Path) -> None:
    [result] = windpitch.predict({"Ws1_avg": 10})
    assert isinstance(result, Prediction)
    assert result.model_version == PitchModel.load(use_synthetic_model).info.version
    assert result.derived == ("Ws_avg",)
    assert "P_avg" in result.imputed


def test_no_model_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINDPITCH_MODEL_DIR", str(tmp_path))
    windpitch.load_model.cache_clear()
    with pytest.raises(windpitch.ModelUnavailable, match="no model card"):
        windpitch.predict({"Ws_avg": 3})
    windpitch.load_model.cache_clear()
