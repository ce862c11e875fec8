"""In-process prediction: the embedded model, and what the API and CLI call.

Example:
    >>> [result] = predict({"Ws1_avg": 10})                      # doctest: +SKIP
    >>> result.pitch_deg, result.imputed[:2], result.derived      # doctest: +SKIP
    (0.41, ('P_avg', 'Va_avg'), ('Ws_avg',))
    >>> predict({"Ws_avg": "fast"})[0].as_dict()                 # doctest: +SKIP
    {'ok': False, 'errors': [{'field': 'Ws_avg', 'reason': "not a number: 'fast'"}]}
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from .columns import judge_records
from .errors import FieldError, InvalidRecord, listed
from .records import ParsedRecord, parse_record
from .runtime import PitchModel


@dataclass(frozen=True)
class Prediction:
    """The expected pitch for one valid record."""

    pitch_deg: float
    imputed: tuple[str, ...]
    derived: tuple[str, ...]
    model_version: str
    measured_pitch_deg: float | None = None

    ok = True

    @property
    def residual_deg(self) -> float | None:
        """Measured minus expected pitch, when the record carries ``Ba_avg``."""
        return None if self.measured_pitch_deg is None else self.measured_pitch_deg - self.pitch_deg

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": True,
            "pitch_deg": self.pitch_deg,
            "imputed": list(self.imputed),
            "derived": list(self.derived),
            "model_version": self.model_version,
        }
        if self.measured_pitch_deg is not None:
            out["measured_pitch_deg"] = self.measured_pitch_deg
            out["residual_deg"] = self.residual_deg
        return out


@dataclass(frozen=True)
class Rejected:
    """A record that could not be scored, with every reason."""

    errors: tuple[FieldError, ...]

    ok = False

    def as_dict(self) -> dict[str, Any]:
        """Its errors as an answer lists them (:func:`windpitch.errors.listed`: bounded whatever the record)."""
        return {"ok": False, "errors": [e.as_dict() for e in listed(self.errors)]}


Result = Prediction | Rejected

# The errors one answer lists across its records: past it, a rejected record is answered with its count only, so
# 10,000 records of 20 bad fields each answer about 1 MB, not 18 MB (over Lambda's 6 MB response limit).
MAX_LISTED_PER_ANSWER: Final = 1_000


def bounded(results: list[Result], budget: int = MAX_LISTED_PER_ANSWER) -> list[Result]:
    """``results`` with the rejected records past ``budget`` listed errors answered by their count.

    Example:
        >>> bad = Rejected((FieldError("P_avg", "not finite"), FieldError("Ws_avg", "not finite")))
        >>> [r.as_dict()["errors"] for r in bounded([bad, bad], budget=3)][1]
        [{'field': 'record', 'reason': '2 errors, not listed: one answer lists at most 3'}]
    """
    out: list[Result] = []
    left = budget
    for result in results:
        if isinstance(result, Rejected):
            shown = len(listed(result.errors))
            if shown > left:
                reason = f"{len(result.errors):,} errors, not listed: one answer lists at most {budget:,}"
                out.append(Rejected((FieldError("record", reason),)))
                left = 0
                continue
            left -= shown
        out.append(result)
    return out


@functools.lru_cache(maxsize=4)
def load_model(model_dir: Path | str | None = None) -> PitchModel:
    """The verified model, loaded once per process and folder (Lambda reuses it across requests)."""
    return PitchModel.load(model_dir)


def predict(records: Mapping[str, Any] | Iterable[Mapping[str, Any]], model: PitchModel | None = None) -> list[Result]:
    """Expected pitch for one record or many; one result per record, in order.

    Records are judged by the rulebook with the limits of the model's farm (its fleet, each turbine's
    rated power). A bad record yields a :class:`Rejected` naming each bad field; the good records beside
    it are still scored. Raises :class:`windpitch.ModelUnavailable` only when there is no usable model.
    """
    model = model or load_model()
    batch = [records] if isinstance(records, Mapping) else list(records)
    if len(batch) > 1:  # many records: judged a field at a time, with the same verdicts (windpitch.columns)
        return _predict_many(batch, model)
    parsed: list[ParsedRecord | Rejected] = []
    for record in batch:
        try:
            parsed.append(parse_record(record, model.farm))
        except InvalidRecord as bad:
            parsed.append(Rejected(tuple(bad.errors)))
    valid = [p for p in parsed if isinstance(p, ParsedRecord)]
    pitches = model.predict_inputs(np.array([p.inputs for p in valid])) if valid else np.empty(0)
    version = model.info.version
    scored = iter(pitches.tolist())
    return [
        p if isinstance(p, Rejected) else Prediction(next(scored), p.imputed, p.derived, version, p.measured_pitch)
        for p in parsed
    ]


def _predict_many(batch: list[Any], model: PitchModel) -> list[Result]:
    judged = judge_records(batch, model.farm)
    pitches = model.predict_inputs(judged.inputs).tolist() if len(judged.good) else []
    version = model.info.version
    results: list[Any] = [None] * len(batch)
    for i, errors in judged.errors.items():
        results[i] = Rejected(tuple(errors))
    for k, i in enumerate(judged.good.tolist()):
        results[i] = Prediction(pitches[k], judged.imputed[k], judged.derived[k], version, judged.measured[k])
    return results
