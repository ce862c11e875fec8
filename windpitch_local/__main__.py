"""``python -m windpitch_local api``: the Docker-free local API (see windpitch_local.api)."""

from __future__ import annotations

import argparse
import sys

from .api import DEFAULT_PORT, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m windpitch_local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    api = sub.add_parser("api", help="serve template.yaml's API on 127.0.0.1, handlers in-process (no Docker)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=DEFAULT_PORT)
    api.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    serve(args.host, args.port, overrides)
    return 0


if __name__ == "__main__":
    sys.exit(main())
