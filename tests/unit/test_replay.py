"""The replay: recorded SCADA uploaded into raw/ in time order, one file per interval, at a chosen speed."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from tests.conftest import BUCKET, bucket_snapshot, scada_bytes, synthetic_scada
from windpitch.errors import DataError
from windpitch_batch.replay import plan_replay, replay
from windpitch_batch.store import S3Store
from windpitch_cli import main
from windpitch_frames.loading import load_scada


def recorded() -> str:
    """Two turbines, ten-minute rows over two days, written turbine by turbine (not in time order)."""
    return scada_bytes(synthetic_scada(288, seed=2, freq="10min", start="2015-06-01")).decode()


def test_the_plan_is_one_file_per_interval_in_time_order_after_a_backfill() -> None:
    plan = plan_replay(recorded(), start="2015-06-02", days=0.5, backfill_days=1)

    backfill, *live = plan.files
    assert backfill.key == "raw/replay/backfill-20150601T0000Z-20150602T0000Z.csv"
    assert backfill.rows == 2 * 144
    assert len(live) == 72
    assert [f.start for f in live] == sorted(f.start for f in live)
    assert live[0].key == "raw/replay/2015/06/02/scada-20150602T0000Z.csv"
    assert live[-1].key == "raw/replay/2015/06/02/scada-20150602T1150Z.csv"
    assert plan.rows == 2 * 144 + 2 * 72
    frame, report = load_scada(live[0].body)  # each file is SCADA the batch reads
    assert (report.rows, sorted(frame["Wind_turbine_name"])) == (2, ["R80711", "R80721"])
    assert (frame["Date_time"] == pd.Timestamp("2015-06-02", tz="UTC")).all()


def test_lines_are_uploaded_as_recorded() -> None:
    text = recorded()
    plan = plan_replay(text, start="2015-06-01")
    sent = {line for f in plan.files for line in f.body.decode().splitlines()[1:]}
    assert sent == set(text.splitlines()[1:])
    assert plan.skipped_lines == 0


@pytest.mark.parametrize(
    ("text", "start", "reason"),
    [
        ("", "2015-06-01", "empty"),
        ("a,b\n1,2\n", "2015-06-01", "no Date_time column"),
        (recorded(), "2016-01-01", "after the data's last row"),
    ],
)
def test_a_plan_that_cannot_be_made_says_why(text: str, start: str, reason: str) -> None:
    with pytest.raises(DataError, match=reason):
        plan_replay(text, start=start)


def test_replay_uploads_on_schedule_at_the_chosen_speed(s3: Any, store: S3Store) -> None:
    plan = plan_replay(recorded(), start="2015-06-01", days=1 / 24, backfill_days=0)  # 6 intervals
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        now[0] += seconds

    rows = replay(plan, store, speed=600, progress=False, sleep=sleep, clock=lambda: now[0])

    assert rows == 12
    assert waits == [1.0] * 5, "one interval a second at 600x, the first at once"
    assert sorted(bucket_snapshot(s3, "raw/")) == [f.key for f in plan.files]


def test_the_cli_replays_into_a_bucket(s3: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "scada.csv"
    data.write_text(recorded())
    code = main(["replay", "--bucket", BUCKET, "--data", str(data), "--start", "2015-06-01T12:00", "--days", "0.01",
                 "--speed", "0", "--quiet"])  # fmt: skip
    assert code == 0
    assert list(bucket_snapshot(s3, "raw/")) == ["raw/replay/2015/06/01/scada-20150601T1200Z.csv",
                                                 "raw/replay/2015/06/01/scada-20150601T1210Z.csv"]  # fmt: skip
    assert "4 rows in 2 files from 2015-06-01 12:00 UTC" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "field", "code"),
    [
        (["--start", "someday"], "--start", 2),
        (["--speed", "-1"], "--speed", 2),
        (["--days", "0"], "--days", 2),
        (["--bucket", "no-such-bucket"], "no-such-bucket", 3),
    ],
)
def test_bad_replay_arguments_are_named(
    s3: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str], args: list[str], field: str, code: int
) -> None:
    data = tmp_path / "scada.csv"
    data.write_text(recorded())
    try:
        got = main(["replay", "--bucket", BUCKET, "--data", str(data), "--quiet", *args])
    except SystemExit as exit_:  # argparse's own usage errors
        got = int(exit_.code or 0)
    assert got == code
    err = capsys.readouterr().err
    assert field in err
    assert "Traceback" not in err


def test_the_cli_runs_the_batch_once_with_progress(
    s3: Any, use_synthetic_model: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=scada_bytes(synthetic_scada(30, freq="10min")))
    assert main(["batch", "--bucket", BUCKET]) == 0
    out, err = capsys.readouterr()
    manifest = json.loads(out)
    assert (manifest["files_in"], manifest["rows_scored"], manifest["rows_rejected"]) == (1, 60, 0)
    assert "raw/a.csv: 60 scored, 0 rejected" in err
    assert main(["batch", "--bucket", BUCKET]) == 0
    assert json.loads(capsys.readouterr().out) == {"status": "nothing to do"}
