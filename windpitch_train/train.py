"""``python -m windpitch train``: learn the farm, fit, evaluate against the seed's recipe, export, write the card.

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

import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor, VotingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from tqdm import tqdm

from windpitch.artifacts import CARD_FILE, EXPORT_FILE, PIPELINE_FILE, PLOT_FILE, default_model_dir
from windpitch.farm import REFERENCE_RATED_KW, Farm
from windpitch.features import transform
from windpitch.imputation import POWER_CURVE_BIN_MS, impute, learn_power_curve
from windpitch.runtime import ModelInfo, PitchModel
from windpitch.schema import MODEL_INPUTS, SIGNAL_INPUTS, TARGET, TIME_FIELD
from windpitch_frames.inputs import frame_inputs
from windpitch_frames.loading import load_scada
from windpitch_frames.quality import out_of_range

from .card import CardInputs, build_card, regime_notes
from .datasets import content_sha256, resolve_data_path
from .evaluation import by_regime, evaluate, rated_wind_speed, regimes
from .export import export_pipeline
from .farm import learn_farm, read_asset_table
from .fitting import Dataset, Fitted, Hyperparameters, Split

# Split and Hyperparameters are defined in .fitting (which .card shares); callers keep importing them from here.
__all__ = [
    "Hyperparameters",
    "Split",
    "clean",
    "regime_notes",
    "seed_recipe",
    "seed_recipe_features",
    "summary",
    "train",
]

# The export must reproduce scikit-learn to this many degrees on the whole test period.
PARITY_TOLERANCE_DEG = 1e-9


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


def clean(frame: pd.DataFrame, farm: Farm | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop rows the model must not learn from (and that evaluation must not count), with counts.

    Out of range is the rulebook's verdict with the farm's limits (each turbine's rated power).
    """
    excluded: dict[str, int] = {}
    no_target = frame[TARGET].isna()
    excluded["no_measured_pitch"] = int(no_target.sum())
    frame = frame[~no_target]
    reason = out_of_range(frame, farm, [TARGET, *SIGNAL_INPUTS])
    target_fault = reason.str.startswith(TARGET)
    excluded["pitch_out_of_range"] = int(target_fault.sum())
    excluded["input_out_of_range"] = int(((reason != "") & ~target_fault).sum())
    return frame[reason == ""].reset_index(drop=True), excluded


def load_dataset(data: str | Path | None, assets: str | Path | None = None) -> Dataset:
    """Load the SCADA data and learn its farm (from the asset table when given)."""
    path = resolve_data_path(data)
    frame, report = load_scada(path)
    table = read_asset_table(assets) if assets is not None else None
    farm = learn_farm(frame, frame_inputs(frame)[:, MODEL_INPUTS.index("Ws_avg")], table)
    return Dataset(path, frame, report, content_sha256(path), farm)


def fit_and_evaluate(dataset: Dataset, split: Split, hp: Hyperparameters) -> Fitted:
    """Clean with the farm's limits, split by time, fit the model and the seed's recipe, evaluate both."""
    usable, excluded = clean(dataset.frame, dataset.farm)
    train_mask, test_mask = split.masks(usable[TIME_FIELD])
    train_rows, test_rows = usable[train_mask.to_numpy()], usable[test_mask.to_numpy()]
    if len(train_rows) == 0 or len(test_rows) == 0:
        raise ValueError(f"empty split: {len(train_rows)} training and {len(test_rows)} test rows for {split}")
    x_train, x_test = frame_inputs(train_rows), frame_inputs(test_rows)
    y_train, y_test = train_rows[TARGET].to_numpy(), test_rows[TARGET].to_numpy()
    baseline = seed_recipe(hp.random_state).fit(seed_recipe_features(train_rows), y_train)
    pipeline = build_pipeline(hp).fit(x_train, y_train)
    rated_ws = rated_wind_speed(train_rows["P_avg"].to_numpy(), x_train[:, 1], fleet_rated_kw(dataset.farm))
    masks = regimes(test_rows["P_avg"].to_numpy(), x_test[:, 1], rated_ws)
    predicted = pipeline.predict(x_test)
    return Fitted(
        pipeline=pipeline,
        rated_wind_ms=rated_ws,
        metrics=evaluate(y_test, predicted, masks),
        baseline_metrics=evaluate(y_test, baseline.predict(seed_recipe_features(test_rows)), masks),
        excluded=excluded,
        train_rows=len(train_rows),
        test_rows=len(test_rows),
        test_wind=x_test[:, 1],
        test_pitch=y_test,
        test_predicted=predicted,
        x_test=x_test,
        x_train=x_train,
        held_out=test_rows.reset_index(drop=True),
        y_train_min=float(np.min(y_train)),
        y_train_max=float(np.max(y_train)),
        test_days=test_rows[TIME_FIELD]
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .to_numpy("datetime64[D]")
        .astype(np.int64),
    )


def fleet_rated_kw(farm: Farm) -> float:
    """The rating the regimes are defined against: the fleet's median (one number for a mixed fleet)."""
    return float(np.median(list(farm.turbines.values()))) if farm.turbines else REFERENCE_RATED_KW


def export_checked(fitted: Fitted) -> tuple[dict[str, Any], bytes, float]:
    """The portable export, its bytes, and its largest difference from scikit-learn on the test period.

    Raises:
        RuntimeError: the export differs by more than :data:`PARITY_TOLERANCE_DEG`.
    """
    spec = export_pipeline(fitted.pipeline)
    export_bytes = json.dumps(spec, separators=(",", ":"), allow_nan=False).encode()
    runtime = PitchModel(json.loads(export_bytes), ModelInfo("", "", "", "", {}))
    parity = float(np.max(np.abs(runtime.predict_inputs(fitted.x_test) - fitted.test_predicted)))
    if not parity <= PARITY_TOLERANCE_DEG:
        raise RuntimeError(f"exported model differs from scikit-learn by {parity:g}° on the test period")
    return spec, export_bytes, parity


def train(  # noqa: PLR0917 - data, out, split, hyperparameters: the order every caller already uses
    data: str | Path | None = None,
    out_dir: str | Path | None = None,
    split: Split = Split(),  # noqa: B008 - a frozen dataclass (.fitting): an immutable default
    hp: Hyperparameters = Hyperparameters(),  # noqa: B008 - frozen too
    progress: bool = True,
    assets: str | Path | None = None,
) -> dict[str, Any]:
    """Train, evaluate, export and write the artifacts; return the model card.

    ``assets``: the farm's asset table (turbine names and rated power); without it the fleet is the
    data's turbines and rated power is learned from the power curve.
    """
    out = Path(out_dir) if out_dir else default_model_dir()
    steps = Steps(progress)
    with steps("load data and learn the farm"):
        dataset = load_dataset(data, assets)
    with steps("fit and evaluate"):
        fitted = fit_and_evaluate(dataset, split, hp)
    with steps("export and check parity"):
        spec, export_bytes, parity = export_checked(fitted)
    with steps("write artifacts"):
        with tempfile.TemporaryDirectory() as tmp:
            joblib.dump(fitted.pipeline, Path(tmp) / PIPELINE_FILE, compress=3)
            pipeline_bytes = (Path(tmp) / PIPELINE_FILE).read_bytes()
        card = build_card(
            CardInputs(dataset, fitted, spec, export_bytes, pipeline_bytes, parity, split, hp, steps.timings)
        )
        out.mkdir(parents=True, exist_ok=True)
        _write_atomic(out / PIPELINE_FILE, pipeline_bytes)
        _write_atomic(out / EXPORT_FILE, export_bytes)
        _plot(out / PLOT_FILE, fitted.test_wind, fitted.test_pitch, fitted.test_predicted, card["version"])
        # The card goes last: a reader that finds it finds the files it vouches for.
        _write_atomic(out / CARD_FILE, (json.dumps(card, indent=2) + "\n").encode())
    steps.close()
    return card


class Steps:
    """A progress bar over named steps, timing each (the card records the timings)."""

    def __init__(self, progress: bool) -> None:
        self.bar = tqdm(total=4, desc="train", unit="step", disable=not progress, file=sys.stderr)
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.bar.set_postfix_str(name)
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 2)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


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
