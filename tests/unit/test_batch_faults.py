"""S3 faults during a run: transient errors are retried; a run that cannot finish publishes no
manifest, and the next run completes with every row accounted for once."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from tests.conftest import BUCKET, bucket_snapshot, scada_bytes, synthetic_scada
from windpitch_batch.config import BatchConfig
from windpitch_batch.run import run_batch
from windpitch_batch.store import S3Store

CONFIG = BatchConfig(bucket=BUCKET)


class FailingStore(S3Store):
    """Raises an S3 error (as left after the SDK's retries) on the first call matching ``when``."""

    def __init__(self, client: Any, when: Callable[[str, str], bool]) -> None:
        super().__init__(BUCKET, client)
        self.when = when
        self.failed = False

    def _maybe_fail(self, action: str, key: str) -> None:
        if not self.failed and self.when(action, key):
            self.failed = True
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, action)

    def get(self, key: str) -> tuple[bytes, str]:
        self._maybe_fail("get", key)
        return super().get(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream", **kw: Any) -> str:
        self._maybe_fail("put", key)
        return super().put(key, data, content_type, **kw)


def three_files(client: Any) -> pd.DataFrame:
    frame = synthetic_scada(144 * 3, seed=9, freq="10min", start="2015-02-01", turbines=("R80711", "R80790"))
    stamps = pd.to_datetime(frame["Date_time"], utc=True).dt.strftime("%Y-%m-%d")
    for day, rows in frame.groupby(stamps):
        client.put_object(Bucket=BUCKET, Key=f"raw/{day}.csv", Body=scada_bytes(rows))
    return frame


FAULTS: dict[str, Callable[[str, str], bool]] = {
    "reading a raw file": lambda action, key: action == "get" and key.startswith("raw/") and "02-02" in key,
    "staging a unit's outputs": lambda action, key: action == "put" and key.startswith("state/staged/"),
    "reading a staged bundle": lambda action, key: action == "get" and key.startswith("state/staged/"),
    "publishing a Parquet part": lambda action, key: action == "put" and key.startswith("predictions/date=2015-02-03"),
    "writing dashboard state": lambda action, key: action == "put" and key.startswith("dashboard/turbines/"),
    "writing the ledger": lambda action, key: action == "put" and key.startswith("state/ledger/"),
    "writing the manifest": lambda action, key: action == "put" and key.startswith("manifests/"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failed_run_publishes_no_manifest_and_the_next_run_recovers(
    fault: str, s3: Any, store: S3Store, pitch_model: Any
) -> None:
    frame = three_files(s3)
    failing = FailingStore(s3, FAULTS[fault])

    with pytest.raises(ClientError, match="injected"):
        run_batch(failing, pitch_model, CONFIG).as_dict()

    assert failing.failed
    assert not bucket_snapshot(s3, "manifests/"), "nothing is committed"
    assert "dashboard/manifest.json" not in bucket_snapshot(s3, "dashboard/")
    assert not bucket_snapshot(s3, "state/leases/"), "a failed run releases its leases"

    manifest = run_batch(store, pitch_model, CONFIG).as_dict()

    assert manifest["files_in"] == 3
    assert manifest["rows_in"] == manifest["rows_scored"] + manifest["rows_rejected"] == len(frame)
    parts = bucket_snapshot(s3, "predictions/")
    published = pd.concat([pd.read_parquet(io.BytesIO(b)) for b in parts.values()], ignore_index=True)
    assert len(published) == len(frame)
    assert not published.duplicated(["turbine", "timestamp"]).any()
    assert run_batch(store, pitch_model, CONFIG).as_dict() == {"status": "nothing to do"}


def test_transient_s3_errors_are_retried_by_the_sdk(s3: Any, store: S3Store, pitch_model: Any) -> None:
    """503 SlowDown on writes: botocore's standard retry mode backs off and retries; the run succeeds."""
    frame = three_files(s3)
    attempts = {"throttled": 0}

    def slow_down(request: Any, **_: Any) -> AWSResponse | None:
        if request.method == "PUT" and attempts["throttled"] < 3:
            attempts["throttled"] += 1
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            raw = type("Raw", (), {"stream": lambda self, **_: iter([body])})()
            return AWSResponse(request.url, 503, {}, raw)
        return None

    s3.meta.events.register_first("before-send.s3.PutObject", slow_down)
    try:
        manifest = run_batch(store, pitch_model, CONFIG).as_dict()
    finally:
        s3.meta.events.unregister("before-send.s3.PutObject", slow_down)

    assert attempts["throttled"] == 3
    assert manifest["rows_scored"] == len(frame), (
        manifest["files_in"],
        manifest["files_left_for_next_run"],
        manifest["inputs"],
    )
