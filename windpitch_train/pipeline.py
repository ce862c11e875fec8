"""The scikit-learn pipeline a model was trained as (``model.joblib``): research and parity tests only.

The Lambdas evaluate the JSON export (:mod:`windpitch.runtime`); this is the training side's view of the
same model, unpickled only after its SHA-256 matches the model card.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import joblib

from windpitch.artifacts import PIPELINE_FILE, default_model_dir, read_card, verified_bytes


def load_pipeline(model_dir: Path | None = None) -> Any:
    """The scikit-learn pipeline from ``model.joblib``, unpickled only after its hash matches the card.

    Training side only (needs joblib and scikit-learn); the Lambdas use the JSON export.

    Raises:
        ModelUnavailable: no card, or the file's SHA-256 differs from the card's.
    """
    directory = model_dir or default_model_dir()
    card = read_card(directory)
    data = verified_bytes(directory, PIPELINE_FILE, card.get("sha256"))
    return joblib.load(io.BytesIO(data))  # verified above: this is the file training wrote
