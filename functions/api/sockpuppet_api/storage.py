"""S3 storage of uploads and offloaded results (``PayloadStore``, see ``docs/design.md``).

Keys:

* ``uploads/<owner hash>/<upload id>`` — written by the caller through a presigned POST whose policy pins the exact
  key, the content type, ``content-length-range`` [1, max] and the metadata ``x-amz-meta-kind`` / ``-format`` /
  ``-content-encoding`` (so reading needs no guess). The upload id carries 192 random bits; the owner hash (the
  first 32 hex digits of the SHA-256 of the caller's IAM identity) binds it to its creator, so another caller's id
  is simply not found.
* ``results/<owner hash>/<random>.json.gz`` — one ``PutObject`` of the gzip JSON result (never partially
  visible), shared through a presigned GET.

Uploads are streamed from S3 into the ``sockpuppet`` loaders (gzip decompressed on the fly): memory is bounded by
the parsed records, not by copies of the file. The Lambda deadline is checked every time the loaders take another
(at most 1 MiB) piece of the decompressed file, so a huge upload ends in ``DeadlineExceeded`` (504), not in a
Lambda timeout. Results are gzip-compressed 1 MiB at a time, with the same check between pieces.

Time budget of S3 calls: every attempt is bounded (:data:`CONNECT_TIMEOUT_SECONDS` to connect,
:data:`READ_TIMEOUT_SECONDS` per read), and a call that gets a ``deadline`` starts an attempt - the first or a
retry - only when the attempt's worst case (plus the retry's largest backoff) ends before ``deadline`` +
``s3_grace_seconds``: the grace is the part of the function's deadline margin S3 may use, the rest is kept to
answer. Out of budget before the first attempt: ``DeadlineExceeded`` (504); a failed attempt with no budget left
for a retry: the attempt's own error (503 + ``Retry-After`` for throttling and timeouts).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import secrets
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError, IncompleteReadError

from sockpuppet.columns import AccountColumns, PostColumns
from sockpuppet.errors import DeadlineExceeded, InputError
from sockpuppet.loaders import read_columns
from sockpuppet.loaders import read_records as load_records

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = [
    "CONTENT_TYPES",
    "PayloadStore",
    "StorageError",
    "StorageUnavailable",
    "UploadNotFound",
    "UploadTicket",
    "UploadTooLarge",
    "make_s3_client",
    "owner_hash",
]

Kind = Literal["posts", "accounts"]
T = TypeVar("T")
Fmt = Literal["json", "jsonl", "tsv"]

CONTENT_TYPES: dict[str, str] = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "tsv": "text/tab-separated-values",
}
RETRY_AFTER_SECONDS = 2
READ_BUFFER_BYTES = 1 << 20
"""Size of the pieces read from S3, and of the decompressed pieces between two deadline checks (~10k records)."""
GZIP_PIECE_BYTES = 1 << 20
"""Result bytes compressed between two deadline checks (~10-30 ms at :data:`RESULT_GZIP_LEVEL`)."""
RESULT_GZIP_LEVEL = 1
"""gzip level of stored results: level 1 is ~4x faster than 6 on a pairs document for ~15% more bytes."""
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 2.0
"""S3 answers in tens of milliseconds; a socket silent this long is a fault, answered 503 rather than waited for."""
MAX_ATTEMPTS = 3
ATTEMPT_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
"""Worst case of one attempt that hangs (a connect that times out, or a connection that never answers)."""


def _largest_backoff(attempts: int) -> float:
    """The most botocore's standard mode sleeps before retry number ``attempts`` (1 s base for throttling)."""
    return min(2.0 ** (attempts - 1), 20.0)


_UNAVAILABLE_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "503",
        "500",
    }
)
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_TRANSIENT = (ConnectionError, HTTPClientError, IncompleteReadError)


def make_s3_client() -> BaseClient:
    """The function's S3 client: botocore directly (boto3 would only add import time), SigV4, standard retries,
    bounded connect and read timeouts.

    botocore S3 clients have ``generate_presigned_post`` and honour ``AWS_ENDPOINT_URL_S3`` like boto3's. Imported
    here, on first use: creating the session and the client is ~300 ms of a cold start that only requests touching
    S3 need.
    """
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        "s3",
        config=Config(
            signature_version="s3v4",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        ),
    )


class UploadNotFound(LookupError):
    """No such upload for this caller: unknown, another caller's, not uploaded yet, or expired.

    ``loc`` is where the caller named the upload (e.g. ``["body", "posts_upload_id"]``) once the API knows it.
    """

    def __init__(self, upload_id: str, *, loc: list[str | int] | None = None) -> None:
        super().__init__(upload_id)
        self.upload_id = upload_id
        self.loc = loc or []


class StorageUnavailable(RuntimeError):
    """S3 is throttling or unreachable; the client should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UploadTooLarge(ValueError):
    """A JSON-array upload decompresses to more than the store parses whole (``limit`` bytes)."""

    def __init__(self, upload_id: str, limit: int) -> None:
        super().__init__(f"upload {upload_id} decompresses to more than {limit} bytes of JSON")
        self.upload_id = upload_id
        self.limit = limit
        self.loc: list[str | int] = []


class StorageError(RuntimeError):
    """Any other S3 failure (e.g. ``AccessDenied``): our misconfiguration, answered as a 500 and logged."""


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """A presigned S3 POST for one upload."""

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


def owner_hash(owner: str) -> str:
    """The first 32 hex digits of the SHA-256 of the caller identity (the owner's key prefix)."""
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()[:32]


def _translate(exc: Exception, *, upload_id: str | None = None) -> Exception:
    """Map a botocore exception onto :class:`UploadNotFound` / :class:`StorageUnavailable` / :class:`StorageError`."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if upload_id is not None and (code in _NOT_FOUND_CODES or status == 404):
            return UploadNotFound(upload_id)
        if code in _UNAVAILABLE_CODES or status >= 500:
            return StorageUnavailable(f"S3 {code or status}")
        return StorageError(f"S3 {code or status}: {error.get('Message', '')}")
    if isinstance(exc, _TRANSIENT):
        return StorageUnavailable(f"S3 unreachable: {type(exc).__name__}")
    return StorageError(f"S3 client error: {type(exc).__name__}")


def gzip_by_pieces(data: bytes, deadline: float | None) -> bytes:
    """gzip ``data`` (level :data:`RESULT_GZIP_LEVEL`) :data:`GZIP_PIECE_BYTES` at a time, checking ``deadline``
    (``time.monotonic()``) between pieces.

    Raises
    ------
    sockpuppet.DeadlineExceeded
        When ``deadline`` passes before the data is compressed.
    """
    compressor = zlib.compressobj(RESULT_GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip container
    view = memoryview(data)
    pieces = []
    for start in range(0, len(view), GZIP_PIECE_BYTES):
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("compressing the result did not finish before the deadline")
        pieces.append(compressor.compress(view[start : start + GZIP_PIECE_BYTES]))
    pieces.append(compressor.flush())
    return b"".join(pieces)


def _check_metadata(meta: dict[str, str], upload_id: str, kind: Kind) -> Fmt:
    """The upload's format, after checking it was made for ``kind`` records (:class:`InputError` otherwise)."""
    if meta.get("kind") != kind:
        raise InputError.at((kind,), f"upload {upload_id} was created for {meta.get('kind') or 'unknown'} records")
    fmt = meta.get("format")
    if fmt not in CONTENT_TYPES:
        raise InputError.at((kind,), f"upload {upload_id} has no usable format metadata")
    return fmt  # type: ignore[return-value]


class _S3Stream(io.RawIOBase):
    """A raw stream over an S3 ``StreamingBody`` that turns network failures into :class:`StorageUnavailable`.

    (Without it a read timeout, an ``OSError`` subclass in botocore, would look like a corrupt file to the loaders.)
    """

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # StreamingBody.readinto only exists in recent botocore (not in every Lambda runtime's): use read().
        try:
            chunk = self._body.read(len(buffer))
        except BotoCoreError as exc:
            raise _translate(exc) from exc
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._body.close()
        super().close()


class _OutOfTime(Exception):
    """The deadline passed while the loaders were reading (not an ``OSError``: they would call it a corrupt file)."""


class _TooMuch(Exception):
    """More decompressed bytes than the reader may take (not an ``OSError``, for the same reason)."""


class _DeadlineStream(io.RawIOBase):
    """A raw stream over a (decompressed) binary stream that stops the reader once ``deadline`` has passed, or once
    it has read more than ``max_bytes``."""

    def __init__(self, inner: Any, deadline: float | None, max_bytes: int | None = None) -> None:
        super().__init__()
        self._inner = inner
        self._deadline = deadline
        self._left = max_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise _OutOfTime
        count = self._inner.readinto(buffer)
        if self._left is not None:
            self._left -= count
            if self._left < 0:
                raise _TooMuch
        return count


class PayloadStore:
    """Uploads and results in one S3 bucket.

    Parameters
    ----------
    s3_client
        A botocore S3 client (SigV4), or a function making one: it is then called on first use, so that requests
        which never touch S3 (and the cold start) do not pay for creating it.
    bucket
        The payload bucket.
    upload_ttl_seconds
        Lifetime of presigned upload POSTs.
    result_ttl_seconds
        Lifetime of presigned result GETs.
    max_upload_bytes
        Upper bound of the uploads' ``content-length-range``.
    s3_grace_seconds
        How long past a call's ``deadline`` an S3 attempt may still run (see the module's "Time budget").
    max_json_bytes
        Largest decompressed JSON-array upload (parsed in one piece, unlike TSV and JSON Lines, which stream and
        stop at the record limit); ``None``: no limit.
    """

    def __init__(
        self,
        s3_client: BaseClient | Callable[[], BaseClient],
        bucket: str,
        *,
        upload_ttl_seconds: int,
        result_ttl_seconds: int,
        max_upload_bytes: int,
        s3_grace_seconds: float = 0.0,
        max_json_bytes: int | None = None,
    ) -> None:
        self._max_json_bytes = max_json_bytes
        self._make_client = s3_client if callable(s3_client) else lambda: s3_client
        self._grace = s3_grace_seconds
        self._s3_end: float | None = None  # while a call with a deadline runs: when its S3 attempts must end
        self._bucket = bucket
        self._upload_ttl = upload_ttl_seconds
        self._result_ttl = result_ttl_seconds
        self._max_upload_bytes = max_upload_bytes

    @cached_property
    def s3(self) -> BaseClient:
        """The S3 client (created on first use when the store was given a factory)."""
        client = self._make_client()
        client.meta.events.register_first(f"needs-retry.{client.meta.service_model.service_id.hyphenize()}", self._veto)
        return client

    def _veto(self, attempts: int, **_: Any) -> bool | None:
        """``needs-retry`` hook, ahead of botocore's: ``False`` (no retry) when a retry would not fit the budget."""
        end = self._s3_end
        if end is not None and time.monotonic() + _largest_backoff(attempts) + ATTEMPT_SECONDS > end:
            return False
        return None  # botocore's retry handler decides

    @contextmanager
    def _budget(self, deadline: float | None, what: str) -> Iterator[None]:
        """S3 calls inside the block start attempts only while they fit before ``deadline`` + the grace."""
        if deadline is None:
            yield
            return
        end = deadline + self._grace
        if time.monotonic() + ATTEMPT_SECONDS > end:
            raise DeadlineExceeded(f"no time left to {what}")
        self._s3_end = end
        try:
            yield
        finally:
            self._s3_end = None

    @staticmethod
    def upload_key(owner: str, upload_id: str) -> str:
        """The S3 key of ``owner``'s upload ``upload_id``."""
        return f"uploads/{owner_hash(owner)}/{upload_id}"

    def create_upload(
        self, owner: str, *, kind: Kind, fmt: Fmt, content_encoding: Literal["gzip"] | None
    ) -> UploadTicket:
        """Create a presigned POST for a new upload.

        Parameters
        ----------
        owner
            Caller identity (IAM ARN).
        kind
            ``"posts"`` or ``"accounts"``.
        fmt
            ``"json"``, ``"jsonl"`` or ``"tsv"``.
        content_encoding
            ``"gzip"`` when the file will be gzip-compressed, else ``None``.

        Returns
        -------
        UploadTicket
            The upload id and the POST's URL and form fields.

        Raises
        ------
        StorageError
            When presigning fails (no credentials).
        """
        upload_id = secrets.token_urlsafe(24)
        key = self.upload_key(owner, upload_id)
        fields = {
            "Content-Type": CONTENT_TYPES[fmt],
            "x-amz-meta-kind": kind,
            "x-amz-meta-format": fmt,
            "x-amz-meta-content-encoding": content_encoding or "identity",
        }
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, self._max_upload_bytes])
        expires_at = datetime.now(UTC) + timedelta(seconds=self._upload_ttl)
        try:
            post = self.s3.generate_presigned_post(
                Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=self._upload_ttl
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc) from exc
        return UploadTicket(
            upload_id=upload_id,
            url=post["url"],
            fields=post["fields"],
            expires_at=expires_at,
            max_bytes=self._max_upload_bytes,
        )

    def check_upload(self, owner: str, upload_id: str, *, kind: Kind, deadline: float | None = None) -> str:
        """Check that ``owner``'s upload exists and holds ``kind`` records, without reading it; return its key.

        ``deadline`` (``time.monotonic()``) bounds the S3 call (see the module's "Time budget").

        Raises
        ------
        UploadNotFound
            Unknown, foreign, not yet uploaded or expired upload.
        sockpuppet.InputError
            The upload was created for the other kind or has no usable format.
        StorageUnavailable
            S3 throttling or unreachable.
        StorageError
            Any other S3 failure.
        sockpuppet.DeadlineExceeded
            No time left for an attempt.
        """
        key = self.upload_key(owner, upload_id)
        try:
            with self._budget(deadline, f"check upload {upload_id}"):
                head = self.s3.head_object(Bucket=self._bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, upload_id=upload_id) from exc
        _check_metadata(head.get("Metadata", {}), upload_id, kind)
        return key

    def read_records(
        self, owner: str, upload_id: str, *, kind: Kind, deadline: float | None = None
    ) -> list[dict[str, Any]]:
        """Stream ``owner``'s upload from S3 and parse it as ``kind`` records.

        Parameters
        ----------
        owner
            Caller identity; another caller's upload is not found.
        upload_id
            The id from :meth:`create_upload`.
        kind
            Which records the caller expects.
        deadline
            ``time.monotonic()`` value by which reading must be done (checked every :data:`READ_BUFFER_BYTES` of
            decompressed data and after the records are validated); ``None``: no limit.

        Returns
        -------
        list of dict
            Validated records (see :func:`sockpuppet.loaders.read_records`).

        Raises
        ------
        UploadNotFound
            Unknown, foreign, not yet uploaded or expired upload.
        sockpuppet.InputError
            The upload was created for the other kind, or its content is malformed (naming line / index and field).
        StorageUnavailable
            S3 throttling or unreachable (also in the middle of the stream).
        StorageError
            Any other S3 failure.
        sockpuppet.DeadlineExceeded
            ``deadline`` passed before the upload was read.
        """
        return self._read(owner, upload_id, kind, deadline, lambda body, fmt: load_records(body, kind=kind, format=fmt))

    def read_columns(
        self,
        owner: str,
        upload_id: str,
        *,
        kind: Kind,
        deadline: float | None = None,
        max_records: int | None = None,
        created_at: bool = False,
    ) -> PostColumns | AccountColumns:
        """Stream ``owner``'s upload from S3 into columns (:func:`sockpuppet.loaders.read_columns`).

        Same parameters and errors as :meth:`read_records`, plus ``max_records``: reading stops at the first record
        over it with :class:`sockpuppet.errors.RecordLimitExceeded` (``None``: no limit); and ``created_at``: also
        keep the raw ``created_at`` values (only the coordination signals need them).
        """

        def parse(stream: Any, fmt: Fmt) -> PostColumns | AccountColumns:
            return read_columns(stream, kind=kind, format=fmt, max_records=max_records, created_at=created_at)

        return self._read(owner, upload_id, kind, deadline, parse)

    def _read(
        self, owner: str, upload_id: str, kind: Kind, deadline: float | None, parse: Callable[[Any, Fmt], T]
    ) -> T:
        try:
            with self._budget(deadline, f"read upload {upload_id}"):
                obj = self.s3.get_object(Bucket=self._bucket, Key=self.upload_key(owner, upload_id))
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc, upload_id=upload_id) from exc
        meta = obj.get("Metadata", {})
        fmt = _check_metadata(meta, upload_id, kind)
        # Gunzipped here rather than in the loaders so that the deadline is checked per piece of *decompressed*
        # data: a highly compressed upload would otherwise parse for a long time between two checks. A bad gzip
        # still surfaces inside the loaders (the same exceptions, raised by their reads), located by line.
        body = io.BufferedReader(_S3Stream(obj["Body"]), buffer_size=READ_BUFFER_BYTES)
        decoded = gzip.GzipFile(fileobj=body, mode="rb") if meta.get("content-encoding") == "gzip" else body
        cap = self._max_json_bytes if fmt == "json" else None
        timed = io.BufferedReader(_DeadlineStream(decoded, deadline, cap), buffer_size=READ_BUFFER_BYTES)
        try:
            with body, decoded, timed:
                parsed = parse(timed, fmt)
        except _OutOfTime:
            raise DeadlineExceeded(f"reading upload {upload_id} did not finish before the deadline") from None
        except _TooMuch:
            raise UploadTooLarge(upload_id, cap or 0) from None
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded(f"validating upload {upload_id} did not finish before the deadline")
        return parsed

    def put_result(self, owner: str, body: bytes, *, deadline: float | None = None) -> tuple[str, datetime]:
        """Store a JSON result (gzip) in one ``PutObject`` and return a presigned GET URL and its expiry.

        Parameters
        ----------
        owner
            Caller identity (the key prefix).
        body
            The JSON document.
        deadline
            ``time.monotonic()`` value: checked every :data:`GZIP_PIECE_BYTES` of compression, and the budget of
            the ``PutObject`` (see the module's "Time budget"); ``None``: no limit.

        Returns
        -------
        tuple
            ``(url, expires_at)``.

        Raises
        ------
        StorageUnavailable
            S3 throttling or unreachable.
        StorageError
            Any other S3 failure.
        sockpuppet.DeadlineExceeded
            ``deadline`` passed while compressing, or no time left for an attempt.
        """
        key = f"results/{owner_hash(owner)}/{secrets.token_urlsafe(24)}.json.gz"
        compressed = gzip_by_pieces(body, deadline)
        expires_at = datetime.now(UTC) + timedelta(seconds=self._result_ttl)
        try:
            with self._budget(deadline, "store the result"):
                self.s3.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=compressed,
                    ContentType="application/json",
                    ContentEncoding="gzip",
                )
            url = self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._result_ttl
            )
        except (BotoCoreError, ClientError) as exc:
            raise _translate(exc) from exc
        return url, expires_at
