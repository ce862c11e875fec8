"""The local stack's life: the signals that stop it, the record of what it started, and what an earlier run left.

* **Signals** (:class:`StopSignals`): SIGINT (Ctrl-C), SIGTERM (a supervisor, ``kill``, ``make`` passing one on)
  and SIGHUP (the terminal closed) all do one thing: set the stack's stop event. The handler never raises into
  whatever the main thread was doing (an exception thrown in the middle of starting a child, or of stopping
  one, is how a child gets left behind), and a second signal while stopping is noted, not obeyed: ``make``
  sends its child a SIGTERM of its own after the process group's, which must not cut the cleanup short.
* **Record** (:class:`StackRecord`): ``.local-stack/stacks/<pid>.json`` names the stack process, its ports and
  every child it started (pid, start time, command), rewritten as children start, removed once they are all gone.
* **Leftovers** (:func:`clear_leftovers`): before a stack starts, every record is read. A stack still running
  on one of the same ports is named and the start refused, saying how to stop it; the children of a stack that
  is gone (killed with SIGKILL, say) are provably ours, since the record names each by pid *and* start time,
  so they are named and stopped. A port held by anything else is named (pid and command, when this user can see
  it) and the start refused. ``python -m windpitch_local stop`` stops every recorded stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from .processes import ProcessInfo, descendants, listeners, port_taken, process_info, same_process, stop_processes

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".local-stack" / "stacks"  # .local-stack/ is gitignored: the stack's runtime files
HOST = "127.0.0.1"
# What stops the stack; SIGHUP is absent on Windows, where nothing here runs anyway.
STOP_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


TRACKER = "multiprocessing's resource tracker"


class StackConflict(OSError):
    """Another process, a stack or not, holds what this stack needs; the message names it and says what to do."""


class StopSignals:
    """The stack's one signal handler, for SIGINT, SIGTERM and SIGHUP, installed for the ``with`` block.

    The first signal sets ``stop`` and is remembered in :attr:`received`; later ones only say that the stack is
    already stopping (on the raw stderr descriptor: a handler must not take the console's lock, which the main
    thread may hold at that moment). Must be entered on the main thread, where Python runs signal handlers.
    """

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.received is None:
            self.received = name
            self.stop.set()
            return
        with contextlib.suppress(OSError):  # stderr gone with the terminal (SIGHUP): nothing to tell
            os.write(2, f"windpitch local stack: already stopping ({self.received}); {name} ignored\n".encode())


@dataclass
class StackRecord:
    """What one stack started, in ``<state_dir>/<pid>.json``: the stack itself, its ports, its children."""

    path: Path
    stack: ProcessInfo
    ports: dict[str, int]
    since: str
    children: list[tuple[str, ProcessInfo]] = field(default_factory=list)  # (role, process)

    @classmethod
    def create(cls, state_dir: Path, ports: dict[str, int]) -> StackRecord:
        """The record of this process, written at once (so a stack killed while starting is found too)."""
        me = process_info(os.getpid())
        if me is None:  # cannot happen: this process is running
            raise RuntimeError("cannot read this process's own start time")
        state_dir.mkdir(parents=True, exist_ok=True)
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = cls(state_dir / f"{me.pid}.json", me, dict(ports), since)
        record.write()
        return record

    @classmethod
    def read(cls, path: Path) -> StackRecord | None:
        """The record in ``path``, or None when it is unreadable (a half-written file from a crash)."""
        try:
            data = json.loads(path.read_text())
            return cls(
                path,
                ProcessInfo.from_dict(data["stack"]),
                {str(k): int(v) for k, v in data["ports"].items()},
                str(data.get("since", "?")),
                [(str(c["role"]), ProcessInfo.from_dict(c)) for c in data.get("children", [])],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self) -> None:
        """Replace the file whole (a reader never sees half of it)."""
        data = {
            "stack": self.stack.as_dict(),
            "ports": self.ports,
            "host": HOST,
            "since": self.since,
            "children": [{"role": role, **child.as_dict()} for role, child in self.children],
        }
        partial = self.path.with_suffix(".json.partial")
        partial.write_text(json.dumps(data, indent=1) + "\n")
        partial.replace(self.path)

    def add_children(self, found: list[ProcessInfo]) -> None:
        """Record ``found`` (children of this process) beside those already recorded, and write the file."""
        known = {child.pid for _, child in self.children}
        roles = [(role_of(p.command, self.ports), p) for p in found if p.pid not in known]
        # multiprocessing's resource tracker outlives the stack by design (it exits once every process holding
        # its pipe, the stack and the workers, is gone): recorded, it would look left over at every stop.
        self.children += [(role, p) for role, p in roles if role != TRACKER]
        self.write()

    def alive(self) -> list[tuple[str, ProcessInfo]]:
        """The recorded children still running (the same processes, not others given their pids since)."""
        return [(role, child) for role, child in self.children if same_process(child)]

    def close(self) -> list[tuple[str, ProcessInfo]]:
        """Remove the record once nothing it names is running; what still runs otherwise (the record stays)."""
        left = self.alive()
        if not left:
            self.path.unlink(missing_ok=True)
        return left

    def describe(self) -> str:
        ports = ", ".join(f"{name} {port}" for name, port in self.ports.items())
        return f"{self.stack.describe()} since {self.since} on 127.0.0.1 ports {ports}"


def role_of(command: str, ports: dict[str, int]) -> str:
    """What a child of the stack is, from its command line, for a person reading the message.

    Example:
        >>> role_of("python -m moto.server -H 127.0.0.1 -p 5000", {"s3": 5000})
        "moto's S3 server (port 5000)"
    """
    if "moto.server" in command:
        return f"moto's S3 server (port {ports.get('s3', '?')})"
    if "multiprocessing.spawn" in command or "--multiprocessing-fork" in command:
        return "WorkerFunction worker"
    if "resource_tracker" in command:
        return TRACKER
    return "child process"


def records(state_dir: Path) -> Iterator[StackRecord]:
    """Every stack recorded in ``state_dir``, unreadable files removed."""
    for path in sorted(state_dir.glob("*.json")) if state_dir.is_dir() else []:
        record = StackRecord.read(path)
        if record is None:
            path.unlink(missing_ok=True)
        else:
            yield record


def clear_leftovers(state_dir: Path, ports: dict[str, int], say: Callable[[str], None] = print) -> None:
    """Make way for a stack on ``ports``: stop what earlier stacks left, refuse if a stack or anything else
    holds one of the ports (:class:`StackConflict`, naming it)."""
    wanted = set(ports.values())
    for record in records(state_dir):
        if record.stack.pid == os.getpid():
            continue  # a pid reused by this very process: its record is an old one's, handled below as gone
        if same_process(record.stack):
            taken = wanted & set(record.ports.values())
            if taken:
                raise StackConflict(
                    f"a windpitch local stack is already running: {record.describe()}. Stop it first: Ctrl-C in "
                    f"its terminal, `kill {record.stack.pid}`, or `python -m windpitch_local stop"
                    + (f" --state-dir {state_dir}`" if state_dir != STATE_DIR else "`")
                )
            continue  # another stack on other ports (the tests run several): not ours to touch
        stop_left(record, say)
    for name, port in ports.items():
        if port_taken(port):
            holders = listeners(port)
            who = "; ".join(h.describe() for h in holders) if holders else "a process this user cannot see"
            raise StackConflict(
                f"port {port} ({name}) on 127.0.0.1 is already in use by {who}, which no windpitch local stack "
                f"recorded: stop it{f' (kill {holders[0].pid})' if holders else ''} or choose another port "
                f"(--{name}-port)"
            )


def stop_left(record: StackRecord, say: Callable[[str], None]) -> None:
    """Stop the children a gone stack left running, naming each; drop its record once none runs."""
    left = record.alive()
    if left:
        say(f"windpitch local stack: an earlier stack ({record.describe()}) ended without stopping what it started;"
            " stopping it now:")  # fmt: skip
        for role, child in left:
            say(f"  {role}: {child.describe()}")
        survivors = stop_processes([child for _, child in left])
        if survivors:
            raise StackConflict(
                "could not stop what an earlier stack left: " + "; ".join(p.describe() for p in survivors)
            )
    record.close()


def stop_stacks(state_dir: Path = STATE_DIR, say: Callable[[str], None] = print, timeout: float = 120) -> int:
    """``python -m windpitch_local stop``: SIGTERM every running stack recorded in ``state_dir`` (it stops its
    children), then stop whatever any of them left; how many stacks were stopped."""
    stopped = 0
    for record in records(state_dir):
        if same_process(record.stack):
            say(f"stopping the windpitch local stack {record.describe()}")
            if stop_processes([record.stack], timeout=timeout):
                raise StackConflict(f"could not stop {record.stack.describe()}")
            stopped += 1
        stop_left(record, say)
    if not stopped:
        say("no windpitch local stack is running")
    return stopped


def children_of_this_process() -> list[ProcessInfo]:
    """This process's living descendants (the stack's moto server, workers, multiprocessing's helper)."""
    return descendants(os.getpid())
