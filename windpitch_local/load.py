"""A bounded load generator for the local stack: loopback only, a fixed number of requests, a deadline.

Used by ``bench/load_stack.py`` (figures for docs/reliability.md) and by ``tests/integration/test_load.py``
(zero errors; no timing is asserted). Each request is one of a few kinds, sent round-robin on a pool of
threads; every answer is checked (status and, for the API, a JSON body that says it was scored).

Example:
    >>> kinds = [Kind("health", "GET", "http://127.0.0.1:3000/health")]   # doctest: +SKIP
    >>> run_load(kinds, count=100, concurrency=4, deadline_s=30).total_errors  # doctest: +SKIP
    0
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import requests


@dataclass(frozen=True)
class Kind:
    """One kind of request and how to tell its answer is right."""

    name: str
    method: str
    url: str
    body: Any = None
    ok: Callable[[requests.Response], bool] = field(default=lambda r: r.status_code == 200)


@dataclass
class LoadResult:
    """Per kind: latencies (ms) and errors; and the run's wall time."""

    latencies: dict[str, list[float]]
    errors: dict[str, int]
    wall_s: float
    examples: list[str]  # the first few failures, for the report

    @property
    def total_errors(self) -> int:
        return sum(self.errors.values())

    @property
    def sent(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def scored(answer: requests.Response) -> bool:
    """A 200 whose JSON results were all scored (a predict answer)."""
    if answer.status_code != 200:
        return False
    body = answer.json()
    results = body.get("results", [body])
    return all(r.get("ok") for r in results)


def run_load(kinds: list[Kind], *, count: int, concurrency: int, deadline_s: float) -> LoadResult:
    """Send ``count`` requests round-robin over ``kinds`` on ``concurrency`` threads; stop at the deadline.

    Raises:
        ValueError: a target that is not on the loopback interface (load never leaves this machine).
    """
    for kind in kinds:
        host = urlsplit(kind.url).hostname or ""
        if host != "localhost" and not ip_address(host).is_loopback:
            raise ValueError(f"{kind.url}: load is only sent to loopback addresses")
    stop_at = time.monotonic() + deadline_s
    sessions = threading.local()  # one keep-alive connection pool per thread, as a real client has

    def one(i: int) -> tuple[str, float, str | None]:
        kind = kinds[i % len(kinds)]
        if time.monotonic() > stop_at:
            return kind.name, float("nan"), "not sent: deadline reached"
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
        session = sessions.session
        started = time.perf_counter()
        try:
            data = json.dumps(kind.body) if kind.body is not None else None
            headers = {"Content-Type": "application/json"} if data else {}
            answer = session.request(kind.method, kind.url, data=data, headers=headers, timeout=30)
            problem = None if kind.ok(answer) else f"{answer.status_code} {answer.text[:200]}"
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        return kind.name, (time.perf_counter() - started) * 1000, problem

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, range(count)))
    wall = time.perf_counter() - began
    latencies: dict[str, list[float]] = {k.name: [] for k in kinds}
    errors: dict[str, int] = dict.fromkeys(latencies, 0)
    examples: list[str] = []
    for name, ms, problem in outcomes:
        if problem is None:
            latencies[name].append(ms)
        else:
            errors[name] += 1
            if len(examples) < 5:
                examples.append(f"{name}: {problem}")
    return LoadResult(latencies, errors, wall, examples)
