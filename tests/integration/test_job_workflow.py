"""The job state machine end to end on the local stack: moto's Step Functions interpreter runs
``statemachine/jobs.asl.json``; its Lambda tasks run the real workers in RIE processes.

Jobs are submitted over HTTP (``POST /v1/jobs`` through ``sockpuppet_client``; the routes' own tests are in
``test_jobs_http.py``), except the coordination-signals job, which the API does not take yet: it is started the way
the API starts a job (``request.json``, a ``queued`` record, ``StartExecution``). The session's stack runs with
``JOB_SHARD_MAX_NAMES`` = 8 (``conftest``), so a few dozen matched accounts fan out over a Distributed Map. Faults
are real: the local Lambda router kills the runtime of a worker RIE during a chosen invocation (what the Lambda service
does to a runtime out of memory; the RIE answers ``Runtime.ExitError``), or holds it like a slow worker.
"""

from __future__ import annotations

import gzip
import json
import random
import secrets
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from sockpuppet import find_similar_accounts
from sockpuppet_api.storage import owner_hash
from sockpuppet_client import Client, JobFailed, SigV4Auth
from sockpuppet_local.front import caller_identity
from sockpuppet_local.stack import LocalStack
from sockpuppet_local.stepfunctions import WORKER_FUNCTIONS
from tests.integration.conftest import JOB_SHARD_MAX_NAMES
from tests.reference import get_hashtag_accounts, get_similar_screen_names

pytestmark = pytest.mark.integration

SEARCH = next(function.name for function in WORKER_FUNCTIONS if function.handler.endswith(".search_handler"))
OWNER = "0123456789abcdef0123456789abcdef"
WAIT_SECONDS = 120
ALICE = "AKIDLOCALALICE"
"""The access key of ``conftest.signer``: the local front makes it the caller ``arn:aws:iam::000000000000:user/...``."""
HASHTAG = "#diedsuddenly"


def records(count: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` accounts with near-identical names in several lengths (so that shards overlap in length), each
    posting the hashtag, plus a repost and an author without an account record."""
    rng = random.Random(seed)
    stems = ["anna_smith", "jo_brown", "patriot1776", "truth_seeker", "mike"]
    accounts = []
    for index in range(count):
        name = list(rng.choice(stems) + str(rng.randrange(10)))
        for _ in range(rng.randrange(2)):
            name[rng.randrange(len(name))] = rng.choice("abcxyz019_")
        accounts.append({"id": f"a{index}", "created_at": None, "screen_name": "".join(name)})
    posts = [{"author_id": a["id"], "is_repost": False, "hashtags": [HASHTAG]} for a in accounts]
    posts += [
        {"author_id": "a0", "is_repost": True, "hashtags": ["#other"]},
        {"author_id": "ghost", "is_repost": False, "hashtags": [HASHTAG]},
    ]
    return posts, accounts


class DirectJob:
    """One job started straight on the state machine, as the API's POST /v1/jobs does."""

    def __init__(self, stack: LocalStack, request: dict[str, Any]) -> None:
        self.stack = stack
        self.s3 = stack.s3_client()
        self.dynamodb = stack.client("dynamodb")
        self.sfn = stack.client("stepfunctions")
        self.job_id = f"{int(time.time() * 1000):013d}{secrets.token_hex(16)}"
        self.prefix = f"jobs/{OWNER}/{self.job_id}/"
        request_key = self.prefix + "request.json"
        self.s3.put_object(Bucket=stack.bucket, Key=request_key, Body=orjson.dumps(request))
        self.dynamodb.put_item(
            TableName=stack.jobs_table,
            Item={"owner": {"S": OWNER}, "job_id": {"S": self.job_id}, "status": {"S": "queued"}},
        )
        execution = {"job_id": self.job_id, "owner": OWNER, "request_key": request_key}
        self.execution_arn = self.sfn.start_execution(
            stateMachineArn=stack.state_machine_arn, name=self.job_id, input=json.dumps(execution)
        )["executionArn"]

    def record(self) -> dict[str, Any]:
        key = {"owner": {"S": OWNER}, "job_id": {"S": self.job_id}}
        item = self.dynamodb.get_item(TableName=self.stack.jobs_table, Key=key, ConsistentRead=True)["Item"]
        return _plain(item)

    def wait(self) -> str:
        """Wait for the execution to end; its status."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            status = self.sfn.describe_execution(executionArn=self.execution_arn)["status"]
            if status != "RUNNING":
                return status
            time.sleep(0.2)
        raise AssertionError(f"job {self.job_id} still running after {WAIT_SECONDS} s")

    def result(self) -> bytes:
        obj = self.s3.get_object(Bucket=self.stack.bucket, Key=self.record()["result_key"])
        assert obj["ContentEncoding"] == "gzip"
        return gzip.decompress(obj["Body"].read())


def _plain(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute map as plain Python values."""
    out = {}
    for name, attribute in value.items():
        [(kind, inner)] = attribute.items()
        if kind == "M":
            out[name] = _plain(inner)
        elif kind == "N":
            out[name] = int(inner) if inner.lstrip("-").isdigit() else float(inner)
        elif kind == "L":
            out[name] = [_plain({"v": item})["v"] for item in inner]
        elif kind == "NULL":
            out[name] = None
        else:
            out[name] = inner
    return out


def sync_document(stack: LocalStack, signer: SigV4Auth, body: dict[str, Any]) -> bytes:
    """The synchronous route's 200 body for ``body`` (inline)."""
    response = requests.post(
        f"{stack.base_url}/v1/similar-account-pairs",
        data=json.dumps({**body, "result_delivery": "inline"}),
        headers={"Content-Type": "application/json"},
        auth=signer,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.content


@pytest.fixture
def alice(local_stack: LocalStack, signer: SigV4Auth) -> Iterator[Client]:
    with Client(local_stack.base_url, auth=signer) as client:
        yield client


def job_objects(local_stack: LocalStack, job_id: str) -> set[str]:
    """Names of the objects under ``jobs/{owner}/{job_id}/`` of alice's job (the owner key of the API)."""
    prefix = f"jobs/{owner_hash(caller_identity(ALICE)['userArn'])}/{job_id}/"
    listing = local_stack.s3_client().list_objects_v2(Bucket=local_stack.bucket, Prefix=prefix)
    return {item["Key"][len(prefix) :] for item in listing.get("Contents", ())}


def result_bytes(document: dict[str, Any]) -> bytes:
    raw = requests.get(document["result_url"], timeout=30).content
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def test_fan_out_over_many_shards_equals_the_sync_route_and_the_reference(
    local_stack: LocalStack, signer: SigV4Auth, alice: Client
) -> None:
    # GIVEN a job with several times JOB_SHARD_MAX_NAMES matched accounts
    posts, accounts = records(6 * JOB_SHARD_MAX_NAMES, seed=2)
    request = {"posts": posts, "accounts": accounts, "hashtag": HASHTAG, "min_similarity": 0.75}
    # WHEN it is submitted over HTTP and runs to the end
    final = alice.submit_job(**request).wait(timeout=WAIT_SECONDS, progress=False)
    # THEN it fanned out over at least 8 shards, all of them done
    assert final["status"] == "succeeded"
    assert final["progress"]["shards_total"] >= 8
    assert final["progress"]["shards_done"] == final["progress"]["shards_total"]
    # AND its result is byte for byte the synchronous document, whose pairs are the library's and the reference's
    document = result_bytes(final)
    assert document == sync_document(local_stack, signer, request)
    pairs = [tuple(pair) for pair in orjson.loads(document)["similar_account_pairs"]]
    library = find_similar_accounts(posts, accounts, hashtag=HASHTAG, min_similarity=0.75)
    assert pairs == library.similar_account_pairs
    posters = set(get_hashtag_accounts(posts, HASHTAG))
    assert pairs == get_similar_screen_names([a for a in accounts if a["id"] in posters], 0.75)
    assert len(pairs) > 20


def test_a_shard_that_fails_once_is_retried_and_the_job_succeeds(local_stack: LocalStack, alice: Client) -> None:
    # GIVEN a fanned-out job whose shard 2 crashes once (its worker's runtime is killed mid-invocation)
    posts, accounts = records(4 * JOB_SHARD_MAX_NAMES, seed=5)
    before = local_stack.faults.hits(SEARCH)
    local_stack.faults.add(SEARCH, lambda event: event.get("index") == 2, times=1)
    # WHEN it runs
    final = alice.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG, min_similarity=0.7).wait(
        timeout=WAIT_SECONDS, progress=False
    )
    # THEN the crash happened, the state machine retried the shard, and the job's result is still exact
    assert final["status"] == "succeeded"
    assert local_stack.faults.hits(SEARCH) == before + 1
    assert final["progress"]["shards_total"] > 2
    library = find_similar_accounts(posts, accounts, hashtag=HASHTAG, min_similarity=0.7, max_pairs=1000000)
    assert result_bytes(final) == orjson.dumps(library.to_dict())


def test_a_shard_that_fails_for_good_fails_the_job_cleanly(local_stack: LocalStack, alice: Client) -> None:
    # GIVEN a fanned-out job whose shard 1 crashes on every attempt (its runtime killed each time)
    posts, accounts = records(4 * JOB_SHARD_MAX_NAMES, seed=6)
    before = local_stack.faults.hits(SEARCH)
    local_stack.faults.add(SEARCH, lambda event: event.get("index") == 1, times=None)
    try:
        # WHEN it runs
        job = alice.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG)
        with pytest.raises(JobFailed) as failed:
            job.result(timeout=WAIT_SECONDS, progress=False)
        crashes = local_stack.faults.hits(SEARCH) - before
    finally:
        local_stack.faults.clear()
    # THEN the shard was tried and retried, and the job failed with an internal error (no internals shown)
    assert crashes >= 2
    document = job.status()
    assert document["status"] == "failed"
    assert failed.value.code == document["error"]["code"] == "internal_error"
    assert "Traceback" not in json.dumps(document["error"])
    assert document["result_url"] is None and document["pair_count"] is None
    # AND nothing of the job is left but its request: no result, no partial shard outputs
    assert job_objects(local_stack, job.job_id) == {"request.json"}


def test_job_with_coordination_signals_equals_the_library(local_stack: LocalStack) -> None:
    # GIVEN a fanned-out job asking for every coordination signal, on records with creation times
    posts, accounts = records(3 * JOB_SHARD_MAX_NAMES, seed=7)
    for index, account in enumerate(accounts):
        account["created_at"] = f"2020-01-01T00:{index % 4:02d}:00Z"
    for index, post in enumerate(posts):
        post["created_at"] = f"2021-06-01T12:00:{index % 7:02d}Z"
        post["hashtags"] = [*post["hashtags"], "#covid19"] if index % 2 else post["hashtags"]
    signals = {"co_hashtag": {}, "creation_bursts": {}, "clusters": True}
    # WHEN it runs
    job = DirectJob(local_stack, {"posts": posts, "accounts": accounts, "hashtag": HASHTAG, "signals": signals})
    assert job.wait() == "SUCCEEDED"
    # THEN its document is the library's, signals included
    library = find_similar_accounts(posts, accounts, hashtag=HASHTAG, max_pairs=1000000, signals=signals)
    document = job.result()
    assert document == orjson.dumps(library.to_dict())
    assert {"co_hashtag_pairs", "creation_bursts", "clusters"} <= set(orjson.loads(document))
    assert job.record()["progress"]["shards_total"] > 1
