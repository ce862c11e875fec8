"""windpitch: a normal-behaviour model of wind-turbine blade pitch, served three ways.

The embedded model, in-process and without a network:

    >>> import windpitch                                          # doctest: +SKIP
    >>> windpitch.predict({"Ws1_avg": 10})[0].pitch_deg           # doctest: +SKIP

This package is the serving core, what every Lambda imports (numpy only, no AWS): the schema and
the rulebook (``schema``, ``rules``, ``farm``, ``records``), the model (``features``, ``imputation``,
``runtime``, ``artifacts``, ``predict``), anomalies and errors. Around it, importing it and never
imported by it (``make test`` checks the contracts, see pyproject.toml):

* adapters: ``windpitch_api`` (HTTP), ``windpitch_batch`` (S3), ``windpitch_cli`` (the command line);
* the frame path: ``windpitch_frames`` (pandas: loading SCADA files, the rulebook over columns, scoring);
* training: ``windpitch_train`` (scikit-learn; never shipped to a Lambda).
"""

from .errors import DataError, FieldError, InvalidRecord, ModelUnavailable, StoreUnavailable, WindpitchError
from .farm import Farm
from .predict import Prediction, Rejected, Result, load_model, predict
from .runtime import PitchModel

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Farm",
    "FieldError",
    "InvalidRecord",
    "ModelUnavailable",
    "PitchModel",
    "Prediction",
    "Rejected",
    "Result",
    "StoreUnavailable",
    "WindpitchError",
    "__version__",
    "load_model",
    "predict",
]
