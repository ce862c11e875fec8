"""The record path alone: ``parse_record`` per record, over records with distinct timestamps.

    .venv/bin/python bench/record_path.py [--records 20000] [--repeats 5]

A client's record as POST /predict carries it: turbine, time (each distinct, as a day of a farm is), six
JSON numbers. Best of ``--repeats`` passes, in microseconds a record, with the model's farm (the card's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from common import machine

from windpitch.predict import load_model
from windpitch.records import parse_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start = dt.datetime(2015, 6, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    records = [
        {
            "Wind_turbine_name": "R80721",
            "Date_time": (start + dt.timedelta(minutes=10 * i)).isoformat(),
            "P_avg": 500.0 + i % 7,
            "Ws_avg": 7.0,
            "Va_avg": 1.0,
            "Ot_avg": 10.0,
            "Ya_avg": 100.0,
            "Wa_avg": 101.0,
        }
        for i in range(args.records)
    ]
    farm = load_model().farm
    best = float("inf")
    for _ in range(args.repeats):
        started = time.perf_counter()
        for record in records:
            parse_record(record, farm)
        best = min(best, (time.perf_counter() - started) / len(records) * 1e6)
    print(machine())
    print(f"parse_record, 8 fields with turbine and a distinct time: {best:.2f} µs a record (best of {args.repeats})")


if __name__ == "__main__":
    main()
