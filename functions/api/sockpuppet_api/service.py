"""The synchronous job behind the pairs routes, without HTTP: inputs -> library -> 200 document -> delivery.

The routes (``sockpuppet_api.app``, and the jobs routes that validate a request the same way before queueing it)
call these functions; they raise the library's and the store's exceptions (``InputError``, ``DeadlineExceeded``,
``UploadNotFound``, ``StorageUnavailable``) and :class:`~sockpuppet_api.errors.ApiError`, which the app's
exception handlers turn into the contract's error bodies.

* :func:`load_inputs` — a validated :class:`~sockpuppet_api.models.PairsRequest` to records (inline, or the
  caller's uploads streamed from S3) within the API's limits, every problem located as the caller sent it.
* :func:`job_request` — the same request for an asynchronous job: uploads checked and resolved to their S3 keys,
  nothing read.
* :func:`run` — the library on those records, against a deadline.
* :func:`result_document` / :func:`deliver` — the 200 document, inline or stored in S3 behind a presigned URL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import orjson
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from sockpuppet import (
    AccountColumns,
    DeadlineExceeded,
    InputError,
    PostColumns,
    RecordLimitExceeded,
    SimilarAccountsResult,
    find_similar_accounts,
)
from sockpuppet.job import match_accounts
from sockpuppet.records import account_rows, post_rows
from sockpuppet_api.config import settings
from sockpuppet_api.errors import Forbidden, PayloadTooLarge
from sockpuppet_api.models import PairsRequest, UploadRequest
from sockpuppet_api.storage import PayloadStore, UploadNotFound, UploadTooLarge, make_s3_client

__all__ = [
    "Inputs",
    "create_upload",
    "deadline_after",
    "deliver",
    "job_request",
    "load_inputs",
    "owner_of",
    "result_document",
    "run",
    "similar_pairs",
    "store",
]

Kind = Literal["posts", "accounts"]
Loc = list[str | int]
KINDS: tuple[Kind, Kind] = ("posts", "accounts")

logger = Logger(child=True)
tracer = Tracer()
metrics = Metrics()
RESPONSE_RESERVE_SECONDS = 0.5
"""Part of DEADLINE_MARGIN_MS kept for answering: S3 attempts may use the rest of the margin (storage "Time budget")."""
DOCUMENT_CHUNK_BYTES = 4 << 20
"""JSON serialised between two deadline checks in :func:`result_document` (~5-20 ms of orjson): chunks are sized in
bytes, not pairs, because account ids have no length limit."""
FIRST_CHUNK_PAIRS = 1024
MAX_DOCUMENT_BYTES = 400 << 20
"""Largest 200 document the function builds (docs/operations.md, "Limits"): 1,000,000 pairs of 19-digit ids take
65 MB; account ids have no length limit, so without this cap long ids and a low threshold could exhaust memory."""
store = PayloadStore(
    make_s3_client,  # created on first use: /health, the OpenAPI document and inline jobs never pay for it
    settings.payload_bucket,
    upload_ttl_seconds=settings.upload_url_ttl_seconds,
    result_ttl_seconds=settings.result_url_ttl_seconds,
    max_upload_bytes=settings.max_upload_bytes,
    s3_grace_seconds=max(0.0, settings.deadline_margin_ms / 1000 - RESPONSE_RESERVE_SECONDS),
    max_json_bytes=settings.max_decoded_body_bytes,  # a JSON document parsed whole: the inline body's limit
)


# --- caller, deadline ------------------------------------------------------------------------------------------


def owner_of(user_arn: str | None, caller_id: str | None, account_id: str | None) -> str:
    """The owner of uploads, results and jobs: the caller's IAM principal.

    ``userArn``, else ``callerId``, else ``accountId`` of the SigV4 signer. An assumed-role *session*
    (``arn:aws:sts::123456789012:assumed-role/Role/session-name``) is owned by its role
    (``arn:aws:sts::123456789012:assumed-role/Role``): a new session of the same role - a new Lambda container,
    CI job or SSO login - can use the uploads and jobs of the previous one. Everyone who may assume the role is
    one principal to IAM too; callers who must not share uploads use different roles (docs/api.md, "Identity").

    Raises
    ------
    Forbidden
        ``missing_identity`` when the request carries none (the route needs IAM auth).
    """
    owner = user_arn or caller_id or account_id
    if not owner:
        raise Forbidden("missing_identity", "this route needs an IAM (SigV4) signed request")
    prefix, _, resource = owner.partition(":assumed-role/")
    if resource and prefix.startswith("arn:") and "/" in resource:
        return f"{prefix}:assumed-role/{resource.split('/', 1)[0]}"
    return owner


def deadline_after(remaining_ms: int) -> float:
    """``time.monotonic()`` value by which the work must be done: the Lambda time left minus the margin.

    Raises
    ------
    DeadlineExceeded
        When the margin leaves no time at all.
    """
    budget_ms = remaining_ms - settings.deadline_margin_ms
    if budget_ms <= 0:
        raise DeadlineExceeded("no time left before the Lambda deadline")
    return time.monotonic() + budget_ms / 1000


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- inputs ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inputs:
    """Records of one request, with where each kind came from (the prefix of a record's location)."""

    posts: list[dict[str, Any]] | PostColumns
    accounts: list[dict[str, Any]] | AccountColumns
    locations: dict[str, Loc]


def _relocate(details: list[dict[str, Any]], source: str, prefixes: dict[str, Loc]) -> list[dict[str, Any]]:
    """Library locations as the caller sent them: ``["posts", 3, "author_id"]`` -> ``["body", "posts", 3, ...]``.

    ``prefixes`` replaces the first element for records (e.g. ``posts`` -> ``[source, "posts_upload_id"]``); any
    other location (``["min_similarity"]``) is put under ``source``.
    """
    relocated = []
    for detail in details:
        loc = list(detail.get("loc") or ())
        loc = [*prefixes[loc[0]], *loc[1:]] if loc and loc[0] in prefixes else [source, *loc]
        relocated.append({**detail, "loc": loc})
    return relocated


def _records(
    request: PairsRequest, kind: Kind, source: str, owner: str, deadline: float
) -> tuple[list[dict[str, Any]] | PostColumns | AccountColumns, Loc]:
    """Inline records as given, or the caller's upload streamed from S3 into columns; with the location prefix of a
    record.

    Records of an upload are located as ``[source, "posts_upload_id", "line", n, field]`` (TSV / JSON Lines),
    ``[source, "posts_upload_id", i, field]`` (JSON) or, for checks after loading, ``[..., "record", i, field]``.
    An upload stops being read at its first record over ``MAX_RECORDS`` (422 naming the limit and that record).
    """
    inline = getattr(request, kind)
    if inline is not None:
        return inline, [source, kind]
    upload_id = getattr(request, f"{kind}_upload_id")
    where: Loc = [source, f"{kind}_upload_id"]
    try:
        columns = store.read_columns(
            owner,
            upload_id,
            kind=kind,
            deadline=deadline,
            max_records=settings.max_records,
            created_at=request.signals is not None,
        )
    except (UploadNotFound, UploadTooLarge) as exc:
        exc.loc = where
        raise
    except RecordLimitExceeded as exc:
        loc = [*where, *exc.details[0]["loc"][1:]]
        msg = f"at most {exc.limit} {kind} per request (MAX_RECORDS); reading stopped at the first record over"
        raise InputError(f"{'.'.join(map(str, loc))}: {msg}", [{"loc": loc, "msg": msg}]) from None
    except InputError as exc:
        raise InputError(exc.message, _relocate(exc.details, source, {kind: where})) from None
    return columns, [*where, "record"]


def _check_records(records: Any, kind: str, where: Loc) -> None:
    """The API's own limits (record count, screen-name length); the library validates everything else."""
    if not isinstance(records, (list, PostColumns, AccountColumns)):
        return
    if len(records) > settings.max_records:
        raise InputError.at(tuple(where[:2]), f"at most {settings.max_records} {kind} per request (MAX_RECORDS)")
    if kind != "accounts" or isinstance(records, PostColumns):
        return
    limit = settings.max_screen_name_length
    if isinstance(records, AccountColumns):
        names = records.screen_name
    else:
        names = [record.get("screen_name") if isinstance(record, dict) else None for record in records]
    try:  # one C-level pass for the usual case; anything else (or a name too long) takes the exact loop below
        if max(map(len, [name for name in names if name is not None]), default=0) <= limit:
            return
    except TypeError:
        pass
    too_long = [
        {"loc": [*where, index, "screen_name"], "msg": f"longer than {limit} characters"}
        for index, name in enumerate(names)
        if isinstance(name, str) and len(name) > limit
    ]
    if too_long:
        raise InputError(f"invalid accounts: screen_name longer than {limit} characters", too_long)


def load_inputs(request: PairsRequest, *, owner: str, source: str, deadline: float) -> Inputs:
    """The records of a validated request, within the API's limits.

    Parameters
    ----------
    request
        The validated request (exactly one source per kind: the model's rule).
    owner
        The caller (:func:`owner_of`); uploads of anyone else are not found.
    source
        Where the caller put the request (``"body"`` or ``"query"``): the first element of every error location.
    deadline
        ``time.monotonic()`` value by which reading must be done.

    Raises
    ------
    UploadNotFound
        Unknown, foreign or expired upload (``loc`` where the caller named it).
    sockpuppet.InputError
        Malformed upload, too many records, screen names too long (located as the caller sent them).
    StorageUnavailable
        S3 throttling or unreachable.
    sockpuppet.DeadlineExceeded
        Reading did not finish before ``deadline``.
    """
    loaded = {kind: _records(request, kind, source, owner, deadline) for kind in KINDS}
    for kind, (records, where) in loaded.items():
        _check_records(records, kind, where)
    return Inputs(
        posts=loaded["posts"][0],
        accounts=loaded["accounts"][0],
        locations={kind: where for kind, (_, where) in loaded.items()},
    )


def job_request(
    request: PairsRequest, *, owner: str, source: str = "body", deadline: float | None = None
) -> dict[str, Any]:
    """The request of an asynchronous job: the validated body with each upload id resolved to its S3 key.

    The uploads are checked (existence, owner, kind) but not read; inline records are validated by the library
    as the synchronous route validates them before its search (records, conflicting duplicate account ids), so a
    job answers the same 4xx, and stay inline. The document is
    what a job stores as ``request.json``: ``posts`` / ``accounts`` or ``posts_upload_key`` /
    ``accounts_upload_key``, plus the job parameters (``hashtag``, ``min_similarity``, ``hashtag_match``,
    ``max_pairs`` with ``MAX_PAIRS`` filled in, ``result_delivery``).

    Raises
    ------
    UploadNotFound
        Unknown, foreign or expired upload (``loc`` where the caller named it).
    sockpuppet.InputError
        An upload made for the other kind, invalid inline records or inline records over the API's limits.
    StorageUnavailable
        S3 throttling or unreachable.
    sockpuppet.DeadlineExceeded
        No time left for the S3 checks before ``deadline``.
    """
    document = request.model_dump(exclude_none=True, exclude={"posts_upload_id", "accounts_upload_id"})
    document["max_pairs"] = settings.max_pairs if request.max_pairs is None else request.max_pairs
    for kind in KINDS:
        upload_id = getattr(request, f"{kind}_upload_id")
        if upload_id is None:
            _check_records(getattr(request, kind), kind, [source, kind])
            continue
        where: Loc = [source, f"{kind}_upload_id"]
        try:
            document[f"{kind}_upload_key"] = store.check_upload(owner, upload_id, kind=kind, deadline=deadline)
        except UploadNotFound as exc:
            raise UploadNotFound(exc.upload_id, loc=where) from None
        except InputError as exc:
            raise InputError(exc.message, _relocate(exc.details, source, {kind: where})) from None
    _check_inline(request, source)
    return document


def _check_inline(request: PairsRequest, source: str) -> None:
    """The library's checks of inline records, located as the caller sent them (the sync route's 422s)."""
    try:
        if request.posts is not None and request.accounts is not None:
            match_accounts(
                request.posts,
                request.accounts,
                hashtag=request.hashtag,
                min_similarity=request.min_similarity,
                hashtag_match=request.hashtag_match,
                signals=_signals(request),
            )
        elif request.posts is not None:
            post_rows(request.posts)
        elif request.accounts is not None:
            account_rows(request.accounts)
    except InputError as exc:
        prefixes: dict[str, Loc] = {kind: [source, kind] for kind in KINDS}
        raise InputError(exc.message, _relocate(exc.details, source, prefixes)) from None


# --- the job ---------------------------------------------------------------------------------------------------


def _signals(request: PairsRequest) -> dict[str, Any] | None:
    """The request's ``signals`` as the library takes them (``None``: none asked)."""
    return None if request.signals is None else request.signals.model_dump(exclude_none=True)


@tracer.capture_method(capture_response=False)  # results can be megabytes: not X-Ray metadata
def run(request: PairsRequest, inputs: Inputs, *, source: str, deadline: float) -> SimilarAccountsResult:
    """:func:`sockpuppet.find_similar_accounts` on the request's records, errors located as the caller sent them.

    Raises
    ------
    sockpuppet.InputError
        Invalid records.
    sockpuppet.DeadlineExceeded
        The search did not finish before ``deadline``.
    """
    started = time.perf_counter()
    try:
        result = find_similar_accounts(
            inputs.posts,
            inputs.accounts,
            hashtag=request.hashtag,
            min_similarity=request.min_similarity,
            hashtag_match=request.hashtag_match,
            max_pairs=settings.max_pairs if request.max_pairs is None else request.max_pairs,
            signals=_signals(request),
            deadline=deadline,
        )
    except InputError as exc:
        raise InputError(exc.message, _relocate(exc.details, source, inputs.locations)) from None
    metrics.add_metric(name="PostsReceived", unit=MetricUnit.Count, value=len(inputs.posts))
    metrics.add_metric(name="AccountsReceived", unit=MetricUnit.Count, value=len(inputs.accounts))
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1e3)
    metrics.add_metric(name="AccountsMatched", unit=MetricUnit.Count, value=result.accounts_matched)
    metrics.add_metric(name="PairsFound", unit=MetricUnit.Count, value=result.pair_count)
    logger.info(
        "job done",
        extra={
            "posts": len(inputs.posts),
            "accounts": len(inputs.accounts),
            "accounts_matched": result.accounts_matched,
            "pair_count": result.pair_count,
        },
    )
    return result


def result_document(result: SimilarAccountsResult, *, deadline: float | None = None) -> bytes:
    """The 200 document (JSON bytes) of a result, pairs inline: ``orjson.dumps(result.to_dict())``, byte for byte.

    The pairs are serialised in chunks of about :data:`DOCUMENT_CHUNK_BYTES`, checking ``deadline`` between chunks
    (a million pairs take ~0.3 s; ``to_dict``'s list per pair alone would take longer).

    Raises
    ------
    sockpuppet.DeadlineExceeded
        When ``deadline`` passes while the document is built.
    PayloadTooLarge
        ``result_too_large`` when the document would exceed :data:`MAX_DOCUMENT_BYTES`.
    """
    rest = orjson.dumps(replace(result, similar_account_pairs=[]).to_dict())
    # "similar_account_pairs" is the document's first member, and its text cannot occur inside a string value
    # (a JSON string escapes every quote), so the empty array is spliced with the serialised pairs.
    head, _, tail = rest.partition(b'"similar_account_pairs":[]')
    pairs = result.similar_account_pairs
    parts = [head, b'"similar_account_pairs":[']
    start, size, total = 0, FIRST_CHUNK_PAIRS, len(rest)
    while start < len(pairs):
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("serialising the result did not finish before the deadline")
        piece = orjson.dumps(pairs[start : start + size])[1:-1]
        total += len(piece) + 1
        if total > MAX_DOCUMENT_BYTES:
            raise PayloadTooLarge(
                "result_too_large",
                f"the result is larger than {MAX_DOCUMENT_BYTES} bytes; lower max_pairs or raise min_similarity",
                details=[{"loc": ["body", "max_pairs"], "msg": "result too large"}],
            )
        parts += [b","] if start else []
        parts.append(piece)
        start += size
        size = max(1, min(size * 8, size * DOCUMENT_CHUNK_BYTES // max(1, len(piece))))
    parts += [b"]", tail]
    return b"".join(parts)


SIGNAL_FIELDS = ("co_hashtag_pairs", "creation_bursts", "clusters")
"""Response fields of the coordination signals (present only when asked; null in a URL-delivered body)."""


def _inline_size(payload: bytes) -> int:
    """Bytes the body takes in the Lambda response, where it travels as a JSON string (``"`` and ``\\`` escaped).

    Short ids make quotes a quarter of a pairs document, so the raw length would let a response past Lambda's
    6 MB payload limit.
    """
    return len(payload) + payload.count(b'"') + payload.count(b"\\")


def deliver(
    document: bytes, result: SimilarAccountsResult, *, delivery: str, owner: str, source: str, deadline: float
) -> bytes:
    """The 200 body: ``document`` itself, or (URL delivery) ``document`` stored in S3 and a body pointing at it.

    Raises
    ------
    PayloadTooLarge
        ``result_too_large`` for ``inline`` delivery of a document over ``MAX_INLINE_RESULT_BYTES``.
    StorageUnavailable
        S3 throttling or unreachable.
    sockpuppet.DeadlineExceeded
        ``deadline`` passed while the result was compressed, or no time was left to store it.
    """
    size = _inline_size(document)
    metrics.add_metric(name="ResultBytes", unit=MetricUnit.Bytes, value=size)
    fits = size <= settings.max_inline_result_bytes
    if delivery == "inline" and not fits:
        raise PayloadTooLarge(
            "result_too_large",
            f"the result is {size} bytes, over the inline limit of {settings.max_inline_result_bytes}; "
            "use result_delivery 'auto' or 'url', or lower max_pairs",
            details=[{"loc": [source, "result_delivery"], "msg": "result too large for inline delivery"}],
        )
    if delivery == "inline" or (delivery == "auto" and fits):
        return document
    url, expires_at = store.put_result(owner, document, deadline=deadline)
    metrics.add_metric(name="ResultsOffloaded", unit=MetricUnit.Count, value=1)
    summary = replace(result, similar_account_pairs=[]).to_dict()
    # like the pairs, the signals (they grow with the input) are only in the stored document
    moved = {key: None for key in SIGNAL_FIELDS if key in summary}
    return orjson.dumps(
        summary | {"similar_account_pairs": None, **moved, "result_url": url, "result_expires_at": _iso(expires_at)}
    )


def similar_pairs(request: PairsRequest, *, owner: str, source: str, deadline: float) -> bytes:
    """The whole synchronous job: the 200 body for a validated request (see the functions above)."""
    inputs = load_inputs(request, owner=owner, source=source, deadline=deadline)
    result = run(request, inputs, source=source, deadline=deadline)
    document = result_document(result, deadline=deadline)
    return deliver(document, result, delivery=request.result_delivery, owner=owner, source=source, deadline=deadline)


def create_upload(request: UploadRequest, *, owner: str) -> dict[str, Any]:
    """The 201 body of ``POST /v1/uploads``: a presigned S3 POST for the caller's new upload."""
    ticket = store.create_upload(
        owner, kind=request.kind, fmt=request.format, content_encoding=request.content_encoding
    )
    return {
        "upload_id": ticket.upload_id,
        "url": ticket.url,
        "fields": ticket.fields,
        "expires_at": _iso(ticket.expires_at),
        "max_bytes": ticket.max_bytes,
    }
