"""``make iam-check``: every function's flows on moto's server with IAM enforced, each under exactly the policy the
built template gives its role.

What it does, in order:

1. **The roles as deployed.** SAM's translator turns template.yaml into the CloudFormation an account would get
   (SAM policy templates such as ``SQSSendMessagePolicy`` expanded, the policies SAM adds itself, such as the
   on-failure destination's); ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::If`` are resolved against a
   fixed account, region and the names the check gives the bucket, queues and functions. Each role's Allow
   statements are split into *grants*, one action on one resource (``s3:PutObject`` on
   ``arn:aws:s3:::${DataBucket}/predictions/*``).
2. **moto's server, enforcing.** The bucket (with the template's S3 → SQS notification), the queues (with their
   redrive policy), one IAM role per function holding exactly its grants and AWS managed policies, the
   predict function's published version and the model registry are set up with moto's default keys; then
   enforcement is switched on (``/moto-api/reset-auth`` 0). Each function runs with a session of its own role
   (``sts:AssumeRole``: temporary keys and a session token, as Lambda gives a function).
3. **The flows.** Each function runs in its own process (an execution environment: its handler imported once,
   its environment variables from the template, its role's keys); this process plays the AWS services around
   them: API Gateway's events, EventBridge's two schedules, S3's notifications, Lambda's SQS poller (which polls
   with the function's role, as Lambda does), Lambda's on-failure destination (sent with the function's role,
   as Lambda does), CodeDeploy's PreTraffic hook. A person's steps (publishing a model, landing raw files,
   ``make promote``'s pointer change) run with an operator's keys.
4. **The report.** Per function: each call denied (the IAM action and the resource, from the call itself:
   moto's S3 errors name neither), the grants no flow used, and the grants used but never needed (another
   grant allowed the same calls). Unused grants are held to :data:`BASELINE`, which may only shrink.

What moto checks, and what this module checks itself (the gaps of moto 5's IAM, found by reading
``moto/iam/access_control.py`` and ``moto/s3/responses.py``, each named in docs/deploy-checks.md):

* moto checks the action and the resource of S3 object and bucket requests and of SQS requests;
* moto checks Lambda and CodeDeploy requests against the resource ``*`` only, and names Lambda's Invoke
  ``lambda:Invoke``: the role given to moto has those statements' resources widened to ``*`` (and Lambda's
  action alias added) so that moto still checks the action, and this module checks the resource, with moto's
  own policy evaluator, before the request is sent;
* moto authorises a CopyObject by the target's ``s3:PutObject`` only: the source's ``s3:GetObject`` is checked
  here;
* S3 answers a read of a missing key with 404 only to a caller allowed ``s3:ListBucket`` (403 otherwise);
  moto always answers 404: here, a 404 without that grant becomes the AccessDenied AWS would answer;
* moto does not implement ``codedeploy:PutLifecycleEventHookExecutionStatus``: once moto has authorised it, its
  500 is answered as AWS would (an empty 200).

``python -m windpitch_deploy iam-check`` runs it; ``--json FILE`` writes the report; ``--update-baseline`` writes
the unused grants found when they are a subset of the baseline (it never grows).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import logging
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import unquote

ROOT: Final = Path(__file__).resolve().parents[1]
TEMPLATE: Final = ROOT / "template.yaml"
BASELINE: Final = Path(__file__).with_name("iam_unused_baseline.json")
EVENTS: Final = ROOT / "events"
ACCOUNT: Final = "123456789012"  # moto's default account
REGION: Final = "eu-west-3"
STACK: Final = "windpitch-iam"
# The optional client API's function is checked too: its role is the one a stack with client keys deploys.
PARAMETERS: Final = {"ClientApiKeys": "true"}
DEFAULT_KEYS: Final = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # before enforcement
OFF: Final = b"1000000000"  # moto's allowance of unauthenticated calls: enforcement off for the set-up
DEPLOYMENT_ID: Final = "d-IAMCHECK1"
SLICE_LINES: Final = "300"  # a large file is scored in slices of this many lines (the template's default is 50,000)

# moto's names for IAM actions where they differ from AWS's (moto names an action after the API operation).
MOTO_ACTION_ALIASES: Final = {
    "lambda:InvokeFunction": ("lambda:Invoke",),
    "xray:PutTraceSegments": ("xray:TraceSegments",),
    "xray:PutTelemetryRecords": ("xray:TelemetryRecords",),
    "s3:ListBucket": ("s3:HeadBucket",),
    "sqs:SendMessage": ("sqs:SendMessageBatch",),
    "sqs:DeleteMessage": ("sqs:DeleteMessageBatch",),
    "sqs:ChangeMessageVisibility": ("sqs:ChangeMessageVisibilityBatch",),
}
# Services moto checks against the resource "*" only: their resources are checked here (see the module).
UNSCOPED_IN_MOTO: Final = ("lambda", "codedeploy", "logs", "xray")
# Operations moto does not implement: once authorised (no 403), answered as AWS would.
UNIMPLEMENTED_IN_MOTO: Final = {("codedeploy", "PutLifecycleEventHookExecutionStatus"): b"{}"}
# The IAM action an API operation needs, where it is not "<service>:<operation>".
IAM_ACTIONS: Final = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "CopyObject"): "s3:PutObject",  # and s3:GetObject on the source
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
}
DENIED_CODES: Final = {"AccessDenied", "AccessDeniedException", "403", "Forbidden"}
NO_VALUE: Final = object()


# ----------------------------------------------------------------------------------------------- the template


def translate(template: Path = TEMPLATE, parameters: dict[str, str] | None = None) -> tuple[dict[str, Any], dict]:
    """SAM's translation of ``template`` (the CloudFormation a deploy creates), and the SAM template itself."""
    import boto3  # noqa: PLC0415 - the translator's session: a region, no call
    from samcli.yamlhelper import yaml_parse  # noqa: PLC0415
    from samtranslator.parser.parser import Parser  # noqa: PLC0415
    from samtranslator.translator.translator import Translator  # noqa: PLC0415

    sam = yaml_parse(template.read_text())
    packaged = copy.deepcopy(sam)
    for name, resource in packaged["Resources"].items():  # what `sam package` does: the code is in S3
        properties = resource.get("Properties", {})
        for uri in ("CodeUri", "ContentUri"):
            if uri in properties:
                properties[uri] = f"s3://{STACK}-artifacts/{name}"
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="none", aws_secret_access_key="none")  # noqa: S106 - no call is made
    translator = Translator(None, Parser(), boto_session=session)
    cfn = translator.translate(
        packaged, parameter_values={**PARAMETERS, **(parameters or {})}, get_managed_policy_map=dict
    )
    return cfn, sam


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Stack:
    """The translated template's resources with the names this check gives them, and ``Ref``/``Fn::*`` resolved.

    Example:
        >>> stack = Stack({"Parameters": {"Stage": {"Default": "dev"}}, "Resources": {
        ...     "DataBucket": {"Type": "AWS::S3::Bucket"}}}, {}, endpoint="http://127.0.0.1:5000")
        >>> stack.resolve({"Fn::Sub": "${DataBucket.Arn}/raw/*"})
        'arn:aws:s3:::windpitch-iam-databucket/raw/*'
        >>> stack.describe(stack.resolve({"Fn::Sub": "${DataBucket.Arn}/${Stage}/*"}))
        'arn:aws:s3:::${DataBucket}/dev/*'
    """

    def __init__(self, cfn: dict[str, Any], sam: dict[str, Any], endpoint: str) -> None:
        self.cfn, self.sam, self.endpoint = cfn, sam, endpoint
        self.resources: dict[str, Any] = cfn["Resources"]
        self.parameters = {n: str(p.get("Default", "")) for n, p in cfn.get("Parameters", {}).items()}
        self.parameters |= {n: v for n, v in PARAMETERS.items() if n in self.parameters}
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK,
            "AWS::URLSuffix": "amazonaws.com",
        }

    def name(self, logical: str) -> str:
        """The physical name: a function's FunctionName when the template sets one, else the stack's prefix."""
        resource = self.resources[logical]
        if resource["Type"] == "AWS::Lambda::Function" and "FunctionName" in resource["Properties"]:
            return str(self.resolve(resource["Properties"]["FunctionName"]))
        if resource["Type"] == "AWS::S3::Bucket":
            return f"{STACK}-{logical.lower()}"
        return f"{STACK}-{logical}"

    def ref(self, logical: str) -> Any:
        if logical in self.pseudo:
            return self.pseudo[logical]
        if logical == "AWS::NoValue":
            return NO_VALUE
        if logical in self.parameters:
            return self.parameters[logical]
        kind = self.resources[logical]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"{self.endpoint}/{ACCOUNT}/{self.name(logical)}"
        if kind == "AWS::Lambda::Version":  # the version published first: 1
            return f"{self.getatt(self.resources[logical]['Properties']['FunctionName']['Ref'], 'Arn')}:1"
        return self.name(logical)

    def getatt(self, logical: str, attribute: str) -> str:  # noqa: PLR0911 - one return per kind
        kind, name = self.resources[logical]["Type"], self.name(logical)
        if kind == "AWS::S3::Bucket":
            return {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            }[attribute]
        if kind == "AWS::SQS::Queue":
            return {
                "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                "QueueName": name,
                "QueueUrl": str(self.ref(logical)),
            }[attribute]
        if kind == "AWS::Lambda::Version" and attribute == "Version":
            return "1"
        if attribute == "Arn":
            service = kind.split("::")[1].lower()
            if kind == "AWS::Lambda::Function":
                return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            if kind == "AWS::IAM::Role":
                return f"arn:aws:iam::{ACCOUNT}:role/{name}"
            return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"
        if attribute == "DomainName":
            return f"{name.lower()}.example.net"
        return f"{name}.{attribute}"

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self.getatt(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def condition(self, name: str) -> bool:
        return self._truth(self.cfn.get("Conditions", {})[name])

    def _truth(self, expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Fn::Equals":
            return bool(self.resolve(argument[0]) == self.resolve(argument[1]))
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(a) for a in argument)
        if function == "Fn::Or":
            return any(self._truth(a) for a in argument)
        if function == "Condition":
            return self.condition(argument)
        raise ValueError(f"not a condition: {expression}")

    def resolve(self, value: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic function
        """``value`` with every intrinsic function resolved (``AWS::NoValue`` drops what holds it)."""
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Fn::GetAtt":
                logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.getatt(logical, attribute)
            if function == "Fn::Sub":
                return self.sub(argument)
            if function == "Fn::If":
                return self.resolve(argument[1] if self.condition(argument[0]) else argument[2])
            if function == "Fn::Join":
                return str(argument[0]).join(str(v) for v in self.resolve(argument[1]))
            if function == "Fn::Select":
                return self.resolve(argument[1])[int(self.resolve(argument[0]))]
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not NO_VALUE}

    def describe(self, text: str) -> str:
        """A resolved value as the report shows it: this check's names back to ``${LogicalId}``."""
        names = {self.name(logical): logical for logical in self.resources}
        for name in sorted(names, key=len, reverse=True):
            text = text.replace(name, "${" + names[name] + "}")
        text = text.replace(f":{REGION}:", ":${AWS::Region}:").replace(f":{ACCOUNT}:", ":${AWS::AccountId}:")
        return text.replace(STACK, "${AWS::StackName}")

    def of_type(self, kind: str) -> list[str]:
        return [n for n, r in self.resources.items() if r["Type"] == kind and self._present(r)]

    def _present(self, resource: dict[str, Any]) -> bool:
        return "Condition" not in resource or self.condition(resource["Condition"])


@dataclass(frozen=True)
class Grant:
    """One action on one resource an Allow statement of the role grants (``key``: how reports name it)."""

    action: str
    resource: str  # resolved
    shown: str  # as the report shows it
    source: str  # the role's policy and statement

    @property
    def key(self) -> str:
        return f"{self.action} {self.shown}"


@dataclass
class Function:
    """A function as deployed: its physical name, code, environment, and its role's statements split in grants."""

    logical: str
    name: str
    code: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    role: str  # the role's logical id
    trust: dict[str, Any]
    grants: list[Grant]
    denies: list[dict[str, Any]]  # Deny statements (and any statement not split into grants), kept as they are
    managed: list[str]  # AWS managed policies' ARNs

    def statements(self, without: str | None = None) -> list[tuple[Grant | None, dict[str, Any]]]:
        """The role's statements, one per grant, ``without`` the grant keyed so (a mutation)."""
        found: list[tuple[Grant | None, dict[str, Any]]] = [(None, s) for s in self.denies]
        for grant in self.grants:
            if grant.key != without:
                found.append((grant, {"Effect": "Allow", "Action": grant.action, "Resource": grant.resource}))
        return found

    def grant_keys(self) -> list[str]:
        return sorted({g.key for g in self.grants})


def functions(stack: Stack) -> dict[str, Function]:
    """Every function the translated template deploys (conditions evaluated), with its role."""
    found = {}
    globals_ = stack.sam.get("Globals", {}).get("Function", {})
    for logical in stack.of_type("AWS::Lambda::Function"):
        properties = stack.resources[logical]["Properties"]
        role_logical = properties["Role"]["Fn::GetAtt"][0]
        role = stack.resources[role_logical]["Properties"]
        grants, denies = [], []
        for policy in role.get("Policies", []):
            document = stack.resolve(policy["PolicyDocument"])
            for index, statement in enumerate(as_list(document["Statement"])):
                source = f"{policy['PolicyName']}/{statement.get('Sid', index)}"
                if (
                    statement["Effect"] != "Allow"
                    or not {"Action", "Resource"} <= set(statement)
                    or ("Condition" in statement)
                ):
                    denies.append(statement)
                    continue
                for action in as_list(statement["Action"]):
                    for resource in as_list(statement["Resource"]):
                        grants.append(Grant(action, resource, stack.describe(resource), source))
        sam_properties = stack.sam["Resources"][logical]["Properties"]
        found[logical] = Function(
            logical=logical,
            name=stack.name(logical),
            code=ROOT / sam_properties["CodeUri"],
            handler=str(properties["Handler"]),
            environment={
                k: str(v) for k, v in stack.resolve(properties.get("Environment", {})).get("Variables", {}).items()
            },
            timeout=int(properties.get("Timeout", globals_.get("Timeout", 3))),
            memory=int(stack.resolve(properties.get("MemorySize", globals_.get("MemorySize", 128)))),
            role=role_logical,
            trust=role["AssumeRolePolicyDocument"],
            grants=grants,
            denies=denies,
            managed=[str(stack.resolve(arn)) for arn in role.get("ManagedPolicyArns", [])],
        )
    return found


# -------------------------------------------------------------------------------------------- moto's server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Moto:
    """``python -m moto.server`` on 127.0.0.1, with AWS's managed policies loaded and Lambda without Docker (an
    invocation answers what :meth:`lambda_results` queued); enforcement off until :meth:`enforce`. Stopped on
    exit, whatever happens."""

    def __init__(self, log: Path | None = None) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Moto:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> Moto:
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": OFF.decode(), "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=output,
                stderr=output,
                env=env,
                start_new_session=True,
            )
        finally:
            if not isinstance(output, int):
                output.close()
        try:
            deadline = time.monotonic() + 30
            while True:
                if self.process.poll() is not None:
                    raise OSError(f"moto's server exited at start (code {self.process.returncode})")
                try:
                    urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)  # noqa: S310 - loopback
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise OSError(f"moto's server did not answer on {self.endpoint} within 30 s") from None
                    time.sleep(0.1)
            self.configure()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> bytes:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.endpoint}{path}", data=body, method="POST", headers={"Content-Type": content_type}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            return bytes(answer.read())

    def configure(self) -> None:
        self.post("/moto-api/config", json.dumps({"lambda": {"use_docker": False}}).encode())

    def enforce(self, on: bool) -> None:
        """IAM enforced on every call from now (``on``), or not (the set-up's default keys work again)."""
        self.post("/moto-api/reset-auth", b"0" if on else OFF, "application/octet-stream")  # raw bytes, not a form

    def reset(self) -> None:
        """Every service emptied, enforcement off: a fresh account for the next check."""
        self.enforce(False)
        self.post("/moto-api/reset", b"")
        self.configure()

    def lambda_results(self, results: list[str]) -> None:
        """What the next invocations answer, in order (moto's Lambda without Docker runs no code)."""
        body = {"results": results, "account_id": ACCOUNT, "region": REGION}
        self.post("/moto-api/static/lambda-simple/response", json.dumps(body).encode())

    def client(self, service: str, keys: dict[str, str], **config: Any) -> Any:
        import boto3  # noqa: PLC0415

        session: Any = boto3.session.Session()
        return session.client(service, endpoint_url=self.endpoint, region_name=REGION, **keys, **config)


# ------------------------------------------------------------------------------- the calls and their checks


def iam_requirements(
    service: str, operation: str, params: dict[str, Any], deployments: dict[str, str]
) -> list[tuple[str, str, str]]:
    """What a call needs: ``(action, resource, checked by)``, moto's check or this module's (see the module).

    Example:
        >>> iam_requirements("s3", "CopyObject", {"Bucket": "b", "Key": "out/a",
        ...                  "CopySource": {"Bucket": "b", "Key": "state/a"}}, {})
        [('s3:PutObject', 'arn:aws:s3:::b/out/a', 'moto'), ('s3:GetObject', 'arn:aws:s3:::b/state/a', 'iam_check')]
        >>> iam_requirements("sqs", "SendMessageBatch", {"QueueUrl": "http://h/123456789012/q"}, {})
        [('sqs:SendMessage', 'arn:aws:sqs:eu-west-3:123456789012:q', 'moto')]
    """
    action = IAM_ACTIONS.get((service, operation), f"{service}:{operation}")
    checker = "iam_check" if service in UNSCOPED_IN_MOTO else "moto"
    if service == "s3":
        bucket, key = params.get("Bucket", "*"), params.get("Key")
        found = [(action, f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else ""), checker)]
        if operation == "CopyObject":
            source = params["CopySource"]
            if isinstance(source, dict):
                source_bucket, source_key = source["Bucket"], source["Key"]
            else:  # botocore has already quoted it: bucket/key?versionId=...
                source_bucket, source_key = unquote(source.split("?", 1)[0]).lstrip("/").split("/", 1)
            found.append(("s3:GetObject", f"arn:aws:s3:::{source_bucket}/{source_key}", "iam_check"))
        return found
    if service == "sqs":
        queue = str(params.get("QueueUrl") or params.get("QueueName", "*")).rstrip("/").rsplit("/", 1)[-1]
        return [(action, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}", checker)]
    if service == "lambda":
        name = str(params.get("FunctionName", "*"))
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        if params.get("Qualifier"):
            arn += f":{params['Qualifier']}"
        return [(action, arn, checker)]
    if service == "codedeploy":
        return [(action, deployments.get(str(params.get("deploymentId")), "*"), checker)]
    if service == "logs" and "logGroupName" in params:
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{params['logGroupName']}"
        if "logStreamName" in params:
            arn += f":log-stream:{params['logStreamName']}"
        return [(action, arn, checker)]
    return [(action, "*", checker)]


class Evaluator:
    """moto's own policy evaluator over a role's documents: allowed when a statement allows and none denies."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        from moto.iam.access_control import IAMPolicy  # noqa: PLC0415 - a development tool's import

        self.policies = [IAMPolicy(json.dumps(d)) for d in documents]

    def allows(self, action: str, resource: str) -> bool:
        from moto.iam.access_control import PermissionResult  # noqa: PLC0415

        permitted = False
        for policy in self.policies:
            result = policy.is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return False
            permitted |= result == PermissionResult.PERMITTED
        return permitted


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


class Gate:
    """Records every AWS call a process makes through boto3 (the action, the resource, allowed or denied and by
    whom), and checks what moto does not (see the module): installed on a botocore event emitter."""

    def __init__(self, documents: list[dict[str, Any]], deployments: dict[str, str], caller: str = "code") -> None:
        self.evaluator = Evaluator(documents)
        self.deployments = deployments
        self.caller = caller
        self.calls: list[dict[str, str]] = []

    def install(self, events: Any) -> None:
        events.register("before-parameter-build", self.before)
        events.register("after-call", self.after)
        events.register("after-call-error", self.failed)
        for service, operation in UNIMPLEMENTED_IN_MOTO:
            events.register(f"before-send.{service}.{operation}", self.unimplemented)

    def record(self, action: str, resource: str, outcome: str, *, by: str, operation: str, detail: str = "") -> None:
        self.calls.append(
            {
                "action": action,
                "resource": resource,
                "outcome": outcome,
                "by": by,
                "caller": self.caller,
                "operation": operation,
                "detail": detail[:300],
            }
        )

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], event_name: str, **_: Any) -> None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        service, operation = model.service_model.signing_name, model.name  # IAM's prefix (logs, not cloudwatch-logs)
        needs = iam_requirements(service, operation, params, self.deployments)
        for action, resource, checker in needs:
            if checker == "iam_check" and not self.evaluator.allows(action, resource):
                self.record(action, resource, "denied", by="iam_check", operation=operation)
                message = f"iam-check: not authorized to perform {action} on {resource}"
                error: Any = {
                    "Error": {"Code": "AccessDenied", "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                }
                raise ClientError(error, operation)
        context["iam_check"] = (service, operation, params.get("Bucket"), needs)

    def after(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "iam_check" not in context:
            return
        service, operation, bucket, needs = context.pop("iam_check")
        status, code = http_response.status_code, str(parsed.get("Error", {}).get("Code", ""))
        denied = status == 403 or code in DENIED_CODES
        if status == 404 and service == "s3" and operation in {"GetObject", "HeadObject"}:
            listing = f"arn:aws:s3:::{bucket}"
            if not self.evaluator.allows("s3:ListBucket", listing):  # AWS: 403 to a caller who may not list
                self.record(
                    "s3:ListBucket",
                    listing,
                    "denied",
                    by="iam_check",
                    operation=operation,
                    detail="a read of a missing key",
                )
                parsed["Error"] = {"Code": "AccessDenied", "Message": "iam-check: 404 only with s3:ListBucket"}
                parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = http_response.status_code = 403
                return
            self.record(
                "s3:ListBucket",
                listing,
                "allowed",
                by="iam_check",
                operation=operation,
                detail="a read of a missing key",
            )
        for action, resource, checker in needs:
            by = "moto" if checker == "moto" else "moto+iam_check"
            if denied:
                self.record(
                    action,
                    resource,
                    "denied",
                    by=by,
                    operation=operation,
                    detail=str(parsed.get("Error", {}).get("Message", "")),
                )
            elif code in {"InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken"}:
                self.record(action, resource, "failed", by=by, operation=operation, detail=code)
            else:
                self.record(action, resource, "allowed", by=by, operation=operation, detail=code)

    def failed(self, context: dict[str, Any], exception: Exception, **_: Any) -> None:
        if "iam_check" in context:
            _, operation, _, needs = context.pop("iam_check")
            for action, resource, _checker in needs:
                self.record(
                    action,
                    resource,
                    "failed",
                    by="-",
                    operation=operation,
                    detail=f"{type(exception).__name__}: {exception}",
                )

    def unimplemented(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse  # noqa: PLC0415
        from botocore.httpsession import URLLib3Session  # noqa: PLC0415

        answer = URLLib3Session().send(request)
        if answer.status_code != 500:  # moto's 403 (or a real answer, should moto implement it one day)
            return answer
        body = UNIMPLEMENTED_IN_MOTO[tuple(event_name.split(".")[1:3])]  # type: ignore[index]
        headers: Any = {"Content-Type": "application/x-amz-json-1.1"}
        return AWSResponse(request.url, 200, headers, _Raw(body))


# --------------------------------------------------------------------------- a function's execution environment


class Context:
    """The Lambda context fields Powertools and the handlers read."""

    def __init__(self, name: str, memory: int, timeout: int) -> None:
        self.function_name, self.memory_limit_in_mb = name, memory
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@contextlib.contextmanager
def faults(wanted: dict[str, Any]) -> Iterator[None]:
    """What a flow needs that the code cannot be made to do from outside (as tests/unit/test_keys_and_roles.py
    patches it): ``fail_scoring`` (a unit whose scoring raises), ``hours_later`` (the reconciler's clock moved
    on, so a file that just landed has settled)."""
    undo: list[Callable[[], None]] = []
    try:
        if wanted.get("fail_scoring"):
            from windpitch_batch import score  # noqa: PLC0415 - in the function's process only

            original = score.score_piece

            def raises(*_: Any, **__: Any) -> Any:
                raise RuntimeError("a unit that fails (iam-check's fault)")

            score.score_piece = raises
            undo.append(lambda: setattr(score, "score_piece", original))
        if wanted.get("hours_later"):
            from windpitch_batch import reconcile  # noqa: PLC0415

            later = datetime.now(UTC) + timedelta(hours=float(wanted["hours_later"]))
            clock = reconcile.datetime
            moved: Any = type("Later", (datetime,), {"now": staticmethod(lambda tz=None: later)})
            vars(reconcile)["datetime"] = moved
            undo.append(lambda: setattr(reconcile, "datetime", clock))
        yield
    finally:
        for step in reversed(undo):
            step()


def failure_record(event: Any, error: BaseException, function_arn: str) -> dict[str, Any]:
    """What Lambda sends an on-failure destination for an asynchronous invocation that failed."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
    }


def serve() -> int:
    """An execution environment (run in the function's own process): its configuration on the first line of
    stdin, then one invocation a line; each answer (result, error, calls) a line on the original stdout. The
    function's own output (logs, metrics) goes to stderr."""
    import importlib.util  # noqa: PLC0415

    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    config = json.loads(sys.stdin.readline())
    import boto3  # noqa: PLC0415 - after the environment is set: boto3 reads the role's keys from it

    session = boto3.DEFAULT_SESSION = boto3.session.Session()  # every client the handler makes comes from it
    gate = Gate(config["documents"], config["deployments"])
    gate.install(session.events)
    module_name, handler_name = config["handler"].rsplit(".", 1)
    path = Path(config["code"]) / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"iam_check_{config['logical']}", path)
    if spec is None or spec.loader is None:
        raise ImportError(config["code"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, handler_name)
    protocol.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        gate.calls, gate.caller = [], "code"
        saved = {name: os.environ.get(name) for name in request.get("env", {})}
        os.environ.update(request.get("env", {}))
        result, error = None, None
        try:
            with faults(request.get("faults", {})):
                result = handler(request["event"], Context(config["name"], config["memory"], config["timeout"]))
        except Exception as exc:  # the invocation failed: reported (and sent to a destination when asynchronous)
            error = f"{type(exc).__name__}: {exc}"
            if request.get("on_failure"):
                gate.caller = "Lambda's on-failure destination"
                with contextlib.suppress(Exception):
                    record = failure_record(request["event"], exc, config["arn"])
                    boto3.client("sqs").send_message(QueueUrl=request["on_failure"], MessageBody=json.dumps(record))
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        protocol.write(json.dumps({"result": result, "error": error, "calls": gate.calls}, default=str) + "\n")
    return 0


class Environment:
    """A function's execution environment as seen from here: started on first use, stopped by :meth:`close`."""

    def __init__(self, function: Function, env: dict[str, str], config: dict[str, Any], log: Path) -> None:
        self.function, self.env, self.config, self.log = function, env, config, log
        self.process: subprocess.Popen[str] | None = None
        self.output: IO[str] | None = None
        self.ready = False

    def start(self) -> subprocess.Popen[str]:
        if self.process is None:
            self.output = self.log.open("a")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "windpitch_deploy.iam_check", "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.output,
                env=self.env,
                cwd=ROOT,
                text=True,
            )
            self._send(self.config)
        return self.process

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None  # noqa: S101 - started above
        self.process.stdin.write(json.dumps(message, default=str) + "\n")
        self.process.stdin.flush()

    def _answer(self, timeout_s: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None  # noqa: S101
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            tail = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{self.function.logical}'s environment gave no answer within {timeout_s:g} s: {tail}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def invoke(self, event: Any, **options: Any) -> dict[str, Any]:
        self.start()
        if not self.ready:
            self._answer(120)  # the cold start: imports, the handler's module
            self.ready = True
        self._send({"event": event, **options})
        return self._answer(self.function.timeout + 60)

    def close(self) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None  # noqa: S101
                self.process.stdin.close()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process, self.ready = None, False
        if self.output is not None:
            self.output.close()
            self.output = None


# ------------------------------------------------------------------------------------------------- the check


class StopScenario(Exception):
    """The function under a mutation was denied: the rest of the story would show nothing more."""


@dataclass
class FunctionReport:
    logical: str
    grants: list[str]
    managed: list[str]
    denied: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    needed: list[str] = field(default_factory=list)
    redundant: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # grant keys, and "managed: <ARN>" for an unused managed policy
    calls: int = 0  # every call made with the role's keys
    code_calls: int = 0  # of which the function's own code made (the rest: Lambda around it, with the role)
    ran: bool = False


@dataclass
class Report:
    functions: dict[str, FunctionReport]
    problems: list[str]
    baseline_added: dict[str, list[str]] = field(default_factory=dict)  # unused grants the baseline does not hold
    baseline_stale: dict[str, list[str]] = field(default_factory=dict)  # baseline entries no longer unused
    removed: tuple[str, str] | None = None
    seconds: float = 0.0

    @property
    def denials(self) -> list[dict[str, str]]:
        return [{"function": n, **d} for n, f in self.functions.items() for d in f.denied]

    @property
    def passed(self) -> bool:
        return not (
            self.denials or self.problems or any(self.baseline_added.values()) or any(self.baseline_stale.values())
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "seconds": round(self.seconds, 1),
            "removed": self.removed,
            "problems": self.problems,
            "baseline_added": self.baseline_added,
            "baseline_stale": self.baseline_stale,
            "functions": {n: vars(f) for n, f in self.functions.items()},
        }

    def render(self) -> str:
        lines = []
        for name, f in self.functions.items():
            if not f.ran:
                lines.append(f"{name}: not run")
                continue
            managed = ", ".join(a.rsplit("/", 1)[-1] for a in f.managed) or "none"
            inline = [u for u in f.used if not u.startswith("managed: ")]
            lines.append(
                f"{name}: {f.calls} AWS calls ({f.code_calls} by its code), {len(f.denied)} denied; "
                f"{len(inline)} of {len(f.grants)} grants used; managed policies: {managed}"
            )
            lines += [
                f"  DENIED {d['action']} on {d['resource']} ({d['operation']}, checked by {d['by']}; "
                f"caller: {d['caller']})"
                for d in f.denied
            ]
            lines += [f"  FAILED {d['action']} on {d['resource']}: {d['detail']}" for d in f.failed]
            lines += [f"  redundant (another grant allows the same calls): {g}" for g in f.redundant]
            lines += [f"  unused: {g}" for g in f.unused]
        for name, added in self.baseline_added.items():
            lines += [
                f"NEW UNUSED GRANT {name}: {g} (not in {BASELINE.name}: remove the grant, or add a flow)" for g in added
            ]
        for name, stale in self.baseline_stale.items():
            lines += [f"STALE BASELINE {name}: {g} is no longer unused: remove it from {BASELINE.name}" for g in stale]
        lines += [f"PROBLEM {p}" for p in self.problems]
        verdict = "passed" if self.passed else "FAILED"
        without = f" (without {self.removed[1]} in {self.removed[0]}'s role)" if self.removed else ""
        lines.append(f"iam-check {verdict} in {self.seconds:.1f} s{without}")
        return "\n".join(lines)


class Run:
    """One check: the stack set up on moto, the environments, the calls each function made."""

    def __init__(
        self, moto: Moto, model_dir: Path, work: Path, remove: tuple[str, str] | None, template: Path = TEMPLATE
    ) -> None:
        cfn, sam = translate(template)
        self.moto, self.model_dir, self.work, self.remove = moto, model_dir, work, remove
        self.stack = Stack(cfn, sam, moto.endpoint)
        self.functions = functions(self.stack)
        self.bucket = self.stack.name(self.stack.of_type("AWS::S3::Bucket")[0])
        self.sessions: dict[str, dict[str, str]] = {}
        self.documents: dict[str, list[dict[str, Any]]] = {}
        self.environments: dict[str, Environment] = {}
        self.calls: dict[str, list[dict[str, str]]] = {name: [] for name in self.functions}
        self.ran: set[str] = set()
        self.problems: list[str] = []
        self.deployments = self._deployments()
        self.operator: dict[str, str] = {}
        self.runtimes: dict[str, Any] = {}
        self.managed: dict[str, list[str]] = {}  # the managed policies each role was given (a mutation takes one)

    # --- set-up (moto's default keys, enforcement off) -----------------------------------------------------

    def _deployments(self) -> dict[str, str]:
        """The deployment group CodeDeploy runs each PreTraffic hook in: the alias whose update names it."""
        found = {}
        for logical in self.stack.of_type("AWS::Lambda::Alias"):
            update = self.stack.resources[logical].get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate", {})
            if "BeforeAllowTrafficHook" in update:
                application = self.stack.resolve(update["ApplicationName"])
                group = self.stack.resolve(update["DeploymentGroupName"])
                found[DEPLOYMENT_ID] = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:{application}/{group}"
        return found

    def set_up(self) -> None:
        keys = DEFAULT_KEYS
        s3, sqs, iam, sts = (self.moto.client(s, keys) for s in ("s3", "sqs", "iam", "sts"))
        s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
        self._queues(sqs)
        self.notifications(s3)
        logs = self.moto.client("logs", keys)
        for logical in self.stack.of_type("AWS::Logs::LogGroup"):
            logs.create_log_group(
                logGroupName=self.stack.resolve(self.stack.resources[logical]["Properties"]["LogGroupName"])
            )
        for function in self.functions.values():
            self._role(iam, sts, function)
        iam.create_user(UserName="operator")
        iam.put_user_policy(
            UserName="operator",
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        key = iam.create_access_key(UserName="operator")["AccessKey"]
        self.operator = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        self._versions(iam)

    def _queues(self, sqs: Any) -> None:
        """Each queue as the template declares it; visible again at once (not IAM: a failed unit is retried
        without waiting the template's 30 minutes)."""
        queues = self.stack.of_type("AWS::SQS::Queue")
        queues.sort(key=lambda q: "RedrivePolicy" in self.stack.resources[q].get("Properties", {}))  # targets first
        for logical in queues:
            properties = self.stack.resolve(self.stack.resources[logical].get("Properties", {}))
            attributes = {"VisibilityTimeout": "0"}
            if "MessageRetentionPeriod" in properties:
                attributes["MessageRetentionPeriod"] = str(properties["MessageRetentionPeriod"])
            if "RedrivePolicy" in properties:
                attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
            url = sqs.create_queue(QueueName=self.stack.name(logical), Attributes=attributes)["QueueUrl"]
            if url != self.stack.ref(logical):
                raise RuntimeError(f"moto named {logical}'s URL {url}, not {self.stack.ref(logical)}")

    def notifications(self, s3: Any) -> None:
        """The bucket's S3 → SQS notifications, as the template declares them."""
        for logical in self.stack.of_type("AWS::S3::Bucket"):
            properties = self.stack.resolve(self.stack.resources[logical].get("Properties", {}))
            configurations = [
                {
                    "QueueArn": q["Queue"],
                    "Events": [q["Event"]],
                    "Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}},
                }
                for q in properties.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
            ]
            s3.put_bucket_notification_configuration(
                Bucket=self.stack.name(logical), NotificationConfiguration={"QueueConfigurations": configurations}
            )

    def _role(self, iam: Any, sts: Any, function: Function) -> None:
        """The function's role in moto (its grants, widened where moto checks only "*"; its managed policies),
        and a session of it: the keys the function runs with."""
        without = self.remove[1] if self.remove and self.remove[0] == function.logical else None
        statements = [s for _, s in function.statements(without)]
        moto_statements = []
        for statement in statements:
            moto_statement = dict(statement)
            if statement["Effect"] == "Allow" and isinstance(statement.get("Action"), str):
                action = statement["Action"]
                moto_statement["Action"] = [action, *MOTO_ACTION_ALIASES.get(action, ())]
                if action.split(":", 1)[0] in UNSCOPED_IN_MOTO:
                    moto_statement["Resource"] = "*"
            moto_statements.append(moto_statement)
        name = self.stack.name(function.role)
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(function.trust))
        for start in range(0, len(moto_statements), 20):
            document = {"Version": "2012-10-17", "Statement": moto_statements[start : start + 20]}
            iam.put_role_policy(RoleName=name, PolicyName=f"grants{start // 20}", PolicyDocument=json.dumps(document))
        documents = [{"Version": "2012-10-17", "Statement": statements}] if statements else []
        aliases = []
        self.managed[function.logical] = [arn for arn in function.managed if f"managed: {arn}" != without]
        for arn in self.managed[function.logical]:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            documents.append(document)
            for statement in as_list(document["Statement"]):  # moto's names for what the managed policy allows
                for action in as_list(statement.get("Action", [])) if statement["Effect"] == "Allow" else []:
                    if action in MOTO_ACTION_ALIASES:
                        alias = list(MOTO_ACTION_ALIASES[action])
                        aliases.append({"Effect": "Allow", "Action": alias, "Resource": "*"})
        if aliases:  # the managed policies are AWS's own: moto's names for their actions are added beside them
            iam.put_role_policy(
                RoleName=name,
                PolicyName="moto-names-of-managed-actions",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": aliases}),
            )
        self.documents[function.logical] = documents
        role_arn = self.stack.getatt(function.role, "Arn")
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=function.name[:64], DurationSeconds=43200)[
            "Credentials"
        ]
        self.sessions[function.logical] = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }

    def _versions(self, iam: Any) -> None:
        """Each published version the template references (the hook's NEW_VERSION), as a function in moto."""
        client = self.moto.client("lambda", DEFAULT_KEYS)
        for logical in self.stack.of_type("AWS::Lambda::Version"):
            function = self.stack.resources[logical]["Properties"]["FunctionName"]["Ref"]
            role = iam.create_role(RoleName=f"{function}-code", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            answer = client.create_function(
                FunctionName=self.stack.name(function),
                Runtime="python3.13",
                Role=role,
                Handler="app.lambda_handler",
                Code={"ZipFile": _zip()},
                Publish=True,
            )
            if f"{answer['FunctionArn']}:{answer['Version']}" != self.stack.ref(logical):
                raise RuntimeError(f"moto published {answer['FunctionArn']}:{answer['Version']} for {logical}")

    # --- the functions ---------------------------------------------------------------------------------------

    def environment(self, logical: str) -> Environment:
        if logical not in self.environments:
            function = self.functions[logical]
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WINDPITCH_", "POWERTOOLS_"))}
            env |= function.environment
            env |= {
                "AWS_ENDPOINT_URL": self.moto.endpoint,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_ACCESS_KEY_ID": self.sessions[logical]["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": self.sessions[logical]["aws_secret_access_key"],
                "AWS_SESSION_TOKEN": self.sessions[logical]["aws_session_token"],
                "AWS_LAMBDA_FUNCTION_NAME": function.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
                "WINDPITCH_MODEL_DIR": str(self.model_dir),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "BATCH_SLICE_LINES": SLICE_LINES,
            }
            config = {
                "logical": logical,
                "name": function.name,
                "code": str(function.code),
                "handler": function.handler,
                "memory": function.memory,
                "timeout": function.timeout,
                "arn": self.stack.getatt(logical, "Arn"),
                "documents": self.documents[logical],
                "deployments": self.deployments,
            }
            self.environments[logical] = Environment(function, env, config, self.work / f"{logical}.log")
        return self.environments[logical]

    def invoke(self, logical: str, event: Any, **options: Any) -> dict[str, Any]:
        """One invocation of the function, its calls recorded; a denial of the function under a mutation stops
        the story."""
        self.ran.add(logical)
        answer = self.environment(logical).invoke(event, **options)
        self.note(logical, answer["calls"] + self.runtime(logical, answer))
        return answer

    def runtime(self, logical: str, answer: dict[str, Any]) -> list[dict[str, str]]:
        """What Lambda itself does with the function's role for each invocation: its log lines into the log group
        (the template's, else one it creates), and, with active tracing, its segment to X-Ray."""
        function = self.functions[logical]
        if logical not in self.runtimes:
            gate = Gate(self.documents[logical], self.deployments, caller="Lambda's runtime (logs, X-Ray)")
            logs, xray = (self.moto.client(s, self.sessions[logical]) for s in ("logs", "xray"))
            for client in (logs, xray):
                gate.install(client.meta.events)
            group, stream = f"/aws/lambda/{function.name}", f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
            gate.calls = []
            with contextlib.suppress(Exception):  # a denial is recorded by the gate
                try:
                    logs.create_log_stream(logGroupName=group, logStreamName=stream)
                except logs.exceptions.ResourceNotFoundException:  # no log group in the template: Lambda makes one
                    logs.create_log_group(logGroupName=group)
                    logs.create_log_stream(logGroupName=group, logStreamName=stream)
            self.runtimes[logical] = (gate, logs, xray, group, stream)
        gate, logs, xray, group, stream = self.runtimes[logical]
        now = time.time()
        with contextlib.suppress(Exception):
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(now * 1000), "message": f"END {'error' if answer['error'] else 'ok'}"}],
            )
        if self.stack.resources[logical]["Properties"].get("TracingConfig", {}).get("Mode") == "Active":
            segment = {
                "name": function.name,
                "id": uuid.uuid4().hex[:16],
                "start_time": now - 0.1,
                "end_time": now,
                "trace_id": f"1-{int(now):08x}-{uuid.uuid4().hex[:24]}",
            }
            with contextlib.suppress(Exception):
                xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])
        calls, gate.calls = gate.calls, []
        return calls

    def note(self, logical: str, calls: list[dict[str, str]]) -> None:
        self.calls[logical] += calls
        if self.remove and self.remove[0] == logical and any(c["outcome"] == "denied" for c in calls):
            raise StopScenario

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.problems.append(what)

    def close(self) -> None:
        for environment in self.environments.values():
            environment.close()

    # --- what the AWS services around the functions do -----------------------------------------------------

    def store(self) -> Any:
        """The bucket with an operator's keys (a person's steps: publishing a model, landing files)."""
        from windpitch_batch.store import RETRIES, S3Store  # noqa: PLC0415

        return S3Store(self.bucket, self.moto.client("s3", self.operator, config=RETRIES))

    def drain(self, **options: Any) -> int:
        """Lambda's SQS event source mapping, as the template declares it: poll with the function's role, invoke
        with a batch, delete what succeeded (ReportBatchItemFailures); until the queue is empty."""
        mappings = [
            self.stack.resources[m]["Properties"] for m in self.stack.of_type("AWS::Lambda::EventSourceMapping")
        ]
        mapping = next(m for m in mappings if m["FunctionName"]["Ref"] == "WorkerFunction")
        logical = mapping["FunctionName"]["Ref"]
        arn = self.stack.resolve(mapping["EventSourceArn"])
        url = f"{self.moto.endpoint}/{ACCOUNT}/{arn.rsplit(':', 1)[-1]}"
        gate = Gate(self.documents[logical], self.deployments, caller="Lambda's SQS poller")
        sqs = self.moto.client("sqs", self.sessions[logical])
        gate.install(sqs.meta.events)
        invocations = 0
        try:
            for _ in range(200):
                messages = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=int(mapping.get("BatchSize", 10)),
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    break
                answer = self.invoke(logical, sqs_event(messages, arn), **options)
                invocations += 1
                result = answer["result"] or {}
                failed = (
                    {m["MessageId"] for m in messages}
                    if answer["error"]
                    else {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                )
                for message in messages:
                    if message["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        finally:
            self.note(logical, gate.calls)
        return invocations

    def scheduled(self, rule_suffix: str, **options: Any) -> dict[str, Any]:
        """EventBridge's rule (``<Function><Event>`` as SAM names it) invoking its target, asynchronously: a failure
        goes to the function's on-failure destination."""
        rule = next(r for r in self.stack.of_type("AWS::Events::Rule") if r.endswith(rule_suffix))
        target = self.stack.resources[rule]["Properties"]["Targets"][0]
        logical = target["Arn"]["Fn::GetAtt"][0]
        if "Input" in target:
            event = json.loads(target["Input"])
        else:  # EventBridge's scheduled event
            event = json.loads((EVENTS / "batch" / "scheduled.json").read_text())
            name = self.stack.resolve(self.stack.resources[rule]["Properties"]["Name"])
            event |= {
                "id": str(uuid.uuid4()),
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"],
            }
        return self.invoke(logical, event, on_failure=self.on_failure(logical), **options)

    def on_failure(self, logical: str) -> str | None:
        for config in self.stack.of_type("AWS::Lambda::EventInvokeConfig"):
            properties = self.stack.resources[config]["Properties"]
            if properties["FunctionName"] == {"Ref": logical}:
                destination = self.stack.resolve(properties["DestinationConfig"]["OnFailure"]["Destination"])
                return f"{self.moto.endpoint}/{ACCOUNT}/{destination.rsplit(':', 1)[-1]}"
        return None


def _zip() -> bytes:
    import io  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda builds from received messages (events/worker/s3_notification.json's record, filled)."""
    template = json.loads((EVENTS / "worker" / "s3_notification.json").read_text())["Records"][0]
    records = []
    for message in messages:
        record = copy.deepcopy(template)
        record.update(
            messageId=message["MessageId"],
            receiptHandle=message["ReceiptHandle"],
            body=message["Body"],
            md5OfBody=hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's checksum
            eventSourceARN=queue_arn,
        )
        record["attributes"] = {**template["attributes"], **message.get("Attributes", {})}
        records.append(record)
    return {"Records": records}


def api_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "api" / f"{name}.json").read_text())
    return event


def scada_csv(rows_per_turbine: int, turbines: list[str], seed: int, bad_row: int | None = None) -> bytes:
    """SCADA rows in the OpenOA shape (10-minute, from 2015-06-01, a power curve and pitch control above rated
    wind); ``bad_row``: that row's wind speed is text (a row the batch quarantines)."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    lines = ["Wind_turbine_name,Date_time,Ba_avg,P_avg,Ws_avg,Va_avg,Ot_avg,Ya_avg,Wa_avg"]
    start = datetime(2015, 6, 1, tzinfo=UTC)
    for turbine in turbines:
        ws = rng.weibull(2.0, rows_per_turbine) * 7.0
        power = 2050.0 * np.clip((ws - 3.0) / 9.0, 0.0, 1.0) ** 2
        pitch = np.where(ws > 12.0, 2.2 * (ws - 12.0), -1.0) + rng.normal(0, 0.2, rows_per_turbine)
        for i in range(rows_per_turbine):
            when = (start + timedelta(minutes=10 * i)).isoformat()
            lines.append(
                f"{turbine},{when},{pitch[i]:.2f},{power[i]:.2f},{ws[i]:.2f},{rng.normal(0, 8):.2f},"
                f"{rng.normal(15, 3):.2f},{rng.uniform(0, 360):.2f},{rng.uniform(0, 360):.2f}"
            )
    if bad_row is not None:
        fields = lines[1 + bad_row].split(",")
        fields[4] = "fast"
        lines[1 + bad_row] = ",".join(fields)
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------------------------------------------- the flows


def api_flows(run: Run) -> None:
    """HealthFunction, PredictFunction and ClientPredictFunction on API Gateway's events: no AWS call (their roles
    hold only the logs and X-Ray managed policies, so any call would be denied)."""
    health = run.invoke("HealthFunction", api_event("health_get"))
    run.expect((health["result"] or {}).get("statusCode") == 200, f"GET /health answered {health}")
    for logical in ("PredictFunction", "ClientPredictFunction"):
        if logical not in run.functions:
            continue
        for name in ("predict_get_ws1", "predict_post_seed", "predict_post_mixed", "predict_get_bad", "openapi_get"):
            answer = run.invoke(logical, api_event(name))
            run.expect(
                answer["error"] is None and (answer["result"] or {}).get("statusCode", 500) < 500,
                f"{logical} on {name}: {answer['error'] or answer['result'].get('statusCode')}",
            )


def canary_flow(run: Run) -> None:
    """The PreTraffic hook as CodeDeploy runs it during `make promote`'s deploy: it invokes the new version (moto
    answers with what PredictFunction answered to the same events here) and reports the verdict."""
    from windpitch.artifacts import read_card  # noqa: PLC0415
    from windpitch_api.canary import proxy_event  # noqa: PLC0415

    card = read_card(run.model_dir)
    answers = [
        run.invoke("PredictFunction", proxy_event("GET", "/health"))["result"],
        run.invoke("PredictFunction", proxy_event("POST", "/predict", {"records": card["golden"]["records"]}))[
            "result"
        ],
    ]
    run.moto.lambda_results([json.dumps(a) for a in answers])
    answer = run.invoke(
        "PreTrafficHookFunction", {"DeploymentId": DEPLOYMENT_ID, "LifecycleEventHookExecutionId": str(uuid.uuid4())}
    )
    run.expect((answer["result"] or {}).get("status") == "Succeeded", f"the PreTraffic hook: {answer}")


def pipeline_flows(run: Run, challenger_dir: Path) -> None:
    """WorkerFunction and BatchFunction, as tests/unit/test_keys_and_roles.py's ``every_flow`` runs them: files
    landing (a large one in slices, a bad row, a file that is not SCADA, a duplicate message, a stale lease),
    the scheduled commit migrating the old records, a replaced file superseding its outputs, a unit that fails
    into the dead-letter queue, the hourly reconcile finding a file whose notification was lost; then a run that
    fails (into the on-failure destination) and the batch after `make promote` cleared the challenger."""
    from windpitch.artifacts import read_card  # noqa: PLC0415
    from windpitch_batch import keys, registry  # noqa: PLC0415

    store, now = run.store(), datetime.now(UTC)
    s3, sqs = store.client, run.moto.client("sqs", run.operator)
    turbines = sorted(read_card(run.model_dir)["farm"]["turbines"])[:2]
    stale = land(run, store, challenger_dir, turbines, now)
    run.expect(run.drain() > 0, "no unit reached WorkerFunction")  # notifications, slices, the challenger
    duplicate = {"unit": {"key": "raw/small.csv", "etag": "", "slice": 0, "slices": 0}}
    sqs.send_message(QueueUrl=str(run.stack.ref("UnitsQueue")), MessageBody=json.dumps(duplicate))
    run.drain()  # a duplicate
    s3.put_object(Bucket=run.bucket, Key=keys.AGGREGATOR_LEASE, Body=stale)  # a commit that died
    first = run.scheduled("Schedule")  # migrate, commit, publish
    run.expect(first["error"] is None and bool(first["result"]), f"the scheduled commit: {first}")
    run.expect(bool(store.list("predictions/")), "the scheduled commit published no prediction")
    s3.put_object(Bucket=run.bucket, Key="raw/large.csv", Body=scada_csv(100, turbines, 5))  # fewer slices
    run.drain()
    run.scheduled("Schedule")  # supersede the replaced file's outputs
    s3.put_object(Bucket=run.bucket, Key="raw/poison.csv", Body=scada_csv(5, turbines, 6))
    run.drain(faults={"fail_scoring": True})  # a unit fails three times: its reason recorded, a dead letter
    run.expect(bool(store.list(keys.FAILURES)), "the failing unit left no failure record")
    s3.put_bucket_notification_configuration(Bucket=run.bucket, NotificationConfiguration={})
    s3.put_object(Bucket=run.bucket, Key="raw/lost.csv", Body=scada_csv(5, turbines, 7))  # no notification
    found = run.scheduled("Reconcile", faults={"hours_later": 2})
    run.expect((found["result"] or {}).get("queued", 0) >= 1, f"the reconcile queued nothing: {found}")
    run.drain()
    run.scheduled("Schedule")
    failing = run.scheduled("Schedule", env={"BATCH_SLICE_LINES": "not a number"})  # a run that fails
    sent = sqs.receive_message(QueueUrl=str(run.stack.ref("BatchFailureQueue")), MaxNumberOfMessages=10)
    run.expect(failing["error"] is not None and len(sent.get("Messages", [])) == 1,
               f"the failed run did not reach its on-failure destination: {failing['error']}")  # fmt: skip
    registry.set_challenger(store, None, now)  # make promote: the challenger is live now
    run.notifications(s3)  # the template's notifications again
    s3.put_object(Bucket=run.bucket, Key="raw/after-promote.csv", Body=scada_csv(10, turbines, 8))
    run.drain()
    last = run.scheduled("Schedule")
    run.expect(last["error"] is None, f"the batch after promote: {last}")


def land(run: Run, store: Any, challenger_dir: Path, turbines: list[str], now: datetime) -> str:
    """A person's steps before the first flows: the live model and a challenger published (the challenger
    pointed at), raw files landing, what the pipelines recorded before the ledger, a worker's stale lease (whose
    body is returned)."""
    from windpitch_batch import keys, registry  # noqa: PLC0415
    from windpitch_batch.plan import UnitRef  # noqa: PLC0415

    s3 = store.client
    registry.publish(store, run.model_dir, now)
    registry.set_challenger(store, registry.publish(store, challenger_dir, now)["version"], now)
    s3.put_object(Bucket=run.bucket, Key="raw/large.csv", Body=scada_csv(576, turbines, 3, bad_row=5))
    s3.put_object(Bucket=run.bucket, Key="raw/small.csv", Body=scada_csv(20, turbines, 4))
    s3.put_object(Bucket=run.bucket, Key="raw/not-scada.csv", Body=b"hello\nworld\n")
    old = {"run_id": "old", "model_version": "v0", "finished_at": "2026-01-01T00:00:00+00:00", "inputs": []}
    legacy = {"key": "raw/gone.csv", "etag": "e", "unit": "u1", "rows_in": 1, "outputs": []}
    s3.put_object(Bucket=run.bucket, Key="manifests/run-old.json", Body=json.dumps(old))
    s3.put_object(Bucket=run.bucket, Key=f"{keys.LEGACY_PROCESSED}u1.old.json", Body=json.dumps(legacy))
    s3.put_object(Bucket=run.bucket, Key=f"{keys.LEGACY_DONE}u2.json", Body=json.dumps({"run": "old", "key": "raw/g"}))
    s3.put_object(Bucket=run.bucket, Key=f"{keys.LEGACY_KEYS}k.json", Body=b"{}")
    etag = s3.head_object(Bucket=run.bucket, Key="raw/small.csv")["ETag"].strip('"')
    stale = json.dumps({"token": "a worker that died", "taken_at": (now - timedelta(days=1)).isoformat()})
    s3.put_object(Bucket=run.bucket, Key=keys.lease(UnitRef("raw/small.csv", etag).unit()), Body=stale)
    return stale


# Which functions each story exercises: a mutation of one function's role runs only the stories it is in.
STORIES: Final = {
    "api": ("HealthFunction", "PredictFunction", "ClientPredictFunction"),
    "pipeline": ("WorkerFunction", "BatchFunction"),
    "canary": ("PredictFunction", "PreTrafficHookFunction"),
}


def challenger_copy(model_dir: Path, into: Path) -> Path:
    """The model as another version (its card's version changed; the trees, and so their hashes, untouched): a
    challenger the worker loads and scores in shadow."""
    from windpitch.artifacts import CARD_FILE  # noqa: PLC0415

    target = into / "challenger"
    shutil.copytree(model_dir, target, dirs_exist_ok=True)
    card = json.loads((target / CARD_FILE).read_text())
    card["version"] = f"{card['version']}-challenger"
    (target / CARD_FILE).write_text(json.dumps(card, indent=2))
    return target


def check(
    model_dir: Path | None = None,
    *,
    moto: Moto | None = None,
    remove: tuple[str, str] | None = None,
    template: Path = TEMPLATE,
    baseline: Path | None = BASELINE,
    work: Path | None = None,
) -> Report:
    """Run every flow under its function's role on moto; ``remove``: ``(function, grant key)`` taken out of that
    role first (a mutation: only that function's stories run, and they stop at its first denial)."""
    from windpitch.artifacts import default_model_dir  # noqa: PLC0415

    started = time.monotonic()
    model = Path(model_dir or default_model_dir())
    with contextlib.ExitStack() as stack:
        folder = Path(work) if work else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="iam-check-")))
        server = moto or stack.enter_context(Moto(folder / "moto.log"))
        if moto is not None:
            server.reset()
        run = Run(server, model, folder, remove, template)
        stack.callback(run.close)
        run.set_up()
        server.enforce(True)

        def enforcement_off() -> None:
            if server.process is not None:
                server.enforce(False)

        stack.callback(enforcement_off)
        stories = [s for s, names in STORIES.items() if remove is None or remove[0] in names]
        for name in {n for s in stories for n in STORIES[s] if n in run.functions}:  # cold starts, in parallel
            run.environment(name).start()
        flows: dict[str, Callable[[], None]] = {
            "api": lambda: api_flows(run),
            "pipeline": lambda: pipeline_flows(run, challenger_copy(model, folder)),
            "canary": lambda: canary_flow(run),
        }
        for story in stories:
            try:
                flows[story]()
            except StopScenario:
                continue
            except Exception as exc:  # a flow broken by something else than IAM: reported, never hidden
                run.problems.append(f"the {story} flows stopped: {type(exc).__name__}: {exc}")
        report = analyse(run, baseline if remove is None else None)
    if remove is None:
        missing = sorted(set(run.functions) - {n for names in STORIES.values() for n in names})
        report.problems += [f"no flow exercises {name}: add one to windpitch_deploy.iam_check" for name in missing]
    report.removed = remove
    report.seconds = time.monotonic() - started
    return report


def analyse(run: Run, baseline: Path | None) -> Report:
    """Per function: the calls denied, the grants used, needed (the only one allowing some call), redundant
    (used, never needed) and unused; with ``baseline``, the unused held to it."""
    reports = {}
    for logical, function in run.functions.items():
        calls = run.calls[logical]
        report = FunctionReport(
            logical,
            function.grant_keys(),
            function.managed,
            calls=len(calls),
            ran=logical in run.ran,
            code_calls=sum(c["caller"] == "code" for c in calls),
        )
        seen = set()
        for call in calls:
            shown = {**call, "resource": run.stack.describe(call["resource"])}
            marker = (shown["action"], shown["resource"], shown["outcome"], shown["operation"])
            if call["outcome"] in {"denied", "failed"} and marker not in seen:
                seen.add(marker)
                (report.denied if call["outcome"] == "denied" else report.failed).append(shown)
        without = run.remove[1] if run.remove and run.remove[0] == logical else None
        managed = run.managed[logical]
        documents = run.documents[logical][-len(managed) :] if managed else []
        candidates = {  # each grant, and each managed policy as one, with what evaluates it
            g.key: Evaluator(
                [
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": g.action, "Resource": g.resource}],
                    }
                ]
            )
            for g in function.grants
            if g.key != without
        } | {f"managed: {arn}": Evaluator([document]) for arn, document in zip(managed, documents, strict=True)}
        used: set[str] = set()
        needed: set[str] = set()
        for action, resource in {(c["action"], c["resource"]) for c in calls if c["outcome"] == "allowed"}:
            matching = {key for key, evaluator in candidates.items() if evaluator.allows(action, resource)}
            used |= matching
            if len(matching) == 1:
                needed |= matching
        report.used, report.needed = sorted(used), sorted(needed)
        report.redundant = sorted(used - needed)
        report.unused = sorted(set(candidates) - used)
        reports[logical] = report
    result = Report(reports, list(run.problems))
    if baseline is not None:
        hold(result, json.loads(baseline.read_text())["unused"] if baseline.exists() else {})
    return result


def hold(report: Report, held: dict[str, list[str]]) -> None:
    """The unused grants of each function that ran, against ``held`` (the baseline): an unused grant it does not
    list is added (a failure), one it lists that is no longer unused is stale (a failure too: shrink it).

    Example:
        >>> report = Report({"F": FunctionReport("F", [], [], unused=["a", "b"], ran=True)}, [])
        >>> hold(report, {"F": ["b", "c"]})
        >>> report.baseline_added, report.baseline_stale, report.passed
        ({'F': ['a']}, {'F': ['c']}, False)
    """
    for logical, function in report.functions.items():
        if function.ran:
            report.baseline_added[logical] = sorted(set(function.unused) - set(held.get(logical, [])))
            report.baseline_stale[logical] = sorted(set(held.get(logical, [])) - set(function.unused))
    report.baseline_stale |= {n: sorted(held[n]) for n in held if n not in report.functions}


def write_baseline(report: Report, path: Path = BASELINE) -> bool:
    """Write the unused grants found, only if no function has one the baseline does not hold (it never grows)."""
    if any(report.baseline_added.values()):
        return False
    path.write_text(
        json.dumps(
            {
                "comment": "Grants no flow of `make iam-check` uses (windpitch_deploy.iam_check), per function: "
                "this may only shrink. Each entry: remove the grant from template.yaml, or give it a flow.",
                "unused": {n: f.unused for n, f in report.functions.items() if f.unused},
            },
            indent=2,
        )
        + "\n"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m windpitch_deploy iam-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="the model the functions load (default: the layer's)")
    parser.add_argument("--json", type=Path, help="also write the report here, as JSON")
    parser.add_argument("--work", type=Path, help="keep moto's and each function's logs here")
    parser.add_argument("--update-baseline", action="store_true", help=f"rewrite {BASELINE.name} (it may only shrink)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # an execution environment
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    from windpitch.artifacts import CARD_FILE, default_model_dir  # noqa: PLC0415

    model = args.model or default_model_dir()
    if not (model / CARD_FILE).exists():
        print(f"iam-check: no trained model in {model} (make model, or --model DIR)", file=sys.stderr)
        return 2
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
    report = check(model, work=args.work)
    print(report.render())
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    if args.update_baseline:
        print("baseline written" if write_baseline(report) else "baseline NOT written: it would grow")
    return 0 if report.passed else 1


if __name__ == "__main__":  # python -m windpitch_deploy.iam_check: what an execution environment runs
    sys.exit(main())
