"""The Lambda function behind the HTTP API: wiring of routes, error mapping and the handler.

Routes take validated input from Powertools (Pydantic models, ``enable_validation=True``) and call
:mod:`sockpuppet_api.service`, which loads the records, runs the library against the Lambda deadline and delivers
the result inline or through S3. Every error becomes the contract's error body in one place (the
``@app.exception_handler`` functions below); every response carries ``X-Request-Id``. The OpenAPI declarations
live in :mod:`sockpuppet_api.openapi`, next to the models.
"""

import gc
import warnings
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

import orjson
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sockpuppet import DeadlineExceeded, InputError
from sockpuppet_api import job_routes, openapi, service
from sockpuppet_api.body import BodyLimits, JsonBodyResolver
from sockpuppet_api.columnar import decode_pairs_body
from sockpuppet_api.config import settings
from sockpuppet_api.errors import (
    ApiError,
    BadRequest,
    GatewayTimeout,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnprocessableEntity,
    UnsupportedMediaType,
    error_body,
)
from sockpuppet_api.models import (
    HASHTAG_PATTERN,
    MAX_HASHTAG_LENGTH,
    UPLOAD_ID_PATTERN,
    HashtagMatch,
    HealthResponse,
    PairsRequest,
    ResultDelivery,
    UploadRequest,
    UploadResponse,
)
from sockpuppet_api.openapi import PAIRS_RESPONSES, SIGV4, errors, json_content
from sockpuppet_api.storage import (
    StorageError,
    StorageUnavailable,
    UploadNotFound,
    UploadTooLarge,
    gzip_by_pieces,
)

HEALTH_PATH = "/health"
OPENAPI_PATH = "/openapi.json"
PAIRS_PATH = "/v1/similar-account-pairs"
UPLOADS_PATH = "/v1/uploads"
ALLOWED_METHODS = {
    HEALTH_PATH: "GET",
    OPENAPI_PATH: "GET",
    PAIRS_PATH: "GET, POST",
    UPLOADS_PATH: "POST",
    job_routes.JOBS_PATH: "GET, POST",
    job_routes.JOB_OPENAPI_PATH: "GET, DELETE",
}
"""Methods of each path (OpenAPI form), for the 405 answers' ``Allow``."""
REQUEST_ID_HEADER = "X-Request-Id"
YOUNG_GC_THRESHOLD = 20_000
"""New live containers that trigger a young collection (Python's default: 700); see ``gc.set_threshold`` below."""
MIN_COMPRESSED_BYTES = 1024
"""Smaller pairs documents are sent as they are: gzip and base64 would make them no smaller."""

logger = Logger()
tracer = Tracer(patch_modules=["botocore"])  # only what we call: patching every library X-Ray knows costs ~90 ms
metrics = Metrics()
# /health and the OpenAPI document publish no application metric (the cold-start metric is published on its own):
# Powertools' documented way to silence its "No application metrics to publish" warning on those requests.
warnings.filterwarnings("ignore", "No application metrics to publish.*")
store = service.store
app = JsonBodyResolver(
    limits=BodyLimits(
        max_inline_bytes=settings.max_inline_body_bytes, max_decoded_bytes=settings.max_decoded_body_bytes
    ),
    fast_decoders={("POST", PAIRS_PATH): decode_pairs_body},  # inline records straight into columns
    enable_validation=True,
)


# --- request context ------------------------------------------------------------------------------------------


def _request_id() -> str:
    context = app.current_event.get("requestContext") or {}
    return context.get("requestId") or app.lambda_context.aws_request_id


def _respond(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response carrying the request id (``body`` may be pre-serialized bytes)."""
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=payload.decode(),
        headers={REQUEST_ID_HEADER: _request_id(), **(headers or {})},
    )


def gzip_responses(app: JsonBodyResolver, next_middleware: NextMiddleware) -> Response:
    """Middleware: a successful response of at least :data:`MIN_COMPRESSED_BYTES` is sent gzip-compressed (level 1)
    when the caller accepts gzip.

    Instead of Powertools' ``compress=True``, whose level 9 takes ~2 s for a 5 MB pairs document on one vCPU:
    time the deadline margin does not have. (Error bodies are small and never compressed.)
    """
    response = next_middleware(app)
    body = response.body
    if (
        isinstance(body, str)
        and len(body) >= MIN_COMPRESSED_BYTES
        and "gzip" in app.current_event.headers.get("accept-encoding", "")
    ):
        response.body = gzip_by_pieces(body.encode(), deadline=None)  # bytes: Powertools base64-encodes them
        response.headers["Content-Encoding"] = "gzip"
    return response


app.use(middlewares=[gzip_responses])


def _error(exc: ApiError) -> Response:
    return _respond(exc.status, error_body(exc.code, exc.message, exc.details, _request_id()), exc.headers)


def _owner() -> str:
    iam = app.current_event.request_context.authorizer.iam
    return service.owner_of(iam.user_arn, iam.caller_id, iam.account_id)


def _deadline() -> float:
    return service.deadline_after(app.lambda_context.get_remaining_time_in_millis())


# --- routes ---------------------------------------------------------------------------------------------------
# Route functions have no return annotation on purpose: Powertools would turn it into response validation, and
# they return ready-serialized ``Response`` objects (the 200 schemas are declared in ``responses=``).


@app.get(
    HEALTH_PATH,
    summary="Liveness check (no authentication)",
    tags=["health"],
    responses={200: {"description": "OK", "content": json_content(HealthResponse)}, **errors(500)},
)
def health():
    return _respond(HTTPStatus.OK, {"status": "ok"})


@app.get(
    OPENAPI_PATH,
    summary="This OpenAPI 3.1 document",
    tags=["health"],
    security=SIGV4,
    responses={
        200: {
            "description": "OK",
            "content": {"application/json": {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}},
        },
        **errors(500),
    },
)
def openapi_document():
    return _respond(HTTPStatus.OK, openapi_json())


@app.post(
    PAIRS_PATH,
    summary="Similar screen-name pairs among the accounts that posted a hashtag",
    tags=["pairs"],
    security=SIGV4,
    responses=PAIRS_RESPONSES,
)
def post_similar_pairs(request: Annotated[PairsRequest, Body()]):
    metrics.add_metric(name="RequestBodyBytes", unit=MetricUnit.Bytes, value=len(app.current_event.body_bytes))
    deadline, owner = _deadline(), _owner()
    return _respond(HTTPStatus.OK, service.similar_pairs(request, owner=owner, source="body", deadline=deadline))


@app.get(
    PAIRS_PATH,
    summary="The same job by query string (inputs by upload id, or small inline JSON)",
    tags=["pairs"],
    security=SIGV4,
    responses=PAIRS_RESPONSES,
)
def get_similar_pairs(
    hashtag: Annotated[str, Query(min_length=1, max_length=MAX_HASHTAG_LENGTH, pattern=HASHTAG_PATTERN)],
    min_similarity: Annotated[float, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.8,
    hashtag_match: Annotated[HashtagMatch, Query()] = "exact",
    max_pairs: Annotated[int | None, Query(ge=0, le=settings.max_pairs)] = None,
    result_delivery: Annotated[ResultDelivery, Query()] = "auto",
    posts_upload_id: Annotated[str | None, Query(pattern=UPLOAD_ID_PATTERN)] = None,
    accounts_upload_id: Annotated[str | None, Query(pattern=UPLOAD_ID_PATTERN)] = None,
    posts: Annotated[str | None, Query(description="small inline JSON array of posts (parsed only)")] = None,
    accounts: Annotated[str | None, Query(description="small inline JSON array of accounts (parsed only)")] = None,
):
    inputs = {
        "posts_upload_id": posts_upload_id,
        "accounts_upload_id": accounts_upload_id,
        "posts": _query_json(posts, "posts"),
        "accounts": _query_json(accounts, "accounts"),
    }
    deadline, owner = _deadline(), _owner()
    try:
        request = PairsRequest(
            hashtag=hashtag,
            min_similarity=min_similarity,
            hashtag_match=hashtag_match,
            max_pairs=max_pairs,
            result_delivery=result_delivery,
            **{name: value for name, value in inputs.items() if value is not None},
        )
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]) from None
    return _respond(HTTPStatus.OK, service.similar_pairs(request, owner=owner, source="query", deadline=deadline))


def _query_json(value: str | None, name: str) -> Any:
    """Parse an inline JSON query parameter (JSON only: never evaluated)."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InputError.at(("query", name), f"invalid JSON: {exc}") from None


@app.post(
    UPLOADS_PATH,
    summary="Presigned S3 POST for uploading posts or accounts (TSV, JSON, JSON Lines; optionally gzip)",
    tags=["uploads"],
    security=SIGV4,
    responses={201: {"description": "Upload ticket", "content": json_content(UploadResponse)}}
    | errors(400, 403, 413, 415, 422, 500, 503),
)
def create_upload(request: Annotated[UploadRequest, Body()]):
    return _respond(HTTPStatus.CREATED, service.create_upload(request, owner=_owner()))


app.include_router(job_routes.router)  # /v1/jobs: sockpuppet_api.job_routes


@cache
def openapi_json() -> bytes:
    """The OpenAPI document of the routes above (built on first use, once per execution environment)."""
    return openapi.document(app)


# --- errors (the one place where exceptions become HTTP statuses) ----------------------------------------------


@app.not_found
def route_not_found(_: NotFoundError) -> Response:
    path = app.current_event.path
    allowed = ALLOWED_METHODS.get(job_routes.JOB_OPENAPI_PATH if job_routes.JOB_PATH_PATTERN.match(path) else path)
    if allowed is not None:
        method = app.current_event.http_method
        return _error(
            MethodNotAllowed("method_not_allowed", f"{method} is not allowed here", headers={"Allow": allowed})
        )
    return _error(NotFound("route_not_found", f"no route {app.current_event.path[:200]}"))


@app.exception_handler(ApiError)
def api_error(exc: ApiError) -> Response:
    return _error(exc)


@app.exception_handler(RequestValidationError)
def request_validation_error(exc: RequestValidationError) -> Response:
    if isinstance(exc.__cause__, ApiError):  # raised by our body decoding inside Powertools' form/multipart parsing
        return _error(exc.__cause__)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        reason = next(str(e.get("ctx", {}).get("error", "")) for e in errors if e.get("type") == "json_invalid")
        return _error(
            BadRequest("invalid_json", "the request body is not valid JSON", details=[{"loc": ["body"], "msg": reason}])
        )
    details = [{"loc": list(error.get("loc", ())), "msg": error.get("msg", "")} for error in errors]
    first = details[0]
    where = ".".join(str(part) for part in first["loc"])
    return _error(UnprocessableEntity("validation_error", f"invalid request: {where}: {first['msg']}", details=details))


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(exc: RequestUnsupportedContentType) -> Response:
    return _error(
        UnsupportedMediaType(
            "unsupported_media_type",
            "request bodies must be application/json",
            details=[{"loc": ["header", "content-type"], "msg": "must be application/json"}],
        )
    )


@app.exception_handler(InputError)
def input_error(exc: InputError) -> Response:
    return _error(UnprocessableEntity("validation_error", exc.message, details=exc.details))


@app.exception_handler(UploadNotFound)
def upload_not_found(exc: UploadNotFound) -> Response:
    return _error(
        NotFound(
            "upload_not_found",
            f"no upload {exc.upload_id[:64]} of yours: unknown, not uploaded yet, or expired",
            details=[{"loc": exc.loc, "msg": "upload not found"}],
        )
    )


@app.exception_handler(UploadTooLarge)
def upload_too_large(exc: UploadTooLarge) -> Response:
    return _error(
        PayloadTooLarge(
            "upload_too_large",
            f"a JSON-array upload is parsed whole and may decompress to at most {exc.limit} bytes "
            "(MAX_DECODED_BODY_BYTES); upload JSON Lines or TSV instead, which stream",
            details=[{"loc": exc.loc, "msg": f"decompressed JSON larger than {exc.limit} bytes"}],
        )
    )


@app.exception_handler(StorageUnavailable)
def storage_unavailable(exc: StorageUnavailable) -> Response:
    logger.warning("S3 unavailable", extra={"reason": str(exc)})
    return _error(
        ServiceUnavailable(
            "storage_unavailable",
            "the payload store is busy or unreachable; retry later",
            headers={"Retry-After": str(exc.retry_after)},
        )
    )


@app.exception_handler(DeadlineExceeded)
def deadline_exceeded(exc: DeadlineExceeded) -> Response:
    logger.warning("deadline exceeded", extra={"reason": str(exc)})
    return _error(
        GatewayTimeout(
            "deadline_exceeded",
            "the work could not finish before the function's time limit; submit it as an asynchronous job with "
            "POST /v1/jobs (same body), or send fewer records, raise min_similarity or lower max_pairs",
        )
    )


@app.exception_handler(Exception)
def internal_error(exc: Exception) -> Response:
    if isinstance(exc, StorageError):
        logger.error("S3 misconfiguration", extra={"reason": str(exc)})
    else:
        logger.exception("unhandled error")
    return _error(ApiError("internal_error", "internal error; the request id identifies it in our logs"))


# --- handler ----------------------------------------------------------------------------------------------------

# Everything the init created (modules, models, routes: ~115k tracked objects) lives as long as the environment:
# moved out of the cyclic GC's reach, so the collections a request's allocations trigger stop rescanning it
# (a 1k-post request: p50 -30 % in-process).
gc.freeze()
# A request's objects die by reference counting, but a parsed body keeps its containers alive while it is read: at
# the default threshold (700 new live containers) a 1k-post body (~2,000 dicts and lists) triggered a young
# collection in 9 requests out of 10, each rescanning the live document (~0.15 ms through the RIE). From this
# threshold on, bodies up to ~10k posts are parsed without one; larger ones are collected every 20,000 containers.
gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
