"""The job routes (``/v1/jobs``): a Powertools router included by :mod:`sockpuppet_api.app`.

``POST /v1/jobs`` validates the body exactly like ``POST /v1/similar-account-pairs`` (same model, same 4xx errors,
uploads checked but not read: :func:`sockpuppet_api.service.job_request`), stores it and starts the job
(:class:`~sockpuppet_api.jobs.JobStore`). With an ``Idempotency-Key`` header the submission goes through
Powertools' idempotency utility on the jobs table: the same caller sending the same key within 24 h gets the first
answer again (the same job), the same key with another body is a 422, and a second request while the first is
still being accepted is a 409.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from sockpuppet_api import service
from sockpuppet_api.config import settings
from sockpuppet_api.errors import ApiError, Conflict, NotFound, ServiceUnavailable, UnprocessableEntity, error_body
from sockpuppet_api.job_models import JobCreatedResponse, JobListResponse, JobResponse
from sockpuppet_api.jobs import JobNotFound, JobRecord, JobStore, JobsUnavailable, iso
from sockpuppet_api.models import PairsRequest
from sockpuppet_api.openapi import DATA_ROUTE_ERRORS, SIGV4, errors, json_content
from sockpuppet_api.storage import owner_hash

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["JOBS_PATH", "JOB_OPENAPI_PATH", "JOB_PATH", "JOB_PATH_PATTERN", "jobs", "router"]

JOBS_PATH = "/v1/jobs"
JOB_PATH = "/v1/jobs/<job_id>"
JOB_OPENAPI_PATH = "/v1/jobs/{job_id}"
JOB_PATH_PATTERN = re.compile(r"^/v1/jobs/[^/]+$")
"""Paths of single jobs (the app's 405 answers use it to find their allowed methods)."""
IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
REQUEST_ID_HEADER = "X-Request-Id"
DEFAULT_PAGE = 20
MAX_PAGE = 100

logger = Logger(child=True)
metrics = Metrics()
router = APIGatewayHttpRouter()


@cache
def jobs() -> JobStore:
    """The job store, with its DynamoDB and Step Functions clients (created on the first job request)."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    config = Config(retries={"mode": "standard"})
    return JobStore(
        dynamodb=session.create_client("dynamodb", config=config),
        stepfunctions=session.create_client("stepfunctions", config=config),
        s3=service.store.s3,
        table=settings.jobs_table,
        state_machine_arn=settings.jobs_state_machine_arn,
        bucket=settings.payload_bucket,
        ttl_days=settings.job_ttl_days,
        result_url_ttl_seconds=settings.result_url_ttl_seconds,
    )


# --- request context, responses --------------------------------------------------------------------------------


def _request_id() -> str:
    context = router.current_event.get("requestContext") or {}
    return context.get("requestId") or router.lambda_context.aws_request_id


def _respond(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=orjson.dumps(body).decode(),
        headers={REQUEST_ID_HEADER: _request_id(), **(headers or {})},
    )


def _error(exc: ApiError) -> Response:
    return _respond(exc.status, error_body(exc.code, exc.message, exc.details, _request_id()), exc.headers)


def _owner() -> str:
    iam = router.current_event.request_context.authorizer.iam
    return service.owner_of(iam.user_arn, iam.caller_id, iam.account_id)


def _status_url(job_id: str) -> str:
    """Absolute URL of the job as the caller reached the API (scheme, host and stage of this request)."""
    event = router.current_event
    context = event.request_context
    stage = context.stage
    base = f"/{stage}" if stage and stage != "$default" and context.http.path.startswith(f"/{stage}/") else ""
    scheme = event.headers.get("x-forwarded-proto", "https")
    host = context.domain_name or event.headers.get("host", "")
    return f"{scheme}://{host}{base}{JOBS_PATH}/{job_id}"


def _job_document(record: JobRecord) -> dict[str, Any]:
    """The ``GET /v1/jobs/{job_id}`` body: result fields only when succeeded, the error only when failed."""
    progress = record.progress or {}
    document: dict[str, Any] = {
        "job_id": record.job_id,
        "status": record.status,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "progress": {
            "phase": progress.get("phase"),
            "shards_done": progress.get("shards_done") or 0,
            "shards_total": progress.get("shards_total"),
        },
        "result_url": None,
        "result_expires_at": None,
        "pair_count": None,
        "error": None,
    }
    if record.status == "succeeded":
        if record.result_key is None:
            raise RuntimeError(f"job {record.job_id} succeeded without a result_key")
        url, expires_at = jobs().result_url(record.result_key)
        document |= {"result_url": url, "result_expires_at": iso(expires_at), "pair_count": record.pair_count}
    elif record.status == "failed":
        document["error"] = record.error or {"code": "job_failed", "message": "the job failed", "details": []}
    return document


# --- submission ------------------------------------------------------------------------------------------------


def _submit(*, owner: str, request: dict[str, Any], status_url: Callable[[str], str], idempotency: Any) -> dict:
    """Start the job; the 202 body (what the idempotency layer stores and replays). ``idempotency``: its key."""
    record = jobs().submit(owner, request)
    metrics.add_metric(name="JobsSubmitted", unit=MetricUnit.Count, value=1)
    logger.info("job submitted", extra={"job_id": record.job_id})
    return {
        "job_id": record.job_id,
        "status": record.status,
        "status_url": status_url(record.job_id),
        "created_at": record.created_at,
    }


@dataclass(frozen=True, slots=True)
class _Idempotency:
    """``_submit`` under Powertools' idempotency, its config, and its exceptions as API errors."""

    config: Any
    submit: Callable[..., dict[str, Any]]
    errors: tuple[type[Exception], ...]
    translate: Callable[[Exception], ApiError]


@cache
def _idempotency() -> _Idempotency:
    """Powertools' idempotency on the jobs table (see the module docstring), set up on first use."""
    # The idempotency utility imports boto3 (~100 ms): only requests with an Idempotency-Key pay, once.
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    def translate(exc: Exception) -> ApiError:
        if isinstance(exc, IdempotencyValidationError):
            return UnprocessableEntity(
                "idempotency_key_reused",
                "this Idempotency-Key was used with another request body in the last 24 hours; use a new key",
                details=[{"loc": ["header", "idempotency-key"], "msg": "key already used with another body"}],
            )
        if isinstance(exc, IdempotencyAlreadyInProgressError):
            return Conflict(
                "idempotency_key_in_progress",
                "a request with this Idempotency-Key is still being accepted; retry shortly",
                headers={"Retry-After": "1"},
            )
        logger.warning("idempotency store unavailable", extra={"reason": str(exc)})
        return ServiceUnavailable(
            "jobs_unavailable", "the job store is busy or unreachable; retry later", headers={"Retry-After": "2"}
        )

    persistence = DynamoDBPersistenceLayer(
        table_name=settings.jobs_table,
        key_attr="owner",
        sort_key_attr="job_id",
        static_pk_value="idempotency",  # never an owner hash: the records stay out of every caller's job list
        expiry_attr="expires_at",  # the table's TTL attribute
        boto3_client=jobs().dynamodb,
    )
    config = IdempotencyConfig(
        event_key_jmespath="[owner, key]",
        payload_validation_jmespath="request_sha256",
        expires_after_seconds=IDEMPOTENCY_WINDOW_SECONDS,
    )
    submit = idempotent_function(
        _submit, data_keyword_argument="idempotency", persistence_store=persistence, config=config, key_prefix="jobs"
    )
    errors = (IdempotencyValidationError, IdempotencyAlreadyInProgressError, IdempotencyPersistenceLayerError)
    return _Idempotency(config=config, submit=submit, errors=errors, translate=translate)


@router.post(
    JOBS_PATH,
    summary="Submit the similar-account-pairs job to run asynchronously (same body and validation as the sync route)",
    tags=["jobs"],
    security=SIGV4,
    responses={202: {"description": "Job accepted", "content": json_content(JobCreatedResponse)}}
    | errors(*(status for status in DATA_ROUTE_ERRORS if status != 504), 409),
)
def submit_job(
    request: Annotated[PairsRequest, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="idempotency-key",
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="the same caller sending the same key within 24 h gets the same job (1-255 visible ASCII)",
        ),
    ] = None,
):
    owner = _owner()
    document = service.job_request(request, owner=owner, source="body")
    if idempotency_key is None:
        created = _submit(owner=owner, request=document, status_url=_status_url, idempotency=None)
    else:
        idempotency = _idempotency()
        idempotency.config.register_lambda_context(router.lambda_context)
        digest = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
        key = {"owner": owner_hash(owner), "key": idempotency_key, "request_sha256": digest}
        try:
            created = idempotency.submit(owner=owner, request=document, status_url=_status_url, idempotency=key)
        except idempotency.errors as exc:
            raise idempotency.translate(exc) from None
    return _respond(HTTPStatus.ACCEPTED, created, {"Location": created["status_url"]})


# --- reading, listing, cancelling ------------------------------------------------------------------------------

JobId = Annotated[str, Path(description="the job_id of POST /v1/jobs")]


@router.get(
    JOB_PATH,
    summary="A job's status and progress; when it succeeded, a fresh presigned URL of its result",
    tags=["jobs"],
    security=SIGV4,
    responses={200: {"description": "The job", "content": json_content(JobResponse)}} | errors(403, 404, 500, 503),
)
def get_job(job_id: JobId):
    return _respond(HTTPStatus.OK, _job_document(jobs().get(_owner(), job_id)))


@router.get(
    JOBS_PATH,
    summary="The caller's jobs, newest first (paginated)",
    tags=["jobs"],
    security=SIGV4,
    responses={200: {"description": "A page of jobs", "content": json_content(JobListResponse)}}
    | errors(403, 422, 500, 503),
)
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="most jobs on the page")] = DEFAULT_PAGE,
    next_token: Annotated[str | None, Query(max_length=200, description="next_token of the previous page")] = None,
):
    records, token = jobs().page(_owner(), limit=limit, next_token=next_token)
    summaries = [
        {
            "job_id": record.job_id,
            "status": record.status,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "status_url": _status_url(record.job_id),
        }
        for record in records
    ]
    return _respond(HTTPStatus.OK, {"jobs": summaries, "next_token": token})


@router.delete(
    JOB_PATH,
    summary="Cancel a queued or running job (idempotent); a finished job stays as it is",
    tags=["jobs"],
    security=SIGV4,
    responses={200: {"description": "The job after the call", "content": json_content(JobResponse)}}
    | errors(403, 404, 500, 503),
)
def cancel_job(job_id: JobId):
    record = jobs().cancel(_owner(), job_id)
    if record.status == "cancelled":
        metrics.add_metric(name="JobsCancelled", unit=MetricUnit.Count, value=1)
    return _respond(HTTPStatus.OK, _job_document(record))


# --- errors of the job routes ----------------------------------------------------------------------------------


@router.exception_handler(JobNotFound)
def job_not_found(exc: JobNotFound) -> Response:
    return _error(
        NotFound(
            "job_not_found",
            f"no job {exc.job_id[:64]} of yours: unknown or expired",
            details=[{"loc": ["path", "job_id"], "msg": "job not found"}],
        )
    )


@router.exception_handler(JobsUnavailable)
def jobs_unavailable(exc: JobsUnavailable) -> Response:
    logger.warning("job backend unavailable", extra={"reason": str(exc)})
    return _error(
        ServiceUnavailable(
            "jobs_unavailable",
            "the job store is busy or unreachable; retry later",
            headers={"Retry-After": str(exc.retry_after)},
        )
    )
