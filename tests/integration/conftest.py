"""Fixtures the integration tests share: the Docker-free local API, started once, always stopped."""

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import ROOT
from windpitch_local.processes import stop_process
from windpitch_local.s3 import free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here needs a build, a browser, a server or the real data: `make test-fast` leaves it out."""
    for item in items:
        if "tests/integration/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


BUILT_CARD = ROOT / ".aws-sam" / "build" / "ModelLayer" / "python" / "windpitch" / "artifacts" / "model_card.json"


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m windpitch_local api` on a free 127.0.0.1 port, for the whole session."""
    if not BUILT_CARD.exists():
        pytest.skip("no built layers with a model: run `make build` (needs a trained model)")
    port = free_port()
    log = (tmp_path_factory.mktemp("local-api") / "server.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "windpitch_local", "api", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                log.seek(0)
                pytest.fail(f"local API exited: {log.read()[-3000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail("local API did not answer /health within 60 s")
        log.seek(0)
        assert f"windpitch from {BUILT_CARD.parents[1]}" in log.read(), "the function must import the built layer"
        yield url
    finally:
        stop_process(server, timeout=10)
        log.close()
