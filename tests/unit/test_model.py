"""The artifact: card contents, export parity with scikit-learn, and integrity checks."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from windpitch.artifacts import (
    CARD_FILE,
    EXPORT_FILE,
    PIPELINE_FILE,
    PLOT_FILE,
    ModelUnavailable,
    sha256_file,
)
from windpitch.features import FEATURES
from windpitch.runtime import PitchModel
from windpitch.schema import MODEL_INPUTS
from windpitch_train.datasets import content_sha256
from windpitch_train.pipeline import load_pipeline


def random_inputs(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.uniform(-100, 2300, n),
            rng.uniform(0, 25, n),
            rng.uniform(-180, 180, n),
            rng.uniform(-40, 60, n),
            rng.uniform(0, 360, n),
            rng.uniform(0, 360, n),
            rng.integers(1, 13, n),
            rng.integers(0, 24, n),
        ]
    ).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan  # imputation is part of what must agree
    return x


def test_card_documents_the_model(synthetic_model_dir: Path, synthetic_csv: Path) -> None:
    card = json.loads((synthetic_model_dir / CARD_FILE).read_text())
    assert card["sha256"] == sha256_file(synthetic_model_dir / PIPELINE_FILE)
    assert card["export"]["sha256"] == sha256_file(synthetic_model_dir / EXPORT_FILE)
    assert card["data_sha256"] == content_sha256(synthetic_csv)
    assert card["features"] == list(FEATURES)
    assert card["version"].endswith(card["export"]["sha256"][:8])
    assert set(card["defaults"]) == set(MODEL_INPUTS)
    figures = {"rmse", "mae", "within_1deg", "median_abs", "p90_abs", "n"}
    for section in (card["metrics"]["test"], card["baseline"]["test"]):
        assert figures <= set(section)  # metrics.test.rmse: the overall figures at the top
        for regime in ("producing", "stopped", "above_rated"):
            assert figures <= set(section["regimes"][regime])
    assert {"python", "numpy", "pandas", "scikit-learn", "joblib"} <= set(card["libraries"])
    assert card["data"]["excluded"]["no_measured_pitch"] > 0
    assert (synthetic_model_dir / PLOT_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_matches_scikit_learn_to_1e_9(synthetic_model_dir: Path) -> None:
    pipeline = load_pipeline(synthetic_model_dir)
    model = PitchModel.load(synthetic_model_dir)
    x = random_inputs(5000)
    np.testing.assert_allclose(model.predict_inputs(x), pipeline.predict(x), rtol=0, atol=1e-9)


def test_defaults_are_learned_from_training(synthetic_model_dir: Path) -> None:
    pipeline = load_pipeline(synthetic_model_dir)
    model = PitchModel.load(synthetic_model_dir)
    assert list(model.defaults.values()) == pipeline.named_steps["impute"].statistics_.tolist()
    # A missing value takes exactly its default.
    row = random_inputs(1)[0]
    row[np.isnan(row)] = 1.0
    filled = row.copy()
    row[1], filled[1] = np.nan, model.defaults["Ws_avg"]
    assert model.predict_inputs([row])[0] == model.predict_inputs([filled])[0]


def test_one_row_and_many_rows_agree(synthetic_model_dir: Path) -> None:
    model = PitchModel.load(synthetic_model_dir)
    x = random_inputs(3000)  # more than one evaluation chunk
    many = model.predict_inputs(x)
    assert [model.predict_inputs(row)[0] for row in x[:50]] == many[:50].tolist()


def test_a_tampered_export_is_refused(model_dir_copy: Path) -> None:
    path = model_dir_copy / EXPORT_FILE
    path.write_bytes(path.read_bytes().replace(b'"depth":', b'"depth": ', 1))
    with pytest.raises(ModelUnavailable, match="integrity check failed"):
        PitchModel.load(model_dir_copy)


def test_a_swapped_pickle_is_never_unpickled(model_dir_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (Path.write_text, (marker, "code ran"))  # type: ignore[return-value]

    (model_dir_copy / PIPELINE_FILE).write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(ModelUnavailable, match="does not match the model card"):
        load_pipeline(model_dir_copy)
    assert not marker.exists()


def test_missing_or_broken_cards_are_explained(model_dir_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="python -m windpitch train"):
        PitchModel.load(tmp_path / "empty")
    (model_dir_copy / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelUnavailable, match="unreadable"):
        PitchModel.load(model_dir_copy)


def test_an_export_for_another_runtime_is_refused(model_dir_copy: Path) -> None:
    spec = json.loads((model_dir_copy / EXPORT_FILE).read_bytes())
    spec["features_version"] = "windpitch-features/999"
    raw = json.dumps(spec).encode()
    (model_dir_copy / EXPORT_FILE).write_bytes(raw)
    card = json.loads((model_dir_copy / CARD_FILE).read_text())
    card["export"]["sha256"] = __import__("hashlib").sha256(raw).hexdigest()
    (model_dir_copy / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelUnavailable, match="features 'windpitch-features/999'"):
        PitchModel.load(model_dir_copy)
