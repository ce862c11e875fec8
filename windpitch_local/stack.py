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

Everything listens on 127.0.0.1. Ctrl-C, SIGTERM and SIGHUP, to the stack or to its whole process group,
stop every part of it, children included, and free the ports (:mod:`windpitch_local.lifecycle`, the one place
that handles them). What the stack started is recorded in ``.local-stack/stacks/<pid>.json``: a stack killed
without stopping (SIGKILL) leaves its children, and the next stack names and stops them before it starts.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from werkzeug.serving import make_server

from .api import build_service
from .console import Router, log_requests
from .dashboard import DashboardServer
from .lifecycle import STATE_DIR, StackRecord, StopSignals, children_of_this_process, clear_leftovers, role_of
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
    state_dir: Path = STATE_DIR  # where each stack records what it started (windpitch_local.lifecycle)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    @property
    def ports(self) -> dict[str, int]:
        """Each server's port, by the name of its ``--<name>-port`` option."""
        return {"api": self.api_port, "s3": self.s3_port, "dashboard": self.dashboard_port}


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
        target=_until_stopped(run_workers, stop),
        args=(config.workers, config.endpoint, queue_url, env),
        kwargs={"layers": [str(p) for p in runner.layer_paths], "log": config.log_file, "until": stop.is_set},
        name="workers",
        daemon=True,
    )
    thread.start()
    return thread


def _until_stopped(target: Callable[..., None], stop: threading.Event) -> Callable[..., None]:
    """``target``, whose failure once the stack is stopping is part of stopping: a SIGTERM or SIGHUP to the
    process group ends the worker processes too, and ``run_workers`` may see them gone before the stop event."""

    def run(*args: Any, **kwargs: Any) -> None:
        try:
            target(*args, **kwargs)
        except Exception:
            if not stop.is_set():
                raise

    return run


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
    """Bring everything up, print the URLs, serve until Ctrl-C, SIGTERM or SIGHUP, then stop everything.

    Raises :class:`~windpitch_local.lifecycle.StackConflict` (an OSError) before starting anything when another
    stack, or anything else, holds one of the ports; a stack an earlier run left is stopped first."""
    stop = threading.Event()
    with StopSignals(stop) as signals:
        clear_leftovers(config.state_dir, config.ports)
        if stop.is_set():  # stopped while an earlier stack's leftovers were being stopped
            return
        record = StackRecord.create(config.state_dir, config.ports)
        # The functions' JSON logs go to a file, before their modules are imported (Powertools binds stdout then).
        config.log_file.parent.mkdir(parents=True, exist_ok=True)
        config.log_file.write_text("")  # a fresh file, then appended to: the worker processes append to it too
        console, log = sys.stdout, config.log_file.open("a", encoding="utf-8")
        sys.stdout = Router(console, log)
        # What was started, stopped in reverse order: the threads (which use the servers), then the servers.
        started = contextlib.ExitStack()
        started.callback(_forget, record, console)
        started.callback(_restore_stdout, console, log)
        try:
            _start_and_serve(config, parameter_overrides, stop, started, record, console)
            _say(console, f"windpitch local stack: stopping ({signals.received or 'stop requested'})")
        except _Stopped:  # stopped while it started: not an error
            _say(console, f"windpitch local stack: stopped while starting ({signals.received})")
        finally:
            stop.set()
            started.close()


def _start_and_serve(  # noqa: PLR0917 - run()'s state, passed once
    config: StackConfig,
    parameter_overrides: dict[str, str] | None,
    stop: threading.Event,
    started: contextlib.ExitStack,
    record: StackRecord,
    console: Any,
) -> None:
    """Start each part, registering how to stop it on ``started``; serve until ``stop`` is set.

    Signals only set ``stop`` (they never interrupt a step halfway, which is how a child got left running):
    between steps, :func:`check` ends the start once it is set."""

    def check() -> None:
        if stop.is_set():
            raise _Stopped

    server = start_s3(config)
    started.callback(server.stop)
    record.add_children(children_of_this_process())  # moto's server, at once: the first thing a SIGKILL would leave
    check()
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
    check()
    # The schedule as the template resolves it (its BatchScheduleMinutes, with any override): never restated here.
    minutes = float(runner.functions["BatchFunction"].environment["Variables"]["SCHEDULE_MINUTES"])
    every_s = minutes * 60 / config.speed if config.speed > 0 else 5.0
    # The page calls the API from another origin: the API's CORS must allow the dashboard's.
    dashboard = DashboardServer(
        config.dashboard_port,
        boto3.client("s3", endpoint_url=config.endpoint),
        BUCKET,
        {"api": f"http://{HOST}:{config.api_port}", "stale_after_seconds": 2 * every_s,
         "refresh_seconds": max(2.0, every_s)},
    )  # fmt: skip
    started.callback(dashboard.stop)
    dashboard.start()
    log_requests(service._app, console)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its request lines would repeat ours
    shadow = publish_challenger(config) if config.challenger else None
    check()
    if queue_url:
        workers = start_workers(config, runner, queue_url, stop)
        started.callback(workers.join, 60)  # the workers stop polling before the server they poll goes away
        _record_workers(record, config.workers)
    check()
    started.callback(start_replay(config, stop).join, 10)
    check()
    scheduler = Scheduler(runner, "BatchFunction", every_s, stop)
    scheduler.start()
    started.callback(scheduler.join, 60)  # a batch run in flight finishes before moto's server stops
    # SAM's LocalApigwService.run() would install its own SIGTERM handler (raising into the main thread, wherever
    # it is): its Flask app is served here instead, on a thread, so lifecycle.StopSignals alone handles signals.
    api = make_server(HOST, config.api_port, service._app, threaded=True)
    api_thread = threading.Thread(target=api.serve_forever, name="api", daemon=True)
    started.callback(_shut_down, api, api_thread)
    api_thread.start()
    _banner(config, every_s, minutes, queue_url, shadow, record)
    while not stop.wait(1.0):
        if not api_thread.is_alive():
            raise RuntimeError("the API server stopped on its own (see above)")


def _banner(  # noqa: PLR0917 - what the start found out, once
    config: StackConfig, every_s: float, minutes: float, queue_url: str | None, shadow: str | None, record: StackRecord
) -> None:
    """What runs where, and how to stop it."""
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
    print(f"  stop       Ctrl-C (or SIGTERM/SIGHUP to pid {os.getpid()}); recorded in {record.path}", flush=True)


def _record_workers(record: StackRecord, workers: int, wait_s: float = 10.0) -> None:
    """Record the worker processes, once they exist (``run_workers`` starts them on its own thread)."""
    deadline = time.monotonic() + wait_s
    found = children_of_this_process()
    while sum(role_of(p.command, {}) == "WorkerFunction worker" for p in found) < workers:
        if time.monotonic() > deadline:
            break  # recorded as far as they exist: the ones missing failed at start, and say so themselves
        time.sleep(0.1)
        found = children_of_this_process()
    record.add_children(found)


def _shut_down(server: Any, thread: threading.Thread) -> None:
    """Stop a server serving on ``thread`` and close its socket (the port is free once this returns)."""
    if thread.is_alive():
        server.shutdown()
        thread.join(timeout=10)
    server.server_close()


def _restore_stdout(console: Any, log: Any) -> None:
    sys.stdout = console
    log.close()


def _forget(record: StackRecord, console: Any) -> None:
    """Drop the stack's record, once nothing it names still runs (else the next start finds and stops it)."""
    left = record.close()
    if left:
        _say(console, "windpitch local stack: still running, left for the next start to stop: "
             + "; ".join(f"{role} {child.describe()}" for role, child in left))  # fmt: skip


def _say(console: Any, line: str) -> None:
    """A line on the console, if there still is one: after SIGHUP the terminal may be gone, and stopping goes on."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=console, flush=True)
