"""Input drift on the real data, through the batch on moto: four weeks of La Haute Borne as recorded, and the
same four weeks with the outdoor temperature 15 °C warmer (bench/input_drift.py prints every window)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from windpitch.runtime import PitchModel
from windpitch_batch.config import BatchConfig
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def four_weeks(real_data: Path) -> pd.DataFrame:
    with gzip.open(real_data, "rt") as fh:
        text = pd.read_csv(fh, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(text["Date_time"], utc=True)
    return text[(stamps >= "2015-07-08") & (stamps < "2015-08-05")].reset_index(drop=True)


def monitoring(s3: Any, model: PitchModel, bucket: str, frame: pd.DataFrame) -> dict[str, Any]:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    s3.put_object(Bucket=bucket, Key="raw/four-weeks.csv", Body=frame.to_csv(index=False).encode())
    run_batch(S3Store(bucket, s3), model, BatchConfig(bucket=bucket))
    latest = json.loads(s3.get_object(Bucket=bucket, Key="monitoring/latest.json")["Body"].read())
    return dict(latest)


def test_a_warmer_month_flags_outdoor_temperature_and_the_recorded_one_does_not(
    s3: Any, real_model_dir: Path, four_weeks: pd.DataFrame
) -> None:
    model = PitchModel.load(real_model_dir)
    recorded = monitoring(s3, model, "recorded", four_weeks)
    warmer = four_weeks.copy()
    warmer["Ot_avg"] = (pd.to_numeric(warmer["Ot_avg"], errors="coerce") + 15).round(2).astype(str).replace("nan", "")
    shifted = monitoring(s3, model, "shifted", warmer)

    assert recorded["window"] == {
        "first_day": "2015-07-08",
        "last_day": "2015-08-04",
        "days": 28,
        "days_with_data": 28,
        "judged": True,
    }
    assert recorded["drifted"] == [], recorded["inputs"]
    assert shifted["drifted"] == ["Ot_avg"], shifted["inputs"]
    assert shifted["inputs"]["Ot_avg"]["psi"] > 2 * shifted["inputs"]["Ot_avg"]["threshold"]
    assert recorded["rows"] == shifted["rows"] > 15_000
    assert set(recorded["turbines"]) == {"R80711", "R80721", "R80736", "R80790"}
