"""What a build is for, written into the template it produced, so that deploying it as something else fails.

    python -m windpitch_deploy pin .aws-sam/arm64/build/template.yaml Architecture=arm64     # make build does
    python -m windpitch_deploy pin .aws-sam/arm64/build/template.yaml --model                # and this

``sam build`` passes no architecture to a makefile build: the layers' wheels follow ``make build ARCH=...``,
while the functions' ``Architectures`` follow the ``Architecture`` parameter given at deploy time. Deploying an
arm64 build with the default (x86_64) would ship aarch64 wheels to x86_64 functions, and nothing in SAM or
CloudFormation would notice before the first import failed. Pinned, the built template defaults to the value
it was built for and allows no other: CloudFormation refuses the mismatch before it changes anything.

``--model`` pins ``ModelExportSha256`` to the export's SHA-256 of the model the built ModelLayer holds: every
function gets it as ``WINDPITCH_MODEL_SHA256`` and refuses at init a model that is not that one (a layer swapped
under a function, a model changed without rebuilding), ``/health`` saying why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_dump, yaml_parse


def pin(template: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    """The template with parameter ``name`` allowed ``value`` only, and defaulting to it.

    Example:
        >>> t = {"Parameters": {"Architecture": {"Type": "String", "Default": "x86_64",
        ...                                      "AllowedValues": ["x86_64", "arm64"]}}}
        >>> pin(t, "Architecture", "arm64")["Parameters"]["Architecture"]
        {'Type': 'String', 'Default': 'arm64', 'AllowedValues': ['arm64'], 'Description': 'this build is for arm64'}
        >>> pin(t, "Architecture", "sparc")
        Traceback (most recent call last):
        ...
        ValueError: Architecture=sparc: the template allows x86_64, arm64
    """
    parameter = dict(template.get("Parameters", {}).get(name) or {})
    if not parameter:
        raise ValueError(f"the template has no parameter {name}")
    allowed = parameter.get("AllowedValues")
    if allowed is not None and value not in allowed:
        raise ValueError(f"{name}={value}: the template allows {', '.join(allowed)}")
    parameter.update(Default=value, AllowedValues=[value], Description=f"this build is for {value}")
    return {**template, "Parameters": {**template["Parameters"], name: parameter}}


def pin_file(path: Path, name: str, value: str) -> None:
    """:func:`pin` on a built template, in place."""
    path.write_text(yaml_dump(pin(yaml_parse(path.read_text()), name, value)))


MODEL_PARAMETER = "ModelExportSha256"
BUILT_CARD = Path("ModelLayer/python/windpitch/artifacts/model_card.json")  # under the build folder


def built_model_sha256(template: Path) -> str:
    """The export SHA-256 of the model in the ModelLayer built beside ``template``."""
    card = json.loads((template.parent / BUILT_CARD).read_text())
    digest = str((card.get("export") or {}).get("sha256", ""))
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"{template.parent / BUILT_CARD}: no export SHA-256 in the model card")
    return digest


def main(argv: list[str]) -> int:
    usage = "usage: python -m windpitch_deploy pin <built template.yaml> (<Parameter>=<value> | --model)"
    if len(argv) != 2 or ("=" not in argv[1] and argv[1] != "--model"):
        print(usage)
        return 2
    try:
        if argv[1] == "--model":
            name, value = MODEL_PARAMETER, built_model_sha256(Path(argv[0]))
        else:
            name, _, value = argv[1].partition("=")
        pin_file(Path(argv[0]), name, value)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    return 0
