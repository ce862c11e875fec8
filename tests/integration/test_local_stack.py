"""The whole local stack end to end: moto's S3 server, the replay of the real data, the scheduled batch
(in-process, on SAM's scheduled event) and the API, all on free 127.0.0.1 ports, always stopped."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
import requests

from tests.conftest import ROOT
from windpitch_local.s3 import free_port

BUILT_CARD = ROOT / ".aws-sam" / "build" / "ModelLayer" / "python" / "windpitch" / "artifacts" / "model_card.json"
INTERVALS = 8  # --days 0.05 from 2015-06-01T00:00Z: 00:00 … 01:10
TURBINES = 4


@pytest.fixture(scope="module")
def stack(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not BUILT_CARD.exists():
        pytest.skip("no built layers with a model: run `make build` (needs a trained model)")
    api_port, s3_port = free_port(), free_port()
    log = (tmp_path_factory.mktemp("local-stack") / "stack.log").open("w+")
    command = [sys.executable, "-m", "windpitch_local", "stack", "--api-port", str(api_port), "--s3-port",
               str(s3_port), "--speed", "0", "--start", "2015-06-01", "--days", "0.05", "--backfill-days", "1",
               "--data", str(real_data)]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", region_name="eu-west-3",
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
                if [t["last_time"] for t in fleet["turbines"]] == ["2015-06-01T01:10:00Z"] * TURBINES:
                    break
            except Exception:  # noqa: S110 - not up yet, or not published yet: poll again
                pass
            time.sleep(0.5)
        else:
            log.seek(0)
            pytest.fail(f"the batch did not publish the replayed data within 120 s: {fleet} {log.read()[-3000:]}")
        yield {"api": f"http://127.0.0.1:{api_port}", "s3": s3, "ports": (api_port, s3_port), "process": process}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_the_replayed_data_is_scored_and_published(stack: dict[str, Any]) -> None:
    s3 = stack["s3"]
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="windpitch-local")
            for o in page.get("Contents", [])]  # fmt: skip
    raw = [k for k in keys if k.startswith("raw/replay/")]
    assert len(raw) == 1 + INTERVALS, "a backfill file, then one file per interval"
    parts = [k for k in keys if k.startswith("predictions/date=")]
    table = pd.concat(
        [pd.read_parquet(io.BytesIO(s3.get_object(Bucket="windpitch-local", Key=k)["Body"].read())) for k in parts]
    )
    assert len(table) == TURBINES * (144 + INTERVALS)
    assert not table.duplicated(["turbine", "timestamp"]).any()
    manifests = [
        json.loads(s3.get_object(Bucket="windpitch-local", Key=k)["Body"].read())
        for k in keys
        if k.startswith("manifests/")
    ]
    assert sum(m["rows_in"] for m in manifests) == len(table) + sum(m["rows_rejected"] for m in manifests)
    assert sorted(i["key"] for m in manifests for i in m["inputs"]) == sorted(raw), "each file published once"


def test_the_api_answers_beside_the_batch(stack: dict[str, Any]) -> None:
    assert requests.get(f"{stack['api']}/health", timeout=10).json()["status"] == "ok"
    answer = requests.get(f"{stack['api']}/predict", params={"Ws1_avg": "10"}, timeout=10)
    assert answer.status_code == 200
    assert abs(answer.json()["pitch_deg"]) < 3  # fine pitch at 10 m/s


def test_stopping_the_stack_stops_its_servers(stack: dict[str, Any]) -> None:
    stack["process"].send_signal(signal.SIGTERM)
    assert stack["process"].wait(timeout=20) == 0
    for port in stack["ports"]:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
