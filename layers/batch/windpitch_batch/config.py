"""The batch's settings, read once per invocation: each one's name, default and check live in windpitch.settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from windpitch import settings
from windpitch.detection import DetectorSettings
from windpitch.monitoring import MonitorSettings


@dataclass(frozen=True)
class BatchConfig:
    """What one run of the pipeline works with (the defaults are windpitch.settings')."""

    bucket: str
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    monitoring: MonitorSettings = field(default_factory=MonitorSettings)
    max_files: int = settings.BATCH_MAX_FILES.default
    safety_margin_ms: int = settings.BATCH_SAFETY_MARGIN_MS.default
    lease_seconds: int = settings.BATCH_LEASE_SECONDS.default
    window_days: int = settings.DASHBOARD_WINDOW_DAYS.default
    schedule_minutes: int = settings.SCHEDULE_MINUTES.default
    challenger: str | None = None  # None: the registry's pointer, models/challenger.json
    slice_lines: int = settings.BATCH_SLICE_LINES.default

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BatchConfig:
        """The function's settings (template.yaml passes them; an empty one means windpitch's default).

        Raises:
            SettingError: a setting missing or malformed, naming the variable.
        """
        return cls(
            bucket=settings.BUCKET.read(env),
            detector=detector_from_env(env),
            monitoring=MonitorSettings(
                psi_threshold=settings.MONITORING_PSI_THRESHOLD.read(env),
                window_days=settings.MONITORING_WINDOW_DAYS.read(env),
            ),
            max_files=settings.BATCH_MAX_FILES.read(env),
            safety_margin_ms=settings.BATCH_SAFETY_MARGIN_MS.read(env),
            lease_seconds=settings.BATCH_LEASE_SECONDS.read(env),
            window_days=settings.DASHBOARD_WINDOW_DAYS.read(env),
            schedule_minutes=settings.SCHEDULE_MINUTES.read(env),
            challenger=settings.CHALLENGER_VERSION.read(env) or None,
            slice_lines=settings.BATCH_SLICE_LINES.read(env),
        )


def detector_from_env(env: Mapping[str, str] | None = None) -> DetectorSettings:
    """The detector's settings the template exposes (its parameters), over the benchmark's defaults.

    Example:
        >>> detector_from_env({"DETECTOR_STEADY_THRESHOLD_DEG": "1.2"}).steady_threshold_deg
        1.2
    """
    return DetectorSettings(
        steady_threshold_deg=settings.DETECTOR_STEADY_THRESHOLD_DEG.read(env),
        pitching_threshold_deg=settings.DETECTOR_PITCHING_THRESHOLD_DEG.read(env),
        window=settings.DETECTOR_WINDOW_INTERVALS.read(env),
    )
