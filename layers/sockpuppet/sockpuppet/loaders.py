"""Readers for posts and accounts files: TSV (the original exercise's format), JSON arrays and JSON Lines.

Sources may be a path, ``bytes`` or a binary file object (e.g. a streaming S3 body), optionally gzip-compressed.
TSV and JSON Lines are read record by record; a JSON array is parsed in one go with orjson.

TSV follows what the original exercise's ``polars.read_csv(path, separator="\\t")`` does: the first line is the
header; ``"`` is the quote character (a field that *starts* with ``"`` is quoted, may contain tabs and newlines,
and ``""`` inside it is a literal quote; quotes elsewhere in a field are literal); a quoted field followed by
anything but a tab is an error, as in polars; an empty field is null (polars also reads a quoted empty ``""`` as
``""`` — here it is null too, which makes no difference to the job: neither pairs nor matches a hashtag).
``hashtags`` is pipe-separated; ``is_repost`` is ``true``/``false``/``1``/``0``.

Error locations: ``[kind, "line", n, field]`` (1-based physical line; the TSV header is line 1) for TSV and JSON
Lines, ``[kind, index, field]`` (0-based) for JSON arrays. See :mod:`sockpuppet.records`.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from sockpuppet.errors import InputError, Loc
from sockpuppet.records import normalize_accounts, normalize_posts

__all__ = [
    "Compression",
    "Format",
    "Source",
    "detect_format",
    "iter_records",
    "read_accounts",
    "read_posts",
    "read_records",
]

Format = Literal["tsv", "json", "jsonl"]
Compression = Literal["gzip"] | None
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

FORMATS: tuple[str, ...] = ("tsv", "json", "jsonl")
_EXTENSIONS = {".tsv": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_CSV_FIELD_LIMIT = 1 << 28
_REQUIRED = {"posts": ("author_id", "is_repost", "hashtags"), "accounts": ("id", "screen_name")}


def detect_format(path: str | os.PathLike[str]) -> tuple[Format, Compression]:
    """Infer ``(format, compression)`` from a file name.

    Parameters
    ----------
    path
        A file name ending in ``.tsv``, ``.json``, ``.jsonl`` or ``.ndjson``, optionally followed by ``.gz``.

    Returns
    -------
    tuple
        ``(format, compression)``, e.g. ``("jsonl", "gzip")`` for ``posts.jsonl.gz``.

    Raises
    ------
    ValueError
        If the extension is not one of those.
    """
    name = Path(path).name.lower()
    compression: Compression = None
    if name.endswith(".gz"):
        compression = "gzip"
        name = name[:-3]
    suffix = Path(name).suffix
    if suffix not in _EXTENSIONS:
        raise ValueError(f"cannot infer the format of {os.fspath(path)!r}: use .tsv, .json, .jsonl or .ndjson (+ .gz)")
    return _EXTENSIONS[suffix], compression  # type: ignore[return-value]


def _check_options(fmt: str, compression: str | None) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if compression not in (None, "gzip"):
        raise ValueError(f"compression must be None or 'gzip', got {compression!r}")


def _open_binary(source: Source, compression: Compression) -> tuple[IO[bytes], bool]:
    """Return a binary stream over ``source`` (decompressed) and whether the caller must close it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw: IO[bytes] = io.BytesIO(source)
        owned = True
    elif isinstance(source, (str, os.PathLike)):
        raw = open(source, "rb")  # noqa: SIM115 - closed by the caller
        owned = True
    else:
        raw = source
        owned = False
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb"), True
    return raw, owned


def _decode_error(kind: str, loc: Loc, exc: Exception) -> InputError:
    return InputError.at((kind, *loc), f"cannot read: {exc}")


def _iter_tsv(stream: IO[bytes], kind: str) -> Iterator[tuple[Loc, Any]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.reader(text, delimiter="\t", quotechar='"', strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        width = len(header)
        for row in reader:
            if not row:
                continue
            line = reader.line_num
            if len(row) != width:
                raise InputError.at(
                    (kind, "line", line), f"expected {width} tab-separated fields (as in the header), got {len(row)}"
                )
            yield (kind, "line", line), {key: value or None for key, value in zip(header, row, strict=True)}
    except csv.Error as exc:
        raise InputError.at((kind, "line", reader.line_num), f"malformed TSV: {exc}") from None
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as exc:
        raise _decode_error(kind, ("line", reader.line_num + 1), exc) from None


def _iter_jsonl(stream: IO[bytes], kind: str) -> Iterator[tuple[Loc, Any]]:
    line_no = 0
    try:
        for line_no, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputError.at((kind, "line", line_no), f"invalid JSON: {exc}") from None
            yield (kind, "line", line_no), record
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise _decode_error(kind, ("line", line_no + 1), exc) from None


def _iter_json(stream: IO[bytes], kind: str) -> Iterator[tuple[Loc, Any]]:
    try:
        data = orjson.loads(stream.read())
    except orjson.JSONDecodeError as exc:
        raise InputError.at((kind,), f"invalid JSON: {exc}") from None
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise _decode_error(kind, (), exc) from None
    if not isinstance(data, list):
        raise InputError.at((kind,), f"must be a JSON array of objects, got {type(data).__name__}")
    for index, record in enumerate(data):
        yield (kind, index), record


def iter_records(
    source: Source, *, format: Format = "tsv", compression: Compression = None, kind: str = "records"
) -> Iterator[tuple[Loc, Any]]:
    """Yield ``(loc, record)`` for every record of a file, without validating the records' fields.

    Parameters
    ----------
    source
        A path, ``bytes``, or a readable binary file object (not closed by this function).
    format
        ``"tsv"``, ``"json"`` (one array of objects) or ``"jsonl"`` (one object per line).
    compression
        ``None`` or ``"gzip"``.
    kind
        First element of the locations (``"posts"`` / ``"accounts"``).

    Yields
    ------
    tuple
        ``(loc, record)`` where ``loc`` locates the record (``(kind, "line", n)`` or ``(kind, index)``) and
        ``record`` is the parsed value (a dict for well-formed input; TSV values are strings or ``None``).

    Raises
    ------
    InputError
        On unreadable input (bad gzip, bad UTF-8, malformed TSV line, invalid JSON), naming the line or index.
    ValueError
        On an unknown ``format`` / ``compression``.
    """
    _check_options(format, compression)
    stream, owned = _open_binary(source, compression)
    try:
        if format == "tsv":
            yield from _iter_tsv(stream, kind)
        elif format == "jsonl":
            yield from _iter_jsonl(stream, kind)
        else:
            yield from _iter_json(stream, kind)
    finally:
        if owned:
            stream.close()


def read_records(
    source: Source, *, kind: Literal["posts", "accounts"], format: Format = "tsv", compression: Compression = None
) -> list[dict[str, Any]]:
    """Read and validate posts or accounts (see :func:`read_posts` / :func:`read_accounts`)."""
    positions = array("q")  # line number or index of each record: 8 bytes a record, not a tuple
    records: list[Any] = []
    for loc, record in iter_records(source, format=format, compression=compression, kind=kind):
        positions.append(loc[-1])  # type: ignore[arg-type]
        records.append(record)
    if format == "tsv" and records:
        missing = [field for field in _REQUIRED[kind] if field not in records[0]]
        if missing:
            header = ", ".join(records[0])
            raise InputError.at((kind, "line", 1), f"missing column(s) {', '.join(missing)} (header: {header})")
    prefix: Loc = (kind,) if format == "json" else (kind, "line")
    normalize = normalize_posts if kind == "posts" else normalize_accounts
    return normalize(records, kind=kind, loc_of=lambda i: (*prefix, positions[i]))


def read_posts(
    source: Source, *, format: Format | None = None, compression: Compression = None
) -> list[dict[str, Any]]:
    """Read posts from a TSV, JSON or JSON Lines source.

    Parameters
    ----------
    source
        A path, ``bytes``, or a readable binary file object (e.g. a streaming S3 body; not closed here).
    format
        ``"tsv"``, ``"json"`` or ``"jsonl"``. ``None`` infers it (and the compression) from a path's extension
        (:func:`detect_format`); bytes and file objects then default to TSV.
    compression
        ``None`` or ``"gzip"``.

    Returns
    -------
    list of dict
        Post records with ``author_id`` (str), ``is_repost`` (bool) and ``hashtags`` (list of str or None)
        normalised; other fields as read (TSV: strings, empty = None).

    Raises
    ------
    InputError
        Naming the line (TSV / JSON Lines) or index (JSON) and the field of each problem (up to
        :data:`~sockpuppet.records.MAX_DETAILS`).
    """
    fmt, comp = _resolve(source, format, compression)
    return read_records(source, kind="posts", format=fmt, compression=comp)


def read_accounts(
    source: Source, *, format: Format | None = None, compression: Compression = None
) -> list[dict[str, Any]]:
    """Read accounts from a TSV, JSON or JSON Lines source.

    Same parameters and errors as :func:`read_posts`. Returns account records with ``id`` (str) and
    ``screen_name`` (str or None; an empty TSV field is None) normalised.
    """
    fmt, comp = _resolve(source, format, compression)
    return read_records(source, kind="accounts", format=fmt, compression=comp)


def _resolve(source: Source, fmt: Format | None, compression: Compression) -> tuple[Format, Compression]:
    if fmt is not None:
        return fmt, compression
    if isinstance(source, (str, os.PathLike)):
        detected, detected_comp = detect_format(source)
        return detected, compression or detected_comp
    return "tsv", compression
