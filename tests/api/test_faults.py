"""S3 faults under the real retry machinery: the app's own boto3 client (standard retry mode) against moto.

Faults are injected with botocore event hooks on the app's module-level client, so every attempt goes through
botocore's retry handler exactly as in Lambda (``before-send`` answers one attempt with an S3 error document or
raises a connection error; ``after-call`` cuts a GetObject stream short; ``before-sign`` fails credential
resolution). Attempts are counted at the wire. Expectations (contract, "Errors"): throttling / unavailability /
connection loss -> 503 with ``Retry-After`` after the client's retries; a permission problem (our
misconfiguration) -> 500 ``internal_error`` that shows no internals and is logged with the request id; a failed
result write leaves nothing under ``results/``.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.response import StreamingBody

from tests.api.conftest import TEST_ENV, HttpResult, invoke, load_event, with_body

ALICE = "arn:aws:iam::123456789012:user/alice"
BUCKET = TEST_ENV["PAYLOAD_BUCKET"]
STANDARD_MODE_ATTEMPTS = 3
"""botocore's standard retry mode: one attempt plus two retries (the app sets ``retries={"mode": "standard"}``)."""

Fault = Callable[[AWSPreparedRequest], AWSResponse | None]


class _Raw(io.BytesIO):
    """The raw body botocore reads an ``AWSResponse`` from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


def s3_error(status: int, code: str) -> Fault:
    """An attempt answered by S3 with ``status`` and the XML error document of ``code``."""
    document = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>injected</Message></Error>"

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        # Divert the request so moto (the next before-send handler) does not also execute it: a failed S3 call has
        # no side effect, and neither may the injected one.
        request.url = "http://fault-injected.invalid/"
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(document.encode()))

    return answer


def raising(exc: Exception) -> Fault:
    """An attempt that fails in the HTTP layer (connection refused, reset, read timeout)."""

    def fail(request: AWSPreparedRequest) -> None:
        raise exc

    return fail


def first(count: int, fault: Fault) -> Fault:
    """``fault`` for the first ``count`` attempts, then the real (moto) S3."""
    calls = iter(range(count))

    def maybe(request: AWSPreparedRequest) -> AWSResponse | None:
        return fault(request) if next(calls, None) is not None else None

    return maybe


@contextmanager
def s3_fault(api: ModuleType, operation: str, fault: Fault) -> Iterator[list[str]]:
    """Inject ``fault`` into every ``operation`` attempt of the app's S3 client; yield the attempted URLs."""
    attempts: list[str] = []
    event = f"before-send.s3.{operation}"

    def hook(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        attempts.append(request.url)
        return fault(request)

    api.store.s3.meta.events.register_first(event, hook)
    try:
        yield attempts
    finally:
        api.store.s3.meta.events.unregister(event, hook)


def result_keys(s3: Any) -> list[str]:
    """Every object under ``results/`` in the payload bucket."""
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="results/")
    return [item["Key"] for item in listed.get("Contents", [])]


def assert_unavailable(result: HttpResult) -> dict[str, Any]:
    """503 ``storage_unavailable`` with a positive integer ``Retry-After``."""
    assert result.status == 503, result.raw_body
    document = result.json()
    assert document["error"]["code"] == "storage_unavailable"
    assert int(result.headers["retry-after"]) > 0
    return document


def assert_internal_error(result: HttpResult) -> dict[str, Any]:
    """500 ``internal_error`` that names neither S3, the bucket nor the exception."""
    assert result.status == 500, result.raw_body
    document = result.json()
    assert document["error"]["code"] == "internal_error"
    text = result.raw_body.decode()
    for internal in ("AccessDenied", "NoCredentials", BUCKET, "botocore", "Traceback", "s3"):
        assert internal not in text, internal
    assert "retry-after" not in result.headers
    return document


def by_upload(uploads: dict[str, str], **extra: Any) -> dict[str, Any]:
    return with_body(load_event("post_pairs_uploads"), {**uploads, **extra})


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (503, "ServiceUnavailable"), (500, "InternalError")])
def test_persistent_s3_error_reading_an_upload_is_503_after_retries(
    api: ModuleType, uploads: dict[str, str], status: int, code: str
) -> None:
    """GIVEN S3 answering every GetObject with a retryable error WHEN a job reads an upload THEN 3 attempts, 503."""
    with s3_fault(api, "GetObject", s3_error(status, code)) as attempts:
        result = invoke(api, by_upload(uploads))

    assert_unavailable(result)
    assert len(attempts) == STANDARD_MODE_ATTEMPTS


def test_throttling_once_is_retried_transparently(
    api: ModuleType, uploads: dict[str, str], inline: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """GIVEN one SlowDown on the first GetObject WHEN a job reads its uploads THEN the retry succeeds: same result."""
    event, _ = inline
    expected = invoke(api, event).json()

    with s3_fault(api, "GetObject", first(1, s3_error(503, "SlowDown"))) as attempts:
        result = invoke(api, by_upload(uploads))

    assert result.status == 200, result.raw_body
    assert result.json() == expected
    assert len(attempts) == 3  # posts: throttled + retried, accounts: once
    assert attempts[0] == attempts[1] != attempts[2]


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="https://s3.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://s3.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://s3.amazonaws.com"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_connection_failures_reading_an_upload_are_503(
    api: ModuleType, uploads: dict[str, str], exc: Exception
) -> None:
    """GIVEN S3 unreachable WHEN a job reads an upload THEN botocore retries, then 503 with Retry-After."""
    with s3_fault(api, "GetObject", raising(exc)) as attempts:
        result = invoke(api, by_upload(uploads))

    assert_unavailable(result)
    assert len(attempts) == STANDARD_MODE_ATTEMPTS


def test_connection_lost_in_the_middle_of_an_upload_stream_is_503(api: ModuleType, uploads: dict[str, str]) -> None:
    """GIVEN a GetObject whose body stops after 10 bytes WHEN the upload is parsed THEN 503, not a 422 on the data."""
    event = "after-call.s3.GetObject"

    def truncate(parsed: dict[str, Any], **_: Any) -> None:
        length = parsed["ContentLength"]
        parsed["Body"] = StreamingBody(io.BytesIO(parsed["Body"].read()[:10]), length)

    api.store.s3.meta.events.register(event, truncate)
    try:
        result = invoke(api, by_upload(uploads))
    finally:
        api.store.s3.meta.events.unregister(event, truncate)

    assert_unavailable(result)


class _Lines(logging.Handler):
    """Collects the function's log lines, formatted by its own Powertools formatter."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def function_logs(api: ModuleType) -> Iterator[list[dict[str, Any]]]:
    """The JSON log lines the function writes (CloudWatch would receive them) while the block runs."""
    target = logging.getLogger(api.logger.name)
    handler = _Lines(api.logger.registered_formatter)
    target.addHandler(handler)
    try:
        yield handler.lines
    finally:
        target.removeHandler(handler)


def test_access_denied_reading_an_upload_is_an_opaque_500_logged_with_the_request_id(
    api: ModuleType, uploads: dict[str, str]
) -> None:
    """GIVEN our role denied GetObject WHEN a job reads an upload THEN no retry, 500 without internals, logged."""
    with function_logs(api) as logged, s3_fault(api, "GetObject", s3_error(403, "AccessDenied")) as attempts:
        result = invoke(api, by_upload(uploads))

    document = assert_internal_error(result)
    assert len(attempts) == 1
    errors = [entry for entry in logged if entry.get("level") == "ERROR"]
    assert any("AccessDenied" in json.dumps(entry) for entry in errors)
    assert all(entry.get("correlation_id") == document["request_id"] for entry in errors)


@pytest.mark.parametrize(
    "fault",
    [
        s3_error(503, "SlowDown"),
        s3_error(503, "ServiceUnavailable"),
        s3_error(500, "InternalError"),
        raising(EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")),
    ],
    ids=["SlowDown", "ServiceUnavailable", "InternalError", "EndpointConnectionError"],
)
def test_failed_result_write_is_503_and_leaves_no_result_object(
    api: ModuleType, s3: Any, inline: tuple[dict[str, Any], dict[str, Any]], fault: Fault
) -> None:
    """GIVEN PutObject failing on every attempt WHEN a result is offloaded THEN 503, and results/ stays empty."""
    event, body = inline

    with s3_fault(api, "PutObject", fault) as attempts:
        result = invoke(api, with_body(event, {**body, "result_delivery": "url"}))

    assert_unavailable(result)
    assert len(attempts) == STANDARD_MODE_ATTEMPTS
    assert result_keys(s3) == []


def test_access_denied_writing_a_result_is_500_and_leaves_no_result_object(
    api: ModuleType, s3: Any, inline: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """GIVEN our role denied PutObject WHEN a result is offloaded THEN 500 without internals, nothing written."""
    event, body = inline

    with s3_fault(api, "PutObject", s3_error(403, "AccessDenied")) as attempts:
        result = invoke(api, with_body(event, {**body, "result_delivery": "url"}))

    assert_internal_error(result)
    assert len(attempts) == 1
    assert result_keys(s3) == []


def test_result_write_throttled_once_stores_one_complete_result(
    api: ModuleType, s3: Any, inline: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """GIVEN one SlowDown on PutObject WHEN a result is offloaded THEN 200 and exactly one complete result object."""
    event, body = inline
    expected = invoke(api, with_body(event, {**body, "result_delivery": "inline"})).json()

    with s3_fault(api, "PutObject", first(1, s3_error(503, "SlowDown"))) as attempts:
        result = invoke(api, with_body(event, {**body, "result_delivery": "url"}))

    assert result.status == 200, result.raw_body
    assert len(attempts) == 2
    [key] = result_keys(s3)
    stored = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    assert stored == expected
    assert key.split("/")[-1] in result.json()["result_url"]


def test_credentials_failure_while_presigning_an_upload_is_an_opaque_500(api: ModuleType, s3: Any) -> None:
    """GIVEN credentials that cannot be resolved when signing WHEN an upload is created THEN 500, no upload id."""
    event = "before-sign.s3.PutObject"

    def no_credentials(**_: Any) -> None:
        raise NoCredentialsError()

    api.store.s3.meta.events.register_first(event, no_credentials)
    try:
        result = invoke(api, load_event("create_upload"))
    finally:
        api.store.s3.meta.events.unregister(event, no_credentials)

    assert_internal_error(result)
    assert "upload_id" not in result.raw_body.decode()
