"""Deployed size per function: its code and its layers, unzipped and zipped, against Lambda's limits.

    make build && .venv/bin/python bench/sizes.py
    make build ARCH=arm64 && .venv/bin/python bench/sizes.py --build-dir .aws-sam/arm64/build

Reads which layers each function has from template.yaml (Globals plus the function's own), measures the
``sam build`` output (bytes on disk; zipped with deflate level 9, as ``sam package`` uploads), and compares
with Lambda's limits: 250 MB unzipped for a function and all its layers; 50 MB zipped for a package
uploaded directly (SAM uploads through S3, where only the unzipped limit applies). Sizes are deterministic
for pinned wheels: tests/integration/test_sam_build.py keeps the budgets; this prints the figures.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path
from typing import Any

from common import BUILD, ROOT, require_build
from samcli.yamlhelper import yaml_parse

MB = 1e6
UNZIPPED_LIMIT = 250 * 1024 * 1024
BUDGETS = {"BatchFunction": 200 * 1024 * 1024, "WorkerFunction": 200 * 1024 * 1024}  # others: 100 MiB (test_sam_build)


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def zipped_bytes(path: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path))
    return buffer.tell()


def function_layers(template: dict[str, Any]) -> dict[str, list[str]]:
    """Each function's layers by logical id: the Globals' first, then its own (``!Ref`` names)."""
    common = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    found = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            own = resource["Properties"].get("Layers", [])
            found[name] = [layer["Ref"] for layer in [*common, *own]]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=BUILD, help="a sam build output (%(default)s)")
    build = parser.parse_args().build_dir
    require_build(build)
    template = yaml_parse((ROOT / "template.yaml").read_text())
    functions = function_layers(template)
    parts = sorted({name for layers in functions.values() for name in layers} | set(functions))
    size = {name: (tree_bytes(build / name), zipped_bytes(build / name)) for name in parts}
    label = (build / "ModelLayer" / "python" / ".windpitch-layer.json").read_text().strip()
    print(f"build {build.relative_to(ROOT) if build.is_relative_to(ROOT) else build}: {label}\n")

    print("| artifact | unzipped MB | zipped MB |")
    print("| --- | ---: | ---: |")
    for name in parts:
        print(f"| {name} | {size[name][0] / MB:.3f} | {size[name][1] / MB:.3f} |")
    print()
    print("| function + its layers | unzipped MB | of Lambda's 250 MiB | budget | zipped MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for function, layers in functions.items():
        unzipped = sum(size[n][0] for n in [function, *layers])
        zipped = sum(size[n][1] for n in [function, *layers])
        budget = BUDGETS.get(function, 100 * 1024 * 1024)
        print(
            f"| {function} ({' + '.join(layers)}) | {unzipped / MB:.1f} | {unzipped / UNZIPPED_LIMIT:.0%} | "
            f"{budget / 2**20:.0f} MiB: {'within' if unzipped <= budget else 'OVER'} | {zipped / MB:.1f} |"
        )


if __name__ == "__main__":
    main()
