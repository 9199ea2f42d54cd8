"""``Client``: the sockpuppet HTTPS API from Python (SigV4, inline or uploaded inputs, result URLs, retries)."""

from __future__ import annotations

import email.utils
import gzip
import os
import random
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlencode

import orjson
import requests
from requests.auth import AuthBase

from sockpuppet.loaders import read_accounts, read_posts
from sockpuppet_client.auth import CredentialsLike, SigV4Auth, region_from_url
from sockpuppet_client.errors import SockpuppetError
from sockpuppet_client.jobs import Job, SyncTimeout
from sockpuppet_client.payloads import EncodedRecords, FilePayload, MultipartBody, encode_records, inline_body

__all__ = ["DEFAULT_TIMEOUT", "MAX_INLINE_DECODED_BYTES", "Client", "RecordsSource", "UploadId", "retry_delay"]


class UploadId(str):
    """The id of an upload made with :meth:`Client.upload`; pass it as ``posts`` / ``accounts`` to reuse it."""

    __slots__ = ()


RecordsSource = Iterable[Mapping[str, Any]] | str | os.PathLike[str]
"""Records (dicts), the path of a ``.tsv`` / ``.json`` / ``.jsonl`` / ``.ndjson`` file (optionally ``.gz``), or an
:class:`UploadId`."""
Payload = FilePayload | EncodedRecords
Timeout = float | tuple[float, float]

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)
"""(connect, read) seconds."""
MAX_INLINE_DECODED_BYTES = 45_000_000
"""Largest uncompressed inline body sent (the service's ``MAX_DECODED_BODY_BYTES`` is 50 MB by default)."""
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
"""Lambda's limit on a synchronous invocation's event (6 MiB), which carries the request body."""
EVENT_OVERHEAD_BYTES = 32 * 1024
"""What the API Gateway event adds around the body: headers (a SigV4 ``Authorization``, the caller's own), the
request context with the caller's identity, path and query - a few kB; 32 KiB leaves room for long headers."""
MAX_INLINE_BODY_BYTES = (LAMBDA_PAYLOAD_BYTES - EVENT_OVERHEAD_BYTES) // 4 * 3
"""Largest gzip body sent inline (4,694,016 bytes): API Gateway base64-encodes a binary body into the event, so it
grows by 4/3, and the event must stay within :data:`LAMBDA_PAYLOAD_BYTES`."""
_SIZE_ERRORS = frozenset({"body_too_large", "decoded_body_too_large"})
RETRY_STATUSES = frozenset({429, 503})
_SUBMIT_RETRY = RETRY_STATUSES | {409}
"""``POST /v1/jobs`` also retries 409 ``idempotency_key_in_progress`` (the same key is still being accepted)."""
_GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
MAX_RETRY_DELAY = 30.0
_REQUEST_ID_HEADERS = ("x-request-id", "apigw-requestid", "x-amzn-requestid", "x-amz-request-id")
_XML_TAG = {name: re.compile(rf"<{name}>([^<]*)</{name}>") for name in ("Code", "Message", "RequestId")}


def _for_size(error: SockpuppetError) -> bool:
    """Whether a 413 is about the request's size: the API's own codes, or API Gateway's bare 413 (``http_413``),
    not ``result_too_large`` or ``upload_too_large`` (which another send would not change)."""
    return error.code in _SIZE_ERRORS or error.code == f"http_{HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value}"


class _NoAuth(AuthBase):
    """No ``Authorization`` header, even if the session has ``auth`` or a ``.netrc`` matches (presigned URLs)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_NO_AUTH = _NoAuth()


def retry_delay(retry_after: str | None, attempt: int, *, backoff: float, cap: float = MAX_RETRY_DELAY) -> float:
    """Seconds to wait before retry number ``attempt + 1`` of a 429/503 answer.

    Parameters
    ----------
    retry_after
        The answer's ``Retry-After`` header (delta seconds or an HTTP date), if any; it wins when valid.
    attempt
        0 for the first retry.
    backoff
        Base of the exponential backoff used without ``Retry-After``: ``backoff * 2**attempt`` with jitter
        (between half and all of it).
    cap
        Upper bound of any delay.

    Returns
    -------
    float
        The delay, in ``[0, cap]``.
    """
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return min(float(value), cap)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), cap)
    return min(backoff * 2**attempt * (0.5 + random.random() / 2), cap)


def _request_id(response: requests.Response) -> str | None:
    return next((response.headers[name] for name in _REQUEST_ID_HEADERS if name in response.headers), None)


def error_from_response(response: requests.Response) -> SockpuppetError:
    """The :class:`SockpuppetError` for a non-2xx answer (contract error body, API Gateway JSON or S3 XML).

    Parameters
    ----------
    response
        The answer.

    Returns
    -------
    SockpuppetError
        With the contract's code, message and details when the body has them.
    """
    status = response.status_code
    fallback = f"http_{status}"
    request_id = _request_id(response)
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        details = error.get("details")
        return SockpuppetError(
            status,
            str(error.get("code") or fallback),
            str(error.get("message") or response.reason),
            details if isinstance(details, list) else [],
            str(payload.get("request_id") or request_id or "") or None,
        )
    if isinstance(payload, dict) and "message" in payload:  # API Gateway's own answers (403, 429, 5xx)
        return SockpuppetError(status, fallback, str(payload["message"]), [], request_id)
    text = response.text
    code, message, xml_request_id = (
        match.group(1) if (match := pattern.search(text)) else None for pattern in _XML_TAG.values()
    )
    if code:  # S3
        return SockpuppetError(status, code, message or response.reason, [], xml_request_id or request_id)
    return SockpuppetError(status, fallback, text.strip()[:500] or response.reason or fallback, [], request_id)


class Client:
    """Client of the sockpuppet HTTPS API.

    Parameters
    ----------
    base_url
        The API's URL, with the stage if it has one: ``https://<id>.execute-api.<region>.amazonaws.com``, or
        ``http://127.0.0.1:3000`` for ``make run``.
    auth
        ``None`` (no signing); botocore ``Credentials`` or ``(access_key, secret_key[, session_token])`` for AWS
        SigV4 (service ``execute-api``; see ``region``); or any ``requests`` auth (e.g.
        :meth:`SigV4Auth.from_session <sockpuppet_client.auth.SigV4Auth.from_session>`). Never sent to the
        presigned S3 URLs.
    region
        Region for SigV4 when ``auth`` is credentials; default: taken from an ``execute-api`` URL.
    timeout
        Seconds, or ``(connect, read)`` seconds, for each HTTP request.
    inline_limit_bytes
        Largest gzip request body sent inline (at most :data:`MAX_INLINE_BODY_BYTES`, the default: the body is
        base64-encoded into a Lambda event of at most 6 MiB); larger inputs go through ``POST /v1/uploads`` and
        S3. A request the API still refuses for its size (413) is sent again with every input uploaded.
    max_retries
        Retries of a 429 / 503 answer (waiting ``Retry-After``, else exponential backoff) before raising.
    retry_backoff
        Base delay of the exponential backoff, in seconds.
    session
        A ``requests.Session`` to use (connection pooling, proxies, TLS settings); default: a new one, closed by
        :meth:`close`.

    Examples
    --------
    >>> from sockpuppet_client import Client, SigV4Auth
    >>> with Client(url, auth=SigV4Auth.from_session()) as client:  # doctest: +SKIP
    ...     body = client.similar_account_pairs(posts="posts.tsv", accounts="accounts.tsv", hashtag="diedsuddenly")
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: CredentialsLike | AuthBase | None = None,
        region: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        inline_limit_bytes: int = MAX_INLINE_BODY_BYTES,
        max_retries: int = 4,
        retry_backoff: float = 0.5,
        session: requests.Session | None = None,
    ) -> None:
        if inline_limit_bytes < 0 or max_retries < 0:
            raise ValueError("inline_limit_bytes and max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.auth = self._resolve_auth(auth, region)
        self.timeout = timeout
        self.inline_limit_bytes = min(inline_limit_bytes, MAX_INLINE_BODY_BYTES)
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()

    def _resolve_auth(self, auth: CredentialsLike | AuthBase | None, region: str | None) -> AuthBase | None:
        if auth is None or isinstance(auth, AuthBase):
            return auth
        if callable(auth):
            return auth  # type: ignore[return-value]  # requests accepts any callable(request) -> request
        region = region or region_from_url(self.base_url)
        if region is None:
            raise ValueError(f"pass region=... to sign requests to {self.base_url} (not an execute-api URL)")
        return SigV4Auth(auth, region)

    def close(self) -> None:
        """Close the HTTP session if the client created it."""
        if self._own_session:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def health(self) -> dict[str, Any]:
        """``GET /health`` (unauthenticated).

        Returns
        -------
        dict
            ``{"status": "ok"}``.

        Raises
        ------
        SockpuppetError
            On a non-2xx answer.
        """
        return self._json(self._checked("GET", f"{self.base_url}/health", auth=_NO_AUTH))

    def similar_account_pairs(
        self,
        *,
        posts: RecordsSource,
        accounts: RecordsSource,
        hashtag: str,
        min_similarity: float = 0.8,
        hashtag_match: Literal["exact", "case_insensitive"] = "exact",
        max_pairs: int | None = None,
        result_delivery: Literal["auto", "inline", "url"] = "auto",
        on_timeout: Literal["raise", "job"] = "raise",
        progress: bool | None = None,
    ) -> dict[str, Any]:
        """Run the job remotely (``POST /v1/similar-account-pairs``).

        Each input goes inline (one gzip JSON body, ``Content-Encoding: gzip``) while the body stays within
        ``inline_limit_bytes``; otherwise it is uploaded first (``POST /v1/uploads`` + a streamed multipart POST
        to the presigned S3 URL): files byte for byte in their own format, records as gzip JSON Lines. A file no
        larger than ``inline_limit_bytes`` is read locally with the ``sockpuppet`` loaders (the service's own
        parser) and sent inline.

        Parameters
        ----------
        posts
            Post records (``author_id``, ``is_repost``, ``hashtags``, ...), the path of a posts file (the original
            exercise's ``posts.tsv`` as it is, or JSON / JSON Lines; ``.gz`` allowed), or an :class:`UploadId`.
        accounts
            Account records (``id``, ``screen_name``, ...) or the path of an accounts file.
        hashtag
            The hashtag; the leading ``#`` is optional.
        min_similarity
            Pairs have a similarity strictly greater than this, in [0, 1].
        hashtag_match
            ``"exact"`` (the reference) or ``"case_insensitive"``.
        max_pairs
            Keep at most this many pairs (``truncated`` says whether some were dropped); default: the service's.
        result_delivery
            ``"auto"``, ``"inline"`` or ``"url"``; the result is fetched from the URL either way.
        on_timeout
            When the synchronous route answers 504 (the work does not fit its time limit): ``"raise"`` raises
            :class:`~sockpuppet_client.jobs.SyncTimeout`, whose ``submit_job()`` runs the same request as a job;
            ``"job"`` does that at once and waits for the job's result (same document).
        progress
            With ``on_timeout="job"``: draw the job's progress bar (default: on a terminal), see :meth:`Job.wait`.

        Returns
        -------
        dict
            The API's 200 body with ``similar_account_pairs`` filled in (also when the service answered with a
            ``result_url``, which is then kept in the body).

        Raises
        ------
        SockpuppetError
            On a non-2xx answer of the API or of S3 (422 for invalid input, with ``details``; 429 / 503 after
            ``max_retries`` retries); :class:`~sockpuppet_client.jobs.SyncTimeout` for a 504.
        sockpuppet_client.jobs.JobFailed
            With ``on_timeout="job"``, when the job fails.
        sockpuppet.InputError
            If a small input file cannot be read (found locally, before any request).
        ValueError
            For a file with an unknown extension, or larger than the service's upload limit.
        """
        params = _params(hashtag, min_similarity, hashtag_match, max_pairs, result_delivery)
        url = f"{self.base_url}/v1/similar-account-pairs"
        try:
            response = self._send_job(params, posts=posts, accounts=accounts, url=url, headers=_GZIP_JSON)
        except SockpuppetError as exc:
            if exc.status != HTTPStatus.GATEWAY_TIMEOUT:
                raise
            timeout = SyncTimeout(exc, self, exc.request_body)
            if on_timeout == "job":
                return timeout.submit_job().result(progress=progress)
            raise timeout from None
        result = self._json(response)
        if result.get("similar_account_pairs") is None and result.get("result_url"):
            result["similar_account_pairs"] = self.fetch_result(result["result_url"])["similar_account_pairs"]
        return result

    def submit_job(
        self,
        *,
        posts: RecordsSource,
        accounts: RecordsSource,
        hashtag: str,
        min_similarity: float = 0.8,
        hashtag_match: Literal["exact", "case_insensitive"] = "exact",
        max_pairs: int | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Run the job asynchronously (``POST /v1/jobs``), with no size or time limit of the synchronous route.

        The inputs are sent exactly as :meth:`similar_account_pairs` sends them (inline, or uploaded first), and
        validated the same way before the job is accepted.

        Parameters
        ----------
        posts, accounts, hashtag, min_similarity, hashtag_match, max_pairs
            As for :meth:`similar_account_pairs`.
        idempotency_key
            Sent as ``Idempotency-Key``: submitting again with the same key within 24 h returns the same job.
            Default: a fresh random key, so that the client's own retries (429 / 503) never start a second job.

        Returns
        -------
        Job
            The queued job: :meth:`Job.status`, :meth:`Job.wait`, :meth:`Job.result`, :meth:`Job.cancel`.

        Raises
        ------
        SockpuppetError
            On a non-2xx answer (422 for invalid input, 404 for an unknown upload, exactly as the synchronous route).
        """
        params = _params(hashtag, min_similarity, hashtag_match, max_pairs, None)
        headers = {**_GZIP_JSON, "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        response = self._send_job(
            params,
            posts=posts,
            accounts=accounts,
            url=f"{self.base_url}/v1/jobs",
            headers=headers,
            retry_on=_SUBMIT_RETRY,
        )
        return Job(self, self._json(response)["job_id"])

    def job(self, job_id: str) -> Job:
        """The :class:`Job` ``job_id`` of this caller (nothing is requested until it is read)."""
        return Job(self, job_id)

    def jobs(self, *, page_size: int = 20) -> Iterator[dict[str, Any]]:
        """The caller's jobs, newest first (``GET /v1/jobs``, following ``next_token`` page by page).

        Yields
        ------
        dict
            ``{"job_id", "status", "created_at", "updated_at", "status_url"}``.
        """
        token: str | None = None
        while True:
            query = {"limit": page_size} | ({"next_token": token} if token else {})
            page = self._json(self._checked("GET", f"{self.base_url}/v1/jobs?{urlencode(query)}"))
            yield from page["jobs"]
            token = page.get("next_token")
            if not token:
                return

    def _submit_body(self, body: bytes, *, idempotency_key: str | None = None) -> Job:
        headers = {**_GZIP_JSON, "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        created = self._json(
            self._checked("POST", f"{self.base_url}/v1/jobs", data=body, headers=headers, retry_on=_SUBMIT_RETRY)
        )
        return Job(self, created["job_id"])

    def _send_job(
        self,
        params: dict[str, Any],
        *,
        posts: RecordsSource,
        accounts: RecordsSource,
        url: str,
        headers: Mapping[str, str],
        retry_on: frozenset[int] = RETRY_STATUSES,
    ) -> requests.Response:
        """POST a job's body to ``url``: inputs inline while they fit, else uploaded; if the API still answers 413
        for the request's size (its limits may be lower than this client's), every inline input is uploaded and
        the request sent once more.

        Raises
        ------
        SockpuppetError
            On a non-2xx answer; ``request_body`` is set to the body of the last attempt.
        """
        with ExitStack() as cleanup:
            inline, files = self._inputs(params, posts=posts, accounts=accounts, cleanup=cleanup)
            body = self._fit_inline(params, inline, files)
            try:
                return self._checked("POST", url, data=body, headers=headers, retry_on=retry_on)
            except SockpuppetError as exc:
                exc.request_body = body
                if not (exc.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE and _for_size(exc)) or not inline:
                    raise
            body = self._fit_inline(params, inline, files, limit=0)
            try:
                return self._checked("POST", url, data=body, headers=headers, retry_on=retry_on)
            except SockpuppetError as exc:
                exc.request_body = body
                raise

    def _inputs(
        self, params: dict[str, Any], *, posts: RecordsSource, accounts: RecordsSource, cleanup: ExitStack
    ) -> tuple[dict[str, EncodedRecords], dict[str, FilePayload]]:
        """Each input as an upload id in ``params`` (given, or a file too large to read here: uploaded now) or as
        gzip JSON Lines records to send inline; with the files the inline records came from."""
        files: dict[str, FilePayload] = {}
        inline: dict[str, EncodedRecords] = {}
        for kind, source in (("posts", posts), ("accounts", accounts)):
            if isinstance(source, UploadId):
                params[f"{kind}_upload_id"] = str(source)
                continue
            payload = self._prepare(source, kind, cleanup)
            if isinstance(payload, FilePayload):
                params[f"{kind}_upload_id"] = self._upload_payload(payload, kind)
            else:
                inline[kind] = payload
                if isinstance(source, (str, os.PathLike)):
                    files[kind] = FilePayload.of(source)  # uploaded as it is if it must leave the body
        return inline, files

    def _fit_inline(
        self,
        params: dict[str, Any],
        inline: dict[str, EncodedRecords],
        files: Mapping[str, FilePayload],
        *,
        limit: int | None = None,
    ) -> bytes:
        """The gzip request body; inputs that do not fit (``limit``, default ``inline_limit_bytes``) are uploaded
        (largest first, removed from ``inline``) and referenced in ``params``.

        An input read from a file is uploaded as that file; records as their gzip JSON Lines spool.
        """
        limit = self.inline_limit_bytes if limit is None else limit
        while True:
            compressed = sum(part.size for part in inline.values())
            raw = sum(part.raw_bytes for part in inline.values())
            if compressed <= limit and raw <= MAX_INLINE_DECODED_BYTES:
                body, raw = inline_body(params, inline)
                if (len(body) <= limit and raw <= MAX_INLINE_DECODED_BYTES) or not inline:
                    return body
            largest = max(inline, key=lambda kind: inline[kind].size)
            encoded = inline.pop(largest)
            params[f"{largest}_upload_id"] = self._upload_payload(files.get(largest, encoded), largest)

    def upload(
        self, source: Iterable[Mapping[str, Any]] | str | os.PathLike[str], *, kind: Literal["posts", "accounts"]
    ) -> UploadId:
        """Upload posts or accounts to S3 (``POST /v1/uploads`` + presigned POST) and return the upload id.

        Parameters
        ----------
        source
            Records, or a file path (sent byte for byte, whatever its size).
        kind
            ``"posts"`` or ``"accounts"``.

        Returns
        -------
        UploadId
            The upload id (a ``str``), usable by this caller only, until the upload expires: pass it as ``posts`` /
            ``accounts`` of :meth:`similar_account_pairs`.
        """
        with ExitStack() as cleanup:
            if isinstance(source, (str, os.PathLike)):
                payload: Payload = FilePayload.of(source)
            else:
                payload = self._encode(source, cleanup)
            return self._upload_payload(payload, kind)

    def fetch_result(self, url: str) -> dict[str, Any]:
        """Download an offloaded result (presigned GET, no signing) and decode it (gunzipped if needed).

        Parameters
        ----------
        url
            A ``result_url``.

        Returns
        -------
        dict
            The full result document.
        """
        data = self._checked("GET", url, auth=_NO_AUTH).content
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return orjson.loads(data)

    def _prepare(self, source: RecordsSource, kind: str, cleanup: ExitStack) -> Payload:
        if isinstance(source, (bytes, bytearray, memoryview)):
            raise TypeError(f"{kind}: pass records or a file path, not {type(source).__name__}")
        if not isinstance(source, (str, os.PathLike)):
            if isinstance(source, Mapping):
                raise TypeError(f"{kind}: pass a list of records, not one mapping")
            return self._encode(source, cleanup)
        payload = FilePayload.of(source)
        if payload.size > self.inline_limit_bytes:
            return payload
        read = read_posts if kind == "posts" else read_accounts
        records = read(payload.path, format=payload.format, compression=payload.compression)
        return self._encode(records, cleanup)

    def _encode(self, records: Iterable[Mapping[str, Any]], cleanup: ExitStack) -> EncodedRecords:
        encoded = encode_records(records, spool_bytes=max(self.inline_limit_bytes, 1 << 20))
        cleanup.callback(encoded.close)
        return encoded

    def _upload_payload(self, payload: Payload, kind: str) -> UploadId:
        ticket = self._json(
            self._checked(
                "POST",
                f"{self.base_url}/v1/uploads",
                data=orjson.dumps({"kind": kind, "format": payload.format, "content_encoding": payload.compression}),
                headers={"Content-Type": "application/json"},
            )
        )
        if payload.size > ticket["max_bytes"]:
            raise ValueError(f"{kind} is {payload.size} bytes; the service accepts uploads up to {ticket['max_bytes']}")
        with ExitStack() as cleanup:
            stream = cleanup.enter_context(payload.open()) if isinstance(payload, FilePayload) else payload.open()
            name = payload.path.name if isinstance(payload, FilePayload) else f"{kind}.jsonl.gz"
            body = MultipartBody(ticket["fields"], stream, payload.size, filename=name)
            self._checked(
                "POST", ticket["url"], data=body, headers={"Content-Type": body.content_type}, auth=_NO_AUTH
            ).close()
        return UploadId(ticket["upload_id"])

    def _checked(
        self,
        method: str,
        url: str,
        *,
        data: bytes | MultipartBody | None = None,
        headers: Mapping[str, str] | None = None,
        auth: AuthBase | None = None,
        retry_on: frozenset[int] = RETRY_STATUSES,
    ) -> requests.Response:
        """Send with retries on ``retry_on`` (429 / 503); raise :class:`SockpuppetError` on any other non-2xx answer."""
        for attempt in range(self.max_retries + 1):
            if isinstance(data, MultipartBody):
                data.rewind()
            response = self.session.request(
                method, url, data=data, headers=headers, auth=auth or self.auth, timeout=self.timeout
            )
            if response.status_code not in retry_on or attempt == self.max_retries:
                break
            delay = retry_delay(response.headers.get("Retry-After"), attempt, backoff=self.retry_backoff)
            response.close()
            time.sleep(delay)
        if not response.ok:
            raise error_from_response(response)
        return response

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        return orjson.loads(response.content)


def _params(
    hashtag: str, min_similarity: float, hashtag_match: str, max_pairs: int | None, result_delivery: str | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"hashtag": hashtag, "min_similarity": min_similarity, "hashtag_match": hashtag_match}
    if result_delivery is not None:
        params["result_delivery"] = result_delivery
    if max_pairs is not None:
        params["max_pairs"] = max_pairs
    return params
