"""Every S3 key and prefix the product reads or writes, built in one place.

The bucket's layout, by who reads it:

* **inputs**: ``raw/`` (SCADA files as they land) and ``models/`` (the registry, :mod:`windpitch_batch.registry`);
* **published** (analysts, Athena, DuckDB, the dashboard): ``predictions/date=D/part-<part>.parquet``,
  ``quarantine/<part>/``, ``anomalies/``, ``dashboard/``, ``monitoring/``, ``shadow/``, ``manifests/``;
* **the pipeline's own state** under ``state/``: the ledger (``state/ledger/``, the only record of done work),
  a unit's outputs before their commit (``state/staged/<unit>.zip``), its result waiting for the commit
  (``state/results/``), leases (``state/leases/``) and failure reasons (``state/failures/``).

``tests/unit/test_keys_and_roles.py`` runs every function's flows and checks that each prefix they touch is
granted by the function's role in ``template.yaml``, and that no role grants a prefix its flows never touch.

Example:
    >>> prediction_part("2015-06-01", "3f2a")
    'predictions/date=2015-06-01/part-3f2a.parquet'
    >>> staged("u1")
    'state/staged/u1.zip'
    >>> ledger_entry("raw/a.csv", "u1")
    'state/ledger/6fe166ca1a625f2a/u1.json'
"""

from __future__ import annotations

import hashlib
from typing import Final

RAW: Final = "raw/"
MODELS: Final = "models/"
PREDICTIONS: Final = "predictions/"
QUARANTINE: Final = "quarantine/"
ANOMALIES: Final = "anomalies/"
DASHBOARD: Final = "dashboard/"
TURBINES: Final = f"{DASHBOARD}turbines/"
MONITORING: Final = "monitoring/"
MONITORING_COUNTS: Final = f"{MONITORING}counts/"
SHADOW: Final = "shadow/"
MANIFESTS: Final = "manifests/"
STATE: Final = "state/"
LEDGER: Final = f"{STATE}ledger/"
STAGED: Final = f"{STATE}staged/"
RESULTS: Final = f"{STATE}results/"
LEASES: Final = f"{STATE}leases/"
FAILURES: Final = f"{STATE}failures/"
# What the two pipelines recorded before the ledger: read once, by ledger.migrate, then deleted.
LEGACY_PROCESSED: Final = f"{STATE}processed/"
LEGACY_DONE: Final = f"{STATE}done/"
LEGACY_KEYS: Final = f"{STATE}keys/"

# Dashboard files are read by browsers every few minutes: let caches keep them briefly, never long.
SHORT_CACHE: Final = "max-age=60"


def digest(*parts: str, length: int = 16) -> str:
    """A short stable id: sha256 of the parts joined by newlines.

    Example:
        >>> digest("raw/a.csv")
        '6fe166ca1a625f2a'
    """
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:length]


def is_raw(key: str) -> bool:
    """A raw SCADA file: under ``raw/``, not a folder marker, no path tricks.

    Example:
        >>> is_raw("raw/2015/a.csv"), is_raw("models/challenger.json"), is_raw("raw/../models/x"), is_raw("raw/")
        (True, False, False, False)
    """
    return key.startswith(RAW) and not key.endswith("/") and ".." not in key.split("/")


def prediction_part(day: str, part: str) -> str:
    return f"{PREDICTIONS}date={day}/part-{part}.parquet"


def quarantine(part: str, name: str) -> str:
    """A quarantined file or row set of a unit, and its report (``name``: the file's name, rows.csv, report.json)."""
    return f"{QUARANTINE}{part}/{name}"


def dated_part(prefix: str, day: str, part: str) -> str:
    """A unit's counts under its last day (monitoring and shadow sums): ``<prefix>date=D/part-<part>.json``."""
    return f"{prefix}date={day}/part-{part}.json"


def shadow_counts(version: str) -> str:
    return f"{SHADOW}{version}/counts/"


def dashboard(name: str) -> str:
    return f"{DASHBOARD}{name}"


def turbine_state(turbine: str) -> str:
    return f"{TURBINES}{turbine}.json"


def manifest(run_id: str) -> str:
    return f"{MANIFESTS}run-{run_id}.json"


def ledger_of(raw_key: str) -> str:
    """The ledger's folder for one raw file: every version and slice of it that was committed."""
    return f"{LEDGER}{digest(raw_key)}/"


def ledger_entry(raw_key: str, unit: str) -> str:
    return f"{ledger_of(raw_key)}{unit}.json"


def staged(unit: str) -> str:
    """Where a unit's outputs wait for its commit, in one bundle (:func:`windpitch_batch.outputs.bundle`):
    readers never see them before the ledger names the unit."""
    return f"{STAGED}{unit}.zip"


def result(unit: str, suffix: str = ".json") -> str:
    """A scored unit's summary (``.json``) and the rows the dashboard merges (``.parquet``), until its commit."""
    return f"{RESULTS}{unit}{suffix}"


def lease(name: str) -> str:
    return f"{LEASES}{name}"


def failure(unit: str) -> str:
    return f"{FAILURES}{unit}.json"


AGGREGATOR_LEASE: Final = lease("aggregator")  # one commit at a time; expires with the other leases
