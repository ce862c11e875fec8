"""Each function's role in template.yaml grants what its flows touch, and nothing they never touch.

The flows run the functions' own handlers on moto (mock_aws) while a botocore hook records every S3 and SQS call
they make: the action IAM checks (GetObject, PutObject, DeleteObject; a listing is ListBucket) and the key. A GET
that finds no key needs ListBucket too (S3 answers 404 only to a caller that may list, 403 otherwise). Each call
must be allowed by a statement of the function's role, and each statement (action and prefix) must be used by some
flow. A prefix granted under ``state/`` must name which state (``state/ledger/*``, not ``state/*``): the
pipeline's state is where least privilege matters most.

This checks prefixes against the template as written; ``make iam-check`` (issue 24) is where moto enforces the
built policies themselves.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from samcli.yamlhelper import yaml_parse

from tests.conftest import BUCKET, ROOT, drain, scada_bytes, synthetic_scada
from windpitch_batch import keys
from windpitch_batch.plan import UnitRef
from windpitch_batch.store import S3Store

TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
S3_ACTIONS = {
    "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject", "ListObjectsV2": "s3:ListBucket", "HeadBucket": "s3:ListBucket",
}  # fmt: skip
# Granted and never exercised by a flow here, each for its reason (Lambda's on-failure destination sends to
# BatchFailureQueue under SAM's own policy, not the template's: make iam-check runs that flow).
NOT_EXERCISED: dict[tuple[str, str, str], str] = {}


def grants(function: str) -> set[tuple[str, str]]:
    """``(action, pattern)`` the role allows: S3 patterns as keys (``raw/*``), ListBucket as ``*``, SQS queues by
    their resource's logical name."""
    found = set()
    for policy in TEMPLATE["Resources"][function]["Properties"].get("Policies", []):
        assert set(policy) == {"Version", "Statement"}, "one versioned policy of the role's own statements"
        for statement in policy.get("Statement", []):
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                for resource in resources:
                    if isinstance(resource, dict) and "Fn::Sub" in resource:
                        found.add((action, resource["Fn::Sub"].split("${DataBucket.Arn}/", 1)[1]))
                    elif action.startswith("sqs:"):
                        assert resource["Fn::GetAtt"][1] == "Arn", resource
                        found.add((action, resource["Fn::GetAtt"][0]))
                    else:
                        assert resource == {"Fn::GetAtt": ["DataBucket", "Arn"]}, resource
                        found.add((action, "*"))
    return found


class Recorder:
    """Every S3 and SQS call made through boto3's default session, as ``(action, key or queue)``."""

    def __init__(self) -> None:
        self.calls: set[tuple[str, str]] = set()

    def __call__(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        service, operation = event_name.split(".")[1:3]
        if service == "s3" and operation in S3_ACTIONS:
            self.calls.add((S3_ACTIONS[operation], params.get("Key", "*")))
        elif service == "sqs" and operation in {"SendMessage", "SendMessageBatch"}:
            self.calls.add(("sqs:SendMessage", params["QueueUrl"]))

    def answered(self, http_response: Any, **_: Any) -> None:
        """S3 answers a read of a missing key with 404 only to a caller that may list the bucket (403 otherwise)."""
        if http_response.status_code == 404:
            self.calls.add(("s3:ListBucket", "*"))


@pytest.fixture
def recorded(
    s3: Any, queue: dict[str, Any], functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """The work queue, and a recorder on the calls the handlers make (their clients made anew)."""
    monkeypatch.setenv("BATCH_SLICE_LINES", "300")
    recorder = Recorder()
    session = boto3.Session(region_name="eu-west-3")
    session.events.register("before-parameter-build", recorder)
    session.events.register("after-call.s3.GetObject", recorder.answered)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    for module in (functions["batch"], functions["worker"]):
        module.bucket.cache_clear()
    functions["worker"].queue.cache_clear()
    functions["worker"].LOADED.clear()
    yield {**queue, "recorder": recorder, "s3": s3}
    for module in (functions["batch"], functions["worker"]):
        module.bucket.cache_clear()
    functions["worker"].queue.cache_clear()


def every_flow(queue: dict[str, Any], functions: dict[str, Any], synthetic_challenger_dir: Any, context: Any) -> None:
    """The flows of WorkerFunction and BatchFunction, each as it runs deployed."""
    from windpitch_batch import registry

    s3, now = queue["s3"], datetime.now(UTC)
    plain = S3Store(BUCKET, s3)  # set-up and the workers' failures are not a flow's calls: recorded below
    version = registry.publish(plain, synthetic_challenger_dir, now)["version"]
    registry.set_challenger(plain, version, now)
    frame = synthetic_scada(576, seed=3, freq="10min", start="2015-06-01", turbines=("R80711", "R80790"))
    bad = frame.astype({"Ws_avg": object})
    bad.loc[5, "Ws_avg"] = "fast"  # a bad row: quarantined
    s3.put_object(Bucket=BUCKET, Key="raw/large.csv", Body=scada_bytes(bad))  # slices of 300 lines
    s3.put_object(Bucket=BUCKET, Key="raw/small.csv", Body=scada_bytes(frame.head(40)))
    s3.put_object(Bucket=BUCKET, Key="raw/not-scada.csv", Body=b"hello\nworld\n")  # quarantined whole
    _legacy_records(s3)
    etag = s3.head_object(Bucket=BUCKET, Key="raw/small.csv")["ETag"].strip('"')
    stale = {"token": "a worker that died", "taken_at": (now - timedelta(days=1)).isoformat()}
    s3.put_object(Bucket=BUCKET, Key=keys.lease(UnitRef("raw/small.csv", etag).unit()), Body=json.dumps(stale))
    drain(queue, functions)  # WorkerFunction: notifications, slices, a challenger, a stale lease taken over
    queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody=json.dumps(
        {"unit": {"key": "raw/small.csv", "etag": "", "slice": 0, "slices": 0}}))  # fmt: skip
    drain(queue, functions)  # WorkerFunction: a duplicate
    batch = functions["batch"].lambda_handler
    s3.put_object(Bucket=BUCKET, Key=keys.AGGREGATOR_LEASE, Body=json.dumps(stale))  # a commit that died
    batch({"id": "a", "time": now.isoformat()}, context)  # BatchFunction: migrate, commit, publish
    s3.put_object(Bucket=BUCKET, Key="raw/large.csv", Body=scada_bytes(frame.head(200)))  # fewer slices
    drain(queue, functions)
    batch({"id": "b", "time": now.isoformat()}, context)  # BatchFunction: supersede the old version's outputs
    s3.put_object(Bucket=BUCKET, Key="raw/poison.csv", Body=scada_bytes(frame.head(10)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("windpitch_batch.score.score_piece", _raises)
        drain(queue, functions)  # WorkerFunction: a failure recorded
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={})
    s3.put_object(Bucket=BUCKET, Key="raw/lost.csv", Body=scada_bytes(frame.tail(10)))
    with pytest.MonkeyPatch.context() as patch:
        later = now + timedelta(hours=2)
        patch.setattr("windpitch_batch.reconcile.datetime", type("Later", (datetime,), {"now": lambda tz=None: later}))
        batch({"action": "reconcile"}, context)  # BatchFunction: the hourly reconciliation


def _raises(*_: Any, **__: Any) -> Any:
    raise RuntimeError("a unit that fails")


def _legacy_records(s3: Any) -> None:
    """What the two pipelines recorded before the ledger, for the first commit to migrate."""
    old = {"run_id": "old", "model_version": "v0", "finished_at": "2026-01-01T00:00:00+00:00", "inputs": []}
    s3.put_object(Bucket=BUCKET, Key="manifests/run-old.json", Body=json.dumps(old))
    s3.put_object(Bucket=BUCKET, Key=f"{keys.LEGACY_PROCESSED}u1.old.json", Body=json.dumps(
        {"key": "raw/gone.csv", "etag": "e", "unit": "u1", "rows_in": 1, "outputs": []}))  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=f"{keys.LEGACY_DONE}u2.json", Body=json.dumps({"run": "old", "key": "raw/g.csv"}))
    s3.put_object(Bucket=BUCKET, Key=f"{keys.LEGACY_KEYS}k.json", Body=b"{}")


def check(calls: set[tuple[str, str]], granted: set[tuple[str, str]]) -> tuple[list[str], set[tuple[str, str]]]:
    """What the calls need that no grant allows (each named with its action and target), and the grants unused."""
    missing, used = [], set()
    for action, target in sorted(calls):
        match = {(a, p) for a, p in granted if a == action and (p == target or fnmatch.fnmatchcase(target, p))}
        if not match:
            missing.append(f"{action} on {target!r}")
        used |= match
    return missing, granted - used


def test_each_role_grants_what_its_flows_touch_and_nothing_else(
    recorded: dict[str, Any], functions: dict[str, Any], synthetic_challenger_dir: Any, lambda_context: Any
) -> None:
    # Every function's calls, each from its own handler: the hook tells them apart by the function's name in
    # the Lambda context the handler was given (WorkerContext names WorkerFunction).
    by_function: dict[str, set[tuple[str, str]]] = {"WorkerFunction": set(), "BatchFunction": set()}
    recorder = recorded["recorder"]
    worker, batch = functions["worker"].lambda_handler, functions["batch"].lambda_handler

    def as_function(name: str, handler: Any) -> Any:
        def wrapped(event: dict[str, Any], context: Any) -> Any:
            before = set(recorder.calls)
            recorder.calls.clear()
            try:
                return handler(event, context)
            finally:
                by_function[name] |= recorder.calls
                recorder.calls = before | recorder.calls

        return wrapped

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(functions["worker"], "lambda_handler", as_function("WorkerFunction", worker))
        patch.setattr(functions["batch"], "lambda_handler", as_function("BatchFunction", batch))
        every_flow(recorded, functions, synthetic_challenger_dir, lambda_context)

    queues = {recorded["url"]: "UnitsQueue"}
    for function, raw_calls in by_function.items():
        calls = {(action, queues.get(target, target)) for action, target in raw_calls}
        granted = grants(function)
        missing, unused = check(calls, granted)
        assert not missing, f"{function}'s role in template.yaml does not grant: {missing}"
        unused = {g for g in unused if (function, *g) not in NOT_EXERCISED}
        assert not unused, f"{function}'s role grants what none of its flows touches: {sorted(unused)}"
        assert (function, "s3:PutObject", f"{keys.STATE}*") not in {(function, *g) for g in granted}, (
            f"{function} is granted all of state/: name which state"
        )
        # Mutations: each grant a flow uses, taken away, makes the check fail naming the action and a key.
        for grant in sorted(granted - {g[1:] for g in NOT_EXERCISED if g[0] == function}):
            missing, _ = check(calls, granted - {grant})
            assert missing and all(m.startswith(grant[0]) for m in missing), (function, grant)


def test_every_key_the_pipeline_builds_is_under_a_prefix_keys_names() -> None:
    """keys.py is the one home for keys: the prefixes the template grants are the ones it defines."""
    prefixes = {v for k, v in vars(keys).items() if k.isupper() and isinstance(v, str) and v.endswith("/")}
    for function in ("WorkerFunction", "BatchFunction"):
        for action, pattern in grants(function):
            if action.startswith("s3:") and pattern != "*":
                assert any(pattern.removesuffix("*").startswith(p) for p in prefixes), (function, action, pattern)
