"""The Lambda function behind the HTTP API: routes, error mapping and the handler.

Routes are thin: they take validated input from Powertools (Pydantic models, ``enable_validation=True``), load
uploaded records through :class:`~sockpuppet_api.storage.PayloadStore`, run
:func:`sockpuppet.find_similar_accounts` against the Lambda deadline and hand the result back inline or through
S3. Every error is turned into the contract's error body in one place (the ``@app.exception_handler`` functions
below); every response carries ``X-Request-Id``.
"""

import re
import time
import warnings
from datetime import datetime
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, Literal

import botocore.session
import orjson
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from sockpuppet import DeadlineExceeded, InputError, __version__, find_similar_accounts
from sockpuppet_api.body import BodyLimits, JsonBodyResolver
from sockpuppet_api.config import settings
from sockpuppet_api.errors import (
    ApiError,
    BadRequest,
    Forbidden,
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
    ACCOUNTS_SCHEMA,
    HASHTAG_PATTERN,
    MAX_HASHTAG_LENGTH,
    POSTS_SCHEMA,
    UPLOAD_ID_PATTERN,
    ErrorResponse,
    HashtagMatch,
    HealthResponse,
    PairsRequest,
    PairsResponse,
    ResultDelivery,
    UploadRequest,
    UploadResponse,
)
from sockpuppet_api.storage import PayloadStore, StorageError, StorageUnavailable, UploadNotFound

HEALTH_PATH = "/health"
OPENAPI_PATH = "/openapi.json"
PAIRS_PATH = "/v1/similar-account-pairs"
UPLOADS_PATH = "/v1/uploads"
ALLOWED_METHODS = {HEALTH_PATH: "GET", OPENAPI_PATH: "GET", PAIRS_PATH: "GET, POST", UPLOADS_PATH: "POST"}
REQUEST_ID_HEADER = "X-Request-Id"
SIGV4 = [{"sigv4": []}]

logger = Logger()
tracer = Tracer(patch_modules=["botocore"])  # only what we call: patching every library X-Ray knows costs ~90 ms
metrics = Metrics()
# /health and the OpenAPI document publish no application metric (the cold-start metric is published on its own):
# Powertools' documented way to silence its "No application metrics to publish" warning on those requests.
warnings.filterwarnings("ignore", "No application metrics to publish.*")
# botocore directly: boto3 would only add import time (s3transfer etc.); botocore S3 clients have
# generate_presigned_post and honour AWS_ENDPOINT_URL_S3 like boto3's.
s3 = botocore.session.get_session().create_client(
    "s3", config=Config(signature_version="s3v4", retries={"mode": "standard"})
)
store = PayloadStore(
    s3,
    settings.payload_bucket,
    upload_ttl_seconds=settings.upload_url_ttl_seconds,
    result_ttl_seconds=settings.result_url_ttl_seconds,
    max_upload_bytes=settings.max_upload_bytes,
)
app = JsonBodyResolver(
    limits=BodyLimits(
        max_inline_bytes=settings.max_inline_body_bytes, max_decoded_bytes=settings.max_decoded_body_bytes
    ),
    enable_validation=True,
)


def _json_content(model: type) -> dict[str, Any]:
    return {"application/json": {"model": model}}


def _errors(*statuses: int) -> dict[int, dict[str, Any]]:
    return {
        status: {"description": HTTPStatus(status).phrase, "content": _json_content(ErrorResponse)}
        for status in statuses
    }


DATA_ROUTE_ERRORS = (400, 403, 404, 413, 415, 422, 500, 503, 504)
PAIRS_RESPONSES = {
    200: {"description": "Pairs (inline or at result_url)", "content": _json_content(PairsResponse)}
} | _errors(*DATA_ROUTE_ERRORS)


# --- responses, identity --------------------------------------------------------------------------------------


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


def _error(exc: ApiError) -> Response:
    return _respond(exc.status, error_body(exc.code, exc.message, exc.details, _request_id()), exc.headers)


def _owner() -> str:
    """The caller's IAM identity (``userArn``, else ``callerId``, else ``accountId``); 403 without one."""
    iam = app.current_event.request_context.authorizer.iam
    owner = iam.user_arn or iam.caller_id or iam.account_id
    if not owner:
        raise Forbidden("missing_identity", "this route needs an IAM (SigV4) signed request")
    return owner


def _deadline() -> float:
    """``time.monotonic()`` value by which the work must be done (Lambda time left minus the margin)."""
    remaining_ms = app.lambda_context.get_remaining_time_in_millis() - settings.deadline_margin_ms
    if remaining_ms <= 0:
        raise DeadlineExceeded("no time left before the Lambda deadline")
    return time.monotonic() + remaining_ms / 1000


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the job --------------------------------------------------------------------------------------------------


def _records(
    request: PairsRequest, kind: Literal["posts", "accounts"], source: str, owner: str, deadline: float
) -> tuple[list[dict[str, Any]], list[str | int]]:
    """Inline records as given, or the caller's upload streamed from S3; with the location prefix of a record.

    Records of an upload are located as ``[source, "posts_upload_id", "line", n, field]`` (TSV / JSON Lines),
    ``[source, "posts_upload_id", i, field]`` (JSON) or, for checks after loading, ``[..., "record", i, field]``.
    """
    inline = getattr(request, kind)
    if inline is not None:
        return inline, [source, kind]
    upload_id = getattr(request, f"{kind}_upload_id")
    where: list[str | int] = [source, f"{kind}_upload_id"]
    try:
        return store.read_records(owner, upload_id, kind=kind, deadline=deadline), [*where, "record"]
    except UploadNotFound as exc:
        raise UploadNotFound(exc.upload_id, loc=where) from None
    except InputError as exc:
        raise InputError(exc.message, _relocate(exc.details, source, {kind: where})) from None


def _relocate(details: list[dict[str, Any]], source: str, prefixes: dict[str, list[str | int]]) -> list[dict[str, Any]]:
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


def _check_request(request: PairsRequest, source: str) -> None:
    problems = []
    for kind in ("posts", "accounts"):
        inline, upload_id = getattr(request, kind), getattr(request, f"{kind}_upload_id")
        if inline is not None and upload_id is not None:
            problems.append({"loc": [source, kind], "msg": f"give either {kind} or {kind}_upload_id, not both"})
        elif inline is None and upload_id is None:
            problems.append({"loc": [source, kind], "msg": f"{kind} or {kind}_upload_id is required"})
    if problems:
        raise InputError(f"invalid request: {problems[0]['msg']}", problems)


def _check_records(records: Any, kind: str, where: list[str | int]) -> None:
    """The API's own limits (record count, screen-name length); the library validates everything else."""
    if not isinstance(records, list):
        return
    if len(records) > settings.max_records:
        raise InputError.at(tuple(where[:2]), f"at most {settings.max_records} {kind} per request")
    if kind != "accounts":
        return
    limit = settings.max_screen_name_length
    too_long = [
        {"loc": [*where, index, "screen_name"], "msg": f"longer than {limit} characters"}
        for index, record in enumerate(records)
        if isinstance(record, dict) and isinstance(name := record.get("screen_name"), str) and len(name) > limit
    ]
    if too_long:
        raise InputError(f"invalid accounts: screen_name longer than {limit} characters", too_long)


def _inline_size(payload: bytes) -> int:
    """Bytes the body takes in the Lambda response, where it travels as a JSON string (``"`` and ``\\`` escaped).

    Short ids make quotes a quarter of a pairs document, so the raw length would let a response past Lambda's
    6 MB payload limit.
    """
    return len(payload) + payload.count(b'"') + payload.count(b"\\")


@tracer.capture_method(capture_response=False)  # results can be megabytes: not X-Ray metadata
def _similar_pairs(request: PairsRequest, source: str) -> Response:
    """Run the job for a validated request and deliver the result inline or through S3."""
    deadline = _deadline()
    owner = _owner()
    _check_request(request, source)
    posts, posts_at = _records(request, "posts", source, owner, deadline)
    accounts, accounts_at = _records(request, "accounts", source, owner, deadline)
    _check_records(posts, "posts", posts_at)
    _check_records(accounts, "accounts", accounts_at)
    started = time.perf_counter()
    try:
        result = find_similar_accounts(
            posts,
            accounts,
            hashtag=request.hashtag,
            min_similarity=request.min_similarity,
            hashtag_match=request.hashtag_match,
            max_pairs=settings.max_pairs if request.max_pairs is None else request.max_pairs,
            deadline=deadline,
        )
    except InputError as exc:
        prefixes = {"posts": posts_at, "accounts": accounts_at}
        raise InputError(exc.message, _relocate(exc.details, source, prefixes)) from None
    metrics.add_metric(name="PostsReceived", unit=MetricUnit.Count, value=len(posts))
    metrics.add_metric(name="AccountsReceived", unit=MetricUnit.Count, value=len(accounts))
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1e3)
    metrics.add_metric(name="AccountsMatched", unit=MetricUnit.Count, value=result.accounts_matched)
    metrics.add_metric(name="PairsFound", unit=MetricUnit.Count, value=result.pair_count)
    logger.info(
        "job done",
        extra={
            "posts": len(posts),
            "accounts": len(accounts),
            "accounts_matched": result.accounts_matched,
            "pair_count": result.pair_count,
        },
    )
    return _deliver(result.to_dict(), request.result_delivery, owner, source)


def _deliver(body: dict[str, Any], delivery: str, owner: str, source: str) -> Response:
    """The 200 response: the result inline, or stored in S3 behind a presigned URL (see docs/api.md)."""
    payload = orjson.dumps(body)
    size = _inline_size(payload)
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
        return _respond(HTTPStatus.OK, payload)
    url, expires_at = store.put_result(owner, payload)
    metrics.add_metric(name="ResultsOffloaded", unit=MetricUnit.Count, value=1)
    return _respond(
        HTTPStatus.OK, {**body, "similar_account_pairs": None, "result_url": url, "result_expires_at": _iso(expires_at)}
    )


# --- routes ---------------------------------------------------------------------------------------------------
# Route functions have no return annotation on purpose: Powertools would turn it into response validation, and
# they return ready-serialized ``Response`` objects (the 200 schemas are declared in ``responses=``).


@app.get(
    HEALTH_PATH,
    summary="Liveness check (no authentication)",
    tags=["health"],
    responses={200: {"description": "OK", "content": _json_content(HealthResponse)}, **_errors(500)},
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
        **_errors(500),
    },
)
def openapi_document():
    return _respond(HTTPStatus.OK, openapi_json())


@app.post(
    PAIRS_PATH,
    summary="Similar screen-name pairs among the accounts that posted a hashtag",
    tags=["pairs"],
    compress=True,
    security=SIGV4,
    responses=PAIRS_RESPONSES,
)
def post_similar_pairs(request: Annotated[PairsRequest, Body()]):
    metrics.add_metric(name="RequestBodyBytes", unit=MetricUnit.Bytes, value=len(app.current_event.body_bytes))
    return _similar_pairs(request, source="body")


@app.get(
    PAIRS_PATH,
    summary="The same job by query string (inputs by upload id, or small inline JSON)",
    tags=["pairs"],
    compress=True,
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
    request = PairsRequest(
        hashtag=hashtag,
        min_similarity=min_similarity,
        hashtag_match=hashtag_match,
        max_pairs=max_pairs,
        result_delivery=result_delivery,
        **{name: value for name, value in inputs.items() if value is not None},
    )
    return _similar_pairs(request, source="query")


INLINE_QUERY_JSON: dict[str, dict[str, Any]] = {"posts": POSTS_SCHEMA, "accounts": ACCOUNTS_SCHEMA}
"""Query parameters that carry JSON: the document declares them with ``content: application/json``."""


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
    responses={201: {"description": "Upload ticket", "content": _json_content(UploadResponse)}}
    | _errors(400, 403, 413, 415, 422, 500, 503),
)
def create_upload(request: Annotated[UploadRequest, Body()]):
    ticket = store.create_upload(
        _owner(), kind=request.kind, fmt=request.format, content_encoding=request.content_encoding
    )
    return _respond(
        HTTPStatus.CREATED,
        {
            "upload_id": ticket.upload_id,
            "url": ticket.url,
            "fields": ticket.fields,
            "expires_at": _iso(ticket.expires_at),
            "max_bytes": ticket.max_bytes,
        },
    )


@cache
def openapi_json() -> bytes:
    """The OpenAPI document of the routes above (built on first use, once per execution environment)."""
    # Powertools' OpenAPI models cost ~100 ms to import: only the document route pays for them.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    generated = app.get_openapi_json_schema(
        title="sockpuppet",
        version=__version__,
        description="Find likely sock-puppet accounts: accounts posting a hashtag with near-identical screen names.",
        security_schemes={
            "sigv4": APIKey(name="Authorization", in_=APIKeyIn.header, description="AWS Signature Version 4 (IAM)")
        },
    )
    return orjson.dumps(_as_served(orjson.loads(generated)))


def _schema_refs(node: Any) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', orjson.dumps(node).decode()))


def _as_served(document: dict[str, Any]) -> dict[str, Any]:
    """What Powertools generates, corrected where it cannot say what the function does.

    * Powertools gives every route a 422 when validation is on; the routes without parameters never answer it.
    * Query parameters carrying JSON are ``content: application/json`` parameters with the records' schema
      (Powertools can only declare them as plain strings).
    * Component schemas no longer referenced (Powertools' own validation-error models) are dropped.
    """
    for item in document["paths"].values():
        for operation in item.values():
            parameters = operation.get("parameters", [])
            if not parameters and "requestBody" not in operation:
                operation["responses"].pop("422", None)
            for index, parameter in enumerate(parameters):
                if parameter["in"] == "query" and parameter["name"] in INLINE_QUERY_JSON:
                    parameters[index] = {
                        "name": parameter["name"],
                        "in": "query",
                        "required": False,
                        "description": parameter["description"],
                        "content": {"application/json": {"schema": INLINE_QUERY_JSON[parameter["name"]]}},
                    }
    schemas = document["components"]["schemas"]
    reachable: set[str] = set()
    pending = _schema_refs({key: value for key, value in document.items() if key != "components"})
    while pending:
        name = pending.pop()
        if name not in reachable:
            reachable.add(name)
            pending |= _schema_refs(schemas[name])
    document["components"]["schemas"] = {name: schemas[name] for name in schemas if name in reachable}
    return document


# --- errors (the one place where exceptions become HTTP statuses) ----------------------------------------------


@app.not_found
def route_not_found(_: NotFoundError) -> Response:
    allowed = ALLOWED_METHODS.get(app.current_event.path)
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
            "the work could not finish before the function's time limit; send fewer records, raise min_similarity, "
            "or lower max_pairs",
        )
    )


@app.exception_handler(Exception)
def internal_error(exc: Exception) -> Response:
    if isinstance(exc, StorageError):
        logger.error("S3 misconfiguration", extra={"reason": str(exc)})
    else:
        logger.exception("unhandled error")
    return _error(ApiError("internal_error", "internal error; the request id identifies it in our logs"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
