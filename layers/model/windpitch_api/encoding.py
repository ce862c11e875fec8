"""The POST /predict response, encoded straight to JSON text: the same bytes as Powertools' serializer gives the
response as a dict (``json.dumps(..., separators=(",", ":"))``), without a dict per record.

A request's good records share a handful of (imputed, derived) pairs, so each pair's JSON is built once and
each record adds its index and pitch. Rejected records (rare) go through ``json.dumps`` as they are.

Example:
    >>> from windpitch.predict import Prediction
    >>> encode_response([Prediction(1.5, ("P_avg",), (), "v1")], "v1")
    '{"model_version":"v1","scored":1,"rejected":0,"results":[{"index":0,"ok":true,"pitch_deg":1.5,"imputed":["P_avg"],"derived":[],"model_version":"v1"}]}'
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from windpitch.predict import Prediction, Result

_COMPACT: Final = {"separators": (",", ":")}


def encode_response(results: list[Result], model_version: str) -> str:
    """``{"model_version", "scored", "rejected", "results": [{"index", **result.as_dict()}, ...]}`` as JSON."""
    shared: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
    version = json.dumps(model_version)
    parts = []
    scored = 0
    for i, result in enumerate(results):
        if isinstance(result, Prediction) and result.model_version == model_version:
            scored += 1
            key = (result.imputed, result.derived)
            tail = shared.get(key)
            if tail is None:
                tail = shared[key] = (
                    f',"imputed":{json.dumps(list(result.imputed), **_COMPACT)}'  # type: ignore[arg-type]
                    f',"derived":{json.dumps(list(result.derived), **_COMPACT)}'  # type: ignore[arg-type]
                    f',"model_version":{version}'
                )
            measured = result.measured_pitch_deg
            extra = (
                ""
                if measured is None
                else f',"measured_pitch_deg":{_number(measured)},"residual_deg":{_number(measured - result.pitch_deg)}'
            )
            parts.append(f'{{"index":{i},"ok":true,"pitch_deg":{_number(result.pitch_deg)}{tail}{extra}}}')
        else:
            scored += result.ok
            parts.append(json.dumps({"index": i, **result.as_dict()}, **_COMPACT))  # type: ignore[arg-type]
    head = f'{{"model_version":{version},"scored":{scored},"rejected":{len(results) - scored},"results":['
    return head + ",".join(parts) + "]}"


def _number(value: float) -> str:
    """A float as json.dumps writes it (repr; NaN and ±Infinity for the others)."""
    return repr(value) if math.isfinite(value) else json.dumps(value)


def as_payload(results: list[Result], model_version: str) -> dict[str, Any]:
    """The same response as a dict (what the encoder must match byte for byte)."""
    scored = sum(1 for r in results if r.ok)
    return {
        "model_version": model_version,
        "scored": scored,
        "rejected": len(results) - scored,
        "results": [{"index": i, **r.as_dict()} for i, r in enumerate(results)],
    }
