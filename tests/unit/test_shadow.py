"""The challenger in shadow: the comparison's arithmetic, the registry on moto, and the batch scoring both.

A challenger's figures are recomputed here from the published predictions and the challenger's own answers,
not read back from what the batch wrote; a corrupt or unknown challenger is refused with its reason and the
live scoring is exactly what it is without one.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BUCKET, bucket_snapshot, edited_model, scada_bytes
from tests.unit.test_batch_run import FLEET4, day_files, read_predictions, two_days
from windpitch.artifacts import PIPELINE_FILE
from windpitch.runtime import PitchModel
from windpitch.shadow import BINS, EDGES, error_sums, match_events, quantile, summarise
from windpitch_batch import registry
from windpitch_batch.config import BatchConfig
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada

NOW = datetime(2026, 11, 26, tzinfo=UTC)
CONFIG = BatchConfig(bucket=BUCKET)


# --- The arithmetic -------------------------------------------------------------------------------------


def test_summary_figures_are_the_textbook_ones() -> None:
    rng = np.random.default_rng(3)
    measured = rng.normal(5, 3, 5000)
    live = measured + rng.normal(0, 0.5, 5000)
    challenger = measured + rng.normal(0.2, 0.8, 5000)
    measured[::50] = np.nan  # unknown measured pitch: not judged
    known = np.isfinite(measured)

    summary = summarise(error_sums(measured, live, challenger))

    assert summary["n"] == known.sum()
    err_live, err_chal = measured[known] - live[known], measured[known] - challenger[known]
    assert summary["live"]["mae"] == pytest.approx(np.abs(err_live).mean(), abs=1e-4)
    assert summary["live"]["rmse"] == pytest.approx(np.sqrt(np.square(err_live).mean()), abs=1e-4)
    assert summary["challenger"]["mae"] == pytest.approx(np.abs(err_chal).mean(), abs=1e-4)
    assert summary["challenger"]["rmse"] == pytest.approx(np.sqrt(np.square(err_chal).mean()), abs=1e-4)
    gap = challenger[known] - live[known]
    d = summary["disagreement"]
    for key, q in (("median_deg", 0.5), ("p05_deg", 0.05), ("p95_deg", 0.95)):
        assert d[key] == pytest.approx(np.quantile(gap, q), abs=0.1)  # to within a bin
    assert d["share_over_1deg"] == pytest.approx(((gap < -1) | (gap >= 1)).mean(), abs=1e-4)


def test_sums_add_up_like_the_rows_they_count() -> None:
    rng = np.random.default_rng(4)
    m, a, b = (rng.normal(0, 2, 300) for _ in range(3))
    whole = error_sums(m, a, b)
    from windpitch.shadow import add_sums

    parts = add_sums(error_sums(m[:100], a[:100], b[:100]), error_sums(m[100:], a[100:], b[100:]))
    assert parts["n"] == whole["n"] and parts["disagreement"] == whole["disagreement"]
    assert parts["live_sq"] == pytest.approx(whole["live_sq"])


def test_grouped_sums_are_each_groups_own() -> None:
    from windpitch.shadow import grouped_error_sums

    rng = np.random.default_rng(5)
    group = rng.integers(0, 7, 2000)
    m, a, b = (rng.normal(0, 3, 2000) for _ in range(3))
    m[::13] = np.nan
    grouped = grouped_error_sums(group.astype(np.intp), 7, m, a, b)
    for k in range(7):
        own = error_sums(m[group == k], a[group == k], b[group == k])
        assert grouped[k]["n"] == own["n"] and grouped[k]["disagreement"] == own["disagreement"]
        assert grouped[k]["challenger_sq"] == pytest.approx(own["challenger_sq"])


def test_quantiles_of_the_outer_bins_report_the_edge() -> None:
    counts = np.zeros(BINS, dtype=np.int64)
    counts[-1] = 10  # every disagreement beyond +5°
    assert quantile(counts, 0.5) == EDGES[-1]
    assert quantile(np.zeros(BINS, dtype=np.int64), 0.5) is None


def test_events_are_matched_by_overlap() -> None:
    live = [{"start": "2015-01-01T00:00:00Z", "end": "2015-01-01T01:00:00Z"},
            {"start": "2015-01-02T00:00:00Z", "end": "2015-01-02T01:00:00Z"}]  # fmt: skip
    challenger = [{"start": "2015-01-01T00:30:00Z", "end": "2015-01-01T02:00:00Z"},
                  {"start": "2015-01-03T00:00:00Z", "end": "2015-01-03T01:00:00Z"}]  # fmt: skip
    assert match_events(live, challenger) == {
        "live": 2, "challenger": 2, "both": 1, "live_only": 1, "challenger_only": 1
    }  # fmt: skip


# --- The registry ---------------------------------------------------------------------------------------


def test_publish_list_and_load_a_version(store: S3Store, synthetic_challenger_dir: Path) -> None:
    published = registry.publish(store, synthetic_challenger_dir, NOW)
    version = published["version"]

    assert published["new"] is True
    assert registry.publish(store, synthetic_challenger_dir, NOW)["new"] is False  # the same model again
    listed = registry.versions(store)
    assert [v["version"] for v in listed] == [version]
    assert listed[0]["published_at"] == NOW.isoformat()
    loaded = registry.load(store, version)
    local = PitchModel.load(synthetic_challenger_dir)
    assert loaded.info == local.info
    x = np.array([[1500.0, 11, 0, 10, 180, 180, 6, 12]])
    assert loaded.predict_inputs(x) == pytest.approx(local.predict_inputs(x), abs=0)


def test_a_version_names_one_model_for_good(store: S3Store, synthetic_challenger_dir: Path, tmp_path: Path) -> None:
    version = registry.publish(store, synthetic_challenger_dir, NOW)["version"]
    other = edited_model(synthetic_challenger_dir, tmp_path / "other", notes=["edited after publishing"])

    with pytest.raises(registry.RegistryError, match=re.escape(f"version {version} is already published")):
        registry.publish(store, other, NOW)


def test_the_pointer_refuses_what_would_not_load(store: S3Store) -> None:
    with pytest.raises(registry.RegistryError, match="unknown model version 'nope'"):
        registry.set_challenger(store, "nope", NOW)
    assert registry.pointed_challenger(store) is None


def test_fetch_copies_a_verified_version(store: S3Store, synthetic_challenger_dir: Path, tmp_path: Path) -> None:
    version = registry.publish(store, synthetic_challenger_dir, NOW)["version"]
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer" / PIPELINE_FILE).write_bytes(b"an earlier training's pickle")
    fetched = registry.fetch_to(store, version, tmp_path / "layer")
    assert fetched.info.version == version
    assert (tmp_path / "layer" / "model.json").read_bytes() == (synthetic_challenger_dir / "model.json").read_bytes()
    # Never a pickle from the bucket (unpickling runs its code), and none left from another model.
    assert not (tmp_path / "layer" / PIPELINE_FILE).exists()
    assert store.get(f"models/{version}/{PIPELINE_FILE}"), "published with it: only the deployment leaves it"


# --- The batch, scoring both ----------------------------------------------------------------------------


def challenger_answers(raw: dict[str, bytes], challenger: PitchModel, live: PitchModel) -> pd.DataFrame:
    """The challenger's expected pitch for every row of the raw files, keyed like the predictions."""
    frames = []
    for key, data in raw.items():
        frame, _ = load_scada(data, name=key, farm=live.farm)
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": frame["Date_time"].dt.tz_convert("UTC"),
                    "turbine": frame["Wind_turbine_name"].astype(str),
                    "challenger": challenger.predict_inputs(frame_inputs(frame)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_the_batch_compares_the_challenger_on_the_same_rows(
    s3: Any, store: S3Store, pitch_model: PitchModel, synthetic_challenger_dir: Path
) -> None:
    version = registry.publish(store, synthetic_challenger_dir, NOW)["version"]
    registry.set_challenger(store, version, NOW)
    challenger = PitchModel.load(synthetic_challenger_dir)
    day_files(s3, two_days())
    raw = bucket_snapshot(s3, "raw/")

    manifest = run_batch(store, pitch_model, CONFIG).as_dict()

    assert manifest["shadow"]["status"] == "compared" and manifest["shadow"]["challenger"] == version
    report = json.loads(bucket_snapshot(s3, "shadow/latest.json")["shadow/latest.json"])
    assert report == json.loads(bucket_snapshot(s3, "dashboard/shadow.json")["dashboard/shadow.json"])
    assert report["live"]["version"] == pitch_model.info.version
    assert report["challenger"] == {"version": version, "source": "pointer"}
    # Recomputed from the published predictions and the challenger's own answers.
    predictions = read_predictions(s3)
    both = predictions.merge(challenger_answers(raw, challenger, pitch_model), on=["timestamp", "turbine"])
    assert len(both) == len(predictions)
    judged = both[both["producing"] & both["measured_pitch_deg"].notna()]
    assert report["overall"]["n"] == len(judged)
    err = judged["measured_pitch_deg"] - judged["challenger"]
    assert report["overall"]["challenger"]["mae"] == pytest.approx(err.abs().mean(), abs=1e-4)
    assert report["overall"]["challenger"]["rmse"] == pytest.approx(np.sqrt((err**2).mean()), abs=1e-4)
    assert report["overall"]["live"]["mae"] == pytest.approx(judged["residual_deg"].abs().mean(), abs=1e-4)
    assert report["overall"]["challenger"]["mae"] != report["overall"]["live"]["mae"]
    # Per day and turbine: every (day, turbine) with producing rows, adding up to the whole.
    assert {(r["day"], r["turbine"]) for r in report["days"]} == {
        (d, t) for d in ("2015-03-01", "2015-03-02") for t in FLEET4
    }
    assert sum(r["n"] for r in report["days"]) == report["overall"]["n"]
    assert set(report["turbines"]) == set(FLEET4)
    assert sum(report["disagreement_bins"]["counts"]) == report["overall"]["n"]
    # The predictions are the live model's only: the challenger's answers are not published as predictions.
    assert "shadow_expected_deg" not in predictions and set(predictions["model_version"]) == {pitch_model.info.version}
    state = json.loads(bucket_snapshot(s3, "dashboard/turbines/R80711.json")["dashboard/turbines/R80711.json"])
    assert state["shadow_version"] == version
    assert len(state["series"]["shadow"]) == len(state["series"]["time"])


def test_an_identical_challenger_agrees_on_everything(
    s3: Any, store: S3Store, pitch_model: PitchModel, synthetic_model_dir: Path, tmp_path: Path
) -> None:
    """The same trees under another version: same errors, zero disagreement, the same events."""
    twin = edited_model(synthetic_model_dir, tmp_path / "twin", version="twin")
    registry.publish(store, twin, NOW)
    day_files(s3, two_days())

    run_batch(store, pitch_model, BatchConfig(bucket=BUCKET, challenger="twin"))

    report = json.loads(bucket_snapshot(s3, "shadow/latest.json")["shadow/latest.json"])
    overall = report["overall"]
    assert overall["live"] == overall["challenger"]
    assert overall["disagreement"]["share_over_1deg"] == 0
    assert abs(overall["disagreement"]["median_deg"]) <= 0.1
    assert overall["events"]["live"] == overall["events"]["challenger"] == overall["events"]["both"]
    assert report["challenger"]["source"] == "parameter"


def published_outputs(client: Any, bucket: str) -> dict[str, bytes]:
    """What the live scoring published, without the run's id (the id names the challenger when one is scored)."""
    out = {}
    listed = client.list_objects_v2(Bucket=bucket, Prefix="predictions/").get("Contents", [])
    for key in sorted(o["Key"] for o in listed):
        data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        frame = pd.read_parquet(io.BytesIO(data)).drop(columns=["run_id"])
        out[key] = frame.to_json().encode()
    return out


@pytest.mark.parametrize("damage", ["corrupt export", "unknown version", "the live model"])
def test_a_bad_challenger_is_refused_and_live_scoring_goes_on(
    s3: Any, store: S3Store, pitch_model: PitchModel, synthetic_challenger_dir: Path, damage: str
) -> None:
    version = registry.publish(store, synthetic_challenger_dir, NOW)["version"]
    registry.set_challenger(store, version, NOW)
    if damage == "corrupt export":
        s3.put_object(Bucket=BUCKET, Key=f"models/{version}/model.json", Body=b'{"format": "tampered"}')
        expected = "integrity check failed"
    elif damage == "unknown version":
        s3.put_object(Bucket=BUCKET, Key="models/challenger.json", Body=b'{"version": "2099.01.01+deadbeef"}')
        expected = "unknown model version '2099.01.01+deadbeef'"
    else:
        s3.put_object(Bucket=BUCKET, Key="models/challenger.json",
                      Body=json.dumps({"version": pitch_model.info.version}).encode())  # fmt: skip
        expected = "is the live model"
    frame = two_days()
    day_files(s3, frame)

    manifest = run_batch(store, pitch_model, CONFIG).as_dict()

    assert manifest["rows_scored"] == len(frame)
    assert manifest["shadow"]["status"] == "refused"
    assert expected in manifest["shadow"]["challenger"]["refused"]
    report = json.loads(bucket_snapshot(s3, "dashboard/shadow.json")["dashboard/shadow.json"])
    assert report["status"] == "refused" and expected in report["challenger"]["refused"]
    assert not [k for k in bucket_snapshot(s3) if k.startswith("shadow/") and "/counts/" in k]


def test_a_refused_challenger_costs_the_live_outputs_nothing(s3: Any, pitch_model: PitchModel) -> None:
    """The same files scored with a refused challenger and with none publish the same predictions."""
    outputs = []
    for bucket, pointer in (("scored-alone", None), ("scored-beside-refused", b'{"version": "missing"}')):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        if pointer:
            s3.put_object(Bucket=bucket, Key="models/challenger.json", Body=pointer)
        for key, data in _raw_of_two_days().items():
            s3.put_object(Bucket=bucket, Key=key, Body=data)
        run_batch(S3Store(bucket, s3), pitch_model, BatchConfig(bucket=bucket))
        outputs.append(published_outputs(s3, bucket))
    assert outputs[0] == outputs[1] and outputs[0]


def _raw_of_two_days() -> dict[str, bytes]:
    frame = two_days()
    stamps = pd.to_datetime(frame["Date_time"], utc=True)
    return {f"raw/{day}.csv": scada_bytes(rows) for day, rows in frame.groupby(stamps.dt.strftime("%Y-%m-%d"))}


def test_no_challenger_says_so(s3: Any, store: S3Store, pitch_model: PitchModel) -> None:
    day_files(s3, two_days())
    manifest = run_batch(store, pitch_model, CONFIG).as_dict()
    assert manifest["shadow"] == {"status": "none"}
    report = json.loads(bucket_snapshot(s3, "shadow/latest.json")["shadow/latest.json"])
    assert report == {"status": "none", "live": {"version": pitch_model.info.version}}


def test_a_new_challenger_starts_its_own_comparison(
    s3: Any, store: S3Store, pitch_model: PitchModel, synthetic_challenger_dir: Path, synthetic_model_dir: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The turbines' shadow series and events belong to one version: another challenger does not inherit them."""
    first = registry.publish(store, synthetic_challenger_dir, NOW)["version"]
    frame = two_days()
    stamps = pd.to_datetime(frame["Date_time"], utc=True)
    day_one, day_two = frame[stamps.dt.day == 1], frame[stamps.dt.day == 2]
    day_files(s3, day_one)
    run_batch(store, pitch_model, BatchConfig(bucket=BUCKET, challenger=first))
    twin = edited_model(synthetic_model_dir, tmp_path / "twin", version="second")
    registry.publish(store, twin, NOW)
    day_files(s3, day_two)

    run_batch(store, pitch_model, BatchConfig(bucket=BUCKET, challenger="second"))

    report = json.loads(bucket_snapshot(s3, "shadow/latest.json")["shadow/latest.json"])
    assert report["challenger"]["version"] == "second"
    assert {r["day"] for r in report["days"]} == {"2015-03-02"}  # the first challenger's day is not this one's
    state = json.loads(bucket_snapshot(s3, "dashboard/turbines/R80711.json")["dashboard/turbines/R80711.json"])
    shadow = state["series"]["shadow"]
    on_day_one = [v for t, v in zip(state["series"]["time"], shadow, strict=True) if t.startswith("2015-03-01")]
    assert on_day_one and all(v is None for v in on_day_one)
