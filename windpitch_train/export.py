"""Export the fitted scikit-learn pipeline to the portable ``model.json`` (training side).

The pipeline must be ``PowerCurveImputer → FunctionTransformer(features.transform) →
VotingRegressor(HistGradientBoostingRegressor, …)`` with every ensemble grown to a fixed
``max_depth``. Each tree becomes a complete binary tree of that depth (see
:mod:`windpitch.runtime`). Reading ``_predictors`` and ``_baseline_prediction`` relies on
scikit-learn's internals, which is why scikit-learn is pinned and parity is tested to 1e-9 degrees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor, VotingRegressor
from sklearn.pipeline import Pipeline

from windpitch.features import FEATURES, FEATURES_VERSION
from windpitch.runtime import FORMAT, PAD_THRESHOLD, encode_array
from windpitch.schema import MODEL_INPUTS


def export_pipeline(pipeline: Pipeline) -> dict[str, Any]:
    """The portable model spec (JSON-able) for a fitted pipeline."""
    imputer = pipeline.named_steps["impute"]
    voting = pipeline.named_steps["model"]
    if not hasattr(imputer, "power_curve_") or not isinstance(voting, VotingRegressor):
        raise TypeError("expected impute=PowerCurveImputer and model=VotingRegressor steps")
    depths = {est.max_depth for est in voting.estimators_}
    if len(depths) != 1 or None in depths:
        raise ValueError(f"every ensemble needs the same fixed max_depth, got {depths}")
    depth = int(depths.pop())
    ensembles = []
    for (name, _), est in zip(voting.estimators, voting.estimators_, strict=True):
        if not isinstance(est, HistGradientBoostingRegressor):
            raise TypeError(f"{name}: expected HistGradientBoostingRegressor, got {type(est).__name__}")
        ensembles.append(_export_ensemble(name, est, depth))
    return {
        "format": FORMAT,
        "features_version": FEATURES_VERSION,
        "target": "Ba_avg",
        "unit": "deg",
        "inputs": list(MODEL_INPUTS),
        "impute": [float(v) for v in imputer.statistics_],
        "power_curve": {
            "input": "P_avg",
            "from": "Ws_avg",
            "bin_width_ms": imputer.bin_width,
            "median_kw": [float(v) for v in imputer.power_curve_],
        },
        "features": list(FEATURES),
        "depth": depth,
        "combine": "mean",
        "ensembles": ensembles,
    }


def _export_ensemble(name: str, est: HistGradientBoostingRegressor, depth: int) -> dict[str, Any]:
    n_internal, n_leaves = 2**depth - 1, 2**depth
    trees = [predictors[0].nodes for predictors in est._predictors]
    feature = np.zeros((len(trees), n_internal), dtype=np.int64)
    threshold = np.full((len(trees), n_internal), PAD_THRESHOLD)
    value = np.zeros((len(trees), n_leaves))
    for t, nodes in enumerate(trees):
        # Walk (node, position in the complete tree, depth); a leaf above the bottom fills the
        # whole block of bottom leaves beneath its position (padding splits all go left).
        stack = [(0, 0, 0)]
        while stack:
            index, position, level = stack.pop()
            node = nodes[index]
            if node["is_leaf"]:
                first = position
                for _ in range(depth - level):
                    first = 2 * first + 1
                start = first - n_internal
                value[t, start : start + 2 ** (depth - level)] = node["value"]
                continue
            if node["is_categorical"]:
                raise ValueError(f"{name}: categorical splits are not supported by the runtime")
            feature[t, position] = node["feature_idx"]
            threshold[t, position] = node["num_threshold"]
            stack.append((int(node["left"]), 2 * position + 1, level + 1))
            stack.append((int(node["right"]), 2 * position + 2, level + 1))
    return {
        "name": name,
        "loss": est.loss,
        "baseline": float(np.ravel(est._baseline_prediction)[0]),
        "feature": encode_array(feature.astype("<i4")),
        "threshold": encode_array(threshold.astype("<f8")),
        "value": encode_array(value.astype("<f8")),
    }
