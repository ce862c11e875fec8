"""Powertools Logger (structured JSON, correlation id) and Metrics (EMF) shared by the API functions.

The X-Ray SDK (Powertools Tracer) is not imported here: it costs ~0.5 s of cold start (it loads
botocore), more than the predict function's whole budget. Functions without that budget add a Tracer;
all functions run with X-Ray active tracing, which records every invocation without the SDK.
"""

from __future__ import annotations

import os
from typing import Final

from aws_lambda_powertools import Logger, Metrics

SERVICE: Final = os.environ.get("POWERTOOLS_SERVICE_NAME", "windpitch")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "windpitch"), service=SERVICE)
