"""``JobStore``: job records in (moto) DynamoDB, executions in (moto) Step Functions, requests in (moto) S3."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sockpuppet import InputError
from sockpuppet_api.jobs import (
    JOB_ID_PATTERN,
    JobNotFound,
    JobStore,
    JobsUnavailable,
    execution_arn,
    new_job_id,
)
from sockpuppet_api.storage import owner_hash
from tests.api.jobs_backend import BUCKET, REGION, create_jobs_backend

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
REQUEST = {"hashtag": "#x", "posts": [], "accounts": [], "min_similarity": 0.8, "max_pairs": 10}


@pytest.fixture
def backend() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield create_jobs_backend()


@pytest.fixture
def store(backend: dict[str, Any]) -> JobStore:
    return JobStore(
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        stepfunctions=boto3.client("stepfunctions", region_name=REGION),
        s3=boto3.client("s3", region_name=REGION),
        table=backend["table"],
        state_machine_arn=backend["state_machine_arn"],
        bucket=BUCKET,
        ttl_days=7,
        result_url_ttl_seconds=600,
    )


def test_job_ids_are_unguessable_and_sort_by_creation_time() -> None:
    # GIVEN ids made at increasing times (and many at the same millisecond)
    times = [0, 1, 999, 1_767_225_600_000, 1_767_225_600_001, 2**50 - 1]
    ids = [new_job_id(now_ms) for now_ms in times]
    same_ms = {new_job_id(1_767_225_600_000) for _ in range(1000)}
    # THEN they match the pattern, sort like their times, and never repeat
    assert all(re.match(JOB_ID_PATTERN, job_id) for job_id in ids)
    assert ids == sorted(ids)
    assert len(same_ms) == 1000
    assert {job_id[:10] for job_id in same_ms} == {ids[3][:10]}


def test_submit_stores_the_request_the_record_and_starts_the_execution(store: JobStore, backend: dict) -> None:
    # GIVEN a validated request WHEN submitted
    record = store.submit(ALICE, REQUEST)
    # THEN the record is queued, expires in 7 days and names the request and the execution
    assert record.status == "queued"
    assert record.created_at == record.updated_at
    assert abs(record.expires_at - (time.time() + 7 * 86400)) < 5
    assert record.request_key == f"jobs/{owner_hash(ALICE)}/{record.job_id}/request.json"
    # AND request.json holds the request
    s3 = boto3.client("s3", region_name=REGION)
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=record.request_key)["Body"].read()) == REQUEST
    # AND the execution is named after the job and gets only S3 pointers
    sfn = boto3.client("stepfunctions", region_name=REGION)
    execution = sfn.describe_execution(executionArn=record.execution_arn)
    assert record.execution_arn == execution_arn(backend["state_machine_arn"], record.job_id)
    assert execution["name"] == record.job_id
    assert json.loads(execution["input"]) == {
        "job_id": record.job_id,
        "owner": owner_hash(ALICE),
        "request_key": record.request_key,
    }
    # AND reading it back gives the same record
    assert store.get(ALICE, record.job_id) == record


def test_another_callers_unknown_malformed_and_expired_jobs_are_not_found(store: JobStore, backend: dict) -> None:
    # GIVEN alice's job, and one of hers whose expiry has passed (DynamoDB's TTL sweep has not run yet)
    record = store.submit(ALICE, REQUEST)
    expired = store.submit(ALICE, REQUEST)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.update_item(
        TableName=backend["table"],
        Key={"owner": {"S": owner_hash(ALICE)}, "job_id": {"S": expired.job_id}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    # THEN bob cannot see alice's job, and unknown, malformed and expired ids are not found
    for owner, job_id in [
        (BOB, record.job_id),
        (ALICE, new_job_id()),
        (ALICE, "../" + record.job_id),
        (ALICE, record.job_id.upper()),
        (ALICE, expired.job_id),
    ]:
        with pytest.raises(JobNotFound):
            store.get(owner, job_id)
        with pytest.raises(JobNotFound):
            store.cancel(owner, job_id)
    # AND the expired one is not listed
    listed, _ = store.page(ALICE, limit=10)
    assert [job.job_id for job in listed] == [record.job_id]


def test_page_lists_the_callers_jobs_newest_first_across_pages(store: JobStore) -> None:
    # GIVEN 5 jobs of alice and 2 of bob
    alices = [store.submit(ALICE, REQUEST).job_id for _ in range(5)]
    bobs = [store.submit(BOB, REQUEST).job_id for _ in range(2)]
    # WHEN alice pages through hers 2 at a time
    seen, token, pages = [], None, 0
    while True:
        records, token = store.page(ALICE, limit=2, next_token=token)
        seen += [record.job_id for record in records]
        pages += 1
        if token is None:
            break
    # THEN every job of hers exactly once, newest first, none of bob's
    assert seen == sorted(alices, reverse=True)
    assert pages >= 3
    assert store.page(BOB, limit=10)[0][0].job_id == max(bobs)


@pytest.mark.parametrize("token", ["x", "", "eyJhZnRlciI6IDF9", "eyJhZnRlciI6Ii4uLyJ9", "%%%"])
def test_a_forged_next_token_is_an_input_error(store: JobStore, token: str) -> None:
    # GIVEN tokens that are not base64 JSON {"after": <job id>} WHEN used THEN an InputError at the query parameter
    with pytest.raises(InputError) as raised:
        store.page(ALICE, limit=2, next_token=token)
    assert raised.value.details[0]["loc"] == ["query", "next_token"]


def test_cancel_stops_the_execution_and_is_idempotent(store: JobStore) -> None:
    # GIVEN a queued job WHEN cancelled twice
    record = store.submit(ALICE, REQUEST)
    first = store.cancel(ALICE, record.job_id)
    second = store.cancel(ALICE, record.job_id)
    # THEN it is cancelled both times and its execution is stopped
    assert first.status == second.status == "cancelled"
    assert store.get(ALICE, record.job_id).status == "cancelled"
    sfn = boto3.client("stepfunctions", region_name=REGION)
    assert sfn.describe_execution(executionArn=record.execution_arn)["status"] == "ABORTED"


@pytest.mark.parametrize("final", ["succeeded", "failed"])
def test_cancel_leaves_a_finished_job_as_it_is(store: JobStore, backend: dict, final: str) -> None:
    # GIVEN a job the workers finished
    record = store.submit(ALICE, REQUEST)
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=backend["table"],
        Key={"owner": {"S": owner_hash(ALICE)}, "job_id": {"S": record.job_id}},
        UpdateExpression="SET #s = :final",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":final": {"S": final}},
    )
    # WHEN cancelled THEN it stays finished
    assert store.cancel(ALICE, record.job_id).status == final


def test_submit_removes_the_record_when_the_execution_cannot_start(store: JobStore, backend: dict) -> None:
    # GIVEN a store whose state machine does not exist (Step Functions answers StateMachineDoesNotExist)
    broken = JobStore(
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        stepfunctions=boto3.client("stepfunctions", region_name=REGION),
        s3=boto3.client("s3", region_name=REGION),
        table=backend["table"],
        state_machine_arn=backend["state_machine_arn"] + "-gone",
        bucket=BUCKET,
        ttl_days=7,
        result_url_ttl_seconds=600,
    )
    # WHEN a job is submitted THEN the error surfaces and no job is left queued forever
    with pytest.raises(Exception) as raised:
        broken.submit(ALICE, REQUEST)
    assert not isinstance(raised.value, JobsUnavailable)
    assert store.page(ALICE, limit=10)[0] == []


def test_unreachable_backend_is_unavailable() -> None:
    # GIVEN a store whose DynamoDB endpoint refuses connections (outside moto)
    from botocore.config import Config

    dynamodb = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    store = JobStore(
        dynamodb=dynamodb,
        stepfunctions=dynamodb,
        s3=dynamodb,
        table="t",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:m",
        bucket=BUCKET,
        ttl_days=1,
        result_url_ttl_seconds=60,
    )
    # WHEN a job is read THEN JobsUnavailable (a 503 with Retry-After at the API)
    with pytest.raises(JobsUnavailable):
        store.get(ALICE, new_job_id())
