"""``make policy-lint``: every IAM policy the built template creates, read by parliament (duo-labs' IAM linter).

The policies are the ones a deploy creates: SAM's translation of ``template.yaml`` (policy templates such as
``SQSSendMessagePolicy`` expanded, the policies SAM adds itself), with ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and
``Fn::If`` resolved as :mod:`windpitch_deploy.iam_check` resolves them. Each role's inline policies are given to
parliament with its community auditors, which finds among others:

* ``RESOURCE_STAR``: ``Resource: "*"`` on an action that supports resource-level permissions (a resource
  exists to name);
* ``RESOURCE_MISMATCH``: a resource the action never applies to (``s3:GetObject`` on a bucket ARN);
* unknown actions, malformed statements, privilege escalation and permissions management actions.

One rule is windpitch's own, checked here beside parliament's: **no wildcard action on a data prefix**
(``s3:*`` or ``s3:Get*`` on ``arn:aws:s3:::<bucket>/...``): each function names the calls it makes.

A finding fails the lint unless :data:`REVIEWED` holds it, with the reason it stays. The bucket's and the queue's
resource policies are not linted (parliament reads identity policies); the template's tests pin them.

Example:
    >>> wildcard_findings({"Statement": [{"Effect": "Allow", "Action": "s3:Get*",
    ...     "Resource": "arn:aws:s3:::windpitch-iam-databucket/raw/*"}]})
    [('WILDCARD_ACTION_ON_DATA', 's3:Get* on arn:aws:s3:::windpitch-iam-databucket/raw/*')]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .iam_check import TEMPLATE, Stack, as_list, translate

# Findings kept on purpose, each with its reason: "<role>/<policy> <ISSUE> <detail>" -> why.
REVIEWED: dict[str, str] = {
    "BatchFunctionRole/BatchFunctionEventInvokeConfigOnFailureSQSPolicy NO_VERSION ": (
        "SAM writes the on-failure destination's policy itself, with no Version; IAM reads it as 2008-10-17, which "
        "differs only in policy variables, and it has none"
    ),
    "PreTrafficHookFunctionRole/PreTrafficHookFunctionRolePolicy0 RESOURCE_MISMATCH "
    '[{"action": "codedeploy:PutLifecycleEventHookExecutionStatus", "required_format": "*"}]': (
        "parliament 1.6.4's action table gives this action no resource type; the AWS SAM guide's own PreTraffic "
        "hook example scopes it to the application's deployment groups, as here: narrower than *, and "
        "make iam-check runs the hook's call under it"
    ),
}
_DATA = "arn:aws:s3:::"


@dataclass(frozen=True)
class Finding:
    """One finding on one role's policy: the issue (parliament's id, or windpitch's own), its severity and what."""

    role: str
    policy: str
    issue: str
    severity: str
    detail: str

    @property
    def key(self) -> str:
        return f"{self.role}/{self.policy} {self.issue} {self.detail}"


def role_policies(template: Path = TEMPLATE) -> list[tuple[str, str, dict[str, Any]]]:
    """``(role, policy name, resolved document)`` of every inline policy of every role the template creates."""
    cfn, sam = translate(template)
    stack = Stack(cfn, sam, endpoint="http://127.0.0.1:0")
    found = []
    for role in stack.of_type("AWS::IAM::Role"):
        for policy in stack.resources[role]["Properties"].get("Policies", []):
            found.append((role, str(policy["PolicyName"]), stack.resolve(policy["PolicyDocument"])))
    return found


def wildcard_findings(document: dict[str, Any]) -> list[tuple[str, str]]:
    """windpitch's own rule: an Allow of a wildcard action on an S3 object or prefix of a bucket."""
    found = []
    for statement in as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        for action in as_list(statement.get("Action", [])):
            for resource in as_list(statement.get("Resource", [])):
                if "*" in str(action) and str(resource).startswith(_DATA) and "/" in str(resource):
                    found.append(("WILDCARD_ACTION_ON_DATA", f"{action} on {resource}"))
    return found


def lint(policies: list[tuple[str, str, dict[str, Any]]]) -> list[Finding]:
    """parliament's findings (its community auditors included) and windpitch's own, for every policy."""
    with warnings.catch_warnings():  # parliament 1.6.4 imports pkg_resources, which warns of its own removal
        warnings.simplefilter("ignore", UserWarning)
        import parliament  # noqa: PLC0415 - a development dependency: only the lint imports it

    findings = []
    for role, name, document in policies:
        analysed = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
        for finding in analysed.findings:
            detail = finding.detail if isinstance(finding.detail, str) else json.dumps(finding.detail, default=str)
            findings.append(Finding(role, name, finding.issue, str(finding.severity), detail))
        findings += [Finding(role, name, issue, "HIGH", detail) for issue, detail in wildcard_findings(document)]
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    policies = role_policies(args.template)
    findings = lint(policies)
    failing = [f for f in findings if f.key not in REVIEWED]
    roles = len({role for role, _, _ in policies})
    print(f"policy-lint: {len(policies)} inline policies of the {roles} roles that have any; parliament's checks and "
          "windpitch's own rule")  # fmt: skip
    for finding in findings:
        verdict = f"reviewed: {REVIEWED[finding.key]}" if finding.key in REVIEWED else "FAIL"
        print(f"  {finding.severity:<6} {finding.role}/{finding.policy}: {finding.issue} {finding.detail} ({verdict})")
    stale = sorted(set(REVIEWED) - {f.key for f in findings})
    for key in stale:
        print(f"  reviewed finding no longer found, remove it from REVIEWED: {key}")
    print("policy-lint: " + ("passed" if not failing and not stale else f"{len(failing)} findings fail"))
    return 0 if not failing and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
