"""`python -m windpitch backfill` as a person runs it: moto's server (S3 and SQS) on 127.0.0.1, two worker
processes under the emulated event source mapping, then the commit; every row accounted for once, and once
only beside `python -m windpitch batch` in either order (one pipeline, one ledger)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pandas as pd
import pytest

from tests.conftest import ROOT, scada_bytes, synthetic_scada
from windpitch_local.s3 import MotoServer

pytestmark = pytest.mark.integration
BUCKET = "backfill-cli"


def test_the_backfill_fans_out_to_worker_processes_and_commits_every_row(
    synthetic_model_dir: Path, tmp_path: Path
) -> None:
    frame = synthetic_scada(1500, seed=9, freq="1h", start="2015-01-01")  # 3,000 rows in slices of 1,000
    with MotoServer() as server:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="eu-west-3",
                          aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        s3.put_object(Bucket=BUCKET, Key="raw/big.csv.gz", Body=scada_bytes(frame, gz=True))
        s3.put_object(Bucket=BUCKET, Key="raw/small.csv", Body=scada_bytes(frame.head(10)))
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
               "AWS_DEFAULT_REGION": "eu-west-3", "WINDPITCH_MODEL_DIR": str(synthetic_model_dir),
               "BATCH_SLICE_LINES": "1000"}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "windpitch", "backfill", "--endpoint-url", server.endpoint, "--bucket", BUCKET,
             "--workers", "2", "--quiet", "--log-file", str(tmp_path / "workers.jsonl")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        outcome = json.loads(done.stdout)
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="predictions/")["Contents"]
        table = pd.concat(
            pd.read_parquet(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())) for o in listed
        )
    assert outcome["files_planned"] == 2 and outcome["dead_letters"] == []
    assert outcome["rows_in"] == len(frame) + 10
    assert sum(run["files_in"] for run in outcome["runs"]) == 2
    assert sum(run["units_in"] for run in outcome["runs"]) == 3 + 1  # three slices and a small file
    assert len(table) == len(frame) + 10
    logs = [json.loads(line) for line in (tmp_path / "workers.jsonl").read_text().splitlines() if line.startswith("{")]
    stopped = [entry for entry in logs if entry.get("message") == "worker stopped"]
    assert len(stopped) == 2 and len({entry["pid"] for entry in stopped}) == 2, "two processes did the work"


def cli(command: str, endpoint: str, env: dict[str, str], *extra: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "windpitch", command, "--endpoint-url", endpoint, "--bucket", BUCKET, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


@pytest.mark.parametrize("first", ["backfill", "batch"])
def test_backfill_and_batch_in_either_order_score_every_row_once(
    first: str, synthetic_model_dir: Path, tmp_path: Path
) -> None:
    """Four days of files: two landed, scored by ``first``; two more landed, then both commands run."""
    frame = synthetic_scada(96 * 4, seed=12, freq="15min", start="2015-03-01")
    days = frame.groupby(pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d"))
    with MotoServer() as server:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="eu-west-3",
                          aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
               "AWS_DEFAULT_REGION": "eu-west-3", "WINDPITCH_MODEL_DIR": str(synthetic_model_dir)}  # fmt: skip
        backfill = ("--workers", "2", "--quiet", "--log-file", str(tmp_path / "workers.jsonl"))
        order = [first, "batch" if first == "backfill" else "backfill"]
        for k, (day, rows) in enumerate(days):
            s3.put_object(Bucket=BUCKET, Key=f"raw/{day}.csv", Body=scada_bytes(rows))
            if k == 1:
                cli(first, server.endpoint, env, *(backfill if first == "backfill" else ()))
        for command in [*order, *order]:
            cli(command, server.endpoint, env, *(backfill if command == "backfill" else ()))
        manifests = [json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())
                     for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="manifests/")["Contents"]]  # fmt: skip
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="predictions/")["Contents"]
        table = pd.concat(
            pd.read_parquet(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())) for o in listed
        )
    assert sum(m["rows_scored"] for m in manifests) == len(table) == len(frame)
    assert not table.duplicated(["turbine", "timestamp"]).any()
    assert sorted(i["key"] for m in manifests for i in m["inputs"]) == [f"raw/{day}.csv" for day, _ in days]
