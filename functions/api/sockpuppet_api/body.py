"""Request bodies: base64, gzip, content type and size limits, before any JSON parsing.

API Gateway (HTTP API, payload 2.0) hands the body over as a string, base64-encoded when it is binary (e.g.
``Content-Encoding: gzip``). :class:`JsonRequestEvent` is the resolver's event class: its ``body`` /
``json_body`` go through :func:`decode_body`, so Powertools' request validation only ever sees a decoded,
size-checked JSON document, and an unacceptable body becomes a 400 / 413 / 415 :class:`~sockpuppet_api.errors.ApiError`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from zlib_ng import zlib_ng

from sockpuppet_api.errors import BadRequest, PayloadTooLarge, UnprocessableEntity, UnsupportedMediaType

__all__ = ["BodyLimits", "JsonBodyResolver", "JsonRequestEvent", "decode_body", "gunzip_bounded"]

UPLOAD_HINT = "send large inputs with POST /v1/uploads and pass the upload ids instead"


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """Largest raw body (after base64, before gunzip) and largest gunzipped body, in bytes."""

    max_inline_bytes: int
    max_decoded_bytes: int


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Decompress gzip ``data`` (one or more members) without ever holding more than ``limit + 1`` bytes.

    With zlib-ng, which inflates about twice as fast as zlib and accepts, refuses and reports exactly as zlib does
    (its inflate is zlib's, with the same messages).

    Parameters
    ----------
    data
        The compressed body.
    limit
        Largest accepted decompressed size.

    Returns
    -------
    bytes
        The decompressed body.

    Raises
    ------
    BadRequest
        ``invalid_gzip`` when ``data`` is not complete, valid gzip.
    PayloadTooLarge
        ``decoded_body_too_large`` when it decompresses to more than ``limit`` bytes.
    """
    parts: list[bytes] = []
    size = 0
    remaining = data
    try:
        while True:
            inflater = zlib_ng.decompressobj(zlib_ng.MAX_WBITS | 16)
            parts.append(inflater.decompress(remaining, limit + 1 - size))
            size += len(parts[-1])
            if size > limit:
                raise PayloadTooLarge(
                    "decoded_body_too_large",
                    f"the gunzipped request body is larger than {limit} bytes; {UPLOAD_HINT}",
                    details=[{"loc": ["body"], "msg": f"decompressed size exceeds {limit} bytes"}],
                )
            if not inflater.eof:
                raise zlib_ng.error("truncated gzip data")
            remaining = inflater.unused_data
            if not remaining.strip(b"\x00"):
                return parts[0] if len(parts) == 1 else b"".join(parts)
    except zlib_ng.error as exc:
        raise BadRequest(
            "invalid_gzip",
            "the request body says Content-Encoding: gzip but is not valid gzip",
            details=[{"loc": ["body"], "msg": str(exc)}],
        ) from None


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def decode_body(body: str | None, *, is_base64: bool, headers: Mapping[str, str], limits: BodyLimits) -> bytes:
    """Turn the event's body into the bytes of a JSON document, enforcing the contract's 400/413/415 rules.

    Parameters
    ----------
    body
        The event's ``body`` (``None`` when the request had none).
    is_base64
        The event's ``isBase64Encoded``.
    headers
        Request headers (case-insensitive mapping).
    limits
        Size limits.

    Returns
    -------
    bytes
        The (gunzipped) body; empty when there was none.

    Raises
    ------
    BadRequest
        Invalid base64 or gzip.
    PayloadTooLarge
        Raw body over ``limits.max_inline_bytes`` or gunzipped body over ``limits.max_decoded_bytes``.
    UnsupportedMediaType
        A declared content type other than ``application/json`` or a content encoding other than gzip/identity.
        A body without any ``Content-Type`` is read as JSON.
    """
    if not body:
        return b""
    media_type = _media_type(headers)
    if media_type and media_type != "application/json":
        raise UnsupportedMediaType(
            "unsupported_media_type",
            f"request bodies must be application/json, got {media_type[:100]!r}",
            details=[{"loc": ["header", "content-type"], "msg": "must be application/json"}],
        )
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise UnsupportedMediaType(
            "unsupported_content_encoding",
            f"Content-Encoding must be gzip or identity, got {encoding[:100]!r}",
            details=[{"loc": ["header", "content-encoding"], "msg": "must be gzip or identity"}],
        )
    if is_base64:
        if len(body) > (limits.max_inline_bytes + 2) // 3 * 4 + 4:
            raise _too_large(limits.max_inline_bytes)
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(
                "invalid_base64",
                "the request body is marked base64-encoded but is not valid base64",
                details=[{"loc": ["body"], "msg": "invalid base64"}],
            ) from None
    else:
        if len(body) > limits.max_inline_bytes:
            raise _too_large(limits.max_inline_bytes)
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > limits.max_inline_bytes:
        raise _too_large(limits.max_inline_bytes)
    if encoding == "gzip":
        return gunzip_bounded(raw, limits.max_decoded_bytes)
    return raw


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        "body_too_large",
        f"the request body is larger than the inline limit of {limit} bytes; {UPLOAD_HINT}",
        details=[{"loc": ["body"], "msg": f"size exceeds {limit} bytes"}],
    )


FastDecoder = Callable[[bytes], "dict[str, Any] | None"]
"""A route's own decoder of its usual bodies: the document, or ``None`` to have the body parsed with orjson."""


class JsonRequestEvent(APIGatewayProxyEventV2):
    """HTTP API v2 event whose body is decoded (base64, gzip) and checked once, then parsed (``fast_decoder`` first,
    when the route has one, else or when it declines, orjson)."""

    def __init__(self, data: dict[str, Any], *, limits: BodyLimits, fast_decoder: FastDecoder | None = None) -> None:
        super().__init__(data, orjson.loads)
        self.limits = limits
        self.fast_decoder = fast_decoder

    @cached_property
    def body_bytes(self) -> bytes:
        """The decoded request body (see :func:`decode_body`)."""
        return decode_body(
            self.get("body"), is_base64=bool(self.get("isBase64Encoded")), headers=self.headers, limits=self.limits
        )

    @property
    def is_base64_encoded(self) -> bool:
        return False

    @property
    def body(self) -> str | None:
        try:
            return self.body_bytes.decode("utf-8") if self.body_bytes else None
        except UnicodeDecodeError:
            raise BadRequest("invalid_json", "the request body is not UTF-8 JSON") from None

    @cached_property
    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object (only read by routes that take a body).

        Raises
        ------
        BadRequest
            ``invalid_json`` for an empty body (``orjson.JSONDecodeError``, a ``json.JSONDecodeError`` that
            Powertools turns into a ``json_invalid`` validation error, for malformed JSON).
        UnprocessableEntity
            When the document is not an object (Powertools would otherwise unwrap a one-element array).
        """
        if not self.body_bytes:
            raise BadRequest(
                "invalid_json",
                "the request body is empty; send a JSON object",
                details=[{"loc": ["body"], "msg": "empty"}],
            )
        document = self.fast_decoder(self.body_bytes) if self.fast_decoder is not None else None
        if document is None:
            document = orjson.loads(self.body_bytes)
        if not isinstance(document, dict):
            raise UnprocessableEntity(
                "validation_error",
                "the request body must be a JSON object",
                details=[{"loc": ["body"], "msg": f"must be an object, got {type(document).__name__}"}],
            )
        return document


def _serialize(body: Any) -> str | bytes:
    """Response serializer: bytes (an already encoded body, e.g. gzip) pass through - Powertools then base64-encodes
    them - and anything else is JSON."""
    return body if isinstance(body, bytes) else orjson.dumps(body).decode()


class JsonBodyResolver(APIGatewayHttpResolver):
    """``APIGatewayHttpResolver`` whose events are :class:`JsonRequestEvent` (bodies decoded and size-checked).

    Powertools' request validation runs before any user middleware, so the decoding has to live in the event
    class the resolver builds: that is the one method overridden here. Responses whose body is ``bytes`` are sent
    as they are (base64 in the proxy result), also with a JSON content type.

    ``fast_decoders`` maps ``(method, path)`` of a route to its own decoder of usual bodies (see
    :data:`FastDecoder`).
    """

    def __init__(
        self,
        *,
        limits: BodyLimits,
        fast_decoders: Mapping[tuple[str, str], FastDecoder] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(serializer=_serialize, **kwargs)
        self.limits = limits
        self.fast_decoders = dict(fast_decoders or {})

    def _to_proxy_event(self, event: dict[str, Any]) -> JsonRequestEvent:
        proxy_event = JsonRequestEvent(event, limits=self.limits)
        if self.fast_decoders:
            proxy_event.fast_decoder = self.fast_decoders.get((proxy_event.http_method.upper(), proxy_event.path))
        return proxy_event
