"""The template's security properties, read from template.yaml: who may touch what, and how data is kept.

cfn-lint and checkov judge the template against their rule sets (tests/integration/test_iac_scan.py);
these tests pin windpitch's own decisions, so a change that loosens one fails here with the reason.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

from tests.conftest import ROOT

TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = [name for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"]
OUTPUT_PREFIXES = {
    "predictions/", "quarantine/", "anomalies/", "dashboard/", "manifests/", "state/ledger/", "state/leases/",
    "monitoring/", "shadow/",
}  # fmt: skip


def props(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = RESOURCES[name]["Properties"]
    return properties


def statements(function: str) -> list[dict[str, Any]]:
    found = []
    for policy in props(function).get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            found += policy["Statement"]
    return found


def resource_prefixes(statement: dict[str, Any]) -> set[str]:
    """``raw/`` for ``!Sub "${DataBucket.Arn}/raw/*"``."""
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return {r["Fn::Sub"].split("}/", 1)[1].removesuffix("*") for r in resources if "Fn::Sub" in r}


def test_every_function_has_its_own_role() -> None:
    assert sorted(FUNCTIONS) == [
        "BatchFunction",
        "ClientPredictFunction",
        "HealthFunction",
        "PreTrafficHookFunction",
        "PredictFunction",
        "WorkerFunction",
    ]
    for name in FUNCTIONS:
        assert "Role" not in props(name), f"{name} must get its own role from SAM, not a shared one"
    assert "Policies" not in TEMPLATE["Globals"]["Function"], "no permission may be granted to every function"


@pytest.mark.parametrize("function", ["PredictFunction", "HealthFunction", "ClientPredictFunction"])
def test_the_api_functions_touch_no_data(function: str) -> None:
    assert "Policies" not in props(function), f"{function} needs no permission beyond logs, metrics and traces"


def test_the_batch_writes_only_its_output_prefixes() -> None:
    by_action: dict[str, set[str]] = {}
    for statement in statements("BatchFunction"):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert "*" not in action, f"wildcard action {action}"
            if action.startswith("s3:") and action != "s3:ListBucket":
                by_action.setdefault(action, set()).update(resource_prefixes(statement))
    assert set(by_action) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert by_action["s3:PutObject"] == OUTPUT_PREFIXES, "raw/ and site/ are never written by the batch"
    # Spent state (leases; results and staged outputs once committed; the pre-ledger records, once migrated);
    # a superseded version's extra slices. Never raw/, manifests/, site/ or the ledger.
    assert by_action["s3:DeleteObject"] == {
        "state/leases/", "state/results/", "state/staged/", "state/processed/", "state/done/", "state/keys/",
        "predictions/", "quarantine/", "monitoring/counts/", "shadow/",
    }  # fmt: skip
    assert "raw/" not in by_action["s3:GetObject"], "the workers read raw files; the batch commits and lists"
    assert "manifests/" in by_action["s3:GetObject"], "the aggregation reads the runs' manifests (manifests/run-*.json)"
    assert "site/" not in by_action["s3:GetObject"]
    # The registry is read (the challenger), never written: publishing a model is a person's act, not the batch's.
    assert "models/" in by_action["s3:GetObject"]
    assert not any(p.startswith("models") for p in by_action["s3:PutObject"] | by_action["s3:DeleteObject"])


def test_the_challenger_is_a_parameter_and_its_refusal_is_alarmed() -> None:
    assert TEMPLATE["Parameters"]["ChallengerVersion"]["Default"] == ""  # empty: the registry's pointer
    assert environment("BatchFunction")["CHALLENGER_VERSION"] == {"Ref": "ChallengerVersion"}
    alarm = props("ChallengerRefusedAlarm")
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "ChallengerRefused", 1, "GreaterThanOrEqualToThreshold"
    )  # fmt: skip


def test_the_bucket_is_private_encrypted_versioned_and_tls_only() -> None:
    bucket = props("DataBucket")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [tls] = [s for s in props("DataBucketPolicy")["PolicyDocument"]["Statement"] if s["Sid"] == "TlsOnly"]
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


LIFECYCLE: list[dict[str, Any]] = props("DataBucket")["LifecycleConfiguration"]["Rules"]
RULES = {r["Id"]: r for r in LIFECYCLE}
# What a lifecycle rule can do to an object (a current or an old version, a delete marker); an incomplete
# multipart upload is no object, so aborting one is not among them.
OBJECT_ACTIONS = {
    "ExpirationInDays", "ExpirationDate", "ExpiredObjectDeleteMarker", "Transitions", "Transition",
    "NoncurrentVersionExpiration", "NoncurrentVersionExpirationInDays", "NoncurrentVersionTransitions",
    "NoncurrentVersionTransition",
}  # fmt: skip


def rule_prefix(rule: dict[str, Any]) -> str:
    """The prefix a rule covers ('' for the whole bucket)."""
    assert "TagFilters" not in rule and "ObjectSizeGreaterThan" not in rule, "a rule these tests cannot read"
    return str(rule.get("Prefix", ""))


def test_raw_and_quarantine_data_expire() -> None:
    assert RULES["raw-scada"]["Prefix"] == "raw/"
    assert RULES["raw-scada"]["ExpirationInDays"] == {"Ref": "RawRetentionDays"}
    assert RULES["raw-scada"]["Transitions"][0]["StorageClass"] == "STANDARD_IA"
    assert RULES["quarantine"]["Prefix"] == "quarantine/"
    assert RULES["quarantine"]["ExpirationInDays"] == {"Ref": "QuarantineRetentionDays"}
    assert all(rule["Status"] == "Enabled" for rule in LIFECYCLE)


def test_no_lifecycle_rule_can_expire_or_move_anything_under_models() -> None:
    """The registry keeps every version it ever had: a rule covering models/ may only abort unfinished uploads."""
    covering = [
        rule for rule in LIFECYCLE if "models/".startswith(rule_prefix(rule)) or rule_prefix(rule).startswith("models")
    ]
    assert [rule["Id"] for rule in covering] == ["abandoned-uploads"]
    for rule in covering:
        assert not OBJECT_ACTIONS & set(rule), f"{rule['Id']} could expire or move objects under models/"
        assert set(rule) == {"Id", "Status", "AbortIncompleteMultipartUpload"}


def test_every_prefix_but_the_registry_drops_old_versions_and_their_delete_markers() -> None:
    """A month of history, then the delete markers left behind (deleted leases, results, staged outputs...)."""
    history = {rule_prefix(r): r for r in LIFECYCLE if "NoncurrentVersionExpiration" in r}
    written = {p.split("/", 1)[0] + "/" for f in FUNCTIONS for s in statements(f) if "s3:PutObject" in str(s["Action"])
               for p in resource_prefixes(s)}  # fmt: skip
    assert set(history) == written | {"raw/", "site/"}, (
        "each top-level prefix anyone writes (raw/: the uploader, site/: make)"
    )
    for prefix, rule in history.items():
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}, prefix
        assert rule["ExpiredObjectDeleteMarker"] is True, prefix
        assert not {"ExpirationInDays", "ExpirationDate"} & set(rule), (
            "S3 refuses a delete-marker rule that expires too"
        )


def test_the_pipelines_state_expires_and_the_ledger_outlives_the_raw_files() -> None:
    """A ledger entry must outlive its raw file, or the hourly reconcile would queue a file already scored."""
    state = {
        rule_prefix(r): r["ExpirationInDays"]
        for r in LIFECYCLE
        if rule_prefix(r).startswith("state/") and "ExpirationInDays" in r
    }
    assert state == {"state/leases/": 1, "state/failures/": 30, "state/staged/": 7, "state/ledger/": 760}
    raw = TEMPLATE["Parameters"]["RawRetentionDays"]
    assert state["state/ledger/"] >= raw["MaxValue"] + 30 and raw["Default"] <= raw["MaxValue"]
    assert "state/done/" not in state, "the done markers are the ledger's now (migrated, then deleted)"


def test_the_dashboard_is_served_only_through_cloudfront_with_origin_access_control() -> None:
    [allow] = [s for s in props("DataBucketPolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert "DashboardDistribution" in str(allow["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert resource_prefixes(allow) == {"site/", "dashboard/"}, "visitors never read raw data or predictions"
    config = props("DashboardDistribution")["DistributionConfig"]
    assert all(origin.get("OriginAccessControlId") for origin in config["Origins"])
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert {b["ViewerProtocolPolicy"] for b in behaviours} == {"redirect-to-https"}
    assert {tuple(b["AllowedMethods"]) for b in behaviours} == {("GET", "HEAD")}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_has_reserved_concurrency_and_its_own_log_retention(function: str) -> None:
    reserved = props(function)["ReservedConcurrentExecutions"]
    cap = reserved["Fn::If"][1]
    assert reserved["Fn::If"][0] in {"Reserve", "ReserveForClients"}
    assert cap == {"Ref": "WorkerMaxConcurrency"} if function == "WorkerFunction" else cap >= 1
    log_group = props(f"{function}LogGroup")
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert function in str(log_group["LogGroupName"])
    assert TEMPLATE["Globals"]["Function"]["Tracing"] == "Active"


def api(name: str) -> dict[str, Any]:
    """An API's properties as deployed: the Globals', then its own."""
    return {**TEMPLATE["Globals"]["Api"], **props(name)}


@pytest.mark.parametrize("name", ["Api", "ClientApi"])
def test_the_apis_are_throttled_and_log_access(name: str) -> None:
    [settings] = api(name)["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}
    assert api(name)["TracingEnabled"] is True
    log = api(name)["AccessLogSetting"]
    assert log["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert {"$context.requestId", "$context.apiId", "$context.identity.apiKeyId"} <= set(
        re.findall(r"\$[\w.]+", log["Format"])
    )
    # The stage waits for the account's logging role when this stack creates it: its description names it.
    assert "ApiGatewayAccount" in str(props(name)["Description"]["Fn::If"][1])
    assert props(name)["MinimumCompressionSize"] == 1024, "answers over 1 KB gzipped for clients that accept it"


def test_the_batch_failure_path_is_encrypted_and_alarmed() -> None:
    assert props("BatchFailureQueue")["SqsManagedSseEnabled"] is True
    assert props("BatchFunction")["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert props("BatchErrorsAlarm")["MetricName"] == "Errors"


def test_programmatic_clients_can_be_given_api_keys_with_a_usage_plan() -> None:
    """ClientApiKeys=true: a second API, key required on every method, throttle and quota per key."""
    api, function = RESOURCES["ClientApi"], RESOURCES["ClientPredictFunction"]
    assert api["Condition"] == function["Condition"] == RESOURCES["ClientPredictFunctionLogGroup"]["Condition"]
    assert TEMPLATE["Conditions"][api["Condition"]] == {"Fn::Equals": [{"Ref": "ClientApiKeys"}, "true"]}
    assert TEMPLATE["Parameters"]["ClientApiKeys"]["Default"] == "false"
    auth = api["Properties"]["Auth"]
    assert auth["ApiKeyRequired"] is True
    plan = auth["UsagePlan"]
    assert plan["CreateUsagePlan"] == "PER_API"
    assert plan["Throttle"] == {"RateLimit": {"Ref": "ClientRateLimit"}, "BurstLimit": {"Ref": "ClientBurstLimit"}}
    assert plan["Quota"] == {"Limit": {"Ref": "ClientDailyQuota"}, "Period": "DAY"}
    events = function["Properties"]["Events"].values()
    assert {e["Properties"]["RestApiId"]["Ref"] for e in events} == {"ClientApi"}, "only the client API calls it"
    assert function["Properties"]["CodeUri"] == props("PredictFunction")["CodeUri"], "the same handler"


def test_the_local_api_serves_what_the_template_deploys() -> None:
    """SAM CLI ignores Conditions; windpitch_local leaves out the resources a condition turns off."""
    from windpitch_local.api import absent_resources

    assert absent_resources(TEMPLATE, {}) == {"ClientApi", "ClientPredictFunction", "ClientPredictFunctionLogGroup"}
    assert absent_resources(TEMPLATE, {"ClientApiKeys": "true", "ConfigureApiGatewayLogging": "false"}) == {
        "ApiGatewayCloudWatchRole",
        "ApiGatewayAccount",
    }


def environment(function: str) -> dict[str, Any]:
    """A function's environment as deployed: the Globals' variables, then its own."""
    shared = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    own = props(function).get("Environment", {}).get("Variables", {})
    return {**shared, **own}


# What a checkov skip's reason may claim, and the fact in the template that makes the claim true.
CLAIMS = {
    "bucket name": lambda f: "WINDPITCH_BUCKET" in environment(f),
    "queue URL": lambda f: "WORK_QUEUE_URL" in environment(f),
    "thresholds": lambda f: "DETECTOR_STEADY_THRESHOLD_DEG" in environment(f),
    "challenger": lambda f: "CHALLENGER_VERSION" in environment(f),
    "schedule": lambda f: "SCHEDULE_MINUTES" in environment(f),
    "allowed origin": lambda f: "WINDPITCH_ALLOWED_ORIGIN" in environment(f),
    "version's ARN": lambda f: "NEW_VERSION" in environment(f),
    "S3": lambda f: any(str(s.get("Action", "")).startswith("s3:") for s in statements(f)),
    "SQS": lambda f: "sqs:" in str(props(f).get("Policies", "")) or "SQS" in str(props(f).get("Events", "")),
    "no AWS API": lambda f: "Policies" not in props(f),
    "only the Globals'": lambda f: "Environment" not in props(f),
}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_checkov_skip_reason_is_true_of_its_own_resource(function: str) -> None:
    """A reason copied from another resource claims what this one does not have (a bucket, an origin...)."""
    for skip in RESOURCES[function].get("Metadata", {}).get("checkov", {}).get("skip", []):
        claims = [claim for claim in CLAIMS if claim in skip["comment"]]
        assert all(CLAIMS[claim](function) for claim in claims), (function, skip["id"], claims)


def test_only_the_functions_that_answer_browsers_carry_the_cors_origin() -> None:
    carrying = {f for f in FUNCTIONS if "WINDPITCH_ALLOWED_ORIGIN" in environment(f)}
    assert carrying == {"HealthFunction", "PredictFunction"}


def test_alarm_names_say_what_they_watch() -> None:
    alarms = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms["BatchFilesQuarantinedAlarm"]["MetricName"] == "FilesRejected"
    assert alarms["BatchErrorsAlarm"]["MetricName"] == "Errors"
    assert alarms["ModelInputDriftAlarm"]["MetricName"] == "DriftedInputs"


def test_the_api_functions_take_traffic_through_a_live_alias_with_a_canary_and_rollback_alarms() -> None:
    """A new model reaches clients gradually: PreTraffic hook first, then a canary CodeDeploy rolls back on alarm."""
    assert TEMPLATE["Parameters"]["DeploymentType"]["Default"] == "Canary10Percent5Minutes"
    predict = props("PredictFunction")
    assert predict["AutoPublishAlias"] == "live"
    preference = predict["DeploymentPreference"]
    assert preference["Type"] == {"Ref": "DeploymentType"}
    assert preference["Hooks"] == {"PreTraffic": {"Ref": "PreTrafficHookFunction"}}
    watched = {a["Ref"]: RESOURCES[a["Ref"]]["Properties"] for a in preference["Alarms"]}
    assert set(watched) == {
        "PredictErrorsAlarm",
        "Api5xxAlarm",
        "PredictLatencyP99Alarm",
        "RejectedRecordsRatioAlarm",
        "PredictionsOutOfRangeAlarm",
    }
    assert watched["PredictLatencyP99Alarm"]["ExtendedStatistic"] == "p99"
    assert watched["Api5xxAlarm"]["MetricName"] == "5XXError"
    metrics = {m["Id"]: m for m in watched["PredictionsOutOfRangeAlarm"]["Metrics"]}
    assert metrics["outside"]["MetricStat"]["Metric"]["MetricName"] == "PredictionsOutOfTrainingRange"
    health = props("HealthFunction")
    assert health["AutoPublishAlias"] == "live" and health["DeploymentPreference"]["Type"] == {"Ref": "DeploymentType"}


def test_the_hook_may_only_report_its_verdict_and_ask_the_new_version() -> None:
    hook = props("PreTrafficHookFunction")
    assert hook["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_"), "CodeDeploy's role invokes only these"
    assert hook["DeploymentPreference"] == {"Enabled": False}
    assert hook["Environment"]["Variables"]["NEW_VERSION"] == {"Ref": "PredictFunction.Version"}
    grants = {s["Action"]: s["Resource"] for s in statements("PreTrafficHookFunction")}
    assert set(grants) == {"codedeploy:PutLifecycleEventHookExecutionStatus", "lambda:InvokeFunction"}
    assert grants["lambda:InvokeFunction"] == {"Ref": "PredictFunction.Version"}
    assert (
        "deploymentgroup:${ServerlessDeploymentApplication}/"
        in grants["codedeploy:PutLifecycleEventHookExecutionStatus"]["Fn::Sub"]
    )


def test_the_workers_write_only_a_units_outputs_and_result() -> None:
    """Published outputs, the dashboard, the events and the manifests are the commit's: a worker never writes them."""
    by_action: dict[str, set[str]] = {}
    for statement in statements("WorkerFunction"):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert "*" not in action
            if action != "s3:ListBucket":
                by_action.setdefault(action, set()).update(resource_prefixes(statement))
    # Its outputs are staged: only the commit publishes them, once the ledger names the unit.
    assert by_action["s3:PutObject"] == {"state/staged/", "state/results/", "state/failures/", "state/leases/"}
    assert by_action["s3:DeleteObject"] == {"state/leases/"}
    assert by_action["s3:GetObject"] == {
        "raw/", "models/", "state/results/", "state/leases/", "state/failures/"
    }  # fmt: skip


def test_landed_files_reach_the_workers_through_a_queue_with_a_dead_letter_queue() -> None:
    (notification,) = props("DataBucket")["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Queue"] == {"Fn::GetAtt": ["UnitsQueue", "Arn"]}
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "raw/"}]
    queue = props("UnitsQueue")
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["UnitsDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 3}  # fmt: skip
    assert queue["VisibilityTimeout"] >= 6 * props("WorkerFunction")["Timeout"]
    assert queue["SqsManagedSseEnabled"] and props("UnitsDeadLetterQueue")["SqsManagedSseEnabled"]
    source = props("WorkerFunction")["Events"]["Units"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerMaxConcurrency"}}
    assert environment("BatchFunction")["WORK_QUEUE_URL"] == {"Ref": "UnitsQueue"}
    alarms = {r["Properties"]["MetricName"]: r["Properties"] for r in RESOURCES.values()
              if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "AWS/SQS"}  # fmt: skip
    assert set(alarms) == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    sender = props("UnitsQueuePolicy")["PolicyDocument"]["Statement"][0]
    assert sender["Principal"] == {"Service": "s3.amazonaws.com"}
    assert sender["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_only_sam_local_points_the_batch_at_another_s3() -> None:
    """LocalS3EndpointUrl is empty unless a local run sets it; the batch functions read it, nothing else does."""
    assert TEMPLATE["Parameters"]["LocalS3EndpointUrl"]["Default"] == ""
    readers = {f for f in FUNCTIONS if "WINDPITCH_S3_ENDPOINT_URL" in environment(f)}
    assert readers == {"BatchFunction", "WorkerFunction"}
    assert environment("BatchFunction")["WINDPITCH_S3_ENDPOINT_URL"] == {"Ref": "LocalS3EndpointUrl"}


def test_the_processor_is_one_parameter_for_functions_and_layers() -> None:
    assert TEMPLATE["Parameters"]["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]
    layers = [r for r in RESOURCES.values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert layers and all(r["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}] for r in layers)
    assert all(r["Metadata"]["BuildArchitecture"] == {"Ref": "Architecture"} for r in layers)


def test_the_batch_reconciles_hourly_what_no_message_brought() -> None:
    """Raw files whose notification was lost, or whose message expired in the dead-letter queue, are queued again."""
    events = props("BatchFunction")["Events"]
    assert set(events) == {"Schedule", "Reconcile"}
    reconcile = events["Reconcile"]
    assert reconcile["Type"] == "Schedule"
    assert reconcile["Properties"]["Schedule"] == "rate(1 hour)"
    assert json.loads(reconcile["Properties"]["Input"]) == {"action": "reconcile"}
    assert "Input" not in events["Schedule"]["Properties"], "the regular run's event is EventBridge's own"
    sends = [
        s["Resource"]
        for p in props("BatchFunction")["Policies"]
        for s in p["Statement"]
        if s["Action"] == "sqs:SendMessage"
    ]
    assert sends == [{"Fn::GetAtt": ["UnitsQueue", "Arn"]}], "the reconciler queues; SAM grants the destination"


SETTINGS = {  # the parameters whose defaults are the code's, and the variable each becomes
    "DetectorSteadyThresholdDeg": ("DETECTOR_STEADY_THRESHOLD_DEG", float),
    "DetectorPitchingThresholdDeg": ("DETECTOR_PITCHING_THRESHOLD_DEG", float),
    "DetectorWindowIntervals": ("DETECTOR_WINDOW_INTERVALS", int),
    "MonitoringPsiThreshold": ("MONITORING_PSI_THRESHOLD", float),
    "MonitoringWindowDays": ("MONITORING_WINDOW_DAYS", int),
}


@pytest.mark.parametrize("name", SETTINGS)
def test_the_detector_and_monitoring_parameters_leave_the_defaults_to_the_code(name: str) -> None:
    """Empty by default: windpitch's own default applies (docs/settings.md); the template restates none."""
    parameter = TEMPLATE["Parameters"][name]
    variable, kind = SETTINGS[name]
    assert parameter["Type"] == "String" and parameter["Default"] == ""
    assert not {"MinValue", "MaxValue", "AllowedValues"} & set(parameter)
    assert "empty" in parameter["Description"].lower() and "docs/settings.md" in parameter["Description"]
    pattern = re.compile(parameter["AllowedPattern"])  # CloudFormation matches the whole value
    accepted = ["", "5", "12", "0.25", "1.5"] if kind is float else ["", "5", "12"]
    refused = ["abc", "1.5.2", "-1", " ", "1e3"] + (["0.25", "1.5"] if kind is int else [])
    assert all(pattern.fullmatch(v) for v in accepted), accepted
    assert not any(pattern.fullmatch(v) for v in refused), refused
    readers = {f for f in FUNCTIONS if variable in environment(f)}
    assert readers and all(environment(f)[variable] == {"Ref": name} for f in readers)


def test_api_gateways_own_errors_are_valid_json_in_the_apis_shape() -> None:
    """$context.error.messageString is already a quoted JSON string (AWS's own example writes it unquoted): the
    templates give valid JSON for a throttled or oversized request, with the API's error shape."""
    responses = TEMPLATE["Globals"]["Api"]["GatewayResponses"]
    message = json.dumps('Rate exceeded "now"')  # what API Gateway substitutes: a JSON string, quotes escaped
    for name in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template = responses[name]["ResponseTemplates"]["application/json"]
        rendered = template.replace("$context.error.messageString", message).replace("$context.requestId", "r-1")
        body = json.loads(rendered)
        assert body["error"] == 'Rate exceeded "now"' and body["details"] == []


def test_only_this_stacks_bucket_may_notify_the_units_queue() -> None:
    """The queue policy names the bucket by the name CloudFormation generates (<stack>-databucket-<suffix>, lower
    case, the stack's name kept whole while it is short): every stack samconfig deploys fits that."""
    [allow] = [s for s in props("UnitsQueuePolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    pattern = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert pattern == "arn:${AWS::Partition}:s3:::${AWS::StackName}-databucket-*"
    assert "BucketName" not in props("DataBucket"), "a generated name: the pattern above is what it looks like"
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    stacks = {c["deploy"]["parameters"]["stack_name"] for c in config.values() if isinstance(c, dict) and "deploy" in c}
    assert stacks and all(re.fullmatch(r"[a-z0-9-]{1,30}", name) for name in stacks), stacks


def test_every_deploy_shows_its_change_set_first() -> None:
    """Production (and every environment) confirms the change set: nothing in the Makefile skips it."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploys = {env: c["deploy"]["parameters"] for env, c in config.items() if isinstance(c, dict) and "deploy" in c}
    assert "prod" in deploys
    assert all(parameters.get("confirm_changeset") is True for parameters in deploys.values()), deploys
    assert "no-confirm-changeset" not in (ROOT / "Makefile").read_text()


def test_samconfig_overrides_only_parameters_the_template_accepts() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for env, commands in config.items():
        if not isinstance(commands, dict) or "deploy" not in commands:
            continue
        overrides = dict(
            item.split("=", 1) for item in commands["deploy"]["parameters"].get("parameter_overrides", "").split()
        )
        for name, value in overrides.items():
            parameter = TEMPLATE["Parameters"][name]
            assert value in map(str, parameter.get("AllowedValues", [value])), (env, name, value)
            assert re.fullmatch(parameter.get("AllowedPattern", ".*"), value), (env, name, value)
            if parameter["Type"] == "Number":
                assert (
                    parameter.get("MinValue", float("-inf")) <= float(value) <= parameter.get("MaxValue", float("inf"))
                ), (env, name)
