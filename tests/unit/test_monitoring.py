"""Monitoring of the live model: input drift against the training deciles, residual trends, shares, age."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BUCKET, bucket_snapshot, scada_bytes, synthetic_scada
from windpitch.monitoring import MonitorSettings, bin_counts, input_drift, psi, reference_bins
from windpitch_batch.config import BatchConfig
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store

CONFIG = BatchConfig(bucket=BUCKET)


def test_psi_is_zero_for_the_training_distribution_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(1)
    reference = reference_bins(rng.normal(12, 8, 100_000))
    assert reference["shares"] == pytest.approx([0.1] * 10, abs=0.002)
    values = [psi(reference, bin_counts(reference, rng.normal(12 + shift, 8, 5_000))) for shift in (0, 2, 5, 15)]
    assert values[0] < 0.01
    assert values == sorted(values), "a larger shift, a larger index"
    assert values[-1] > 1.0


def test_too_few_values_give_no_verdict() -> None:
    reference = {"edges": [0.0], "shares": [0.5, 0.5]}
    verdict = input_drift({"Ot_avg": reference}, {"Ot_avg": [0, 100]}, MonitorSettings(min_values=500))
    assert verdict["Ot_avg"] == {"psi": pytest.approx(4.60, abs=0.01), "threshold": 0.25, "drifted": False, "n": 100}


def test_every_run_publishes_monitoring_with_each_input_each_turbine_and_the_models_age(
    s3: Any, store: S3Store, pitch_model: Any
) -> None:
    frame = synthetic_scada(144 * 3, seed=4, freq="10min", start="2015-03-01")
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=scada_bytes(frame))
    manifest = run_batch(store, pitch_model, CONFIG).as_dict()
    published = bucket_snapshot(s3, "monitoring/")
    latest = json.loads(published["monitoring/latest.json"])
    assert set(latest["inputs"]) == {"P_avg", "Ws_avg", "Va_avg", "Ot_avg", "Ya_avg", "Wa_avg"}
    assert all(v["n"] == len(frame) for k, v in latest["inputs"].items() if k != "Ot_avg")
    assert set(latest["turbines"]) == {"R80711", "R80721"}
    assert latest["turbines"]["R80711"]["n"] > 0
    assert latest["rows"] == len(frame) and latest["rejected_share"] == 0.0
    assert latest["model"]["version"] == pitch_model.info.version and latest["model"]["age_days"] >= 0
    assert published["monitoring/date=2015-03-03/monitoring.json"] == published["monitoring/latest.json"]
    assert manifest["monitoring"]["drifted"] == latest["drifted"] == []
    assert latest["window"]["judged"] is False, "three days of a 28-day window: too few to judge drift"
    assert json.loads(bucket_snapshot(s3, "dashboard/")["dashboard/monitoring.json"]) == latest


def test_a_shifted_input_is_flagged_and_a_file_scored_again_counts_once(
    s3: Any, store: S3Store, pitch_model: Any
) -> None:
    """Outdoor temperature 15 °C warmer than in training for two weeks: Ot_avg drifts, power does not.
    The same file again (a new version of it) replaces its counts instead of adding to them."""
    frame = synthetic_scada(144 * 14, seed=4, freq="10min", start="2015-03-01")
    frame["Ot_avg"] = (pd.to_numeric(frame["Ot_avg"]) + 15).round(2)
    for _ in range(2):
        s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=scada_bytes(frame))
        run_batch(store, pitch_model, CONFIG)
    latest = json.loads(bucket_snapshot(s3, "monitoring/")["monitoring/latest.json"])
    assert latest["drifted"] == ["Ot_avg"]
    assert latest["inputs"]["Ot_avg"]["psi"] > 1.0
    assert latest["inputs"]["P_avg"]["drifted"] is False
    assert latest["rows"] == len(frame), "counted once"
