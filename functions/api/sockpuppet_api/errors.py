"""HTTP errors of the API and the error body of the contract.

Every error response has the body ``{"error": {"code", "message", "details": [{"loc", "msg"}]}, "request_id"}``.
Details are bounded (at most :data:`MAX_DETAILS` entries, messages and location parts cut to a few hundred
characters) so that an error never echoes a huge input back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

__all__ = [
    "MAX_DETAILS",
    "ApiError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "GatewayTimeout",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "clean_details",
    "error_body",
]

MAX_DETAILS = 20
MAX_TEXT = 300
MAX_LOC_PART = 100


class ApiError(Exception):
    """An error with an HTTP status, a stable machine-readable ``code`` and a human message.

    Parameters
    ----------
    code
        Stable snake_case error code (see ``docs/api.md``).
    message
        One-line explanation for humans.
    details
        ``[{"loc": [...], "msg": ...}]`` entries.
    headers
        Extra response headers (``Retry-After``, ``Allow``).
    """

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: Iterable[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    status = HTTPStatus.BAD_REQUEST


class Forbidden(ApiError):
    status = HTTPStatus.FORBIDDEN


class NotFound(ApiError):
    status = HTTPStatus.NOT_FOUND


class Conflict(ApiError):
    status = HTTPStatus.CONFLICT


class MethodNotAllowed(ApiError):
    status = HTTPStatus.METHOD_NOT_ALLOWED


class PayloadTooLarge(ApiError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMediaType(ApiError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class UnprocessableEntity(ApiError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class ServiceUnavailable(ApiError):
    status = HTTPStatus.SERVICE_UNAVAILABLE


class GatewayTimeout(ApiError):
    status = HTTPStatus.GATEWAY_TIMEOUT


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _clean_loc_part(part: Any) -> str | int:
    if isinstance(part, int) and not isinstance(part, bool):
        return part
    return _clip(str(part), MAX_LOC_PART)


def clean_details(details: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Bound a list of ``{"loc", "msg"}`` entries: at most :data:`MAX_DETAILS`, short strings, list locations."""
    cleaned: list[dict[str, Any]] = []
    for detail in details:
        if len(cleaned) == MAX_DETAILS:
            break
        cleaned.append(
            {
                "loc": [_clean_loc_part(part) for part in detail.get("loc", ())],
                "msg": _clip(str(detail.get("msg", "")), MAX_TEXT),
            }
        )
    return cleaned


def error_body(
    code: str, message: str, details: Iterable[Mapping[str, Any]], request_id: str
) -> dict[str, dict[str, Any] | str]:
    """The contract's error document."""
    return {
        "error": {"code": code, "message": _clip(message, MAX_TEXT), "details": clean_details(details)},
        "request_id": request_id,
    }
