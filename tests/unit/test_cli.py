"""``python -m windpitch``: predict, schema, data, train — exit codes and messages."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EVENTS
from windpitch_cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict | None, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith("{") else None), err


@pytest.mark.usefixtures("use_synthetic_model")
class TestPredict:
    def test_a_field_as_a_flag(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "predict", "--Ws1_avg", "10")
        assert code == 0
        [result] = out["results"]
        assert result["ok"] is True
        assert result["derived"] == ["Ws_avg"]
        assert isinstance(result["pitch_deg"], float)

    def test_the_seed_row_from_a_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "predict", "--json", str(EVENTS / "seed_record.json"))
        assert code == 0
        assert out["results"][0]["measured_pitch_deg"] == 44.99

    def test_a_bad_flag_value_names_the_field(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(capsys, "predict", "--Ws1_avg", "ten")
        assert code == 1
        assert out["results"][0]["errors"] == [{"field": "Ws1_avg", "reason": "not a number: 'ten'"}]
        assert "record 0: Ws1_avg: not a number" in err

    def test_records_on_stdin_keep_the_good_ones(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        body = {"records": [{"Ws_avg": 5}, {"Ws_avg": -3}, {"Ws_avg": 7}]}
        monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(body)))
        code, out, err = run(capsys, "predict", "--json", "-")
        assert code == 1
        assert [r["ok"] for r in out["results"]] == [True, False, True]
        assert "record 1: Ws_avg: out of range" in err

    @pytest.mark.parametrize(
        ("content", "message"),
        [("{oops", "invalid JSON"), ("[]", "non-empty list"), ("42", "expected a record object")],
    )
    def test_unreadable_json_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
    ) -> None:
        path = tmp_path / "r.json"
        path.write_text(content)
        code, _, err = run(capsys, "predict", "--json", str(path))
        assert code == 2
        assert message in err

    def test_flags_and_json_together_are_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "predict", "--json", "-", "--Ws_avg", "3")
        assert code == 2
        assert "not both" in err


def test_no_model_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "predict", "--model", str(tmp_path), "--Ws_avg", "3")
    assert code == 3
    assert "model unavailable" in err


def test_schema_prints_the_one_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert len(out["fields"]) == 136
    assert out["model_inputs"][0] == "P_avg"


def test_data_info_reports_the_file(capsys: pytest.CaptureFixture[str], synthetic_csv: Path) -> None:
    code, out, _ = run(capsys, "data", "info", str(synthetic_csv))
    assert code == 0
    assert (out["shape"], out["rows"], out["turbines"]) == ("openoa", 5840, ["R80711", "R80721"])


def test_train_writes_a_model_and_prints_the_comparison(
    capsys: pytest.CaptureFixture[str], synthetic_csv: Path, tmp_path: Path
) -> None:
    code = main(["train", "--data", str(synthetic_csv), "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "model_card.json").exists()
    assert "producing" in out and "seed" in out


def test_train_on_missing_data_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["train", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path), "--quiet"])
    assert code == 3
    assert "no such file" in capsys.readouterr().err


def test_the_module_runs_as_a_program() -> None:
    done = subprocess.run([sys.executable, "-m", "windpitch", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "predict" in done.stdout


def test_errors_map_to_documented_exit_codes_in_one_place(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typed error gets its code and one line; an unexpected one (a bug) gets its own code, not a traceback."""
    import argparse

    from windpitch.errors import StoreUnavailable
    from windpitch_cli.errors import EXIT_BUG, EXIT_UNAVAILABLE, run_command

    def unreachable(_: argparse.Namespace) -> int:
        raise StoreUnavailable("bucket 'b' is not reachable at http://127.0.0.1:9")

    def buggy(_: argparse.Namespace) -> int:
        return {}["missing"]  # type: ignore[no-any-return]

    assert run_command(unreachable, argparse.Namespace()) == EXIT_UNAVAILABLE
    assert capsys.readouterr().err == "error: bucket 'b' is not reachable at http://127.0.0.1:9\n"
    monkeypatch.delenv("WINDPITCH_DEBUG", raising=False)
    assert run_command(buggy, argparse.Namespace()) == EXIT_BUG
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("internal error: KeyError: 'missing' (a bug in windpitch")


def test_an_unreachable_bucket_is_exit_3_not_a_lookup_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "--bucket", "nowhere", "--endpoint-url", "http://127.0.0.1:9"]) == 3
    assert "bucket 'nowhere' is not reachable" in capsys.readouterr().err


def test_the_model_registry_commands(
    capsys: pytest.CaptureFixture[str], s3: Any, pitch_model: Any, synthetic_challenger_dir: Path
) -> None:
    """publish --challenger, list, compare (the table and --json), fetch, and the errors each names."""
    from tests.conftest import BUCKET
    from tests.unit.test_batch_run import day_files, two_days
    from windpitch_batch.config import BatchConfig
    from windpitch_batch.run import run_batch
    from windpitch_batch.store import S3Store

    bucket = ["--bucket", BUCKET]
    assert main(["model", "compare", *bucket]) == 0
    assert "not run since" in capsys.readouterr().out
    assert main(["model", "publish", "--model-dir", str(synthetic_challenger_dir), "--challenger", *bucket]) == 0
    version = json.loads(capsys.readouterr().out)["version"]
    day_files(s3, two_days())
    run_batch(S3Store(BUCKET, s3), pitch_model, BatchConfig(bucket=BUCKET))

    assert main(["model", "list", *bucket]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["challenger"] == version and listed["live"] == pitch_model.info.version
    assert [(v["version"], v["role"]) for v in listed["versions"]] == [(version, "challenger")]
    assert main(["model", "compare", *bucket]) == 0
    table = capsys.readouterr().out
    assert f"against challenger {version}" in table and "R80711" in table and "overall" in table
    assert main(["model", "compare", "--json", *bucket]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "compared"

    assert main(["model", "challenger", "no-such-version", *bucket]) == 3
    assert "unknown model version 'no-such-version'" in capsys.readouterr().err
    elsewhere = str(synthetic_challenger_dir.parent / "fetched")
    assert main(["model", "fetch", "no-such-version", "--out", elsewhere, *bucket]) == 3
    assert main(["model", "publish", "--model-dir", "/nonexistent", *bucket]) == 3
    assert "no model card" in capsys.readouterr().err
    assert main(["model", "challenger", *bucket]) == 2
    assert main(["model", "challenger", "--clear", *bucket]) == 0
    assert main(["model", "list", *bucket]) == 0
    assert json.loads(capsys.readouterr().out)["challenger"] is None


def test_a_new_machine_reaches_the_local_stack_without_aws_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No keys, no region, no ~/.aws: against the local emulator the CLI's clients still work (moto takes any
    keys); against any other endpoint nothing is made up."""
    from windpitch_batch.store import client

    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))

    local = client("sqs", "http://127.0.0.1:5000")
    assert local.meta.region_name == "eu-west-3"
    assert local._request_signer._credentials.access_key == "local"
    remote = client("s3", "https://s3.eu-west-3.amazonaws.com", region_name="eu-west-3")
    assert remote._request_signer._credentials is None, "no keys invented for a real endpoint"
