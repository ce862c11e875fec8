"""The pipeline in one process: discover → plan units → score each → commit → publish.

``python -m windpitch batch``, the scheduled BatchFunction on a bucket without workers, and the tests run it.
It is the fan-out with one worker: the same :func:`windpitch_batch.score.work_unit` a WorkerFunction runs per
message, then the same :func:`windpitch_batch.commit.commit` the scheduled aggregation runs. So whichever entry
point reaches a unit first scores it, the others find it done (in the ledger, or waiting for the commit), and
every row is counted in one manifest.

Guarantees:

* **Idempotent.** A unit's outputs are deterministic and named by its raw key (and slice); a run over done input
  changes nothing.
* **Nothing half-published.** Outputs are staged, then published by the commit after the ledger names the unit;
  a run that dies leaves its scored units waiting for the next commit.
* **Bounded.** Files are taken in key order until ``max_files`` or the time budget is reached (the rest wait for
  the next run); a large file is scored slice by slice, so memory stays bounded whatever its size.
* **Bad input never stops a run**: it is quarantined with its reason, and the good rows beside it are scored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from windpitch.runtime import PitchModel

from . import keys, ledger
from .commit import RunOutcome, commit
from .config import BatchConfig
from .discover import BadMessage, Inbox, pending, unit_refs
from .plan import UnitRef
from .registry import challenger_for
from .score import Busy, Worked, ref_of, work_unit
from .store import S3Store


def run_batch(
    store: S3Store,
    model: PitchModel,
    config: BatchConfig,
    *,
    remaining_ms: Callable[[], int] = lambda: 900_000,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_unit: Callable[[Worked, int], None] | None = None,
    inbox: Inbox | None = None,
) -> RunOutcome:
    """Score what is new, then commit it (and any unit other processes left waiting).

    New work comes from ``inbox`` (the work queue's notifications: nothing listed) when given, else from the
    ledger (the raw files whose version it does not hold: a listing of raw/ and the ledger).
    ``on_unit(worked, files)`` is called after each unit, for progress on long work.
    """
    ledger.migrate(store)  # before discovery: work done under the old records is found done
    candidates = inbox.take(config.max_files) if inbox else [ref_of(o) for o in pending(store)[: config.max_files]]
    waiting = bool(store.list(keys.RESULTS))
    if not candidates and not waiting:
        return RunOutcome("nothing to do")
    if remaining_ms() < config.safety_margin_ms:
        return _no_time(len(candidates))
    # Never raises: a challenger that cannot be scored is refused with its reason, and live scoring goes on.
    challenger = challenger_for(store, model, config.challenger)
    todo = deque(candidates)
    started, busy = 0, set[str]()
    while todo and remaining_ms() >= config.safety_margin_ms:
        ref = todo.popleft()
        started += not ref.slices  # a file's first unit (its other slices come back through ``send``)
        try:
            worked = work_unit(store, model, config, ref, send=lambda bodies: _next(todo, bodies),
                               challenger=challenger, now=now)  # fmt: skip
        except Busy:
            busy.add(ref.key)  # another run holds it: it commits it
            continue
        except BadMessage:  # a unit message whose slicing is not the file's plan: refused, never scored
            continue
        if on_unit is not None:
            on_unit(worked, len(candidates))
    if candidates and len(busy) == len(candidates) and not waiting:
        return RunOutcome("nothing done", "every pending file is leased by another run", len(candidates))
    left = len(candidates) - started  # files this run did not reach
    if inbox is not None and not todo:
        inbox.done()  # every unit taken is scored or waiting for the commit: its message has done its work
    outcome = commit(store, model, config, now=now, left=left)
    if outcome.status == "nothing to do" and todo:
        return _no_time(len(candidates))
    return outcome


def _next(todo: deque[UnitRef], bodies: list[str]) -> None:
    """A file's other slices, scored next in this process (a worker would send them to the queue)."""
    refs = [ref for body in bodies for ref in unit_refs(body)]
    todo.extendleft(reversed(refs))


def _no_time(pending_files: int) -> RunOutcome:
    return RunOutcome("nothing done", "no time left in this invocation", pending_files)
