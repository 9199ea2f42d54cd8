"""Every error class of the contract through ``lambda_handler``: status, code, details, headers, no internals."""

from __future__ import annotations

import base64
import gzip
import json
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.api.conftest import (
    EVENTS,
    TEST_ENV,
    FakeLambdaContext,
    event_body,
    invoke,
    load_event,
    upload_file,
    with_body,
)

pytestmark = pytest.mark.usefixtures("s3")

ERROR_EVENTS = {
    "error_bad_json": (400, "invalid_json"),
    "error_bad_gzip": (400, "invalid_gzip"),
    "error_body_too_large": (413, "decoded_body_too_large"),
    "error_wrong_content_type": (415, "unsupported_media_type"),
    "error_validation": (422, "validation_error"),
    "error_invalid_records": (422, "validation_error"),
    "error_unknown_upload": (404, "upload_not_found"),
    "error_unknown_route": (404, "route_not_found"),
    "error_method_not_allowed": (405, "method_not_allowed"),
    "error_missing_identity": (403, "missing_identity"),
}
ALL_EVENTS = sorted(path.stem for path in EVENTS.glob("*.json"))


def assert_error(result: Any, status: int, code: str) -> dict[str, Any]:
    assert result.status == status, result.raw_body[:500]
    body = result.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["request_id"] == result.headers["x-request-id"]
    for detail in body["error"]["details"]:
        assert set(detail) == {"loc", "msg"} and isinstance(detail["loc"], list)
    return body["error"]


def inline_request() -> tuple[dict[str, Any], dict[str, Any]]:
    event = load_event("post_pairs_inline")
    return event, event_body(event)


@pytest.mark.parametrize("name", sorted(ERROR_EVENTS))
def test_error_event(api: ModuleType, name: str) -> None:
    # GIVEN a committed error event WHEN invoked THEN the contract's status and error code
    status, code = ERROR_EVENTS[name]
    assert_error(invoke(api, load_event(name)), status, code)


@pytest.mark.parametrize("name", ALL_EVENTS)
def test_every_response_has_the_request_id_and_no_internals(api: ModuleType, name: str) -> None:
    # GIVEN any committed event WHEN invoked
    event = load_event(name)
    result = invoke(api, event)
    # THEN X-Request-Id is API Gateway's request id, and no body shows a stack trace or a source path
    assert result.headers["x-request-id"] == event["requestContext"]["requestId"]
    text = result.raw_body.decode()
    assert "Traceback" not in text and 'File "' not in text and ".py" not in text
    if result.status >= 400:
        assert result.json()["request_id"] == event["requestContext"]["requestId"]


def test_validation_errors_name_the_fields(api: ModuleType) -> None:
    # GIVEN a body with a typo'd field WHEN invoked THEN 422 at ["body", "min_similiarity"] (unknown fields rejected)
    error = assert_error(invoke(api, load_event("error_validation")), 422, "validation_error")
    assert {"loc": ["body", "min_similiarity"], "msg": "Extra inputs are not permitted"} in error["details"]
    # AND a post without author_id is reported at its index
    error = assert_error(invoke(api, load_event("error_invalid_records")), 422, "validation_error")
    assert error["details"] == [{"loc": ["body", "posts", 1, "author_id"], "msg": "field required"}]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"min_similarity": 1.5}, ["body", "min_similarity"]),
        ({"min_similarity": "0.8"}, ["body", "min_similarity"]),
        ({"hashtag": "two words"}, ["body", "hashtag"]),
        ({"hashtag_match": "fuzzy"}, ["body", "hashtag_match"]),
        ({"result_delivery": "email"}, ["body", "result_delivery"]),
        ({"max_pairs": int(TEST_ENV["MAX_PAIRS"]) + 1}, ["body", "max_pairs"]),
        ({"posts_upload_id": "../../etc/passwd"}, ["body", "posts_upload_id"]),
        ({"posts_upload_id": "a" * 32}, ["body", "posts"]),
        ({"posts": None}, ["body", "posts"]),
        ({"posts_upload_id": None}, ["body", "posts_upload_id"]),
        ({"max_pairs": 2.5}, ["body", "max_pairs"]),
        ({"accounts": 42}, ["body", "accounts"]),
    ],
)
def test_invalid_parameters_are_422_with_their_location(api: ModuleType, change: dict, loc: list) -> None:
    # GIVEN the inline job with one bad parameter WHEN invoked THEN 422 locating that parameter
    event, request = inline_request()
    error = assert_error(invoke(api, with_body(event, {**request, **change})), 422, "validation_error")
    assert loc in [detail["loc"][: len(loc)] for detail in error["details"]]


def test_query_validation_locations(api: ModuleType) -> None:
    # GIVEN a GET with an out-of-range threshold and invalid inline JSON WHEN invoked THEN 422 at the query fields
    event = load_event("get_pairs_query")
    event["queryStringParameters"]["min_similarity"] = "2"
    error = assert_error(invoke(api, event), 422, "validation_error")
    assert error["details"][0]["loc"] == ["query", "min_similarity"]
    event = load_event("get_pairs_query")
    event["queryStringParameters"]["posts"] = "[{'id': 1}]"
    error = assert_error(invoke(api, event), 422, "validation_error")
    assert error["details"][0]["loc"] == ["query", "posts"]


def test_query_needs_exactly_one_source_per_kind(api: ModuleType) -> None:
    # GIVEN a GET with posts inline and as an upload id, and no accounts at all WHEN invoked
    event = load_event("get_pairs_query")
    event["queryStringParameters"]["posts_upload_id"] = "p" * 32
    del event["queryStringParameters"]["accounts"]
    error = assert_error(invoke(api, event), 422, "validation_error")
    # THEN 422 naming both problems at the query fields (the model's rule, as for a body)
    assert error["details"] == [
        {"loc": ["query", "posts"], "msg": "give either posts or posts_upload_id, not both"},
        {"loc": ["query", "accounts"], "msg": "accounts or accounts_upload_id is required"},
    ]


def test_limits_on_records_and_screen_names(api: ModuleType) -> None:
    # GIVEN more accounts than MAX_RECORDS (a gzip body, to stay under the inline limit) WHEN invoked
    event, request = inline_request()
    many = [{"id": i, "screen_name": None} for i in range(int(TEST_ENV["MAX_RECORDS"]) + 1)]
    zipped = gzip.compress(json.dumps({**request, "accounts": many}).encode())
    event = {**event, "body": base64.b64encode(zipped).decode(), "isBase64Encoded": True}
    event["headers"] = {**event["headers"], "content-encoding": "gzip"}
    # THEN 422 at ["body", "accounts"]
    error = assert_error(invoke(api, event), 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "accounts"]
    event, request = inline_request()
    # GIVEN a screen name longer than MAX_SCREEN_NAME_LENGTH THEN 422 at that account's screen_name
    accounts = [dict(a) for a in request["accounts"]]
    accounts[2]["screen_name"] = "n" * (int(TEST_ENV["MAX_SCREEN_NAME_LENGTH"]) + 1)
    error = assert_error(invoke(api, with_body(event, {**request, "accounts": accounts})), 422, "validation_error")
    assert error["details"] == [{"loc": ["body", "accounts", 2, "screen_name"], "msg": "longer than 64 characters"}]


def test_huge_inputs_are_not_echoed(api: ModuleType) -> None:
    # GIVEN invalid values and an unknown field name of 200 kB each
    event, request = inline_request()
    huge = "#" + "x" * 200_000
    result = invoke(api, with_body(event, {**request, "hashtag": huge, huge: 1}))
    # WHEN answered THEN a small 422 body
    assert_error(result, 422, "validation_error")
    assert len(result.raw_body) < 3_000


def test_both_inline_and_upload_is_422(api: ModuleType) -> None:
    # GIVEN posts inline and as an upload id WHEN invoked THEN 422 at ["body", "posts"]
    event, request = inline_request()
    changed = {**request, "posts_upload_id": "p" * 32}
    error = assert_error(invoke(api, with_body(event, changed)), 422, "validation_error")
    assert error["details"][0] == {"loc": ["body", "posts"], "msg": "give either posts or posts_upload_id, not both"}


def test_raw_body_over_the_inline_limit_is_413_with_a_hint(api: ModuleType) -> None:
    # GIVEN a plain JSON body over MAX_INLINE_BODY_BYTES WHEN invoked THEN 413 pointing to /v1/uploads
    event, request = inline_request()
    copies = int(TEST_ENV["MAX_INLINE_BODY_BYTES"]) // len(json.dumps(request["posts"])) + 1
    padded = {**request, "posts": request["posts"] * copies}
    error = assert_error(invoke(api, with_body(event, padded)), 413, "body_too_large")
    assert "/v1/uploads" in error["message"]
    # AND the same limit applies to base64-encoded bodies
    big = with_body(event, padded)
    big["body"] = base64.b64encode(big["body"].encode()).decode()
    big["isBase64Encoded"] = True
    assert_error(invoke(api, big), 413, "body_too_large")


def test_base64_plain_json_body_is_accepted(api: ModuleType) -> None:
    # GIVEN API Gateway base64-encoding an uncompressed JSON body WHEN invoked THEN it is read like plain JSON
    event = load_event("post_pairs_inline")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert invoke(api, event).status == 200


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"content-type": "application/x-www-form-urlencoded"}, "unsupported_media_type"),
        ({"content-type": "multipart/form-data; boundary=x"}, "unsupported_media_type"),
        ({"content-type": "application/json", "content-encoding": "br"}, "unsupported_content_encoding"),
    ],
)
def test_unsupported_media_is_415(api: ModuleType, headers: dict[str, str], code: str) -> None:
    # GIVEN a JSON body declared as another media type or encoding WHEN invoked THEN 415
    event = load_event("post_pairs_inline")
    event["headers"].update(headers)
    assert_error(invoke(api, event), 415, code)


def test_missing_content_type_is_read_as_json(api: ModuleType) -> None:
    # GIVEN a JSON body without any Content-Type WHEN invoked THEN it is accepted (documented choice)
    event = load_event("post_pairs_inline")
    del event["headers"]["content-type"]
    assert invoke(api, event).status == 200


@pytest.mark.parametrize("body", ["", "[1]", '"text"'])
def test_empty_or_non_object_bodies(api: ModuleType, body: str) -> None:
    # GIVEN an empty body or a JSON document that is not an object WHEN invoked THEN 400 / 422
    event = load_event("post_pairs_inline")
    event["body"] = body
    status, code = (400, "invalid_json") if not body else (422, "validation_error")
    assert_error(invoke(api, event), status, code)


def test_method_not_allowed_lists_allowed_methods(api: ModuleType) -> None:
    # GIVEN DELETE /v1/uploads WHEN invoked THEN 405 with Allow: POST
    result = invoke(api, load_event("error_method_not_allowed"))
    assert_error(result, 405, "method_not_allowed")
    assert result.headers["allow"] == "POST"


def test_result_too_large_for_inline_is_413(api: ModuleType) -> None:
    # GIVEN a result larger than MAX_INLINE_RESULT_BYTES and result_delivery "inline" WHEN invoked THEN 413
    event, request = inline_request()
    changed = {**request, "min_similarity": 0.0, "result_delivery": "inline"}
    error = assert_error(invoke(api, with_body(event, changed)), 413, "result_too_large")
    assert error["details"][0]["loc"] == ["body", "result_delivery"]


@pytest.mark.parametrize("code", ["SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"])
def test_s3_throttling_is_503_with_retry_after(api: ModuleType, code: str) -> None:
    # GIVEN S3 answering GetObject with a throttling/availability error
    with Stubber(api.store.s3) as stub:
        stub.add_client_error("get_object", service_error_code=code, http_status_code=503)
        # WHEN a job reads an upload
        result = invoke(api, load_event("post_pairs_uploads"))
    # THEN 503 storage_unavailable with Retry-After
    assert_error(result, 503, "storage_unavailable")
    assert int(result.headers["retry-after"]) > 0


def test_s3_failure_while_offloading_is_503(api: ModuleType) -> None:
    # GIVEN S3 throttling PutObject WHEN a result goes to S3 THEN 503 with Retry-After
    event, request = inline_request()
    with Stubber(api.store.s3) as stub:
        stub.add_client_error("put_object", service_error_code="SlowDown", http_status_code=503)
        result = invoke(api, with_body(event, {**request, "result_delivery": "url"}))
    assert_error(result, 503, "storage_unavailable")
    assert "retry-after" in result.headers


def test_s3_access_denied_is_a_500_without_internals(api: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN our role lacking S3 permissions (AccessDenied) WHEN a job reads an upload
    with Stubber(api.store.s3) as stub:
        stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        result = invoke(api, load_event("post_pairs_uploads"))
    # THEN 500 internal_error that names neither S3 nor the bucket
    error = assert_error(result, 500, "internal_error")
    assert "AccessDenied" not in json.dumps(error) and TEST_ENV["PAYLOAD_BUCKET"] not in json.dumps(error)


def test_no_time_left_is_504(api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # GIVEN a Lambda context with less time left than DEADLINE_MARGIN_MS WHEN a job runs THEN 504
    lambda_context.remaining_ms = int(TEST_ENV["DEADLINE_MARGIN_MS"]) - 500
    error = assert_error(invoke(api, load_event("post_pairs_inline"), lambda_context), 504, "deadline_exceeded")
    assert "time limit" in error["message"]


def test_deadline_passing_during_the_search_is_504(api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # GIVEN a big all-pairs job (threshold 0 over 3000 accounts) and only 5 ms of budget WHEN invoked THEN 504
    event, request = inline_request()
    accounts = [{"id": str(i), "screen_name": f"user_{i:05d}"} for i in range(3000)]
    posts = [{"author_id": str(i), "is_repost": False, "hashtags": ["#diedsuddenly"]} for i in range(3000)]
    changed = {**request, "posts": posts, "accounts": accounts, "min_similarity": 0.0}
    lambda_context.remaining_ms = int(TEST_ENV["DEADLINE_MARGIN_MS"]) + 5
    assert_error(invoke(api, with_body(event, changed), lambda_context), 504, "deadline_exceeded")


def test_deadline_passing_while_an_upload_is_read_is_504(api: ModuleType, lambda_context: FakeLambdaContext) -> None:
    # GIVEN a gzip TSV posts upload of ~5 MB decompressed whose *last* line is malformed (reading it to the end
    # would be a 422 at that line), and a Lambda context leaving 1 ms beyond DEADLINE_MARGIN_MS
    lines = b"".join(b"%d\t%d\tfalse\t#diedsuddenly\n" % (i, i % 97) for i in range(200_000))
    content = gzip.compress(b"id\tauthor_id\tis_repost\thashtags\n" + lines + b"broken line\n")
    upload_id = upload_file(api, load_event("create_upload"), content)
    event, request = inline_request()
    changed = {"posts_upload_id": upload_id, "accounts": request["accounts"], "hashtag": "#diedsuddenly"}
    lambda_context.remaining_ms = int(TEST_ENV["DEADLINE_MARGIN_MS"]) + 1
    # WHEN the job reads the upload
    result = invoke(api, with_body(event, changed), lambda_context)
    # THEN the contract's 504 (reading stopped at the deadline, before the bad line), not a 422 or a Lambda timeout
    error = assert_error(result, 504, "deadline_exceeded")
    assert error["details"] == [] and "time limit" in error["message"]
