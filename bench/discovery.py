"""A scheduled run's cost on a bucket with a year of history, against one day of it (issue 21).

    .venv/bin/python bench/discovery.py [--days 365 1] [--repeats 1] [--data PATH]

Needs the real data (``../shared/data/la-haute-borne/``, ``$WINDPITCH_DATA`` or ``--data``). Its ten-minute
intervals become raw files as the replay lays them out (``raw/replay/YYYY/MM/DD/scada-YYYYMMDDTHHMMZ.csv``, the
four turbines' rows of one interval each, about 400 bytes): the data's last interval is the one new file that
lands, and the ``--days`` × 144 intervals before it are the history. moto in-process (``mock_aws``).

The history is what that many committed ten-minute runs leave, put straight into moto's backend (setup, not
measured):

* every raw file and its ledger entry (written by :func:`windpitch_batch.ledger.record`: the whole file as one
  unit, the outputs it published);
* the monitoring counts of each file of the monitoring window's last 28 days (``monitoring/counts/``), computed
  from the files' scored rows as the score stage computes them, and the daily sums the commits kept of them
  (``monitoring/counts/daily/``, which every commit reads back: :mod:`windpitch_batch.daily`);
* the turbines' dashboard states, merged from the same rows by the pipeline's own ``update_dashboard``.

Predictions, manifests and counts older than the window are left out: no step of a scheduled run lists or reads
them (moto would only scan them). Then, each on a fresh copy of the history:

* **deployed**: the new file's S3 notification (the queue message) → ``work_message`` (WorkerFunction) →
  ``commit(..., marks={"fanned_out": True})`` (the scheduled BatchFunction with a queue); and, beside it, the
  hourly ``Reconcile`` (``reconcile``: raw/ against the ledger, once an hour rather than every ten minutes);
* **run_batch**: ``python -m windpitch batch``, the scheduled BatchFunction on a bucket without a queue.

Requests are counted by kind with a botocore ``before-call`` hook on the clients (each ``ListObjectsV2`` page is
one request). Seconds are each step's wall time, and beside them the seconds spent inside requests (summed over
the threads that made them). moto answers every listing page by scanning all the bucket's keys, so its seconds
inside requests grow with the bucket where S3's would not: the counts are the part that carries over to AWS.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import boto3
import numpy as np
import pandas as pd
from common import S3_KINDS, Meter, Step, machine
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from windpitch.errors import DataError
from windpitch.predict import load_model
from windpitch.runtime import PitchModel
from windpitch_batch import daily, keys, ledger
from windpitch_batch.commit import commit
from windpitch_batch.config import BatchConfig
from windpitch_batch.monitoring import count_uploads, unit_counts
from windpitch_batch.outputs import json_bytes
from windpitch_batch.plan import UnitRef
from windpitch_batch.publish import update_dashboard
from windpitch_batch.reconcile import reconcile
from windpitch_batch.replay import ReplayFile, plan_replay
from windpitch_batch.run import run_batch
from windpitch_batch.score import UnitResult, send_to, work_message
from windpitch_batch.store import S3Store
from windpitch_frames.loading import load_scada
from windpitch_frames.scoring import score_frame
from windpitch_train.datasets import resolve_data_path

BUCKET = "windpitch-discovery"
REGION = "eu-west-3"
PER_DAY = 144  # ten-minute files


@dataclass(frozen=True)
class History:
    """A bucket's content before the new file lands, and the new file."""

    days: int
    objects: list[tuple[str, bytes]]  # raw files, ledger entries, monitoring counts
    recent: pd.DataFrame  # the window's scored rows, merged into the turbines' states
    new: ReplayFile


class Collect(S3Store):
    """A store that only collects what is put (the ledger's own entries, built without a round trip)."""

    def __init__(self) -> None:  # no client: nothing is sent
        self.bucket = BUCKET
        self.objects: list[tuple[str, bytes]] = []

    def put(self, key: str, data: bytes, content_type: str = "", **_: Any) -> str:
        self.objects.append((key, data))
        return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag of a single-part upload


def build(files: list[ReplayFile], days: int, model: PitchModel, config: BatchConfig) -> History:
    """The last ``days`` × 144 files before the data's last one as committed history; the last one is new."""
    past = files[-(days * PER_DAY + 1) : -1]
    collect = Collect()
    raw_etags = {}
    for item in past:
        etag = hashlib.md5(item.body).hexdigest()  # noqa: S324 - S3's ETag of a single-part upload
        raw_etags[item.key] = etag
        ref = UnitRef(item.key, etag, 0, 1)  # a ten-minute file is one unit
        day = f"{item.start:%Y-%m-%d}"
        outputs = [keys.prediction_part(day, ref.part()), keys.dated_part(keys.MONITORING_COUNTS, day, ref.part())]
        ledger.record(collect, ledger.Entry(
            key=item.key, etag=etag, unit=ref.unit(), slice=0, slices=1, model_version=model.info.version,
            run_id=keys.digest("history", item.key), committed_at=item.start.isoformat(),
            rows_in=item.rows, rows_scored=item.rows, outputs=outputs,
        ))  # fmt: skip
    window = config.monitoring.window_days * PER_DAY
    recent, counts = score_recent(past[-window:], raw_etags, model, config)
    objects = [(item.key, item.body) for item in past] + collect.objects + counts
    return History(days, objects, recent, files[-1])


def score_recent(
    items: list[ReplayFile], etags: dict[str, str], model: PitchModel, config: BatchConfig
) -> tuple[pd.DataFrame, list[tuple[str, bytes]]]:
    """The files' rows scored in one pass, and each file's monitoring counts as its unit would have staged them."""
    header = items[0].body.split(b"\n", 1)[0]
    bodies = [item.body.split(b"\n", 1)[1] for item in items]
    frame, _ = load_scada(header + b"\n" + b"".join(bodies), name="history", keep_invalid=True, farm=model.farm)
    scored, rejected, inputs = score_frame(frame, model, config.detector)
    # Which file each row came from: scored rows by their interval, rejected rows by their line.
    index = {item.start: k for k, item in enumerate(items)}
    of_scored = scored["timestamp"].dt.floor("10min").map(index).to_numpy()
    ends = np.cumsum([item.rows for item in items])
    of_rejected = np.searchsorted(ends, rejected["line"].to_numpy() - 2, side="right")
    rejected_per_file = np.bincount(of_rejected, minlength=len(items))
    uploads = []
    for k, item in enumerate(items):
        rows = np.flatnonzero(of_scored == k)
        part = UnitRef(item.key, etags[item.key], 0, 1).part()
        by_day = unit_counts(scored.iloc[rows], inputs[rows], model, int(rejected_per_file[k]))
        uploads += [(key, body) for key, body, _ in count_uploads(part, by_day)]
    return scored.assign(shadow_expected_deg=np.nan), uploads + daily_sums(uploads)


def daily_sums(uploads: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The daily sums the commits that published these counts kept (windpitch_batch.daily's layout): each day's
    parts, each part's days, and the marker that the bucket's counts are folded."""
    prefix, by_day, days_of = keys.MONITORING_COUNTS, defaultdict(dict), {}
    for key, body in uploads:
        part = daily.parse(key)[1]  # type: ignore[index]
        days = json.loads(body)["days"]
        for day, counts in days.items():
            by_day[day][part] = counts
        days_of[part] = sorted(days)
    return (
        [(daily.day_key(prefix, day), json_bytes({"parts": parts})) for day, parts in by_day.items()]
        + [(daily.index_key(prefix, part), json_bytes({"days": days})) for part, days in days_of.items()]
        + [(daily.marker_key(prefix), json_bytes({"folded": "by the history's commits"}))]
    )


def lay(history: History, s3: Any, model: PitchModel, config: BatchConfig) -> None:
    """The history into a fresh bucket: objects straight into moto's backend, the turbines' states by the
    pipeline's own merge (through the SDK, unmeasured)."""
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key, body in history.objects:
        backend.put_object(BUCKET, key, body)
    last = history.objects[history.days * PER_DAY - 1][0]
    update_dashboard(S3Store(BUCKET, s3), model, config, [UnitResult(UnitRef(last, ""), scored=history.recent)],
                     run_id="history", now=pd.Timestamp.now(tz="UTC").to_pydatetime())  # fmt: skip


def notification(key: str, etag: str, size: int) -> str:
    """The message S3 puts on the queue when a raw file lands (the shape of events/worker/s3_notification.json)."""
    record = {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION, "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": size, "eTag": etag}},
    }  # fmt: skip
    return json.dumps({"Records": [record]})


def measure(history: History, path: str, model: PitchModel, config: BatchConfig) -> dict[str, Step]:
    """One path's steps on a fresh copy of ``history`` after its new file landed."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        lay(history, s3, model, config)
        new = history.new
        etag = s3.put_object(Bucket=BUCKET, Key=new.key, Body=new.body)["ETag"].strip('"')  # lands: not counted
        queue = sqs.create_queue(QueueName="windpitch-units")["QueueUrl"]
        store, meter = S3Store(BUCKET, s3), Meter(s3, sqs)
        steps: dict[str, Step] = {}
        if path == "deployed":
            body = notification(new.key, etag, len(new.body))
            with meter.step() as steps["worker"]:
                worked = work_message(store, model, config, body, send=send_to(sqs, queue))
            with meter.step() as steps["commit"]:
                outcome = commit(store, model, config, marks={"fanned_out": True})
            with meter.step() as steps["reconcile"]:
                found = reconcile(store, send_to(sqs, queue))
            check([w.status for w in worked] == ["scored"] and found["queued"] == 0, path, outcome.as_dict())
        else:
            with meter.step() as steps["run_batch"]:
                outcome = run_batch(store, model, config)
        check(outcome.committed and (outcome.manifest or {}).get("rows_in") == new.rows, path, outcome.as_dict())
    return steps


def check(ok: bool, path: str, outcome: dict[str, Any]) -> None:
    if not ok:
        raise SystemExit(f"{path}: the new file was not committed alone: {json.dumps(outcome)[:1000]}")


def median_step(runs: list[Step]) -> Step:
    """The median seconds of repeated runs; their requests (the same every run, or it says so)."""
    if any(r.requests != runs[0].requests for r in runs):
        raise SystemExit(f"requests differ between repeats: {[dict(r.requests) for r in runs]}")
    middle = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return Step(statistics.median(r.seconds for r in runs), runs[0].requests, middle.spent)


def row(label: str, step: Step) -> str:
    s3 = [step.requests.get(f"s3 {kind}", 0) for kind in S3_KINDS]
    other = {k: n for k, n in step.requests.items() if k.removeprefix("s3 ") not in S3_KINDS}
    others = ", ".join(f"{k} {n}" for k, n in sorted(other.items())) or "—"
    cells = [label, f"{step.seconds:.2f}", f"{step.inside:.2f}", *map(str, s3), str(sum(s3)), others]
    return "| " + " | ".join(cells) + " |"


def spent(label: str, step: Step) -> str:
    """Where a step's seconds went: inside each kind of request (ms per request), and outside any."""
    cells = [f"{step.spent.get(f's3 {k}', 0):.2f} ({1000 * step.spent.get(f's3 {k}', 0) / n:.1f})"
             if (n := step.requests.get(f"s3 {k}", 0)) else "—" for k in S3_KINDS]  # fmt: skip
    return "| " + " | ".join([label, *cells, f"{step.seconds - step.inside:.2f}"]) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, nargs="+", default=[365, 1], help="days of history, one case each")
    parser.add_argument("--repeats", type=int, default=1, help="fresh buckets per case and path (median seconds)")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)  # noqa: S106
    try:
        data = resolve_data_path(args.data)
    except DataError as exc:
        raise SystemExit(f"bench/discovery.py needs the real data: {exc}") from None
    files = plan_replay(gzip.decompress(data.read_bytes()).decode(), start="2013-12-31").files
    model, config = load_model(), BatchConfig(bucket=BUCKET)
    print(machine())
    print(f"one new file ({files[-1].key}, {files[-1].rows} rows) after N committed ten-minute files; moto in-process;")
    print(f"seconds: median of {args.repeats} fresh bucket(s) per case and path; requests: the same every time\n")
    print("| history | path: step | s | s in requests | LIST pages | GET | PUT | COPY | DELETE | S3 total | other |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    totals: list[tuple[str, Step]] = []
    for days in args.days:
        history = build(files, days, model, config)
        label = f"{days} day{'s' * (days > 1)} ({days * PER_DAY:,} files)"
        for path in ("deployed", "run_batch"):
            runs = [measure(history, path, model, config) for _ in range(args.repeats)]
            steps = {name: median_step([r[name] for r in runs]) for name in runs[0]}
            if path == "deployed":
                deployed = steps["worker"] + steps["commit"]
                print(row(f"{label} | deployed: worker (work_message)", steps["worker"]), flush=True)
                print(row(f"{label} | deployed: commit", steps["commit"]), flush=True)
                print(row(f"{label} | **deployed, per new file**", deployed), flush=True)
                print(row(f"{label} | deployed: hourly reconcile", steps["reconcile"]), flush=True)
                totals += [(f"{label} | deployed, per new file", deployed),
                           (f"{label} | deployed: hourly reconcile", steps["reconcile"])]  # fmt: skip
            else:
                print(row(f"{label} | **run_batch, per new file**", steps["run_batch"]), flush=True)
                totals.append((f"{label} | run_batch, per new file", steps["run_batch"]))
        del history
    print("\nwhere the seconds go (moto in-process): inside each kind of request, s (ms per request), and outside\n")
    print("| history | path | LIST | GET | PUT | COPY | DELETE | outside requests (s) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, step in totals:
        print(spent(label, step))


if __name__ == "__main__":
    main()
