"""Pydantic models of the API's requests and responses (they also make the OpenAPI document).

Request objects forbid unknown top-level fields (``extra="forbid"``) so that a typo such as ``min_similiarity``
is a 422 instead of a silently ignored parameter. The *records* inside ``posts`` / ``accounts`` are not validated
by Pydantic: they are passed through untouched (``SkipValidation``) and validated by the ``sockpuppet`` library,
which accepts the contract's value forms, ignores extra fields and reports problems as
``["body", "posts", 3, "author_id"]`` — one pass in C-speed comprehensions instead of a model per record. Their
JSON Schema is still published for clients and fuzzers. (On the pairs route, records of the usual shape arrive
already as the library's columns: see :mod:`sockpuppet_api.columnar`.)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from sockpuppet_api.config import settings

__all__ = [
    "ACCOUNTS_SCHEMA",
    "HASHTAG_PATTERN",
    "POSTS_SCHEMA",
    "UPLOAD_ID_PATTERN",
    "ErrorResponse",
    "HealthResponse",
    "PairsRequest",
    "PairsResponse",
    "SignalsRequest",
    "UploadRequest",
    "UploadResponse",
]

UPLOAD_ID_PATTERN = r"^[A-Za-z0-9_-]{22,64}$"
# Whitespace exactly as str.isspace() (what the library rejects), spelled out so that every regex dialect (Python,
# Rust, ECMAScript in clients and fuzzers) reads the same set; "\s" differs between them.
_WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
HASHTAG_PATTERN = rf"^#?[^#{_WHITESPACE}][^{_WHITESPACE}]*$"
MAX_HASHTAG_LENGTH = 280

_NULL: dict[str, Any] = {"type": "null"}
# Records are described as the library validates them: the required fields with every value form it accepts, and
# nothing else (other fields, such as a post's id or text, are allowed and ignored). JSON Schema cannot tell 3 from
# 3.0 (both are "integer"), while the library refuses every JSON number with a fraction or an exponent: a float
# cannot hold every 64-bit id exactly, and turning 2350999649324164959.0 into another id silently would be worse
# than a 422. The descriptions say so.
_ID_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "format": "int64"}],
    "description": "a non-empty string, or a JSON integer (used as its decimal string); "
    "numbers written with a fraction or an exponent (3.0, 1e3) are refused",
}
_TRUTH_WORD = "[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0"
POST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A post (columns of the original posts.tsv); other fields (id, created_at, text, ...) are "
    "allowed and ignored.",
    "properties": {
        "author_id": _ID_SCHEMA,
        "is_repost": {
            "anyOf": [
                {"type": "boolean"},
                {"type": "integer", "enum": [0, 1]},
                {"type": "string", "pattern": rf"^[{_WHITESPACE}]*({_TRUTH_WORD})[{_WHITESPACE}]*$"},
            ],
            "description": "true/false, the JSON integers 0/1, or the strings true/false (any case) and 1/0, "
            "surrounding whitespace allowed (the TSV form)",
        },
        "hashtags": {
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "string", "description": "pipe-separated, as in posts.tsv: #a|#b"},
                _NULL,
            ]
        },
    },
    "required": ["author_id", "is_repost", "hashtags"],
    "additionalProperties": True,
}
ACCOUNT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An account (columns of the original accounts.tsv); other fields (created_at, ...) are allowed "
    "and ignored.",
    "properties": {
        "id": _ID_SCHEMA,
        "screen_name": {"anyOf": [{"type": "string", "maxLength": settings.max_screen_name_length}, _NULL]},
    },
    "required": ["id", "screen_name"],
    "additionalProperties": True,
}
POSTS_SCHEMA: dict[str, Any] = {"type": "array", "items": POST_SCHEMA, "maxItems": settings.max_records}
ACCOUNTS_SCHEMA: dict[str, Any] = {"type": "array", "items": ACCOUNT_SCHEMA, "maxItems": settings.max_records}

Posts = Annotated[
    list[dict[str, Any]] | None,
    SkipValidation,
    WithJsonSchema(POSTS_SCHEMA),
]
Accounts = Annotated[
    list[dict[str, Any]] | None,
    SkipValidation,
    WithJsonSchema(ACCOUNTS_SCHEMA),
]
UploadId = Annotated[
    str | None,
    Field(pattern=UPLOAD_ID_PATTERN),
    WithJsonSchema({"type": "string", "pattern": UPLOAD_ID_PATTERN, "description": "an id from POST /v1/uploads"}),
]
Hashtag = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_HASHTAG_LENGTH,
        pattern=HASHTAG_PATTERN,
        examples=["#diedsuddenly"],
        description="with or without the leading #; no whitespace",
    ),
]
MinSimilarity = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


def _whole_number(value: Any) -> Any:
    """JSON Schema's ``integer`` includes ``3.0``: take integral floats as ints (strict mode would refuse them)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


MaxPairs = Annotated[
    Annotated[int, Field(ge=0, le=settings.max_pairs)] | None,
    BeforeValidator(_whole_number),
    Field(description="most pairs returned; null or absent: MAX_PAIRS"),
]
HashtagMatch = Literal["exact", "case_insensitive"]
ResultDelivery = Literal["auto", "inline", "url"]


class CoHashtagOptions(BaseModel):
    """Parameters of the co-hashtag signal (contract section 5)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    window_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        default=60, description="largest difference between the two posts' created_at (inclusive)"
    )
    min_shared: Annotated[int, BeforeValidator(_whole_number), Field(ge=1)] = Field(
        default=2, description="fewest distinct shared hashtags reported"
    )


class BurstOptions(BaseModel):
    """Parameters of the creation-burst signal (contract section 5)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    window_seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        default=3600, description="largest gap between consecutive account creations inside a burst (inclusive)"
    )
    min_accounts: Annotated[int, BeforeValidator(_whole_number), Field(ge=2)] = Field(
        default=3, description="smallest burst reported"
    )


class SignalsRequest(BaseModel):
    """Coordination signals to add to the result; they need parseable ``created_at`` values (422 where one is not)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    co_hashtag: CoHashtagOptions | None = None
    creation_bursts: BurstOptions | None = None
    clusters: bool = False


class PairsRequest(BaseModel):
    """Body of ``POST /v1/similar-account-pairs``: each of posts/accounts inline or as an upload id."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "allOf": [
                {"oneOf": [{"required": ["posts"]}, {"required": ["posts_upload_id"]}]},
                {"oneOf": [{"required": ["accounts"]}, {"required": ["accounts_upload_id"]}]},
            ]
        },
    )

    # repr=False: Powertools logs the route arguments with an f-string on every request (even at INFO), and the
    # repr of thousands of records would cost milliseconds per request.
    posts: Posts = Field(default=None, repr=False)
    accounts: Accounts = Field(default=None, repr=False)
    posts_upload_id: UploadId = None
    accounts_upload_id: UploadId = None
    hashtag: Hashtag
    min_similarity: MinSimilarity = 0.8
    hashtag_match: HashtagMatch = "exact"
    max_pairs: MaxPairs = None
    result_delivery: ResultDelivery = "auto"
    signals: SignalsRequest | None = Field(
        default=None, description="coordination signals: co-hashtag pairs, creation bursts, clusters with evidence"
    )

    @field_validator("posts", "accounts", "posts_upload_id", "accounts_upload_id", mode="before")
    @classmethod
    def _given_means_not_null(cls, value: Any) -> Any:
        """Inputs are omitted, not null: the schema's "exactly one of" counts the fields that are present."""
        if value is None:
            raise ValueError("must not be null (leave the field out instead)")
        return value

    @model_validator(mode="after")
    def _exactly_one_source(self) -> PairsRequest:
        """Each of posts/accounts comes inline or as an upload id: exactly one of the two (422 at the inline field)."""
        problems: list[InitErrorDetails] = []
        for kind in ("posts", "accounts"):
            inline, upload_id = getattr(self, kind), getattr(self, f"{kind}_upload_id")
            if inline is not None and upload_id is not None:
                message = f"give either {kind} or {kind}_upload_id, not both"
            elif inline is None and upload_id is None:
                message = f"{kind} or {kind}_upload_id is required"
            else:
                continue
            problems.append(
                InitErrorDetails(type=PydanticCustomError("one_source", message), loc=(kind,), input=upload_id)
            )
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


class Burst(BaseModel):
    """A maximal run of matched accounts created at most ``window_seconds`` apart."""

    start: str = Field(description="ISO 8601 UTC")
    end: str = Field(description="ISO 8601 UTC")
    account_ids: list[str] = Field(description="by (created_at, accounts-input index)")


class ClusterMember(BaseModel):
    """A cluster member."""

    id: str
    screen_name: str | None
    created_at: str | None = Field(description="ISO 8601 UTC; null when the account has no time")


class Cluster(BaseModel):
    """A connected component of the similar-name pair graph with its evidence."""

    members: list[ClusterMember] = Field(description="accounts-input order")
    pair_count: int
    min_similarity: float
    max_similarity: float
    co_hashtag_pairs: list[tuple[str, str, int, list[str]]] = Field(description="co-hashtag pairs inside the cluster")
    creation_span_seconds: float | None = Field(description="null when a member has no creation time")
    members_in_bursts: list[str] = Field(description="members (input order) in a reported creation burst")


class PairsResponse(BaseModel):
    """200 body of the similar-account-pairs routes (also the document stored in S3 for URL delivery)."""

    similar_account_pairs: list[tuple[str, str, float]] | None = Field(
        description="[id1, id2, similarity] in the reference order; null when the result is at result_url"
    )
    pair_count: int
    hashtag: str
    min_similarity: float
    accounts_matched: int
    authors_without_account: int
    truncated: bool
    result_url: str | None = Field(description="presigned GET URL of the full result (gzip JSON)")
    result_expires_at: str | None = Field(description="ISO 8601 UTC expiry of result_url")
    co_hashtag_pairs: list[tuple[str, str, int, list[str]]] | None = Field(
        default=None,
        description="[id_a, id_b, shared hashtag count, sorted shared hashtags]; only when asked; null when the "
        "result is at result_url",
    )
    creation_bursts: list[Burst] | None = Field(
        default=None, description="only when asked; null when the result is at result_url"
    )
    clusters: list[Cluster] | None = Field(
        default=None, description="only when asked; null when the result is at result_url"
    )


class UploadRequest(BaseModel):
    """Body of ``POST /v1/uploads``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["posts", "accounts"]
    format: Literal["json", "jsonl", "tsv"]
    content_encoding: Literal["gzip"] | None = None


class UploadResponse(BaseModel):
    """201 body of ``POST /v1/uploads``: a presigned S3 POST (send ``fields`` then the file as ``file``)."""

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: str
    max_bytes: int


class HealthResponse(BaseModel):
    """200 body of ``GET /health``."""

    status: Literal["ok"]


class ErrorDetail(BaseModel):
    """One problem: where (``loc``, e.g. ``["body", "posts", 3, "author_id"]``) and what (``msg``)."""

    loc: list[str | int]
    msg: str


class ErrorInfo(BaseModel):
    """The ``error`` member of an error response."""

    code: str = Field(description="stable machine-readable code, e.g. validation_error, upload_not_found")
    message: str
    details: list[ErrorDetail]


class ErrorResponse(BaseModel):
    """Body of every 4xx/5xx response."""

    error: ErrorInfo
    request_id: str
