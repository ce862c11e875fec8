"""`make policy-lint` (windpitch_deploy.policy_lint): the built template's IAM policies pass parliament's checks and
windpitch's own rule, and a policy that widens an action or a resource fails naming it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from windpitch_deploy import policy_lint

DATA = "arn:aws:s3:::windpitch-iam-databucket"


@pytest.fixture(scope="module")
def policies() -> list[tuple[str, str, dict[str, Any]]]:
    return policy_lint.role_policies()


def with_statement(policies: list[tuple[str, str, dict[str, Any]]], role: str, statement: dict[str, Any]) -> Any:
    """The policies, with ``statement`` added to the first inline policy of ``role``."""
    changed = copy.deepcopy(policies)
    document = next(d for r, _, d in changed if r == role)
    document["Statement"].append(statement)
    return changed


def test_the_committed_template_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert policy_lint.main([]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "policy-lint: passed" in out
    assert "FAIL" not in out


def test_every_role_with_a_data_grant_is_linted(policies: list[tuple[str, str, dict[str, Any]]]) -> None:
    roles = {role for role, _, _ in policies}
    assert {"BatchFunctionRole", "WorkerFunctionRole", "PreTrafficHookFunctionRole"} <= roles
    assert all("${" not in str(document) for _, _, document in policies), "every Sub, Ref and GetAtt resolved"


@pytest.mark.parametrize("action", ["s3:*", "s3:Get*", "s3:*Object"])
def test_a_wildcard_action_on_a_data_prefix_fails_naming_it(
    policies: list[tuple[str, str, dict[str, Any]]], action: str
) -> None:
    resource = f"{DATA}/predictions/*"
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    findings = policy_lint.lint(with_statement(policies, "WorkerFunctionRole", statement))
    named = [f for f in findings if f.issue == "WILDCARD_ACTION_ON_DATA"]
    assert [f.detail for f in named] == [f"{action} on {resource}"]
    assert named[0].role == "WorkerFunctionRole"
    assert named[0].key not in policy_lint.REVIEWED


def test_resource_star_where_a_resource_exists_fails(policies: list[tuple[str, str, dict[str, Any]]]) -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    findings = policy_lint.lint(with_statement(policies, "BatchFunctionRole", statement))
    assert any(f.issue == "RESOURCE_STAR" and f.role == "BatchFunctionRole" for f in findings), findings


def test_an_action_on_the_wrong_kind_of_resource_fails(policies: list[tuple[str, str, dict[str, Any]]]) -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": DATA}  # the bucket, not its objects
    findings = policy_lint.lint(with_statement(policies, "BatchFunctionRole", statement))
    assert any(f.issue == "RESOURCE_MISMATCH" and "s3:GetObject" in f.detail for f in findings), findings


def test_a_widened_template_fails_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = policy_lint.TEMPLATE.read_text()
    narrow = 'Resource: !Sub "${DataBucket.Arn}/state/leases/*"}\n            - {Sid: QueueOtherSlices'
    assert narrow in template
    widened = tmp_path / "template.yaml"
    # The worker's lease deletes on every key of every bucket.
    widened.write_text(template.replace(narrow, narrow.replace('!Sub "${DataBucket.Arn}/state/leases/*"', '"*"')))

    assert policy_lint.main(["--template", str(widened)]) == 1
    out = capsys.readouterr().out
    assert "WorkerFunctionRole/WorkerFunctionRolePolicy0: RESOURCE_STAR" in out
    assert "FAIL" in out


def test_a_reviewed_finding_that_is_gone_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(policy_lint.REVIEWED, "WorkerFunctionRole/WorkerFunctionRolePolicy0 RESOURCE_STAR x", "gone")
    assert policy_lint.main([]) == 1
    assert "no longer found" in capsys.readouterr().out
