"""Asynchronous jobs: their records in DynamoDB and their executions in Step Functions (``docs/api.md``).

A job is one item of the jobs table, keyed by the caller (``owner``: :func:`~sockpuppet_api.storage.owner_hash` of
the IAM identity, as for uploads) and the job id, plus one Standard execution of the jobs state machine named after
the job. The API creates the item ``queued``, writes the validated request to
``jobs/{owner}/{job_id}/request.json`` and starts the execution with ``{"job_id", "owner", "request_key"}``; the
workers move it to ``running`` and ``succeeded`` / ``failed`` (with conditional writes that never leave
``cancelled``); ``DELETE`` marks it ``cancelled`` and stops the execution.

Job ids sort by creation time: 10 Crockford base32 digits of the creation time in milliseconds, then 26 digits of
130 random bits (unguessable). Querying the caller's partition backwards therefore lists the newest jobs first.
A job is gone once ``expires_at`` (the table's TTL attribute, epoch seconds) has passed, even before DynamoDB's TTL
sweep deletes the item.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import orjson
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from sockpuppet.errors import InputError
from sockpuppet_api.storage import StorageUnavailable, owner_hash

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = [
    "ACTIVE_STATUSES",
    "JOB_ID_PATTERN",
    "JobNotFound",
    "JobRecord",
    "JobStore",
    "JobsUnavailable",
    "execution_arn",
    "new_job_id",
]

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ACTIVE_STATUSES = ("queued", "running")
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
"""Crockford's base32 digits, lower case: their ASCII order is their value order, so ids sort like their numbers."""
TIME_DIGITS = 10  # 50 bits of milliseconds: until the year 37648
RANDOM_DIGITS = 26  # 130 random bits
JOB_ID_PATTERN = rf"^[{CROCKFORD}]{{{TIME_DIGITS + RANDOM_DIGITS}}}$"
_JOB_ID = re.compile(JOB_ID_PATTERN)
_UNAVAILABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class JobNotFound(LookupError):
    """No such job for this caller: unknown, another caller's, or expired."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


class JobsUnavailable(StorageUnavailable):
    """DynamoDB or Step Functions is throttling or unreachable (answered like S3's: 503 with ``Retry-After``)."""


def _base32(value: int, digits: int) -> str:
    return "".join(CROCKFORD[(value >> (5 * shift)) & 31] for shift in reversed(range(digits)))


def new_job_id(now_ms: int | None = None) -> str:
    """A fresh job id: creation time (ms, 10 base32 digits) then 130 random bits (26 digits).

    Parameters
    ----------
    now_ms
        Creation time in epoch milliseconds (default: now).

    Returns
    -------
    str
        36 characters of ``0-9a-z`` (Crockford's alphabet); later ids sort after earlier ones.
    """
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return _base32(now_ms, TIME_DIGITS) + _base32(secrets.randbits(5 * RANDOM_DIGITS), RANDOM_DIGITS)


def _id_floor(epoch_ms: int) -> str:
    """The smallest job id created at or after ``epoch_ms``."""
    return _base32(max(epoch_ms, 0), TIME_DIGITS) + CROCKFORD[0] * RANDOM_DIGITS


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution ``name`` of a state machine (documented ARN format)."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def iso(moment: datetime) -> str:
    """ISO 8601 UTC to the second, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job as stored (see the module docstring); ``progress`` and ``error`` as the workers wrote them."""

    job_id: str
    status: JobStatus
    created_at: str
    updated_at: str
    expires_at: int
    progress: dict[str, Any] | None = None
    result_key: str | None = None
    pair_count: int | None = None
    error: dict[str, Any] | None = None
    execution_arn: str | None = None
    request_key: str | None = None


def _plain(value: Any) -> Any:
    """DynamoDB numbers (``Decimal``) as ints (every number of a job record is integral)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if type(value).__name__ == "Decimal":
        return int(value)
    return value


def _translate(exc: Exception) -> Exception:
    """Throttling, 5xx and network faults -> :class:`JobsUnavailable`; anything else stays as it is (a 500)."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _UNAVAILABLE_CODES or status >= 500:
            return JobsUnavailable(f"{exc.operation_name}: {code or status}")
        return exc
    if isinstance(exc, ConnectionError | HTTPClientError):
        return JobsUnavailable(f"jobs backend unreachable: {type(exc).__name__}")
    return exc


class JobStore:
    """The caller's jobs: create, read, list, cancel.

    Parameters
    ----------
    dynamodb
        A DynamoDB client (botocore).
    stepfunctions
        A Step Functions client (botocore).
    s3
        An S3 client (for ``request.json``).
    table
        The jobs table (``JOBS_TABLE``).
    state_machine_arn
        The jobs state machine (``JOBS_STATE_MACHINE_ARN``).
    bucket
        The payload bucket.
    ttl_days
        Days a job (record and files) lives (``JOB_TTL_DAYS``).
    result_url_ttl_seconds
        Lifetime of presigned result URLs (``RESULT_URL_TTL_SECONDS``).
    """

    def __init__(
        self,
        *,
        dynamodb: BaseClient,
        stepfunctions: BaseClient,
        s3: BaseClient,
        table: str,
        state_machine_arn: str,
        bucket: str,
        ttl_days: int,
        result_url_ttl_seconds: int,
    ) -> None:
        # boto3's (de)serializers cost ~100 ms to import: only the job routes pay, on first use.
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._dynamodb = dynamodb
        self._sfn = stepfunctions
        self._s3 = s3
        self._table = table
        self._state_machine_arn = state_machine_arn
        self._bucket = bucket
        self._ttl_seconds = ttl_days * 86_400
        self._result_url_ttl = result_url_ttl_seconds
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    @property
    def dynamodb(self) -> BaseClient:
        """The DynamoDB client (shared with the idempotency layer)."""
        return self._dynamodb

    @staticmethod
    def request_key(owner: str, job_id: str) -> str:
        """S3 key of a job's ``request.json``."""
        return f"jobs/{owner_hash(owner)}/{job_id}/request.json"

    def _item(self, values: dict[str, Any]) -> dict[str, Any]:
        return {name: self._serializer.serialize(value) for name, value in values.items() if value is not None}

    def _record(self, item: dict[str, Any]) -> JobRecord:
        values = _plain({name: self._deserializer.deserialize(value) for name, value in item.items()})
        fields = JobRecord.__dataclass_fields__
        return JobRecord(**{name: value for name, value in values.items() if name in fields})

    def submit(self, owner: str, request: dict[str, Any]) -> JobRecord:
        """Store the request, create the ``queued`` record and start the execution.

        Parameters
        ----------
        owner
            Caller identity.
        request
            The validated request document (``request.json``, see ``INTERFACES.md`` B.1).

        Returns
        -------
        JobRecord
            The new job.

        Raises
        ------
        JobsUnavailable
            S3, DynamoDB or Step Functions throttling or unreachable (nothing is left behind: the record is removed
            again when the execution cannot start).
        """
        now = time.time()
        job_id = new_job_id(int(now * 1000))
        stamp = iso(datetime.fromtimestamp(now, UTC))
        record = JobRecord(
            job_id=job_id,
            status="queued",
            created_at=stamp,
            updated_at=stamp,
            expires_at=int(now) + self._ttl_seconds,
            request_key=self.request_key(owner, job_id),
            execution_arn=execution_arn(self._state_machine_arn, job_id),
        )
        key = {"owner": owner_hash(owner), "job_id": job_id}
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=record.request_key, Body=orjson.dumps(request), ContentType="application/json"
            )
            self._dynamodb.put_item(
                TableName=self._table,
                Item=self._item({**key, **_fields(record)}),
                ConditionExpression="attribute_not_exists(job_id)",
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc) from exc
        try:
            self._sfn.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=job_id,
                input=orjson.dumps({**key, "request_key": record.request_key}).decode(),
            )
        except (BotoCoreError, ClientError) as exc:
            self._dynamodb.delete_item(TableName=self._table, Key=self._item(key))
            raise _translate(exc) from exc
        return record

    def result_url(self, key: str) -> tuple[str, datetime]:
        """A fresh presigned GET of a job's result object and its expiry.

        Presigning is local (no request): it only fails without credentials, a deployment bug (500).
        """
        expires_at = datetime.now(UTC) + timedelta(seconds=self._result_url_ttl)
        try:
            url = self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._result_url_ttl
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc) from exc
        return url, expires_at

    def get(self, owner: str, job_id: str) -> JobRecord:
        """The caller's job ``job_id``.

        Raises
        ------
        JobNotFound
            Malformed, unknown, another caller's or expired id.
        JobsUnavailable
            DynamoDB throttling or unreachable.
        """
        if not _JOB_ID.match(job_id):
            raise JobNotFound(job_id)
        try:
            found = self._dynamodb.get_item(
                TableName=self._table,
                Key=self._item({"owner": owner_hash(owner), "job_id": job_id}),
                ConsistentRead=True,
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc) from exc
        item = found.get("Item")
        if item is None:
            raise JobNotFound(job_id)
        record = self._record(item)
        if record.expires_at <= time.time():
            raise JobNotFound(job_id)
        return record

    def page(self, owner: str, *, limit: int, next_token: str | None = None) -> tuple[list[JobRecord], str | None]:
        """The caller's live jobs, newest first, one page.

        Parameters
        ----------
        owner
            Caller identity.
        limit
            Most jobs on the page.
        next_token
            The token of the previous page (``None``: the first page).

        Returns
        -------
        tuple
            ``(jobs, next_token)``; ``next_token`` is ``None`` on the last page.

        Raises
        ------
        sockpuppet.InputError
            ``next_token`` is not a token of this API (located at ``["query", "next_token"]``).
        JobsUnavailable
            DynamoDB throttling or unreachable.
        """
        now = time.time()
        partition = owner_hash(owner)
        query: dict[str, Any] = {
            "TableName": self._table,
            # Ids start with their creation time, so the key condition alone skips the expired jobs.
            "KeyConditionExpression": "#owner = :owner AND job_id >= :floor",
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": self._item(
                {
                    ":owner": partition,
                    ":floor": _id_floor(int((now - self._ttl_seconds) * 1000)),
                    ":now": int(now),
                }
            ),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if next_token is not None:
            query["ExclusiveStartKey"] = self._item({"owner": partition, "job_id": _decode_token(next_token)})
        try:
            page = self._dynamodb.query(**query)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc) from exc
        records = [self._record(item) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return records, None if last is None else _encode_token(last["job_id"]["S"])

    def cancel(self, owner: str, job_id: str) -> JobRecord:
        """Cancel the caller's job if it is queued or running, and stop its execution (idempotent).

        Returns
        -------
        JobRecord
            The job after the call: ``cancelled``, or unchanged when it had already succeeded or failed.

        Raises
        ------
        JobNotFound
            Malformed, unknown, another caller's or expired id.
        JobsUnavailable
            DynamoDB or Step Functions throttling or unreachable (calling again completes the cancellation).
        """
        record = self.get(owner, job_id)
        if record.status in ACTIVE_STATUSES:
            try:
                updated = self._dynamodb.update_item(
                    TableName=self._table,
                    Key=self._item({"owner": owner_hash(owner), "job_id": job_id}),
                    UpdateExpression="SET #status = :cancelled, updated_at = :now",
                    ConditionExpression="#status IN (:queued, :running)",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=self._item(
                        {
                            ":cancelled": "cancelled",
                            ":now": iso(datetime.now(UTC)),
                            ":queued": "queued",
                            ":running": "running",
                        }
                    ),
                    ReturnValues="ALL_NEW",
                )
                record = self._record(updated["Attributes"])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise _translate(exc) from exc
                record = self.get(owner, job_id)  # it finished in the meantime
            except BotoCoreError as exc:
                raise _translate(exc) from exc
        if record.status == "cancelled":
            self._stop(record)
        return record

    def _stop(self, record: JobRecord) -> None:
        arn = record.execution_arn or execution_arn(self._state_machine_arn, record.job_id)
        try:
            self._sfn.stop_execution(executionArn=arn, error="JobCancelled", cause="cancelled by its caller")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                raise _translate(exc) from exc
        except BotoCoreError as exc:
            raise _translate(exc) from exc


def _fields(record: JobRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in JobRecord.__dataclass_fields__}


def _encode_token(job_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"after": job_id})).decode().rstrip("=")


def _decode_token(token: str) -> str:
    """The job id a ``next_token`` continues after (only ever used inside the caller's own partition)."""
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        job_id = decoded["after"]
    except (ValueError, binascii.Error, orjson.JSONDecodeError, KeyError, TypeError):
        job_id = None
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise InputError.at(("query", "next_token"), "not a next_token of this API")
    return job_id
