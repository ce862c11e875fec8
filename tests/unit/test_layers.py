"""windpitch_deploy.layers: the runtime's wheels and bytecode, and the label that keeps the local runner from
importing a layer built for another Python (the Lambda build is python3.13; a Debian 12 host runs 3.11)."""

import importlib.util
import marshal
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from windpitch_deploy.layers import (
    LABEL,
    LayerBuildError,
    built_for,
    compile_bytecode,
    compiler,
    importable_here,
    label,
    platform_tags,
    prune,
    this_host,
)
from windpitch_local.runner import InProcessLambdaRunner


def test_python313_takes_every_manylinux_tag_up_to_amazon_linux_2023s_glibc() -> None:
    tags = platform_tags("3.13", "arm64")
    assert {
        "manylinux_2_34_aarch64",
        "manylinux_2_28_aarch64",
        "manylinux_2_17_aarch64",
        "manylinux2014_aarch64",
    } <= set(tags)
    assert not [t for t in tags if t.startswith("manylinux_2_35")] and all(t.endswith("aarch64") for t in tags)


@pytest.mark.parametrize(("python", "arch", "field"), [("3.10", "x86_64", "python"), ("3.13", "ppc64le", "arch")])
def test_an_unknown_runtime_or_processor_is_refused_by_name(python: str, arch: str, field: str) -> None:
    with pytest.raises(LayerBuildError, match=f"^{field} '"):
        platform_tags(python, arch)


def test_bytecode_is_this_pythons_and_names_the_path_lambda_mounts(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("VALUE = 1\n")
    (tmp_path / "pkg" / "tests").mkdir()
    (tmp_path / "pkg" / "tests" / "test_mod.py").write_text("")
    prune(tmp_path, ["pkg/tests"])
    python, _ = this_host()
    assert compile_bytecode(tmp_path, python) == sys.executable
    pyc = Path(importlib.util.cache_from_source(str(tmp_path / "pkg" / "mod.py")))
    with pyc.open("rb") as f:
        header = f.read(16)
        code = marshal.load(f)  # noqa: S302 - the bytecode this test just compiled
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert code.co_filename == "/opt/python/pkg/mod.py"
    assert not (tmp_path / "pkg" / "tests").exists()


def test_no_interpreter_is_claimed_for_a_python_this_machine_lacks() -> None:
    assert compiler("3.99") is None
    assert compiler(this_host()[0]) == [sys.executable]


def test_a_layer_built_for_another_python_is_refused_by_the_local_runner_with_the_reason(tmp_path: Path) -> None:
    layer = tmp_path / "build" / "ModelLayer" / "python"
    layer.mkdir(parents=True)
    python, arch = this_host()
    other = "3.11" if python != "3.11" else "3.13"
    label(layer, other, arch, (2, 34))
    assert built_for(layer) == (other, arch)
    reason = importable_here(layer)
    assert reason is not None and f"Python {other}" in reason and f"Python {python}" in reason
    with pytest.raises(RuntimeError, match="make build-local"):
        InProcessLambdaRunner([], ROOT, tmp_path / "build")._layer_path("ModelLayer", None)
    label(layer, python, arch, (2, 34))
    assert importable_here(layer) is None
    assert InProcessLambdaRunner([], ROOT, tmp_path / "build")._layer_path("ModelLayer", None) == layer


def test_a_source_folder_has_no_label_and_is_importable(tmp_path: Path) -> None:
    assert not (tmp_path / LABEL).exists()
    assert built_for(tmp_path) is None and importable_here(tmp_path) is None


def test_a_built_template_pinned_to_arm64_refuses_x86_64_and_keeps_everything_else(tmp_path: Path) -> None:
    from samcli.yamlhelper import yaml_parse

    from windpitch_deploy.built import pin_file

    built = tmp_path / "template.yaml"
    built.write_text((ROOT / "template.yaml").read_text())
    pin_file(built, "Architecture", "arm64")
    before, after = yaml_parse((ROOT / "template.yaml").read_text()), yaml_parse(built.read_text())
    assert after["Parameters"]["Architecture"]["AllowedValues"] == ["arm64"]
    assert after["Parameters"]["Architecture"]["Default"] == "arm64"
    assert after["Resources"] == before["Resources"] and after["Conditions"] == before["Conditions"]
    with pytest.raises(ValueError, match="Architecture=sparc"):
        pin_file(built, "Architecture", "sparc")


def test_without_that_python_or_docker_the_build_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Debian 12 machine without Docker: `make build` (python3.13 bytecode) stops with the way out;
    `make build-local` and `make run` need neither."""
    from windpitch_deploy import layers
    from windpitch_deploy.image import DockerUnavailable

    def no_engine() -> None:
        raise DockerUnavailable("no docker client (Debian: apt-get install docker.io)")

    monkeypatch.setattr(layers, "ensure_docker", no_engine)
    monkeypatch.setattr(layers, "CACHE", tmp_path / "cache")
    with pytest.raises(LayerBuildError, match=r"compiled by Python 3\.99.*make docker-tools\) or python3\.99"):
        compile_bytecode(tmp_path, "3.99")


def test_every_layer_pin_carries_its_wheels_hashes(capsys: pytest.CaptureFixture[str]) -> None:
    from windpitch_deploy import wheel_hashes

    assert wheel_hashes.main(["--check"]) == 0, capsys.readouterr().out
    for path in wheel_hashes.REQUIREMENTS:
        text = path.read_text()
        assert wheel_hashes.pins(text) and not wheel_hashes.unhashed(text), path
    assert wheel_hashes.unhashed("numpy==2.4.6 \\\n    --hash=sha256:" + "a" * 64 + "\npandas==2.3.3\n") == [
        "pandas==2.3.3"
    ]


def test_a_wheel_whose_hash_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    """pip --require-hashes: the file must be the one whose SHA-256 the pins list (a replaced wheel is refused)."""
    from windpitch_deploy import wheel_hashes
    from windpitch_deploy.layers import install_wheels

    deps = (ROOT / "layers" / "deps" / "requirements.txt").read_text()
    [(name, version)] = [p for p in wheel_hashes.pins(deps) if p[0] == "jmespath"]
    forged = tmp_path / "requirements.txt"
    forged.write_text(f"{name}=={version} --hash=sha256:{'0' * 64}\n")
    with pytest.raises(LayerBuildError, match="pip found no wheels"):
        install_wheels(forged, tmp_path / "python", "3.13", "x86_64")
    assert not list((tmp_path / "python").glob("jmespath*")), "nothing installed"

    honest = tmp_path / "honest.txt"
    honest.write_text(deps[deps.index(f"{name}=={version}") :])  # its pin and hash, the file's last
    install_wheels(honest, tmp_path / "python", "3.13", "x86_64")
    assert list((tmp_path / "python").glob("jmespath*")), "the pinned file, with its hash, installs"
