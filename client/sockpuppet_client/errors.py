"""The client's exception: one error type for every non-2xx answer of the API or of S3."""

from __future__ import annotations

from typing import Any

__all__ = ["SockpuppetError"]


class SockpuppetError(Exception):
    """A non-2xx answer of the sockpuppet API (or of the S3 upload / result URL it handed out).

    Parameters
    ----------
    status
        HTTP status code.
    code
        The contract's ``error.code`` (e.g. ``"invalid_input"``); for answers without the contract's error body
        (API Gateway's own 403, an S3 XML error) the S3 error code or ``"http_<status>"``.
    message
        Human-readable message.
    details
        The contract's ``error.details``: ``[{"loc": [...], "msg": "..."}]`` (empty when absent).
    request_id
        The request id of the failed call (body ``request_id``, else a request-id header), if any.

    Attributes
    ----------
    request_body
        The body of the job request that failed, when the client sent one (e.g. to submit it as a job after a 504).
    """

    request_body: bytes | None = None

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(status, code, message, details or [], request_id)
        self.status = status
        self.code = code
        self.message = message
        self.details: list[dict[str, Any]] = details or []
        self.request_id = request_id

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.message}"
        if self.details:
            first = self.details[0]
            loc = ".".join(str(part) for part in first.get("loc", []))
            detail = f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
            if detail not in self.message:
                text += f" ({detail})"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text
