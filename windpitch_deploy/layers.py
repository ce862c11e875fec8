"""A Lambda layer's ``python/`` folder, built for the runtime and processor it will run on.

    python3 -m windpitch_deploy layer --requirements requirements.txt --into "$(ARTIFACTS_DIR)/python" \\
        --python 3.13 --arch x86_64 [--package windpitch ...] [--prune "numpy/tests" ...]

The layers' Makefiles (``sam build``, BuildMethod: makefile) call this; ``make build`` sets the runtime
(``LAMBDA_PYTHON``, the template's) and the processor (``LAMBDA_ARCH``), ``make build-local`` this machine's.

1. **Wheels that fit the runtime's glibc.** pip takes one ``--platform`` per tag and does not expand
   ``manylinux_2_34`` to the older tags a glibc 2.34 system also loads, so every tag from the runtime's glibc
   down to 2.17 is listed. Exactly the pinned list, ``--no-deps``: nothing arrives that was not chosen; and
   ``--require-hashes``: each wheel is the file whose SHA-256 the pins list (:mod:`windpitch_deploy.wheel_hashes`).
2. **The project's packages** copied beside them, and what serves no request pruned (test suites).
3. **Bytecode compiled by the runtime's own Python.** ``/opt`` is read-only on Lambda, so without ``.pyc``
   every cold start compiles numpy again (about 0.45 s instead of 0.1 s). A ``.pyc`` is only read by the
   minor version that wrote it, so the compiler is a Python of that version: this interpreter when it is
   one, else ``python3.13`` on the PATH, else the Lambda-like image ``windpitch/lambda-python:3.13`` (a
   Debian 12 host has no 3.13: Docker runs it). Sources are recorded as ``/opt/python/...``, as Lambda
   mounts them, so tracebacks name the deployed path whichever compiler ran.
4. **A label** (``.windpitch-layer.json``): the runtime and processor it was built for, so that the local
   runner refuses a layer its interpreter cannot import, with the reason, instead of failing inside numpy.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .image import CACHE, DockerUnavailable, build, ensure_docker, stop_docker

LABEL: Final = ".windpitch-layer.json"
MOUNTED_AT: Final = "/opt/python"  # where Lambda mounts a layer's python/ folder


@dataclass(frozen=True)
class Runtime:
    """A Lambda Python runtime: its identifier, its operating system and that system's glibc."""

    name: str
    system: str
    glibc: tuple[int, int]


# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
RUNTIMES: Final = {
    "3.11": Runtime("python3.11", "Amazon Linux 2", (2, 26)),
    "3.12": Runtime("python3.12", "Amazon Linux 2023", (2, 34)),
    "3.13": Runtime("python3.13", "Amazon Linux 2023", (2, 34)),
}
MACHINES: Final = {"x86_64": "x86_64", "arm64": "aarch64"}  # Lambda's Architectures → the wheels' processor


class LayerBuildError(RuntimeError):
    """The layer cannot be built as asked; the message names what is missing and how to get it."""


def platform_tags(python: str, arch: str, glibc: tuple[int, int] | None = None) -> list[str]:
    """Every manylinux tag a wheel may carry and still load on the runtime's glibc (or ``glibc``), newest first.

    Example:
        >>> tags = platform_tags("3.13", "x86_64")
        >>> tags[0], tags[-2:], len(tags)
        ('manylinux_2_34_x86_64', ['manylinux_2_17_x86_64', 'manylinux2014_x86_64'], 19)
        >>> platform_tags("3.11", "arm64")[0], platform_tags("3.11", "x86_64", glibc=(2, 36))[0]
        ('manylinux_2_26_aarch64', 'manylinux_2_36_x86_64')
    """
    runtime, machine = _runtime(python), _machine(arch)
    major, newest = glibc or runtime.glibc
    return [f"manylinux_{major}_{minor}_{machine}" for minor in range(newest, 16, -1)] + [f"manylinux2014_{machine}"]


def install_wheels(
    requirements: Path, into: Path, python: str, arch: str, glibc: tuple[int, int] | None = None
) -> None:
    """The pinned list, exactly, as wheels for ``python`` on ``arch`` (no dependencies pulled in)."""
    tags = [arg for tag in platform_tags(python, arch, glibc) for arg in ("--platform", tag)]
    # --require-hashes: the pins carry each wheel's SHA-256 (windpitch_deploy.wheel_hashes); another file is refused.
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:",
               "--require-hashes", "--implementation", "cp", "--python-version", python, *tags,
               "--target", str(into), "-r", str(requirements)]  # fmt: skip
    if subprocess.run(command, check=False).returncode != 0:  # noqa: S603
        raise LayerBuildError(f"pip found no wheels of {requirements} for {_runtime(python).name} on {arch}")


def prune(into: Path, patterns: list[str]) -> None:
    """Remove stale bytecode and every folder matching a pattern (relative globs such as ``numpy/tests``)."""
    doomed = [*into.rglob("__pycache__"), *(path for pattern in patterns for path in into.glob(pattern))]
    for path in doomed:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


def compiler(python: str) -> list[str] | None:
    """A command running Python ``python`` on this machine (this interpreter first), or None."""
    if this_host()[0] == python:
        return [sys.executable]
    found = shutil.which(f"python{python}")
    if found is None:
        return None
    # A pyenv shim is on the PATH whether or not that version is installed: ask it.
    asked = subprocess.run(  # noqa: S603
        [found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=False
    )
    return [found] if asked.stdout.strip() == python else None


def compile_bytecode(into: Path, python: str, *, container: bool = False) -> str:
    """Compile every source under ``into`` for ``python``; return what compiled it.

    ``container=True`` skips a local interpreter (the tests prove that path on a host that has one).

    Raises:
        LayerBuildError: no Python of that version here, and no Docker to run the Lambda-like image.
    """
    options = ["-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", "-p", MOUNTED_AT]
    local = None if container else compiler(python)
    if local is not None:
        done = subprocess.run([*local, *options, "-s", str(into), str(into)], check=False)  # noqa: S603
        if done.returncode != 0:
            raise LayerBuildError(f"compileall with {local[0]} failed ({done.returncode})")
        return local[0]
    CACHE.mkdir(parents=True, exist_ok=True)
    # sam build --parallel builds the three layers at once: one at a time here, or each would start its own
    # dockerd, debootstrap the same image and stop the engine under the others.
    with (CACHE / "compile.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            engine = ensure_docker()
        except DockerUnavailable as exc:
            raise LayerBuildError(
                f"the layer's bytecode must be compiled by Python {python}: there is none on this machine, and "
                f"Docker, which would run it in windpitch/lambda-python:{python}, is unavailable ({exc}). Install "
                f"Docker (make docker-tools) or python{python}."
            ) from exc
        try:
            image = build(python, quiet=True)
            done = subprocess.run(  # noqa: S603
                ["docker", "run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/python3",  # noqa: S607
                 "-v", f"{into.resolve()}:/layer", image, *options, "-s", "/layer", "/layer"],
                check=False,
            )  # fmt: skip
        except RuntimeError as exc:  # DockerUnavailable (no debootstrap), ImageBroken, a failed image build
            raise LayerBuildError(f"the image to compile Python {python} bytecode is unusable: {exc}") from exc
        finally:
            stop_docker(engine)
    if done.returncode != 0:
        raise LayerBuildError(f"compileall in {image} failed ({done.returncode})")
    return image


def label(into: Path, python: str, arch: str, glibc: tuple[int, int]) -> None:
    """Record what the layer was built for (read back by :func:`built_for`)."""
    body = {"runtime": _runtime(python).name, "python": python, "arch": arch, "glibc": f"{glibc[0]}.{glibc[1]}"}
    (into / LABEL).write_text(json.dumps(body, sort_keys=True) + "\n")


def built_for(layer: Path) -> tuple[str, str] | None:
    """The (python, arch) a built layer's ``python/`` folder targets; None for a source folder (no label)."""
    try:
        body = json.loads((layer / LABEL).read_text())
    except FileNotFoundError:
        return None
    return str(body["python"]), str(body["arch"])


def host_glibc() -> str:
    """This machine's glibc (``2.36`` on Debian 12): the newest manylinux tag a local build may take."""
    return platform.libc_ver()[1] or "2.17"


def this_host() -> tuple[str, str]:
    """This interpreter's (python, arch), as a layer's label spells them.

    Example:
        >>> python, arch = this_host()
        >>> arch in MACHINES and python.startswith("3.")
        True
    """
    machine = platform.machine()
    arch = next((name for name, wheel in MACHINES.items() if wheel == machine), machine)
    return f"{sys.version_info.major}.{sys.version_info.minor}", arch


def importable_here(layer: Path) -> str | None:
    """Why this interpreter cannot import ``layer``'s compiled packages, or None when it can."""
    target = built_for(layer)
    if target is None or target == this_host():
        return None
    python, arch = target
    here_python, here_arch = this_host()
    return (
        f"{layer} was built for Python {python} on {arch}; this interpreter is Python {here_python} on {here_arch} "
        f"(make build-local builds the layers for this machine)"
    )


def build_layer(
    requirements: Path,
    into: Path,
    *,
    python: str,
    arch: str,
    glibc: tuple[int, int] | None = None,
    packages: list[Path] | None = None,
    patterns: list[str] | None = None,
) -> str:
    """Steps 1–4 of the module's docstring; return what compiled the bytecode.

    ``glibc`` replaces the runtime's (a build for this machine: ``make build-local``).
    """
    into.mkdir(parents=True, exist_ok=True)
    install_wheels(requirements, into, python, arch, glibc)
    for package in packages or []:
        shutil.copytree(package, into / package.name, dirs_exist_ok=True)
    prune(into, patterns or [])
    compiled_by = compile_bytecode(into, python)
    label(into, python, arch, glibc or _runtime(python).glibc)
    return compiled_by


def _runtime(python: str) -> Runtime:
    if python not in RUNTIMES:
        raise LayerBuildError(f"python {python!r}: Lambda runtimes here are {', '.join(RUNTIMES)}")
    return RUNTIMES[python]


def _machine(arch: str) -> str:
    if arch not in MACHINES:
        raise LayerBuildError(f"arch {arch!r}: Lambda's architectures are {', '.join(MACHINES)}")
    return MACHINES[arch]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m windpitch_deploy layer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", type=Path, required=True, help="the pinned wheels")
    parser.add_argument("--into", type=Path, required=True, help="the layer's python/ folder")
    parser.add_argument("--python", default="3.13", help="the runtime's Python (%(default)s)")
    parser.add_argument("--arch", default="x86_64", help="x86_64 or arm64 (%(default)s)")
    parser.add_argument("--glibc", default="", help="a local build: this glibc instead of the runtime's (2.36)")
    parser.add_argument("--package", type=Path, action="append", default=[], help="a project package to copy")
    parser.add_argument("--prune", action="append", default=[], help="a glob under the layer to remove")
    args = parser.parse_args(argv)
    try:
        major, _, minor = args.glibc.partition(".")
        glibc = (int(major), int(minor.split(".")[0])) if args.glibc else None
        compiled_by = build_layer(
            args.requirements,
            args.into,
            python=args.python,
            arch=args.arch,
            glibc=glibc,
            packages=args.package,
            patterns=args.prune,
        )
    except LayerBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"layer {args.into}: {_runtime(args.python).name} on {args.arch}, bytecode by {compiled_by}", file=sys.stderr)
    return 0
