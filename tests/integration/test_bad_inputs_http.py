"""The bad-input corpus (``tests/corpus``) over real HTTP: local front + RIE running the function + moto S3.

Same cases and checks as ``tests/api/test_bad_inputs.py``, but the bytes go through an HTTP server, the front's
event mapping (base64 for binary bodies, headers, query strings) and the RIE's JSON round trip, so transport-level
mistakes show up too. The only difference the gateway makes: a request whose event exceeds Lambda's 6 MB
invocation limit never reaches the function and gets API Gateway's own 413 (``{"message": ...}``).
"""

from __future__ import annotations

import json

import pytest
import requests

from sockpuppet_client.auth import SigV4Auth
from sockpuppet_local.rie import LAMBDA_PAYLOAD_LIMIT
from sockpuppet_local.stack import LocalStack
from tests.corpus import BAD_UPLOADS, BadUpload, CorpusCase, check_response, corpus_params, load_corpus

CASES = load_corpus()


def send(local_stack: LocalStack, signer: SigV4Auth, case: CorpusCase) -> requests.Response:
    """The case's request, signed, exactly as its bytes and headers say."""
    return requests.request(
        case.method,
        f"{local_stack.base_url}{case.path}",
        params=case.query,
        data=case.body(),
        headers=case.headers(),
        auth=signer,
        timeout=60,
    )


@pytest.mark.parametrize("case", corpus_params(CASES))
def test_corpus_case_over_http(local_stack: LocalStack, signer: SigV4Auth, case: CorpusCase) -> None:
    """GIVEN a corpus request WHEN sent over HTTP THEN the contract's answer, with the gateway's request id."""
    body = case.body() or b""

    response = send(local_stack, signer, case)

    if case.expected_status == 413 and len(body) > LAMBDA_PAYLOAD_LIMIT:
        assert response.status_code == 413, response.content[:500]
        assert response.json() == {"message": "Request Entity Too Large"}
        return
    document = check_response(case, response.status_code, dict(response.headers), response.content)
    assert response.headers["X-Request-Id"] == response.headers["apigw-requestid"]
    if case.is_error:
        assert document is not None and document["request_id"] == response.headers["X-Request-Id"]


def test_the_largest_inline_body_the_function_sees_gets_the_upload_hint(
    local_stack: LocalStack, signer: SigV4Auth
) -> None:
    """GIVEN a body just over MAX_INLINE_BODY_BYTES but under Lambda's limit WHEN sent THEN the function's own 413
    with the hint to use /v1/uploads (the case a client most needs the hint for)."""
    padding = 6_000_001 - len(b'{"hashtag":"#x","posts":[],"accounts":[],"p":""}')
    body = json.dumps({"hashtag": "#x", "posts": [], "accounts": [], "p": "p" * padding}, separators=(",", ":"))

    response = requests.post(
        f"{local_stack.base_url}/v1/similar-account-pairs",
        data=body.encode(),
        headers={"content-type": "application/json"},
        auth=signer,
        timeout=60,
    )

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "body_too_large"
    assert "/v1/uploads" in error["message"]


def upload(local_stack: LocalStack, signer: SigV4Auth, kind: str, fmt: str, encoding: str | None, data: bytes) -> str:
    """``data`` uploaded through the API's presigned POST (to the stack's moto S3); the upload id."""
    created = requests.post(
        f"{local_stack.base_url}/v1/uploads",
        json={"kind": kind, "format": fmt, "content_encoding": encoding},
        auth=signer,
        timeout=60,
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("data", data)}, timeout=60)
    assert sent.status_code == 204, sent.text
    return ticket["upload_id"]


@pytest.mark.parametrize("bad", BAD_UPLOADS, ids=[bad.name for bad in BAD_UPLOADS])
def test_unreadable_upload_over_http(local_stack: LocalStack, signer: SigV4Auth, bad: BadUpload) -> None:
    """GIVEN a file uploaded to S3 that the job cannot read WHEN a job names it THEN 422 at its upload id."""
    accounts = upload(local_stack, signer, "accounts", "json", None, b'[{"id":"a1","screen_name":"x"}]')
    posts = upload(local_stack, signer, bad.kind, bad.format, bad.content_encoding, bad.content)

    response = requests.post(
        f"{local_stack.base_url}/v1/similar-account-pairs",
        json={"posts_upload_id": posts, "accounts_upload_id": accounts, "hashtag": "#x"},
        auth=signer,
        timeout=60,
    )

    assert response.status_code == 422, response.text[:500]
    error = response.json()["error"]
    assert bad.message_contains.lower() in error["message"].lower(), error["message"]
    assert all(detail["loc"][:2] == ["body", "posts_upload_id"] for detail in error["details"])


def test_non_ascii_body_under_the_inline_limit_reaches_the_function(local_stack: LocalStack, signer: SigV4Auth) -> None:
    """GIVEN a 2.6 MB body, mostly non-ASCII screen names, under MAX_INLINE_BODY_BYTES WHEN sent THEN the job runs."""
    accounts = [{"id": str(i), "screen_name": "\u00e9" * 200 + str(i)} for i in range(6000)]
    body = json.dumps({"hashtag": "#x", "posts": [], "accounts": accounts}, ensure_ascii=False).encode()

    response = requests.post(
        f"{local_stack.base_url}/v1/similar-account-pairs",
        data=body,
        headers={"content-type": "application/json"},
        auth=signer,
        timeout=120,
    )

    assert response.status_code == 200, response.text[:300]
