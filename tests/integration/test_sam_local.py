"""The real `sam local invoke`, on Docker, with the Lambda-like image built here (windpitch_local.image).

Each function runs in its container from `.aws-sam/build` (SAM adds the built layers to the image), on the
events `sam local generate-event` produced, and must answer exactly what the in-process handler answers.
Skipped, with the reason, only where no Docker engine runs or can be started (the `lambda_image` fixture).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EVENTS, ROOT

pytestmark = pytest.mark.integration
SAM = str(ROOT / ".venv" / "bin" / "sam")
BUILD = ROOT / ".aws-sam" / "build"


def sam_invoke(function: str, event: Path, image: str) -> dict[str, Any]:
    """`sam local invoke FUNCTION -e EVENT` in a container from ``image``; its response."""
    done = subprocess.run(
        [SAM, "local", "invoke", function, "-e", str(event), "--template", str(BUILD / "template.yaml"),
         "--invoke-image", image, "--skip-pull-image"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


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
    in_container = sam_invoke(function, path, lambda_image)
    in_process = functions["health" if function == "HealthFunction" else "predict"].lambda_handler(
        json.loads(path.read_text()), lambda_context
    )
    assert in_container["statusCode"] == in_process["statusCode"]
    assert json.loads(in_container["body"]) == json.loads(in_process["body"])
