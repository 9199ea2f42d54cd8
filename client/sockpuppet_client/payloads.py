"""Request payloads: records serialised to gzip JSON Lines spools, files as they are, streamed multipart bodies.

Nothing here talks HTTP; :mod:`sockpuppet_client.client` decides what goes inline and what goes through
``POST /v1/uploads``.
"""

from __future__ import annotations

import gzip
import io
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import IO, Any

import orjson

from sockpuppet.loaders import Compression, Format, detect_format

__all__ = [
    "EncodedRecords",
    "FilePayload",
    "MultipartBody",
    "detect_format",
    "encode_records",
    "inline_body",
]

_BATCH = 2048
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class FilePayload:
    """A posts/accounts file uploaded byte for byte (the service parses it)."""

    path: Path
    format: Format
    compression: Compression
    size: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> FilePayload:
        """Describe ``path`` (format and compression from its name, size from the file system)."""
        fmt, compression = detect_format(path)
        return cls(Path(path), fmt, compression, os.path.getsize(path))

    def open(self) -> IO[bytes]:
        """The file, opened for binary reading."""
        return self.path.open("rb")


@dataclass(slots=True)
class EncodedRecords:
    """Records serialised as gzip-compressed JSON Lines in a spool (memory up to a size, then a temporary file).

    Attributes
    ----------
    spool
        The gzip stream; kept open until :meth:`close`.
    count
        Number of records.
    raw_bytes
        Size of the uncompressed JSON Lines (one record a line, ``\\n`` terminated).
    size
        Size of the gzip stream.
    """

    spool: SpooledTemporaryFile[bytes]
    count: int
    raw_bytes: int
    size: int

    format: Format = "jsonl"
    compression: Compression = "gzip"

    def open(self) -> IO[bytes]:
        """The gzip stream, rewound (owned by this object: released by :meth:`close`)."""
        self.spool.seek(0)
        return self.spool

    def lines(self) -> Iterator[bytes]:
        """The JSON text of each record, without the newline."""
        self.spool.seek(0)
        with gzip.GzipFile(fileobj=self.spool, mode="rb") as stream:
            for line in stream:
                yield line.rstrip(b"\n")

    def close(self) -> None:
        """Release the spool."""
        self.spool.close()


def encode_records(records: Iterable[Mapping[str, Any]], *, spool_bytes: int) -> EncodedRecords:
    """Serialise records to gzip JSON Lines, one record at a time (no whole-document copy in memory).

    Parameters
    ----------
    records
        Record dicts (JSON-serialisable values; ``datetime`` is written as ISO 8601).
    spool_bytes
        Compressed size kept in memory; beyond it the spool moves to a temporary file.

    Returns
    -------
    EncodedRecords
        The spool with its record count and sizes.

    Raises
    ------
    TypeError
        If a record is not a mapping or holds a value JSON cannot represent.
    """
    spool: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=spool_bytes)  # noqa: SIM115 - owned by the result
    count = raw = 0
    try:
        with gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=6, mtime=0) as stream:
            batch: list[bytes] = []
            for record in records:
                if not isinstance(record, Mapping):
                    raise TypeError(f"record {count} is a {type(record).__name__}, not a mapping")
                batch.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS))
                count += 1
                if len(batch) == _BATCH:
                    raw += _write(stream, batch)
            raw += _write(stream, batch)
    except BaseException:
        spool.close()
        raise
    return EncodedRecords(spool, count, raw, spool.tell())


def _write(stream: IO[bytes], batch: list[bytes]) -> int:
    data = b"".join(batch)
    stream.write(data)
    batch.clear()
    return len(data)


def inline_body(params: Mapping[str, Any], parts: Mapping[str, EncodedRecords]) -> tuple[bytes, int]:
    """The gzip JSON request body ``{**params, "posts": [...], "accounts": [...]}`` built from spools.

    Parameters
    ----------
    params
        The non-record fields (hashtag, threshold, upload ids, ...).
    parts
        ``{"posts": ..., "accounts": ...}`` (either or both) to inline as JSON arrays.

    Returns
    -------
    tuple
        ``(gzip body, uncompressed size)``.
    """
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as stream:
        head = orjson.dumps(dict(params))
        raw = stream.write(head[:-1])
        separator = b"," if params else b""
        for kind, part in parts.items():
            raw += stream.write(separator + orjson.dumps(kind) + b":[")
            separator = b","
            first = True
            for line in part.lines():
                raw += stream.write(line if first else b"," + line)
                first = False
            raw += stream.write(b"]")
        raw += stream.write(b"}")
    return buffer.getvalue(), raw


class MultipartBody:
    """A ``multipart/form-data`` body (form fields, then one file) read lazily, for streamed S3 POST uploads.

    ``requests`` sends it with a ``Content-Length`` (from ``len``) in blocks, so a file is never held in memory;
    S3 wants the ``file`` part last, after the presigned policy fields.

    Parameters
    ----------
    fields
        The presigned POST's form fields, in order.
    stream
        The file contents, positioned at the start.
    size
        Bytes ``stream`` will yield.
    filename
        File name announced in the part header.
    """

    def __init__(self, fields: Mapping[str, str], stream: IO[bytes], size: int, *, filename: str = "data") -> None:
        boundary = secrets.token_hex(16)
        head = io.BytesIO()
        for name, value in fields.items():
            head.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            head.write(str(value).encode() + b"\r\n")
        head.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        self._head = head.getvalue()
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self._stream = stream
        self._start = stream.tell() if stream.seekable() else 0
        self._size = size
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.rewind()

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def rewind(self) -> None:
        """Start over (for a retried request)."""
        self._stream.seek(self._start)
        self._parts: list[IO[bytes]] = [io.BytesIO(self._head), self._stream, io.BytesIO(self._tail)]
        self._sent = 0

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body (``-1``: all the rest, for completeness only)."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(_CHUNK), b""))
        while self._parts:
            data = self._parts[0].read(size)
            if data:
                self._sent += len(data)
                return data
            self._parts.pop(0)
        if self._sent != len(self):
            raise OSError(f"upload source changed while sending: {self._sent} of {len(self)} bytes")
        return b""

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.read(_CHUNK), b"")
