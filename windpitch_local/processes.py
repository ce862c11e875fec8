"""Stopping the servers the local stack, the tests and the benchmarks start: politely, then for sure; and finding
out which process is which (its start time, its command, what listens on a port), so that a process recorded
by an earlier stack is told apart from an unrelated one that happens to have the same pid now.

Linux answers from ``/proc``; elsewhere (macOS) ``ps`` and ``lsof`` do, when present. Nothing here needs
privileges: another user's process is simply not found (a port's holder may then go unnamed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")
_LISTEN = "0A"  # /proc/net/tcp's state for a listening socket


def stop_process(process: subprocess.Popen[Any], timeout: float = 20) -> int:
    """SIGTERM (the stack stops its servers on it), then SIGKILL after ``timeout`` seconds; the exit code.

    Example:
        >>> import sys
        >>> stop_process(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])) != 0
        True
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


@dataclass(frozen=True)
class ProcessInfo:
    """One process: its pid, when it started (as the kernel counts it) and its command line.

    The pid with the start time names one process: a pid is reused once its process is gone, a start time
    with it is not (within a boot), so a recorded process is only ever signalled if both still match.
    """

    pid: int
    started: str
    command: str

    def describe(self, width: int = 160) -> str:
        """``pid 123 (python -m moto.server -H 127.0.0.1 -p 5000)``, the command cut to ``width`` characters."""
        command = self.command if len(self.command) <= width else self.command[: width - 1] + "…"
        return f"pid {self.pid} ({command})"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessInfo:
        return cls(int(data["pid"]), str(data["started"]), str(data["command"]))


def process_info(pid: int) -> ProcessInfo | None:
    """The process ``pid`` now, or None when there is none (a zombie counts as none: it has already exited).

    Example:
        >>> process_info(os.getpid()).pid == os.getpid(), process_info(2**22 + 1)
        (True, None)
    """
    if pid <= 0:
        return None
    if PROC.is_dir():
        try:
            stat = (PROC / str(pid) / "stat").read_text()
            argv = (PROC / str(pid) / "cmdline").read_bytes()
        except OSError:  # gone, or never was
            return None
        # The command name (field 2, in parentheses) may hold spaces and ")": the fields start after the last ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] in {"Z", "X"}:
            return None
        command = " ".join(part.decode(errors="replace") for part in argv.split(b"\0") if part)
        return ProcessInfo(pid, fields[19], command or stat[stat.find("(") + 1 : stat.rfind(")")])
    row = _ps("-o", "stat=", "-o", "lstart=", "-o", "command=", "-p", str(pid)).strip()
    parts = row.split(maxsplit=6)  # STAT, then lstart's five words (Fri Dec  5 08:13:00 2025), then the command
    if len(parts) < 6 or parts[0].startswith("Z"):
        return None
    return ProcessInfo(pid, " ".join(parts[1:6]), parts[6] if len(parts) > 6 else "")


def same_process(recorded: ProcessInfo) -> bool:
    """Whether the process ``recorded`` names is still running (the same pid, started at the same time)."""
    now = process_info(recorded.pid)
    return now is not None and now.started == recorded.started


def descendants(pid: int) -> list[ProcessInfo]:
    """Every living process below ``pid`` (children, their children, …), parents before their children."""
    parents = _parents()
    found: list[ProcessInfo] = []
    wanted = [pid]
    while wanted:
        parent = wanted.pop(0)
        for child in sorted(p for p, pp in parents.items() if pp == parent):
            info = process_info(child)
            if info is not None:
                found.append(info)
                wanted.append(child)
    return found


def _parents() -> dict[int, int]:
    """pid -> parent pid, for every process this user can see."""
    out: dict[int, int] = {}
    if PROC.is_dir():
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text()
                    out[int(entry.name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
        return out
    for line in _ps("-A", "-o", "pid=", "-o", "ppid=").splitlines():
        pid, _, ppid = line.strip().partition(" ")
        if pid.isdigit() and ppid.strip().isdigit():
            out[int(pid)] = int(ppid)
    return out


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could not listen on ``host:port`` now: something answers there, or binding it fails.

    Binding as the servers do (SO_REUSEADDR: a port in TIME_WAIT is free) also catches a listener on every
    address (0.0.0.0), which a connection to ``host`` alone might not reach.
    """
    with socket.socket() as probe:
        probe.settimeout(1.0)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def listeners(port: int) -> list[ProcessInfo]:
    """The processes listening on TCP ``port`` (any address), as far as this user can see them."""
    if (PROC / "net" / "tcp").exists():
        inodes = set()
        for table in ("tcp", "tcp6"):
            with contextlib.suppress(OSError):
                for line in (PROC / "net" / table).read_text().splitlines()[1:]:
                    fields = line.split()
                    if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{fields[9]}]")
        pids = {pid for pid, link in _socket_links() if link in inodes} if inodes else set()
    else:
        pids = {int(p) for p in _run("lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN", "-t").split() if p.isdigit()}
    return [info for info in map(process_info, sorted(pids)) if info is not None]


def _socket_links() -> Iterable[tuple[int, str]]:
    """(pid, what its file descriptor points at) for every open descriptor this user may read."""
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                for fd in (entry / "fd").iterdir():
                    with contextlib.suppress(OSError):
                        yield int(entry.name), str(fd.readlink())


def stop_processes(processes: Iterable[ProcessInfo], timeout: float = 10) -> list[ProcessInfo]:
    """SIGTERM to each process that is still the one recorded, SIGKILL to those still running after ``timeout``
    seconds; the ones that survived even that (none, unless another user's). Not our children: they are
    watched until they are gone, not waited for."""
    running = [p for p in processes if same_process(p)]
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for process in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, sig)
        deadline = time.monotonic() + wait_s
        while running and time.monotonic() < deadline:
            time.sleep(0.1)
            running = [p for p in running if same_process(p)]
        if not running:
            break
    return running


def _ps(*args: str) -> str:
    return _run("ps", *args)


def _run(*command: str) -> str:
    """A tool's output, or "" when it is missing or fails: these look-ups only ever help name a process."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout
