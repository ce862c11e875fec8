"""The benchmark suite: run every benchmark and write its output into docs/benchmarks.md.

    make bench                                   # all of them (~10 minutes on 2 cores)
    .venv/bin/python bench/suite.py --only sizes memory

Each benchmark's results live in docs/benchmarks.md between ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``; this replaces what is between the markers with the command, the date, how long it
took, and the script's own output (machine line, medians and spreads, ratios). The prose around the
markers (what each figure means, what was changed and why) is written by hand and kept.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from datetime import UTC, datetime

from common import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
# name -> arguments; the order is the issue's: in-process, handler, cold init, HTTP, batch, size, memory.
SUITE: dict[str, list[str]] = {
    "predict_latency": ["--calls", "10000", "--repeats", "3"],
    "handler_latency": ["--calls", "2000", "--repeats", "3"],
    "cold_init": ["--runs", "15"],
    "http_throughput": ["--requests", "2000", "--concurrency", "8", "--repeats", "3"],
    "backfill": ["--runs", "3"],
    "fanout": ["--workers", "1", "2", "4", "--runs", "2"],
    "worker_memory": ["--workers", "1", "--runs", "1", "--slice-lines", "10000", "25000", "50000", "100000"],
    "discovery": ["--days", "365", "1"],
    "fault_injection": ["--trials", "200", "--seeds", "0", "1"],
    "sizes": [],
    "memory": ["--repeats", "3"],
    "sam_local": ["--starts", "10", "--invokes", "5", "--requests", "300"],  # needs Docker (issue 13)
    "import_breakdown": ["--runs", "7", "--python", "3.13", "3.11"],
}


def block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.DOTALL)


SCRIPTS = {"worker_memory": "fanout"}  # a block whose script is another's, with other arguments


def run(name: str) -> str:
    # As the docs show it; run with this interpreter.
    command = [".venv/bin/python", f"bench/{SCRIPTS.get(name, name)}.py", *SUITE[name]]
    started = time.monotonic()
    done = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    took = time.monotonic() - started
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"`{' '.join(command)}` — run of {today}, {took:.0f} s:\n\n{done.stdout.strip()}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(SUITE), default=list(SUITE))
    args = parser.parse_args()
    text = DOC.read_text()
    missing = [name for name in args.only if not block(name).search(text)]
    if missing:
        raise SystemExit(f"docs/benchmarks.md has no <!-- bench:NAME --> block for {', '.join(missing)}")
    for name in args.only:
        print(f"bench: {name} …", flush=True)
        output = run(name)
        text = block(name).sub(lambda m, out=output: m.group(1) + out + m.group(2), DOC.read_text())
        DOC.write_text(text)  # after each, so a failure later keeps what was measured
        print(output, flush=True)


if __name__ == "__main__":
    main()
