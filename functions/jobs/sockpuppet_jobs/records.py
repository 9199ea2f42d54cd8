"""The job record in DynamoDB as the workers change it (``docs/jobs.md``; the API creates and cancels it).

Every write is conditional on the job being active: a worker never moves a job out of ``cancelled`` (nor out of
``succeeded``/``failed``), so a cancel that races a running step always wins. A write whose condition fails raises
:class:`JobNotActive`; the step then stops and the state machine ends in the failure branch, which leaves the
record alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["JobNotActive", "JobRecords", "Phase", "now_iso"]

Phase = Literal["loading", "filtering", "searching", "merging"]
_NAMES = ("#status", "#progress", "#error")
"""Attribute names used through placeholders (``status`` and ``error`` are DynamoDB reserved words)."""


class JobNotActive(RuntimeError):
    """The job is no longer queued or running (cancelled, already finished, or its record expired)."""


def now_iso() -> str:
    """The current time as ISO 8601 UTC with seconds (the API's format)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class JobRecords:
    """Conditional updates of one table's job records (``owner`` + ``job_id`` key).

    Parameters
    ----------
    dynamodb
        A low-level DynamoDB client.
    table
        The table name.
    """

    def __init__(self, dynamodb: BaseClient, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def _update(self, owner: str, job_id: str, expression: str, condition: str, values: dict[str, Any]) -> None:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"owner": {"S": owner}, "job_id": {"S": job_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={name: name[1:] for name in _NAMES if name in expression or name in condition},
                ExpressionAttributeValues={":now": {"S": now_iso()}, **values},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise JobNotActive(f"job {job_id} is not queued or running") from None
            raise

    def start(self, owner: str, job_id: str) -> None:
        """``queued`` (or ``running``, when the step is retried) -> ``running``, phase ``loading``."""
        self._update(
            owner,
            job_id,
            "SET #status = :running, #progress = :progress, updated_at = :now",
            "#status IN (:queued, :running)",
            {
                ":running": {"S": "running"},
                ":queued": {"S": "queued"},
                ":progress": {"M": _progress("loading", 0, 0)},
            },
        )

    def progress(self, owner: str, job_id: str, phase: Phase, *, shards_done: int = 0, shards_total: int = 0) -> None:
        """Set the phase and shard counts of a running job."""
        self._update(
            owner,
            job_id,
            "SET #progress = :progress, updated_at = :now",
            "#status = :running",
            {":running": {"S": "running"}, ":progress": {"M": _progress(phase, shards_done, shards_total)}},
        )

    def shard_done(self, owner: str, job_id: str) -> None:
        """Count one more finished shard of a running job."""
        self._update(
            owner,
            job_id,
            "ADD #progress.shards_done :one SET updated_at = :now",
            "#status = :running",
            {":running": {"S": "running"}, ":one": {"N": "1"}},
        )

    def succeed(self, owner: str, job_id: str, *, result_key: str, pair_count: int) -> None:
        """``running`` -> ``succeeded`` with the result's key and pair count."""
        self._update(
            owner,
            job_id,
            "SET #status = :succeeded, result_key = :key, pair_count = :count, updated_at = :now",
            "#status = :running",
            {
                ":running": {"S": "running"},
                ":succeeded": {"S": "succeeded"},
                ":key": {"S": result_key},
                ":count": {"N": str(pair_count)},
            },
        )

    def fail(self, owner: str, job_id: str, error: dict[str, Any]) -> None:
        """``queued``/``running`` -> ``failed`` with the contract's error object ``{code, message, details}``."""
        self._update(
            owner,
            job_id,
            "SET #status = :failed, #error = :error, updated_at = :now",
            "#status IN (:queued, :running)",
            {
                ":running": {"S": "running"},
                ":queued": {"S": "queued"},
                ":failed": {"S": "failed"},
                ":error": _attribute(error),
            },
        )


def _progress(phase: Phase, shards_done: int, shards_total: int) -> dict[str, Any]:
    return {"phase": {"S": phase}, "shards_done": {"N": str(shards_done)}, "shards_total": {"N": str(shards_total)}}


def _attribute(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB attribute value (maps, lists, strings, numbers, booleans, null)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [_attribute(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {str(key): _attribute(item) for key, item in value.items()}}
    raise TypeError(f"not a JSON value: {type(value).__name__}")
