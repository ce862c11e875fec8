"""Lambda SnapStart's runtime hooks for the API functions (the template's ``SnapStart`` parameter).

With SnapStart, Lambda initialises a function when a version is published, snapshots the execution
environment, and resumes every later cold start from that snapshot. What the snapshot holds, every environment
restored from it shares. So:

* **before the snapshot**: load and verify the model and answer the card's golden records. The snapshot then
  holds the model parsed and numpy's code paths warm, so the first request after a restore does no more work
  than any other; and a model that fails verification or its golden records fails the version's publication
  (the deployment rolls back) rather than answering 503 to every request after it.
* **after a restore**: re-seed ``random`` (each restored environment would draw the same numbers; the serving
  core does not use it, but nothing should inherit that), and log the restore with its own timer, so operators
  see restores beside cold starts.

The hooks come from Snapshot Restore for Python (``snapshot_restore_py``), which Lambda's python3.12+ runtimes
include; where it is absent (tests, the local stack) nothing is registered. Nothing here can run a real
snapshot: the hooks are tested by calling them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

import windpitch
from windpitch.artifacts import default_model_dir, read_card
from windpitch.golden import departures

from .observability import logger

Hook = Callable[[], None]


def before_snapshot() -> None:
    """Load the model and answer its golden records; raise (failing the publication) if it cannot.

    Raises:
        windpitch.ModelUnavailable: the model is missing or fails verification.
        RuntimeError: its golden records are missing or answered otherwise than its card says.
    """
    started = time.perf_counter()
    model = windpitch.load_model()
    golden = read_card(default_model_dir()).get("golden") or {}
    if not golden.get("records"):
        raise RuntimeError("the model card has no golden records: this version cannot be checked before its snapshot")
    answers = [getattr(result, "pitch_deg", None) for result in windpitch.predict(golden["records"], model)]
    problems = departures(golden, answers)
    if problems:
        raise RuntimeError(f"golden records before the snapshot: {'; '.join(problems)}")
    logger.info(
        "ready for snapshot",
        model_version=model.info.version,
        golden_records=len(answers),
        warm_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def after_restore() -> None:
    """What no two restored environments may share, renewed; and a log line for the restore."""
    started = time.perf_counter()
    random.seed()
    logger.info("restored from snapshot", restore_hook_ms=round((time.perf_counter() - started) * 1000, 3))


def register(library: Any | None = None) -> bool:
    """Register both hooks with ``snapshot_restore_py`` (or ``library``); False where it is not installed.

    Example:
        >>> class Library:
        ...     def __init__(self): self.hooks = []
        ...     def register_before_snapshot(self, hook): self.hooks.append(hook.__name__)
        ...     def register_after_restore(self, hook): self.hooks.append(hook.__name__)
        >>> library = Library()
        >>> register(library), library.hooks
        (True, ['before_snapshot', 'after_restore'])
    """
    if library is None:
        try:
            library = import_module("snapshot_restore_py")
        except ImportError:
            return False
    library.register_before_snapshot(before_snapshot)
    library.register_after_restore(after_restore)
    return True
