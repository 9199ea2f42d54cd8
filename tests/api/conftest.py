"""Fixtures for the Lambda function's unit tests.

The function reads its configuration once at import, so the environment is set (session-wide, undone at the end)
before ``sockpuppet_api.app`` is imported through :mod:`importlib`. S3 is moto's in-process ``mock_aws``, fresh for
every test (moto is imported before the app so that the app's module-level client is routed to the mock).
"""

from __future__ import annotations

import base64
import gzip
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from moto import mock_aws

from tests.api.jobs_backend import create_jobs_backend

EVENTS = Path(__file__).resolve().parents[2] / "events"

TEST_ENV = {
    "PAYLOAD_BUCKET": "sockpuppet-test-payloads",
    "MAX_INLINE_BODY_BYTES": "1000000",
    "MAX_DECODED_BODY_BYTES": "5000000",
    "MAX_INLINE_RESULT_BYTES": "4096",
    "MAX_UPLOAD_BYTES": "10000000",
    "UPLOAD_URL_TTL_SECONDS": "900",
    "RESULT_URL_TTL_SECONDS": "600",
    "MAX_RECORDS": "100000",
    "MAX_SCREEN_NAME_LENGTH": "64",
    "MAX_PAIRS": "5000",
    "DEADLINE_MARGIN_MS": "2000",
    "JOBS_TABLE": "sockpuppet-test-jobs",
    "JOBS_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:sockpuppet-test-jobs",
    "JOB_TTL_DAYS": "7",
    "POWERTOOLS_SERVICE_NAME": "sockpuppet",
    "POWERTOOLS_METRICS_NAMESPACE": "SockpuppetTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@dataclass
class FakeLambdaContext:
    """The parts of ``LambdaContext`` the function uses (the Powertools testing pattern)."""

    function_name: str = "sockpuppet-api"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sockpuppet-api"
    aws_request_id: str = "3f0b3b1e-0000-4000-8000-000000000001"
    remaining_ms: int = 29_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class HttpResult:
    """A Lambda proxy result with its body decoded (base64 and gzip undone, JSON parsed)."""

    status: int
    headers: dict[str, str]
    raw_body: bytes

    def json(self) -> Any:
        return json.loads(self.raw_body)


@pytest.fixture(scope="session")
def api_env() -> Iterator[dict[str, str]]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        for name, value in TEST_ENV.items():
            patch.setenv(name, value)
        yield TEST_ENV


@pytest.fixture(scope="session")
def api(api_env: dict[str, str]) -> ModuleType:
    """The function module, imported once with the test environment."""
    return importlib.import_module("sockpuppet_api.app")


@pytest.fixture
def s3(api: ModuleType) -> Iterator[Any]:
    """The app's own S3 client, backed by a fresh moto (S3 with the payload bucket; the jobs table and state
    machine in the same moto, so that every route, the job routes included, has its AWS side)."""
    with mock_aws():
        api.store.s3.create_bucket(Bucket=TEST_ENV["PAYLOAD_BUCKET"])
        create_jobs_backend(bucket=False)
        yield api.store.s3


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def load_event(name: str) -> dict[str, Any]:
    """An event of ``events/`` (a fresh copy each time)."""
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def event_body(event: dict[str, Any]) -> Any:
    """The JSON body of an (uncompressed or gzip) event."""
    raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
    if event["headers"].get("content-encoding") == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def with_body(event: dict[str, Any], body: Any) -> dict[str, Any]:
    """``event`` with a new JSON body (uncompressed)."""
    changed = {**event, "body": json.dumps(body), "isBase64Encoded": False}
    changed["headers"] = {k: v for k, v in event["headers"].items() if k != "content-encoding"}
    return changed


def as_user(event: dict[str, Any], user_arn: str) -> dict[str, Any]:
    """``event`` signed by another IAM identity."""
    changed = json.loads(json.dumps(event))
    changed["requestContext"]["authorizer"]["iam"]["userArn"] = user_arn
    return changed


def invoke(api: ModuleType, event: dict[str, Any], context: FakeLambdaContext | None = None) -> HttpResult:
    """Run the Lambda handler on an event and decode its proxy result."""
    result = api.lambda_handler(event, context or FakeLambdaContext())
    headers = {k.lower(): v for k, v in result.get("headers", {}).items()}
    raw = base64.b64decode(result["body"]) if result.get("isBase64Encoded") else result["body"].encode()
    if headers.get("content-encoding") == "gzip":
        raw = gzip.decompress(raw)
    return HttpResult(status=result["statusCode"], headers=headers, raw_body=raw)


def upload_file(api: ModuleType, event: dict[str, Any], content: bytes) -> str:
    """Create an upload with ``event`` and send ``content`` through its presigned POST; return the upload id."""
    created = invoke(api, event)
    assert created.status == 201
    ticket = created.json()
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("data", content)}, timeout=10)
    assert sent.status_code == 204
    return ticket["upload_id"]


@pytest.fixture
def inline() -> tuple[dict[str, Any], dict[str, Any]]:
    """The inline-records event and its body."""
    event = load_event("post_pairs_inline")
    return event, event_body(event)


@pytest.fixture
def uploads(api: ModuleType, s3: Any, inline: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, str]:
    """The inline event's posts and accounts uploaded (JSON) through presigned POSTs; the pairs request by id."""
    _, body = inline
    ids = {}
    create = load_event("create_upload")
    for kind in ("posts", "accounts"):
        created = invoke(api, with_body(create, {"kind": kind, "format": "json", "content_encoding": None}))
        ticket = created.json()
        content = json.dumps(body[kind]).encode()
        sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("data", content)}, timeout=10)
        assert sent.status_code == 204
        ids[f"{kind}_upload_id"] = ticket["upload_id"]
    return {**ids, "hashtag": body["hashtag"], "min_similarity": body["min_similarity"]}
