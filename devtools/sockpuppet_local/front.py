"""The local API Gateway: HTTP requests -> HTTP API payload v2.0 events -> a pool of RIEs -> HTTP responses.

Mirrors what the deployed HTTP API does in front of the function (``template.yaml``): ``AWS_IAM`` auth on every
route except ``/health`` (the SigV4 ``Authorization`` header is required and its access key becomes the caller,
but the signature is **not** verified locally), the 10 MB request limit, Lambda's 6 MB invocation payload limit,
the 30 s integration timeout, and a function error answered as 502. One invocation runs per RIE at a time; when all
are busy a request waits for one, like a function whose concurrency is capped at the pool size.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import queue
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sockpuppet_local.rie import LAMBDA_PAYLOAD_LIMIT, LAMBDA_RESPONSE_LIMIT, InvokeResult, RieProcess

__all__ = [
    "ACCOUNT_ID",
    "API_ID",
    "INTEGRATION_TIMEOUT_SECONDS",
    "MAX_REQUEST_BYTES",
    "PUBLIC_PATHS",
    "FrontServer",
    "GatewayResponse",
    "RiePool",
    "build_event",
    "caller_identity",
    "gateway_response",
]

logger = logging.getLogger(__name__)

ACCOUNT_ID = "000000000000"
API_ID = "local"
MAX_REQUEST_BYTES = 10 * 1024 * 1024
"""API Gateway HTTP APIs reject larger request payloads with 413."""
INTEGRATION_TIMEOUT_SECONDS = 30.0
"""API Gateway HTTP APIs cut every integration at 30 s."""
PUBLIC_PATHS = frozenset({"/health"})
"""Routes with ``Authorizer: NONE`` in the template; every other route needs an IAM-signed request."""

_CREDENTIAL = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([A-Za-z0-9]{1,128})/", re.IGNORECASE)
_STATUS_MESSAGES = {
    403: "Forbidden",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Internal Server Error",
    503: "Service Unavailable",
}


def caller_identity(access_key: str) -> dict[str, Any]:
    """``requestContext.authorizer.iam`` for a caller signing with ``access_key``: IAM user ``<access_key>``."""
    user_id = "AIDA" + hashlib.sha256(access_key.encode()).hexdigest()[:17].upper()
    return {
        "accessKey": access_key,
        "accountId": ACCOUNT_ID,
        "callerId": user_id,
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/{access_key}",
        "userId": user_id,
    }


def access_key_of(headers: Mapping[str, str], query: list[tuple[str, str]]) -> str | None:
    """The access key of a SigV4-signed request (``Authorization`` header or presigned ``X-Amz-Credential``)."""
    match = _CREDENTIAL.match(headers.get("authorization", ""))
    if match:
        return match.group(1)
    for name, value in query:
        if name.lower() == "x-amz-credential" and "/" in value:
            return value.split("/", 1)[0] or None
    return None


def _is_text(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def build_event(
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    source_ip: str,
    protocol: str = "HTTP/1.1",
    access_key: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event for one request (route ``$default``, stage ``$default``).

    Parameters
    ----------
    method, target, protocol
        The request line (``target`` is the path with its query string).
    headers
        Request headers, names in any case; repeated headers already joined with ``,``.
    body
        The raw request body; base64-encoded in the event when it is not UTF-8 text or has a Content-Encoding.
    source_ip
        The client address.
    access_key
        The SigV4 access key of the caller (``None``: no ``authorizer``, like an unauthenticated route).
    now
        The request time (default: now).
    """
    now = now or datetime.now(UTC)
    parts = urlsplit(target)
    lowered = {name.lower(): value for name, value in headers.items()}
    cookie_header = lowered.pop("cookie", None)
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    request_id = str(uuid.uuid4())
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": lowered.get("host", "127.0.0.1"),
        "domainPrefix": lowered.get("host", "127.0.0.1").split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": method,
            "path": parts.path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if access_key is not None:
        context["authorizer"] = {"iam": caller_identity(access_key)}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookie_header:
        event["cookies"] = [cookie.strip() for cookie in cookie_header.split(";") if cookie.strip()]
    if query:
        event["queryStringParameters"] = query
    if body:
        if "content-encoding" in lowered or not _is_text(body):
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = body.decode("utf-8")
    return event


class GatewayResponse:
    """An HTTP response of the gateway: status, header list (``Set-Cookie`` may repeat) and body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @classmethod
    def message(cls, status: int, message: str | None = None) -> GatewayResponse:
        """API Gateway's own error response: ``{"message": "..."}``."""
        body = json.dumps({"message": message or _STATUS_MESSAGES.get(status, HTTPStatus(status).phrase)}).encode()
        return cls(status, [("Content-Type", "application/json")], body)


def gateway_response(result: InvokeResult) -> GatewayResponse:
    """The HTTP response API Gateway makes of a Lambda result (payload format 2.0).

    A function error, a non-JSON payload or an oversized one is a 502. A result without ``statusCode`` is a 200
    whose body is the result serialized as JSON, as API Gateway does for format 2.0.
    """
    if result.function_error or len(result.payload) > LAMBDA_RESPONSE_LIMIT:
        logger.error("function error: %s", result.payload[:2000].decode("utf-8", "replace"))
        return GatewayResponse.message(502)
    try:
        document = result.json()
    except ValueError:
        logger.error("function returned a non-JSON payload")
        return GatewayResponse.message(502)
    if not isinstance(document, dict) or "statusCode" not in document:
        return GatewayResponse(200, [("Content-Type", "application/json")], result.payload)
    try:
        status = int(document["statusCode"])
        raw = document.get("body") or ""
        body = base64.b64decode(raw) if document.get("isBase64Encoded") else str(raw).encode("utf-8")
        headers = [(str(name), str(value)) for name, value in (document.get("headers") or {}).items()]
        for name, values in (document.get("multiValueHeaders") or {}).items():
            headers.extend((str(name), str(value)) for value in values)
        headers.extend(("Set-Cookie", str(cookie)) for cookie in document.get("cookies") or ())
    except (TypeError, ValueError, AttributeError):
        logger.error("function returned a malformed proxy result: %s", result.payload[:2000])
        return GatewayResponse.message(502)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return GatewayResponse(status, headers, body)


class RiePool:
    """RIE processes handed out one invocation at a time (a request waits while all of them are busy)."""

    def __init__(self, processes: list[RieProcess]) -> None:
        self.processes = processes
        self._idle: queue.Queue[RieProcess] = queue.Queue()
        for process in processes:
            self._idle.put(process)

    @contextmanager
    def checkout(self, timeout: float) -> Iterator[RieProcess]:
        """An idle RIE for the duration of the ``with`` block.

        Raises
        ------
        queue.Empty
            When none becomes idle within ``timeout`` seconds.
        """
        process = self._idle.get(timeout=timeout)
        try:
            yield process
        finally:
            self._idle.put(process)

    def invoke(self, event: Mapping[str, Any], timeout: float = INTEGRATION_TIMEOUT_SECONDS) -> GatewayResponse:
        """Run one event through an idle RIE and map its result like API Gateway."""
        payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        if len(payload) > LAMBDA_PAYLOAD_LIMIT:
            # Lambda rejects the invocation (RequestEntityTooLarge); API Gateway answers 413
            return GatewayResponse.message(413)
        started = time.monotonic()
        try:
            with self.checkout(timeout) as process:
                result = process.invoke(payload)
        except queue.Empty:
            return GatewayResponse.message(503)
        except (OSError, http.client.HTTPException) as exc:
            logger.error("invocation failed: %r", exc)
            return GatewayResponse.message(502)
        if time.monotonic() - started > timeout:
            return GatewayResponse.message(503)
        return gateway_response(result)


class _Handler(BaseHTTPRequestHandler):
    server: FrontServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without TCP_NODELAY, +40 ms (delayed ACK)
    error_content_type = "application/json"
    error_message_format = '{"message": "%(message)s"}'

    def _handle(self) -> None:
        started = time.perf_counter()
        try:
            response = self._respond_to_request()
        except Exception:
            logger.exception("local gateway error on %s %s", self.command, self.path)
            self.close_connection = True
            response = GatewayResponse.message(500)
        if not any(name.lower() == "apigw-requestid" for name, _ in response.headers):
            response.headers.append(("apigw-requestid", str(uuid.uuid4())))
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        logger.info(
            '"%s %s" %d %d %.1f ms',
            self.command,
            self.path,
            response.status,
            len(response.body),
            (time.perf_counter() - started) * 1000,
        )

    def _respond_to_request(self) -> GatewayResponse:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return GatewayResponse.message(400, "Bad Request")
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True  # the body stays unread
            return GatewayResponse.message(413)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return GatewayResponse.message(411, "Length Required")
        body = self.rfile.read(length) if length else b""
        headers = _joined(self.headers)
        client_ip = self.client_address[0]
        forwarded = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{forwarded}, {client_ip}" if forwarded else client_ip
        headers["x-forwarded-port"] = str(self.server.server_address[1])
        headers["x-forwarded-proto"] = "http"
        parts = urlsplit(self.path)
        access_key = access_key_of(headers, parse_qsl(parts.query, keep_blank_values=True))
        if access_key is None and parts.path not in PUBLIC_PATHS:
            return GatewayResponse.message(403)
        event = build_event(
            method=self.command,
            target=self.path,
            headers=headers,
            body=body,
            source_ip=client_ip,
            protocol=self.request_version,
            access_key=access_key,
        )
        response = self.server.pool.invoke(event)
        response.headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        return response

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


def _joined(message: Message) -> dict[str, str]:
    """Request headers with lower-cased names, repeated headers joined with ``,`` (as API Gateway does)."""
    headers: dict[str, str] = {}
    for name, value in message.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return headers


class FrontServer(ThreadingHTTPServer):
    """The HTTP front on ``127.0.0.1:<port>`` (``port=0``: any free port)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, pool: RiePool, port: int = 0, host: str = "127.0.0.1") -> None:
        self.pool = pool
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is routine (e.g. a load test stopping mid-request); anything else is logged."""
        if isinstance(sys.exception(), ConnectionError):
            logger.debug("client %s:%s hung up", *client_address[:2])
            return
        logger.exception("error while serving %s:%s", *client_address[:2])

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"
