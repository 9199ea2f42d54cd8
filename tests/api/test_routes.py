"""The function's routes, driven by the committed API Gateway events (``events/``) through ``lambda_handler``."""

from __future__ import annotations

import gzip
import json
from types import ModuleType
from typing import Any

import pytest
import requests

from sockpuppet import read_accounts, read_posts
from tests.api.conftest import (
    EVENTS,
    TEST_ENV,
    FakeLambdaContext,
    as_user,
    event_body,
    invoke,
    load_event,
    upload_file,
    with_body,
)
from tests.reference import get_hashtag_accounts, get_similar_screen_names

pytestmark = pytest.mark.usefixtures("s3")

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"


def reference_pairs(body: dict[str, Any]) -> list[list[Any]]:
    """The original exercise's answer for a request body's records (as JSON lists)."""
    hashtag = body["hashtag"] if body["hashtag"].startswith("#") else f"#{body['hashtag']}"
    wanted = set(get_hashtag_accounts(body["posts"], hashtag))
    accounts = [a for a in body["accounts"] if a["id"] in wanted]
    return [list(pair) for pair in get_similar_screen_names(accounts, body.get("min_similarity", 0.8))]


def test_health(api: ModuleType) -> None:
    # GIVEN the health event (no IAM identity) WHEN invoked THEN 200 {"status": "ok"} with the request id
    result = invoke(api, load_event("health"))
    assert result.status == 200
    assert result.json() == {"status": "ok"}
    assert result.headers["x-request-id"] == "req-health"


def test_openapi_document_describes_the_routes(api: ModuleType) -> None:
    # GIVEN the OpenAPI event WHEN invoked THEN a 3.x document whose operations are exactly the API's routes
    result = invoke(api, load_event("get_openapi"))
    assert result.status == 200
    document = result.json()
    assert document["openapi"].startswith("3.")
    operations = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    expected = {(path, m.strip()) for path, methods in api.ALLOWED_METHODS.items() for m in methods.split(",")}
    assert operations == expected
    post = document["paths"]["/v1/similar-account-pairs"]["post"]
    schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert request_schema["additionalProperties"] is False
    assert request_schema["required"] == ["hashtag"]
    assert {"oneOf": [{"required": ["posts"]}, {"required": ["posts_upload_id"]}]} in request_schema["allOf"]
    assert request_schema["properties"]["max_pairs"]["anyOf"][0]["maximum"] == int(TEST_ENV["MAX_PAIRS"])
    assert {"200", "400", "413", "415", "422", "503", "504"} <= set(post["responses"])
    error_ref = post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref.endswith("/ErrorResponse")
    assert post["security"] == [{"sigv4": []}]
    assert "security" not in document["paths"]["/health"]["get"]
    assert document["paths"]["/openapi.json"]["get"]["security"] == [{"sigv4": []}]


@pytest.mark.parametrize("name", ["post_pairs_inline", "post_pairs_gzip"])
def test_post_inline_matches_reference(api: ModuleType, name: str) -> None:
    # GIVEN a POST with inline sample records (plain or gzip + base64) WHEN invoked
    event = load_event(name)
    result = invoke(api, event)
    # THEN 200 with exactly the reference functions' pairs, in their order, and the counts
    assert result.status == 200, result.raw_body
    body = result.json()
    request = event_body(event)
    expected = reference_pairs(request)
    assert body["similar_account_pairs"] == expected
    assert expected, "the sample slice has planted pairs"
    assert body["pair_count"] == len(expected)
    assert body["hashtag"] == "#diedsuddenly"
    assert body["truncated"] is False
    assert body["result_url"] is None and body["result_expires_at"] is None
    wanted = set(get_hashtag_accounts(request["posts"], "#diedsuddenly"))
    assert body["accounts_matched"] == len(wanted & {a["id"] for a in request["accounts"]})
    assert result.headers["x-request-id"] == event["requestContext"]["requestId"]


def test_get_with_inline_query_json_matches_reference(api: ModuleType) -> None:
    # GIVEN a GET whose query carries small inline JSON records and a hashtag without '#'
    event = load_event("get_pairs_query")
    query = event["queryStringParameters"]
    # WHEN invoked
    result = invoke(api, event)
    # THEN the reference pairs for those records
    assert result.status == 200, result.raw_body
    request = {
        "posts": json.loads(query["posts"]),
        "accounts": json.loads(query["accounts"]),
        "hashtag": query["hashtag"],
        "min_similarity": float(query["min_similarity"]),
    }
    assert result.json()["similar_account_pairs"] == reference_pairs(request)
    assert result.json()["pair_count"] == 1


@pytest.mark.parametrize("max_pairs", [2, 2.0])
def test_max_pairs_truncates(api: ModuleType, max_pairs: float) -> None:
    # GIVEN the inline job limited to 2 pairs (JSON Schema integers include 2.0)
    event = load_event("post_pairs_inline")
    request = event_body(event)
    # WHEN invoked THEN the first 2 reference pairs, truncated, with the full count
    result = invoke(api, with_body(event, {**request, "max_pairs": max_pairs}))
    body = result.json()
    expected = reference_pairs(request)
    assert body["similar_account_pairs"] == expected[:2]
    assert body["pair_count"] == len(expected) > 2
    assert body["truncated"] is True


def test_compressed_response_when_accepted(api: ModuleType) -> None:
    # GIVEN a client that accepts gzip asking for a pairs document of a few kB (threshold 0, the first 40 pairs)
    event = load_event("post_pairs_inline")
    request = {**event_body(event), "min_similarity": 0.0, "max_pairs": 40}
    event = with_body(event, request)
    event["headers"]["accept-encoding"] = "gzip, deflate"
    # WHEN it asks THEN the body is gzip (base64 in the proxy result) and decodes to the pairs
    raw = api.lambda_handler(event, FakeLambdaContext())
    assert raw["isBase64Encoded"] is True and raw["headers"]["Content-Encoding"] == "gzip"
    result = invoke(api, event)
    assert len(result.raw_body) > api.MIN_COMPRESSED_BYTES
    assert result.json()["similar_account_pairs"] == reference_pairs(request)[:40]


def test_small_documents_are_not_compressed(api: ModuleType) -> None:
    # GIVEN a client that accepts gzip WHEN the pairs document is under MIN_COMPRESSED_BYTES THEN plain JSON
    event = load_event("post_pairs_inline")
    event["headers"]["accept-encoding"] = "gzip"
    raw = api.lambda_handler(event, FakeLambdaContext())
    assert raw["isBase64Encoded"] is False and "Content-Encoding" not in raw["headers"]
    assert len(raw["body"]) < api.MIN_COMPRESSED_BYTES


def test_create_upload_returns_a_presigned_post(api: ModuleType) -> None:
    # GIVEN the create-upload event (posts, TSV, gzip) WHEN invoked
    result = invoke(api, load_event("create_upload"))
    # THEN 201 with an unguessable id, the POST url and fields pinning key, type and metadata
    assert result.status == 201
    ticket = result.json()
    assert len(ticket["upload_id"]) >= 32
    assert ticket["max_bytes"] == int(TEST_ENV["MAX_UPLOAD_BYTES"])
    assert ticket["fields"]["key"] == api.store.upload_key(ALICE, ticket["upload_id"])
    assert ticket["fields"]["x-amz-meta-kind"] == "posts"
    assert ticket["fields"]["x-amz-meta-format"] == "tsv"
    assert ticket["fields"]["x-amz-meta-content-encoding"] == "gzip"
    assert ticket["expires_at"].endswith("Z")
    assert result.headers["x-request-id"] == "req-create-upload"


def test_uploaded_tsv_files_match_reference(api: ModuleType) -> None:
    # GIVEN the original exercise's TSV files uploaded (posts gzip, accounts plain) through presigned POSTs
    sample = EVENTS.parent / "data" / "sample"
    create = load_event("create_upload")
    posts_id = upload_file(api, create, gzip.compress((sample / "posts.tsv").read_bytes()))
    accounts_request = {"kind": "accounts", "format": "tsv", "content_encoding": None}
    accounts_id = upload_file(api, with_body(create, accounts_request), (sample / "accounts.tsv").read_bytes())
    # WHEN the pairs are asked for by upload id (POST, then GET)
    event = load_event("post_pairs_uploads")
    uploads = {"posts_upload_id": posts_id, "accounts_upload_id": accounts_id, "hashtag": "#diedsuddenly"}
    posted = invoke(api, with_body(event, {**uploads, "result_delivery": "inline"}))
    get_event = load_event("get_pairs_uploads")
    get_event["queryStringParameters"].update(uploads, result_delivery="inline")
    got = invoke(api, get_event)
    # THEN both equal the reference functions on the files
    expected = reference_pairs(
        {
            "posts": read_posts(sample / "posts.tsv"),
            "accounts": read_accounts(sample / "accounts.tsv"),
            "hashtag": "#diedsuddenly",
        }
    )
    assert posted.status == 200, posted.raw_body
    assert posted.json()["pair_count"] == len(expected)
    assert got.status == 200, got.raw_body
    assert posted.json()["similar_account_pairs"] == got.json()["similar_account_pairs"] == expected


def test_committed_upload_events_read_objects_of_their_caller(api: ModuleType, s3: Any) -> None:
    # GIVEN JSON uploads stored under the fixed ids of the upload events, for the events' caller
    inline = event_body(load_event("post_pairs_inline"))
    for kind, upload_id in (
        ("posts", "sample-posts-upload-0000000000001"),
        ("accounts", "sample-accounts-upload-000000000001"),
    ):
        s3.put_object(
            Bucket=TEST_ENV["PAYLOAD_BUCKET"],
            Key=api.store.upload_key(ALICE, upload_id),
            Body=json.dumps(inline[kind]).encode(),
            Metadata={"kind": kind, "format": "json", "content-encoding": "identity"},
        )
    # WHEN the POST and GET upload events run THEN both give the reference pairs of those records
    for name in ("post_pairs_uploads", "get_pairs_uploads"):
        result = invoke(api, load_event(name))
        assert result.status == 200, result.raw_body
        assert result.json()["similar_account_pairs"] == reference_pairs(inline)


def test_foreign_upload_id_is_not_found(api: ModuleType) -> None:
    # GIVEN an upload created and filled by alice
    upload_id = upload_file(api, load_event("create_upload"), gzip.compress(b"id\tauthor_id\tis_repost\thashtags\n"))
    inline = event_body(load_event("post_pairs_inline"))
    request = {"posts_upload_id": upload_id, "accounts": inline["accounts"], "hashtag": "#diedsuddenly"}
    event = with_body(load_event("post_pairs_inline"), request)
    # WHEN bob uses alice's upload id THEN 404 upload_not_found; alice herself gets a 200
    foreign = invoke(api, as_user(event, BOB))
    assert foreign.status == 404
    assert foreign.json()["error"]["code"] == "upload_not_found"
    assert foreign.json()["error"]["details"][0]["loc"] == ["body", "posts_upload_id"]
    assert invoke(api, event).status == 200


def test_upload_of_the_other_kind_is_rejected(api: ModuleType) -> None:
    # GIVEN an upload created for posts WHEN it is passed as accounts THEN 422 naming accounts_upload_id
    upload_id = upload_file(api, load_event("create_upload"), gzip.compress(b"id\tscreen_name\n1\ta\n"))
    inline = event_body(load_event("post_pairs_inline"))
    request = {"posts": inline["posts"], "accounts_upload_id": upload_id, "hashtag": "#diedsuddenly"}
    result = invoke(api, with_body(load_event("post_pairs_inline"), request))
    assert result.status == 422
    assert result.json()["error"]["details"][0]["loc"][:2] == ["body", "accounts_upload_id"]


def test_malformed_upload_names_the_line(api: ModuleType) -> None:
    # GIVEN a posts TSV upload whose third line has a bad is_repost
    tsv = b"id\tauthor_id\tis_repost\thashtags\n1\ta\tfalse\t#x\n2\tb\tmaybe\t#x\n"
    upload_id = upload_file(api, load_event("create_upload"), gzip.compress(tsv))
    inline = event_body(load_event("post_pairs_inline"))
    request = {"posts_upload_id": upload_id, "accounts": inline["accounts"], "hashtag": "#x"}
    # WHEN used THEN 422 at ["body", "posts_upload_id", "line", 3, "is_repost"]
    result = invoke(api, with_body(load_event("post_pairs_inline"), request))
    assert result.status == 422
    assert result.json()["error"]["details"][0]["loc"] == ["body", "posts_upload_id", "line", 3, "is_repost"]


def test_upload_over_max_records_stops_at_the_first_record_over(api: ModuleType) -> None:
    # GIVEN a posts upload with MAX_RECORDS + 1 records and a malformed line after them
    limit = int(TEST_ENV["MAX_RECORDS"])
    rows = b"".join(b"%d\ta%d\tfalse\t#x\n" % (i, i) for i in range(limit + 1))
    tsv = b"id\tauthor_id\tis_repost\thashtags\n" + rows + b"never\tread\n"
    upload_id = upload_file(api, load_event("create_upload"), gzip.compress(tsv))
    inline = event_body(load_event("post_pairs_inline"))
    request = {"posts_upload_id": upload_id, "accounts": inline["accounts"], "hashtag": "#x"}
    # WHEN used THEN 422 naming MAX_RECORDS at the line of the first record over (header = line 1)
    result = invoke(api, with_body(load_event("post_pairs_inline"), request))
    assert result.status == 422, result.raw_body
    error = result.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["body", "posts_upload_id", "line", limit + 2]
    assert "MAX_RECORDS" in error["message"]


@pytest.mark.parametrize("delivery", ["auto", "url"])
def test_large_result_is_offloaded_to_s3(api: ModuleType, delivery: str) -> None:
    # GIVEN a job whose result is larger than MAX_INLINE_RESULT_BYTES (every pair at threshold 0)
    event = load_event("post_pairs_inline")
    request = {**event_body(event), "min_similarity": 0.0, "result_delivery": delivery}
    # WHEN invoked
    result = invoke(api, with_body(event, request))
    # THEN the pairs are at a presigned URL: the S3 object is the full document with the reference pairs
    assert result.status == 200, result.raw_body
    body = result.json()
    assert body["similar_account_pairs"] is None
    assert body["result_url"].startswith("https://") and body["result_expires_at"].endswith("Z")
    stored = requests.get(body["result_url"], timeout=10)
    assert stored.headers["Content-Type"] == "application/json"
    assert stored.headers["Content-Encoding"] == "gzip"
    document = stored.json()
    assert len(stored.content) > int(TEST_ENV["MAX_INLINE_RESULT_BYTES"])
    assert document["similar_account_pairs"] == reference_pairs(request)
    assert document["pair_count"] == body["pair_count"]


def test_url_delivery_even_for_small_results(api: ModuleType) -> None:
    # GIVEN a small job with result_delivery "url" WHEN invoked THEN the result still goes to S3
    event = load_event("post_pairs_inline")
    request = {**event_body(event), "result_delivery": "url"}
    body = invoke(api, with_body(event, request)).json()
    assert body["similar_account_pairs"] is None
    assert requests.get(body["result_url"], timeout=10).json()["similar_account_pairs"] == reference_pairs(request)


def test_inline_delivery_of_a_small_result(api: ModuleType) -> None:
    # GIVEN a small job with result_delivery "inline" WHEN invoked THEN the pairs are in the body
    event = load_event("post_pairs_inline")
    request = {**event_body(event), "result_delivery": "inline"}
    body = invoke(api, with_body(event, request)).json()
    assert body["similar_account_pairs"] == reference_pairs(request)
    assert body["result_url"] is None


def test_inline_limit_counts_the_json_escaping_of_the_lambda_response(api: ModuleType) -> None:
    # GIVEN results around MAX_INLINE_RESULT_BYTES (every pair at threshold 0, cut by max_pairs)
    event = load_event("post_pairs_inline")
    limit = int(TEST_ENV["MAX_INLINE_RESULT_BYTES"])
    raw_fits_but_offloaded = 0
    for max_pairs in range(60, 84):
        request = {**event_body(event), "min_similarity": 0.0, "max_pairs": max_pairs}
        # WHEN each is asked for with result_delivery "auto"
        body = invoke(api, with_body(event, request)).json()
        document = requests.get(body["result_url"], timeout=10).json() if body["result_url"] else body
        raw = json.dumps(document, separators=(",", ":")).encode()
        escaped = json.dumps(raw.decode())
        # THEN it is inline exactly when its escaped form (as it travels in the Lambda response) fits
        assert (body["result_url"] is None) == (len(escaped) - 2 <= limit), max_pairs
        raw_fits_but_offloaded += body["result_url"] is not None and len(raw) <= limit
    assert raw_fits_but_offloaded, "some results fit only before escaping"


@pytest.mark.parametrize(
    ("accounts_tsv", "loc"),
    [
        (b"id\tscreen_name\n1\ta\n1\tb\n", ["body", "accounts_upload_id", "record", 1, "id"]),
        (b"id\tscreen_name\n1\ta\n2\t" + b"n" * 65 + b"\n", ["body", "accounts_upload_id", "record", 1, "screen_name"]),
    ],
    ids=["conflicting-duplicate-ids", "screen-name-too-long"],
)
def test_problems_in_uploaded_accounts_name_the_upload(api: ModuleType, accounts_tsv: bytes, loc: list) -> None:
    # GIVEN uploaded accounts that load but break a rule checked after loading
    request = {"kind": "accounts", "format": "tsv", "content_encoding": None}
    upload_id = upload_file(api, with_body(load_event("create_upload"), request), accounts_tsv)
    posts = [
        {"author_id": "1", "is_repost": False, "hashtags": ["#x"]},
        {"author_id": "2", "is_repost": 0, "hashtags": "#x"},
    ]
    body = {"posts": posts, "accounts_upload_id": upload_id, "hashtag": "#x"}
    # WHEN used THEN 422 locating the record inside the upload
    result = invoke(api, with_body(load_event("post_pairs_inline"), body))
    assert result.status == 422, result.raw_body
    assert result.json()["error"]["details"][0]["loc"] == loc


def test_route_arguments_logged_by_powertools_leave_the_records_out(
    api: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    """Powertools formats the route arguments into a debug message on every request (an f-string, built whatever
    the log level): the request model's repr must not spell out the records (milliseconds per 1k posts)."""
    # GIVEN the inline POST event and Powertools' own debug logging captured
    event = load_event("post_pairs_inline")
    screen_name = event_body(event)["accounts"][0]["screen_name"]
    caplog.set_level("DEBUG", logger="aws_lambda_powertools.event_handler.api_gateway")
    # WHEN it is handled
    result = invoke(api, event)
    # THEN the route-arguments message names the request but none of its records
    assert result.status == 200
    messages = [record.getMessage() for record in caplog.records if "Calling API Route Handler" in record.getMessage()]
    assert messages, "Powertools no longer logs the route arguments: this test (and the repr=False) can go"
    assert all("hashtag=" in message and screen_name not in message for message in messages), messages[0][:300]


def test_openapi_document_says_only_what_the_function_does(api: ModuleType) -> None:
    # GIVEN the served OpenAPI document
    document = invoke(api, load_event("get_openapi")).json()
    paths, schemas = document["paths"], document["components"]["schemas"]
    # WHEN the routes without parameters, the GET's inline JSON parameters and the record schemas are read
    get = {parameter["name"]: parameter for parameter in paths["/v1/similar-account-pairs"]["get"]["parameters"]}
    post, account = (schemas["PairsRequest"]["properties"][kind]["items"] for kind in ("posts", "accounts"))
    # THEN routes that take no input document no 422 (and no unused validation-error models remain)
    for path in ("/health", "/openapi.json"):
        assert set(paths[path]["get"]["responses"]) == {"200", "500"}
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    # AND the inline records of the GET are JSON arrays of records (content application/json), not free strings
    for kind in ("posts", "accounts"):
        assert "schema" not in get[kind]
        assert get[kind]["content"]["application/json"]["schema"]["type"] == "array"
    # AND records are described as the library validates them: required fields only, extra fields allowed
    assert set(post["properties"]) == set(post["required"]) == {"author_id", "is_repost", "hashtags"}
    assert set(account["properties"]) == set(account["required"]) == {"id", "screen_name"}
    assert post["additionalProperties"] is True and account["additionalProperties"] is True
