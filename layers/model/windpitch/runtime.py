"""The serving runtime: evaluates the portable model export with numpy alone.

The trained scikit-learn pipeline (impute → :func:`windpitch.features.transform` → two gradient
boosted tree ensembles averaged) is exported by :mod:`windpitch_train.export` to ``model.json``: imputation
statistics plus every tree as a *complete* binary tree of fixed depth. Shallower leaves are pushed
down (padding splits whose threshold is the largest float, so every value goes left), which makes
evaluation branch-free: ``depth`` rounds of gather-compare-step over all rows and all trees at once.
No scikit-learn, scipy or pandas is imported, so a Lambda starts in a fraction of a second, and the
browser evaluates the same file.

Example:
    >>> model = PitchModel.load()                                  # doctest: +SKIP
    >>> model.predict_inputs([[1500, 11, 0, 10, 180, 180, 6, 12]])  # doctest: +SKIP
    array([2.13...])
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from . import settings
from .artifacts import (
    CARD_FILE,
    EXPORT_FILE,
    ModelUnavailable,
    check_sha256,
    default_model_dir,
    read_card,
    verified_bytes,
)
from .farm import Farm
from .features import FEATURES, FEATURES_VERSION, transform
from .imputation import impute
from .schema import MODEL_INPUTS

FORMAT: Final = "windpitch-model/1"
# Padding splits send every finite value left: x > FLOAT_MAX is never true.
PAD_THRESHOLD: Final = sys.float_info.max
# Rows evaluated together: (rows × trees) int32 index arrays of ~0.8 MB stay in cache; measured
# fastest of 256…4096 (docs/benchmarks.md).
_CHUNK_ROWS: Final = 1024
# numpy's gathers release the GIL: from this many chunks on (a batch file, not an API request),
# chunks are evaluated on a thread per core; 1.7x on 2 cores, identical results (docs/benchmarks.md).
_PARALLEL_FROM_CHUNKS: Final = 8


@dataclass(frozen=True)
class ModelInfo:
    """What a caller may be told about the loaded model (health check, responses)."""

    version: str
    sha256: str
    export_sha256: str
    created_at: str
    metrics: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "export_sha256": self.export_sha256,
            "created_at": self.created_at,
            "metrics": self.metrics,
        }


class PitchModel:
    """The exported pipeline, ready to evaluate."""

    def __init__(
        self,
        spec: dict[str, Any],
        info: ModelInfo,
        farm: Farm | None = None,
        *,
        reference: dict[str, dict[str, Any]] | None = None,
        thresholds: dict[str, float] | None = None,
        pitch_range: tuple[float, float] = (-math.inf, math.inf),
    ) -> None:
        _check_spec(spec)
        self.info = info
        self.farm = farm or Farm.reference()  # the turbines it serves and their limits (the card's)
        self.reference = reference or {}  # each monitored input's training deciles (windpitch.monitoring)
        self.thresholds = dict(thresholds or {})  # each input's drift threshold, calibrated at training
        # The measured pitch seen in training (the card's): an expected pitch outside it is a model answering
        # out of its world, which the canary's alarm watches. Unbounded for a card that does not say.
        self.pitch_range = pitch_range
        self.spec = spec
        self.depth: int = int(spec["depth"])
        self.medians = np.asarray(spec["impute"], dtype=np.float64)
        curve = spec["power_curve"]
        self.power_curve = np.asarray(curve["median_kw"], dtype=np.float64)
        self.power_curve_bin = float(curve["bin_width_ms"])
        ensembles = spec["ensembles"]
        feature = np.concatenate([decode_array(e["feature"]) for e in ensembles]).astype(np.intp)
        threshold = np.concatenate([decode_array(e["threshold"]) for e in ensembles])
        value = np.concatenate([decode_array(e["value"]) for e in ensembles])
        self.n_trees = feature.shape[0]
        self._n_internal = feature.shape[1]
        # Flat node tables: node (t, i) lives at t * n_internal + i; leaf (t, j) at t * n_leaves + j.
        self._feature = feature.ravel()
        self._threshold = threshold.ravel()
        self._value = value.ravel()
        self._tree_base = np.arange(self.n_trees, dtype=np.intp) * self._n_internal
        self._leaf_base = np.arange(self.n_trees, dtype=np.intp) * value.shape[1] - self._n_internal
        # int32 twins for the many-row path: half the memory traffic of intp gathers.
        self._feature32 = self._feature.astype(np.int32)
        self._tree_base32 = self._tree_base.astype(np.int32)
        self._leaf_base32 = self._leaf_base.astype(np.int32)
        bounds = np.cumsum([0] + [e["feature"]["shape"][0] for e in ensembles]).tolist()
        self._groups = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        self._baselines = np.asarray([e["baseline"] for e in ensembles], dtype=np.float64)

    @classmethod
    def load(cls, model_dir: Path | str | None = None) -> PitchModel:
        """Load and verify ``model.json`` against the model card.

        Raises:
            ModelUnavailable: missing files, a hash mismatch, or a malformed export.
        """
        directory = Path(model_dir) if model_dir is not None else default_model_dir()
        card = read_card(directory)
        export = card.get("export")
        export = export if isinstance(export, dict) else {}
        pinned = settings.MODEL_SHA256.read()
        if pinned and export.get("sha256") != pinned:
            # The deployment names its model (the built template's ModelExportSha256): a layer swapped under a
            # function, or a model changed without rebuilding the template, is refused, /health says why.
            raise ModelUnavailable(
                f"model {card.get('version', 'unknown')} in {directory} is not the one this deployment pins: "
                f"its export's SHA-256 is {str(export.get('sha256'))[:12]}…, WINDPITCH_MODEL_SHA256 is {pinned[:12]}…"
            )
        raw = verified_bytes(directory, EXPORT_FILE, export.get("sha256"))
        return cls.from_artifacts(card, raw, where=str(directory))

    @classmethod
    def from_artifacts(cls, card: dict[str, Any], export_bytes: bytes, *, where: str) -> PitchModel:
        """The model from its card and the export's bytes, read from anywhere (a folder, a registry in S3).

        The export must be the one the card names (its SHA-256); ``where`` names the source in errors.

        Raises:
            ModelUnavailable: a hash mismatch, a malformed export, or an unusable card.
        """
        export = card.get("export")
        export = export if isinstance(export, dict) else {}
        check_sha256(export_bytes, export.get("sha256"), f"{where}/{EXPORT_FILE}")
        try:
            spec = json.loads(export_bytes)
        except ValueError as exc:
            raise ModelUnavailable(f"{where}/{EXPORT_FILE} is not valid JSON: {exc}") from None
        if not isinstance(spec, dict):
            raise ModelUnavailable(f"{where}/{EXPORT_FILE} is not a JSON object")
        info = ModelInfo(
            version=str(card.get("version", "unknown")),
            sha256=str(card.get("sha256", "")),
            export_sha256=str(export.get("sha256")),
            created_at=str(card.get("created_at", "")),
            metrics={k: v for k, v in (card.get("metrics") or {}).get("test", {}).items() if k != "regimes"},
        )
        try:
            farm = Farm.from_card(card)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelUnavailable(f"model card {where}/{CARD_FILE}: unusable farm section: {exc}") from None
        monitoring = card.get("monitoring")
        monitoring = monitoring if isinstance(monitoring, dict) else {}
        try:
            thresholds = monitoring.get("calibration", {}).get("thresholds", {})
            seen = card.get("target", {}).get("training_range_deg")
            bounded = isinstance(seen, list) and len(seen) == 2
            return cls(
                spec,
                info,
                farm,
                reference=monitoring.get("reference", {}),
                thresholds=thresholds,
                pitch_range=(float(seen[0]), float(seen[1])) if bounded else (-math.inf, math.inf),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelUnavailable(f"{where}/{EXPORT_FILE} is not a usable model: {exc}") from None

    @property
    def defaults(self) -> dict[str, float]:
        """Training medians: what an input takes when a record leaves it out (P_avg: see power_curve)."""
        return dict(zip(MODEL_INPUTS, self.medians.tolist(), strict=True))

    def predict_inputs(self, inputs: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Expected pitch (degrees) for rows of model inputs; NaN inputs take their defaults."""
        x = impute(np.array(inputs, dtype=np.float64, ndmin=2), self.medians, self.power_curve, self.power_curve_bin)
        features = transform(x)
        if features.shape[0] == 1:  # an API request or CLI call: skip the 2-D machinery
            return np.array([self._evaluate_one(features[0])])
        out = np.empty(features.shape[0], dtype=np.float64)
        starts = range(0, features.shape[0], _CHUNK_ROWS)

        def chunk(start: int) -> None:
            out[start : start + _CHUNK_ROWS] = self._evaluate(features[start : start + _CHUNK_ROWS])

        workers = _cores()
        if workers > 1 and len(starts) >= _PARALLEL_FROM_CHUNKS:
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - not on the API's cold-start path

            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(chunk, starts))
        else:
            for start in starts:
                chunk(start)
        return out

    def _evaluate_one(self, features: npt.NDArray[np.float64]) -> float:
        offset = np.zeros(self.n_trees, dtype=np.intp)
        node = self._tree_base
        for _ in range(self.depth):
            offset = 2 * offset + 1 + (features[self._feature[node]] > self._threshold[node])
            node = self._tree_base + offset
        leaves = self._value[self._leaf_base + offset]
        return float(np.mean([leaves[g].sum() + b for g, b in zip(self._groups, self._baselines, strict=True)]))

    def _evaluate(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Many rows: every tree at once, one level at a time, into preallocated buffers."""
        rows, width = features.shape
        flat = features.ravel()
        shape = (rows, self.n_trees)
        row_base = (np.arange(rows, dtype=np.int32) * width)[:, None]
        offset = np.zeros(shape, dtype=np.int32)
        node = self._tree_base32 + offset
        column = np.empty(shape, dtype=np.int32)
        value = np.empty(shape, dtype=np.float64)
        threshold = np.empty(shape, dtype=np.float64)
        go_right = np.empty(shape, dtype=bool)
        # mode="clip": with the default mode="raise", numpy buffers ``out`` and checks every index, 8x
        # slower (docs/benchmarks.md); the indices are in range by construction (shapes checked at load).
        for _ in range(self.depth):
            np.take(self._feature32, node, out=column, mode="clip")
            column += row_base
            np.take(flat, column, out=value, mode="clip")
            np.take(self._threshold, node, out=threshold, mode="clip")
            np.greater(value, threshold, out=go_right)
            offset *= 2
            offset += 1
            offset += go_right
            np.add(offset, self._tree_base32, out=node)
        leaves = np.take(self._value, offset + self._leaf_base32, mode="clip")
        sums = np.column_stack([leaves[:, g].sum(axis=1) for g in self._groups]) + self._baselines
        return sums.mean(axis=1)


def _check_spec(spec: dict[str, Any]) -> None:
    """Refuse an export this runtime would misread, with the reason."""
    if spec.get("format") != FORMAT:
        raise ValueError(f"format {spec.get('format')!r}, this runtime reads {FORMAT!r}")
    if spec.get("features_version") != FEATURES_VERSION:
        raise ValueError(f"features {spec.get('features_version')!r}, this runtime computes {FEATURES_VERSION!r}")
    if list(spec.get("inputs", [])) != list(MODEL_INPUTS):
        raise ValueError(f"inputs {spec.get('inputs')!r} differ from {list(MODEL_INPUTS)!r}")
    if list(spec.get("features", [])) != list(FEATURES):
        raise ValueError(f"features {spec.get('features')!r} differ from {list(FEATURES)!r}")
    if len(spec.get("impute", [])) != len(MODEL_INPUTS) or not spec.get("power_curve", {}).get("median_kw"):
        raise ValueError("imputation statistics are missing or incomplete")
    depth = int(spec["depth"])
    if not 1 <= depth <= 16:
        raise ValueError(f"depth {depth} is outside [1, 16]")
    for ensemble in spec["ensembles"]:
        feature, threshold, value = (decode_array(ensemble[k]) for k in ("feature", "threshold", "value"))
        shapes = (feature.shape, threshold.shape, value.shape)
        if shapes[0] != shapes[1] or shapes[0][1:] != (2**depth - 1,) or shapes[2][1:] != (2**depth,):
            raise ValueError(f"ensemble {ensemble.get('name')!r} has inconsistent shapes {shapes}")
        if feature.size and (feature.min() < 0 or feature.max() >= len(FEATURES)):
            raise ValueError(f"ensemble {ensemble.get('name')!r} splits on a feature that does not exist")


# Arrays travel as base64 of little-endian bytes: exact, compact, and fast to load in Python
# (np.frombuffer) and in a browser (DataView over the decoded bytes).
_DTYPES: Final[dict[str, np.dtype[Any]]] = {"<i4": np.dtype("<i4"), "<f8": np.dtype("<f8")}


def encode_array(array: npt.NDArray[Any]) -> dict[str, Any]:
    """``{"dtype", "shape", "base64"}`` for a little-endian int32 or float64 array.

    Example:
        >>> encode_array(np.array([1.5], dtype="<f8"))
        {'dtype': '<f8', 'shape': [1], 'base64': 'AAAAAAAA+D8='}
    """
    dtype = array.dtype.str
    if dtype not in _DTYPES:
        raise ValueError(f"unsupported dtype {dtype}")
    return {"dtype": dtype, "shape": list(array.shape), "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_array(encoded: dict[str, Any]) -> npt.NDArray[Any]:
    """The inverse of :func:`encode_array` (a read-only view on the decoded bytes)."""
    dtype = _DTYPES[encoded["dtype"]]
    shape = tuple(int(n) for n in encoded["shape"])
    data = base64.b64decode(encoded["base64"], validate=True)
    if len(data) != dtype.itemsize * int(np.prod(shape)):
        raise ValueError(f"{len(data)} bytes do not hold a {encoded['dtype']} array of shape {list(shape)}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _cores() -> int:
    """CPUs this process may run on (a Lambda's share follows its memory size)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
