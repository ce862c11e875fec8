"""Publishing the built dashboard to the stack's bucket (moto): every file under site/, with config.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BUCKET, bucket_snapshot
from windpitch_deploy.dashboard import config_for, main, publish


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>windpitch</title>")
    (tmp_path / "app.js").write_text("export {};")
    (tmp_path / "vendor" / "uPlot.min.css").write_text(".u{}")
    return tmp_path


def test_the_page_and_its_config_go_under_site_with_types_and_caching(s3: Any, dist: Path) -> None:
    keys = publish(s3, BUCKET, config_for("https://api.example/dev"), dist)

    assert sorted(keys) == ["site/app.js", "site/config.json", "site/index.html", "site/vendor/uPlot.min.css"]
    # No staleness restated: the page takes it from fleet.json, which the batch writes from its own schedule.
    assert json.loads(bucket_snapshot(s3, "site/")["site/config.json"]) == {
        "api": "https://api.example/dev", "refresh_seconds": 60,
    }  # fmt: skip
    head = s3.head_object(Bucket=BUCKET, Key="site/app.js")
    assert head["ContentType"] == "text/javascript"
    assert s3.head_object(Bucket=BUCKET, Key="site/index.html")["ContentType"] == "text/html"
    assert s3.head_object(Bucket=BUCKET, Key="site/config.json")["CacheControl"] == "no-cache"


def test_an_unbuilt_dashboard_or_missing_target_is_a_clear_error(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FileNotFoundError, match="make dashboard"):
        publish(s3, BUCKET, {}, tmp_path)
    with pytest.raises(SystemExit):
        main(["dashboard", "--bucket", BUCKET])
    assert "--stack-name, or --bucket and --api-url" in capsys.readouterr().err
