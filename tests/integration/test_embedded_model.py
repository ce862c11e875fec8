"""The dashboard's embedded model (dashboard/src/model.js, run by Node) against the Python runtime."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT
from windpitch.predict import predict
from windpitch.runtime import PitchModel
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada
from windpitch_train.train import Split, clean

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the dashboard's evaluator runs on it)")
RECORDS = [
    {"Ws1_avg": 10},
    {"Ws1_avg": 16},
    {"Ws1_avg": 4, "Ws2_avg": 6},
    {"Ws_avg": 12, "P_avg": 1900, "Ot_avg": 3, "Wa_avg": 350, "Ya_avg": 10, "Date_time": "2015-01-15T13:20:00+01:00"},
    {"Ws_avg": 0.2, "P_avg": -5},
    {},
]


def evaluate_in_node(model_dir: Path, rows: np.ndarray, tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    inputs = tmp_path / "inputs.json"
    rows_json = [[None if np.isnan(v) else float(v) for v in row] for row in rows]
    inputs.write_text(json.dumps({"rows": rows_json, "records": RECORDS}))
    output = tmp_path / "output.json"
    done = subprocess.run(
        [str(NODE), str(ROOT / "dashboard" / "test" / "evaluate.mjs"), str(model_dir / "model.json"), str(inputs),
         str(output)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(output.read_text())
    return np.asarray(result["pitch"], dtype=np.float64), np.asarray(result["records"], dtype=np.float64)


def check(model_dir: Path, frame_rows: np.ndarray, tmp_path: Path) -> None:
    model = PitchModel.load(model_dir)
    in_page, records_in_page = evaluate_in_node(model_dir, frame_rows, tmp_path)
    assert np.abs(in_page - model.predict_inputs(frame_rows)).max() <= 1e-6
    in_python = [r.pitch_deg for r in predict(RECORDS, model)]
    assert np.abs(records_in_page - np.asarray(in_python)).max() <= 1e-6, "records: the API's answers"


def test_the_page_evaluates_the_synthetic_model_as_python_does(
    synthetic_model_dir: Path, synthetic_csv: Path, tmp_path: Path
) -> None:
    frame, _ = load_scada(synthetic_csv)
    rows = frame_inputs(frame)
    assert np.isnan(rows).any(), "missing inputs are part of the comparison"
    check(synthetic_model_dir, rows, tmp_path)


@pytest.mark.real_data
def test_the_page_evaluates_the_real_model_as_python_does_on_the_whole_test_period(
    real_data: Path, real_model_dir: Path, tmp_path: Path
) -> None:
    frame, _ = load_scada(real_data)
    usable, _ = clean(frame)
    _, test = Split().masks(usable["Date_time"])
    rows = frame_inputs(usable[test.to_numpy()])
    assert len(rows) == 105_940
    check(real_model_dir, rows, tmp_path)
