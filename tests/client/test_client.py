"""Client protocol: inline vs upload decision, result URLs, errors and retries.

The API side is a recording HTTP server answering what the contract says the API answers (the real function is
exercised end to end in ``tests/integration/test_uploads_e2e.py``); S3 is moto's server with real presigned URLs.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import orjson
import pytest

from sockpuppet import read_accounts, read_posts
from sockpuppet_client import Client, SockpuppetError
from sockpuppet_client.client import EVENT_OVERHEAD_BYTES, LAMBDA_PAYLOAD_BYTES, MAX_INLINE_BODY_BYTES, retry_delay
from tests.client.conftest import BUCKET, RecordingServer, Reply, s3_client

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
OK_BODY = {
    "similar_account_pairs": [["a1", "a2", 0.875]],
    "pair_count": 1,
    "hashtag": "#diedsuddenly",
    "min_similarity": 0.8,
    "accounts_matched": 2,
    "authors_without_account": 0,
    "truncated": False,
    "result_url": None,
    "result_expires_at": None,
}


def ok(body: dict | None = None, status: int = 200) -> Reply:
    return Reply(status, orjson.dumps(body if body is not None else OK_BODY))


def request_json(api: RecordingServer, n: int) -> dict:
    received = api.received[n]
    data = gzip.decompress(received.body) if received.headers.get("Content-Encoding") == "gzip" else received.body
    return json.loads(data)


def test_small_files_go_inline_as_one_gzip_body(api: RecordingServer) -> None:
    # GIVEN the sample files (well under the inline limit)
    api.replies.append(ok())
    client = Client(api.url)
    # WHEN the job is requested
    body = client.similar_account_pairs(
        posts=SAMPLE / "posts.tsv", accounts=str(SAMPLE / "accounts.tsv"), hashtag="diedsuddenly", max_pairs=5
    )
    # THEN one gzip JSON POST carries the records as the library reads them, and the 200 body is returned
    assert body == OK_BODY
    assert len(api.received) == 1
    received = api.received[0]
    assert (received.method, received.path) == ("POST", "/v1/similar-account-pairs")
    assert received.headers["Content-Encoding"] == "gzip"
    assert received.headers["Content-Type"] == "application/json"
    sent = request_json(api, 0)
    assert sent["posts"] == read_posts(SAMPLE / "posts.tsv")
    assert sent["accounts"] == read_accounts(SAMPLE / "accounts.tsv")
    assert {k: v for k, v in sent.items() if k not in ("posts", "accounts")} == {
        "hashtag": "diedsuddenly",
        "min_similarity": 0.8,
        "hashtag_match": "exact",
        "result_delivery": "auto",
        "max_pairs": 5,
    }


def _upload_reply(s3_endpoint: str, key: str) -> Reply:
    post = s3_client(s3_endpoint).generate_presigned_post(BUCKET, key, ExpiresIn=300)
    ticket = {"upload_id": key.rsplit("/", 1)[1], "url": post["url"], "fields": post["fields"], "max_bytes": 10**9}
    return ok(ticket | {"expires_at": "2030-01-01T00:00:00Z"}, status=201)


def test_large_inputs_are_uploaded_then_referenced(api: RecordingServer, s3_endpoint: str) -> None:
    # GIVEN an inline limit smaller than either input (posts as a file, accounts as records)
    accounts = read_accounts(SAMPLE / "accounts.tsv")
    api.replies += [_upload_reply(s3_endpoint, "uploads/o/posts-1"), _upload_reply(s3_endpoint, "uploads/o/acc-1")]
    api.replies.append(ok())
    client = Client(api.url, inline_limit_bytes=1_000)
    # WHEN the job is requested
    client.similar_account_pairs(posts=SAMPLE / "posts.tsv", accounts=accounts, hashtag="x")
    # THEN the posts file went to S3 byte for byte as TSV, the accounts as gzip JSON Lines, and the job names both
    assert [(r.method, r.path) for r in api.received] == [
        ("POST", "/v1/uploads"),
        ("POST", "/v1/uploads"),
        ("POST", "/v1/similar-account-pairs"),
    ]
    assert request_json(api, 0) == {"kind": "posts", "format": "tsv", "content_encoding": None}
    assert request_json(api, 1) == {"kind": "accounts", "format": "jsonl", "content_encoding": "gzip"}
    s3 = s3_client(s3_endpoint)
    assert s3.get_object(Bucket=BUCKET, Key="uploads/o/posts-1")["Body"].read() == (SAMPLE / "posts.tsv").read_bytes()
    stored = gzip.decompress(s3.get_object(Bucket=BUCKET, Key="uploads/o/acc-1")["Body"].read())
    assert [json.loads(line) for line in stored.splitlines()] == accounts
    sent = request_json(api, 2)
    assert (sent["posts_upload_id"], sent["accounts_upload_id"]) == ("posts-1", "acc-1")
    assert "posts" not in sent and "accounts" not in sent


def test_only_the_larger_input_is_uploaded_when_together_they_do_not_fit(
    api: RecordingServer, s3_endpoint: str
) -> None:
    # GIVEN two inputs that each fit the limit but not together
    posts = read_posts(SAMPLE / "posts.tsv")
    accounts = read_accounts(SAMPLE / "accounts.tsv")
    posts_size = len(gzip.compress(orjson.dumps(posts)))
    api.replies += [_upload_reply(s3_endpoint, "uploads/o/posts-2"), ok()]
    # WHEN the job is requested with a limit just above the posts' compressed size
    Client(api.url, inline_limit_bytes=posts_size + 1000).similar_account_pairs(
        posts=posts, accounts=accounts, hashtag="x"
    )
    # THEN the posts are uploaded and the accounts stay inline
    assert request_json(api, 0)["kind"] == "posts"
    sent = request_json(api, 1)
    assert sent["posts_upload_id"] == "posts-2"
    assert sent["accounts"] == accounts


def test_result_url_is_followed_and_gunzipped(api: RecordingServer, s3_endpoint: str) -> None:
    # GIVEN an API answer with the result offloaded to S3 as gzip JSON
    document = OK_BODY | {"similar_account_pairs": [["x1", "x2", 0.9], ["x1", "x3", 0.85]], "pair_count": 2}
    s3 = s3_client(s3_endpoint)
    s3.put_object(Bucket=BUCKET, Key="results/o/r.json.gz", Body=gzip.compress(orjson.dumps(document)))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "results/o/r.json.gz"})
    offloaded = document | {"similar_account_pairs": None, "result_url": url, "result_expires_at": "2030-01-01T00:00Z"}
    api.replies.append(ok(offloaded))
    # WHEN the job is requested with result_delivery="url"
    body = Client(api.url, auth=("AKID", "SECRET"), region="us-east-1").similar_account_pairs(
        posts=[], accounts=[], hashtag="x", result_delivery="url"
    )
    # THEN the pairs come from the URL and the URL stays in the body
    assert body["similar_account_pairs"] == document["similar_account_pairs"]
    assert body["result_url"] == url
    assert request_json(api, 0)["result_delivery"] == "url"


def test_contract_error_body_becomes_sockpuppet_error(api: RecordingServer) -> None:
    # GIVEN a 422 with the contract's error body
    error = {
        "error": {"code": "invalid_input", "message": "bad posts", "details": [{"loc": ["posts", 3], "msg": "no"}]},
        "request_id": "req-1",
    }
    api.replies.append(Reply(422, orjson.dumps(error)))
    # WHEN the job is requested THEN SockpuppetError carries status, code, message, details and request id
    with pytest.raises(SockpuppetError) as caught:
        Client(api.url).similar_account_pairs(posts=[{}], accounts=[], hashtag="x")
    exc = caught.value
    assert (exc.status, exc.code, exc.message, exc.request_id) == (422, "invalid_input", "bad posts", "req-1")
    assert exc.details == [{"loc": ["posts", 3], "msg": "no"}]
    assert str(exc) == "422 invalid_input: bad posts (posts.3: no) [request req-1]"


def test_gateway_and_s3_errors_are_mapped(api: RecordingServer) -> None:
    # GIVEN API Gateway's own 403 and an S3 XML error WHEN received THEN both become SockpuppetError
    api.replies.append(Reply(403, b'{"message":"Forbidden"}', {"apigw-requestid": "gw-1"}))
    with pytest.raises(SockpuppetError) as caught:
        Client(api.url).health()
    assert (caught.value.status, caught.value.code, caught.value.message) == (403, "http_403", "Forbidden")
    assert caught.value.request_id == "gw-1"
    xml = b"<Error><Code>AccessDenied</Code><Message>Policy expired</Message><RequestId>S3R</RequestId></Error>"
    api.replies.append(Reply(403, xml, {"Content-Type": "application/xml"}))
    with pytest.raises(SockpuppetError) as caught:
        Client(api.url).fetch_result(f"{api.url}/results/x")
    exc = caught.value
    assert (exc.code, exc.message, exc.request_id) == ("AccessDenied", "Policy expired", "S3R")


def test_throttling_is_retried_then_succeeds(api: RecordingServer) -> None:
    # GIVEN two 503s with Retry-After: 0 then a 200
    busy = Reply(503, b'{"error": {"code": "unavailable", "message": "S3 busy"}}', {"Retry-After": "0"})
    api.replies += [busy, Reply(429, b'{"message": "Too Many Requests"}'), ok()]
    # WHEN the job is requested THEN the same signed body is sent three times and the 200 is returned
    client = Client(api.url, auth=("AKID", "SECRET"), region="us-east-1", retry_backoff=0.01)
    assert client.similar_account_pairs(posts=[], accounts=[], hashtag="x") == OK_BODY
    assert len(api.received) == 3
    assert len({r.body for r in api.received}) == 1
    assert all(r.headers["Authorization"].startswith("AWS4-HMAC-SHA256") for r in api.received)


def test_retries_are_bounded(api: RecordingServer) -> None:
    # GIVEN an API that always answers 503 WHEN called with max_retries=2 THEN 3 attempts, then the error
    api.replies += [Reply(503, b'{"error": {"code": "unavailable", "message": "busy"}}', {"Retry-After": "0"})] * 5
    with pytest.raises(SockpuppetError) as caught:
        Client(api.url, max_retries=2).health()
    assert caught.value.status == 503
    assert len(api.received) == 3


@pytest.mark.parametrize(
    ("header", "attempt", "low", "high"),
    [
        ("7", 0, 7.0, 7.0),
        ("120", 0, 30.0, 30.0),
        (None, 0, 0.25, 0.5),
        (None, 3, 2.0, 4.0),
        ("not a date", 1, 0.5, 1.0),
        (None, 20, 30.0, 30.0),
    ],
)
def test_retry_delay(header: str | None, attempt: int, low: float, high: float) -> None:
    # GIVEN a Retry-After header (or none) and an attempt WHEN the delay is computed THEN within bounds
    assert low <= retry_delay(header, attempt, backoff=0.5) <= high


def test_retry_after_as_http_date() -> None:
    # GIVEN a Retry-After date in the past / far future WHEN the delay is computed THEN 0 / the cap
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=1), usegmt=True)
    future = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert retry_delay(past, 0, backoff=0.5) == 0.0
    assert retry_delay(future, 0, backoff=0.5) == 30.0


def test_bad_sources_are_rejected() -> None:
    # GIVEN bytes or a single dict as input WHEN the job is requested THEN a TypeError before any request
    client = Client("http://127.0.0.1:9")
    with pytest.raises(TypeError, match="posts: pass records or a file path"):
        client.similar_account_pairs(posts=b"x", accounts=[], hashtag="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="accounts: pass a list of records"):
        client.similar_account_pairs(posts=[], accounts={"id": "1"}, hashtag="x")


def test_an_upload_id_is_reused(api: RecordingServer, s3_endpoint: str) -> None:
    # GIVEN accounts uploaded once with Client.upload
    api.replies += [_upload_reply(s3_endpoint, "uploads/o/acc-3"), ok()]
    client = Client(api.url)
    upload_id = client.upload(SAMPLE / "accounts.tsv", kind="accounts")
    assert upload_id == "acc-3"
    # WHEN the id is passed as accounts THEN the job references it and nothing is uploaded again
    client.similar_account_pairs(posts=[], accounts=upload_id, hashtag="x")
    sent = request_json(api, 1)
    assert sent["accounts_upload_id"] == "acc-3"
    assert sent["posts"] == []
    assert "accounts" not in sent


def test_error_text_does_not_repeat_a_detail_already_in_the_message() -> None:
    # GIVEN an error whose message already names its first detail WHEN printed THEN the detail appears once
    exc = SockpuppetError(
        422, "validation_error", "invalid: body.x: too big", [{"loc": ["body", "x"], "msg": "too big"}]
    )
    assert str(exc) == "422 validation_error: invalid: body.x: too big"


def test_a_small_file_that_does_not_fit_once_parsed_is_uploaded_as_it_is(
    api: RecordingServer, s3_endpoint: str, tmp_path: Path
) -> None:
    # GIVEN gzip TSV files each smaller than the limit, the posts larger than it once read and re-encoded
    paths = {}
    for kind in ("posts", "accounts"):
        paths[kind] = tmp_path / f"{kind}.tsv.gz"
        paths[kind].write_bytes(gzip.compress((SAMPLE / f"{kind}.tsv").read_bytes()))
    limit = paths["posts"].stat().st_size + 1000
    api.replies += [_upload_reply(s3_endpoint, "uploads/o/posts-gz"), ok()]
    # WHEN the job is requested
    Client(api.url, inline_limit_bytes=limit).similar_account_pairs(
        posts=paths["posts"], accounts=paths["accounts"], hashtag="x"
    )
    # THEN the posts file is uploaded byte for byte as gzip TSV and the accounts stay inline
    assert request_json(api, 0) == {"kind": "posts", "format": "tsv", "content_encoding": "gzip"}
    stored = s3_client(s3_endpoint).get_object(Bucket=BUCKET, Key="uploads/o/posts-gz")["Body"].read()
    assert stored == paths["posts"].read_bytes()
    sent = request_json(api, 1)
    assert sent["posts_upload_id"] == "posts-gz"
    assert sent["accounts"] == read_accounts(SAMPLE / "accounts.tsv")


def test_the_inline_limit_counts_the_base64_event() -> None:
    # GIVEN API Gateway base64-encoding a gzip body into a Lambda event of at most 6 MiB (with headers and context)
    # THEN the largest inline body, expanded by 4/3 with the event's overhead, stays within the limit
    assert MAX_INLINE_BODY_BYTES * 4 // 3 + EVENT_OVERHEAD_BYTES <= LAMBDA_PAYLOAD_BYTES
    # AND it is the default, and a larger limit asked for is capped to it (the old default, 5 MB, made 6.7 MB events)
    assert Client("http://127.0.0.1:9").inline_limit_bytes == MAX_INLINE_BODY_BYTES
    assert Client("http://127.0.0.1:9", inline_limit_bytes=5_000_000).inline_limit_bytes == MAX_INLINE_BODY_BYTES


@pytest.mark.parametrize(
    "refusal",
    [
        Reply(413, orjson.dumps({"error": {"code": "body_too_large", "message": "m", "details": []}})),
        Reply(413, b'{"message":"Request Entity Too Large"}'),  # API Gateway's own answer
    ],
)
def test_a_413_for_size_is_sent_again_with_the_inputs_uploaded(
    api: RecordingServer, s3_endpoint: str, refusal: Reply
) -> None:
    # GIVEN an API whose inline limit is lower than the client's: the inline body is refused with 413
    posts, accounts = read_posts(SAMPLE / "posts.tsv"), read_accounts(SAMPLE / "accounts.tsv")
    api.replies += [refusal]
    api.replies += [_upload_reply(s3_endpoint, "uploads/o/posts-3"), _upload_reply(s3_endpoint, "uploads/o/acc-3")]
    api.replies.append(ok())
    # WHEN the job is requested
    body = Client(api.url).similar_account_pairs(posts=posts, accounts=accounts, hashtag="x")
    # THEN both inputs are uploaded and the job is sent again by upload id, answered 200
    assert [(r.method, r.path) for r in api.received] == [
        ("POST", "/v1/similar-account-pairs"),
        ("POST", "/v1/uploads"),
        ("POST", "/v1/uploads"),
        ("POST", "/v1/similar-account-pairs"),
    ]
    sent = request_json(api, 3)
    assert {sent["posts_upload_id"], sent["accounts_upload_id"]} == {"posts-3", "acc-3"}
    assert "posts" not in sent and "accounts" not in sent
    assert body == OK_BODY


def test_a_413_for_the_result_is_not_sent_again(api: RecordingServer) -> None:
    # GIVEN an API answering 413 result_too_large (the result, not the request, is too large)
    error = {"error": {"code": "result_too_large", "message": "lower max_pairs", "details": []}}
    api.replies.append(Reply(413, orjson.dumps(error)))
    # WHEN the job is requested THEN the error is raised after one request
    with pytest.raises(SockpuppetError) as raised:
        Client(api.url).similar_account_pairs(posts=[], accounts=[], hashtag="x", result_delivery="inline")
    assert raised.value.code == "result_too_large" and len(api.received) == 1
