"""The real `sam local invoke`, on Docker, with the Lambda-like image built here (windpitch_local.image).

Each function runs in its container from `.aws-sam/build` (SAM adds the built layers to the image), on the
events `sam local generate-event` produced, and must answer exactly what the in-process handler answers.
Skipped, with the reason, only where no Docker engine runs or can be started (the `lambda_image` fixture).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EVENTS, ROOT
from tests.integration.conftest import BUILD, SAM, project_network_name, sam_environment

pytestmark = pytest.mark.integration


def sam_invoke(function: str, event: Path, image: str) -> tuple[dict[str, Any], str]:
    """`sam local invoke FUNCTION -e EVENT` in a container from ``image``; its response and its log."""
    done = subprocess.run(
        [SAM, "local", "invoke", function, "-e", str(event), "--template", str(BUILD / "template.yaml"),
         "--invoke-image", image, "--skip-pull-image", "--docker-network", project_network_name()],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
        env=sam_environment(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), f"sam local invoke {function} answered nothing: {done.stderr[-3000:]}"
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer, done.stderr


@pytest.mark.parametrize(
    ("function", "event"),
    [
        ("HealthFunction", "health_get"),
        ("PredictFunction", "predict_get_ws1"),
        ("PredictFunction", "predict_get_bad"),
        ("PredictFunction", "predict_post_mixed"),
        ("PredictFunction", "predict_post_seed"),
    ],
)
def test_each_api_function_answers_in_its_container_as_in_process(
    lambda_image: str, functions: dict[str, Any], lambda_context: Any, function: str, event: str
) -> None:
    path = EVENTS / "api" / f"{event}.json"
    in_container, log = sam_invoke(function, path, lambda_image)
    in_process = functions["health" if function == "HealthFunction" else "predict"].lambda_handler(
        json.loads(path.read_text()), lambda_context
    )
    assert in_container["statusCode"] == in_process["statusCode"]
    assert json.loads(in_container["body"]) == json.loads(in_process["body"])
    # Each cold start logs the function's own init timer: the runtime's start and the module's imports.
    [init] = [json.loads(line) for line in log.splitlines() if '"message":"initialised"' in line]
    assert 0 < init["init_ms"] < 10_000, init


@contextlib.contextmanager
def moto_on_the_project_network(frame: Any) -> Iterator[tuple[str, Any]]:
    """moto's server on the gateway of the project's own bridge network (reachable from this machine and that
    network's containers only), with bucket windpitch-sam holding ``frame`` as raw/2015-07-01.csv."""
    import boto3

    from tests.conftest import scada_bytes
    from windpitch_local.image import project_network
    from windpitch_local.s3 import MotoServer

    with MotoServer(host=project_network()) as server:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="eu-west-3",
                          aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
        s3.create_bucket(Bucket="windpitch-sam", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        s3.put_object(Bucket="windpitch-sam", Key="raw/2015-07-01.csv", Body=scada_bytes(frame))
        yield server.endpoint, s3


def sam_invoke_on_moto(function: str, event: Path, image: str, variables: dict[str, str], tmp_path: Path) -> Any:
    """`sam local invoke` of a batch-side function on the project's network, with the template's !Ref values that
    mean nothing locally given by ``variables`` (--env-vars); its answer."""
    from windpitch_local.api import deployed_template

    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({function: variables}))
    done = subprocess.run(
        [SAM, "local", "invoke", function, "-e", str(event), "--template", str(deployed_template(BUILD)),
         "--invoke-image", image, "--skip-pull-image", "--docker-network", project_network_name(),
         "--env-vars", str(env_vars)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env=sam_environment(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="eu-west-3"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), f"sam local invoke {function} answered nothing: {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_scheduled_batch_runs_in_its_container_against_moto(lambda_image: str, tmp_path: Path) -> None:
    """BatchFunction in its container, on SAM's scheduled event, scoring a raw file in moto's S3."""
    import io

    import pandas as pd

    from tests.conftest import synthetic_scada

    frame = synthetic_scada(144, seed=3, freq="10min", start="2015-07-01")
    with moto_on_the_project_network(frame) as (endpoint, s3):
        # Inline (no queue), the S3 of moto on the network.
        summary = sam_invoke_on_moto("BatchFunction", EVENTS / "batch" / "scheduled.json", lambda_image,
                                     {"WINDPITCH_BUCKET": "windpitch-sam", "WORK_QUEUE_URL": "",
                                      "WINDPITCH_S3_ENDPOINT_URL": endpoint}, tmp_path)  # fmt: skip
        assert "rows_in" in summary, summary
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="windpitch-sam")["Contents"]]
        rows = sum(len(pd.read_parquet(io.BytesIO(s3.get_object(Bucket="windpitch-sam", Key=k)["Body"].read())))
                   for k in keys if k.startswith("predictions/"))  # fmt: skip
    assert (summary["rows_in"], summary["rows_scored"]) == (len(frame), len(frame)), summary
    assert f"manifests/run-{summary['run_id']}.json" in keys
    assert rows == len(frame)


def test_the_worker_scores_its_unit_in_its_container_against_moto(lambda_image: str, tmp_path: Path) -> None:
    """WorkerFunction in its container, on the SQS event `sam local generate-event` shaped (events/worker/), naming
    a raw file in moto's S3: the message succeeds and the unit's result waits for the aggregation."""
    from tests.conftest import synthetic_scada

    frame = synthetic_scada(144, seed=4, freq="10min", start="2015-07-01")
    event = json.loads((EVENTS / "worker" / "s3_notification.json").read_text())
    [record] = event["Records"]
    body = json.loads(record["body"])
    with moto_on_the_project_network(frame) as (endpoint, s3):
        # The notification names this version of the file: another ETag would be a replaced file ("gone").
        body["Records"][0]["s3"]["bucket"]["name"] = "windpitch-sam"
        body["Records"][0]["s3"]["object"].update(
            key="raw/2015-07-01.csv", eTag=s3.head_object(Bucket="windpitch-sam", Key="raw/2015-07-01.csv")["ETag"]
        )
        record["body"] = json.dumps(body)
        (tmp_path / "event.json").write_text(json.dumps(event))
        answer = sam_invoke_on_moto("WorkerFunction", tmp_path / "event.json", lambda_image,
                                    {"WINDPITCH_BUCKET": "windpitch-sam", "WORK_QUEUE_URL": "",
                                     "WINDPITCH_S3_ENDPOINT_URL": endpoint}, tmp_path)  # fmt: skip
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="windpitch-sam")["Contents"]]
        results = [k for k in keys if k.startswith("state/results/") and k.endswith(".json")]
        result = json.loads(s3.get_object(Bucket="windpitch-sam", Key=results[0])["Body"].read()) if results else {}
    assert answer == {"batchItemFailures": []}, answer
    assert len(results) == 1, keys
    assert result.get("rows_scored") == len(frame), result


# Run in the image's Python with the layers mounted read-only, in order, before the runtime's own packages (boto3):
# every package the functions use comes from them, and each module's shipped bytecode is this Python's (none is
# compiled at a cold start).
LAYER_PROBE = """
import importlib.util, sys
sys.path[:0] = sys.argv[1:]
import windpitch_batch.run, windpitch_api.app, pandas, fastparquet, cramjam, numpy, aws_lambda_powertools, pydantic_core
for m in (windpitch_batch.run, windpitch_api.app, pandas, fastparquet, numpy, aws_lambda_powertools):
    with open(m.__cached__, "rb") as f:
        print(m.__file__, f.read(4) == importlib.util.MAGIC_NUMBER)
print("python", "%d.%d" % sys.version_info[:2])
"""


def test_the_built_layers_load_in_the_runtimes_python_with_their_own_bytecode(lambda_image: str) -> None:
    layers = ("ModelLayer", "DepsLayer", "BatchLayer")
    mounts = [arg for name in layers for arg in ("-v", f"{BUILD / name / 'python'}:/opt/{name}:ro")]
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/python3", *mounts,
         "-e", "PYTHONPATH=/var/runtime", lambda_image, "-c", LAYER_PROBE, *(f"/opt/{name}" for name in layers)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    *modules, version = done.stdout.split("\n")[:-1]
    assert version == f"python {lambda_image.rsplit(':', 1)[1]}"
    assert len(modules) == 6
    for line in modules:
        origin, same_magic = line.split()
        assert origin.startswith("/opt/") and origin.split("/")[2] in layers, origin
        assert same_magic == "True", f"{origin}: its .pyc was not written by this Python"


def test_the_layer_builder_compiles_bytecode_in_the_image_when_the_host_lacks_that_python(
    lambda_image: str, tmp_path: Path
) -> None:
    """The path a Debian 12 host takes (no python3.13): compileall inside the Lambda-like image."""
    from windpitch_deploy.layers import compile_bytecode

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def f():\n    raise ValueError('from the layer')\n")
    python = lambda_image.rsplit(":", 1)[1]
    assert compile_bytecode(tmp_path, python, container=True) == lambda_image
    [pyc] = (tmp_path / "pkg" / "__pycache__").glob("mod.*.pyc")
    assert pyc.name == f"mod.cpython-{python.replace('.', '')}.pyc"
    probe = ("import importlib.util, marshal, sys; f = open(sys.argv[1], 'rb'); header = f.read(16);"
             "print(header[:4] == importlib.util.MAGIC_NUMBER, marshal.load(f).co_filename)")  # fmt: skip
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/python3", "-v",
         f"{tmp_path}:/layer:ro", lambda_image, "-c", probe, f"/layer/pkg/__pycache__/{pyc.name}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Recorded where Lambda mounts a layer, so tracebacks name the deployed file.
    assert done.stdout.split() == ["True", "/opt/python/pkg/mod.py"]


def test_a_non_proxy_event_is_answered_400_in_the_container_too(lambda_image: str, tmp_path: Path) -> None:
    event = tmp_path / "scheduled.json"
    event.write_text((EVENTS / "batch" / "scheduled.json").read_text())  # the batch's event, sent to the API
    answer, _ = sam_invoke("PredictFunction", event, lambda_image)
    assert answer["statusCode"] == 400
    assert {"field": "httpMethod", "reason": "missing"} in json.loads(answer["body"])["details"]


def test_a_broken_image_is_refused_naming_what_is_wrong(lambda_image: str) -> None:
    """Without its bootstrap, `sam local invoke` exits 0 and prints nothing: the harness checks the image first."""
    from windpitch_deploy.image import ImageBroken, verify

    python = lambda_image.rsplit(":", 1)[1]
    broken = f"{lambda_image}-broken-test"
    made = subprocess.run(["docker", "run", "--name", "windpitch-broken-test", "--entrypoint", "/bin/rm", lambda_image,
                           "/var/runtime/bootstrap"], capture_output=True, text=True, check=False)  # fmt: skip
    try:
        assert made.returncode == 0, made.stderr
        subprocess.run(["docker", "commit", "windpitch-broken-test", broken], capture_output=True, check=True)
        with pytest.raises(ImageBroken, match=r"/var/runtime/bootstrap is missing.*--force"):
            verify(python, broken)
        verify(python)  # the real one is whole
    finally:
        subprocess.run(["docker", "rm", "-f", "windpitch-broken-test"], capture_output=True, check=False)
        subprocess.run(["docker", "rmi", "-f", broken], capture_output=True, check=False)
