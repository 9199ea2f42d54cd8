"""The AWS side of jobs in moto (call inside ``mock_aws``): payload bucket, jobs table, a jobs state machine.

The table is keyed and configured like ``JobsTable`` in ``template.yaml`` (``owner`` / ``job_id``, TTL on
``expires_at``). moto's Step Functions records executions without running them (the local stack turns its
interpreter on), so a test moves a job through its statuses by writing the record as the workers would.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

REGION = "us-east-1"
BUCKET = "sockpuppet-test-payloads"
TABLE = "sockpuppet-test-jobs"
STATE_MACHINE = "sockpuppet-test-jobs"
ROLE_ARN = "arn:aws:iam::123456789012:role/sockpuppet-test-jobs"
DEFINITION = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def create_jobs_backend(*, bucket: bool = True, table: bool = True) -> dict[str, Any]:
    """Create the bucket, the table and the state machine (``bucket`` / ``table`` False: not those); their names."""
    if bucket:
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    if table:
        _create_table()
    arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=STATE_MACHINE, definition=json.dumps(DEFINITION), roleArn=ROLE_ARN
    )["stateMachineArn"]
    return {"bucket": BUCKET, "table": TABLE, "state_machine_arn": arn}


def _create_table() -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "owner", "KeyType": "HASH"}, {"AttributeName": "job_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "owner", "AttributeType": "S"},
            {"AttributeName": "job_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
