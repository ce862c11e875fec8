"""Powertools Logger (structured JSON, correlation id) and Metrics (EMF) shared by the API functions.

The X-Ray SDK (Powertools Tracer) is not imported here: it costs ~0.5 s of cold start (it loads
botocore), more than the predict function's whole budget. Functions without that budget add a Tracer;
all functions run with X-Ray active tracing, which records every invocation without the SDK.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Final

from aws_lambda_powertools import Logger, Metrics

from windpitch import settings

SERVICE: Final = settings.SERVICE_NAME.read()

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=settings.METRICS_NAMESPACE.read(), service=SERVICE)


def since_process_start_ms() -> float | None:
    """Milliseconds since this process started (Linux, 10 ms resolution), or None where that is not known.

    Logged once as ``init_ms`` when a function's module has loaded: the runtime's start and the function's
    imports, the part of a cold start that Lambda reports as Init Duration, measured by the function itself
    (the local emulator reports only its own phase). Read from ``/proc``: a timer in the module would miss the
    interpreter's start and the imports before it.

    Example:
        >>> elapsed = since_process_start_ms()
        >>> elapsed is None or elapsed > 0
        True
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        # Field 22 (starttime, in clock ticks since boot) counts from after the command name's closing bracket.
        started = int(stat[stat.rindex(")") + 2 :].split()[19]) / os.sysconf("SC_CLK_TCK")
        return round((time.clock_gettime(time.CLOCK_BOOTTIME) - started) * 1000, 1)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
