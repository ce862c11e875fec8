"""`make iam-check` (windpitch_deploy.iam_check): every function's flows on moto's server with IAM enforced, each
under exactly the policy SAM's translation of template.yaml gives its role.

* the committed template passes: no call denied, every flow ran, no grant unused beyond the committed baseline;
* mutations: a grant a flow needs, taken out of its role, makes the check fail naming that action and a
  resource the grant covered. By default one grant per statement of every role (s3:PutObject among them), both
  of the PreTraffic hook's, and a managed policy of each kind; ``IAM_CHECK_SWEEP=all`` takes out every grant
  the committed run found needed, one at a time (docs/deploy-checks.md has the times);
* the redundant grants (each allows only calls another grant allows) are the ones known.

The functions load the synthetic model (tests/conftest.py), so this runs on a clean clone without the real data.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from windpitch_deploy import iam_check

BASIC = "managed: arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SQS_POLLING = "managed: arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
# What a managed policy allows, as a denial names it once the policy is gone.
MANAGED_ACTIONS = {BASIC: "logs:*", SQS_POLLING: "sqs:ReceiveMessage"}
# Grants allowing the same calls as another grant (the report's "redundant"): for WorkerFunction, the SQS event
# source's managed policy (AWSLambdaSQSQueueExecutionRole) allows the logs calls AWSLambdaBasicExecutionRole does
# (SAM attaches both). The template no longer grants BatchFailureQueue beside SAM's destination policy.
REDUNDANT = {("WorkerFunction", BASIC)}


def translated() -> dict[str, iam_check.Function]:
    return iam_check.functions(iam_check.Stack(*iam_check.translate(), endpoint="http://127.0.0.1:1"))


def mutations() -> list[tuple[str, str]]:
    """One grant per statement of each role (the first resource each names), and a managed policy of each kind."""
    chosen: dict[tuple[str, str], str] = {}
    for logical, function in translated().items():
        for grant in function.grants:
            chosen.setdefault((logical, grant.source), grant.key)
    picked = sorted({(logical, key) for (logical, _), key in chosen.items()} - REDUNDANT)
    return [*picked, ("HealthFunction", BASIC), ("PredictFunction", BASIC), ("WorkerFunction", SQS_POLLING)]


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[iam_check.Moto]:
    """One moto server for the module (each check resets it), always stopped."""
    with iam_check.Moto(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="module")
def committed(moto: iam_check.Moto, synthetic_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> (
    iam_check.Report
):  # fmt: skip
    return iam_check.check(synthetic_model_dir, moto=moto, work=tmp_path_factory.mktemp("committed"))


def test_the_committed_template_passes(committed: iam_check.Report) -> None:
    assert committed.passed, committed.render()
    assert not committed.denials and not committed.problems
    assert all(f.ran for f in committed.functions.values()), committed.render()
    # The API functions' own code calls no AWS API: their roles hold only the logs and X-Ray managed policies.
    for name in ("HealthFunction", "PredictFunction", "ClientPredictFunction"):
        assert committed.functions[name].code_calls == 0, committed.render()
        assert committed.functions[name].calls > 0  # Lambda's own: logs, the X-Ray segment
    for name in ("WorkerFunction", "BatchFunction", "PreTrafficHookFunction"):
        function = committed.functions[name]
        assert function.code_calls > 0 and function.used, committed.render()
    assert {(n, g) for n, f in committed.functions.items() for g in f.redundant} == REDUNDANT


def test_every_grant_a_mutation_takes_is_one_the_committed_run_used(committed: iam_check.Report) -> None:
    for logical, key in mutations():
        if key.startswith("managed: "):
            assert key not in committed.functions[logical].unused, (logical, key)
        else:
            assert key in committed.functions[logical].needed, (logical, key)


def sweep() -> list[tuple[str, str]]:
    if os.environ.get("IAM_CHECK_SWEEP") != "all":
        return mutations()
    found = translated()
    keys = {(n, g.key) for n, f in found.items() for g in f.grants}
    managed = {(n, f"managed: {a}") for n, f in found.items() for a in f.managed}
    return sorted((keys | {(n, m) for n, m in managed if m in MANAGED_ACTIONS}) - REDUNDANT)


@pytest.mark.parametrize(("function", "grant"), sweep(), ids=lambda value: str(value).replace(" ", "_")[:90])
def test_taking_a_needed_grant_away_fails_naming_the_action_and_the_resource(
    moto: iam_check.Moto, synthetic_model_dir: Path, tmp_path: Path, function: str, grant: str
) -> None:
    report = iam_check.check(synthetic_model_dir, moto=moto, remove=(function, grant), work=tmp_path)
    assert not report.passed
    denials = [d for d in report.denials if d["function"] == function]
    assert denials, report.render()
    if grant.startswith("managed: "):
        assert any(fnmatch.fnmatchcase(d["action"], MANAGED_ACTIONS[grant]) for d in denials), report.render()
        return
    action, resource = grant.split(" ", 1)
    named = [
        d for d in denials if fnmatch.fnmatchcase(d["action"], action) and fnmatch.fnmatchcase(d["resource"], resource)
    ]
    assert named, f"no denial names {action} on {resource}:\n{report.render()}"
    assert f"DENIED {named[0]['action']} on {named[0]['resource']}" in report.render()


def test_the_baseline_only_shrinks(committed: iam_check.Report, tmp_path: Path) -> None:
    """An unused grant the baseline does not list fails the check, and is never written into it; a grant it lists
    that a flow uses now is stale, and fails too until it is removed."""
    functions = {n: iam_check.FunctionReport(**vars(f)) for n, f in committed.functions.items()}
    functions["WorkerFunction"].unused = ["s3:PutObject arn:aws:s3:::${DataBucket}/anything/*"]
    report = iam_check.Report(functions, [])
    iam_check.hold(report, {"BatchFunction": ["s3:GetObject arn:aws:s3:::${DataBucket}/gone/*"]})
    assert not report.passed
    assert "NEW UNUSED GRANT WorkerFunction: s3:PutObject arn:aws:s3:::${DataBucket}/anything/*" in report.render()
    assert "STALE BASELINE BatchFunction: s3:GetObject" in report.render()
    baseline = tmp_path / "baseline.json"
    assert not iam_check.write_baseline(report, baseline)
    assert not baseline.exists()


def test_the_committed_baseline_is_what_the_committed_template_leaves_unused(committed: iam_check.Report) -> None:
    held = json.loads(iam_check.BASELINE.read_text())["unused"]
    assert {n: f.unused for n, f in committed.functions.items() if f.unused} == held
