"""The client's jobs against the real function: ``sockpuppet_local``'s HTTP front (SigV4 caller identity, API
Gateway events and proxy results) calling ``lambda_handler`` in this process, on moto (S3, DynamoDB, Step
Functions). moto records executions without running them, so the test plays the workers' part: it reads the job's
``request.json``, runs the library and stores the result and the record as the merge step does.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import orjson
import pytest

from sockpuppet import find_similar_accounts, read_accounts, read_posts
from sockpuppet_api.storage import owner_hash
from sockpuppet_client import Client, SockpuppetError, SyncTimeout
from sockpuppet_local.front import FrontServer, RiePool, caller_identity
from sockpuppet_local.rie import InvokeResult
from tests.api.conftest import TEST_ENV, FakeLambdaContext, api, api_env, s3  # noqa: F401 (fixtures)
from tests.api.jobs_backend import REGION, TABLE

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
HASHTAG = "#diedsuddenly"


@dataclass
class InProcessFunction:
    """Stands where an RIE process stands in the local front's pool: invokes ``lambda_handler`` in this process."""

    module: ModuleType
    remaining_ms: int = 29_000

    def invoke(self, payload: bytes) -> InvokeResult:
        result = self.module.lambda_handler(json.loads(payload), FakeLambdaContext(remaining_ms=self.remaining_ms))
        return InvokeResult(payload=orjson.dumps(result), function_error=False)


@pytest.fixture
def function(api: ModuleType, s3: Any) -> InProcessFunction:  # noqa: F811 (fixtures imported from tests.api)
    return InProcessFunction(api)


@pytest.fixture
def front(function: InProcessFunction) -> Iterator[str]:
    server = FrontServer(RiePool([function]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(front: str) -> Iterator[Client]:
    with Client(front, auth=("AKIDALICE", "secret"), region=REGION, max_retries=0) as client:
        yield client


def inputs() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    posts = read_posts(SAMPLE / "posts.tsv")[:3000]
    authors = {post["author_id"] for post in posts}
    return posts, [account for account in read_accounts(SAMPLE / "accounts.tsv") if account["id"] in authors]


def run_as_worker(job_id: str, access_key: str = "AKIDALICE") -> bytes:
    """Do what the workers do for a job of inline records: the library on request.json, result.json, succeeded."""
    owner = owner_hash(caller_identity(access_key)["userArn"])
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    s3_client = boto3.client("s3", region_name=REGION)
    key = {"owner": {"S": owner}, "job_id": {"S": job_id}}
    item = dynamodb.get_item(TableName=TABLE, Key=key)["Item"]
    request = json.loads(
        s3_client.get_object(Bucket=TEST_ENV["PAYLOAD_BUCKET"], Key=item["request_key"]["S"])["Body"].read()
    )
    result = find_similar_accounts(
        request["posts"],
        request["accounts"],
        hashtag=request["hashtag"],
        min_similarity=request["min_similarity"],
        hashtag_match=request["hashtag_match"],
        max_pairs=request["max_pairs"],
    )
    document = orjson.dumps(result.to_dict())
    result_key = f"jobs/{owner}/{job_id}/result.json"
    s3_client.put_object(
        Bucket=TEST_ENV["PAYLOAD_BUCKET"], Key=result_key, Body=gzip.compress(document), ContentEncoding="gzip"
    )
    dynamodb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET #s = :s, result_key = :k, pair_count = :n",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":s": {"S": "succeeded"},
            ":k": {"S": result_key},
            ":n": {"N": str(result.pair_count)},
        },
    )
    return document


def test_submit_wait_result_against_the_function(client: Client) -> None:
    # GIVEN a job of sample records submitted through the front to the real function
    posts, accounts = inputs()
    job = client.submit_job(posts=posts, accounts=accounts, hashtag=HASHTAG)
    # THEN it is queued (the execution started, nothing ran yet)
    assert job.status()["status"] == "queued"
    # WHEN the workers have done their part
    document = run_as_worker(job.job_id)
    # THEN wait() sees it succeeded and result() follows the presigned URL to the synchronous document
    assert job.wait(timeout=10, poll_interval=0.01, progress=False)["status"] == "succeeded"
    result = job.result()
    assert {k: v for k, v in result.items() if not k.startswith("result_")} == {
        k: v for k, v in orjson.loads(document).items() if not k.startswith("result_")
    }
    sync = client.similar_account_pairs(posts=posts, accounts=accounts, hashtag=HASHTAG)
    assert result["similar_account_pairs"] == sync["similar_account_pairs"]
    assert result["pair_count"] == sync["pair_count"] > 0
    # AND the job is listed; another caller cannot see it
    assert [summary["job_id"] for summary in client.jobs()] == [job.job_id]
    with Client(client.base_url, auth=("AKIDBOB", "secret"), region=REGION) as bob:
        with pytest.raises(SockpuppetError) as missing:
            bob.job(job.job_id).status()
        assert missing.value.status == 404
        assert list(bob.jobs()) == []


def test_a_sync_504_switches_to_a_job_with_the_same_request(client: Client, function: InProcessFunction) -> None:
    # GIVEN a function whose synchronous route has no time left (it answers 504 deadline_exceeded)
    function.remaining_ms = int(TEST_ENV["DEADLINE_MARGIN_MS"]) - 1
    posts, accounts = inputs()
    # WHEN the pairs are asked for THEN SyncTimeout, whose message points at the job route
    with pytest.raises(SyncTimeout) as timeout:
        client.similar_account_pairs(posts=posts, accounts=accounts, hashtag=HASHTAG, max_pairs=3)
    assert timeout.value.code == "deadline_exceeded"
    assert "/v1/jobs" in timeout.value.message
    # AND submit_job() queues the same request as a job, which the function accepted as the sync body
    job = timeout.value.submit_job()
    assert job.status()["status"] == "queued"
    document = orjson.loads(run_as_worker(job.job_id))
    assert document["pair_count"] > 3 and len(document["similar_account_pairs"]) == 3
    assert job.result()["similar_account_pairs"] == document["similar_account_pairs"]
