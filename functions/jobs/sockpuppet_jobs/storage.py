"""The job's objects in the payload bucket (see ``docs/jobs.md``).

``jobs/{owner}/{job_id}/`` holds ``request.json`` (written by the API), ``names.json`` and ``matched.json``
(prepare), ``plan.json`` (prepare: the shard items the Distributed Map reads), ``shards/{index}.bin`` (one search
worker each) and ``result.json`` (merge: the synchronous 200 document, gzip). Every object is written in one
``PutObject``, so a reader sees a whole object or none.
"""

from __future__ import annotations

import gzip
import io
from typing import TYPE_CHECKING, Any, Literal

import orjson
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError, IncompleteReadError

from sockpuppet.columns import AccountColumns, PostColumns
from sockpuppet.errors import InputError
from sockpuppet.loaders import read_columns

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["JobStore", "MissingObject", "TransientError", "UploadMissing"]

Kind = Literal["posts", "accounts"]
_FORMATS = frozenset({"json", "jsonl", "tsv"})
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class TransientError(RuntimeError):
    """S3 or DynamoDB throttled or could not be reached: the state machine retries the step with backoff."""


class MissingObject(LookupError):
    """An object the step needs is not there (e.g. a shard whose worker failed for good)."""


class UploadMissing(LookupError):
    """The request names an upload that is not there (expired since the API accepted the job)."""


def transient(exc: Exception) -> bool:
    """Whether a botocore error is worth a retry (throttling, 5xx, network)."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in _TRANSIENT_CODES or status >= 500
    return isinstance(exc, ConnectionError | HTTPClientError | IncompleteReadError)


class _S3Stream(io.RawIOBase):
    """A raw stream over an S3 ``StreamingBody`` whose network failures are :class:`TransientError` (an
    ``OSError`` would look like a corrupt file to the loaders)."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            chunk = self._body.read(len(buffer))
        except (BotoCoreError, OSError) as exc:
            raise TransientError(f"S3 read: {exc}") from exc
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._body.close()
        super().close()


class JobStore:
    """Reads and writes one bucket's job objects.

    Parameters
    ----------
    s3_client
        A botocore/boto3 S3 client.
    bucket
        The payload bucket.
    """

    def __init__(self, s3_client: BaseClient, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    @staticmethod
    def prefix(owner: str, job_id: str) -> str:
        """The key prefix of one job's objects."""
        return f"jobs/{owner}/{job_id}/"

    @classmethod
    def key(cls, owner: str, job_id: str, name: str) -> str:
        """The key of the job's object ``name`` (e.g. ``plan.json``, ``shards/3.bin``)."""
        return cls.prefix(owner, job_id) + name

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._s3, operation)(Bucket=self._bucket, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, ClientError):
                error = exc.response.get("Error", {})
                if str(error.get("Code", "")) in _NOT_FOUND_CODES:
                    raise MissingObject(kwargs.get("Key", "")) from None
            if transient(exc):
                raise TransientError(f"S3 {operation}: {exc}") from exc
            raise

    def get_bytes(self, key: str) -> bytes:
        """The body of ``key`` (gunzipped when stored with ``ContentEncoding: gzip``)."""
        obj = self._call("get_object", Key=key)
        try:
            body = obj["Body"].read()
        except (BotoCoreError, OSError) as exc:
            raise TransientError(f"S3 read of {key}: {exc}") from exc
        return gzip.decompress(body) if obj.get("ContentEncoding") == "gzip" else body

    def get_json(self, key: str) -> Any:
        return orjson.loads(self.get_bytes(key))

    def put_bytes(self, key: str, body: bytes, *, content_type: str = "application/octet-stream") -> None:
        self._call("put_object", Key=key, Body=body, ContentType=content_type)

    def put_json(self, key: str, value: Any) -> None:
        self.put_bytes(key, orjson.dumps(value), content_type="application/json")

    def put_result(self, key: str, document: bytes) -> None:
        """The result document, gzip-encoded like the synchronous route's offloaded results."""
        self._call(
            "put_object",
            Key=key,
            Body=gzip.compress(document, compresslevel=6),
            ContentType="application/json",
            ContentEncoding="gzip",
        )

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=key)
        except MissingObject:
            return False
        return True

    def delete(self, keys: list[str]) -> None:
        """Delete ``keys`` (missing ones are fine), up to 1000 per request."""
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            if batch:
                self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        token: dict[str, str] = {}
        while True:
            page = self._call("list_objects_v2", Prefix=prefix, **token)
            keys.extend(item["Key"] for item in page.get("Contents", ()))
            if not page.get("IsTruncated"):
                return keys
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def read_upload(self, key: str, *, kind: Kind, created_at: bool = False) -> PostColumns | AccountColumns:
        """Stream an upload (format and compression from its metadata) into validated columns
        (:func:`sockpuppet.loaders.read_columns`: no dict per record; ``created_at`` only when asked).

        Raises
        ------
        UploadMissing
            The upload is gone.
        sockpuppet.InputError
            The upload was made for the other kind of records, or its content is invalid (line and field).
        """
        try:
            obj = self._call("get_object", Key=key)
        except MissingObject:
            raise UploadMissing(key) from None
        meta = obj.get("Metadata", {})
        if meta.get("kind") != kind:
            raise InputError.at((kind,), f"the upload was created for {meta.get('kind') or 'unknown'} records")
        fmt = meta.get("format")
        if fmt not in _FORMATS:
            raise InputError.at((kind,), "the upload has no usable format metadata")
        compression = "gzip" if meta.get("content-encoding") == "gzip" else None
        body = io.BufferedReader(_S3Stream(obj["Body"]), buffer_size=1 << 20)
        with body:
            return read_columns(body, kind=kind, format=fmt, compression=compression, created_at=created_at)  # type: ignore[arg-type]
