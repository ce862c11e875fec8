"""The batch run on moto S3 (mock_aws): what it publishes, idempotency, concurrency, bounded work."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from tests.conftest import BUCKET, bucket_snapshot, scada_bytes, synthetic_scada
from windpitch_batch.config import BatchConfig
from windpitch_batch.discover import pending
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store

FLEET4 = ("R80711", "R80721", "R80736", "R80790")
CONFIG = BatchConfig(bucket=BUCKET)


def two_days() -> pd.DataFrame:
    """Ten-minute SCADA of the four turbines over 2 UTC days (1,152 rows)."""
    return synthetic_scada(288, seed=11, freq="10min", start="2015-03-01", turbines=FLEET4)


def put_raw(client: Any, key: str, data: bytes) -> None:
    client.put_object(Bucket=BUCKET, Key=key, Body=data)


def day_files(client: Any, frame: pd.DataFrame) -> list[str]:
    """Upload one raw file per UTC day (the first gzip, the next plain); return their keys."""
    stamps = pd.to_datetime(frame["Date_time"], utc=True)
    keys = []
    for i, (day, rows) in enumerate(frame.groupby(stamps.dt.strftime("%Y-%m-%d"), sort=True)):
        key = f"raw/2015/scada-{day}.csv" + (".gz" if i % 2 == 0 else "")
        put_raw(client, key, scada_bytes(rows, gz=i % 2 == 0))
        keys.append(key)
    return keys


def read_predictions(client: Any) -> pd.DataFrame:
    parts = bucket_snapshot(client, "predictions/")
    frames = []
    for key, data in sorted(parts.items()):
        frame = pd.read_parquet(io.BytesIO(data))
        frame["date"] = key.split("date=")[1].split("/")[0]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_a_run_publishes_predictions_dashboard_and_a_manifest(s3: Any, store: S3Store, pitch_model: Any) -> None:
    frame = two_days()
    keys = day_files(s3, frame)

    manifest = run_batch(store, pitch_model, CONFIG).as_dict()

    assert manifest["files_in"] == 2
    assert manifest["rows_in"] == len(frame) == manifest["rows_scored"] + manifest["rows_rejected"]
    assert manifest["rows_rejected"] == 0
    assert [i["key"] for i in manifest["inputs"]] == keys
    assert manifest["model_version"] == pitch_model.info.version
    published = read_predictions(s3)
    assert len(published) == len(frame)
    assert sorted(published["date"].unique()) == ["2015-03-01", "2015-03-02"]
    # Every row sits in the partition of its own UTC date.
    assert (published["timestamp"].dt.strftime("%Y-%m-%d") == published["date"]).all()
    assert str(published["timestamp"].dt.tz) == "UTC"
    assert set(published["turbine"]) == set(FLEET4)
    # Each row names the scoring of its unit, which the manifest lists beside the unit.
    assert set(published["run_id"]) == {i["scoring_id"] for i in manifest["inputs"]}
    assert (published["model_version"] == pitch_model.info.version).all()
    residual = published["measured_pitch_deg"] - published["expected_pitch_deg"]
    assert (residual - published["residual_deg"]).abs().max() < 1e-12
    keys_out = set(bucket_snapshot(s3))
    for name in ("fleet.json", "anomalies.json", "manifest.json", *(f"turbines/{t}.json" for t in FLEET4)):
        assert f"dashboard/{name}" in keys_out
    assert f"manifests/run-{manifest['run_id']}.json" in keys_out
    assert "anomalies/events.json" in keys_out
    assert not [k for k in keys_out if k.startswith("state/leases/")], "leases are released"


def test_expected_pitch_is_the_serving_runtimes(s3: Any, store: S3Store, pitch_model: Any) -> None:
    """The batch scores with the API's runtime: the same inputs give the same expected pitch."""
    from windpitch_frames.inputs import frame_inputs
    from windpitch_frames.loading import load_scada

    frame = two_days()
    day_files(s3, frame)
    run_batch(store, pitch_model, CONFIG).as_dict()
    published = read_predictions(s3).sort_values(["timestamp", "turbine"]).reset_index(drop=True)
    loaded, _ = load_scada(scada_bytes(frame))
    direct = pitch_model.predict_inputs(frame_inputs(loaded))
    assert list(published["expected_pitch_deg"]) == pytest.approx(list(direct), abs=1e-9)


def test_the_manifest_is_the_last_write_of_a_run(s3: Any, pitch_model: Any) -> None:
    written: list[str] = []

    class Recording(S3Store):
        def put(self, key: str, data: bytes, content_type: str = "application/octet-stream", **kw: Any) -> str:
            written.append(key)
            return super().put(key, data, content_type, **kw)

    day_files(s3, two_days())
    run_batch(Recording(BUCKET, s3), pitch_model, CONFIG).as_dict()
    commit = next(i for i, k in enumerate(written) if k.startswith("manifests/"))
    assert commit == len(written) - 2  # only the dashboard's copy of it comes after
    assert written[-1] == "dashboard/manifest.json"
    assert {k.split("/")[0] for k in written[:commit]} >= {"predictions", "dashboard", "state", "anomalies"}
    ledger = next(i for i, k in enumerate(written) if k.startswith("state/ledger/"))
    published = [i for i, k in enumerate(written) if k.startswith(("predictions/", "dashboard/", "anomalies/"))]
    assert ledger < min(published), "readers see nothing before the ledger names its unit"


def test_running_again_changes_nothing(s3: Any, store: S3Store, pitch_model: Any) -> None:
    day_files(s3, two_days())
    run_batch(store, pitch_model, CONFIG).as_dict()
    before = bucket_snapshot(s3)

    again = run_batch(store, pitch_model, CONFIG).as_dict()

    assert again == {"status": "nothing to do"}
    assert bucket_snapshot(s3) == before


def test_a_run_redone_after_losing_its_commit_writes_identical_bytes(s3: Any, store: S3Store, pitch_model: Any) -> None:
    day_files(s3, two_days())
    first = run_batch(store, pitch_model, CONFIG).as_dict()
    outputs = bucket_snapshot(s3, "predictions/") | bucket_snapshot(s3, "dashboard/turbines/")
    for key in bucket_snapshot(s3, "manifests/") | bucket_snapshot(s3, "state/ledger/"):  # as if never committed
        s3.delete_object(Bucket=BUCKET, Key=key)

    redo = run_batch(store, pitch_model, CONFIG).as_dict()

    assert redo["run_id"] == first["run_id"]
    assert redo["rows_in"] == first["rows_in"]
    assert bucket_snapshot(s3, "predictions/") | bucket_snapshot(s3, "dashboard/turbines/") == outputs


def test_a_new_version_of_a_raw_file_replaces_its_rows(s3: Any, store: S3Store, pitch_model: Any) -> None:
    frame = two_days()
    keys = day_files(s3, frame)
    run_batch(store, pitch_model, CONFIG).as_dict()
    first_day = frame[pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d") == "2015-03-01"]
    corrected = first_day.assign(Ba_avg=first_day["Ba_avg"] + 0.5)
    put_raw(s3, keys[0], scada_bytes(corrected, gz=True))

    manifest = run_batch(store, pitch_model, CONFIG).as_dict()

    assert manifest["files_in"] == 1
    published = read_predictions(s3)
    assert len(published) == len(frame), "no duplicates: the file's outputs were replaced"
    day1 = published[published["date"] == "2015-03-01"].sort_values(["timestamp", "turbine"])
    assert day1["measured_pitch_deg"].to_numpy() == pytest.approx(
        corrected.sort_values(["Date_time", "Wind_turbine_name"])["Ba_avg"].to_numpy()
    )


def test_two_runs_at_once_neither_duplicate_nor_corrupt(s3: Any, pitch_model: Any) -> None:
    frame = synthetic_scada(144 * 6, seed=5, freq="10min", start="2015-04-01", turbines=FLEET4)
    keys = day_files(s3, frame)
    start = threading.Barrier(2)
    manifests: list[dict[str, Any]] = []

    def one_run() -> None:
        start.wait()
        manifests.append(run_batch(S3Store(BUCKET, s3), pitch_model, CONFIG).as_dict())

    runs = [threading.Thread(target=one_run) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    committed = [m for m in manifests if "run_id" in m]
    assert committed, manifests
    done = [i["key"] for m in committed for i in m["inputs"]]
    leftovers = run_batch(S3Store(BUCKET, s3), pitch_model, CONFIG).as_dict()  # anything a lease kept from both
    if "run_id" in leftovers:
        done += [i["key"] for i in leftovers["inputs"]]
    assert sorted(done) == sorted(keys), "each file published by exactly one run"
    published = read_predictions(s3)
    assert len(published) == len(frame)
    assert not published.duplicated(["turbine", "timestamp"]).any()
    for turbine in FLEET4:
        state = json.loads(s3.get_object(Bucket=BUCKET, Key=f"dashboard/turbines/{turbine}.json")["Body"].read())
        times = state["series"]["time"]
        assert times == sorted(set(times)), "the merged series has each interval once"
        assert len(times) == 144 * 6, "both runs' rows are in the dashboard state (7-day window)"


def test_a_file_leased_by_a_live_run_is_left_alone_and_a_stale_lease_is_taken_over(
    s3: Any, store: S3Store, pitch_model: Any
) -> None:
    from windpitch_batch.outputs import json_bytes
    from windpitch_batch.plan import UnitRef

    day_files(s3, two_days().iloc[:100])
    (obj,) = pending(store)
    lease = f"state/leases/{UnitRef(obj.key, obj.etag).unit()}"
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    taken = {"token": "other", "taken_at": (now - timedelta(seconds=60)).isoformat()}
    s3.put_object(Bucket=BUCKET, Key=lease, Body=json_bytes(taken))

    busy = run_batch(store, pitch_model, CONFIG, now=lambda: now).as_dict()
    assert busy["status"] == "nothing done"
    assert "leased by another run" in busy["reason"]

    later = now + timedelta(seconds=CONFIG.lease_seconds + 1)
    manifest = run_batch(store, pitch_model, CONFIG, now=lambda: later).as_dict()
    assert manifest["files_in"] == 1


def test_work_is_bounded_and_the_rest_is_picked_up_next_run(s3: Any, store: S3Store, pitch_model: Any) -> None:
    frame = two_days()
    keys = day_files(s3, frame)
    bounded = BatchConfig(bucket=BUCKET, max_files=1)

    first = run_batch(store, pitch_model, bounded).as_dict()
    assert [i["key"] for i in first["inputs"]] == keys[:1]
    assert first["files_left_for_next_run"] == 0  # max_files caps the candidates themselves
    assert [o.key for o in pending(store)] == keys[1:]

    no_time = run_batch(store, pitch_model, CONFIG, remaining_ms=lambda: CONFIG.safety_margin_ms - 1).as_dict()
    assert no_time == {"status": "nothing done", "reason": "no time left in this invocation", "files_pending": 1}

    second = run_batch(store, pitch_model, CONFIG).as_dict()
    assert [i["key"] for i in second["inputs"]] == keys[1:]
    assert first["rows_in"] + second["rows_in"] == len(frame)


def test_time_running_out_mid_run_commits_what_was_done(s3: Any, store: S3Store, pitch_model: Any) -> None:
    frame = two_days()
    keys = day_files(s3, frame)
    clock = iter([900_000, 900_000, 1_000])  # plenty at the start and for the first file, then not

    manifest = run_batch(store, pitch_model, CONFIG, remaining_ms=lambda: next(clock, 1_000)).as_dict()

    assert [i["key"] for i in manifest["inputs"]] == keys[:1]
    assert manifest["files_left_for_next_run"] == 1
    assert [o.key for o in pending(store)] == keys[1:]
    assert not bucket_snapshot(s3, "state/leases/"), "the unprocessed file's lease is released"
