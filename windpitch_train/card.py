"""The model card: what was trained, on what, for which farm, how well, and the hashes of its files.

Built from named sections so each says where its numbers come from; ``windpitch.runtime`` reads
``export``/``version``/``metrics``, ``windpitch.farm`` reads ``farm``, and the dashboard, the OpenAPI
document and the CLI read the farm's fleet and limits from there.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

from windpitch import __version__
from windpitch.artifacts import EXPORT_FILE, sha256_bytes
from windpitch.farm import REFERENCE_RATED_KW
from windpitch.features import FEATURES, FEATURES_VERSION
from windpitch.golden import TOLERANCE_DEG
from windpitch.monitoring import MONITORED, MonitorSettings, calibrate, reference_bins
from windpitch.predict import predict
from windpitch.runtime import ModelInfo, PitchModel
from windpitch.schema import MODEL_INPUTS, SIGNAL_INPUTS, TARGET, TIME_FIELD, TURBINE_FIELD

from .evaluation import card_section
from .fitting import Dataset, Fitted, Hyperparameters, Split


@dataclass(frozen=True)
class CardInputs:
    """Everything a card is written from."""

    dataset: Dataset
    fitted: Fitted
    spec: dict[str, Any]
    export_bytes: bytes
    pipeline_bytes: bytes
    parity_deg: float
    split: Split
    hp: Hyperparameters
    timings: dict[str, float]


def build_card(inputs: CardInputs) -> dict[str, Any]:
    """The model card, section by section."""
    created = datetime.now(UTC).replace(microsecond=0)
    export_sha = sha256_bytes(inputs.export_bytes)
    fitted = inputs.fitted
    card: dict[str, Any] = {
        "name": "windpitch normal-behaviour pitch model",
        "version": f"{created:%Y.%m.%d}+{export_sha[:8]}",
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "sha256": sha256_bytes(inputs.pipeline_bytes),
        "export": _export_section(inputs, export_sha),
        "target": {
            "name": TARGET,
            "unit": "deg",
            "description": "blade pitch angle, 10-minute mean",
            # What the canary's model alarm compares answers with (PredictionsOutOfRangeAlarm).
            "training_range_deg": [round(float(fitted.y_train_min), 3), round(float(fitted.y_train_max), 3)],
        },
        "inputs": list(MODEL_INPUTS),
        "features": list(FEATURES),
        "features_version": FEATURES_VERSION,
        "defaults": dict(zip(MODEL_INPUTS, inputs.spec["impute"], strict=True)),
        "power_curve": inputs.spec["power_curve"],
        "estimator": "mean of HistGradientBoostingRegressor(squared_error) and (absolute_error)",
        "hyperparameters": asdict(inputs.hp),
        "farm": inputs.dataset.farm.as_card(),
        "monitoring": _monitoring_section(inputs),
        "golden": _golden_section(inputs),
        "data": _data_section(inputs),
        "data_sha256": inputs.dataset.sha256,
        "split": asdict(inputs.split),
        "policy": _POLICY,
        "regimes": _regimes_section(fitted.rated_wind_ms, inputs.dataset.farm.as_card()),
        "rated_wind_speed_ms": fitted.rated_wind_ms,
        "metrics": {"test": card_section(fitted.metrics)},
        "baseline": {
            "recipe": "RandomForestRegressor(n_estimators=1, max_depth=10) on raw columns + "
            "year/month/season, missing values filled with 0 (the seed's)",
            "test": card_section(fitted.baseline_metrics),
        },
        "libraries": _libraries(),
        "timings_s": dict(inputs.timings),  # writing is still under way
    }
    card["notes"] = regime_notes(fitted.metrics, fitted.baseline_metrics)
    return card


_POLICY = {
    "impossible_targets": "rows with measured pitch outside [-10, 100] deg are sensor faults: "
    "excluded from training and from evaluation",
    "out_of_range_inputs": "rows with a model input outside its range (the farm's limits for its turbine) are "
    "excluded (the API refuses such inputs)",
    "missing_inputs": "P_avg from the training power curve (median power per 0.5 m/s wind bin) when "
    "Ws_avg is known; every other input from its training median; never forward-filled",
}


def _golden_section(inputs: CardInputs) -> dict[str, Any]:
    """Four held-out rows per band of rated power, and what the exported model answers for them."""
    frame = inputs.fitted.held_out
    rated = max(inputs.dataset.farm.turbines.values(), default=REFERENCE_RATED_KW)
    share = frame["P_avg"].to_numpy(np.float64) / rated
    rng = np.random.default_rng(0)
    picked: list[int] = []
    for low, high in ((-1.0, 0.0), (0.0, 0.05), (0.05, 0.25), (0.25, 0.6), (0.6, 0.9), (0.9, 2.0)):
        band = np.flatnonzero((share > low) & (share <= high))
        picked += sorted(rng.choice(band, size=min(4, len(band)), replace=False).tolist()) if len(band) else []
    columns = [c for c in (TURBINE_FIELD, *SIGNAL_INPUTS) if c in frame]
    records = []
    for i in picked:
        row = frame.iloc[i]
        record = {
            c: (row[c] if c == TURBINE_FIELD else float(row[c]))
            for c in columns
            if c == TURBINE_FIELD or np.isfinite(row[c])
        }
        record[TIME_FIELD] = row[TIME_FIELD].isoformat()
        records.append(record)
    runtime = PitchModel(json.loads(inputs.export_bytes), ModelInfo("", "", "", "", {}), inputs.dataset.farm)
    answers = [r.as_dict().get("pitch_deg") for r in predict(records, runtime)]
    return {"records": records, "expected_pitch_deg": answers, "tolerance_deg": TOLERANCE_DEG}


def _monitoring_section(inputs: CardInputs) -> dict[str, Any]:
    """Each monitored input's training distribution in deciles (and per calendar month): what live data is
    compared with (PSI); and each input's threshold, calibrated on the held-out test period's windows."""
    x, held_out = inputs.fitted.x_train, inputs.fitted.x_test
    month = MODEL_INPUTS.index("month")
    reference = {name: reference_bins(x[:, MODEL_INPUTS.index(name)], x[:, month]) for name in MONITORED}
    calibration = calibrate(
        reference,
        {name: held_out[:, MODEL_INPUTS.index(name)] for name in MONITORED},
        inputs.fitted.test_days,
        held_out[:, month].astype(np.int64),
        window_days=MonitorSettings.window_days,
    )
    return {
        "reference": reference,
        "period": {"start": inputs.split.train_start, "end": inputs.split.train_end},
        "calibration": {**calibration, "period": {"start": inputs.split.test_start, "end": inputs.split.test_end}},
    }


def _export_section(inputs: CardInputs, export_sha: str) -> dict[str, Any]:
    spec = inputs.spec
    return {
        "file": EXPORT_FILE,
        "sha256": export_sha,
        "format": spec["format"],
        "max_abs_diff_vs_sklearn_test_deg": inputs.parity_deg,
        "trees": sum(e["feature"]["shape"][0] for e in spec["ensembles"]),
        "depth": spec["depth"],
    }


def _data_section(inputs: CardInputs) -> dict[str, Any]:
    report, fitted = inputs.dataset.report, inputs.fitted
    return {
        "file": inputs.dataset.path.name,
        "data_sha256": inputs.dataset.sha256,
        "shape": report.shape,
        "rows": report.rows,
        "bad_timestamps": report.bad_timestamps,
        "bad_numbers": report.bad_numbers,
        "excluded": fitted.excluded,
        "train_rows": fitted.train_rows,
        "test_rows": fitted.test_rows,
        "source": "ENGIE, La Haute Borne open data (Etalab Open Licence 2.0), via NREL OpenOA 3.2"
        if report.shape == "openoa" and inputs.dataset.path.name.startswith("la-haute-borne")
        else "the operator's SCADA export",
    }


def _regimes_section(rated_ws: float, farm: dict[str, Any]) -> dict[str, str]:
    ratings = sorted({spec["rated_power_kw"] for spec in farm["turbines"].values()})
    rated = "/".join(f"{r:g}" for r in ratings) or "the reference"
    return {
        "producing": "P_avg > 0",
        "stopped": "P_avg <= 0",
        "above_rated": f"Ws_avg >= {rated_ws:g} m/s (lowest 0.5 m/s bin whose median power "
        f"reaches 95% of the fleet's median rated power, {rated} kW, in training)",
    }


def _libraries() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "windpitch": __version__,
    }


def regime_notes(metrics: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Plain statements of where the model does not beat the seed recipe (none is hidden)."""
    notes = []
    for regime, ours in metrics.items():
        theirs = baseline[regime]
        worse = [k for k in ("rmse", "mae") if ours["n"] and ours[k] >= theirs[k]]
        if worse:
            figures = ", ".join(f"{k.upper()} {ours[k]:.3f} vs {theirs[k]:.3f}" for k in worse)
            notes.append(f"{regime} ({ours['n']} test rows): the seed recipe does better ({figures} deg)")
    return notes
