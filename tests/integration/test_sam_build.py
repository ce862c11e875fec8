"""The template validates and builds, and each function with its layers fits the budget, on either processor.

Sizes are bytes on disk after `sam build`, which are deterministic for pinned wheels: a test may keep them.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.conftest import SAM
from windpitch.artifacts import CARD_FILE, default_model_dir

BUDGET_BYTES = 100 * 1024 * 1024  # per API function, with its layers (Lambda's own limit is 250 MB)
BATCH_BUDGET_BYTES = 200 * 1024 * 1024  # the batch function with pandas and fastparquet: a margin under 250 MB
ENV = {
    **os.environ,
    "SAM_CLI_TELEMETRY": "0",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
}


def sam_build(tmp_path: Path, *options: str, **variables: str) -> Path:
    """`sam build` of the template into ``tmp_path/build`` (its own build.toml and cache), as the layers' Makefiles
    build it with ``variables`` (LAMBDA_ARCH, ...); skipped without a trained model, which the ModelLayer needs."""
    if not (default_model_dir() / CARD_FILE).exists():
        pytest.skip("no trained model in the layer: run `make model` (needs the SCADA data)")
    build = tmp_path / "build"
    done = subprocess.run(
        [SAM, "build", "--build-dir", str(build), "--cache-dir", str(tmp_path / "cache"), *options],
        cwd=ROOT, env={**ENV, **variables}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return build


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_template_passes_sam_validate_lint() -> None:
    done = subprocess.run([SAM, "validate", "--lint"], cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.real_data
def test_each_function_with_its_layers_fits_the_budget(tmp_path: Path) -> None:
    build = sam_build(tmp_path, "--no-cached")
    layers = tree_bytes(build / "ModelLayer") + tree_bytes(build / "DepsLayer")
    assert (build / "ModelLayer" / "python" / "windpitch" / "artifacts" / "model.json").exists()
    for function in ("HealthFunction", "PredictFunction"):
        total = tree_bytes(build / function) + layers
        assert total <= BUDGET_BYTES, (
            f"{function}: {total / 1e6:.1f} MB with layers, budget {BUDGET_BYTES / 1e6:.0f} MB"
        )
    for function in ("BatchFunction", "WorkerFunction"):  # the fan-out's worker has the batch's layers
        batch = tree_bytes(build / function) + layers + tree_bytes(build / "BatchLayer")
        assert batch <= BATCH_BUDGET_BYTES, f"{function}: {batch / 1e6:.1f} MB with layers"
    assert (build / "BatchLayer" / "python" / "fastparquet").is_dir()
    assert not (build / "BatchLayer" / "python" / "pandas" / "tests").exists(), "test suites are pruned"
    # Nothing heavy sneaks into the serving layers, nor twice into the batch's.
    for heavy in ("sklearn", "scipy", "pandas", "botocore", "pyarrow"):
        assert not (build / "ModelLayer" / "python" / heavy).exists(), heavy
        assert not (build / "DepsLayer" / "python" / heavy).exists(), heavy
    for twice in ("numpy", "aws_lambda_powertools", "sklearn", "botocore", "pyarrow"):
        assert not (build / "BatchLayer" / "python" / twice).exists(), twice
    # Lambda's python3.13 runs on Amazon Linux 2023: every compiled wheel is for CPython 3.13 (or the stable ABI)
    # and needs no newer glibc than its 2.34. That the layers load and use their bytecode there: test_sam_local.
    for name, wheel_tags in compiled_wheels(build).items():
        for tag in wheel_tags:
            python, abi, platform = tag.split("-")
            assert python == "cp313" or abi == "abi3", (name, tag)
            assert glibc_of(platform) <= (2, 34), (name, tag)


LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}  # PEP 600's aliases


def glibc_of(platform: str) -> tuple[int, int]:
    """The glibc a manylinux platform tag needs: ``manylinux_2_28_x86_64`` → (2, 28)."""
    legacy = platform.split("_", 1)[0]
    if legacy in LEGACY_MANYLINUX:
        return LEGACY_MANYLINUX[legacy]
    major, minor = platform.split("_")[1:3]
    return int(major), int(minor)


def compiled_wheels(build: Path) -> dict[str, set[str]]:
    """Each installed wheel of the layers that is not pure Python, with its tags."""
    tags = {
        wheel.parent.name: {line.split(": ", 1)[1] for line in wheel.read_text().splitlines() if line.startswith("Tag")}
        for wheel in build.glob("*Layer/python/*.dist-info/WHEEL")
    }
    return {name: t for name, t in tags.items() if not any(tag.endswith("-any") for tag in t)}


@pytest.mark.real_data
def test_the_arm64_build_carries_aarch64_wheels_and_fits_the_budgets(tmp_path: Path) -> None:
    """`make build ARCH=arm64`'s build: every compiled wheel is aarch64, and each function fits, as for x86_64."""
    build = sam_build(tmp_path, "--parameter-overrides", "Architecture=arm64", LAMBDA_ARCH="arm64")
    compiled = compiled_wheels(build)
    assert compiled and all(all(tag.endswith("aarch64") for tag in t) for t in compiled.values()), compiled
    assert any(name.startswith("numpy-") for name in compiled)
    layers = tree_bytes(build / "ModelLayer") + tree_bytes(build / "DepsLayer")
    for function in ("HealthFunction", "PredictFunction"):
        assert tree_bytes(build / function) + layers <= BUDGET_BYTES, function
    for function in ("BatchFunction", "WorkerFunction"):
        assert tree_bytes(build / function) + layers + tree_bytes(build / "BatchLayer") <= BATCH_BUDGET_BYTES, function
