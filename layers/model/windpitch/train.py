"""``python -m windpitch train``: fit, evaluate against the seed's recipe, export, and write the card.

The model: impute missing inputs (power from the learned power curve, the rest from training
medians, :mod:`windpitch.imputation`) → :func:`windpitch.features.transform` →
the average of two gradient-boosted tree ensembles of fixed depth, one fitted to the squared error
(the conditional mean) and one to the absolute error (the conditional median). Pitch is bimodal
when a turbine is stopped (about 45° or 90° by controller state) and nearly constant while it
produces, with rare transients; the mean model hedges the transients (RMSE), the median model is
exact in the common case (MAE), and their average beats the seed on both.

Training policy for impossible targets: rows whose measured pitch lies outside the schema's
plausible range (-10…100°; the data holds -121° to 263°) are sensor faults, not behaviour, and are
left out of training *and* evaluation, as are rows with any model input out of range (an outdoor
temperature of -273.2 °C) — the API would refuse those inputs anyway. The card counts them.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor, VotingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from tqdm import tqdm

from . import __version__
from .artifacts import CARD_FILE, EXPORT_FILE, PIPELINE_FILE, PLOT_FILE, default_model_dir, sha256_bytes
from .data import content_sha256, frame_inputs, load_scada, out_of_range, resolve_data_path
from .evaluation import by_regime, card_section, evaluate, rated_wind_speed, regimes
from .export import export_pipeline
from .features import FEATURES, FEATURES_VERSION, transform
from .imputation import POWER_CURVE_BIN_MS, impute, learn_power_curve
from .runtime import ModelInfo, PitchModel
from .schema import MODEL_INPUTS, RATED_POWER_KW, SIGNAL_INPUTS, TARGET, TIME_FIELD

# The export must reproduce scikit-learn to this many degrees on the whole test period.
PARITY_TOLERANCE_DEG = 1e-9


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


class PowerCurveImputer(TransformerMixin, BaseEstimator):
    """Learns the training medians and the power curve; fills NaN with :func:`windpitch.imputation.impute`."""

    def __init__(self, bin_width: float = POWER_CURVE_BIN_MS) -> None:
        self.bin_width = bin_width

    def fit(self, x: np.ndarray, y: object = None) -> PowerCurveImputer:
        x = np.asarray(x, dtype=np.float64)
        self.statistics_ = np.nanmedian(x, axis=0)
        p, ws = MODEL_INPUTS.index("P_avg"), MODEL_INPUTS.index("Ws_avg")
        self.power_curve_ = learn_power_curve(x[:, p], x[:, ws], self.bin_width)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return impute(np.asarray(x, dtype=np.float64), self.statistics_, self.power_curve_, self.bin_width)


def build_pipeline(hp: Hyperparameters) -> Pipeline:
    """The one pipeline that turns model inputs into pitch, at training and (exported) serving."""

    def boosted(loss: str) -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            loss=loss,
            max_iter=hp.max_iter,
            max_depth=hp.max_depth,
            max_leaf_nodes=None,
            learning_rate=hp.learning_rate,
            min_samples_leaf=hp.min_samples_leaf,
            early_stopping=False,
            random_state=hp.random_state,
        )

    return Pipeline(
        [
            ("impute", PowerCurveImputer()),
            ("features", FunctionTransformer(transform)),
            ("model", VotingRegressor([("mean", boosted("squared_error")), ("median", boosted("absolute_error"))])),
        ]
    )


def seed_recipe_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The seed's preparation: raw columns plus year, month and season, missing values as 0."""
    times = frame[TIME_FIELD].dt.tz_convert("UTC")
    table = frame[list(SIGNAL_INPUTS)].copy()
    table["year"] = times.dt.year
    table["month"] = times.dt.month
    table["season"] = times.dt.month % 12 // 3
    return table.fillna(0)


def seed_recipe(random_state: int = 0) -> RandomForestRegressor:
    """The seed's model, as it trained it."""
    return RandomForestRegressor(n_estimators=1, max_depth=10, random_state=random_state)


def clean(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop rows the model must not learn from (and that evaluation must not count), with counts."""
    excluded: dict[str, int] = {}
    no_target = frame[TARGET].isna()
    excluded["no_measured_pitch"] = int(no_target.sum())
    frame = frame[~no_target]
    reason = out_of_range(frame[[TARGET, *[c for c in SIGNAL_INPUTS if c in frame]]])
    target_fault = reason.str.startswith(TARGET)
    excluded["pitch_out_of_range"] = int(target_fault.sum())
    excluded["input_out_of_range"] = int(((reason != "") & ~target_fault).sum())
    return frame[reason == ""].reset_index(drop=True), excluded


def train(
    data: str | Path | None = None,
    out_dir: str | Path | None = None,
    split: Split = Split(),
    hp: Hyperparameters = Hyperparameters(),
    progress: bool = True,
) -> dict[str, Any]:
    """Train, evaluate, export and write the artifacts; return the model card."""
    out = Path(out_dir) if out_dir else default_model_dir()
    steps = [
        "load data",
        "clean and split",
        "fit seed recipe",
        "fit model",
        "evaluate",
        "export and check parity",
        "write artifacts",
    ]
    bar = tqdm(total=len(steps), desc="train", unit="step", disable=not progress, file=sys.stderr)
    timings: dict[str, float] = {}

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        timings[name] = time.perf_counter()

    def done(name: str) -> None:
        timings[name] = round(time.perf_counter() - timings[name], 2)
        bar.update(1)

    step(steps[0])
    path = resolve_data_path(data)
    frame, report = load_scada(path)
    data_sha = content_sha256(path)
    done(steps[0])

    step(steps[1])
    usable, excluded = clean(frame)
    train_mask, test_mask = split.masks(usable[TIME_FIELD])
    train_rows, test_rows = usable[train_mask.to_numpy()], usable[test_mask.to_numpy()]
    if len(train_rows) == 0 or len(test_rows) == 0:
        raise ValueError(f"empty split: {len(train_rows)} training and {len(test_rows)} test rows for {split}")
    x_train, x_test = frame_inputs(train_rows), frame_inputs(test_rows)
    y_train, y_test = train_rows[TARGET].to_numpy(), test_rows[TARGET].to_numpy()
    done(steps[1])

    step(steps[2])
    baseline = seed_recipe(hp.random_state).fit(seed_recipe_features(train_rows), y_train)
    done(steps[2])

    step(steps[3])
    pipeline = build_pipeline(hp).fit(x_train, y_train)
    done(steps[3])

    step(steps[4])
    rated_ws = rated_wind_speed(train_rows["P_avg"].to_numpy(), x_train[:, 1], RATED_POWER_KW)
    masks = regimes(test_rows["P_avg"].to_numpy(), x_test[:, 1], rated_ws)
    predicted = pipeline.predict(x_test)
    metrics = evaluate(y_test, predicted, masks)
    baseline_metrics = evaluate(y_test, baseline.predict(seed_recipe_features(test_rows)), masks)
    done(steps[4])

    step(steps[5])
    spec = export_pipeline(pipeline)
    export_bytes = json.dumps(spec, separators=(",", ":"), allow_nan=False).encode()
    runtime = PitchModel(json.loads(export_bytes), ModelInfo("", "", "", "", {}))
    parity = float(np.max(np.abs(runtime.predict_inputs(x_test) - predicted)))
    if not parity <= PARITY_TOLERANCE_DEG:
        raise RuntimeError(f"exported model differs from scikit-learn by {parity:g}° on the test period")
    done(steps[5])

    step(steps[6])
    created = datetime.now(UTC).replace(microsecond=0)
    export_sha = sha256_bytes(export_bytes)
    with tempfile.TemporaryDirectory() as tmp:
        joblib.dump(pipeline, Path(tmp) / PIPELINE_FILE, compress=3)
        pipeline_bytes = (Path(tmp) / PIPELINE_FILE).read_bytes()
    card: dict[str, Any] = {
        "name": "windpitch normal-behaviour pitch model",
        "version": f"{created:%Y.%m.%d}+{export_sha[:8]}",
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "sha256": sha256_bytes(pipeline_bytes),
        "export": {
            "file": EXPORT_FILE,
            "sha256": export_sha,
            "format": spec["format"],
            "max_abs_diff_vs_sklearn_test_deg": parity,
            "trees": sum(e["feature"]["shape"][0] for e in spec["ensembles"]),
            "depth": spec["depth"],
        },
        "target": {"name": TARGET, "unit": "deg", "description": "blade pitch angle, 10-minute mean"},
        "inputs": list(MODEL_INPUTS),
        "features": list(FEATURES),
        "features_version": FEATURES_VERSION,
        "defaults": dict(zip(MODEL_INPUTS, spec["impute"], strict=True)),
        "power_curve": spec["power_curve"],
        "estimator": "mean of HistGradientBoostingRegressor(squared_error) and (absolute_error)",
        "hyperparameters": asdict(hp),
        "data": {
            "file": path.name,
            "data_sha256": data_sha,
            "shape": report.shape,
            "rows": report.rows,
            "bad_timestamps": report.bad_timestamps,
            "bad_numbers": report.bad_numbers,
            "excluded": excluded,
            "train_rows": len(train_rows),
            "test_rows": len(test_rows),
            "source": "ENGIE, La Haute Borne open data (Etalab Open Licence 2.0), via NREL OpenOA 3.2",
        },
        "data_sha256": data_sha,
        "split": asdict(split),
        "policy": {
            "impossible_targets": "rows with measured pitch outside [-10, 100] deg are sensor faults: "
            "excluded from training and from evaluation",
            "out_of_range_inputs": "rows with a model input outside its schema range are excluded "
            "(the API refuses such inputs)",
            "missing_inputs": "P_avg from the training power curve (median power per 0.5 m/s wind bin) when "
            "Ws_avg is known; every other input from its training median; never forward-filled",
        },
        "regimes": {
            "producing": "P_avg > 0",
            "stopped": "P_avg <= 0",
            "above_rated": f"Ws_avg >= {rated_ws:g} m/s (lowest 0.5 m/s bin whose median power "
            f"reaches 95% of {RATED_POWER_KW:g} kW in training)",
        },
        "rated_wind_speed_ms": rated_ws,
        "metrics": {"test": card_section(metrics)},
        "baseline": {
            "recipe": "RandomForestRegressor(n_estimators=1, max_depth=10) on raw columns + "
            "year/month/season, missing values filled with 0 (the seed's)",
            "test": card_section(baseline_metrics),
        },
        "libraries": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__,
            "joblib": joblib.__version__,
            "windpitch": __version__,
        },
        "timings_s": {k: v for k, v in timings.items() if k != steps[6]},  # writing is still under way
    }
    card["notes"] = regime_notes(metrics, baseline_metrics)
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / PIPELINE_FILE, pipeline_bytes)
    _write_atomic(out / EXPORT_FILE, export_bytes)
    _plot(out / PLOT_FILE, x_test[:, 1], y_test, predicted, card["version"])
    # The card goes last: a reader that finds it finds the files it vouches for.
    _write_atomic(out / CARD_FILE, (json.dumps(card, indent=2) + "\n").encode())
    done(steps[6])
    bar.close()
    return card


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


def summary(card: dict[str, Any]) -> str:
    """The evaluation as a small text table: model beside the seed recipe, per regime."""
    lines = [
        f"model {card['version']}  (test {card['split']['test_start']}…{card['split']['test_end']})",
        f"{'regime':12s} {'n':>7s} {'':6s} {'RMSE':>7s} {'MAE':>7s} {'median':>7s} {'p90':>7s} {'≤1°':>6s}",
    ]
    seed = by_regime(card["baseline"]["test"])
    for regime, stats in by_regime(card["metrics"]["test"]).items():
        for who, s in (("model", stats), ("seed", seed[regime])):
            if not s["n"]:
                continue
            lines.append(
                f"{regime if who == 'model' else '':12s} {s['n'] if who == 'model' else '':>7} {who:6s} "
                f"{s['rmse']:7.3f} {s['mae']:7.3f} {s['median_abs']:7.3f} {s['p90_abs']:7.3f} "
                f"{s['within_1deg']:6.1%}"
            )
    lines += [f"note: {note}" for note in card.get("notes", [])]
    return "\n".join(lines)


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _plot(path: Path, wind: np.ndarray, measured: np.ndarray, predicted: np.ndarray, version: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    pick = rng.choice(len(wind), size=min(len(wind), 30_000), replace=False)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    ax.scatter(wind[pick], measured[pick], s=3, alpha=0.25, color="#1f77b4", label="measured", rasterized=True)
    ax.scatter(wind[pick], predicted[pick], s=3, alpha=0.35, color="#d62728", label="expected (model)", rasterized=True)
    ax.set_xlabel("wind speed Ws_avg (m/s)")
    ax.set_ylabel("pitch angle Ba_avg (°)")
    ax.set_title(f"Pitch against wind speed, test period — model {version}")
    ax.set_ylim(-10, 100)
    ax.grid(alpha=0.3)
    ax.legend(markerscale=4, loc="upper left")
    fig.tight_layout()
    partial = path.with_name(path.name + ".partial.png")
    fig.savefig(partial)
    plt.close(fig)
    partial.replace(path)
