"""The commands of ``python -m windpitch {train,predict,schema,data,replay,batch,backfill,redrive,model}``.

Examples::

    python -m windpitch train --data ../shared/data/la-haute-borne/la-haute-borne-data-2014-2015.csv.gz
    python -m windpitch predict --Ws1_avg 10
    echo '{"records": [{"Ws_avg": 12, "P_avg": 2000}]}' | python -m windpitch predict --json -
    python -m windpitch schema
    python -m windpitch data fetch
    python -m windpitch replay --endpoint-url http://127.0.0.1:5000 --start 2015-06-01 --days 1 --speed 600
    python -m windpitch batch --endpoint-url http://127.0.0.1:5000
    python -m windpitch backfill --endpoint-url http://127.0.0.1:5000 --workers 4
    python -m windpitch model publish --model-dir build/candidate --challenger --endpoint-url http://127.0.0.1:5000
    python -m windpitch model compare --endpoint-url http://127.0.0.1:5000

Exit codes (:mod:`windpitch_cli.errors`, the one place errors become codes): 0 success; 1 some records
were rejected (the others are still in the output); 2 bad usage or unreadable input; 3 no usable model,
data or bucket; 4 an unexpected error (a bug: a one-line message, the traceback only with
``WINDPITCH_DEBUG=1``).

The command line is an adapter: it imports the serving core, the frame path, training and the batch's
S3 adapter; none of them imports it. ``python -m windpitch`` runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from windpitch.errors import DataError
from windpitch.records import object_pairs
from windpitch.schema import ALL_FIELDS, as_dict

from .errors import EXIT_REJECTED, EXIT_USAGE, UsageError, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every error becomes its documented exit code and a one-line message."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return run_command(args.handler, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m windpitch", description="Wind-turbine pitch model.")
    sub = parser.add_subparsers(dest="command")

    train = sub.add_parser("train", help="train, evaluate and export the model")
    train.add_argument("--data", help="SCADA CSV (default: $WINDPITCH_DATA, then the shared copy, then the cache)")
    train.add_argument(
        "--assets",
        help="the farm's asset table: Wind_turbine_name and Rated_power (kW) per turbine (default: "
        "the data's turbines, rated power learned from the power curve)",
    )
    train.add_argument("--out", help="artifact folder (default: the layer's windpitch/artifacts)")
    for name, default in (
        ("train-start", "2014-01-01"),
        ("train-end", "2015-06-30"),
        ("test-start", "2015-07-01"),
        ("test-end", "2015-12-31"),
    ):
        train.add_argument(f"--{name}", default=default, metavar="YYYY-MM-DD", help=f"(default {default})")
    train.add_argument("--quiet", action="store_true", help="no progress display")
    train.set_defaults(handler=_train)

    predict = sub.add_parser(
        "predict",
        help="expected pitch for records given as flags or JSON",
        description="Any schema field is a flag, e.g. --Ws1_avg 10 --P_avg 1500.",
    )
    predict.add_argument(
        "--json", metavar="FILE", help="records as JSON ('-' for stdin): an object, a list, or {\"records\": [...]}"
    )
    predict.add_argument("--model", metavar="DIR", help="model folder (default: $WINDPITCH_MODEL_DIR or the layer's)")
    fields = predict.add_argument_group("fields")
    for name in ALL_FIELDS:
        fields.add_argument(f"--{name}", dest=f"field_{name}", metavar="VALUE")
    predict.set_defaults(handler=_predict)

    schema = sub.add_parser("schema", help="print the SCADA schema as JSON, with the model's fleet and limits")
    schema.add_argument("--model", metavar="DIR", help="model folder (default: $WINDPITCH_MODEL_DIR or the layer's)")
    schema.add_argument("--reference", action="store_true", help="the reference limits, without a model's farm")
    schema.set_defaults(handler=_schema)

    data = sub.add_parser("data", help="the training data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser("fetch", help="download the La Haute Borne data from PyPI (openoa==3.2) once")
    fetch.add_argument("--dest", help="cache folder (default: data/ in the repository)")
    fetch.add_argument("--force", action="store_true")
    fetch.set_defaults(handler=_fetch)
    info = data_sub.add_parser("info", help="load a SCADA file and report its shape and problems")
    info.add_argument("path", nargs="?")
    info.set_defaults(handler=_info)

    replay = sub.add_parser(
        "replay",
        help="upload recorded SCADA into raw/ in time order, one file per ten-minute interval, as live data",
    )
    _bucket_arguments(replay)
    replay.add_argument("--data", help="SCADA CSV (default: $WINDPITCH_DATA, then the shared copy, then the cache)")
    replay.add_argument("--start", default="2015-06-01", metavar="ISO-TIME", help="first interval, UTC (2015-06-01)")
    replay.add_argument("--days", type=_positive, help="how much to replay (default: to the end of the data)")
    replay.add_argument("--backfill-days", type=_non_negative, default=0.0, help="upload this much history first")
    replay.add_argument("--speed", type=_non_negative, default=600.0, help="times real time; 0 = at once (600)")
    replay.add_argument("--quiet", action="store_true", help="no progress display")
    replay.set_defaults(handler=_replay)

    _pipeline_commands(sub)
    _model_commands(sub)
    return parser


def _pipeline_commands(sub: Any) -> None:
    """``batch``, ``backfill`` and ``redrive``: the batch pipeline run by hand."""
    batch = sub.add_parser("batch", help="run the batch once: score what is new in raw/ and publish")
    _bucket_arguments(batch)
    batch.add_argument(
        "--queue-url",
        help="find new files from this work queue's S3 notifications instead of "
        "listing raw/ against the ledger (the stack's UnitsQueue; the local stack's windpitch-units)",
    )
    batch.set_defaults(handler=_batch)
    backfill = sub.add_parser(
        "backfill",
        help="score everything in raw/ not yet published, fanned out to N worker processes over an SQS queue",
        description="The pipeline with N workers on a local endpoint (moto's server): raw files the ledger does "
        "not hold become messages on the queue, N processes run WorkerFunction's handler under an emulation of "
        "Lambda's SQS event source mapping, then the pipeline's commit commits the run.",
    )
    _bucket_arguments(backfill)
    backfill.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    backfill.add_argument("--log-file", type=Path, default=Path(".local-stack/workers.jsonl"),
                          help="the workers' JSON logs and metrics (.local-stack/workers.jsonl)")  # fmt: skip
    backfill.add_argument("--quiet", action="store_true", help="no progress display")
    backfill.set_defaults(handler=_backfill)
    redrive = sub.add_parser(
        "redrive",
        help="move the dead-letter queue's messages back to the work queue, clearing their failure records",
        description="After the cause of a unit's failures is fixed: its messages go back to the work queue (the "
        "failure records in state/failures/ are cleared, so the hourly reconciler no longer leaves them aside).",
    )
    _bucket_arguments(redrive)
    redrive.add_argument("--queue-url", required=True, help="the work queue (the stack's UnitsQueue)")
    redrive.add_argument("--dead-letter-url", required=True, help="its dead-letter queue (UnitsDeadLetterQueue)")
    redrive.set_defaults(handler=_redrive)


def _model_commands(sub: Any) -> None:
    """``model publish|list|challenger|compare|fetch``: the registry in the bucket (models/<version>/)."""
    model = sub.add_parser("model", help="the model registry: publish, list, compare, fetch")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    publish = model_sub.add_parser("publish", help="upload a trained model folder as models/<version>/")
    _bucket_arguments(publish)
    publish.add_argument("--model-dir", required=True, metavar="DIR", help="a folder `train --out` wrote")
    publish.add_argument("--challenger", action="store_true", help="and score it in shadow from the next batch run")
    publish.set_defaults(handler=_model_publish)
    listing = model_sub.add_parser("list", help="the published versions, the live one and the challenger")
    _bucket_arguments(listing)
    listing.set_defaults(handler=_model_list)
    challenger = model_sub.add_parser("challenger", help="name the challenger scored in shadow (or --clear)")
    _bucket_arguments(challenger)
    challenger.add_argument("version", nargs="?", help="a published version")
    challenger.add_argument("--clear", action="store_true", help="score no challenger")
    challenger.set_defaults(handler=_model_challenger)
    compare = model_sub.add_parser("compare", help="the live model against the challenger, from the published data")
    _bucket_arguments(compare)
    compare.add_argument("--json", action="store_true", help="the whole comparison as JSON")
    compare.set_defaults(handler=_model_compare)
    fetch = model_sub.add_parser("fetch", help="copy a published version into a folder (what a deployment packs)")
    _bucket_arguments(fetch)
    fetch.add_argument("version")
    fetch.add_argument("--out", required=True, metavar="DIR", help="e.g. layers/model/windpitch/artifacts")
    fetch.set_defaults(handler=_model_fetch)


def _bucket_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bucket", default="windpitch-local", help="S3 bucket (windpitch-local)")
    parser.add_argument(
        "--endpoint-url",
        help="S3 endpoint, e.g. the local stack's http://127.0.0.1:5000 (default: $AWS_ENDPOINT_URL_S3)",
    )


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number ≥ 0")
    return value


def _store(args: argparse.Namespace) -> Any:
    """The bucket, checked reachable (raises StoreUnavailable); the S3 adapter lives in windpitch_batch."""
    from windpitch_batch.store import S3Store

    return S3Store.connect(args.bucket, args.endpoint_url)


def _replay(args: argparse.Namespace) -> int:
    import gzip

    import pandas as pd

    from windpitch_batch.replay import plan_replay, replay
    from windpitch_train.datasets import resolve_data_path

    try:
        start = pd.Timestamp(args.start)
    except ValueError as exc:
        raise UsageError(f"--start {args.start!r}: not a timestamp ({exc})") from None
    path = resolve_data_path(args.data)
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    plan = plan_replay(text, start=start, days=args.days, backfill_days=args.backfill_days)
    store = _store(args)
    first = plan.files[0].start if plan.files else start
    print(
        f"replay: {plan.rows:,} rows in {len(plan.files):,} files from {first:%Y-%m-%d %H:%M} UTC into "
        f"s3://{args.bucket}/raw/replay/ at {args.speed:g}x",
        file=sys.stderr,
    )
    try:
        replay(plan, store, speed=args.speed, progress=not args.quiet)
    except KeyboardInterrupt:
        print("replay: stopped", file=sys.stderr)
    return 0


def _batch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from windpitch.predict import load_model
    from windpitch_batch.config import BatchConfig
    from windpitch_batch.discover import Inbox
    from windpitch_batch.run import run_batch
    from windpitch_batch.store import client

    store = _store(args)
    model = load_model()
    with tqdm(unit="files", desc="batch", file=sys.stderr) as bar:

        def progress(worked: Any, files: int) -> None:
            bar.total = files
            bar.update(1)
            scored = worked.rows - worked.rejected
            bar.set_postfix_str(f"{worked.ref.key}: {scored:,} scored, {worked.rejected:,} rejected ({worked.status})")

        inbox = Inbox(client("sqs", args.endpoint_url), args.queue_url) if args.queue_url else None
        outcome = run_batch(store, model, BatchConfig(bucket=args.bucket), on_unit=progress, inbox=inbox)
    for reason in inbox.refused if inbox else []:
        print(f"batch: a message named no unit and was dropped: {reason}", file=sys.stderr)
    _print(outcome.summary())
    return 0


def _model_publish(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from windpitch_batch import registry

    store = _store(args)
    published = registry.publish(store, Path(args.model_dir), datetime.now(UTC))
    version = published["version"]
    where = f"s3://{args.bucket}/{registry.MODELS}{version}/"
    print(f"model {version}: {'published to' if published['new'] else 'already at'} {where}", file=sys.stderr)
    if args.challenger:
        registry.set_challenger(store, version, datetime.now(UTC))
        print(f"model {version}: the challenger, scored in shadow from the next batch run", file=sys.stderr)
    _print(published)
    return 0


def _model_list(args: argparse.Namespace) -> int:
    from windpitch_batch import registry

    store = _store(args)
    live = _published_json(store, "dashboard/manifest.json").get("model_version")
    challenger = registry.pointed_challenger(store)
    rows = registry.versions(store)
    for row in rows:
        row["role"] = "live" if row["version"] == live else "challenger" if row["version"] == challenger else ""
    _print({"live": live, "challenger": challenger, "versions": rows})
    return 0


def _model_challenger(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from windpitch_batch import registry

    if bool(args.version) == bool(args.clear):
        raise UsageError("give a version, or --clear")
    registry.set_challenger(_store(args), None if args.clear else args.version, datetime.now(UTC))
    print("no challenger" if args.clear else f"challenger: {args.version}", file=sys.stderr)
    return 0


def _model_compare(args: argparse.Namespace) -> int:
    from .comparison import render

    report = _published_json(_store(args), "shadow/latest.json")
    if args.json:
        _print(report)
    else:
        print(render(report))
    return 0


def _model_fetch(args: argparse.Namespace) -> int:
    from windpitch_batch import registry

    model = registry.fetch_to(_store(args), args.version, Path(args.out))
    print(f"model {model.info.version}: verified and copied to {args.out}", file=sys.stderr)
    return 0


def _published_json(store: Any, key: str) -> dict[str, Any]:
    """A JSON object the batch publishes, or {} before the first run."""
    from windpitch_batch.store import NotFound

    try:
        return dict(json.loads(store.get(key)[0]))
    except NotFound:
        return {}


def _backfill(args: argparse.Namespace) -> int:
    from .backfill import backfill

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if not args.endpoint_url:
        raise UsageError("--endpoint-url is required: on AWS, WorkerFunction scores what lands in raw/ by itself")
    outcome = backfill(_store(args), args.endpoint_url, args.workers, log=args.log_file, progress=not args.quiet)
    _print(outcome)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    from windpitch_batch.reconcile import redrive
    from windpitch_batch.store import client

    sqs = client("sqs", args.endpoint_url)
    _print(redrive(_store(args), sqs, args.dead_letter_url, args.queue_url))
    return 0


def _train(args: argparse.Namespace) -> int:
    from windpitch_train.train import Split, summary, train

    try:
        split = Split(args.train_start, args.train_end, args.test_start, args.test_end)
        card = train(args.data, args.out, split, progress=not args.quiet, assets=args.assets)
    except (ValueError, RuntimeError) as exc:
        if isinstance(exc, DataError):
            raise
        raise UsageError(str(exc)) from None  # an empty split, dates out of order, parity refused
    print(summary(card))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from windpitch.predict import load_model, predict

    flags = {k.removeprefix("field_"): v for k, v in vars(args).items() if k.startswith("field_") and v is not None}
    if args.json and flags:
        raise UsageError("give records either as --json or as field flags, not both")
    if args.json:
        try:
            records = _read_records(args.json)
        except ValueError as exc:
            raise UsageError(f"--json {args.json}: {exc}") from None
    else:
        records = [flags]
    model = load_model(args.model)
    results = predict(records, model)
    _print(
        {"model_version": model.info.version, "results": [dict(index=i, **r.as_dict()) for i, r in enumerate(results)]}
    )
    rejected = [i for i, r in enumerate(results) if not r.ok]
    if rejected:
        for i in rejected:
            reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in results[i].as_dict()["errors"])
            print(f"error: record {i}: {reasons}", file=sys.stderr)
        return EXIT_REJECTED
    return 0


def _read_records(source: str) -> list[Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    try:
        body = json.loads(text, object_pairs_hook=object_pairs)  # a field given twice is refused, not dropped
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    if isinstance(body, dict) and "records" in body:
        body = body["records"]
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list) and body:
        return body
    raise ValueError('expected a record object, a non-empty list of records, or {"records": [...]}')


def _schema(args: argparse.Namespace) -> int:
    """The schema with the model's farm (its fleet and fleet-wide limits): what the dashboard validates by."""
    from windpitch.rules import rulebook

    if args.reference:
        _print({**as_dict(), "rulebook": rulebook()})
        return 0
    from windpitch.predict import load_model

    farm = load_model(args.model).farm
    _print({**as_dict(farm.fleet, farm.ranges()), "rulebook": rulebook()})
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from windpitch_train.fetch import fetch

    print(fetch(Path(args.dest) if args.dest else None, force=args.force))
    return 0


def _info(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from windpitch_frames.loading import load_scada
    from windpitch_train.datasets import content_sha256, resolve_data_path

    path = resolve_data_path(args.path)
    frame, report = load_scada(path)
    _print(
        {
            **asdict(report),
            "content_sha256": content_sha256(path),
            "first": str(frame["Date_time"].min()),
            "last": str(frame["Date_time"].max()),
            "turbines": sorted(frame["Wind_turbine_name"].unique().tolist()),
        }
    )
    return 0


def _print(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2)
    sys.stdout.write("\n")
