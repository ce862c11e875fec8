"""A console a person can read for the local stack, with the functions' structured logs kept in a file.

The Lambda handlers write JSON to standard output (Powertools' Logger and its EMF metrics), as they must on
Lambda, where CloudWatch collects it. Locally that drowns the few lines a developer wants. :class:`Router`
stands in for ``sys.stdout``: a line that is a JSON object goes to the log file, anything else to the
console. Per thread (the API and the batch run at once), so a line is never split between the two.

Example:
    >>> import io
    >>> console, log = io.StringIO(), io.StringIO()
    >>> router = Router(console, log)
    >>> print('{"level":"INFO","message":"batch run"}', file=router); print("batch: 3 files", file=router)
    >>> console.getvalue(), log.getvalue()
    ('batch: 3 files\\n', '{"level":"INFO","message":"batch run"}\\n')
"""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

from flask import g, request


class Router:
    """A write-only text stream: JSON object lines to ``log``, the rest to ``console``."""

    def __init__(self, console: TextIO, log: TextIO) -> None:
        self.console, self.log = console, log
        self._where = threading.local()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        target = getattr(self._where, "target", None)
        if target is None:  # the start of a line decides where the whole line goes
            target = self.log if text.lstrip().startswith("{") else self.console
            self._where.target = target
        with self._lock:
            target.write(text)
        if text.endswith("\n"):
            self._where.target = None
            target.flush()
        return len(text)

    def flush(self) -> None:
        self.console.flush()
        self.log.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


def log_requests(app: Any, console: TextIO) -> None:
    """One line per API request on ``console``: method, path and query, status, time in the handler."""

    @app.before_request
    def started() -> None:
        g.windpitch_started = time.perf_counter()

    @app.after_request
    def finished(response: Any) -> Any:
        took = (time.perf_counter() - getattr(g, "windpitch_started", time.perf_counter())) * 1000
        query = f"?{request.query_string.decode(errors='replace')}" if request.query_string else ""
        console.write(f"api   {request.method} {request.path}{query[:80]} -> {response.status_code} ({took:.1f} ms)\n")
        console.flush()
        return response
