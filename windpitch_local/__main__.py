"""``python -m windpitch_local {api,stack,stop,image}``: the Docker-free local API, the whole local stack, stopping
every local stack this checkout recorded, or the Lambda-like image for `sam local` (windpitch_local.image)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .api import DEFAULT_PORT, serve
from .lifecycle import STATE_DIR, stop_stacks
from .stack import StackConfig, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m windpitch_local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    api = sub.add_parser("api", help="serve template.yaml's API on 127.0.0.1, handlers in-process (no Docker)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=DEFAULT_PORT)
    api.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    stack = sub.add_parser("stack", help="S3 (moto), scheduled batch fed by the replay, and the API, on 127.0.0.1")
    stack.add_argument("--api-port", type=int, default=DEFAULT_PORT)
    stack.add_argument("--s3-port", type=int, default=5000)
    stack.add_argument("--dashboard-port", type=int, default=8080)
    stack.add_argument("--speed", type=float, default=60.0, help="local time runs this many times real time (60)")
    stack.add_argument("--start", default="2015-06-01", help="replay from this UTC time (2015-06-01)")
    stack.add_argument("--days", type=float, default=None, help="replay this many days (default: to the end)")
    stack.add_argument("--backfill-days", type=float, default=7.0, help="history uploaded at once first (7)")
    stack.add_argument("--data", help="SCADA CSV (default: $WINDPITCH_DATA, then the shared copy, then the cache)")
    stack.add_argument("--log-file", type=Path, help="the functions' JSON logs (default .local-stack/lambda.jsonl)")
    stack.add_argument(
        "--demo-fault",
        metavar="TURBINE,START,HOURS,DEGREES",
        help="add a pitch fault to the replayed data, to see the detector catch it (e.g. R80711,2015-05-31T10:00,4,3)",
    )
    stack.add_argument(
        "--challenger",
        type=Path,
        metavar="DIR",
        help="a trained model folder to publish to the registry and score in shadow beside the live model",
    )
    stack.add_argument(
        "--workers", type=int, default=2, help="WorkerFunction processes on the queue (2); 0: the batch scores inline"
    )
    stack.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    state_help = f"where stacks record what they start (default {STATE_DIR.relative_to(STATE_DIR.parents[1])})"
    stack.add_argument("--state-dir", type=Path, default=STATE_DIR, help=state_help)
    stop = sub.add_parser("stop", help="stop every running local stack recorded here, and what any earlier one left")
    stop.add_argument("--state-dir", type=Path, default=STATE_DIR, help=state_help)
    sub.add_parser("image", help="build the Lambda-like Python image for sam local (see windpitch_local.image)",
                   add_help=False)  # fmt: skip
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["image"]:
        from .image import main as image_main  # noqa: PLC0415 - its own arguments

        return image_main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "stop":
        try:
            stop_stacks(args.state_dir)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 3
        return 0
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    if args.command == "api":
        serve(args.host, args.port, overrides)
        return 0
    if args.speed < 0:
        parser.error("--speed: must be ≥ 0")
    config = StackConfig(
        api_port=args.api_port,
        s3_port=args.s3_port,
        dashboard_port=args.dashboard_port,
        speed=args.speed,
        start=args.start,
        days=args.days,
        backfill_days=args.backfill_days,
        data=args.data,
        demo_fault=args.demo_fault,
        challenger=args.challenger,
        workers=args.workers,
        state_dir=args.state_dir,
        **({"log_file": args.log_file} if args.log_file else {}),
    )
    try:
        run(config, overrides)
    # No data, a port taken, a challenger that will not load (ModelUnavailable, a RuntimeError): say so. windpitch's
    # own classes are not imported here: the layers the runner builds must be the first windpitch imported.
    except (ValueError, LookupError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
