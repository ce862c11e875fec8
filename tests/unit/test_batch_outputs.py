"""What the batch publishes, as its readers see it: the Parquet dataset (pandas, DuckDB), the anomaly
events, and the dashboard's JSON files."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BUCKET, bucket_snapshot, scada_bytes, synthetic_scada
from windpitch_batch.config import BatchConfig
from windpitch_batch.outputs import by_date, json_bytes, parquet_bytes
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada

CONFIG = BatchConfig(bucket=BUCKET)
COLUMNS = {
    "timestamp",
    "turbine",
    "measured_pitch_deg",
    "expected_pitch_deg",
    "residual_deg",
    "anomaly",
    "producing",
    "wind_speed_ms",
    "power_kw",
    "model_version",
    "run_id",
    "source",
}


def download(client: Any, prefix: str, target: Path) -> Path:
    for key, data in bucket_snapshot(client, prefix).items():
        path = target / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target / prefix


@pytest.fixture
def published(s3: Any, store: S3Store, pitch_model: Any, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    frame = synthetic_scada(144 * 3, seed=21, freq="10min", start="2015-08-30")
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=scada_bytes(frame.iloc[: len(frame) // 2]))
    s3.put_object(Bucket=BUCKET, Key="raw/b.csv.gz", Body=scada_bytes(frame.iloc[len(frame) // 2 :], gz=True))
    manifest = run_batch(store, pitch_model, CONFIG).as_dict()
    return download(s3, "predictions/", tmp_path), manifest


def test_pandas_reads_the_dataset_as_one_hive_partitioned_table(published: tuple[Path, dict[str, Any]]) -> None:
    root, manifest = published
    table = pd.read_parquet(root)  # pyarrow-free environments read it with fastparquet
    assert len(table) == manifest["rows_scored"]
    assert COLUMNS | {"date"} == set(table.columns)
    assert sorted(table["date"].astype(str).unique()) == ["2015-08-30", "2015-08-31", "2015-09-01"]
    assert str(table["timestamp"].dt.tz) == "UTC"
    assert table["anomaly"].dtype == bool
    assert table["measured_pitch_deg"].dtype == np.float64


def test_duckdb_reads_the_dataset_as_one_table(published: tuple[Path, dict[str, Any]]) -> None:
    duckdb = pytest.importorskip("duckdb")
    root, manifest = published
    con = duckdb.connect()
    glob = f"{root.as_posix()}/*/*.parquet"
    rows, days, turbines, bad_dates = con.execute(
        """SELECT count(*), count(DISTINCT date), count(DISTINCT turbine),
                   count(*) FILTER (WHERE CAST(timezone('UTC', timestamp) AS DATE) <> CAST(date AS DATE))
            FROM read_parquet(?, hive_partitioning = true)""",
        [glob],
    ).fetchone()
    assert (rows, days, turbines, bad_dates) == (manifest["rows_scored"], 3, 2, 0)
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true)", [glob]).fetchall()
    kinds = {row[0]: row[1] for row in described}
    assert kinds["timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert kinds["turbine"] == "VARCHAR"
    assert kinds["expected_pitch_deg"] == "DOUBLE"


def test_encoders_are_deterministic() -> None:
    frame, _ = load_scada(scada_bytes(synthetic_scada(50, freq="10min", start="2015-01-01")))
    frame = frame.assign(turbine=frame["Wind_turbine_name"].astype("category"))
    assert parquet_bytes(frame) == parquet_bytes(frame.copy())
    assert json_bytes({"b": 1.0, "a": [math.nan, math.inf, 2]}) == b'{"a":[null,null,2],"b":1.0}'


def test_rows_are_split_at_utc_midnight_not_local_midnight() -> None:
    stamps = pd.to_datetime(
        ["2015-03-01T23:50:00+01:00", "2015-03-01T00:50:00+01:00", "2015-03-02T00:10:00+01:00"], utc=True
    )
    rows = pd.DataFrame({"timestamp": stamps, "turbine": "R80711"})
    days = {day: part["timestamp"].dt.strftime("%H:%M").tolist() for day, part in by_date(rows)}
    assert days == {"2015-02-28": ["23:50"], "2015-03-01": ["22:50", "23:10"]}


def faulty_pitch(model: Any, offset_from: int, offset_to: int, offset: float) -> pd.DataFrame:
    """One producing turbine at 9 m/s for a day, pitch as the model expects, plus ``offset`` degrees on
    intervals [offset_from, offset_to)."""
    times = pd.date_range("2015-06-10", periods=144, freq="10min", tz="UTC")
    frame = pd.DataFrame(
        {
            "Wind_turbine_name": "R80736",
            "Date_time": times.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "Ba_avg": 0.0,
            "P_avg": 1200.0,
            "Ws_avg": 9.0,
            "Va_avg": 0.0,
            "Ot_avg": 15.0,
            "Ya_avg": 180.0,
            "Wa_avg": 180.0,
        }
    )
    loaded, _ = load_scada(scada_bytes(frame))
    expected = model.predict_inputs(frame_inputs(loaded))
    frame["Ba_avg"] = expected + np.where((np.arange(144) >= offset_from) & (np.arange(144) < offset_to), offset, 0)
    return frame.round({"Ba_avg": 6})


def test_a_persistent_pitch_offset_spanning_two_files_is_one_event(s3: Any, store: S3Store, pitch_model: Any) -> None:
    frame = faulty_pitch(pitch_model, 60, 80, 8.0)  # 20 intervals = 3 h 20 min, across the file boundary at 72
    s3.put_object(Bucket=BUCKET, Key="raw/1.csv", Body=scada_bytes(frame.iloc[:72]))
    first = run_batch(store, pitch_model, CONFIG).as_dict()
    assert first["anomalies"] == {"events": 1, "open": 1}, "under way at the end of what has arrived"
    s3.put_object(Bucket=BUCKET, Key="raw/2.csv", Body=scada_bytes(frame.iloc[72:]))
    second = run_batch(store, pitch_model, CONFIG).as_dict()

    assert second["anomalies"] == {"events": 1, "open": 0}
    events = json.loads(bucket_snapshot(s3, "anomalies/")["anomalies/events.json"])
    assert events["detector"] == CONFIG.detector.as_dict()
    (event,) = events["events"]
    assert event["turbine"] == "R80736"
    assert (event["start"], event["end"], event["intervals"]) == ("2015-06-10T10:00:00Z", "2015-06-10T13:20:00Z", 20)
    assert event["peak_residual_deg"] == pytest.approx(8.0, abs=1e-3)
    assert (event["fault_class"], event["estimated_offset_deg"]) == ("offset", pytest.approx(8.0, abs=1e-3))
    assert event["detected_at"] == "2015-06-10T10:30:00Z", "known once three of five intervals moved"
    assert event["settings"] == CONFIG.detector.as_dict()
    table = pd.read_parquet(io.BytesIO(bucket_snapshot(s3, "anomalies/")["anomalies/events.parquet"]))
    assert table[["turbine", "fault_class", "open"]].to_dict("records") == [
        {"turbine": "R80736", "fault_class": "offset", "open": False}
    ]
    fleet = json.loads(bucket_snapshot(s3, "dashboard/")["dashboard/fleet.json"])
    (turbine,) = fleet["turbines"]
    assert turbine["turbine"] == "R80736"
    assert turbine["last_time"] == "2015-06-10T23:50:00Z"
    assert turbine["open_anomaly"] is False
    assert fleet["stale_after_minutes"] == 2 * CONFIG.schedule_minutes
    parts = bucket_snapshot(s3, "predictions/")
    table = pd.concat([pd.read_parquet(io.BytesIO(b)) for b in parts.values()])
    assert int(table["anomaly"].sum()) == 20


@pytest.mark.parametrize(("length", "events"), [(2, 0), (3, 1)])
def test_an_event_needs_most_of_a_window_to_move(
    s3: Any, store: S3Store, pitch_model: Any, length: int, events: int
) -> None:
    """A rolling median of five: two moved intervals are noise, three are a fault."""
    s3.put_object(Bucket=BUCKET, Key="raw/1.csv", Body=scada_bytes(faulty_pitch(pitch_model, 60, 60 + length, 4.0)))
    assert run_batch(store, pitch_model, CONFIG).as_dict()["anomalies"]["events"] == events


def test_stopped_intervals_never_make_an_event(s3: Any, store: S3Store, pitch_model: Any) -> None:
    """Parked or starting, the pitch is anything but fine pitch: the detector does not judge it."""
    frame = faulty_pitch(pitch_model, 60, 90, 40.0)
    frame.loc[60:89, "P_avg"] = -5.0  # the turbine stopped for those five hours
    s3.put_object(Bucket=BUCKET, Key="raw/1.csv", Body=scada_bytes(frame))
    assert run_batch(store, pitch_model, CONFIG).as_dict()["anomalies"] == {"events": 0, "open": 0}


def fleet_with_faults(model: Any) -> pd.DataFrame:
    """Three days of a four-turbine farm at steady partial load, pitch as the model expects (plus 0.1° of
    noise), with a +3° offset on R80711 for five hours on the second day, and a +2° error on all four at
    once for two hours on the first (a model error common to the farm, not a fault)."""
    rng = np.random.default_rng(3)
    times = pd.date_range("2015-06-10", periods=3 * 144, freq="10min", tz="UTC")
    frames = []
    for turbine in ("R80711", "R80721", "R80736", "R80790"):
        frame = pd.DataFrame(
            {
                "Wind_turbine_name": turbine,
                "Date_time": times.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "Ba_avg": 0.0,
                "P_avg": 1000.0 + rng.normal(0, 50, len(times)),
                "Ws_avg": 8.5,
                "Va_avg": 0.0,
                "Ot_avg": 15.0,
                "Ya_avg": 180.0,
                "Wa_avg": 180.0,
            }
        )
        loaded, _ = load_scada(scada_bytes(frame))
        pitch = model.predict_inputs(frame_inputs(loaded)) + rng.normal(0, 0.1, len(times))
        pitch[60:72] += 2.0
        if turbine == "R80711":
            pitch[144 + 60 : 144 + 90] += 3.0
        frame["Ba_avg"] = pitch.round(4)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_live_runs_and_a_backfill_publish_the_same_events(s3: Any, pitch_model: Any) -> None:
    """Hourly files scored as they land (a run every six hours) and the same rows in one file, one run: the
    same fault events, though each live run sees one day of kept series (window_days=1) and the backfill
    all three at once."""
    frame = fleet_with_faults(pitch_model)
    config = {name: BatchConfig(bucket=name, window_days=1) for name in ("live", "backfill")}
    for name in config:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    live, backfill = S3Store("live", s3), S3Store("backfill", s3)
    hours = frame.groupby(frame["Date_time"].str.slice(0, 13), sort=True)
    for k, (hour, rows) in enumerate(hours):
        s3.put_object(Bucket="live", Key=f"raw/{hour}.csv", Body=scada_bytes(rows))
        if k % 6 == 5:
            run_batch(live, pitch_model, config["live"])
    s3.put_object(Bucket="backfill", Key="raw/all.csv", Body=scada_bytes(frame))
    run_batch(backfill, pitch_model, config["backfill"])

    def events(bucket: str) -> list[dict[str, Any]]:
        body = s3.get_object(Bucket=bucket, Key="anomalies/events.json")["Body"].read()
        return list(json.loads(body)["events"])

    found = events("backfill")
    assert [(e["turbine"], e["start"], e["end"], e["fault_class"]) for e in found] == [
        ("R80711", "2015-06-11T10:00:00Z", "2015-06-11T15:00:00Z", "offset")
    ], "one fault on one turbine; the error common to the farm is cancelled by the fleet reference"
    assert found[0]["estimated_offset_deg"] == pytest.approx(3.0, abs=0.1)
    assert events("live") == found
