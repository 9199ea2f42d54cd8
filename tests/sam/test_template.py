"""The SAM template: auth, configuration, storage hardening, least privilege, logs, alarms, tracing, build.

The static tests read ``template.yaml`` with PyYAML and a loader that understands the CloudFormation short tags
(``!Ref``, ``!Sub``, ...). The last two run the real SAM CLI from ``.venv-sam`` (never imported here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.sam

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
DESIGN = ROOT / "docs" / "design.md"
POWERTOOLS_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
DEFAULT_ROUTE = ("ANY", "$default")
"""An HttpApi event without Method and Path: SAM's $default route (unmatched requests reach our 404/405)."""
EXPECTED_ROUTES = {
    ("POST", "/v1/similar-account-pairs"),
    ("GET", "/v1/similar-account-pairs"),
    ("POST", "/v1/uploads"),
    ("GET", "/openapi.json"),
    ("GET", "/health"),
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/{job_id}"),
    ("DELETE", "/v1/jobs/{job_id}"),
    DEFAULT_ROUTE,
}
PUBLIC_ROUTES = {("GET", "/health")}
API_FUNCTION = "SockpuppetFunction"
JOB_VARIABLES = {"JOBS_TABLE", "JOBS_STATE_MACHINE_ARN", "JOB_TTL_DAYS", "JOB_SHARD_MAX_NAMES"}
"""The API function's job settings (INTERFACES.md B; read by the job routes)."""
JOB_WORKERS = {
    "JobPrepareFunction": "prepare_handler",
    "JobSearchFunction": "search_handler",
    "JobMergeFunction": "merge_handler",
    "JobFinishFunction": "finish_handler",
    "JobFailFunction": "fail_handler",
}
DEFINITION = ROOT / "statemachine" / "jobs.asl.json"
STAND_INS = {"PayloadBucket": "sockpuppet-payload-bucket", "JobsTable": "sockpuppet-jobs"}
"""Values of resource references in a default deploy's environment (names CloudFormation would generate)."""
ELF_MACHINE_AARCH64 = 183
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long JSON form (``!Ref X`` -> ``{"Ref": X}``)."""


def _construct_intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return template["Resources"]


def _of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def _one(resources: dict[str, dict[str, Any]], kind: str) -> tuple[str, dict[str, Any]]:
    found = _of_type(resources, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _sam() -> str:
    local = ROOT / ".venv-sam" / "bin" / "sam"
    found = str(local) if local.exists() else shutil.which("sam")
    if found is None:
        pytest.fail("aws-sam-cli not found: run `make sam-venv` (or put sam on PATH)")
    return found


def _sam_env() -> dict[str, str]:
    # `sam build` needs a python3.12 with pip on PATH: the base interpreter of this virtualenv (as `make build`).
    env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["PATH"] = os.pathsep.join([str(Path(sys.base_prefix) / "bin"), env.get("PATH", "")])
    return env


def _run_sam(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    """``sam <args> --template-file template.yaml`` from the repository root; fails the test unless it exits 0."""
    done = subprocess.run(
        [_sam(), *args, "--template-file", str(TEMPLATE)],
        cwd=ROOT,
        env=_sam_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _design_defaults() -> dict[str, str]:
    """Variable -> template default from the configuration table of docs/design.md (single-variable rows)."""
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \|[^|]*\| ([^|]+?) \|$", DESIGN.read_text(encoding="utf-8"), re.MULTILINE)
    return dict(rows)


def _route(event: dict[str, Any]) -> tuple[str, str]:
    return (event["Method"], event["Path"]) if "Path" in event or "Method" in event else DEFAULT_ROUTE


def test_every_route_but_health_requires_iam(resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN the HTTP API and the function's HttpApi events
    api_name, api = _one(resources, "AWS::Serverless::HttpApi")
    function = resources[API_FUNCTION]
    events = function["Properties"]["Events"].values()
    # WHEN the routes and their auth are collected
    routes = {_route(e["Properties"]): e["Properties"] for e in events}
    # THEN the routes are the contract's plus $default, IAM is the API default (also on $default), only /health opts
    # out, all on this API
    assert set(routes) == EXPECTED_ROUTES
    assert api["Properties"]["Auth"] == {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"}
    for route, props in routes.items():
        assert props["ApiId"] == {"Ref": api_name}
        if route in PUBLIC_ROUTES:
            assert props["Auth"] == {"Authorizer": "NONE"}
        else:
            assert "Auth" not in props, f"{route} overrides the IAM default"
        assert props["TimeoutInMillis"] <= 30000


def test_api_stage_is_throttled_and_access_logged(
    template: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> None:
    # GIVEN the HTTP API WHEN its stage settings are read
    _, api = _one(resources, "AWS::Serverless::HttpApi")
    props = api["Properties"]
    # THEN throttling comes from parameters and access logs go to a log group of this stack
    assert props["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
    }
    assert {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= set(template["Parameters"])
    log_group = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert resources[log_group]["Type"] == "AWS::Logs::LogGroup"
    assert '"status":"$context.status"' in props["AccessLogSettings"]["Format"]


def _resolve_defaults(template: dict[str, Any], variables: dict[str, Any]) -> dict[str, str]:
    """The function environment a deploy with default parameters gets (the bucket name is a stand-in)."""
    resolved = {}
    for name, value in variables.items():
        if isinstance(value, dict) and value.get("Ref") in template["Parameters"]:
            resolved[name] = str(template["Parameters"][value["Ref"]]["Default"])
        elif isinstance(value, dict) and value.get("Ref") in STAND_INS:
            resolved[name] = STAND_INS[value["Ref"]]
        elif isinstance(value, dict) and value.get("Ref") == "JobsStateMachine":
            resolved[name] = "arn:aws:states:us-east-1:123456789012:stateMachine:sockpuppet-jobs"
        else:
            assert isinstance(value, str), f"{name}: unexpected {value!r}"
            resolved[name] = value
    return resolved


def test_function_environment_has_every_setting_from_parameters(
    template: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> None:
    # GIVEN the function environment with default parameters, and the design doc's table of defaults
    function = resources[API_FUNCTION]
    variables = function["Properties"]["Environment"]["Variables"]
    environment = _resolve_defaults(template, variables)
    design_defaults = _design_defaults()
    # WHEN sockpuppet_api.config is imported with exactly that environment (it reads and checks it at import)
    read_names = (
        "import dataclasses, json, sockpuppet_api.config as config; "
        "print(json.dumps([field.name.upper() for field in dataclasses.fields(config.Settings)]))"
    )
    child_env = {key: value for key, value in os.environ.items() if key not in environment} | environment
    done = subprocess.run(
        [sys.executable, "-c", read_names], env=child_env, capture_output=True, text=True, timeout=60, check=False
    )
    # THEN the configuration loads, the template sets every variable the config reads (and the Powertools ones)
    assert done.returncode == 0, done.stderr
    settings = set(json.loads(done.stdout))
    assert set(variables) == settings | POWERTOOLS_VARIABLES | JOB_VARIABLES
    # AND every setting comes from a parameter whose default is the documented one
    assert variables["PAYLOAD_BUCKET"] == {"Ref": "PayloadBucket"}
    assert variables["JOBS_TABLE"] == {"Ref": "JobsTable"}
    assert variables["JOBS_STATE_MACHINE_ARN"] == {"Ref": "JobsStateMachine"}
    for name in (settings | JOB_VARIABLES) - {"PAYLOAD_BUCKET", "JOBS_TABLE", "JOBS_STATE_MACHINE_ARN"}:
        assert environment[name] == design_defaults[name], name
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}


def test_function_is_python312_arm64_with_the_layer_and_tracing(resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN the function and the layer
    layer_name, layer = _one(resources, "AWS::Serverless::LayerVersion")
    function = resources[API_FUNCTION]
    props = function["Properties"]
    # THEN both target python3.12 on arm64, the function uses the layer, and X-Ray tracing is active
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "sockpuppet_api.app.lambda_handler"
    assert props["CodeUri"] == "functions/api"
    assert {"Ref": layer_name} in props["Layers"]
    assert props["Tracing"] == "Active"
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/sockpuppet"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert props["Timeout"] == {"Ref": "FunctionTimeoutSeconds"}


def test_concurrency_settings_are_optional(template: dict[str, Any], resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN the function WHEN its concurrency settings are read
    function = resources[API_FUNCTION]
    props = function["Properties"]
    # THEN 0 means "not set" (AWS::NoValue), never "reserved 0" (which would throttle every request)
    reserved = props["ReservedConcurrentExecutions"]["Fn::If"]
    provisioned = props["ProvisionedConcurrencyConfig"]["Fn::If"]
    assert reserved[1] == {"Ref": "ReservedConcurrency"} and reserved[2] == {"Ref": "AWS::NoValue"}
    assert provisioned[1] == {"ProvisionedConcurrentExecutions": {"Ref": "ProvisionedConcurrency"}}
    assert provisioned[2] == {"Ref": "AWS::NoValue"}
    for condition, parameter in ((reserved[0], "ReservedConcurrency"), (provisioned[0], "ProvisionedConcurrency")):
        assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}
    assert props["AutoPublishAlias"]


def test_bucket_is_private_encrypted_tls_only_and_expires_payloads(resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN the payload bucket and its policy
    bucket_name, bucket = _one(resources, "AWS::S3::Bucket")
    _, policy = _one(resources, "AWS::S3::BucketPolicy")
    props = bucket["Properties"]
    # THEN public access is blocked, objects are encrypted and owned by the bucket owner
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    # AND uploads/ and results/ expire after their parameters' days, incomplete multipart uploads are aborted
    rules = [rule for rule in props["LifecycleConfiguration"]["Rules"] if rule["Status"] == "Enabled"]
    expiry = {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules if "Prefix" in rule}
    assert expiry == {
        "uploads/": {"Ref": "UploadExpirationDays"},
        "results/": {"Ref": "ResultExpirationDays"},
        "jobs/": {"Ref": "JobTtlDays"},
    }
    assert any("AbortIncompleteMultipartUpload" in rule for rule in rules)
    # AND the bucket policy denies every non-TLS request on the bucket and its objects
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_name}
    [deny] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [{"Fn::GetAtt": [bucket_name, "Arn"]}, {"Fn::Sub": f"${{{bucket_name}.Arn}}/*"}]
    assert "CorsConfiguration" not in props


def _statements(function: dict[str, Any]) -> dict[str, list[Any]]:
    """Action -> resources of a function's inline policies (SAM policy templates are not allowed)."""
    policies = function["Properties"]["Policies"]
    assert all(isinstance(policy, dict) and set(policy) == {"Statement"} for policy in policies), "inline only"
    by_action: dict[str, list[Any]] = {}
    for policy in policies:
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                by_action.setdefault(action, []).extend(targets)
    return by_action


def test_function_policies_only_reach_the_payload_prefixes(resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN the function's policies
    bucket_name, _ = _one(resources, "AWS::S3::Bucket")
    by_action = _statements(resources[API_FUNCTION])
    prefixes = [{"Fn::Sub": f"${{{bucket_name}.Arn}}/{prefix}/*"} for prefix in ("uploads", "results", "jobs")]
    # THEN object access is Put/Get on uploads/*, results/* and jobs/* only, the bucket itself only gets ListBucket
    assert set(by_action) == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:ListBucket",
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "states:StartExecution",
        "states:StopExecution",
    }
    assert sorted(map(str, by_action["s3:PutObject"])) == sorted(map(str, prefixes))
    assert sorted(map(str, by_action["s3:GetObject"])) == sorted(map(str, prefixes))
    assert by_action["s3:ListBucket"] == [{"Fn::GetAtt": [bucket_name, "Arn"]}]
    # AND job records only in the job table, executions only of the job state machine
    for action in (
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
    ):
        assert by_action[action] == [{"Fn::GetAtt": ["JobsTable", "Arn"]}]
    assert by_action["states:StartExecution"] == [{"Ref": "JobsStateMachine"}]
    [stop] = by_action["states:StopExecution"]
    assert ":execution:${JobsStateMachine.Name}:*" in stop["Fn::Sub"]


def test_every_log_group_has_retention_and_the_function_logs_to_one(resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN the log groups and the function's logging configuration
    log_groups = _of_type(resources, "AWS::Logs::LogGroup")
    function = resources[API_FUNCTION]
    logging_config = function["Properties"]["LoggingConfig"]
    # THEN each log group expires after LogRetentionDays and the function writes JSON logs into one of them
    assert len(log_groups) >= 2
    assert all(group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for group in log_groups.values())
    assert logging_config["LogGroup"]["Ref"] in log_groups
    assert logging_config["LogFormat"] == "JSON"


def test_alarms_cover_errors_latency_throttles_and_concurrency(resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN the alarms and the alarm topic
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    topic_name, _ = _one(resources, "AWS::SNS::Topic")
    # WHEN the metrics each alarm watches are collected (both branches of a conditional metric count)
    watched: set[tuple[str, str]] = set()
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_name}]
        assert props["TreatMissingData"] == "notBreaching"
        watched |= {
            (node["Namespace"], node["MetricName"])
            for node in _walk(props)
            if isinstance(node, dict) and "Namespace" in node and "MetricName" in node
        }
    # THEN every listed metric has an alarm
    assert watched >= {
        ("AWS/ApiGateway", "5xx"),
        ("AWS/ApiGateway", "Latency"),
        ("Sockpuppet/Api", "ThrottledRequests"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "ConcurrentExecutions"),
        ("AWS/Lambda", "ClaimedAccountConcurrency"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
        ("Sockpuppet", "JobAgeSeconds"),
    }
    # AND the API 429 metric is produced from the access log
    [metric_filter] = _of_type(resources, "AWS::Logs::MetricFilter").values()
    assert metric_filter["Properties"]["FilterPattern"] == '{ $.status = "429" }'
    assert metric_filter["Properties"]["MetricTransformations"][0]["MetricName"] == "ThrottledRequests"


def test_outputs(template: dict[str, Any]) -> None:
    # GIVEN the template WHEN its outputs are read THEN the deploy docs' outputs exist
    assert {"ApiUrl", "PayloadBucketName", "FunctionName", "DashboardUrl"} <= set(template["Outputs"])
    assert template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"].endswith("/${Stage}")


def test_samconfig_deploys_with_a_reviewed_change_set() -> None:
    # GIVEN samconfig.toml WHEN it is parsed
    config = tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))
    deploy = config["default"]["deploy"]["parameters"]
    # THEN builds are cached/parallel, validation lints, and deploys need IAM capability and a confirmed change set
    assert config["version"] == 0.1
    assert config["default"]["global"]["parameters"]["stack_name"] == "sockpuppet"
    assert config["default"]["build"]["parameters"] == {"cached": True, "parallel": True}
    assert config["default"]["validate"]["parameters"]["lint"] is True
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True and deploy["confirm_changeset"] is True
    assert "region" not in deploy


@pytest.mark.xdist_group("sam")
def test_sam_validate_lint_is_clean() -> None:
    # GIVEN the template WHEN `sam validate --lint` runs (offline) THEN it passes without findings
    done = _run_sam("validate", "--lint", timeout=300)
    assert "is a valid SAM Template" in done.stdout


def _elf_machine(path: Path) -> int:
    with path.open("rb") as handle:
        header = handle.read(20)
    assert header[:4] == b"\x7fELF", path
    return struct.unpack_from("<H", header, 18)[0]


def _tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


@pytest.mark.xdist_group("sam")
def test_sam_build_produces_arm64_layer_and_function(tmp_path: Path) -> None:
    # GIVEN the template WHEN `sam build` runs into a scratch directory (no Docker: pip fetches arm64 wheels)
    build_dir, cache = tmp_path / "build", tmp_path / "cache"
    _run_sam("build", "--build-dir", str(build_dir), "--cache-dir", str(cache), timeout=900)
    layer = build_dir / "SockpuppetLayer" / "python"
    function = build_dir / "SockpuppetFunction"
    # THEN the layer holds the library and an aarch64 rapidfuzz extension, the function holds sockpuppet_api only
    assert (layer / "sockpuppet" / "__init__.py").is_file()
    rapidfuzz_extensions = list((layer / "rapidfuzz").rglob("*.so"))
    assert rapidfuzz_extensions and any("aarch64" in path.name for path in rapidfuzz_extensions)
    assert (function / "sockpuppet_api" / "__init__.py").is_file()
    assert "def lambda_handler(" in (function / "sockpuppet_api" / "app.py").read_text(encoding="utf-8")
    assert not (function / "sockpuppet").exists()
    # AND the job workers hold sockpuppet_jobs only (HTTP in one function, job steps in the others)
    for name in JOB_WORKERS:
        assert (build_dir / name / "sockpuppet_jobs" / "handlers.py").is_file()
        assert not (build_dir / name / "sockpuppet_api").exists()
        assert not (build_dir / name / "sockpuppet").exists()
    # AND every native extension in either artefact is built for aarch64 (no x86_64 wheel slipped in)
    extensions = [*layer.rglob("*.so"), *function.rglob("*.so"), *(build_dir / "JobSearchFunction").rglob("*.so")]
    assert {path.name for path in extensions if _elf_machine(path) != ELF_MACHINE_AARCH64} == set()
    # AND function + layer fit Lambda's 250 MB unzipped limit
    assert _tree_bytes(layer) + _tree_bytes(function) < LAMBDA_UNZIPPED_LIMIT_BYTES


def test_job_table_is_on_demand_encrypted_owner_keyed_with_ttl(resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN the job table WHEN its properties are read
    _, table = _one(resources, "AWS::DynamoDB::Table")
    props = table["Properties"]
    # THEN it is on-demand, encrypted, keyed by owner then job id, and records expire through TTL on expires_at
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["KeySchema"] == [
        {"AttributeName": "owner", "KeyType": "HASH"},
        {"AttributeName": "job_id", "KeyType": "RANGE"},
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_job_workers_are_their_own_functions_with_parameters(
    template: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> None:
    # GIVEN the worker functions
    layer_name, _ = _one(resources, "AWS::Serverless::LayerVersion")
    functions = _of_type(resources, "AWS::Serverless::Function")
    # THEN the API function and the five job steps are all there is: HTTP in functions/api, steps in functions/jobs
    assert set(functions) == {API_FUNCTION, *JOB_WORKERS}
    for name, handler in JOB_WORKERS.items():
        props = functions[name]["Properties"]
        assert props["CodeUri"] == "functions/jobs"
        assert props["Handler"] == f"sockpuppet_jobs.handlers.{handler}"
        assert props["Runtime"] == "python3.12" and props["Architectures"] == ["arm64"]
        assert {"Ref": layer_name} in props["Layers"]
        assert props["Tracing"] == "Active"
        assert "Events" not in props, "workers are invoked by the state machine only"
    # AND the heavy steps take memory and timeout from parameters that allow Lambda's 15 minutes
    for name in ("JobPrepareFunction", "JobSearchFunction", "JobMergeFunction"):
        props = functions[name]["Properties"]
        assert props["MemorySize"] == {"Ref": "JobWorkerMemorySize"}
        assert props["Timeout"] == {"Ref": "JobWorkerTimeoutSeconds"}
    assert template["Parameters"]["JobWorkerTimeoutSeconds"]["MaxValue"] == 900


def test_job_worker_environment_loads_the_worker_config(
    template: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> None:
    # GIVEN the search worker's environment with default parameters
    variables = resources["JobSearchFunction"]["Properties"]["Environment"]["Variables"]
    environment = _resolve_defaults(template, variables)
    # WHEN sockpuppet_jobs.config is imported with exactly that environment
    read_names = (
        "import dataclasses, json, sockpuppet_jobs.config as config; "
        "print(json.dumps([field.name.upper() for field in dataclasses.fields(config.Settings)]))"
    )
    child_env = {key: value for key, value in os.environ.items() if key not in environment} | environment
    done = subprocess.run(
        [sys.executable, "-c", read_names], env=child_env, capture_output=True, text=True, timeout=60, check=False
    )
    # THEN it loads and the template sets exactly what it reads (plus Powertools), the same for every worker
    assert done.returncode == 0, done.stderr
    assert set(variables) == set(json.loads(done.stdout)) | POWERTOOLS_VARIABLES
    assert variables["JOB_SHARD_MAX_NAMES"] == {"Ref": "JobShardMaxNames"}
    assert variables["MAX_PAIRS"] == resources[API_FUNCTION]["Properties"]["Environment"]["Variables"]["MAX_PAIRS"]
    for name in JOB_WORKERS:
        assert resources[name]["Properties"]["Environment"]["Variables"] == variables


def test_job_workers_have_least_privilege(resources: dict[str, dict[str, Any]]) -> None:
    # GIVEN each worker's policies
    jobs = {"Fn::Sub": "${PayloadBucket.Arn}/jobs/*"}
    uploads = {"Fn::Sub": "${PayloadBucket.Arn}/uploads/*"}
    bucket = {"Fn::GetAtt": ["PayloadBucket", "Arn"]}
    table = {"Fn::GetAtt": ["JobsTable", "Arn"]}
    expected = {
        "JobPrepareFunction": {
            "s3:GetObject": [uploads, jobs],
            "s3:PutObject": [jobs],
            "s3:ListBucket": [bucket],
            "dynamodb:UpdateItem": [table],
        },
        "JobSearchFunction": {"s3:GetObject": [jobs], "s3:PutObject": [jobs], "dynamodb:UpdateItem": [table]},
        "JobMergeFunction": {
            "s3:GetObject": [jobs],
            "s3:PutObject": [jobs],
            "s3:ListBucket": [bucket],
            "dynamodb:UpdateItem": [table],
        },
        "JobFinishFunction": {"dynamodb:UpdateItem": [table], "s3:DeleteObject": [jobs]},
        "JobFailFunction": {"dynamodb:UpdateItem": [table], "s3:ListBucket": [bucket], "s3:DeleteObject": [jobs]},
    }
    # THEN each reaches exactly what its step needs: job objects (and uploads for prepare), records by UpdateItem
    for name, actions in expected.items():
        assert _statements(resources[name]) == actions, name


def test_job_state_machine_is_standard_with_a_distributed_map_from_its_own_file(
    resources: dict[str, dict[str, Any]],
) -> None:
    # GIVEN the state machine resource and its definition file
    _, machine = _one(resources, "AWS::Serverless::StateMachine")
    props = machine["Properties"]
    text = DEFINITION.read_text(encoding="utf-8")
    definition = json.loads(text)
    states = definition["States"]
    # THEN it is a Standard state machine whose definition lives next to the template, every substitution given
    assert props["Type"] == "STANDARD"
    assert props["DefinitionUri"] == "statemachine/jobs.asl.json"
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(props["DefinitionSubstitutions"])
    arns = {key: value for key, value in props["DefinitionSubstitutions"].items() if key.endswith("FunctionArn")}
    assert {value["Fn::GetAtt"][0] for value in arns.values()} == set(JOB_WORKERS)
    # AND the steps are prepare -> choice -> (one search | a Distributed Map over the plan in S3) -> merge -> outcome
    assert definition["StartAt"] == "Prepare"
    assert states["Prepare"]["Next"] == "HowManyShards"
    choice = states["HowManyShards"]
    assert {rule["Next"] for rule in choice["Choices"]} == {"SearchShards", "SearchOne"}
    fan_out = states["SearchShards"]
    assert fan_out["Type"] == "Map"
    assert fan_out["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert fan_out["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert fan_out["ResultPath"] is None, "the map's results stay out of the state (256 KB limit)"
    assert states["SearchOne"]["Next"] == states["SearchShards"]["Next"] == "Merge"
    assert states["Merge"]["Next"] == "RecordSuccess"
    # AND every task retries transient Lambda faults with backoff and every failure ends in RecordFailure
    tasks = {name: state for name, state in states.items() if state["Type"] == "Task"}
    tasks["SearchShard"] = fan_out["ItemProcessor"]["States"]["SearchShard"]
    catch_all = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "RecordFailure"}]
    for name, state in tasks.items():
        assert state["Resource"] == "arn:aws:states:::lambda:invoke", name
        [transient, *_] = state["Retry"]
        assert "Lambda.TooManyRequestsException" in transient["ErrorEquals"] and transient["BackoffRate"] > 1, name
        if name not in ("RecordFailure", "SearchShard"):
            assert state["Catch"] == catch_all, name
    assert fan_out["Catch"][0]["Next"] == "RecordFailure"
    assert states["RecordFailure"]["Next"] == "JobFailed" and states["JobFailed"]["Type"] == "Fail"
    # AND the state machine may invoke exactly the five workers
    invoked = {p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in props["Policies"] if "LambdaInvokePolicy" in p}
    assert invoked == set(JOB_WORKERS)
