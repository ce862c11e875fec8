"""windpitch: a normal-behaviour model of wind-turbine blade pitch, served three ways.

The embedded model, in-process and without a network:

    >>> import windpitch                                          # doctest: +SKIP
    >>> windpitch.predict({"Ws1_avg": 10})[0].pitch_deg           # doctest: +SKIP

This package is what the shared Lambda layer ships. Its serving side (``schema``, ``records``,
``features``, ``runtime``, ``predict``) needs numpy only; training (``train``, ``export``, ``data``)
needs the development dependencies and is never imported by the Lambdas.
"""

from .artifacts import ModelUnavailable
from .predict import Prediction, Rejected, Result, load_model, predict
from .records import FieldError, InvalidRecord
from .runtime import PitchModel

__version__ = "0.1.0"

__all__ = [
    "FieldError",
    "InvalidRecord",
    "ModelUnavailable",
    "PitchModel",
    "Prediction",
    "Rejected",
    "Result",
    "__version__",
    "load_model",
    "predict",
]
