"""Fixtures the integration tests share: the Docker-free local API and the real `sam local start-api` on the
Lambda-like image, each started once, always stopped."""

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import requests

from tests.conftest import ROOT
from windpitch_local.api import LAMBDA_BUILD, local_build
from windpitch_local.processes import stop_process
from windpitch_local.s3 import free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here needs a build, a browser, a server or the real data: `make test-fast` leaves it out."""
    for item in items:
        if "tests/integration/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


# The in-process API runs the layers as built for this interpreter (make build-local); sam local runs make build's.
BUILT_CARD = local_build() / "ModelLayer" / "python" / "windpitch" / "artifacts" / "model_card.json"


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m windpitch_local api` on a free 127.0.0.1 port, for the whole session."""
    if not BUILT_CARD.exists():
        pytest.skip("no built layers with a model: run `make build-local` (needs a trained model)")
    port = free_port()
    command = [sys.executable, "-m", "windpitch_local", "api", "--port", str(port)]
    with serving(command, port, tmp_path_factory.mktemp("local-api") / "server.log", "local API",
                 wait_s=60, request_s=2, stop_s=10) as (url, log):  # fmt: skip
        log.seek(0)
        assert f"windpitch from {BUILT_CARD.parents[1]}" in log.read(), "the function must import the built layer"
        yield url


@contextlib.contextmanager
def serving(
    command: list[str],
    port: int,
    log_path: Path,
    what: str,
    *,
    wait_s: float,
    request_s: float,
    stop_s: float,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, IO[str]]]:
    """``command`` serving on 127.0.0.1:``port`` until ``/health`` answers 200; its URL and log (``log_path``).

    Each try waits ``request_s`` (sam local's first answer starts a container). It fails with the log's end if
    the server exits or does not answer within ``wait_s``, and the server is always stopped."""
    log = log_path.open("w+")
    server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if server.poll() is not None:
                log.seek(0)
                pytest.fail(f"{what} exited: {log.read()[-3000:]}")
            try:
                if requests.get(f"{url}/health", timeout=request_s).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            log.seek(0)
            pytest.fail(f"{what} did not answer /health within {wait_s:g} s: {log.read()[-3000:]}")
        yield url, log
    finally:
        stop_process(server, timeout=stop_s)
        log.close()


SAM = str(Path(sys.executable).with_name("sam"))  # the venv running the tests (make VENV=... too)
BUILD = LAMBDA_BUILD  # make build's: what Lambda and `sam local` run
# SAM CLI gives a function's declared variables the value the shell has for them, before the template's: the
# tests' own process holds some (an in-process runner sets a function's environment), so they are left out.
_FUNCTION_VARIABLES = ("WINDPITCH_", "WORK_QUEUE_URL", "POWERTOOLS_", "DETECTOR_", "MONITORING_", "BATCH_",
                       "CHALLENGER_", "SCHEDULE_", "DASHBOARD_", "AWS_ENDPOINT_URL")  # fmt: skip


def project_network_name() -> str:
    """The project's own bridge network, created when absent: every container of the tests joins it."""
    from windpitch_local.image import NETWORK, project_network

    project_network()
    return NETWORK


def sam_environment(**extra: str) -> dict[str, str]:
    """The environment for a `sam local` command: this one's, without the functions' variables."""
    import os

    kept = {k: v for k, v in os.environ.items() if not k.startswith(_FUNCTION_VARIABLES)}
    return {**kept, "SAM_CLI_TELEMETRY": "0", **extra}


@pytest.fixture(scope="session")
def lambda_image() -> Iterator[str]:
    """The Lambda-like image for the template's runtime (windpitch_local.image); a dockerd started for it is
    stopped at the end of the session. Skipped, with the reason, where no Docker engine can be started."""
    from samcli.yamlhelper import yaml_parse

    from windpitch_deploy.image import DockerUnavailable, build, ensure_docker, stop_docker

    if not (BUILD / "template.yaml").exists():
        pytest.skip("no sam build output: run `make build` (needs a trained model)")
    runtime = yaml_parse((ROOT / "template.yaml").read_text())["Globals"]["Function"]["Runtime"]
    try:
        engine = ensure_docker()
    except DockerUnavailable as exc:
        pytest.skip(f"no Docker engine can be started here: {exc}")
    try:
        built = build(runtime.removeprefix("python"), quiet=True)
    except DockerUnavailable as exc:  # no debootstrap: the image cannot be made here
        stop_docker(engine)
        pytest.skip(f"the Lambda-like image cannot be built here: {exc}")
    try:
        yield built
    finally:
        stop_docker(engine)


@pytest.fixture(scope="session")
def sam_api(lambda_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sam local start-api` on a free 127.0.0.1 port: SAM's own emulator, a container per function from the
    Lambda-like image (kept warm once started), for the whole session."""
    from windpitch_local.api import deployed_template

    template = deployed_template(BUILD, {"AllowedOrigin": "http://127.0.0.1:8080"})
    port = free_port()
    command = [SAM, "local", "start-api", "--template", str(template), "--host", "127.0.0.1", "--port", str(port),
               "--invoke-image", lambda_image, "--skip-pull-image", "--warm-containers", "LAZY",
               "--docker-network", project_network_name(),
               # The dashboard's local origin, as the in-process API allows it (windpitch_local.api).
               "--parameter-overrides", "AllowedOrigin=http://127.0.0.1:8080"]  # fmt: skip
    # SAM stops and removes its containers on SIGTERM.
    with serving(command, port, tmp_path_factory.mktemp("sam-api") / "sam.log", "sam local start-api",
                 wait_s=120, request_s=30, stop_s=30, env=sam_environment()) as (url, _):  # fmt: skip
        yield url
