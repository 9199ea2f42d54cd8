"""Fixtures for the job workers' unit tests: moto's in-process S3 and DynamoDB (``mock_aws``), fresh per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from sockpuppet_jobs.records import JobRecords
from sockpuppet_jobs.storage import JobStore

BUCKET = "sockpuppet-test-payloads"
TABLE = "sockpuppet-test-jobs"
OWNER = "0123456789abcdef0123456789abcdef"
REGION = "us-east-1"


@dataclass
class Aws:
    """The mocked clients, the workers' store and records, and helpers to set up a job."""

    s3: object
    dynamodb: object
    store: JobStore
    records: JobRecords

    def queue(self, job_id: str, request: dict) -> dict[str, str]:
        """Put ``request.json`` and a ``queued`` record (as the API does); the execution input."""
        key = JobStore.key(OWNER, job_id, "request.json")
        self.store.put_json(key, request)
        self.dynamodb.put_item(
            TableName=TABLE, Item={"owner": {"S": OWNER}, "job_id": {"S": job_id}, "status": {"S": "queued"}}
        )
        return {"owner": OWNER, "job_id": job_id, "request_key": key, "started_at": "2026-01-01T00:00:00.000Z"}

    def record(self, job_id: str) -> dict:
        key = {"owner": {"S": OWNER}, "job_id": {"S": job_id}}
        return self.dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]

    def set_status(self, job_id: str, status: str) -> None:
        self.dynamodb.update_item(
            TableName=TABLE,
            Key={"owner": {"S": OWNER}, "job_id": {"S": job_id}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
        )

    def names(self, job_id: str) -> set[str]:
        prefix = JobStore.prefix(OWNER, job_id)
        return {key[len(prefix) :] for key in self.store.list_keys(prefix)}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "owner", "KeyType": "HASH"}, {"AttributeName": "job_id", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "owner", "AttributeType": "S"},
                {"AttributeName": "job_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Aws(s3, dynamodb, JobStore(s3, BUCKET), JobRecords(dynamodb, TABLE))
