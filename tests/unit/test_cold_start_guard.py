"""Guards the predict Lambda's cold start by what it imports (timings live in bench/cold_init.py).

Each of these, imported at start, would cost more than the 0.3 s cold-init budget allows
(measured in docs/benchmarks.md): pydantic and Powertools' OpenAPI models ~0.3 s, the X-Ray SDK ~0.5 s
(it loads botocore.session), pandas + scikit-learn over 1 s.
"""

import json
import subprocess
import sys

from tests.conftest import ROOT

HEAVY = [
    "pydantic",
    "aws_xray_sdk",
    "botocore.session",
    "botocore.client",
    "sklearn",
    "scipy",
    "pandas",
    "joblib",
    "aws_lambda_powertools.event_handler.openapi.models",
]


def test_the_predict_handler_imports_nothing_heavy() -> None:
    code = (
        "import sys, json; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import app, windpitch; windpitch.load_model(); "
        "print(json.dumps([m for m in sys.argv[3:] if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "functions" / "predict"), str(ROOT / "layers" / "model"), *HEAVY],
        capture_output=True,
        text=True,
        check=False,
        env={"POWERTOOLS_TRACE_DISABLED": "true", "PATH": "/usr/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_powertools_event_handler_is_imported_before_numpy() -> None:
    """Measured, not understood: with numpy loaded first, numpy._typing's import takes about 40 ms longer in the
    Lambda-like container (docs/benchmarks.md, "A 40 ms regression found and fixed"). The handler keeps that order."""
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import app; order = list(sys.modules);"
        "print(order.index('aws_lambda_powertools.event_handler') < order.index('numpy'))"
    )
    for function in ("predict", "health"):
        done = subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "functions" / function), str(ROOT / "layers" / "model")],
            capture_output=True,
            text=True,
            check=False,
            env={"POWERTOOLS_TRACE_DISABLED": "true", "PATH": "/usr/bin"},
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1] == "True", function
