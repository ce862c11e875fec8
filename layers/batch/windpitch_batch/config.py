"""The batch job's settings, from the function's environment (template.yaml) with defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from windpitch.detection import DetectorSettings
from windpitch.monitoring import MonitorSettings


@dataclass(frozen=True)
class BatchConfig:
    bucket: str
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    monitoring: MonitorSettings = field(default_factory=MonitorSettings)
    max_files: int = 200  # per invocation; the rest is picked up by the next run
    safety_margin_ms: int = 120_000  # stop taking files when less time than this remains
    lease_seconds: int = 900  # a lease older than a Lambda's longest run is stale
    window_days: int = 7  # the recent series each turbine's dashboard file holds
    schedule_minutes: int = 10
    # The challenger to score in shadow: a published version (template parameter ChallengerVersion); None reads
    # the registry's pointer, models/challenger.json (python -m windpitch model publish --challenger).
    challenger: str | None = None
    # Data lines per unit of the fan-out: a larger file is scored in slices of this many lines, so a worker's
    # memory is bounded (about 320 MB at 50,000 lines of 138 columns) and one file spreads over many workers.
    slice_lines: int = 50_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> BatchConfig:
        return cls(
            bucket=env["WINDPITCH_BUCKET"],
            detector=detector_from_env(env),
            monitoring=MonitorSettings(
                psi_threshold=float(env.get("MONITORING_PSI_THRESHOLD", MonitorSettings.psi_threshold)),
                window_days=int(env.get("MONITORING_WINDOW_DAYS", MonitorSettings.window_days)),
            ),
            max_files=int(env.get("BATCH_MAX_FILES", 200)),
            safety_margin_ms=int(env.get("BATCH_SAFETY_MARGIN_MS", 120_000)),
            window_days=int(env.get("DASHBOARD_WINDOW_DAYS", 7)),
            schedule_minutes=int(env.get("SCHEDULE_MINUTES", 10)),
            challenger=env.get("CHALLENGER_VERSION") or None,
            slice_lines=int(env.get("BATCH_SLICE_LINES", 50_000)),
        )


def detector_from_env(env: Mapping[str, str]) -> DetectorSettings:
    """The detector's settings the template exposes (its parameters), over the benchmark's defaults.

    Example:
        >>> detector_from_env({"DETECTOR_STEADY_THRESHOLD_DEG": "1.2"}).steady_threshold_deg
        1.2
    """
    default = DetectorSettings()
    return DetectorSettings(
        steady_threshold_deg=float(env.get("DETECTOR_STEADY_THRESHOLD_DEG", default.steady_threshold_deg)),
        pitching_threshold_deg=float(env.get("DETECTOR_PITCHING_THRESHOLD_DEG", default.pitching_threshold_deg)),
        window=int(env.get("DETECTOR_WINDOW_INTERVALS", default.window)),
    )
