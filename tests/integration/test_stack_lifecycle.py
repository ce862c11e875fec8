"""The local stack's life (issue 21): Ctrl-C, SIGTERM and SIGHUP, to the stack or to its whole process group, stop
every child it started (moto's server, the worker processes, multiprocessing's helper) and free its ports; a
stack killed with SIGKILL leaves children that the next start names and stops; a running stack, or anything else
holding a port, is named and the start refused.

Each stack runs in its own session (its own process group, as `make run` is under a shell) on free 127.0.0.1
ports, with its own state directory; whatever a test leaves is killed in its ``finally``. The processes are
listed here with ``ps``, not with the module under test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
import requests

from tests.conftest import ROOT
from tests.integration.conftest import BUILT_CARD
from windpitch_local.dashboard import DIST
from windpitch_local.processes import ProcessInfo, process_info, same_process
from windpitch_local.s3 import free_port

WORKERS = 2
START_S = 120  # the first start imports the handlers and the model (a few seconds warm)
STOP_S = 90  # a batch run in flight finishes first; the workers finish their poll


@pytest.fixture
def stack_prerequisites(real_data: Path) -> Path:
    """The real data (the replay reads it), the layers built for this interpreter and the built page."""
    if not BUILT_CARD.exists():
        pytest.skip("no built layers with a model: run `make build-local` (needs a trained model)")
    if not (DIST / "index.html").exists():
        pytest.skip("the dashboard is not built: run `make dashboard`")
    return real_data


@dataclass
class Stack:
    process: subprocess.Popen[str]
    ports: dict[str, int]
    state_dir: Path
    log_path: Path
    log: IO[str]
    seen: dict[int, ProcessInfo] = field(default_factory=dict)  # every descendant seen, to kill in the finally

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def record(self) -> dict[str, object]:
        return dict(json.loads((self.state_dir / f"{self.process.pid}.json").read_text()))


def _table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) for every process, from ps."""
    out = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,stat="], capture_output=True, text=True, check=True).stdout
    return {int(pid): (int(ppid), stat) for pid, ppid, stat in (line.split() for line in out.splitlines())}


def descendants(pid: int) -> set[int]:
    """The living processes below ``pid``."""
    table, found, wanted = _table(), set(), [pid]
    while wanted:
        parent = wanted.pop()
        children = {p for p, (pp, stat) in table.items() if pp == parent and not stat.startswith("Z")}
        found |= children
        wanted += children
    return found


def running(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie has exited: only its parent has not read its status yet)."""
    table = _table()
    return {p for p in pids if p in table and not table[p][1].startswith("Z")}


def port_free(port: int) -> bool:
    """Nothing answers on 127.0.0.1:``port`` and a server could listen there."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout:g} s")


@contextlib.contextmanager
def launched(
    real_data: Path, tmp_path: Path, name: str, ports: dict[str, int] | None = None, state_dir: Path | None = None
) -> Iterator[Stack]:
    """`python -m windpitch_local stack` in its own session; whatever it and its children leave is killed after."""
    ports = ports or {"api": free_port(), "s3": free_port(), "dashboard": free_port()}
    state_dir = state_dir or tmp_path / "state"
    log_path = tmp_path / f"{name}.log"
    log = log_path.open("w")
    command = [sys.executable, "-m", "windpitch_local", "stack", "--speed", "0", "--start", "2015-06-01",
               "--days", "0.02", "--backfill-days", "0.5", "--data", str(real_data), "--workers", str(WORKERS),
               "--log-file", str(tmp_path / f"{name}.jsonl"), "--state-dir", str(state_dir),
               *(f"--{port_name}-port={port}" for port_name, port in ports.items())]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # fmt: skip
    stack = Stack(process, ports, state_dir, log_path, log)
    try:
        yield stack
    finally:
        if process.poll() is None:
            stack.seen.update({p: i for p in descendants(process.pid) if (i := process_info(p)) is not None})
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        for info in stack.seen.values():  # moto's server has its own session: the group's SIGKILL misses it
            if same_process(info):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(info.pid, signal.SIGKILL)
        log.close()


def serving(stack: Stack) -> set[int]:
    """Wait until the stack serves (its API answers last, once everything else runs); its children then."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            pytest.fail(f"the stack exited ({stack.process.returncode}): {stack.output()[-3000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{stack.ports['api']}/health", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    else:
        pytest.fail(f"the stack did not serve within {START_S} s: {stack.output()[-3000:]}")
    assert requests.get(f"http://127.0.0.1:{stack.ports['dashboard']}/config.json", timeout=5).status_code == 200
    assert requests.get(f"http://127.0.0.1:{stack.ports['s3']}/moto-api/", timeout=5).status_code == 200
    children = descendants(stack.process.pid)
    stack.seen.update({p: i for p in children if (i := process_info(p)) is not None})
    return children


def recorded(stack: Stack) -> dict[int, str]:
    """pid -> role, for the children the stack's record names."""
    return {int(c["pid"]): str(c["role"]) for c in stack.record()["children"]}  # type: ignore[attr-defined]


def assert_everything_stopped(stack: Stack, children: set[int]) -> None:
    wait_until(lambda: not running(children), 20, f"children still running: {running(children)}")
    for name, port in stack.ports.items():
        assert port_free(port), f"{name} port {port} is still taken"
    assert not list(stack.state_dir.glob("*.json")), "the stack's record outlived it"


@pytest.mark.parametrize(
    ("sig", "to"),
    [
        (signal.SIGTERM, "group"),  # what was reported: SIGTERM to `make run`'s process group
        (signal.SIGTERM, "group, then the stack again"),  # what make does: it passes its own SIGTERM on
        (signal.SIGHUP, "group"),  # the terminal closed
        (signal.SIGINT, "group"),  # Ctrl-C
        (signal.SIGTERM, "stack"),  # kill <pid>, a supervisor
        (signal.SIGHUP, "stack"),
    ],
    ids=lambda value: value.name if isinstance(value, signal.Signals) else value.replace(" ", "-").replace(",", ""),
)
def test_a_signal_stops_every_child_and_frees_the_ports(
    stack_prerequisites: Path, tmp_path: Path, sig: signal.Signals, to: str
) -> None:
    with launched(stack_prerequisites, tmp_path, "stack") as stack:
        children = serving(stack)
        roles = recorded(stack)
        assert sorted(roles.values()).count("WorkerFunction worker") == WORKERS, roles
        assert any(role.startswith("moto's S3 server") for role in roles.values()), roles
        assert set(roles) <= children, "the record names the stack's own children"
        if to.startswith("group"):
            os.killpg(stack.process.pid, sig)
        else:
            stack.process.send_signal(sig)
        if to.endswith("again"):
            time.sleep(0.3)
            stack.process.send_signal(sig)
        assert stack.process.wait(timeout=STOP_S) == 0, stack.output()[-3000:]
        assert f"stopping ({sig.name})" in stack.output()
        assert_everything_stopped(stack, children)


def test_a_killed_stacks_children_are_named_and_stopped_by_the_next_start(
    stack_prerequisites: Path, tmp_path: Path
) -> None:
    """SIGKILL leaves moto's server (its own session) and the workers (nobody tells them to stop) running, on
    the stack's ports: the next stack on those ports names each and stops it before it starts."""
    with launched(stack_prerequisites, tmp_path, "killed") as killed:
        children = serving(killed)
        left = recorded(killed)
        killed.process.kill()
        killed.process.wait(timeout=10)
        assert running(set(left)) == set(left), "the children outlive a SIGKILL of the stack"
        assert not port_free(killed.ports["s3"])
        with launched(stack_prerequisites, tmp_path, "next", killed.ports, killed.state_dir) as following:
            serving(following)
            said = following.output()
            assert "ended without stopping what it started" in said, said[-3000:]
            for pid, role in left.items():
                assert f"{role}: pid {pid} " in said, said[-3000:]
            assert f"pid {killed.process.pid} " in said
            assert f"moto's S3 server (port {killed.ports['s3']})" in said
            wait_until(lambda: not running(children), 20, "every child the killed stack left stopped")
            assert not (killed.state_dir / f"{killed.process.pid}.json").exists()
            following.process.send_signal(signal.SIGTERM)
            assert following.process.wait(timeout=STOP_S) == 0


def test_a_second_stack_on_the_same_ports_is_refused_and_told_how_to_stop_the_first(
    stack_prerequisites: Path, tmp_path: Path
) -> None:
    with launched(stack_prerequisites, tmp_path, "first") as first:
        children = serving(first)
        second = subprocess.run(
            [sys.executable, "-m", "windpitch_local", "stack", "--state-dir", str(first.state_dir),
             *(f"--{name}-port={port}" for name, port in first.ports.items())],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert second.returncode == 3, second.stdout + second.stderr
        assert f"already running: pid {first.process.pid} " in second.stderr
        assert f"python -m windpitch_local stop --state-dir {first.state_dir}" in second.stderr
        assert first.process.poll() is None, "the running stack is left alone"
        stopped = subprocess.run(
            [sys.executable, "-m", "windpitch_local", "stop", "--state-dir", str(first.state_dir)],
            cwd=ROOT, capture_output=True, text=True, timeout=STOP_S + 30, check=False,
        )  # fmt: skip
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert f"stopping the windpitch local stack pid {first.process.pid} " in stopped.stdout
        assert first.process.wait(timeout=10) == 0
        assert_everything_stopped(first, children)


def test_a_port_held_by_something_else_is_named(tmp_path: Path) -> None:
    """Refused before anything starts (no data, build or page needed): the holder named by pid and command."""
    port = free_port()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])));"
         " s.listen(); print('ready', flush=True); time.sleep(120)", str(port)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        ports = {"api": free_port(), "s3": port, "dashboard": free_port()}
        with launched(tmp_path / "never-read.csv", tmp_path, "refused", ports) as stack:
            assert stack.process.wait(timeout=60) == 3
            said = stack.output()
            assert f"port {port} (s3) on 127.0.0.1 is already in use by pid {holder.pid} (" in said, said
            assert "s.listen()" in said, "the holder's command line is shown"
            assert "--s3-port" in said
            assert not list(stack.state_dir.glob("*.json"))
    finally:
        holder.kill()
        holder.wait()
