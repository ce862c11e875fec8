"""The whole local stack, without Docker: S3 (moto's server), the scheduled batch, the replay, the API.

    python -m windpitch_local stack [--speed 60] [--start 2015-06-01] [--backfill-days 7]

* S3: moto's server on 127.0.0.1:5000 with bucket ``windpitch-local``; every function and tool here
  reaches it through ``AWS_ENDPOINT_URL_S3``.
* Replay: the real La Haute Borne data into ``raw/`` in time order (:mod:`windpitch_batch.replay`),
  a backfill first so the dashboard has a window at once, then one file per ten-minute interval.
* Batch: ``BatchFunction`` from template.yaml, invoked in-process on its schedule with the event
  ``sam local generate-event cloudwatch scheduled-event`` produced (events/batch/scheduled.json).
  Local time runs ``speed`` times faster than real time, the schedule included: at 60x the 10-minute
  rate fires every 10 s, as each replayed interval lands.
* API: the template's API on 127.0.0.1:3000 (:mod:`windpitch_local.api`).
* Dashboard: the built page on 127.0.0.1:8080, its data from the bucket through the same origin
  (:mod:`windpitch_local.dashboard`); it calls the API on :3000, another origin, as in production.

Everything listens on 127.0.0.1 and stops with the process (Ctrl-C).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import signal
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from samcli.local.docker.exceptions import ProcessSigTermException

from .api import build_service
from .console import Router, log_requests
from .dashboard import DashboardServer
from .s3 import MotoServer

ROOT = Path(__file__).resolve().parents[1]
SCHEDULED_EVENT = ROOT / "events" / "batch" / "scheduled.json"
BUCKET = "windpitch-local"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class StackConfig:
    api_port: int = 3000
    s3_port: int = 5000
    dashboard_port: int = 8080
    speed: float = 60.0  # local time runs this many times faster than real time
    start: str = "2015-06-01"
    days: float | None = None
    backfill_days: float = 7.0
    data: str | None = None
    demo_fault: str | None = None  # TURBINE,START,HOURS,DEGREES added to the replayed pitch (labelled as such)
    challenger: Path | None = None  # a trained model folder, published to the registry and scored in shadow
    workers: int = 2  # WorkerFunction processes on the queue (the fan-out); 0: the scheduled run scores inline
    log_file: Path = ROOT / ".local-stack" / "lambda.jsonl"  # the functions' structured logs and metrics

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"


class _Stopped(Exception):
    """The stack is shutting down."""


class Scheduler(threading.Thread):
    """Invokes one function every ``every_s`` seconds with a fresh copy of the scheduled event."""

    def __init__(self, runner: Any, function: str, every_s: float, stop: threading.Event) -> None:
        super().__init__(name=f"schedule-{function}", daemon=True)
        self.runner, self.function, self.every_s, self.stop = runner, function, every_s, stop
        self.runs = 0

    def run(self) -> None:
        while not self.stop.is_set():
            event = json.loads(SCHEDULED_EVENT.read_text())
            event |= {"id": str(uuid.uuid4()), "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
            answer = _Answer()
            self.runner.invoke(self.function, json.dumps(event), stdout=answer)
            self.runs += 1
            line = answer.line(self.function)
            if line:
                print(line, flush=True)
            self.stop.wait(self.every_s)


class _Answer:
    """Collects an invocation's response (the runner writes it as a Lambda's) for a one-line summary."""

    def __init__(self) -> None:
        self.text = ""

    def write_str(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        return

    def line(self, function: str) -> str:
        """A failed run always says why; a run that committed says what; an idle one says nothing."""
        try:
            answer = json.loads(self.text or "{}")
        except ValueError:
            return f"{function}: unreadable response {self.text[:80]!r}"
        if "errorMessage" in answer:
            return f"batch FAILED ({function}): {answer.get('errorType')}: {answer['errorMessage']}"
        if "run_id" in answer:
            events = answer.get("anomalies", {})
            return (
                f"batch {answer.get('files_in', 0)} files, {answer.get('rows_scored', 0):,} rows scored, "
                f"{answer.get('rows_rejected', 0):,} rejected; {events.get('events', 0)} fault events "
                f"({events.get('open', 0)} open)" + _shadow_note(answer.get("shadow") or {})
            )
        return ""


def _shadow_note(shadow: dict[str, Any]) -> str:
    """The challenger's standing in a few words: its producing MAE against the live one's, or why it is refused."""
    if shadow.get("status") == "refused":
        return f"; challenger REFUSED: {str(shadow.get('challenger', {}).get('refused'))[:100]}"
    if shadow.get("status") == "compared":
        live, challenger = shadow["overall"]["live"]["mae"], shadow["overall"]["challenger"]["mae"]
        if live is not None and challenger is not None:
            return f"; challenger MAE {challenger:.3f}° vs live {live:.3f}°"
    return ""


def start_s3(config: StackConfig) -> MotoServer:
    """moto's S3 server on 127.0.0.1 with the bucket; the caller stops it."""
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        os.environ.setdefault(name, value)  # moto takes any; boto3 only needs some
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    os.environ["AWS_ENDPOINT_URL_S3"] = config.endpoint
    os.environ["AWS_ENDPOINT_URL_SQS"] = config.endpoint  # moto's server answers for every service
    server = MotoServer(config.s3_port).start()
    try:
        client = boto3.client("s3", endpoint_url=config.endpoint)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    except Exception:
        server.stop()
        raise
    return server


def publish_challenger(config: StackConfig) -> str:
    """Publish ``config.challenger`` to the bucket's registry and point the batch at it; return its version."""
    from windpitch_batch import registry
    from windpitch_batch.store import S3Store

    store = S3Store.connect(BUCKET, config.endpoint)
    now = datetime.now(UTC)
    version = str(registry.publish(store, Path(str(config.challenger)), now)["version"])
    registry.set_challenger(store, version, now)
    return version


def start_queue(config: StackConfig) -> str:
    """The work queue and its dead-letter queue on moto, fed by the bucket's notifications of raw/."""
    from windpitch_cli.workers import ensure_queues, notify_raw

    sqs = boto3.client("sqs", endpoint_url=config.endpoint)
    queue_url, _ = ensure_queues(sqs)
    notify_raw(boto3.client("s3", endpoint_url=config.endpoint), BUCKET, sqs, queue_url)
    return queue_url


def start_workers(config: StackConfig, runner: Any, queue_url: str, stop: threading.Event) -> threading.Thread:
    """``config.workers`` processes running WorkerFunction under the emulated SQS event source mapping, each
    with the function's environment from the template and the built layers first, until the stack stops."""
    from windpitch_cli.workers import run_workers

    env = {
        **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        **runner.environment(runner.functions["WorkerFunction"]),
    }
    thread = threading.Thread(
        target=run_workers,
        args=(config.workers, config.endpoint, queue_url, env),
        kwargs={"layers": [str(p) for p in runner.layer_paths], "log": config.log_file, "until": stop.is_set},
        name="workers",
        daemon=True,
    )
    thread.start()
    return thread


def start_replay(config: StackConfig, stop: threading.Event) -> threading.Thread:
    # Imported here, once the runner has put the built layers first on sys.path (as /opt/python).
    from windpitch_batch.replay import InjectedFault, plan_replay, replay
    from windpitch_batch.store import S3Store
    from windpitch_train.datasets import resolve_data_path

    raw = resolve_data_path(config.data).read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    faults = (InjectedFault.parse(config.demo_fault),) if config.demo_fault else ()
    for fault in faults:
        print(f"  demo fault {fault.describe()}: injected into the replay, not in the recorded data", flush=True)
    plan = plan_replay(text, start=config.start, days=config.days, backfill_days=config.backfill_days, faults=faults)
    store = S3Store.connect(BUCKET, config.endpoint)

    def pause(seconds: float) -> None:
        if stop.wait(seconds):
            raise _Stopped

    def feed() -> None:
        try:
            replay(plan, store, speed=config.speed, progress=False, sleep=pause)
        except _Stopped:
            return

    thread = threading.Thread(target=feed, name="replay", daemon=True)
    thread.start()
    return thread


def run(config: StackConfig, parameter_overrides: dict[str, str] | None = None) -> None:
    """Bring everything up, print the URLs, serve until interrupted, then stop everything."""
    stop = threading.Event()
    # A terminated stack (SIGTERM, as from a test or a supervisor) stops its S3 server like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # The functions' JSON logs go to a file, before their modules are imported (Powertools binds stdout then).
    config.log_file.parent.mkdir(parents=True, exist_ok=True)
    config.log_file.write_text("")  # a fresh file, then appended to: the worker processes append to it too
    console, log = sys.stdout, config.log_file.open("a", encoding="utf-8")
    sys.stdout = Router(console, log)
    server = start_s3(config)
    workers: threading.Thread | None = None
    try:
        overrides = dict(parameter_overrides or {})
        overrides.setdefault("AllowedOrigin", f"http://{HOST}:{config.dashboard_port}")  # CORS: the page's origin
        queue_url = start_queue(config) if config.workers else None
        # !Ref DataBucket and !Ref UnitsQueue have no local value; without workers the batch scores inline.
        local = {"WINDPITCH_BUCKET": BUCKET, "WORK_QUEUE_URL": queue_url or ""}
        service, runner = build_service(
            HOST,
            config.api_port,
            parameter_overrides=overrides,
            overrides={"BatchFunction": local, "WorkerFunction": local},
        )
        for function in runner.functions.values():
            runner.handler(function)
        runner.check_layers()
        minutes = float(overrides.get("BatchScheduleMinutes", 10))
        every_s = minutes * 60 / config.speed if config.speed > 0 else 5.0
        # The page calls the API from another origin: the API's CORS must allow the dashboard's.
        dashboard = DashboardServer(
            config.dashboard_port,
            boto3.client("s3", endpoint_url=config.endpoint),
            BUCKET,
            {"api": f"http://{HOST}:{config.api_port}", "stale_after_seconds": 2 * every_s,
             "refresh_seconds": max(2.0, every_s)},
        )  # fmt: skip
        dashboard.start()
        log_requests(service._app, console)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its request lines would repeat ours
        shadow = publish_challenger(config) if config.challenger else None
        workers = start_workers(config, runner, queue_url, stop) if queue_url else None
        start_replay(config, stop)
        Scheduler(runner, "BatchFunction", every_s, stop).start()
        print(f"windpitch local stack ({config.speed:g}x real time)", flush=True)
        print(f"  dashboard  http://{HOST}:{config.dashboard_port}/", flush=True)
        print(f"  API        http://{HOST}:{config.api_port}/health  /predict  /docs", flush=True)
        print(f"  S3 (moto)  {config.endpoint}  bucket {BUCKET}", flush=True)
        print(f"  batch      every {every_s:g} s (rate({minutes:g} minutes) / {config.speed:g})", flush=True)
        print(f"  replay     from {config.start} UTC, {config.backfill_days:g} days backfilled first", flush=True)
        print(f"  logs       {config.log_file} (the functions' JSON logs and metrics)", flush=True)
        if queue_url:
            print(f"  workers    {config.workers} WorkerFunction processes on {queue_url} (the batch aggregates)",
                  flush=True)  # fmt: skip
        if shadow:
            print(f"  challenger {shadow} in shadow (from {config.challenger}; python -m windpitch model compare "
                  f"--endpoint-url {config.endpoint})", flush=True)  # fmt: skip
        try:
            service.run()  # SAM's service turns SIGTERM into ProcessSigTermException
        except (KeyboardInterrupt, ProcessSigTermException):
            print("windpitch local stack: stopping", flush=True)
    finally:
        stop.set()
        if workers is not None:
            workers.join(timeout=60)  # the workers stop polling before the server they poll goes away
        server.stop()
        sys.stdout = console
        log.close()
