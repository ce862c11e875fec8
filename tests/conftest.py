"""Shared fixtures: synthetic SCADA data and a small model trained on it, the seed's example row,
and the real La Haute Borne data and model (skipped, with the reason, when absent)."""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from windpitch.artifacts import CARD_FILE, MODEL_DIR_ENV, default_model_dir, read_card
from windpitch.errors import DataError
from windpitch.features import FEATURES_VERSION
from windpitch.predict import load_model
from windpitch_train.datasets import content_sha256, resolve_data_path
from windpitch_train.train import Hyperparameters, train

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
OPENOA_HEADER = "Wind_turbine_name,Date_time,Ba_avg,P_avg,Ws_avg,Va_avg,Ot_avg,Ya_avg,Wa_avg"


def synthetic_scada(
    rows_per_turbine: int = 2920,
    seed: int = 7,
    freq: str = "6h",
    start: str = "2014-01-01",
    turbines: tuple[str, ...] = ("R80711", "R80721"),
) -> pd.DataFrame:
    """SCADA-like rows (by default over 2014–2015, every 6 h): a power curve, pitch control above rated
    wind, stopped turbines parked at 45° or 90°, seasonal temperature. Shaped like the OpenOA subset,
    with Date_time as text in local time with its offset, as ENGIE writes it."""
    rng = np.random.default_rng(seed)
    frames = []
    for turbine in turbines:
        times = pd.date_range(start, periods=rows_per_turbine, freq=freq, tz="UTC")
        ws = rng.weibull(2.0, rows_per_turbine) * 7.0
        power = 2050.0 * np.clip((ws - 3.0) / 9.0, 0.0, 1.0) ** 2
        pitch = np.where(ws > 12.0, 2.2 * (ws - 12.0), -1.0) + rng.normal(0, 0.2, rows_per_turbine)
        stopped = rng.random(rows_per_turbine) < 0.12
        power = np.where(stopped, -2.0, power)
        pitch = np.where(stopped, rng.choice([45.0, 90.0], rows_per_turbine), pitch)
        month = times.month.to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "Wind_turbine_name": turbine,
                    "Date_time": times.tz_convert("Europe/Paris")
                    .strftime("%Y-%m-%dT%H:%M:%S%z")
                    .str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True),
                    "Ba_avg": pitch.round(2),
                    "P_avg": power.round(2),
                    "Ws_avg": ws.round(2),
                    "Va_avg": rng.normal(0, 8, rows_per_turbine).round(2),
                    "Ot_avg": (
                        12 - 9 * np.cos(2 * np.pi * (month - 1) / 12) + rng.normal(0, 2, rows_per_turbine)
                    ).round(2),
                    "Ya_avg": rng.uniform(0, 360, rows_per_turbine).round(2),
                    "Wa_avg": rng.uniform(0, 360, rows_per_turbine).round(2),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="session")
def synthetic_frame() -> pd.DataFrame:
    return synthetic_scada()


@pytest.fixture(scope="session")
def synthetic_csv(tmp_path_factory: pytest.TempPathFactory, synthetic_frame: pd.DataFrame) -> Path:
    """The synthetic data as a gzip CSV in the OpenOA shape, with a few empty cells."""
    frame = synthetic_frame.copy()
    frame.loc[frame.index[::97], "Ot_avg"] = np.nan
    frame.loc[frame.index[::101], ["Ba_avg", "P_avg", "Ws_avg", "Va_avg", "Ot_avg", "Ya_avg", "Wa_avg"]] = np.nan
    path = tmp_path_factory.mktemp("data") / "synthetic.csv.gz"
    with gzip.open(path, "wt") as fh:
        frame.to_csv(fh, index=False)
    return path


SMALL = Hyperparameters(max_iter=12, max_depth=4, learning_rate=0.3, min_samples_leaf=20)


# La Haute Borne's fleet, as its asset table lists it: the synthetic model serves all four turbines,
# though its data names two (a turbine may join a fleet before it has history).
LHB_FLEET = ("R80711", "R80721", "R80736", "R80790")


def asset_table(path: Path, fleet: tuple[str, ...] = LHB_FLEET, rated_kw: float = 2050.0) -> Path:
    """An asset table in OpenOA's shape (the columns windpitch reads, and two it ignores)."""
    rows = [f"{name},48.45,5.58,{rated_kw:g},Senvion" for name in fleet]
    path.write_text("\n".join(["Wind_turbine_name,Latitude,Longitude,Rated_power,Manufacturer", *rows]) + "\n")
    return path


@pytest.fixture(scope="session")
def synthetic_model_dir(tmp_path_factory: pytest.TempPathFactory, synthetic_csv: Path) -> Path:
    """A model trained by the real training code on synthetic data (seconds, no real data needed)."""
    out = tmp_path_factory.mktemp("model")
    train(synthetic_csv, out, hp=SMALL, progress=False, assets=asset_table(out.parent / "assets.csv"))
    return out


@pytest.fixture(scope="session")
def synthetic_challenger_dir(tmp_path_factory: pytest.TempPathFactory, synthetic_csv: Path) -> Path:
    """A second model on the same data with other hyperparameters: a challenger to score in shadow."""
    out = tmp_path_factory.mktemp("challenger")
    hp = Hyperparameters(max_iter=20, max_depth=4, learning_rate=0.2, min_samples_leaf=40)
    train(synthetic_csv, out, hp=hp, progress=False, assets=asset_table(out.parent / "assets-challenger.csv"))
    return out


def edited_model(source: Path, target: Path, **card: Any) -> Path:
    """A copy of the model folder ``source`` at ``target`` whose card has ``card``'s fields replaced (another
    version of the same trees, say): the export is untouched, so it still loads."""
    shutil.copytree(source, target)
    path = target / CARD_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **card}))
    return target


@pytest.fixture
def model_dir_copy(tmp_path: Path, synthetic_model_dir: Path) -> Path:
    """A private copy of the synthetic model, for tests that corrupt it."""
    for item in synthetic_model_dir.iterdir():
        (tmp_path / item.name).write_bytes(item.read_bytes())
    return tmp_path


@pytest.fixture
def use_synthetic_model(monkeypatch: pytest.MonkeyPatch, synthetic_model_dir: Path) -> Iterator[Path]:
    """Make the default model the synthetic one (``$WINDPITCH_MODEL_DIR``), with a fresh cache."""
    monkeypatch.setenv(MODEL_DIR_ENV, str(synthetic_model_dir))
    load_model.cache_clear()
    yield synthetic_model_dir
    load_model.cache_clear()


@pytest.fixture(scope="session")
def seed_record() -> dict[str, Any]:
    """The seed's example row, as its Flask route built it (None values included)."""
    record: dict[str, Any] = json.loads((EVENTS / "seed_record.json").read_text())
    return record


@pytest.fixture(scope="session")
def real_data() -> Path:
    try:
        return resolve_data_path()
    except DataError as exc:
        pytest.skip(f"real La Haute Borne data absent ({exc})")


@pytest.fixture(scope="session")
def real_model_dir(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer's trained model when it was trained on this data by this code, else a fresh one."""
    layer = default_model_dir()
    if (layer / CARD_FILE).exists():
        card = read_card(layer)
        if card.get("data_sha256") == content_sha256(real_data) and card.get("features_version") == FEATURES_VERSION:
            return layer
    out = tmp_path_factory.mktemp("real-model")
    train(real_data, out, progress=False)
    return out


@pytest.fixture(scope="session")
def real_challenger_dir(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runbook's candidate on the real data: the same recipe trained on 2014 only (`make challenger`'s)."""
    built = ROOT / "build" / "challenger"
    if (built / CARD_FILE).exists():
        card = read_card(built)
        if card.get("data_sha256") == content_sha256(real_data) and card.get("features_version") == FEATURES_VERSION:
            return built
    out = tmp_path_factory.mktemp("real-challenger")
    from windpitch_train.train import Split

    train(real_data, out, Split("2014-01-01", "2014-12-31", "2015-07-01", "2015-12-31"), progress=False)
    return out


class LambdaContext:
    """The Lambda context fields Powertools reads."""

    function_name = "PredictFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-3:123456789012:function:windpitch-dev-PredictFunction"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


def api_event(name: str, **changes: Any) -> dict[str, Any]:
    """One of the generated API Gateway events under events/api/, with fields replaced."""
    event: dict[str, Any] = json.loads((EVENTS / "api" / f"{name}.json").read_text())
    event.update(changes)
    return event


@pytest.fixture(scope="session")
def functions() -> dict[str, Any]:
    """The Lambda handlers, each imported from its own folder under a unique module name."""
    import importlib.util
    import os

    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "windpitch-test")
    loaded = {}
    for name in ("health", "predict", "batch", "worker"):
        spec = importlib.util.spec_from_file_location(f"functions_{name}_app", ROOT / "functions" / name / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded[name] = module
    return loaded


# --- Batch: S3 through moto, raw SCADA files, a snapshot of the bucket ------------------------------

BUCKET = "windpitch-test"


def scada_bytes(frame: pd.DataFrame, *, gz: bool = False, sep: str = ",") -> bytes:
    """A SCADA CSV as ENGIE writes it (no index, empty cells for missing values), optionally gzip."""
    text = frame.to_csv(index=False, sep=sep, lineterminator="\n")
    data = text.encode()
    return gzip.compress(data, mtime=0) if gz else data


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach real AWS."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-3",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(aws_credentials: None) -> Iterator[Any]:
    """An S3 client on moto (mock_aws) with the test bucket created, client configured as the batch's."""
    import boto3
    from moto import mock_aws

    from windpitch_batch.store import RETRIES

    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-3", config=RETRIES)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        yield client


@pytest.fixture
def store(s3: Any) -> Any:
    from windpitch_batch.store import S3Store

    return S3Store(BUCKET, s3)


@pytest.fixture(scope="session")
def pitch_model(synthetic_model_dir: Path) -> Any:
    """The synthetic model as the serving runtime loads it (what the batch scores with)."""
    from windpitch.runtime import PitchModel

    return PitchModel.load(synthetic_model_dir)


@pytest.fixture
def queue(s3: Any, monkeypatch: pytest.MonkeyPatch, use_synthetic_model: Any) -> Iterator[dict[str, Any]]:
    """The work queue (visibility timeout 0: a failed message is back at once) and its dead-letter queue, S3
    notifying it of raw/, and the functions' environment pointing at both."""
    import boto3

    from windpitch_cli.workers import ensure_queues, notify_raw

    sqs = boto3.client("sqs", region_name="eu-west-3")
    url, dlq = ensure_queues(sqs, visibility_timeout_s=0)
    notify_raw(s3, BUCKET, sqs, url)
    monkeypatch.setenv("WINDPITCH_BUCKET", BUCKET)
    monkeypatch.setenv("WORK_QUEUE_URL", url)
    yield {"sqs": sqs, "url": url, "dlq": dlq}


def drain(queue: dict[str, Any], functions: dict[str, Any], limit: int = 50) -> int:
    """WorkerFunction's handler under the emulated event source mapping until the queue is empty; return the
    messages deleted (a poison message is retried until SQS moves it to the dead-letter queue)."""
    from windpitch_cli.workers import EventSourceMapping, WorkerContext, backlog

    handler = functions["worker"].lambda_handler
    esm = EventSourceMapping(queue["sqs"], queue["url"], lambda event: handler(event, WorkerContext()))
    deleted = 0
    for _ in range(limit):
        if backlog(queue["sqs"], queue["url"]) == 0:
            return deleted
        deleted += esm.poll(wait_s=0).deleted
    raise AssertionError(f"the queue did not empty in {limit} polls")


def bucket_snapshot(client: Any, prefix: str = "") -> dict[str, bytes]:
    """Every object under ``prefix``: key -> bytes."""
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"]] = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return out


# --- The whole local stack, in a subprocess on free loopback ports, always stopped --------------------

STACK_LAST_INTERVAL = "2015-06-01T01:10:00Z"  # --start 2015-06-01 --days 0.05: intervals 00:00 … 01:10


# A +3° fault on R80711 in the backfill the stacks replay (steady partial load then: the detector sees it).
DEMO_FAULT = "R80711,2015-05-31T06:00,4,3"


@contextlib.contextmanager
def running_stack(
    real_data: Path, log_dir: Path, backfill_days: int, challenger: Path | None = None
) -> Iterator[dict[str, Any]]:
    """`python -m windpitch_local stack` replaying 8 intervals after ``backfill_days``, once all four
    turbines' data is published; yields its URLs, ports, an S3 client on it, and the process. With
    ``challenger`` (a model folder), the stack scores it in shadow."""
    import subprocess
    import sys
    import time

    import boto3

    from windpitch_local.processes import stop_process
    from windpitch_local.s3 import free_port

    ports = {"api": free_port(), "s3": free_port(), "dashboard": free_port()}
    log = (log_dir / "stack.log").open("w+")
    command = [sys.executable, "-m", "windpitch_local", "stack", "--speed", "0", "--start", "2015-06-01",
               "--days", "0.05", "--backfill-days", str(backfill_days), "--data", str(real_data),
               "--demo-fault", DEMO_FAULT, "--log-file", str(log_dir / "lambda.jsonl"),
               *(f"--{name}-port={port}" for name, port in ports.items()),
               *(["--challenger", str(challenger)] if challenger else [])]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{ports['s3']}", region_name="eu-west-3",
                      aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        fleet: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"local stack exited: {log.read()[-3000:]}")
            try:
                fleet = json.loads(s3.get_object(Bucket="windpitch-local", Key="dashboard/fleet.json")["Body"].read())
                if [t["last_time"] for t in fleet["turbines"]] == [STACK_LAST_INTERVAL] * 4:
                    # fleet.json is written before the run's manifest (the commit, written last): wait for it.
                    latest = s3.get_object(Bucket="windpitch-local", Key="dashboard/manifest.json")["Body"].read()
                    if json.loads(latest)["run_id"] == fleet["run_id"]:
                        break
            except Exception:  # noqa: S110 - not up yet, or not published yet: poll again
                pass
            time.sleep(0.5)
        else:
            log.seek(0)
            pytest.fail(f"the batch did not publish the replayed data within 120 s: {fleet} {log.read()[-3000:]}")
        yield {
            "api": f"http://127.0.0.1:{ports['api']}",
            "dashboard": f"http://127.0.0.1:{ports['dashboard']}/",
            "ports": tuple(ports.values()),
            "s3": s3,
            "process": process,
            "console": log_dir / "stack.log",
            "log_file": log_dir / "lambda.jsonl",
        }
    finally:
        stop_process(process)
        log.close()
