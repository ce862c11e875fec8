"""Another farm end to end: La Haute Borne's rows renamed WTG01..WTG04 and scaled to 3.3 MW turbines, with
its asset table. Training learns the fleet and ratings into the card; the API, the embedded model, the CLI's
schema (the dashboard's) and the batch judge by them, and nothing is quarantined for being that farm."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BUCKET, SMALL, LambdaContext, api_event, asset_table, bucket_snapshot
from windpitch.artifacts import MODEL_DIR_ENV, read_card
from windpitch.predict import load_model, predict
from windpitch_batch.config import BatchConfig
from windpitch_batch.run import run_batch
from windpitch_cli import main
from windpitch_train.train import Split, train

pytestmark = pytest.mark.real_data
RATED_KW = 3300.0
NAMES = {"R80711": "WTG01", "R80721": "WTG02", "R80736": "WTG03", "R80790": "WTG04"}


@pytest.fixture(scope="module")
def other_farm(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The farm's SCADA (gzip CSV), asset table and trained model."""
    folder = tmp_path_factory.mktemp("other-farm")
    with gzip.open(real_data, "rt") as fh:
        text = pd.read_csv(fh, dtype=str, keep_default_na=False)
    text["Wind_turbine_name"] = text["Wind_turbine_name"].map(NAMES)
    power = pd.to_numeric(text["P_avg"], errors="coerce") * (RATED_KW / 2050.0)
    text["P_avg"] = np.where(power.isna(), text["P_avg"], power.round(2).astype(str))
    data = folder / "farm.csv.gz"
    with gzip.open(data, "wt") as fh:
        text.to_csv(fh, index=False)
    assets = asset_table(folder / "assets.csv", tuple(NAMES.values()), RATED_KW)
    model = folder / "model"
    train(data, model, Split(), SMALL, progress=False, assets=assets)
    return {"data": data, "assets": assets, "model": model, "text": data}


@pytest.fixture
def serving(other_farm: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(MODEL_DIR_ENV, str(other_farm["model"]))
    load_model.cache_clear()
    yield other_farm
    load_model.cache_clear()


def test_training_writes_the_farm_into_the_card(other_farm: dict[str, Path]) -> None:
    farm = read_card(other_farm["model"])["farm"]
    assert farm["turbines"] == {name: {"rated_power_kw": RATED_KW} for name in NAMES.values()}
    assert farm["rated_power_source"] == "asset table assets.csv"
    assert farm["limits"]["P_avg"] == pytest.approx([-100 * RATED_KW / 2050, 2300 * RATED_KW / 2050])
    card = read_card(other_farm["model"])
    assert card["data"]["excluded"]["input_out_of_range"] < 100, "3.3 MW power is not out of range"


def test_the_api_and_the_embedded_model_score_the_farm_and_refuse_other_turbines(
    serving: dict[str, Path], functions: dict[str, Any]
) -> None:
    [ok] = predict({"Wind_turbine_name": "WTG01", "P_avg": 3000, "Ws_avg": 11})
    assert ok.ok
    handler = functions["predict"].lambda_handler
    event = api_event(
        "predict_get_ws1",
        queryStringParameters={"P_avg": "3000", "Ws_avg": "11"},
        multiValueQueryStringParameters={"P_avg": ["3000"], "Ws_avg": ["11"]},
    )
    response = handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    stranger = {"Wind_turbine_name": ["R80711"], "Ws_avg": ["11"]}
    event = api_event(
        "predict_get_ws1",
        queryStringParameters={k: v[0] for k, v in stranger.items()},
        multiValueQueryStringParameters=stranger,
    )
    response = handler(event, LambdaContext())
    body = json.loads(response["body"])
    assert response["statusCode"] == 400
    assert body["details"][0]["field"] == "Wind_turbine_name"
    assert body["details"][0]["reason"].startswith("unknown turbine 'R80711': the model's fleet is WTG01, WTG02")


def test_the_dashboards_schema_carries_the_farms_fleet_and_limits(
    serving: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["fleet"] == list(NAMES.values())
    assert schema["fields"]["P_avg"]["maximum"] == pytest.approx(2300 * RATED_KW / 2050)


def test_the_batch_quarantines_nothing_for_being_that_farm(serving: dict[str, Path], s3: Any, store: Any) -> None:
    with gzip.open(serving["data"], "rt") as fh:
        lines = fh.read().splitlines()
    day = [lines[0], *(line for line in lines[1:] if "2015-08-01T" in line)]
    s3.put_object(Bucket=BUCKET, Key="raw/farm-day.csv", Body=("\n".join(day) + "\n").encode())
    manifest = run_batch(store, load_model(), BatchConfig(bucket=BUCKET)).as_dict()
    assert manifest["rows_in"] == len(day) - 1
    quarantined = bucket_snapshot(s3, "quarantine/")
    reasons = "".join(v.decode(errors="replace") for k, v in quarantined.items() if k.endswith("rows.csv"))
    assert "unknown turbine" not in reasons and "P_avg: out of range" not in reasons
    # What is left is the data's own gaps (rows with every measurement empty), never the farm.
    assert manifest["rows_rejected"] == reasons.count("no measurements")
