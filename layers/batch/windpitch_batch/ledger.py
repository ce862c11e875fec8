"""The ledger: the only record of done work.

One entry per committed unit, at ``state/ledger/<digest(key)>/<digest(etag)>/<slice>-<slices>.json``: the input
object (key and ETag, the slice), the model version that scored it, the rows in, scored and quarantined, the
outputs it committed, the run that committed it and when. Every entry point reads it and the commit
(:mod:`windpitch_batch.commit`) is the only writer:

* a unit is *done* when its entry exists: whichever entry point reaches it first scores it, every other one finds
  it done; a new version of the file is a new ETag, so a new entry, and the only reason to score it again (a new
  model rescores on request: ``python -m windpitch backfill --rescore``);
* the layout answers "is this file version done?" with one GET (a worker, per message) and "which versions are
  done?" with a listing and no GET (the reconciler, :mod:`windpitch_batch.reconcile`);
* a file's folder holds every committed version and slice of it: the history of what was scored from it, and
  what superseding a replaced version needs (:func:`windpitch_batch.commit.supersede`). Entries are never
  deleted by the pipeline; the bucket's lifecycle expires them after the raw files they describe.

:func:`migrate` turns the two records the pipelines kept before it (``state/processed/`` and ``state/done/``) into
entries, once, on the first commit that finds them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from .keys import LEDGER, LEGACY_DONE, LEGACY_KEYS, LEGACY_PROCESSED, digest, manifest
from .outputs import json_bytes
from .plan import UnitRef
from .store import NotFound, S3Store

JSON: Final = "application/json"
_ENTRY = re.compile(r"^([0-9a-f]{16})/([0-9a-f]{12})/(\d+)-(\d+)\.json$")


@dataclass(frozen=True)
class Entry:
    """One committed unit.

    Example:
        >>> e = Entry("raw/a.csv", "e1", "u", 0, 1, "v1", "r1", "2015-06-01T00:00:00+00:00", 3, 2, 1)
        >>> e.ref, e.path.startswith("state/ledger/")
        (UnitRef(key='raw/a.csv', etag='e1', slice=0, slices=1), True)
    """

    key: str
    etag: str
    unit: str
    slice: int
    slices: int
    model_version: str
    run_id: str
    committed_at: str
    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    outputs: list[str] = field(default_factory=list)
    rejected_file: str | None = None

    @property
    def ref(self) -> UnitRef:
        return UnitRef(self.key, self.etag, self.slice, self.slices)

    @property
    def path(self) -> str:
        return entry_key(self.ref)

    @classmethod
    def from_json(cls, data: bytes) -> Entry:
        fields = json.loads(data)
        return cls(**{k: fields[k] for k in cls.__dataclass_fields__ if k in fields})


def entry_key(ref: UnitRef) -> str:
    """Where ``ref``'s entry lives (a whole file is slice 0 of 1)."""
    return f"{LEDGER}{digest(ref.key)}/{digest(ref.etag, length=12)}/{ref.slice}-{max(ref.slices, 1)}.json"


def read(store: S3Store, ref: UnitRef) -> Entry | None:
    """``ref``'s entry, or None while it is not committed."""
    try:
        return Entry.from_json(store.get(entry_key(ref))[0])
    except NotFound:
        return None


def record(store: S3Store, entry: Entry) -> None:
    store.put(entry.path, json_bytes(asdict(entry)), JSON)


def entries_of(store: S3Store, raw_key: str) -> list[Entry]:
    """Every committed version and slice of one raw file."""
    found = []
    for obj in store.list(f"{LEDGER}{digest(raw_key)}/"):
        try:
            found.append(Entry.from_json(store.get(obj.key)[0]))
        except NotFound:
            continue  # superseded meanwhile
    return found


def done_versions(store: S3Store) -> set[tuple[str, str]]:
    """``(digest(key), digest(etag))`` of every file version whose slices are all committed: a listing, no GET.

    Example: a version sliced in three whose slice 1 is not committed yet is not in the set.
    """
    slices: dict[tuple[str, str], tuple[int, set[int]]] = {}
    for obj in store.list(LEDGER):
        found = _ENTRY.match(obj.key.removeprefix(LEDGER))
        if found is None:
            continue
        version = (found.group(1), found.group(2))
        slices.setdefault(version, (int(found.group(4)), set()))[1].add(int(found.group(3)))
    return {version for version, (count, seen) in slices.items() if len(seen) >= count}


def version_of(key: str, etag: str) -> tuple[str, str]:
    """The ``(digest(key), digest(etag))`` pair :func:`done_versions` answers with."""
    return digest(key), digest(etag, length=12)


def committed_slices(store: S3Store, key: str, etag: str) -> dict[int, set[int]]:
    """Which slices of one file version are committed, by the slice count they were planned with (one listing).

    Example: ``{1: {0}}`` for a version committed whole, ``{3: {0, 2}}`` for one of three slices with slice 1 to go.
    """
    found: dict[int, set[int]] = {}
    prefix = f"{LEDGER}{digest(key)}/{digest(etag, length=12)}/"
    for obj in store.list(prefix):
        if match := re.fullmatch(r"(\d+)-(\d+)\.json", obj.key.removeprefix(prefix)):
            found.setdefault(int(match.group(2)), set()).add(int(match.group(1)))
    return found


def migrate(store: S3Store) -> int:
    """Turn the records of done work kept before the ledger into entries; return how many.

    * ``state/processed/<unit>.<run>.json`` (the scheduled run's: a whole file's summary) counts when
      ``manifests/run-<run>.json`` exists;
    * ``state/done/<unit>.json`` (the fan-out's: ``{"run", "key"}``) counts when its run's manifest exists; the
      manifest's ``inputs`` hold the unit's summary, and ``state/keys/<digest(key)>.json`` its slice count.

    A record whose run never committed is dropped: its unit is not done, and will be scored again. The old
    scheduled run published before its manifest, so what such a run published and no committed entry names is
    deleted too (a rescore under another slicing would publish beside it). Each old record is deleted once its
    entry is written, so a second call finds nothing and costs three listings; a record another migration
    deleted meanwhile is left to it.
    """
    manifests: dict[str, dict[str, Any] | None] = {}

    def run_manifest(run: str) -> dict[str, Any] | None:
        if run not in manifests:
            try:
                manifests[run] = json.loads(store.get(manifest(run))[0])
            except NotFound:
                manifests[run] = None
        return manifests[run]

    entries: list[Entry] = []
    dead: list[dict[str, Any]] = []
    spent: list[str] = []
    for obj in store.list(LEGACY_PROCESSED):
        unit, _, run = obj.key.removeprefix(LEGACY_PROCESSED).removesuffix(".json").partition(".")
        summary = _read_json(store, obj.key)
        if summary is None:
            continue  # another migration took it
        committed = run_manifest(run)
        if committed is not None:
            entries.append(_entry(summary, UnitRef(summary["key"], summary["etag"], 0, 1), unit, run, committed))
        else:
            dead.append(summary)
        spent.append(obj.key)
    for obj in store.list(LEGACY_DONE):
        unit = obj.key.removeprefix(LEGACY_DONE).removesuffix(".json")
        marker = _read_json(store, obj.key)
        if marker is None:
            continue
        committed = run_manifest(str(marker.get("run")))
        summary = next((i for i in (committed or {}).get("inputs", []) if i.get("unit") == unit), None)
        ref = _find_slice(store, summary, unit) if summary is not None else None
        if committed is not None and summary is not None and ref is not None:
            entries.append(_entry(summary, ref, unit, str(marker["run"]), committed))
        spent.append(obj.key)
    for entry in entries:
        record(store, entry)
    kept = {output for e in entries for output in e.outputs}
    for summary in dead:
        kept |= {output for e in entries_of(store, summary["key"]) for output in e.outputs}
        for output in summary.get("outputs", []):
            if output not in kept:
                store.delete(output)
    spent += [obj.key for obj in store.list(LEGACY_KEYS)]  # the fan-out's output index: the ledger holds it now
    for key in spent:
        store.delete(key)
    return len(entries)


def _read_json(store: S3Store, key: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(store.get(key)[0])
    except NotFound:
        return None
    return found


def _entry(summary: dict[str, Any], ref: UnitRef, unit: str, run: str, committed: dict[str, Any]) -> Entry:
    return Entry(
        key=ref.key, etag=ref.etag, unit=unit, slice=ref.slice, slices=max(ref.slices, 1),
        model_version=str(committed.get("model_version", "")), run_id=run,
        committed_at=str(committed.get("finished_at", "")),
        rows_in=int(summary.get("rows_in", 0)), rows_scored=int(summary.get("rows_scored", 0)),
        rows_rejected=int(summary.get("rows_rejected", 0)), outputs=list(summary.get("outputs", [])),
        rejected_file=summary.get("rejected_file"),
    )  # fmt: skip


def _find_slice(store: S3Store, summary: dict[str, Any], unit: str) -> UnitRef | None:
    """The slice a fan-out unit id stands for: whole, or the slice count its file's index recorded."""
    key, etag = str(summary["key"]), str(summary["etag"])
    if digest(key, etag) == unit:
        return UnitRef(key, etag, 0, 1)
    try:
        counts = [int(json.loads(store.get(f"{LEGACY_KEYS}{digest(key)}.json")[0])["slices"])]
    except (NotFound, ValueError, KeyError):
        counts = list(range(2, 1025))  # no index: the slice counts a file of up to 51 M lines could have had
    for slices in counts:
        for k in range(slices):
            if digest(key, etag, f"{k}/{slices}") == unit:
                return UnitRef(key, etag, k, slices)
    return None
