"""The harness's side of the Lambda-like image: its command, and the project's own container network.

    python -m windpitch_local image [--python 3.13|3.11] [--force]     # make lambda-image

The image itself is built by :mod:`windpitch_deploy.image`, which the layer builder needs too: the harness
imports the deployment tooling, never the reverse (the import contracts in pyproject.toml say so).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Final

from windpitch_deploy.image import SUITES, DockerUnavailable, ImageBroken, build

NETWORK: Final = "windpitch-local"  # the project's own bridge: every container the project starts joins it


def project_network(name: str = NETWORK) -> str:
    """The project's own bridge network (created when absent); its gateway address, which a server on this
    machine binds to be reachable from that network's containers (and from nowhere beyond this machine).

    Raises:
        RuntimeError: ``docker network create`` failed, with its output's end.
    """
    inspect = ["docker", "network", "inspect", name, "--format", "{{ (index .IPAM.Config 0).Gateway }}"]
    done = subprocess.run(inspect, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        create = ["docker", "network", "create", "--driver", "bridge", name]
        created = subprocess.run(create, capture_output=True, text=True, check=False)  # noqa: S603
        if created.returncode != 0:
            output = (created.stderr or created.stdout)[-1500:]
            raise RuntimeError(f"docker network create failed ({created.returncode}): {output}")
        done = subprocess.run(inspect, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """``python -m windpitch_local image``: build (or find up to date) the image; print its tag."""
    parser = argparse.ArgumentParser(
        prog="python -m windpitch_local image",
        description="The Lambda-like Python image for `sam local`, built here from Debian's and PyPI's packages only.",
    )
    parser.add_argument("--python", default="3.13", choices=list(SUITES), help="the runtime's Python (%(default)s)")
    parser.add_argument("--force", action="store_true", help="rebuild the file system and the image")
    args = parser.parse_args(argv)
    try:
        print(build(args.python, force=args.force))
    except (DockerUnavailable, ImageBroken, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0
