"""Stopping the servers the local stack, the tests and the benchmarks start: politely, then for sure."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


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
