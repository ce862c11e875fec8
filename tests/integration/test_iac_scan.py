"""The template passes cfn-lint and checkov (an IaC security scanner); every checkov skip says why.

checkov lives in its own venv (.venv-checkov, from requirements-checkov.txt; `make checkov`), because its
pins clash with the development venv's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

from tests.conftest import ROOT

TEMPLATE = ROOT / "template.yaml"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def test_cfn_lint_is_clean() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_checkov_is_clean_and_every_skip_is_justified() -> None:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make checkov` (make test does)")
    done = subprocess.run(
        [str(CHECKOV), "-f", str(TEMPLATE), "--framework", "cloudformation", "--quiet", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert not failed, "\n".join(failed)
    assert report["summary"]["passed"] >= 30
    resources = yaml_parse(TEMPLATE.read_text())["Resources"]
    for name, resource in resources.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) >= 60, f"{name}: skip {skip['id']} needs its reason inline"
