"""What every benchmark shares: the machine line, timing loops, summaries, server processes, peak memory.

Imported by the scripts beside it (``bench/*.py``); never by windpitch itself.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # windpitch_local and events/: the repository's dev tooling

from windpitch_local.api import LAMBDA_BUILD, local_build  # noqa: E402

# What Lambda runs (python3.13: sizes, the container benchmarks) and what this interpreter can import (the
# handler benchmarks run the layers in-process, as the local stack does).
BUILD = LAMBDA_BUILD
LOCAL_BUILD = local_build()

LIBRARIES = ("numpy", "pandas", "scikit-learn", "aws-lambda-powertools", "fastparquet", "moto")


def machine(*libraries: str) -> str:
    """One line naming the machine: cores, Python, and the versions of the libraries that matter here.

    >>> machine("numpy").startswith("machine: ")
    True
    """
    names = libraries or LIBRARIES
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in names)
    return f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {versions}"


def measure_ms(fn: Callable[[], object], calls: int, warmup: int = 200) -> list[float]:
    """Milliseconds of each of ``calls`` calls of ``fn``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    clock = time.perf_counter_ns
    times = []
    for _ in range(calls):
        start = clock()
        fn()
        times.append((clock() - start) / 1e6)
    return times


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q))


def spread(values: Sequence[float], fmt: str = ".3f") -> str:
    """``median (min–max)`` of repeated runs.

    >>> spread([1.0, 3.0, 2.0], ".1f")
    '2.0 (1.0–3.0)'
    """
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of a live process, this one by default, in MB."""
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: peak memory needs Linux")


def start_server(command: list[str], probe: str, deadline_s: float = 120) -> subprocess.Popen[bytes]:
    """Start a server process and wait until ``probe`` answers 200; killed if it never does."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited with {process.returncode}")
        try:
            if requests.get(probe, timeout=2).status_code == 200:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"{probe} did not answer within {deadline_s} s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    from windpitch_local.processes import stop_process

    stop_process(process, timeout=10)


def require_build(build: Path = LOCAL_BUILD) -> list[Path]:
    """The built API layers' python folders (this interpreter's by default); exits with the reason when absent."""
    layers = [build / name / "python" for name in ("ModelLayer", "DepsLayer")]
    if not all(p.exists() for p in layers):
        sys.exit(f"no built layers in {build}: run `make build build-local` first")
    return layers
