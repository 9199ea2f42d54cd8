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
from tests.corpus import CorpusCase, check_response, corpus_params, load_corpus

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
