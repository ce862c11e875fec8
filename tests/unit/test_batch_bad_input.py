"""Bad raw files and rows: quarantined with a reason, never stopping the run or costing the good rows."""

from __future__ import annotations

import csv
import gzip
import io
import json
from typing import Any

import pandas as pd
import pytest

from tests.conftest import BUCKET, OPENOA_HEADER, bucket_snapshot, scada_bytes, synthetic_scada
from windpitch_batch.config import BatchConfig
from windpitch_batch.keys import digest
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store

CONFIG = BatchConfig(bucket=BUCKET)
GOOD_ROWS = 96


def good_frame() -> pd.DataFrame:
    return synthetic_scada(GOOD_ROWS // 2, seed=3, freq="10min", start="2015-05-01")


def good_lines() -> list[str]:
    return scada_bytes(good_frame()).decode().rstrip("\n").split("\n")


def body(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


BAD_FILES: dict[str, tuple[bytes, int, str]] = {
    # kind: (bytes, rows the file holds, words the reason must contain)
    "empty": (b"", 0, "empty"),
    "header only": (OPENOA_HEADER.encode() + b"\n", 0, "header only"),
    "wrong delimiter": (body([line.replace(",", "\t") for line in good_lines()]), GOOD_ROWS, "missing column"),
    "missing columns": (
        body([",".join(line.split(",")[2:]) for line in good_lines()]),
        GOOD_ROWS,
        "missing column(s) Wind_turbine_name, Date_time",
    ),
    "garbage bytes": (bytes(range(256)) * 8, 0, "not a text CSV"),
    "truncated gzip": (gzip.compress(body(good_lines()), mtime=0)[:-40], 0, "cannot decompress"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_file_is_quarantined_whole_and_the_good_file_beside_it_is_scored(
    kind: str, s3: Any, store: S3Store, pitch_model: Any
) -> None:
    data, rows, reason = BAD_FILES[kind]
    s3.put_object(Bucket=BUCKET, Key="raw/a-good.csv", Body=scada_bytes(good_frame()))
    s3.put_object(Bucket=BUCKET, Key="raw/b-bad.csv", Body=data)

    manifest = run_batch(store, pitch_model, CONFIG).as_dict()

    assert manifest["files_in"] == 2
    assert manifest["files_rejected"] == 1
    good, bad = manifest["inputs"]
    assert good["rows_scored"] == GOOD_ROWS
    assert bad["rows_scored"] == 0
    assert reason in bad["rejected_file"]
    if kind != "truncated gzip":  # a truncated file's rows cannot be counted
        assert bad["rows_in"] == bad["rows_rejected"] == rows
    assert manifest["rows_in"] == manifest["rows_scored"] + manifest["rows_rejected"]
    quarantine = bucket_snapshot(s3, f"quarantine/{digest('raw/b-bad.csv')}/")
    report = json.loads(quarantine.pop(f"quarantine/{digest('raw/b-bad.csv')}/report.json"))
    assert reason in report["reason"]
    assert report["key"] == "raw/b-bad.csv"
    assert list(quarantine.values()) == [data], "the file is kept as it was sent"
    assert run_batch(store, pitch_model, CONFIG).as_dict() == {"status": "nothing to do"}, "not retried forever"


def test_bad_rows_are_quarantined_with_line_and_reason_and_the_rest_is_scored(
    s3: Any, store: S3Store, pitch_model: Any
) -> None:
    lines = good_lines()
    header, rows = lines[0], lines[1:]
    fields = header.split(",")
    first = rows[0].split(",")

    def row(**changes: str) -> str:
        cells = dict(zip(fields, first, strict=True)) | changes
        return ",".join(cells[f] for f in fields)

    bad = {
        "duplicate of an earlier row": rows[0],
        "unknown turbine 'R99999'": row(Wind_turbine_name="R99999"),
        "Wind_turbine_name: missing": row(Wind_turbine_name=""),
        "Date_time: timestamp has no UTC offset": row(Date_time="2015-05-01T00:00:00"),
        "Date_time: not an ISO 8601 timestamp": row(Date_time="yesterday"),
        "Ws_avg: not a number": row(Ws_avg="fast", Date_time="2015-06-01T00:00:00+00:00"),
        "Ot_avg: out of range: -300 deg_C is outside [-40, 60]": row(
            Ot_avg="-300", Date_time="2015-06-02T00:00:00+00:00"
        ),
        "no measurements": row(**dict.fromkeys(fields[2:], ""), Date_time="2015-06-03T00:00:00+00:00"),
        "line does not have the header's 9 fields": rows[1] + ",1.0",
    }
    sent = [header, *rows[:10], *bad.values(), *rows[10:]]
    s3.put_object(Bucket=BUCKET, Key="raw/mixed.csv", Body=body(sent))

    manifest = run_batch(store, pitch_model, CONFIG).as_dict()

    assert manifest["rows_in"] == len(sent) - 1
    assert manifest["rows_scored"] == GOOD_ROWS
    assert manifest["rows_rejected"] == len(bad)
    base = f"quarantine/{digest('raw/mixed.csv')}/"
    text = bucket_snapshot(s3, base)[base + "rows.csv"].decode()
    head, *quarantined = list(csv.reader(io.StringIO(text)))
    assert head == ["line", "reason", *fields]
    assert [int(q[0]) for q in quarantined] == list(range(12, 12 + len(bad)))
    for (expected, original), got in zip(bad.items(), quarantined, strict=True):
        assert expected in got[1], (expected, got[1])
        assert ",".join(got[2:]) == original, "the row is quoted as it was sent"
    report = json.loads(bucket_snapshot(s3, base)[base + "report.json"])
    assert report["rows_rejected"] == len(bad)
    assert sum(report["by_reason"].values()) == len(bad)


def test_a_raw_file_in_engie_full_export_shape_is_scored(s3: Any, store: S3Store, pitch_model: Any) -> None:
    """ENGIE's own export: semicolon-separated; the batch reads the same shapes as training."""
    s3.put_object(Bucket=BUCKET, Key="raw/engie.csv.gz", Body=scada_bytes(good_frame(), gz=True, sep=";"))
    manifest = run_batch(store, pitch_model, CONFIG).as_dict()
    assert (manifest["rows_scored"], manifest["rows_rejected"]) == (GOOD_ROWS, 0)
