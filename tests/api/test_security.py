"""Security properties of the function, through ``lambda_handler`` with S3 in moto.

* No response, on any route and for any error, shows a traceback, a source path, an internal exception class,
  a configuration value or an AWS key; not even an unexpected exception carrying such text.
* Data routes need a caller identity (API Gateway's IAM authorizer context); ``/health`` does not.
* Presigned URLs live minutes (upload POST policy expiration, result GET ``X-Amz-Expires``), and an upload POST
  can write exactly one key of the caller's own prefix, of bounded size.
* Upload ids carry >= 128 random bits and do not repeat; another caller's upload id is "not found"; results are
  stored under the caller's own (hashed) prefix.

The template side (IAM on every route but ``/health``, bucket never public) is checked in ``tests/sam``.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.awsrequest import AWSPreparedRequest

from sockpuppet_api.storage import owner_hash
from tests.api.conftest import EVENTS, TEST_ENV, HttpResult, as_user, event_body, invoke, load_event, with_body
from tests.corpus import case_event, load_corpus, template_name

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
URLSAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MARKER = "SECRET-MARKER /var/task/sockpuppet_api/internal.py AKIAIOSFODNN7EXAMPLE"
"""Text an unexpected internal exception carries; it must never reach a response."""

LEAKS = [
    re.compile(pattern)
    for pattern in (
        r"Traceback",
        r'File "',
        r"\.py\b",
        r"/var/task|/opt/python|site-packages|/work/",
        r"\b(AKIA|ASIA)[A-Z0-9]{16}\b",
        r"(?i)aws_secret_access_key|aws_session_token",
        r"SECRET-MARKER|AKIAEXAMPLE|AIDAEXAMPLE",
        re.escape(TEST_ENV["POWERTOOLS_METRICS_NAMESPACE"]),
    )
]
INTERNAL_NAMES = [
    re.compile(pattern)
    for pattern in (
        r"\b(TypeError|KeyError|AttributeError|IndexError|RuntimeError|ZeroDivisionError|RecursionError)\b",
        r"\b(ClientError|BotoCoreError|NoCredentialsError|StorageError|StorageUnavailable|UploadNotFound)\b",
        r"\b(RequestValidationError|ValidationError|JSONDecodeError|UnicodeDecodeError|InputError)\b",
        r"(?i)\b(botocore|boto3|pydantic|powertools|orjson)\b",
    )
]
"""Exception classes and libraries; not checked in the OpenAPI document, whose schema names are public API."""
ERROR_ONLY_LEAKS = [re.compile(re.escape(TEST_ENV["PAYLOAD_BUCKET"]))]
"""Allowed in a presigned URL of a 2xx, never in an error."""

pytestmark = pytest.mark.usefixtures("s3")


def assert_no_leak(result: HttpResult, *, document: bool = False) -> None:
    """Neither body nor headers show internals, configuration or keys (``document``: the OpenAPI document)."""
    text = result.raw_body.decode("utf-8", "replace") + json.dumps(result.headers)
    patterns = LEAKS + (ERROR_ONLY_LEAKS if result.status >= 400 else []) + ([] if document else INTERNAL_NAMES)
    found = [pattern.pattern for pattern in patterns if pattern.search(text)]
    assert not found, (found, text[:1000])


def all_requests() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every committed event and every corpus request, as events."""
    for path in sorted(EVENTS.glob("*.json")):
        yield f"event:{path.stem}", load_event(path.stem)
    for case in load_corpus():
        yield f"corpus:{case.name}", case_event(case, load_event(template_name(case)))


def test_no_response_shows_internals(api: ModuleType) -> None:
    """GIVEN every committed event and every corpus request WHEN answered THEN no response leaks anything."""
    seen = 0
    for name, event in all_requests():
        result = invoke(api, event)

        assert result.status < 500 or result.status == 503, name
        assert_no_leak(result, document=name == "event:get_openapi")
        seen += 1
    assert seen > 100


@contextmanager
def s3_raising(api: ModuleType, operation: str, exc: Exception) -> Iterator[None]:
    """Every ``operation`` call of the app's S3 client raises ``exc`` (an unexpected, non-botocore failure)."""
    event = f"before-send.s3.{operation}"

    def fail(request: AWSPreparedRequest, **_: Any) -> None:
        raise exc

    api.store.s3.meta.events.register_first(event, fail)
    try:
        yield
    finally:
        api.store.s3.meta.events.unregister(event, fail)


@pytest.mark.parametrize("exc", [RuntimeError(MARKER), KeyError(MARKER), ValueError(MARKER)], ids=repr)
def test_unexpected_exceptions_become_an_opaque_500(api: ModuleType, s3: Any, exc: Exception) -> None:
    """GIVEN an internal failure whose message holds a path and a key WHEN it escapes THEN a bare 500 with the id."""
    event, body = _inline()

    with s3_raising(api, "PutObject", exc):
        result = invoke(api, with_body(event, {**body, "result_delivery": "url"}))

    assert result.status == 500
    assert result.json()["error"]["code"] == "internal_error"
    assert result.json()["request_id"] == event["requestContext"]["requestId"]
    assert_no_leak(result)


def _inline() -> tuple[dict[str, Any], dict[str, Any]]:
    event = load_event("post_pairs_inline")
    return event, event_body(event)


def without_identity(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` as it would look without an IAM authorizer context."""
    changed = json.loads(json.dumps(event))
    changed["requestContext"].pop("authorizer", None)
    changed["headers"].pop("authorization", None)
    return changed


def with_empty_identity(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` whose IAM context names nobody (all identity fields null)."""
    changed = json.loads(json.dumps(event))
    changed["requestContext"]["authorizer"]["iam"].update(userArn=None, callerId=None, accountId=None)
    return changed


@pytest.mark.parametrize("name", ["post_pairs_inline", "post_pairs_uploads", "get_pairs_uploads", "create_upload"])
@pytest.mark.parametrize("strip", [without_identity, with_empty_identity], ids=["no_authorizer", "empty_identity"])
def test_data_routes_need_a_caller_identity(api: ModuleType, name: str, strip: Any) -> None:
    """GIVEN a data-route request without a caller identity WHEN answered THEN 403, and no work or S3 access."""
    result = invoke(api, strip(load_event(name)))

    assert result.status == 403, result.raw_body
    assert result.json()["error"]["code"] == "missing_identity"
    assert_no_leak(result)


def test_health_needs_no_identity(api: ModuleType) -> None:
    """GIVEN the health check without an identity WHEN answered THEN 200 (the one public route)."""
    assert invoke(api, without_identity(load_event("health"))).status == 200


def _amz_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _iso_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def create_upload(api: ModuleType, user: str = ALICE, kind: str = "posts") -> dict[str, Any]:
    event = as_user(load_event("create_upload"), user)
    result = invoke(api, with_body(event, {"kind": kind, "format": "json", "content_encoding": None}))
    assert result.status == 201, result.raw_body
    return result.json()


def test_upload_post_policy_expires_in_minutes_and_pins_key_and_size(api: ModuleType) -> None:
    """GIVEN a new upload WHEN its POST policy is decoded THEN it expires after UPLOAD_URL_TTL_SECONDS (minutes),
    allows exactly the returned key under the caller's prefix, and bounds the size."""
    ticket = create_upload(api)

    policy = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    signed_at = _amz_time(ticket["fields"]["x-amz-date"])
    lifetime = (_iso_time(policy["expiration"]) - signed_at).total_seconds()
    assert abs(lifetime - int(TEST_ENV["UPLOAD_URL_TTL_SECONDS"])) <= 2
    assert 60 <= lifetime <= 3600
    assert abs((_iso_time(ticket["expires_at"]) - _iso_time(policy["expiration"])).total_seconds()) <= 2
    conditions = policy["conditions"]
    key = ticket["fields"]["key"]
    assert key == f"uploads/{owner_hash(ALICE)}/{ticket['upload_id']}"
    assert {"key": key} in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" and c[1] == "$key" for c in conditions)
    assert ["content-length-range", 1, int(TEST_ENV["MAX_UPLOAD_BYTES"])] in conditions
    assert {"bucket": TEST_ENV["PAYLOAD_BUCKET"]} in conditions


def test_result_url_expires_in_minutes(api: ModuleType) -> None:
    """GIVEN a result delivered by URL WHEN its presigned GET is parsed THEN it lives RESULT_URL_TTL_SECONDS."""
    event, body = _inline()

    result = invoke(api, with_body(event, {**body, "result_delivery": "url"})).json()

    query = parse_qs(urlsplit(result["result_url"]).query)
    expires = int(query["X-Amz-Expires"][0])
    assert expires == int(TEST_ENV["RESULT_URL_TTL_SECONDS"])
    assert 60 <= expires <= 3600
    signed_at = _amz_time(query["X-Amz-Date"][0])
    assert abs((_iso_time(result["result_expires_at"]) - signed_at).total_seconds() - expires) <= 2


def test_upload_ids_carry_at_least_128_random_bits(api: ModuleType) -> None:
    """GIVEN 256 uploads WHEN their ids are compared THEN URL-safe, >= 128 bits, all distinct, no shared prefixes,
    and every symbol of the alphabet in use (not a counter, a timestamp or hex)."""
    ids = [create_upload(api)["upload_id"] for _ in range(256)]

    assert all(set(upload_id) <= URLSAFE for upload_id in ids)
    assert min(len(upload_id) for upload_id in ids) * math.log2(len(URLSAFE)) >= 128
    assert len(set(ids)) == len(ids)
    ordered = sorted(ids)
    assert max(shared_prefix(a, b) for a, b in itertools.pairwise(ordered)) <= 6
    assert set("".join(ids)) == URLSAFE


def shared_prefix(a: str, b: str) -> int:
    """Length of the common prefix of ``a`` and ``b``."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def upload(api: ModuleType, user: str, kind: str, records: list[dict[str, Any]]) -> str:
    """``records`` uploaded as ``user`` through the presigned POST; the upload id."""
    ticket = create_upload(api, user, kind)
    content = json.dumps(records).encode()
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("data", content)}, timeout=10)
    assert sent.status_code == 204
    return ticket["upload_id"]


def test_another_callers_upload_is_not_found(api: ModuleType) -> None:
    """GIVEN Alice's uploads WHEN Bob asks for pairs with her ids THEN 404, like an id never issued; Alice gets 200."""
    _, body = _inline()
    ids = {f"{kind}_upload_id": upload(api, ALICE, kind, body[kind]) for kind in ("posts", "accounts")}
    request = {**ids, "hashtag": body["hashtag"]}
    event = load_event("post_pairs_uploads")

    as_bob = invoke(api, as_user(with_body(event, request), BOB))
    never_issued = invoke(api, as_user(with_body(event, {**request, "posts_upload_id": "A" * 32}), BOB))
    as_alice = invoke(api, as_user(with_body(event, request), ALICE))

    assert as_bob.status == 404 and never_issued.status == 404
    bob_error, unknown_error = as_bob.json()["error"], never_issued.json()["error"]
    assert bob_error["code"] == unknown_error["code"] == "upload_not_found"
    assert bob_error["message"].replace(ids["posts_upload_id"], "A" * 32) == unknown_error["message"]
    assert as_alice.status == 200


def test_results_are_stored_under_the_callers_own_prefix(api: ModuleType, s3: Any) -> None:
    """GIVEN Alice and Bob each getting a result by URL WHEN the bucket is listed THEN each result is under the
    hashed prefix of its caller (no identity in clear), and each URL points at its caller's object."""
    event, body = _inline()
    urls = {}
    for user in (ALICE, BOB):
        result = invoke(api, as_user(with_body(event, {**body, "result_delivery": "url"}), user))
        urls[user] = urlsplit(result.json()["result_url"]).path

    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=TEST_ENV["PAYLOAD_BUCKET"])["Contents"]]
    results = sorted(key for key in keys if key.startswith("results/"))
    assert len(results) == 2
    for user in (ALICE, BOB):
        [own] = [key for key in results if key.startswith(f"results/{owner_hash(user)}/")]
        assert urls[user].endswith(own)
    assert not any("alice" in key or "bob" in key or "arn:" in key for key in keys)


ROLE_SESSION = "arn:aws:sts::123456789012:assumed-role/analyst/{session}"


def test_a_new_session_of_the_same_role_owns_the_uploads_of_the_previous_one(api: ModuleType) -> None:
    """GIVEN uploads made by one session of the role ``analyst`` WHEN another session of that role uses them THEN
    200; a session of another role gets 404 (the owner is the role, not the session: docs/api.md, "Identity")."""
    _, body = _inline()
    first_session = ROLE_SESSION.format(session="ci-run-1")
    ids = {f"{kind}_upload_id": upload(api, first_session, kind, body[kind]) for kind in ("posts", "accounts")}
    event = with_body(load_event("post_pairs_uploads"), {**ids, "hashtag": body["hashtag"]})

    next_session = invoke(api, as_user(event, ROLE_SESSION.format(session="ci-run-2")))
    other_role = invoke(api, as_user(event, "arn:aws:sts::123456789012:assumed-role/intruder/ci-run-1"))

    assert next_session.status == 200
    assert other_role.status == 404 and other_role.json()["error"]["code"] == "upload_not_found"


@pytest.mark.parametrize(
    ("identity", "owner"),
    [
        (
            ("arn:aws:sts::123456789012:assumed-role/analyst/alice@example.com", None, None),
            "arn:aws:sts::123456789012:assumed-role/analyst",
        ),
        (("arn:aws:iam::123456789012:user/alice", "AIDA1", "123456789012"), "arn:aws:iam::123456789012:user/alice"),
        ((None, "AROA1:session", "123456789012"), "AROA1:session"),
        ((None, None, "123456789012"), "123456789012"),
    ],
)
def test_owner_is_the_principal(api: ModuleType, identity: tuple[str | None, ...], owner: str) -> None:
    # GIVEN a signer identity (userArn, callerId, accountId) WHEN the owner is derived THEN the principal, sessions
    # of an assumed role collapsed onto the role
    from sockpuppet_api.service import owner_of

    assert owner_of(*identity) == owner
