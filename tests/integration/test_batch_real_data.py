"""The batch on slices of the real La Haute Borne data (moto S3): every row accounted for, and the
expected pitch it publishes is the API's answer for the same record."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import BUCKET, bucket_snapshot
from windpitch.predict import predict
from windpitch.runtime import PitchModel
from windpitch_batch.config import BatchConfig
from windpitch_batch.replay import plan_replay
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def real_text(real_data: Path) -> str:
    return gzip.decompress(real_data.read_bytes()).decode()


def test_three_days_of_real_scada_published_and_equal_to_the_api(
    real_text: str, real_model_dir: Path, s3: Any, store: S3Store
) -> None:
    model = PitchModel.load(real_model_dir)
    plan = plan_replay(real_text, start="2015-07-04", days=0, backfill_days=3)  # one file: 3 days, 4 turbines
    (backfill,) = plan.files
    s3.put_object(Bucket=BUCKET, Key="raw/2015-07-01.csv.gz", Body=gzip.compress(backfill.body, mtime=0))

    manifest = run_batch(store, model, BatchConfig(bucket=BUCKET)).as_dict()

    lines = backfill.body.decode().splitlines()
    assert manifest["rows_in"] == len(lines) - 1 == 4 * 3 * 144
    assert manifest["rows_in"] == manifest["rows_scored"] + manifest["rows_rejected"]
    parts = bucket_snapshot(s3, "predictions/")
    assert sorted(k.split("/")[1] for k in parts) == ["date=2015-07-01", "date=2015-07-02", "date=2015-07-03"]
    table = pd.concat([pd.read_parquet(io.BytesIO(b)) for b in parts.values()], ignore_index=True)
    assert len(table) == manifest["rows_scored"]
    # The same records through the embedded/API path (windpitch.predict): the same expected pitch.
    header = lines[0].split(",")
    sample = [dict(zip(header, line.split(","), strict=True)) for line in lines[1::10]]
    records = [{k: (float(v) if v and k not in ("Wind_turbine_name", "Date_time") else v or None)
                for k, v in row.items()} for row in sample]  # fmt: skip
    answers = predict(records, model)
    by_key = table.set_index(["turbine", table["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")])
    compared = 0
    for record, answer in zip(records, answers, strict=True):
        if not answer.ok:
            continue
        stamp = pd.Timestamp(record["Date_time"]).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        published = by_key.loc[(record["Wind_turbine_name"], stamp), "expected_pitch_deg"]
        assert published == pytest.approx(answer.pitch_deg, abs=1e-9)
        compared += 1
    assert compared >= 100
