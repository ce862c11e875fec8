"""The template passes cfn-lint and checkov (an IaC security scanner); every checkov skip says why, and
silences a finding checkov does make, on the resource that carries it.

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
from samcli.yamlhelper import yaml_dump, yaml_parse

from tests.conftest import ROOT

TEMPLATE = ROOT / "template.yaml"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def test_cfn_lint_is_clean() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def checkov(template: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make checkov` (make test does)")
    options = ["--framework", "cloudformation", "--quiet", "--skip-download", "-o", "json"]  # offline: no guidelines
    done = subprocess.run(
        [str(CHECKOV), "-f", str(template), *options],
        capture_output=True,
        text=True,
        check=False,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_checkov_is_clean_and_every_skip_is_justified() -> None:
    report = checkov(TEMPLATE)
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert not failed, "\n".join(failed)
    assert report["summary"]["passed"] >= 30
    resources = yaml_parse(TEMPLATE.read_text())["Resources"]
    for name, resource in resources.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) >= 60, f"{name}: skip {skip['id']} needs its reason inline"


def test_each_checkov_skip_silences_a_finding_on_its_own_resource(tmp_path: Path) -> None:
    """Without its skips, checkov fails exactly the checks the skips name, resource by resource: no skip is spare
    (a fixed finding, or a check moved to another resource) and none covers another resource's finding.

    checkov drops the resources a condition turns off at the parameters' defaults; the client API's are scanned
    with ClientApiKeys=true (which turns nothing else off)."""
    template = yaml_parse(TEMPLATE.read_text())
    skips: dict[str, set[str]] = {}
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).pop("checkov", {}).get("skip", []):
            skips.setdefault(name, set()).add(skip["id"])
    template["Parameters"]["ClientApiKeys"]["Default"] = "true"
    unskipped = tmp_path / "template.yaml"
    unskipped.write_text(yaml_dump(template))
    report = checkov(unskipped)
    findings: dict[str, set[str]] = {}
    for check in report["results"]["failed_checks"]:
        findings.setdefault(check["resource"].split(".", 1)[1], set()).add(check["check_id"])
    assert findings == skips
