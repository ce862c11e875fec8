"""Where the model artifacts live, and how they are trusted.

A trained model is a folder: ``model.joblib`` (the scikit-learn pipeline, for research and parity
tests), ``model.json`` (the portable export the Lambdas and the browser evaluate),
``model_card.json`` (what was trained, on what, how well, and the SHA-256 of both files) and
``pitch_curve.png``. Every file is read once into memory, hashed, compared with the card, and only
then parsed: joblib unpickles code, so an unverified file is never handed to it
(``windpitch_train.pipeline.load_pipeline``: the pickle is training's, never a Lambda's).

Example:
    >>> default_model_dir().name
    'artifacts'
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Final

from . import settings
from .errors import ModelUnavailable

__all__ = ["ModelUnavailable", "check_sha256", "default_model_dir", "read_card", "verified_bytes"]

MODEL_DIR_ENV: Final = settings.MODEL_DIR.name
PIPELINE_FILE: Final = "model.joblib"
EXPORT_FILE: Final = "model.json"
CARD_FILE: Final = "model_card.json"
PLOT_FILE: Final = "pitch_curve.png"


def default_model_dir() -> Path:
    """``$WINDPITCH_MODEL_DIR``, else the ``artifacts`` folder inside the package (the layer)."""
    env = settings.MODEL_DIR.read()
    return Path(env) if env else Path(__file__).resolve().parent / "artifacts"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_card(model_dir: Path) -> dict[str, Any]:
    """The model card as a dict.

    Raises:
        ModelUnavailable: no card, or not a JSON object.
    """
    path = model_dir / CARD_FILE
    try:
        card = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ModelUnavailable(f"no model card at {path}: train one with `python -m windpitch train`") from None
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"model card {path} is unreadable: {exc}") from None
    if not isinstance(card, dict):
        raise ModelUnavailable(f"model card {path} is not a JSON object")
    return card


def verified_bytes(model_dir: Path, filename: str, expected_sha256: Any) -> bytes:
    """The bytes of ``filename``, only if their SHA-256 is the one the card records.

    Raises:
        ModelUnavailable: file missing, or its hash differs from the card's (corrupt or swapped).
    """
    path = model_dir / filename
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
    return check_sha256(data, expected_sha256, str(path))


def check_sha256(data: bytes, expected_sha256: Any, name: str) -> bytes:
    """``data``, only if its SHA-256 is ``expected_sha256`` (the card's record of the file called ``name``).

    Example:
        >>> check_sha256(b"x", sha256_bytes(b"x"), "x.json")
        b'x'

    Raises:
        ModelUnavailable: the hashes differ (a corrupt or swapped file).
    """
    actual = sha256_bytes(data)
    if not isinstance(expected_sha256, str) or actual != expected_sha256:
        raise ModelUnavailable(
            f"integrity check failed for {name}: SHA-256 {actual} does not match the model card's "
            f"{expected_sha256!r}; refusing to load it"
        )
    return data
