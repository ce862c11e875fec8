"""The Lambda-like Python image, built here from Debian's and PyPI's packages only.

    python -m windpitch_local image [--python 3.13|3.11]     # make lambda-image (3.13: the template's runtime)

Two users: the layer builder (:mod:`windpitch_deploy.layers`), which compiles a layer's bytecode in it when
no Python of the runtime's version runs here, and `sam local`, through the development harness
(:mod:`windpitch_local.image`: the command above, and the project's container network). It lives with the
deployment tooling because the harness may import the deployment tooling, never the reverse.

No container registry is reachable from these machines, so AWS's base images cannot be pulled. This builds
the closest thing from what can be fetched:

1. a Debian root file system from ``debootstrap`` (``--variant=minbase`` with ``python3``): bookworm for
   Python 3.11, trixie for Python 3.13;
2. the Runtime Interface Client (``awslambdaric``, pinned, manylinux wheels for that Python) and boto3 (which
   Lambda's runtime provides) in ``/var/runtime``, and ``/var/runtime/bootstrap`` that starts the client on
   ``$_HANDLER``, as the AWS base images do;
3. ``docker import`` of that tree as ``windpitch/lambda-python:<version>``, labelled with the recipe's hash.

SAM CLI brings the Runtime Interface Emulator itself (mounted at ``/var/rapid``) and adds the function's
layers on top (``sam local invoke --invoke-image windpitch/lambda-python:3.13 --skip-pull-image``).

**What differs from Lambda**: Debian's glibc (2.36 in bookworm, 2.41 in trixie) and Python build, not Amazon
Linux's (glibc 2.26 for python3.11, 2.34 for python3.13); no ``/var/lang``; the same RIC protocol. A wheel
needing a newer glibc than Amazon Linux's would load here and fail on Lambda: the layers' manylinux tags are
pinned for that (``tests/integration/test_sam_build.py``).

The root file system is cached as a tarball under ``~/.cache/windpitch/``, and the image is rebuilt only when
its recipe changes: a second build takes a second or two.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
REPOSITORY: Final = "windpitch/lambda-python"
SUITES: Final = {"3.11": "bookworm", "3.13": "trixie"}  # Debian's Python 3.11 and 3.13
MIRROR: Final = "http://deb.debian.org/debian"
# The runtime interface client and what it imports, pinned (wheels exist for cp311 and cp313); and boto3, which
# Lambda's Python runtimes carry in /var/runtime (the layers leave it out), at the versions the tests run.
RUNTIME_PACKAGES: Final = (
    "awslambdaric==4.2.2", "simplejson==4.3.0", "snapshot-restore-py==1.0.0",
    "boto3==1.43.108", "botocore==1.43.127", "s3transfer==0.19.3", "jmespath==1.1.0",
    "python-dateutil==2.9.0.post0", "six==1.17.0", "urllib3==2.8.0",
)  # fmt: skip
BOOTSTRAP: Final = """#!/bin/sh
# Lambda's Python bootstrap, as the AWS base images start it: the runtime interface client runs $_HANDLER.
export PYTHONPATH="/var/runtime:/var/task:/opt/python${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -m awslambdaric "$_HANDLER"
"""
CACHE: Final = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "windpitch"


class DockerUnavailable(RuntimeError):
    """No Docker engine runs here and none could be started; the message says why."""


class ImageBroken(RuntimeError):
    """The image exists but cannot run a function; the message names what is wrong and how to rebuild."""


# Run in the image: what the Runtime Interface Emulator needs to start a Python function. Without it, `sam local
# invoke` exits 0 and prints nothing (seen with a bootstrap removed): so the harness checks before it invokes.
IMAGE_PROBE: Final = """
problems=""
[ -x /var/runtime/bootstrap ] || problems="$problems /var/runtime/bootstrap is missing or not executable;"
[ -x /usr/bin/python3 ] || problems="$problems /usr/bin/python3 is missing;"
/usr/bin/python3 -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$1'.split('.'))))" 2>/dev/null ||
  problems="$problems its python3 is not Python $1;"
PYTHONPATH=/var/runtime /usr/bin/python3 -c "import awslambdaric" 2>/dev/null ||
  problems="$problems the runtime interface client (awslambdaric) does not import;"
echo "$problems"
"""


def recipe(python: str, arch: str = "x86_64") -> dict[str, object]:
    """Everything the image is built from: its hash names the cached file system and labels the image."""
    return {"suite": SUITES[python], "python": python, "arch": arch, "packages": RUNTIME_PACKAGES,
            "bootstrap": BOOTSTRAP, "variant": "minbase", "include": ["python3", "ca-certificates"]}  # fmt: skip


def recipe_hash(python: str, arch: str = "x86_64") -> str:
    return hashlib.sha256(json.dumps(recipe(python, arch), sort_keys=True).encode()).hexdigest()[:16]


def tag(python: str) -> str:
    return f"{REPOSITORY}:{python}"


def ensure_docker(
    log: Path = ROOT / ".local-stack" / "dockerd.log", wait_s: float = 30.0
) -> subprocess.Popen[bytes] | None:
    """A Docker engine answering; ``dockerd`` is started (as root) when none runs, and returned so that its
    starter can stop it (None: one was running already).

    Raises:
        DockerUnavailable: no docker client or engine, not root to start one, or it did not come up.
    """
    if shutil.which("docker") is None:
        raise DockerUnavailable("no docker client (Debian: apt-get install docker.io)")
    if _docker_answers():
        return None
    dockerd = shutil.which("dockerd") or ("/usr/sbin/dockerd" if Path("/usr/sbin/dockerd").exists() else None)
    if dockerd is None:
        raise DockerUnavailable("no Docker engine runs and dockerd is not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        raise DockerUnavailable("no Docker engine runs, and starting dockerd needs root")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        engine = subprocess.Popen([dockerd], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if _docker_answers():
            return engine
        if engine.poll() is not None:
            break
        time.sleep(0.5)
    stop_docker(engine)
    raise DockerUnavailable(f"dockerd did not answer within {wait_s:g} s (see {log})")


def stop_docker(engine: subprocess.Popen[bytes] | None) -> None:
    """Stop a ``dockerd`` that :func:`ensure_docker` started (SIGTERM, then SIGKILL after 20 s)."""
    if engine is None or engine.poll() is not None:
        return
    engine.terminate()
    try:
        engine.wait(timeout=20)
    except subprocess.TimeoutExpired:
        engine.kill()
        engine.wait()


def _docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0  # noqa: S607
    except (OSError, subprocess.TimeoutExpired):
        return False


def image_recipe(python: str) -> str | None:
    """The recipe hash the local image ``windpitch/lambda-python:<python>`` was built from, if it exists."""
    done = subprocess.run(  # noqa: S603
        ["docker", "image", "inspect", "--format", '{{ index .Config.Labels "windpitch.recipe" }}', tag(python)],  # noqa: S607
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip() or None if done.returncode == 0 else None


def build(python: str, *, force: bool = False, quiet: bool = False) -> str:
    """Build (or find up to date) ``windpitch/lambda-python:<python>``; return its tag.

    Raises:
        DockerUnavailable: no engine can be started.
        RuntimeError: debootstrap or the wheels failed, with their output's end.
    """
    if python not in SUITES:
        raise ValueError(f"python {python!r}: this image is built for {', '.join(SUITES)}")
    ensure_docker()
    wanted = recipe_hash(python)
    if not force and image_recipe(python) == wanted:
        verify(python)
        _say(quiet, f"{tag(python)} is up to date (recipe {wanted})")
        return tag(python)
    tarball = CACHE / f"lambda-rootfs-{SUITES[python]}-{wanted}.tar"
    if force or not tarball.exists():
        _root_file_system(python, tarball, quiet)
    _say(quiet, f"docker import {tarball.name} as {tag(python)}")
    changes = ["ENV LAMBDA_TASK_ROOT=/var/task", "ENV LAMBDA_RUNTIME_DIR=/var/runtime", "WORKDIR /var/task",
               "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               f"LABEL windpitch.recipe={wanted}"]  # fmt: skip
    flags = [arg for change in changes for arg in ("--change", change)]
    _run(["docker", "import", *flags, str(tarball), tag(python)], "docker import")
    verify(python)
    return tag(python)


def verify(python: str, image: str | None = None) -> None:
    """Check that ``image`` (``windpitch/lambda-python:<python>``) can start a function: bootstrap, Python, client.

    Raises:
        ImageBroken: naming each thing that is wrong, and how to rebuild.
    """
    image = image or tag(python)
    done = subprocess.run(  # noqa: S603
        ["docker", "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "/bin/sh", image,  # noqa: S607
         "-c", IMAGE_PROBE, "probe", python],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    problems = done.stdout.strip() if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")
    if problems:
        raise ImageBroken(
            f"{image} cannot run a function:{' ' if done.returncode == 0 else ' docker run: '}{problems.rstrip(';')}. "
            f"Rebuild it: python -m windpitch_local image --python {python} --force"
        )


def _root_file_system(python: str, tarball: Path, quiet: bool) -> None:
    if shutil.which("debootstrap") is None and not Path("/usr/sbin/debootstrap").exists():
        raise DockerUnavailable("debootstrap is not installed (Debian: apt-get install debootstrap)")
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="windpitch-rootfs-", dir=tarball.parent) as work:
        root = Path(work) / "root"
        _say(quiet, f"debootstrap {SUITES[python]} (minbase, python3) from {MIRROR}: about a minute")
        _run([debootstrap, "--variant=minbase", "--include=python3,ca-certificates", SUITES[python], str(root), MIRROR],
             "debootstrap")  # fmt: skip
        _say(quiet, f"the runtime interface client for Python {python}: {', '.join(RUNTIME_PACKAGES)}")
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:",
              "--python-version", python, "--implementation", "cp", "--platform", "manylinux2014_x86_64",
              "--platform", "any",
              "--target", str(root / "var" / "runtime"), *RUNTIME_PACKAGES], "pip install awslambdaric")  # fmt: skip
        bootstrap = root / "var" / "runtime" / "bootstrap"
        bootstrap.write_text(BOOTSTRAP)
        bootstrap.chmod(0o755)
        for folder in ("var/task", "opt"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial")
        _run(["tar", "-C", str(root), "-cf", str(partial), "."], "tar")
        partial.replace(tarball)  # complete or absent: an interrupted build never leaves a broken cache


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout)[-1500:]}")


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(f"lambda-image: {text}", file=sys.stderr, flush=True)
