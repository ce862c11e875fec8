"""Installed size of each Parquet-writing stack the batch layer could ship, as Lambda would get it.

    .venv/bin/python bench/writer_sizes.py

Each candidate is installed with pip into an empty folder from the wheels Lambda's python3.13 on Amazon Linux
2023 can load (cp313, manylinux up to glibc 2.34: windpitch_deploy.layers.platform_tags), --no-deps with its
full dependency list spelled out, numpy excluded (ModelLayer ships it). Sizes are bytes on disk, before and
after removing test suites as the layer's Makefile does. Needs PyPI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT  # noqa: F401 - puts the repository on the path

from windpitch_deploy.layers import platform_tags

PLATFORM = [*(a for tag in platform_tags("3.13", "x86_64") for a in ("--platform", tag)), "--implementation", "cp",
            "--python-version", "3.13"]  # fmt: skip
PANDAS = ["pandas==2.3.3", "python-dateutil==2.9.0.post0", "pytz==2026.6", "tzdata==2026.6", "six==1.17.0"]
CANDIDATES = {
    "pandas + fastparquet (chosen)": [
        *PANDAS,
        "fastparquet==2026.9.0",
        "cramjam==2.14.0",
        "fsspec==2026.9.0",
        "packaging==26.3",
    ],
    "pandas + pyarrow": [*PANDAS, "pyarrow==20.0.0"],
    "pyarrow alone": ["pyarrow==20.0.0"],
    "duckdb alone (no pandas)": ["duckdb==1.2.2"],
}
TESTS = ("tests", "test")


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    print("| candidate | installed | without test suites |")
    print("| --- | ---: | ---: |")
    for name, pins in CANDIDATES.items():
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "python"
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:",
                            *PLATFORM, "--target", str(target), *pins], check=True)  # fmt: skip
            before = size(target)
            for folder in sorted(target.rglob("*"), reverse=True):
                if folder.is_dir() and folder.name in TESTS:
                    shutil.rmtree(folder, ignore_errors=True)
            print(f"| {name} | {before / 1e6:.1f} MB | {size(target) / 1e6:.1f} MB |", flush=True)


if __name__ == "__main__":
    main()
