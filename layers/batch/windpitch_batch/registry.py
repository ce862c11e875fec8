"""The model registry in the bucket: every exported model under ``models/<version>/``, and the challenger pointer.

Layout::

    models/<version>/model_card.json     the card (version, metrics, farm, SHA-256 of the export)
    models/<version>/model.json          the portable export the Lambdas evaluate
    models/<version>/model.joblib        the training pipeline and the pitch-curve plot, when the folder has them
    models/challenger.json               {"version": ..., "set_at": ...}: the model the batch scores in shadow

A version is written once (``If-None-Match``): publishing the same version again with other bytes is refused,
so a version names one model for good. Reading one back checks the export against its card's SHA-256 before
it is parsed; a missing, corrupt or unusable challenger is *refused with the reason* (:class:`Refused`), and
the batch goes on scoring with the live model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from windpitch.artifacts import CARD_FILE, EXPORT_FILE, PIPELINE_FILE, PLOT_FILE
from windpitch.errors import ModelUnavailable
from windpitch.runtime import PitchModel

from . import keys
from .outputs import json_bytes
from .store import Conflict, NotFound, S3Store

MODELS: Final = keys.MODELS
POINTER: Final = f"{MODELS}challenger.json"
FILES: Final = (CARD_FILE, EXPORT_FILE, PIPELINE_FILE, PLOT_FILE)
# What a deployment takes from the registry: never the pickle. Unpickling a downloaded file runs whatever code it
# holds, and the layer serves the numpy export, verified against the card's digest, not the pipeline.
DEPLOYED: Final = (CARD_FILE, EXPORT_FILE, PLOT_FILE)
CONTENT_TYPES: Final = {".json": "application/json", ".png": "image/png"}


class RegistryError(ModelUnavailable):
    """A registry operation that cannot be done: the version is unknown, taken, or its files are unusable."""


@dataclass(frozen=True)
class Challenger:
    """The challenger the batch scores in shadow, or why there is none to score.

    ``model`` is set when it loaded and verified; ``refused`` holds the reason otherwise; ``version`` is
    what was asked for (None: no challenger named).
    """

    version: str | None
    source: str  # "parameter" (the function's setting) or "pointer" (models/challenger.json)
    model: PitchModel | None = None
    refused: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "source": self.source}
        if self.refused:
            out["refused"] = self.refused
        return out


def card_key(version: str) -> str:
    return f"{MODELS}{version}/{CARD_FILE}"


def publish(store: S3Store, model_dir: Path, now: datetime) -> dict[str, Any]:
    """Upload a trained model folder as ``models/<version>/``; return its version and whether it was new.

    The folder is verified first (it must load), the card last (a version is listed once its card is there).

    Raises:
        ModelUnavailable: the folder does not hold a loadable model.
        RegistryError: that version is already published with other content.
    """
    model = PitchModel.load(model_dir)  # verified: a registry never holds what would not load
    version = model.info.version
    card_bytes = (model_dir / CARD_FILE).read_bytes()
    try:
        existing, _ = store.get(card_key(version))
    except NotFound:
        existing = None
    if existing is not None:
        if existing != card_bytes:
            raise RegistryError(f"version {version} is already published with another card; retrain or remove it")
        return {"version": version, "created_at": model.info.created_at, "new": False}  # the same model again
    for name in FILES[1:]:
        path = model_dir / name
        if path.exists():
            kind = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
            store.put(f"{MODELS}{version}/{name}", path.read_bytes(), kind)
    try:  # the card is kept byte for byte (its hashes are the model's identity); when it was published, beside it
        store.put(card_key(version), card_bytes, "application/json", if_none_match=True)
        store.put(f"{MODELS}{version}/published.json", json_bytes({"published_at": now.isoformat()}),
                  "application/json", if_none_match=True)  # fmt: skip
    except Conflict:
        raise RegistryError(f"version {version} was published by someone else meanwhile") from None
    return {"version": version, "created_at": model.info.created_at, "new": True}


def versions(store: S3Store) -> list[dict[str, Any]]:
    """Every published version, oldest first: version, created_at, published_at and its test metrics."""
    found = []
    for obj in store.list(MODELS):
        if not obj.key.endswith(f"/{CARD_FILE}"):
            continue
        version = obj.key.removeprefix(MODELS).removesuffix(f"/{CARD_FILE}")
        try:
            card = json.loads(store.get(obj.key)[0])
            published = json.loads(store.get(f"{MODELS}{version}/published.json")[0]).get("published_at")
        except (NotFound, ValueError):
            continue  # half-published or unreadable: not a version yet
        producing = ((card.get("metrics") or {}).get("test") or {}).get("regimes", {}).get("producing", {})
        found.append(
            {
                "version": version,
                "created_at": card.get("created_at"),
                "published_at": published,
                "test_producing_mae_deg": producing.get("mae") if isinstance(producing, dict) else None,
                "split": card.get("split"),
            }
        )
    return sorted(found, key=lambda v: (v["published_at"] or "", v["version"]))


def set_challenger(store: S3Store, version: str | None, now: datetime) -> None:
    """Point the batch's shadow scoring at ``version`` (None: no challenger)."""
    if version is None:
        store.delete(POINTER)
        return
    load(store, version)  # refuse to point at what would not load
    store.put(POINTER, json_bytes({"version": version, "set_at": now.isoformat()}), "application/json")


def pointed_challenger(store: S3Store) -> str | None:
    """The version ``models/challenger.json`` names, or None."""
    try:
        data, _ = store.get(POINTER)
    except NotFound:
        return None
    try:
        version = json.loads(data)["version"]
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f'{POINTER} is not {{"version": ...}}') from None
    if not isinstance(version, str) or not version:
        raise RegistryError(f"{POINTER}: version must be a non-empty string")
    return version


def load(store: S3Store, version: str) -> PitchModel:
    """The published model ``version``, its export checked against its card.

    Raises:
        RegistryError: unknown version, an unreadable card, or an export that fails its check.
    """
    return _verified(store, version, _files(store, version, (CARD_FILE, EXPORT_FILE)))


def fetch_to(store: S3Store, version: str, out: Path) -> PitchModel:
    """Copy ``version``'s card, export and plot into the folder ``out`` (what a deployment packs into the layer):
    each file read once, nothing written unless the model verifies, and never its pickled pipeline (a pipeline
    left in ``out`` by an earlier training is removed: it belongs to another model)."""
    files = _files(store, version, DEPLOYED)
    model = _verified(store, version, files)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    (out / PIPELINE_FILE).unlink(missing_ok=True)
    return model


def _files(store: S3Store, version: str, names: tuple[str, ...]) -> dict[str, bytes]:
    """The version's files among ``names`` that exist (the plot and the pipeline are optional: a Lambda reads
    only the card and the export)."""
    found = {}
    for name in names:
        try:
            found[name] = store.get(f"{MODELS}{version}/{name}")[0]
        except NotFound:
            continue
    return found


def _verified(store: S3Store, version: str, files: dict[str, bytes]) -> PitchModel:
    where = f"s3://{store.bucket}/{MODELS}{version}"
    if CARD_FILE not in files or EXPORT_FILE not in files:
        raise RegistryError(f"unknown model version {version!r}: nothing published at {where}/")
    try:
        card = json.loads(files[CARD_FILE])
    except ValueError as exc:
        raise RegistryError(f"{where}/{CARD_FILE} is not JSON: {exc}") from None
    if not isinstance(card, dict):
        raise RegistryError(f"{where}/{CARD_FILE} is not a JSON object")
    try:
        model = PitchModel.from_artifacts(card, files[EXPORT_FILE], where=where)
    except ModelUnavailable as exc:
        raise RegistryError(str(exc)) from None
    if model.info.version != version:
        raise RegistryError(f"{where}/ holds model {model.info.version}, not {version}")
    return model


def challenger_for(store: S3Store, live: PitchModel, parameter: str | None) -> Challenger | None:
    """The challenger to score beside ``live``: the parameter's version, else the pointer's; None when neither
    names one. Never raises for the model itself: what cannot be scored is returned refused, with the reason."""
    source = "parameter" if parameter else "pointer"
    try:
        version = parameter or pointed_challenger(store)
    except RegistryError as exc:
        return Challenger(None, source, refused=str(exc))
    if version is None:
        return None
    if version == live.info.version:
        return Challenger(version, source, refused=f"{version} is the live model: nothing to compare")
    try:
        return Challenger(version, source, model=load(store, version))
    except RegistryError as exc:
        return Challenger(version, source, refused=str(exc))
