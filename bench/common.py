"""What every benchmark shares: the machine line, timing loops, summaries, server processes, peak memory, and the
requests an SDK client makes.

Imported by the scripts beside it (``bench/*.py``); never by windpitch itself.
"""

from __future__ import annotations

import collections
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

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


S3_KINDS = ("ListObjectsV2", "GetObject", "PutObject", "CopyObject", "DeleteObject")


@dataclass
class Step:
    """One measured step: wall seconds, requests by ``service Operation``, and the seconds spent inside them.

    >>> a = Step(1.0, collections.Counter({"s3 GetObject": 2}), collections.Counter({"s3 GetObject": 0.5}))
    >>> (a + a).requests["s3 GetObject"], (a + a - a).inside
    (4, 0.5)
    """

    seconds: float = 0.0
    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    spent: collections.Counter[str] = field(default_factory=collections.Counter)  # seconds inside, by kind

    @property
    def inside(self) -> float:
        return sum(self.spent.values())

    def __add__(self, other: Step) -> Step:
        return Step(self.seconds + other.seconds, self.requests + other.requests, self.spent + other.spent)

    def __sub__(self, other: Step) -> Step:
        return Step(self.seconds - other.seconds, self.requests - other.requests, self.spent - other.spent)

    def copy(self) -> Step:
        return Step(self.seconds, collections.Counter(self.requests), collections.Counter(self.spent))


class Meter:
    """Every request the clients make, by kind, and the time from its call to its answer, from botocore's own
    events (``before-call``, ``after-call``): each page of a listing is one request. Requests made on several
    threads at once each count their own time, so the seconds inside can exceed the wall time."""

    def __init__(self, *clients: Any) -> None:
        self.lock = threading.Lock()
        self.current = Step()
        self.started = time.perf_counter()
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before)
            client.meta.events.register("after-call.*.*", self._after)
            client.meta.events.register("after-call-error.*.*", self._after)

    def _before(self, event_name: str, context: dict[str, Any], **_: Any) -> None:
        context["bench_started"] = time.perf_counter()
        with self.lock:
            self.current.requests[_kind(event_name)] += 1

    def _after(self, event_name: str, context: dict[str, Any], **_: Any) -> None:
        started = context.pop("bench_started", None)
        if started is not None:
            with self.lock:
                self.current.spent[_kind(event_name)] += time.perf_counter() - started

    def snapshot(self) -> Step:
        """The current step so far (to split it afterwards: ``step - snapshot``)."""
        with self.lock:
            taken = self.current.copy()
        taken.seconds = time.perf_counter() - self.started
        return taken

    @contextmanager
    def step(self) -> Iterator[Step]:
        self.current = step = Step()
        self.started = time.perf_counter()
        try:
            yield step
        finally:
            step.seconds = time.perf_counter() - self.started


def _kind(event_name: str) -> str:
    """``before-call.s3.GetObject`` → ``s3 GetObject``."""
    _, service, operation = event_name.split(".")[:3]
    return f"{service} {operation}"


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
