"""The README's runbook, held to what the tools accept, and its first three steps run as a person would.

Steps 1–3 run as commands, in subprocesses, against moto's S3 server on 127.0.0.1:
- train a model;
- publish it as the challenger;
- run the batch;
- read the comparison.

Step 4 and 5 (`make promote`) deploy to AWS, which nothing here may reach. `make -n` shows what they would
run, and the fetch they start with runs for real.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.conftest import ROOT, scada_bytes, synthetic_scada
from windpitch_cli.commands import _parser
from windpitch_local.s3 import MotoServer

pytestmark = pytest.mark.integration
BUCKET = "runbook"


def runbook() -> list[str]:
    """The commands of the README's runbook block, in order."""
    text = (ROOT / "README.md").read_text()
    block = text.split("**Replacing the model safely: the runbook.**", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_the_runbook_is_five_commands_the_tools_accept() -> None:
    commands = runbook()
    assert [c.split()[:4] for c in commands] == [
        ["python", "-m", "windpitch", "train"],
        ["python", "-m", "windpitch", "model"],
        ["python", "-m", "windpitch", "model"],
        ["make", "promote", *commands[3].split()[2:4]],
        ["make", "promote", *commands[4].split()[2:4]],
    ]
    for command in commands[:3]:
        _parser().parse_args([a.replace("$BUCKET", "b") for a in shlex.split(command)[3:]])  # exits 2 if refused
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^promote: .*## ", makefile, re.MULTILINE), "make promote is a documented target"


@pytest.fixture
def moto_s3() -> Iterator[str]:
    server = MotoServer().start()
    try:
        client = boto3.client("s3", endpoint_url=server.endpoint, region_name="eu-west-3",
                              aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        frame = synthetic_scada(144, seed=5, freq="10min", start="2015-06-01")
        client.put_object(Bucket=BUCKET, Key="raw/2015-06-01.csv", Body=scada_bytes(frame))
        yield server.endpoint
    finally:
        server.stop()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "windpitch", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False, cwd=ROOT)  # fmt: skip


def test_train_publish_compare_and_fetch_as_commands(
    moto_s3: str, synthetic_csv: Path, synthetic_model_dir: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
           "AWS_DEFAULT_REGION": "eu-west-3", "WINDPITCH_MODEL_DIR": str(synthetic_model_dir)}  # fmt: skip
    where = ["--bucket", BUCKET, "--endpoint-url", moto_s3]
    candidate = tmp_path / "candidate"

    trained = cli("train", "--data", str(synthetic_csv), "--out", str(candidate), "--quiet", env=env)
    assert trained.returncode == 0, trained.stderr
    published = cli("model", "publish", "--model-dir", str(candidate), "--challenger", *where, env=env)
    assert published.returncode == 0, published.stderr
    version = json.loads(published.stdout)["version"]
    scored = cli("batch", *where, env=env)  # the scheduled run, once
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["shadow"]["challenger"] == version
    compared = cli("model", "compare", *where, env=env)
    assert compared.returncode == 0, compared.stderr
    assert f"against challenger {version}" in compared.stdout and "overall" in compared.stdout

    # Step 4's first command, for real; the rest of it (sam build, sam deploy) as make would run it.
    fetched = cli("model", "fetch", version, "--out", str(tmp_path / "layer"), *where, env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "layer" / "model.json").read_bytes() == (candidate / "model.json").read_bytes()
    plan = subprocess.run(["make", "-n", "promote", f"VERSION={version}", f"BUCKET={BUCKET}", "CONFIG_ENV=prod"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    steps = [line for line in plan.splitlines() if "windpitch model" in line or "sam deploy" in line]
    assert [s.split("python ", 1)[-1].split("/sam ", 1)[-1] for s in steps] == [
        f"-m windpitch model fetch {version} --out layers/model/windpitch/artifacts --bucket {BUCKET}",
        "deploy --config-env prod --template-file .aws-sam/build/template.yaml",  # samconfig confirms the change set
        f"-m windpitch model challenger --clear --bucket {BUCKET}",
    ]
    # On Graviton: the arm64 build, pinned to arm64, is the one deployed.
    graviton = subprocess.run(["make", "-n", "promote", f"VERSION={version}", f"BUCKET={BUCKET}", "ARCH=arm64"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    assert "pin .aws-sam/arm64/build/template.yaml Architecture=arm64" in graviton
    assert "--template-file .aws-sam/arm64/build/template.yaml" in graviton
