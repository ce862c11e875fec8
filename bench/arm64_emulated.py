"""The arm64 build, run under emulation: Graviton's layers in an arm64 Debian root through qemu-user-static.

    .venv/bin/python bench/arm64_emulated.py        # as root; Debian's qemu-user-static and debootstrap

1. ``binfmt_misc`` mounted and ``qemu-aarch64`` registered (``update-binfmts``), so arm64 programs run here;
2. an arm64 Debian trixie root (``debootstrap --arch=arm64 --variant=minbase --include=python3``: Python 3.13,
   the runtime's), cached as a tarball under ~/.cache/windpitch (a few minutes the first time);
3. ``sam build --parameter-overrides Architecture=arm64`` with ``LAMBDA_ARCH=arm64`` (the aarch64 cp313 wheels);
4. the layers at ``/opt/python`` and PredictFunction at ``/var/task`` in that root, then, under emulation: the
   model card's golden records predicted, compared to the bit with this machine's x86_64 answers, and the time
   from the first import to the first answer.

It proves the arm64 layers load and answer as the x86_64 ones do. Emulation is slow, so its timings say
nothing about Graviton's speed. Not in ``make test``: the root and the build take about two minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from common import ROOT, machine

from windpitch.artifacts import default_model_dir, read_card
from windpitch.predict import load_model, predict
from windpitch_deploy.image import CACHE

ROOTFS = CACHE / "arm64-trixie-python3.tar"  # trixie: Python 3.13, the runtime's (its layers are cp313)
PROBE = """
import json, platform, sys, time
started = time.perf_counter()
sys.path[:0] = ["/opt/python", "/var/task"]
from windpitch.predict import load_model, predict
model = load_model()
records = json.loads(sys.argv[1])
answers = [r.pitch_deg for r in predict(records, model)]
print(json.dumps({"machine": platform.machine(), "python": platform.python_version(), "answers": answers,
                  "first_answer_s": time.perf_counter() - started}))
"""


def run(*command: str, **kwargs: object) -> None:
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def emulation() -> None:
    if not Path("/proc/sys/fs/binfmt_misc/register").exists():
        run("mount", "-t", "binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc")
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        run("update-binfmts", "--enable", "qemu-aarch64")


def arm64_root(work: Path) -> Path:
    root = work / "root"
    if not ROOTFS.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        run("debootstrap", "--arch=arm64", "--variant=minbase", "--include=python3", "trixie", str(root),
            "http://deb.debian.org/debian", stdout=subprocess.DEVNULL)  # fmt: skip
        with tarfile.open(ROOTFS, "w") as tar:
            tar.add(root, arcname=".")
    else:
        root.mkdir()
        with tarfile.open(ROOTFS) as tar:
            tar.extractall(root, filter="fully_trusted")  # noqa: S202 - our own root, cached by this script
    return root


def main() -> None:
    emulation()
    golden = read_card(default_model_dir())["golden"]["records"]
    x86 = [r.pitch_deg for r in predict(golden, load_model())]
    with tempfile.TemporaryDirectory(prefix="windpitch-arm64-") as scratch:
        work = Path(scratch)
        build = work / "build"
        run(str(Path(sys.executable).with_name("sam")), "build", "--build-dir", str(build), "--cache-dir",
            str(work / "cache"), "--parameter-overrides", "Architecture=arm64", cwd=ROOT, stdout=subprocess.DEVNULL,
            env={**os.environ, "LAMBDA_ARCH": "arm64", "SAM_CLI_TELEMETRY": "0",
                 "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})  # fmt: skip
        root = arm64_root(work)
        for layer in ("ModelLayer", "DepsLayer", "BatchLayer"):
            shutil.copytree(build / layer / "python", root / "opt" / "python", dirs_exist_ok=True)
        shutil.copytree(build / "PredictFunction", root / "var" / "task", dirs_exist_ok=True)
        done = subprocess.run(["chroot", str(root), "/usr/bin/python3", "-c", PROBE, json.dumps(golden)],
                              capture_output=True, text=True, check=True)  # fmt: skip
        arm = json.loads(done.stdout)
    same = sum(a == b for a, b in zip(arm["answers"], x86, strict=True))
    print(machine("numpy"))
    print(f"arm64 root: Debian trixie, Python {arm['python']}, run through qemu-user-static on this x86_64 machine\n")
    print("| check | result |")
    print("| --- | --- |")
    print(f"| machine the layers ran on | {arm['machine']} |")
    print(f"| golden records answered identically (to the bit) to x86_64 | {same} of {len(x86)} |")
    print(f"| first import to first answer, emulated | {arm['first_answer_s']:.2f} s |")
    if same != len(x86):
        raise SystemExit("the arm64 layers answer differently from the x86_64 ones")


if __name__ == "__main__":
    main()
