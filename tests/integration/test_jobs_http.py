"""The job routes over real HTTP on the local stack, through ``sockpuppet_client``: ``POST /v1/jobs`` ->
``queued`` -> ``running`` -> ``succeeded`` with the synchronous document as result, idempotent resubmission,
cancellation, a failed job's error, and 404 for another caller's or an unknown job.

The function runs in RIE behind the local front; moto's Step Functions interpreter runs the state machine; the
workers run in their own RIE processes (``JOB_SHARD_MAX_NAMES`` = 8, ``conftest``).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import requests

from sockpuppet_client import Client, JobCancelled, JobFailed, SigV4Auth, SockpuppetError
from sockpuppet_local.stack import LocalStack
from tests.integration.conftest import JOB_SHARD_MAX_NAMES
from tests.integration.test_job_workflow import HASHTAG, SEARCH, records

pytestmark = pytest.mark.integration

WAIT_SECONDS = 120


@pytest.fixture
def alice(local_stack: LocalStack, signer: SigV4Auth) -> Iterator[Client]:
    with Client(local_stack.base_url, auth=signer) as client:
        yield client


@pytest.fixture
def bob(local_stack: LocalStack, other_signer: SigV4Auth) -> Iterator[Client]:
    with Client(local_stack.base_url, auth=other_signer) as client:
        yield client


def sync_document(local_stack: LocalStack, signer: SigV4Auth, body: dict) -> bytes:
    """The raw 200 body of the synchronous route for ``body`` (inline delivery)."""
    response = requests.post(
        f"{local_stack.base_url}/v1/similar-account-pairs",
        data=orjson.dumps({**body, "result_delivery": "inline"}),
        headers={"Content-Type": "application/json"},
        auth=signer,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.content


def test_job_over_http_goes_queued_running_succeeded_with_the_sync_document(
    local_stack: LocalStack, signer: SigV4Auth, alice: Client
) -> None:
    # GIVEN records that fan out over several shards, and the search workers held like slow workers
    posts, accounts = records(3 * JOB_SHARD_MAX_NAMES, seed=11)
    release = local_stack.faults.hold(SEARCH, lambda event: True)
    try:
        # WHEN the job is submitted over HTTP
        job = alice.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG, min_similarity=0.7)
        first = job.status()
        # THEN it is queued (or already running), then running with its shards known and none done
        assert first["status"] in ("queued", "running")
        deadline = time.monotonic() + WAIT_SECONDS
        while (document := job.status())["progress"]["phase"] != "searching":
            assert time.monotonic() < deadline, document
            time.sleep(0.1)
        assert document["status"] == "running"
        assert document["progress"]["shards_total"] > 1
        assert document["result_url"] is None and document["error"] is None
    finally:
        release.set()
    # AND once the workers go on it succeeds; its result is the synchronous route's document, byte for byte
    final = job.wait(timeout=WAIT_SECONDS, progress=False)
    assert final["status"] == "succeeded"
    assert final["progress"]["shards_done"] == final["progress"]["shards_total"]
    raw = requests.get(final["result_url"], timeout=30).content
    expected = sync_document(
        local_stack, signer, {"posts": posts, "accounts": accounts, "hashtag": HASHTAG, "min_similarity": 0.7}
    )
    assert (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw) == expected
    result = job.result()
    assert result["similar_account_pairs"] == orjson.loads(expected)["similar_account_pairs"]
    assert final["pair_count"] == result["pair_count"] > 0
    # AND the job is listed, newest first
    assert next(iter(alice.jobs()))["job_id"] == job.job_id


def test_resubmission_with_the_same_idempotency_key_gets_the_same_job(alice: Client, bob: Client) -> None:
    # GIVEN a job submitted with an Idempotency-Key
    posts, accounts = records(6, seed=12)
    first = alice.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG, idempotency_key="http-key-1")
    # WHEN the same caller sends it again with the same key (and bob with the same key)
    again = alice.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG, idempotency_key="http-key-1")
    bobs = bob.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG, idempotency_key="http-key-1")
    # THEN alice gets the same job, bob his own; both finish
    assert again.job_id == first.job_id
    assert bobs.job_id != first.job_id
    assert first.wait(timeout=WAIT_SECONDS, progress=False)["status"] == "succeeded"
    assert bobs.wait(timeout=WAIT_SECONDS, progress=False)["status"] == "succeeded"
    # AND the same key with another body is refused
    with pytest.raises(SockpuppetError) as refused:
        alice.submit_job(posts=posts, accounts=accounts, hashtag="#other", idempotency_key="http-key-1")
    assert (refused.value.status, refused.value.code) == (422, "idempotency_key_reused")


def test_another_callers_job_and_an_unknown_job_are_404(alice: Client, bob: Client) -> None:
    # GIVEN alice's job
    posts, accounts = records(4, seed=13)
    job = alice.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG)
    unknown = alice.job(job.job_id[:10] + "0" * 26)
    # WHEN bob reads or cancels it, or alice reads an id that does not exist
    for attempt in (bob.job(job.job_id).status, bob.job(job.job_id).cancel, unknown.status):
        with pytest.raises(SockpuppetError) as missing:
            attempt()
        # THEN 404 job_not_found, every time
        assert (missing.value.status, missing.value.code) == (404, "job_not_found")
    # AND alice's job was not touched
    assert job.wait(timeout=WAIT_SECONDS, progress=False)["status"] == "succeeded"
    assert job.job_id not in {summary["job_id"] for summary in bob.jobs()}


def test_cancel_over_http_stops_the_job(local_stack: LocalStack, alice: Client) -> None:
    # GIVEN a job held in its search
    posts, accounts = records(JOB_SHARD_MAX_NAMES - 2, seed=14)
    release = local_stack.faults.hold(SEARCH, lambda event: True)
    try:
        job = alice.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG)
        deadline = time.monotonic() + WAIT_SECONDS
        while job.status()["progress"]["phase"] != "searching":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # WHEN it is cancelled (twice: idempotent)
        assert job.cancel()["status"] == "cancelled"
        assert job.cancel()["status"] == "cancelled"
    finally:
        release.set()
    # THEN it stays cancelled, with no result, and result() says so
    time.sleep(1)
    document = job.status()
    assert document["status"] == "cancelled" and document["result_url"] is None
    with pytest.raises(JobCancelled):
        job.result()


def test_a_malformed_upload_fails_the_job_with_its_line(alice: Client, tmp_path: Path) -> None:
    # GIVEN accounts uploaded as TSV whose line 3 has a field too many (the upload itself is accepted)
    posts, _ = records(2, seed=15)
    path = tmp_path / "accounts.tsv"
    path.write_text("id\tcreated_at\tscreen_name\na0\t2020-01-01\tanna\na1\t2020-01-01\tanne\textra\n")
    upload = alice.upload(path, kind="accounts")
    # WHEN a job reads it
    job = alice.submit_job(posts=posts, accounts=upload, hashtag=HASHTAG)
    # THEN the job fails with the synchronous route's error object, located at the upload's line 3
    with pytest.raises(JobFailed) as failed:
        job.result(timeout=WAIT_SECONDS, progress=False)
    assert failed.value.code == "validation_error"
    assert failed.value.details[0]["loc"][:4] == ["body", "accounts_upload_id", "line", 3]
    assert failed.value.job["status"] == "failed"
