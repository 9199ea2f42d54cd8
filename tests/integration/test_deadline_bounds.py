"""Bounds in seconds of the synchronous path: a hung S3 costs at most the time budget, and a million-pair result
through the local stack answers 200 or the contract's 504 within the function timeout, never a platform error.

These are the only tests that read the wall clock; each bound is the design's (deadline + the S3 grace) with
slack for a busy machine, far below what the unbounded behaviour would take (a hung socket never returns).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from sockpuppet_api.storage import ATTEMPT_SECONDS, PayloadStore, StorageUnavailable, make_s3_client
from sockpuppet_client.auth import SigV4Auth
from sockpuppet_local.stack import FUNCTION_TIMEOUT_SECONDS, LocalStack

PAIRS = "/v1/similar-account-pairs"
GRACE_SECONDS = 1.5
SLACK_SECONDS = 1.0
"""A busy 2-core machine: scheduling and botocore's own work on top of the socket timeouts."""


@pytest.fixture
def hung_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An endpoint that accepts connections and never answers (what a stuck S3 front end looks like)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for name, value in {
        "AWS_ENDPOINT_URL_S3": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield url
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.mark.parametrize("seconds", [3.0, 8.0])
def test_a_hung_s3_ends_within_the_time_budget(hung_s3: str, seconds: float) -> None:
    # GIVEN S3 that accepts and never answers, and a result write whose deadline is `seconds` away
    store = PayloadStore(
        make_s3_client,
        "bucket",
        upload_ttl_seconds=900,
        result_ttl_seconds=900,
        max_upload_bytes=1000,
        s3_grace_seconds=GRACE_SECONDS,
    )
    started = time.monotonic()
    deadline = started + seconds
    # WHEN the result is written THEN an S3 fault (503 + Retry-After for the caller) ...
    with pytest.raises(StorageUnavailable):
        store.put_result("owner", b'{"similar_account_pairs": []}', deadline=deadline)
    # ... before the deadline + the grace: attempts start only while their worst case fits
    elapsed = time.monotonic() - started
    assert ATTEMPT_SECONDS <= elapsed <= seconds + GRACE_SECONDS + SLACK_SECONDS


def test_a_million_pair_result_answers_within_the_function_timeout(local_stack: LocalStack, signer: SigV4Auth) -> None:
    # GIVEN 1415 accounts with similar names at threshold 0: 999,655 pairs (MAX_PAIRS is 1,000,000)
    accounts = [{"id": str(7_000_000_000 + i), "screen_name": f"user_{i:04d}"} for i in range(1415)]
    posts = [{"author_id": a["id"], "is_repost": False, "hashtags": ["#diedsuddenly"]} for a in accounts]
    body = {"posts": posts, "accounts": accounts, "hashtag": "diedsuddenly", "min_similarity": 0.0}
    started = time.monotonic()
    # WHEN posted
    response = requests.post(f"{local_stack.base_url}{PAIRS}", json=body, auth=signer, timeout=60)
    elapsed = time.monotonic() - started
    # THEN 200 with the result at a URL, or the contract's 504 - never the platform's timeout - within the timeout
    assert response.status_code in (200, 504), response.text[:300]
    assert elapsed < FUNCTION_TIMEOUT_SECONDS
    document = response.json()
    if response.status_code == 200:
        assert document["pair_count"] == 1415 * 1414 // 2
        assert document["similar_account_pairs"] is None and document["result_url"]
    else:
        assert document["error"]["code"] == "deadline_exceeded" and "POST /v1/jobs" in document["error"]["message"]
    # AND the next request is served normally
    assert requests.get(f"{local_stack.base_url}/health", timeout=30).json() == {"status": "ok"}
