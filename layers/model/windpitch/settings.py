"""Every setting windpitch reads from its environment, in one place: its name, default, check and readers.

No other module reads ``os.environ`` for a setting (``tests/unit/test_settings.py`` holds that), and no other
file restates a default: ``template.yaml`` passes an empty string for a parameter left at windpitch's default,
which :meth:`Setting.read` takes as unset. ``docs/settings.md`` is generated from this table and from where
``template.yaml`` sets each variable (``python -m windpitch_deploy settings``); CI fails when it is stale.

Example:
    >>> DETECTOR_WINDOW_INTERVALS.read({"DETECTOR_WINDOW_INTERVALS": "7"})
    7
    >>> DETECTOR_WINDOW_INTERVALS.read({"DETECTOR_WINDOW_INTERVALS": ""})   # the template's "windpitch's default"
    5
    >>> DETECTOR_WINDOW_INTERVALS.read({"DETECTOR_WINDOW_INTERVALS": "five"})
    Traceback (most recent call last):
    ...
    windpitch.settings.SettingError: DETECTOR_WINDOW_INTERVALS='five': not an integer
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class SettingError(ValueError):
    """A setting that is missing or malformed, naming the variable and the reason."""


def _integer(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("not an integer") from None
        if value < low:
            raise ValueError(f"must be at least {low}")
        return value

    parse.__doc__ = f"an integer ≥ {low}"
    return parse


def _number(low: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        if not low < value < float("inf"):
            raise ValueError(f"must be a finite number above {low:g}")
        return value

    parse.__doc__ = f"a number > {low:g}"
    return parse


def _matching(pattern: str, what: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def parse(text: str) -> str:
        if not compiled.fullmatch(text):
            raise ValueError(f"not {what}")
        return text

    parse.__doc__ = what
    return parse


def _text(text: str) -> str:
    """any text"""
    return text


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: ``default`` applies when it is unset or empty, unless it is ``required``."""

    name: str
    default: T
    parse: Callable[[str], T]
    about: str
    readers: tuple[str, ...]
    required: bool = False

    def read(self, env: Mapping[str, str] | None = None) -> T:
        """The setting's value in ``env`` (the process's environment by default).

        Raises:
            SettingError: required and unset, or not what it must be, naming the variable.
        """
        raw = (os.environ if env is None else env).get(self.name, "").strip()
        if not raw:
            if self.required:
                raise SettingError(f"{self.name}: not set ({self.about})")
            return self.default
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise SettingError(f"{self.name}={raw!r}: {exc}") from None

    @property
    def check(self) -> str:
        """What a value must be, in words (the table in docs/settings.md)."""
        return (self.parse.__doc__ or "").strip()


BATCH = ("BatchFunction", "WorkerFunction", "python -m windpitch batch/backfill")

# --- where the data is --------------------------------------------------------------------------------------
BUCKET = Setting("WINDPITCH_BUCKET", "", _text, "the data bucket (raw/ in, predictions/ out)", BATCH, required=True)
WORK_QUEUE_URL = Setting(
    "WORK_QUEUE_URL",
    "",
    _text,
    "the units queue; set: workers score and the scheduled run commits, empty: the scheduled run scores too",
    ("BatchFunction", "WorkerFunction"),
)
S3_ENDPOINT_URL = Setting(
    "WINDPITCH_S3_ENDPOINT_URL",
    "",
    _text,
    "an S3 emulator's endpoint, only under sam local on Docker; empty when deployed",
    ("BatchFunction", "WorkerFunction"),
)
MODEL_DIR = Setting(
    "WINDPITCH_MODEL_DIR",
    "",
    _text,
    "a model folder to serve instead of the layer's artifacts/",
    ("every function", "the CLI"),
)
MODEL_SHA256 = Setting(
    "WINDPITCH_MODEL_SHA256",
    "",
    _matching(r"([0-9a-f]{64})?", "a SHA-256 (64 lower-case hex digits), or empty"),
    "the live model's export SHA-256 the deployment pins: another model is refused at init (empty: no pin)",
    ("every function",),
)
CHALLENGER_VERSION = Setting(
    "CHALLENGER_VERSION",
    "",
    _matching(r"[A-Za-z0-9.+_-]+", "a published model version (letters, digits, .+_-)"),
    "the model scored in shadow; empty: the registry's pointer, models/challenger.json",
    BATCH,
)

# --- what raises a fault event (defaults from the injected-fault benchmark, docs/benchmarks.md) ------------
DETECTOR_STEADY_THRESHOLD_DEG = Setting(
    "DETECTOR_STEADY_THRESHOLD_DEG",
    1.5,
    _number(0),
    "the residual's absolute rolling median that flags steady partial load",
    BATCH,
)
DETECTOR_PITCHING_THRESHOLD_DEG = Setting(
    "DETECTOR_PITCHING_THRESHOLD_DEG",
    3.0,
    _number(0),
    "the residual's absolute rolling median that flags where the blade pitches",
    BATCH,
)
DETECTOR_WINDOW_INTERVALS = Setting(
    "DETECTOR_WINDOW_INTERVALS", 5, _integer(1), "judged intervals in a rolling median (steady regime)", BATCH
)

# --- model health -------------------------------------------------------------------------------------------
MONITORING_PSI_THRESHOLD = Setting(
    "MONITORING_PSI_THRESHOLD", 0.25, _number(0), "the floor of an input's drift threshold (PSI)", ("BatchFunction",)
)
MONITORING_WINDOW_DAYS = Setting(
    "MONITORING_WINDOW_DAYS",
    28,
    _integer(1),
    "days of recent data judged against the training data",
    ("BatchFunction",),
)

# --- how the batch works ------------------------------------------------------------------------------------
BATCH_MAX_FILES = Setting("BATCH_MAX_FILES", 200, _integer(1), "files one in-process run takes; the rest wait", BATCH)
BATCH_SAFETY_MARGIN_MS = Setting(
    "BATCH_SAFETY_MARGIN_MS", 120_000, _integer(0), "stop taking files when less time than this remains", BATCH
)
BATCH_LEASE_SECONDS = Setting(
    "BATCH_LEASE_SECONDS", 900, _integer(1), "a lease older than this is stale (a Lambda's longest run)", BATCH
)
BATCH_SLICE_LINES = Setting(
    "BATCH_SLICE_LINES",
    50_000,
    _integer(1),
    "data lines per unit: a larger file is scored in slices (about 320 MB of memory at 50,000 lines)",
    BATCH,
)
DASHBOARD_WINDOW_DAYS = Setting(
    "DASHBOARD_WINDOW_DAYS", 7, _integer(1), "the recent series each turbine's dashboard file holds", ("BatchFunction",)
)
SCHEDULE_MINUTES = Setting(
    "SCHEDULE_MINUTES",
    10,
    _integer(1),
    "how often the batch runs: the dashboard calls data older than twice this stale",
    ("BatchFunction",),
)

# --- the API --------------------------------------------------------------------------------------------------
ALLOWED_ORIGIN = Setting(
    "WINDPITCH_ALLOWED_ORIGIN",
    "http://127.0.0.1:8080",
    _text,
    "the origin browsers may call the API from (CORS): the dashboard's",
    ("PredictFunction", "HealthFunction", "ClientPredictFunction"),
)
DOCS_URL = Setting(
    "WINDPITCH_DOCS_URL",
    "http://127.0.0.1:8080/docs.html",
    _text,
    "where the API's /docs redirects: Swagger UI served as static files beside the dashboard",
    ("PredictFunction",),
)
NEW_VERSION = Setting(
    "NEW_VERSION",
    "",
    _text,
    "the function version CodeDeploy is about to shift traffic to",
    ("PreTrafficHookFunction",),
    required=True,
)

# --- observability (Powertools reads these too) ---------------------------------------------------------------
SERVICE_NAME = Setting(
    "POWERTOOLS_SERVICE_NAME", "windpitch", _text, "the service in every log line and metric", ("every function",)
)
METRICS_NAMESPACE = Setting(
    "POWERTOOLS_METRICS_NAMESPACE", "windpitch", _text, "the CloudWatch metrics namespace", ("every function",)
)

# --- the command line and training ---------------------------------------------------------------------------
DATA = Setting(
    "WINDPITCH_DATA",
    "",
    _text,
    "the SCADA file training reads, when --data is not given",
    ("python -m windpitch train",),
)
DEBUG = Setting(
    "WINDPITCH_DEBUG", "", _text, "non-empty: the CLI prints the traceback of an unexpected error", ("the CLI",)
)

SETTINGS: tuple[Setting[object], ...] = tuple(v for v in list(globals().values()) if isinstance(v, Setting))
