"""The layers' pinned wheels with their SHA-256 hashes, so that a layer is built with ``pip --require-hashes``.

    python -m windpitch_deploy wheel-hashes           # rewrite layers/*/requirements.txt with the hashes
    python -m windpitch_deploy wheel-hashes --check   # every pin carries hashes (no download): make test runs it

A pin is a version; a hash is the file. With hashes, a wheel replaced on the index (or by anything between it and
the build) is refused instead of shipped in the layer. pip checks a wheel against every hash its requirement
lists, so each pin lists the wheel of every build that installs it: the runtime's on each processor
(python3.13, glibc 2.34, x86_64 and arm64) and this machine's for ``make build-local`` (x86_64, Python 3.11 or
3.13, the glibc of Debian 12 or 13). Each file is the one ``pip download`` picks with the same tags
:func:`windpitch_deploy.layers.platform_tags` gives the build, so the hash listed is the file the build installs.

Example:
    >>> pins("numpy==2.4.6 \\\\\\n    --hash=sha256:ab\\n# a comment\\npandas==2.3.3\\n")
    [('numpy', '2.4.6'), ('pandas', '2.3.3')]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from .layers import platform_tags

ROOT: Final = Path(__file__).resolve().parents[1]
REQUIREMENTS: Final = sorted((ROOT / "layers").glob("*/requirements.txt"))
# (Python, processor, glibc or None for the runtime's): every build that installs the layers' wheels.
TARGETS: Final = (
    ("3.13", "x86_64", None),
    ("3.13", "arm64", None),
    *((python, "x86_64", glibc) for python in ("3.11", "3.13") for glibc in ((2, 36), (2, 41))),
)
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", re.MULTILINE)
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def pins(text: str) -> list[tuple[str, str]]:
    """``(name, version)`` of every pin in a requirements file, in order."""
    return _PIN.findall(text)


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_hashes(text: str) -> dict[str, set[str]]:
    """``{normalised name: {sha256}}`` of every wheel any target installs, downloaded with pip."""
    found: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "pins.txt"
        plain.write_text("".join(f"{name}=={version}\n" for name, version in pins(text)))
        for python, arch, glibc in TARGETS:
            into = Path(tmp) / f"{python}-{arch}-{glibc}"
            tags = [arg for tag in platform_tags(python, arch, glibc) for arg in ("--platform", tag)]
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                       "--implementation", "cp", "--python-version", python, *tags,
                       "-d", str(into), "-r", str(plain)]  # fmt: skip
            subprocess.run(command, check=True)  # noqa: S603 - pip, with the pinned list
            for wheel in into.glob("*.whl"):
                name = normal(wheel.name.split("-", 1)[0])
                found.setdefault(name, set()).add(hashlib.sha256(wheel.read_bytes()).hexdigest())
    return found


def with_hashes(text: str, hashes: dict[str, set[str]]) -> str:
    """The requirements file with each pin followed by its hashes (comments kept, old hashes replaced)."""
    out = []
    for line in re.sub(r" \\\n\s+--hash=sha256:[0-9a-f]{64}", "", text).splitlines():
        found = _PIN.match(line)
        if found is None:
            out.append(line)
            continue
        listed = sorted(hashes.get(normal(found.group(1)), ()))
        if not listed:
            raise SystemExit(f"no wheel of {found.group(0)} was downloaded for any target")
        out.append(" \\\n    ".join([found.group(0), *(f"--hash=sha256:{h}" for h in listed)]))
    return "\n".join(out) + "\n"


def unhashed(text: str) -> list[str]:
    """The pins of a requirements file that carry no hash."""
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text)
    return [f"{n}=={v}" for block in blocks for n, v in pins(block)[:1] if not _HASH.search(block)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m windpitch_deploy wheel-hashes", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="fail if a pin carries no hash (no download)")
    args = parser.parse_args(argv)
    failed = False
    for path in REQUIREMENTS:
        text = path.read_text()
        if args.check:
            missing = unhashed(text)
            if missing:
                failed = True
                where = path.relative_to(ROOT)
                print(f"{where}: no hash for {', '.join(missing)}: run python -m windpitch_deploy wheel-hashes")
            continue
        path.write_text(with_hashes(text, wheel_hashes(text)))
        print(f"{path.relative_to(ROOT)}: {len(pins(text))} pins hashed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
