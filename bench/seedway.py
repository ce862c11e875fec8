"""The seed's way of serving, rebuilt for comparison: its recipe fitted on the same training period, and
its request path (a one-row pandas DataFrame, its feature preparation, scikit-learn ``predict``).

Imported by the benchmarks (bench/*.py); never by windpitch itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from windpitch.schema import TARGET, TIME_FIELD
from windpitch_frames.loading import load_scada
from windpitch_train.datasets import resolve_data_path
from windpitch_train.train import Split, clean, seed_recipe, seed_recipe_features

ROOT = Path(__file__).resolve().parents[1]


def fit_seed_model(data: str | None = None) -> Any:
    """The seed's RandomForest recipe, fitted on the training period of the real data."""
    frame, _ = load_scada(resolve_data_path(data))
    usable, _ = clean(frame)
    train_mask, _ = Split().masks(usable[TIME_FIELD])
    train = usable[train_mask.to_numpy()]
    return seed_recipe().fit(seed_recipe_features(train), train[TARGET].to_numpy())


def seed_row() -> dict[str, Any]:
    """The seed's example row, as its Flask route built it: every field, None where unknown."""
    row: dict[str, Any] = json.loads((ROOT / "events" / "seed_record.json").read_text())
    return row


def seed_predict(model: Any, records: list[dict[str, Any]]) -> list[float]:
    """The seed's request path: records (on the seed's row) → DataFrame → its preparation → ``predict``."""
    template = seed_row()
    frame = pd.DataFrame([{**template, **record} for record in records])
    if TIME_FIELD in frame:
        frame[TIME_FIELD] = pd.to_datetime(frame[TIME_FIELD], utc=True)
    return [float(v) for v in model.predict(seed_recipe_features(frame))]
