"""The whole local stack end to end: moto's S3 server, the replay of the real data, the scheduled batch
(in-process, on SAM's scheduled event) and the API, all on free 127.0.0.1 ports, always stopped."""

from __future__ import annotations

import io
import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from tests.conftest import running_stack
from tests.integration.conftest import BUILT_CARD
from windpitch_local.load import Kind, run_load, scored

INTERVALS = 8  # --days 0.05 from 2015-06-01T00:00Z: 00:00 … 01:10
TURBINES = 4


@pytest.fixture(scope="module")
def stack(
    real_data: Path, real_challenger_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    if not BUILT_CARD.exists():
        pytest.skip("no built layers with a model: run `make build` (needs a trained model)")
    log_dir = tmp_path_factory.mktemp("local-stack")
    with running_stack(real_data, log_dir, backfill_days=1, challenger=real_challenger_dir) as running:
        yield running


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


def published(stack: dict[str, Any], key: str) -> dict[str, Any]:
    return dict(json.loads(stack["s3"].get_object(Bucket="windpitch-local", Key=key)["Body"].read()))


def test_the_challenger_is_scored_in_shadow_and_the_model_monitored(
    stack: dict[str, Any], real_challenger_dir: Path
) -> None:
    """The stack published the challenger to its registry; the scheduled batch compared it with the live model
    on every producing interval it scored, and published the live model's monitoring."""
    challenger = json.loads((real_challenger_dir / "model_card.json").read_text())["version"]
    live = json.loads(BUILT_CARD.read_text())["version"]
    report = published(stack, "shadow/latest.json")
    assert report["status"] == "compared"
    assert (report["live"]["version"], report["challenger"]["version"]) == (live, challenger)
    assert report == published(stack, "dashboard/shadow.json")
    assert set(report["turbines"]) == {"R80711", "R80721", "R80736", "R80790"}
    assert report["overall"]["n"] > 0 and report["overall"]["n"] == sum(r["n"] for r in report["days"])
    assert report["overall"]["live"]["mae"] != report["overall"]["challenger"]["mae"]
    manifest = published(stack, "dashboard/manifest.json")
    assert manifest["shadow"]["challenger"] == challenger
    monitoring = published(stack, "monitoring/latest.json")
    assert monitoring["model"]["version"] == live
    assert set(monitoring["inputs"]) and all("psi" in v for v in monitoring["inputs"].values())
    assert "challenger MAE" in stack["console"].read_text()


def test_the_api_answers_beside_the_batch(stack: dict[str, Any]) -> None:
    assert requests.get(f"{stack['api']}/health", timeout=10).json()["status"] == "ok"
    answer = requests.get(f"{stack['api']}/predict", params={"Ws1_avg": "10"}, timeout=10)
    assert answer.status_code == 200
    assert abs(answer.json()["pitch_deg"]) < 3  # fine pitch at 10 m/s


def test_the_stack_answers_a_bounded_load_without_errors(stack: dict[str, Any]) -> None:
    """600 requests, 8 at a time, over the API and the dashboard's data: every one answered and right.

    Timings are recorded by bench/load_stack.py in docs/reliability.md, never asserted here.
    """
    api, site = stack["api"], stack["dashboard"].rstrip("/")
    records = [{"Ws_avg": 4 + i % 20 * 0.6} for i in range(100)]
    kinds = [
        Kind("health", "GET", f"{api}/health"),
        Kind("predict GET", "GET", f"{api}/predict?Ws1_avg=12", ok=scored),
        Kind("predict POST", "POST", f"{api}/predict", {"records": records}, ok=scored),
        Kind("fleet", "GET", f"{site}/dashboard/fleet.json"),
    ]
    result = run_load(kinds, count=600, concurrency=8, deadline_s=120)
    assert result.total_errors == 0, result.examples
    assert result.sent == 600
    assert {name: len(times) for name, times in result.latencies.items()} == dict.fromkeys(result.latencies, 150)


def test_the_console_reads_as_lines_and_the_json_logs_go_to_their_file(stack: dict[str, Any]) -> None:
    """One short line per batch run and per API request; the functions' structured logs in the log file,
    where Powertools names the service (it reads the environment the runner sets before the import)."""
    assert requests.get(f"{stack['api']}/predict", params={"Ws1_avg": "10"}, timeout=10).status_code == 200
    console = stack["console"].read_text()
    lines = console.splitlines()
    assert any(line.startswith("batch ") and "rows scored" in line for line in lines), console[-2000:]
    assert any(line.startswith("api   GET /predict?Ws1_avg=10 -> 200") for line in lines), console[-2000:]
    assert not [line for line in lines if line.lstrip().startswith("{")], "no JSON on the console"
    assert not [line for line in lines if "batch FAILED" in line]
    logged = [json.loads(line) for line in stack["log_file"].read_text().splitlines()]
    runs = [entry for entry in logged if entry.get("message") == "batch run"]
    assert runs and all(entry["service"] == "windpitch" for entry in runs)


def test_stopping_the_stack_stops_its_servers(stack: dict[str, Any]) -> None:
    stack["process"].send_signal(signal.SIGTERM)
    assert stack["process"].wait(timeout=20) == 0
    for port in stack["ports"]:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
