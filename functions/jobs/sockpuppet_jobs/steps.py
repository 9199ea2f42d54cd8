"""What each step of the job's state machine does (``statemachine/jobs.asl.json``); the handlers only wire it.

prepare -> search (one worker, or a Distributed Map over the shards in ``plan.json``) -> merge -> finish; any
failure -> fail. Only S3 keys and counts travel between the steps (Step Functions limits a state's payload to
256 KB); records, names and pairs stay in S3.

Errors the state machine tells apart by name (the ``errorType`` of a Lambda error, i.e. the exception class):

* :class:`InvalidInput` - the request or its records are invalid. Its message is the contract's error object as
  JSON, which :func:`fail` stores in the job record. Never retried.
* :class:`~sockpuppet_jobs.records.JobNotActive` - the job was cancelled meanwhile. Never retried; the record stays
  ``cancelled``.
* :class:`~sockpuppet_jobs.storage.TransientError` - S3 or DynamoDB throttled or unreachable. Retried with backoff.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from sockpuppet.columns import AccountColumns, PostColumns
from sockpuppet.engine import PairArrays
from sockpuppet.errors import InputError
from sockpuppet.job import MatchedAccounts, build_result, match_accounts
from sockpuppet.shards import merge_shards, pairs_from_bytes, pairs_to_bytes, plan_shards, search_shard
from sockpuppet_jobs.records import JobNotActive, JobRecords
from sockpuppet_jobs.storage import JobStore, MissingObject, UploadMissing

__all__ = [
    "InvalidInput",
    "ShardMissing",
    "error_object",
    "fail",
    "finish",
    "job_age_seconds",
    "lambda_deadline",
    "merge",
    "prepare",
    "search",
]

SOURCE = "body"
"""Where error locations start: the job's request is the synchronous route's body."""
SIGNALS = "signals.pickle"
"""What the requested coordination signals need (:class:`sockpuppet.signals.SignalInputs`), from prepare to merge."""
KEEP_ON_FAILURE = ("request.json",)
"""Objects of a failed job that stay (until the bucket's lifecycle rule removes them): the request only."""


class InvalidInput(Exception):
    """The job's input is invalid; the message is the error object ``{code, message, details}`` as JSON."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(orjson.dumps(error).decode())
        self.error = error


class ShardMissing(RuntimeError):
    """A shard has no output: its worker failed for good (a Distributed Map item that failed)."""


def _job(event: dict[str, Any]) -> tuple[str, str]:
    return str(event["owner"]), str(event["job_id"])


# --- prepare --------------------------------------------------------------------------------------------------


def _relocate(details: list[dict[str, Any]], prefixes: dict[str, list[str | int]]) -> list[dict[str, Any]]:
    """Library locations as the synchronous route reports them (``["posts", 3, "author_id"]`` ->
    ``["body", "posts", 3, "author_id"]``; records of an upload under ``["body", "posts_upload_id", ...]``)."""
    relocated = []
    for detail in details:
        loc = list(detail.get("loc") or ())
        loc = [*prefixes[loc[0]], *loc[1:]] if loc and loc[0] in prefixes else [SOURCE, *loc]
        relocated.append({**detail, "loc": loc})
    return relocated


def _invalid(exc: InputError, prefixes: dict[str, list[str | int]]) -> InvalidInput:
    return InvalidInput(
        {"code": "validation_error", "message": exc.message, "details": _relocate(exc.details, prefixes)}
    )


def _records(
    request: dict[str, Any], kind: str, owner: str, store: JobStore
) -> tuple[list[dict[str, Any]] | PostColumns | AccountColumns, list[str | int]]:
    """The request's inline records, or its upload read from S3 into columns (``created_at`` only when signals are
    asked); with the location prefix of a record."""
    inline = request.get(kind)
    if inline is not None:
        return inline, [SOURCE, kind]
    where: list[str | int] = [SOURCE, f"{kind}_upload_id"]
    upload_id = request.get(f"{kind}_upload_id")
    key = request.get(f"{kind}_upload_key") or f"uploads/{owner}/{upload_id}"
    try:
        columns = store.read_upload(key, kind=kind, created_at=bool(request.get("signals")))  # type: ignore[arg-type]
        return columns, [*where, "record"]
    except UploadMissing:
        raise InvalidInput(
            {
                "code": "upload_not_found",
                "message": f"the {kind} upload of this job is gone (expired before the job read it)",
                "details": [{"loc": where, "msg": "upload not found"}],
            }
        ) from None
    except InputError as exc:
        raise _invalid(exc, {kind: where}) from None


def prepare(event: dict[str, Any], *, store: JobStore, records: JobRecords, max_names: int, max_pairs: int) -> dict:
    """Load the inputs, select the hashtag's accounts, write the names and the shard plan.

    Parameters
    ----------
    event
        The execution input ``{"owner", "job_id", "request_key"}`` and the execution's ``started_at``.
    store, records
        S3 objects and DynamoDB records.
    max_names
        ``JOB_SHARD_MAX_NAMES``.
    max_pairs
        ``MAX_PAIRS``: ``max_pairs`` of a request that gives none.

    Returns
    -------
    dict
        ``{"owner", "job_id", "shards_total", "plan_key", "first"}`` (``first``: the first shard item, searched
        without a Map when it is the only one).

    Raises
    ------
    InvalidInput
        With the error object (e.g. ``validation_error`` locating the upload's line and field).
    JobNotActive
        The job was cancelled.
    """
    owner, job_id = _job(event)
    records.start(owner, job_id)
    request = store.get_json(str(event["request_key"]))
    posts, posts_at = _records(request, "posts", owner, store)
    accounts, accounts_at = _records(request, "accounts", owner, store)
    records.progress(owner, job_id, "filtering")
    try:
        matched = match_accounts(
            posts,
            accounts,
            hashtag=request["hashtag"],
            min_similarity=request.get("min_similarity", 0.8),
            hashtag_match=request.get("hashtag_match", "exact"),
            signals=request.get("signals"),
        )
    except InputError as exc:
        raise _invalid(exc, {"posts": posts_at, "accounts": accounts_at}) from None
    del posts, accounts
    limit = request.get("max_pairs")
    store.put_json(JobStore.key(owner, job_id, "names.json"), matched.names)
    store.put_json(
        JobStore.key(owner, job_id, "matched.json"),
        {
            "ids": matched.ids,
            "names": matched.names,
            "hashtag": matched.hashtag,
            "min_similarity": matched.min_similarity,
            "authors_without_account": matched.authors_without_account,
            "max_pairs": max_pairs if limit is None else limit,
            "with_groups": bool(request.get("with_groups", False)),
            "signals": matched.signal_inputs is not None,
        },
    )
    if matched.signal_inputs is not None:
        # numpy columns and option objects of this same code, written and read only by the job's own functions
        store.put_bytes(JobStore.key(owner, job_id, SIGNALS), pickle.dumps(matched.signal_inputs, protocol=5))
    shards = plan_shards(matched.names, matched.min_similarity, max_names=max_names)
    items = [
        {
            "owner": owner,
            "job_id": job_id,
            "started_at": event.get("started_at"),
            "index": index,
            "min_similarity": matched.min_similarity,
            "shard": shard,
        }
        for index, shard in enumerate(shards)
    ]
    plan_key = JobStore.key(owner, job_id, "plan.json")
    store.put_json(plan_key, items)
    records.progress(owner, job_id, "searching", shards_total=len(items))
    return {
        "owner": owner,
        "job_id": job_id,
        "shards_total": len(items),
        "plan_key": plan_key,
        "first": items[0] if items else None,
    }


# --- search ---------------------------------------------------------------------------------------------------

_names_cache: dict[str, list[str | None]] = {}


def _names(store: JobStore, key: str) -> list[str | None]:
    """The job's names, kept for the next shard of the same job in this execution environment."""
    if key not in _names_cache:
        _names_cache.clear()
        _names_cache[key] = store.get_json(key)
    return _names_cache[key]


def search(
    item: dict[str, Any], *, store: JobStore, records: JobRecords, deadline: float | None = None
) -> dict[str, Any]:
    """Search one shard of the plan and write its pairs to ``shards/{index}.bin``.

    Parameters
    ----------
    item
        A plan item: ``{"owner", "job_id", "started_at", "index", "min_similarity", "shard"}``.
    deadline
        ``time.monotonic()`` value by which the search must end (before the worker's Lambda timeout).

    Returns
    -------
    dict
        ``{"index", "pairs"}`` (small: the Map's results are not kept).

    Raises
    ------
    sockpuppet.DeadlineExceeded
        The shard did not finish in time (lower ``JOB_SHARD_MAX_NAMES`` or raise the worker timeout).
    JobNotActive
        The job was cancelled.
    """
    owner, job_id = _job(item)
    index = int(item["index"])
    names = _names(store, JobStore.key(owner, job_id, "names.json"))
    found = search_shard(names, float(item["min_similarity"]), item["shard"], deadline=deadline)
    store.put_bytes(JobStore.key(owner, job_id, f"shards/{index}.bin"), pairs_to_bytes(found))
    records.shard_done(owner, job_id)
    return {"index": index, "pairs": len(found.first)}


# --- merge ----------------------------------------------------------------------------------------------------


def merge(event: dict[str, Any], *, store: JobStore, records: JobRecords) -> dict[str, Any]:
    """Merge every shard's pairs into the reference order and write the result document.

    The document is byte for byte the synchronous route's 200 document for the same request (same builder,
    same serialization), pairs inline.

    Parameters
    ----------
    event
        ``{"owner", "job_id", "shards_total"}``.

    Returns
    -------
    dict
        ``{"owner", "job_id", "result_key", "pair_count"}``.

    Raises
    ------
    ShardMissing
        A shard has no output (its worker failed for good; a Distributed Map may still have succeeded).
    """
    owner, job_id = _job(event)
    total = int(event["shards_total"])
    records.progress(owner, job_id, "merging", shards_done=total, shards_total=total)
    meta = store.get_json(JobStore.key(owner, job_id, "matched.json"))
    outputs = []
    for index in range(total):
        try:
            outputs.append(pairs_from_bytes(store.get_bytes(JobStore.key(owner, job_id, f"shards/{index}.bin"))))
        except MissingObject:
            raise ShardMissing(f"shard {index} of {total} produced no output") from None
    matched = MatchedAccounts(
        ids=meta["ids"],
        names=meta["names"],
        hashtag=meta["hashtag"],
        min_similarity=meta["min_similarity"],
        authors_without_account=meta["authors_without_account"],
        signal_inputs=pickle.loads(store.get_bytes(JobStore.key(owner, job_id, SIGNALS))) if meta["signals"] else None,
    )
    found = merge_shards(outputs, len(matched.names)) if outputs else _no_pairs()
    result = build_result(matched, found, max_pairs=meta["max_pairs"], with_groups=meta["with_groups"])
    result_key = JobStore.key(owner, job_id, "result.json")
    store.put_result(result_key, orjson.dumps(result.to_dict()))
    return {"owner": owner, "job_id": job_id, "result_key": result_key, "pair_count": result.pair_count}


def _no_pairs() -> PairArrays:
    return PairArrays(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))


# --- outcome --------------------------------------------------------------------------------------------------


def finish(event: dict[str, Any], *, store: JobStore, records: JobRecords) -> dict[str, Any]:
    """Mark the job ``succeeded`` with its result; a job cancelled meanwhile keeps no result.

    Returns
    -------
    dict
        ``{"status": "succeeded" | "cancelled"}``.
    """
    owner, job_id = _job(event)
    try:
        records.succeed(owner, job_id, result_key=str(event["result_key"]), pair_count=int(event["pair_count"]))
    except JobNotActive:
        store.delete([str(event["result_key"])])
        return {"status": "cancelled"}
    return {"status": "succeeded"}


INTERNAL_ERROR = {
    "code": "internal_error",
    "message": "the job failed in one of its steps; the job id identifies it in our logs",
    "details": [],
}
TIMEOUT_ERROR = {
    "code": "job_timeout",
    "message": "a step of the job did not finish within its time limit",
    "details": [],
}


def error_object(failure: dict[str, Any] | None) -> dict[str, Any] | None:
    """The contract's error object for a Step Functions error (``{"Error", "Cause"}`` of a Catch).

    ``None`` when the job was cancelled (nothing to record).
    """
    name = str((failure or {}).get("Error", ""))
    if name == "JobNotActive":
        return None
    if name == "InvalidInput":
        try:
            cause = orjson.loads((failure or {}).get("Cause") or "{}")
            error = orjson.loads(cause["errorMessage"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return INTERNAL_ERROR
        if isinstance(error, dict) and {"code", "message"} <= error.keys():
            return {"code": error["code"], "message": error["message"], "details": error.get("details") or []}
        return INTERNAL_ERROR
    if name in ("States.Timeout", "DeadlineExceeded", "Sandbox.Timedout"):
        return TIMEOUT_ERROR
    return INTERNAL_ERROR


def fail(event: dict[str, Any], *, store: JobStore, records: JobRecords) -> dict[str, Any]:
    """Record the failure (unless the job was cancelled) and delete what the job wrote, except its request.

    Parameters
    ----------
    event
        The execution input plus ``failure``: the caught ``{"Error", "Cause"}``.

    Returns
    -------
    dict
        ``{"status": "failed" | "cancelled", "error"}``.
    """
    owner, job_id = _job(event)
    error = error_object(event.get("failure"))
    status = "cancelled"
    if error is not None:
        try:
            records.fail(owner, job_id, error)
            status = "failed"
        except JobNotActive:
            pass
    prefix = JobStore.prefix(owner, job_id)
    store.delete([key for key in store.list_keys(prefix) if key[len(prefix) :] not in KEEP_ON_FAILURE])
    return {"status": status, "error": error}


def job_age_seconds(event: dict[str, Any]) -> float | None:
    """Seconds since the job's execution started (``started_at``, ISO 8601), or ``None`` without it."""
    started = event.get("started_at")
    if not isinstance(started, str):
        return None
    try:
        moment = datetime.fromisoformat(started)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((datetime.now(UTC) - moment).total_seconds(), 0.0)


def lambda_deadline(remaining_ms: Callable[[], int], margin_ms: int = 5000) -> float:
    """``time.monotonic()`` value ``margin_ms`` before the invocation's end."""
    return time.monotonic() + max(remaining_ms() - margin_ms, 0) / 1000
