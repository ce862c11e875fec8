"""Peak memory (RSS) of the predict handler's process, against the seed's serving process.

    make build && .venv/bin/python bench/memory.py [--repeats 3] [--data PATH]

Each side is a fresh process that loads its model and answers the same requests (200 × ``GET
?Ws1_avg=10``, then 20 × ``POST`` of 1,000 real records), then reports its peak resident memory (VmHWM):

* the predict Lambda: ``bench/lambda_worker.py`` with only the built function and layers on its path,
  as on Lambda (``-S``);
* the seed's stack: pandas, scikit-learn, ``joblib.load`` of its fitted RandomForest and its Flask route,
  through Flask's test client.

The batch's peak memory is the backfill's (``bench/backfill.py`` prints it). Median (range) of
``--repeats`` fresh processes each; the ratio is the seed's ÷ ours. This sizes ``MemorySize``: Lambda
bills memory × time, and a function needs its peak plus headroom.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import joblib
from common import ROOT, machine, spread
from handler_latency import event, lambda_rounds, real_records
from seedway import fit_seed_model

SEED_PROCESS = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import joblib
from seed_service import create_app
client = create_app(joblib.load(sys.argv[2])).test_client()
records = json.loads(Path(sys.argv[3]).read_text())
for _ in range(200):
    assert client.get("/predict", query_string={"Ws1_avg": "10"}).status_code == 200
for _ in range(20):
    assert client.post("/predict", json={"records": records}).status_code == 200
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    records = real_records(1000, args.data)
    cases = [
        {"label": "GET", "event": event("predict_get_ws1"), "calls": 200},
        {"label": "POST 1,000", "event": event("predict_post_seed", records), "calls": 20},
    ]
    ours = [lambda_rounds(cases, repeats=1)[1] for _ in range(args.repeats)]
    with tempfile.TemporaryDirectory() as tmp:
        model_file, records_file = Path(tmp) / "seed.joblib", Path(tmp) / "records.json"
        joblib.dump(fit_seed_model(args.data), model_file)
        records_file.write_text(json.dumps(records))
        env = {k: v for k, v in os.environ.items() if not k.startswith("WINDPITCH_")}
        command = [sys.executable, "-c", SEED_PROCESS, str(ROOT / "bench"), str(model_file), str(records_file)]
        seed = [
            float(subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.strip())
            for _ in range(args.repeats)
        ]
        seed_model_mb = model_file.stat().st_size / 1e6
    print(machine("numpy", "pandas", "scikit-learn", "aws-lambda-powertools", "flask"))
    print(f"{args.repeats} fresh processes each; 200 GET + 20 POST of 1,000 records per process")
    print()
    print("| serving process | peak RSS MB, median (range) | seed's ÷ this |")
    print("| --- | ---: | ---: |")
    print(f"| predict Lambda handler (built layers, -S) | {spread(ours, '.0f')} | "
          f"{statistics.median(seed) / statistics.median(ours):.1f}× |")  # fmt: skip
    print(f"| seed's stack: pandas + scikit-learn + joblib RandomForest ({seed_model_mb:.1f} MB pickle) + Flask | "
          f"{spread(seed, '.0f')} | 1.0× |")  # fmt: skip


if __name__ == "__main__":
    main()
