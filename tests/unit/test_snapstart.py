"""SnapStart's runtime hooks (windpitch_api.snapstart). No snapshot can be taken here: the hooks are called as
Lambda would call them, before the snapshot and after a restore."""

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import edited_model
from windpitch import ModelUnavailable, load_model
from windpitch.artifacts import CARD_FILE, MODEL_DIR_ENV
from windpitch_api import snapstart


class Library:
    """What snapshot_restore_py offers: the two registrations (Lambda runs the hooks it holds)."""

    def __init__(self) -> None:
        self.before: list[Any] = []
        self.after: list[Any] = []

    def register_before_snapshot(self, hook: Any) -> None:
        self.before.append(hook)

    def register_after_restore(self, hook: Any) -> None:
        self.after.append(hook)


def test_the_hooks_are_registered_only_where_the_library_is(monkeypatch: pytest.MonkeyPatch) -> None:
    library = Library()
    assert snapstart.register(library)
    assert library.before == [snapstart.before_snapshot] and library.after == [snapstart.after_restore]
    monkeypatch.setitem(__import__("sys").modules, "snapshot_restore_py", None)  # an import that fails
    assert snapstart.register() is False


def test_before_the_snapshot_the_model_is_loaded_and_answers_its_golden_records(
    use_synthetic_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    card = json.loads((use_synthetic_model / CARD_FILE).read_text())
    assert card["golden"]["records"], "the synthetic model carries golden records"
    snapstart.before_snapshot()
    [line] = [r for r in caplog.records if r.getMessage() == "ready for snapshot"]
    assert line.__dict__["model_version"] == card["version"]
    assert line.__dict__["golden_records"] == len(card["golden"]["records"])
    assert load_model.cache_info().currsize == 1, "the snapshot holds the loaded model"


def test_a_model_that_departs_from_its_card_fails_the_snapshot_and_so_the_publication(
    synthetic_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    golden = json.loads((synthetic_model_dir / CARD_FILE).read_text())["golden"]
    shifted = {**golden, "expected_pitch_deg": [p + 0.5 for p in golden["expected_pitch_deg"]]}
    monkeypatch.setenv(MODEL_DIR_ENV, str(edited_model(synthetic_model_dir, tmp_path / "m", golden=shifted)))
    load_model.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"golden records before the snapshot: record 0: .* expects"):
            snapstart.before_snapshot()
        monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "absent"))
        load_model.cache_clear()
        with pytest.raises(ModelUnavailable):
            snapstart.before_snapshot()
    finally:
        load_model.cache_clear()


def test_after_a_restore_random_is_reseeded_and_the_restore_logged(caplog: pytest.LogCaptureFixture) -> None:
    random.seed(7)
    state = random.getstate()
    snapstart.after_restore()  # two environments restored from one snapshot would share `state`
    assert random.getstate() != state
    assert [r.getMessage() for r in caplog.records] == ["restored from snapshot"]
