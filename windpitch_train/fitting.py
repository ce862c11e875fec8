"""What fitting is asked (the split, the hyperparameters), what it fits on (the dataset) and what it produces.

:mod:`.train` makes these and :mod:`.card` writes them down: they live here so that neither of the two
imports the other (the import contracts in pyproject.toml forbid a cycle inside a package).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from windpitch.farm import Farm
from windpitch_frames.loading import LoadReport


@dataclass(frozen=True)
class Split:
    """Time-based split, inclusive UTC dates: the test period is strictly after training."""

    train_start: str = "2014-01-01"
    train_end: str = "2015-06-30"
    test_start: str = "2015-07-01"
    test_end: str = "2015-12-31"

    def masks(self, times: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Row masks of the training and test periods."""
        if self.test_start <= self.train_end:
            raise ValueError(f"test period {self.test_start} must start after training ends {self.train_end}")

        def between(first: str, last: str) -> pd.Series:
            start = pd.Timestamp(first, tz="UTC")
            end = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
            return (times >= start) & (times < end)

        return between(self.train_start, self.train_end), between(self.test_start, self.test_end)


@dataclass(frozen=True)
class Hyperparameters:
    """Chosen on the training period; depth is fixed so the runtime evaluates complete trees."""

    max_iter: int = 100
    max_depth: int = 7
    learning_rate: float = 0.1
    min_samples_leaf: int = 50
    random_state: int = 0


@dataclass
class Dataset:
    """The training data as loaded: where from, what it held, and the farm it describes."""

    path: Path
    frame: pd.DataFrame
    report: LoadReport
    sha256: str
    farm: Farm


@dataclass
class Fitted:
    """What fitting and evaluating produced, for the export and the card."""

    pipeline: Pipeline
    rated_wind_ms: float
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    excluded: dict[str, int]
    train_rows: int
    test_rows: int
    test_wind: np.ndarray
    test_pitch: np.ndarray
    test_predicted: np.ndarray
    x_test: np.ndarray
    x_train: np.ndarray
    test_days: np.ndarray  # days since the epoch of each test row (monitoring's calibration windows)
    held_out: pd.DataFrame  # the test rows themselves (golden records are picked from them)
    y_train_min: float
    y_train_max: float
