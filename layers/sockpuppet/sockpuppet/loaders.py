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
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt
import orjson

from sockpuppet.columns import AccountColumns, PostColumns
from sockpuppet.errors import InputError, Loc, RecordLimitExceeded
from sockpuppet.records import (
    ACCOUNT_FIELDS,
    MAX_DETAILS,
    POST_FIELDS,
    InvalidValue,
    coerce_hashtags,
    coerce_id,
    coerce_is_repost,
    coerce_screen_name,
    normalize_accounts,
    normalize_posts,
    problems_error,
    record_problems,
)
from sockpuppet.times import ParsedTimes

__all__ = [
    "Compression",
    "Format",
    "Source",
    "detect_format",
    "iter_records",
    "read_account_columns",
    "read_accounts",
    "read_columns",
    "read_post_columns",
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


def _width_error(kind: str, line: int, width: int, got: int) -> InputError:
    return InputError.at((kind, "line", line), f"expected {width} tab-separated fields (as in the header), got {got}")


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
                raise _width_error(kind, line, width, len(row))
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
    source: Source,
    *,
    format: Format = "tsv",
    compression: Compression = None,
    kind: str = "records",
    max_records: int | None = None,
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
    max_records
        Largest number of records accepted; reading stops at the first record over it. ``None``: no limit.

    Yields
    ------
    tuple
        ``(loc, record)`` where ``loc`` locates the record (``(kind, "line", n)`` or ``(kind, index)``) and
        ``record`` is the parsed value (a dict for well-formed input; TSV values are strings or ``None``).

    Raises
    ------
    InputError
        On unreadable input (bad gzip, bad UTF-8, malformed TSV line, invalid JSON), naming the line or index.
    RecordLimitExceeded
        On the first record over ``max_records`` (an :class:`InputError` locating that record).
    ValueError
        On an unknown ``format`` / ``compression``.
    """
    _check_options(format, compression)
    _check_limit(max_records)
    stream, owned = _open_binary(source, compression)
    try:
        yield from _limited(_iter_stream(stream, format, kind), kind, max_records)
    finally:
        if owned:
            stream.close()


def _iter_stream(stream: IO[bytes], format: Format, kind: str) -> Iterator[tuple[Loc, Any]]:
    if format == "tsv":
        return _iter_tsv(stream, kind)
    if format == "jsonl":
        return _iter_jsonl(stream, kind)
    return _iter_json(stream, kind)


def _check_limit(max_records: int | None) -> None:
    if max_records is not None and (isinstance(max_records, bool) or not isinstance(max_records, int)):
        raise ValueError(f"max_records must be an integer or None, got {max_records!r}")


def _limited(records: Iterator[tuple[Loc, Any]], kind: str, limit: int | None) -> Iterator[tuple[Loc, Any]]:
    if limit is None:
        yield from records
        return
    for count, (loc, record) in enumerate(records, start=1):
        if count > limit:
            raise RecordLimitExceeded(kind, limit, loc)
        yield loc, record


def read_records(
    source: Source,
    *,
    kind: Literal["posts", "accounts"],
    format: Format = "tsv",
    compression: Compression = None,
    max_records: int | None = None,
) -> list[dict[str, Any]]:
    """Read and validate posts or accounts (see :func:`read_posts` / :func:`read_accounts`)."""
    positions = array("q")  # line number or index of each record: 8 bytes a record, not a tuple
    records: list[Any] = []
    for loc, record in iter_records(source, format=format, compression=compression, kind=kind, max_records=max_records):
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
    source: Source, *, format: Format | None = None, compression: Compression = None, max_records: int | None = None
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
    max_records
        Largest number of posts accepted: reading stops at the first record over it
        (:class:`~sockpuppet.errors.RecordLimitExceeded`). ``None``: no limit.

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
    return read_records(source, kind="posts", format=fmt, compression=comp, max_records=max_records)


def read_accounts(
    source: Source, *, format: Format | None = None, compression: Compression = None, max_records: int | None = None
) -> list[dict[str, Any]]:
    """Read accounts from a TSV, JSON or JSON Lines source.

    Same parameters and errors as :func:`read_posts`. Returns account records with ``id`` (str) and
    ``screen_name`` (str or None; an empty TSV field is None) normalised.
    """
    fmt, comp = _resolve(source, format, compression)
    return read_records(source, kind="accounts", format=fmt, compression=comp, max_records=max_records)


def _resolve(source: Source, fmt: Format | None, compression: Compression) -> tuple[Format, Compression]:
    if fmt is not None:
        return fmt, compression
    if isinstance(source, (str, os.PathLike)):
        detected, detected_comp = detect_format(source)
        return detected, compression or detected_comp
    return "tsv", compression


# --- columnar readers -----------------------------------------------------------------------------------------

_BLOCK_BYTES = 1 << 22
"""TSV is read in blocks of about this many bytes (cut at the last newline)."""
_CHUNK_RECORDS = 1 << 16
"""Records per chunk on the record-by-record paths (quoted TSV, JSON Lines, JSON)."""
_BOM = b"\xef\xbb\xbf"
_POST_COLUMNS = ("author_id", "is_repost", "hashtags", "created_at")
_ACCOUNT_COLUMNS = ("id", "screen_name", "created_at")
_BOOL_WORDS = ((b"true", 1), (b"false", 0))
_QUOTED = re.compile(rb'(?:[^"]++|"")*+"')
"""The rest of a quoted field after its opening quote: anything but a lone quote, then the closing quote."""


@dataclass(slots=True)
class _TsvChunk:
    """Rows of a TSV block: physical line numbers and the wanted columns (empty field = ``None``).

    ``repost`` (blocks read by the vectorised path only): per row 1 / 0 for the exact words ``true``/``false``
    (any ASCII case) and ``1``/``0``, -1 for anything else, whose raw values are in ``repost_raw`` (in row order)
    for :func:`~sockpuppet.records.coerce_is_repost` to decide.
    """

    lines: npt.NDArray[np.int64]
    columns: dict[str, Any]
    """Per wanted column: a list of strings (``None`` for empty), ``created_at`` as :class:`ParsedTimes` or a list."""
    repost: npt.NDArray[np.int8] | None = None
    repost_raw: list[str | None] | None = None


@dataclass(slots=True)
class _RecordChunk:
    """Parsed records (JSON, JSON Lines) and their locations."""

    locs: list[Loc]
    records: list[Any]


class _Prepend(io.RawIOBase):
    """A raw stream that returns ``head`` and then the rest of ``inner`` (which it does not close)."""

    def __init__(self, head: bytes, inner: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _TsvColumns:
    """Reads the wanted columns of a TSV stream in chunks.

    Blocks without any ``"`` or ``\\r`` (so every physical line is one record and every tab separates two fields,
    exactly as :mod:`csv` would read them) are split with numpy: newline and tab positions, field bounds per row,
    one string per wanted field. From the first block holding a quote or a carriage return on, the rest of the
    stream is read by :func:`csv.reader` (quoted fields may span lines), as :func:`iter_records` reads it. Either way
    the same records, fields, line numbers and errors come out.
    """

    def __init__(self, stream: IO[bytes], kind: str, wanted: tuple[str, ...], limit: int | None) -> None:
        self.stream = stream
        self.kind = kind
        self.wanted = wanted
        self.limit = limit
        self.header: list[str] | None = None
        self.index: dict[str, int] = {}
        self.line = 0
        self.count = 0

    def missing(self, required: tuple[str, ...]) -> list[str]:
        """Required columns the header lacks."""
        return [field for field in required if self.header is not None and field not in self.header]

    def _set_header(self, header: list[str]) -> None:
        self.header = header
        positions = {name: j for j, name in enumerate(header)}  # a repeated name: the last one wins, as in a dict
        self.index = {name: positions[name] for name in self.wanted if name in positions}

    def _read(self, size: int) -> bytes:
        try:
            return self.stream.read(size)
        except (EOFError, gzip.BadGzipFile, OSError) as exc:
            raise _decode_error(self.kind, ("line", self.line + 1), exc) from None

    def chunks(self) -> Iterator[_TsvChunk]:
        """Yield the rows block by block (raising :class:`InputError` at the first unreadable line)."""
        pending = b""
        started = False
        while True:
            piece = self._read(_BLOCK_BYTES)
            data = pending + piece if pending else piece
            eof = not piece
            if not started:
                if len(data) < len(_BOM) and not eof:
                    pending = data
                    continue
                started = True
                if data.startswith(_BOM):
                    data = data[len(_BOM) :]
            if eof:
                block, pending = data, b""
            else:
                cut = data.rfind(b"\n")
                if cut < 0:
                    pending = data
                    continue
                block, pending = data[: cut + 1], data[cut + 1 :]
            if b"\r" in block:  # a carriage return may end a record: csv's rules, from here on
                yield from self._csv_chunks(block + pending)
                return
            if self.header is None and block:
                end = block.find(b"\n")
                first = block if end < 0 else block[:end]
                if not first or b'"' in first:  # an empty or quoted header: read the slow way
                    yield from self._csv_chunks(block + pending)
                    return
                try:
                    self._set_header(first.decode("utf-8").split("\t"))
                except UnicodeDecodeError as exc:
                    raise _decode_error(self.kind, ("line", 1), exc) from None
                self.line = 1
                block = b"" if end < 0 else block[end + 1 :]
            if block:
                done = self._fast_chunk(block, eof=eof)
                if done is None:  # a malformed or unterminated quoted field: csv names the error
                    yield from self._csv_chunks(block + pending)
                    return
                chunk, used = done
                if chunk is not None:
                    yield chunk
                pending = block[used:] + pending  # a quoted field running past the block: read on
            if eof:
                return

    def _quoted_spans(
        self, block: bytes, a: npt.NDArray[np.uint8], eof: bool
    ) -> tuple[list[int], list[int], int] | None:
        """Opening and closing quotes of the quoted fields, and where the records read whole end.

        A field is quoted when it starts with ``"`` (after a tab, a newline or at the start); inside, ``""`` is a
        quote; it ends at the next lone ``"``, which must be followed by a tab, a newline or the end of the input.
        Returns ``None`` for a quote that closes before anything else (csv reports that line) or that never closes
        in the input; ``end`` < ``len(block)`` when a quoted field runs past the block (its record starts there).
        """
        quotes = np.flatnonzero(a == 34)
        before = a[np.maximum(quotes - 1, 0)]
        at_start = (quotes == 0) | (before == 9) | (before == 10)
        found = _quoted_spans_vectorised(a, quotes, at_start)
        if found is not None:
            return found[0], found[1], len(block)
        candidates = quotes[at_start].tolist()
        opens: list[int] = []
        closes: list[int] = []
        done = 0
        for start in candidates:
            if start < done:  # inside the previous quoted field
                continue
            match = _QUOTED.match(block, start + 1)
            if match is None:
                if eof:
                    return None
                # the unterminated field's record starts after the last newline outside the quoted fields before it
                gap_starts, gap_ends = [0, *(close + 1 for close in closes)], [*opens, start]
                for low, high in zip(reversed(gap_starts), reversed(gap_ends), strict=True):
                    newline = block.rfind(b"\n", low, high)
                    if newline >= 0:
                        return opens, closes, newline + 1
                return opens, closes, 0
            close = match.end() - 1
            if close + 1 < len(block) and block[close + 1] not in (9, 10):
                return None
            opens.append(start)
            closes.append(close)
            done = close + 1
        return opens, closes, len(block)

    def _fast_chunk(self, block: bytes, *, eof: bool) -> tuple[_TsvChunk | None, int] | None:
        """The records of ``block`` (which starts a record) read with numpy; and how many bytes they took.

        Returns ``None`` when the block needs csv's rules to report an error (a malformed or unterminated quoted
        field).
        """
        kind = self.kind
        assert self.header is not None
        width = len(self.header)
        a = np.frombuffer(block, dtype=np.uint8)
        opens: list[int] = []
        closes: list[int] = []
        if b'"' in block:
            spans = self._quoted_spans(block, a, eof)
            if spans is None:
                return None
            opens, closes, used = spans
            if used < len(block):
                if not used:
                    return None, 0
                done = self._fast_chunk(block[:used], eof=False)
                return None if done is None else (done[0], used)
        all_newlines = np.flatnonzero(a == 10)
        newlines, tabs = all_newlines, np.flatnonzero(a == 9)
        if opens:
            open_at, close_at = np.asarray(opens, dtype=np.int64), np.asarray(closes, dtype=np.int64)

            def outside(positions: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
                span = np.searchsorted(open_at, positions) - 1  # the last quoted field opened before
                return positions[(span < 0) | (positions > close_at[np.maximum(span, 0)])]

            newlines, tabs = outside(newlines), outside(tabs)
        ends = newlines if newlines.size and newlines[-1] == a.size - 1 else np.append(newlines, a.size)
        starts = np.empty_like(ends)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        first_line = self.line + 1
        self.line += all_newlines.size
        lines = first_line + np.searchsorted(all_newlines, ends)  # csv's line_num: a record's last physical line
        rows = np.flatnonzero(ends > starts)  # csv skips empty lines
        row_starts, row_ends, lines = starts[rows], ends[rows], lines[rows]
        failures: list[tuple[int, InputError]] = []  # on one line: unreadable, then malformed, then over the limit
        try:
            block.decode("utf-8")  # the whole block is checked, wanted columns or not
        except UnicodeDecodeError as exc:
            line = first_line + block.count(b"\n", 0, exc.start)
            failures.append((line, _decode_error(kind, ("line", line), exc)))
        over = None
        if self.limit is not None and self.count + rows.size > self.limit:
            over = self.limit - self.count
        fields = _row_tabs(tabs, row_starts, row_ends, width - 1)
        if fields is None or over is not None:
            stop = None if over is None else over + 1
            counts = np.searchsorted(tabs, row_ends[:stop]) - np.searchsorted(tabs, row_starts[:stop])
            bad = np.flatnonzero(counts != width - 1)
            if bad.size:
                line = int(lines[bad[0]])
                failures.append((line, _width_error(kind, line, width, int(counts[bad[0]]) + 1)))
        if over is not None:
            line = int(lines[over])
            failures.append((line, RecordLimitExceeded(kind, self.limit, (kind, "line", line))))
        if failures:
            raise min(failures, key=lambda failure: failure[0])[1]
        assert fields is not None
        self.count += rows.size
        if not rows.size:
            return None, len(block)

        def bounds(j: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
            return (row_starts if j == 0 else fields[:, j - 1] + 1), (fields[:, j] if j < width - 1 else row_ends)

        def strings(begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64]) -> list[Any]:
            if not opens:
                return _gather_strings(a, begin, end)
            quoted = np.flatnonzero((end > begin) & (a[np.minimum(begin, a.size - 1)] == 34))
            if not quoted.size:
                return _gather_strings(a, begin, end)
            plain_end = end.copy()
            plain_end[quoted] = begin[quoted]
            values = _gather_strings(a, begin, plain_end)
            for row, first, last in zip(quoted.tolist(), begin[quoted].tolist(), end[quoted].tolist(), strict=True):
                values[row] = block[first + 1 : last - 1].decode("utf-8").replace('""', '"') or None
            return values

        columns: dict[str, list[str | None]] = {}
        repost = repost_raw = None
        for name, j in self.index.items():
            begin, end = bounds(j)
            if name == "created_at":  # parsed from the bytes: no string per value
                columns[name] = ParsedTimes.from_spans(a, begin, end, partial(_texts, strings, begin, end))
                continue
            if name == "hashtags":  # few distinct values: one string object each (less memory, faster filter)
                values = strings(begin, end)
                canonical = dict(zip(values, values, strict=True))
                columns[name] = list(map(canonical.__getitem__, values))
                continue
            if name != "is_repost":
                columns[name] = strings(begin, end)
                continue
            length = end - begin
            repost = np.full(rows.size, -1, dtype=np.int8)
            one = np.flatnonzero(length == 1)
            digit = a[begin[one]]
            repost[one[digit == ord("1")]] = 1
            repost[one[digit == ord("0")]] = 0
            for word, value in _BOOL_WORDS:
                sel = np.flatnonzero(length == len(word))
                if sel.size:
                    got = a[begin[sel, None] + np.arange(len(word))] | 0x20  # ASCII letters to lower case
                    repost[sel[(got == np.frombuffer(word, dtype=np.uint8)).all(axis=1)]] = value
            other = np.flatnonzero(repost < 0)
            repost_raw = strings(begin[other], end[other])
        return _TsvChunk(lines, columns, repost, repost_raw), len(block)

    def _csv_chunks(self, head: bytes) -> Iterator[_TsvChunk]:
        kind = self.kind
        base = self.line
        text = io.TextIOWrapper(io.BufferedReader(_Prepend(head, self.stream)), encoding="utf-8", newline="")
        if csv.field_size_limit() < _CSV_FIELD_LIMIT:
            csv.field_size_limit(_CSV_FIELD_LIMIT)
        reader = csv.reader(text, delimiter="\t", quotechar='"', strict=True)
        lines: list[int] = []
        rows: list[list[str]] = []
        try:
            if self.header is None:
                header = next(reader, None)
                if header is None:
                    return
                self._set_header(header)
            width = len(self.header or ())
            for row in reader:
                if not row:
                    continue
                line = base + reader.line_num
                if len(row) != width:
                    raise _width_error(kind, line, width, len(row))
                self.count += 1
                if self.limit is not None and self.count > self.limit:
                    raise RecordLimitExceeded(kind, self.limit, (kind, "line", line))
                lines.append(line)
                rows.append(row)
                if len(rows) >= _CHUNK_RECORDS:
                    yield self._rows_chunk(lines, rows)
                    lines, rows = [], []
        except csv.Error as exc:
            raise InputError.at((kind, "line", base + reader.line_num), f"malformed TSV: {exc}") from None
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as exc:
            raise _decode_error(kind, ("line", base + reader.line_num + 1), exc) from None
        finally:
            text.detach()
        if rows:
            yield self._rows_chunk(lines, rows)

    def _rows_chunk(self, lines: list[int], rows: list[list[str]]) -> _TsvChunk:
        columns = {name: [row[j] or None for row in rows] for name, j in self.index.items()}
        return _TsvChunk(np.array(lines, dtype=np.int64), columns)


def _quoted_spans_vectorised(
    a: npt.NDArray[np.uint8], quotes: npt.NDArray[np.int64], at_start: npt.NDArray[np.bool_]
) -> tuple[list[int], list[int]] | None:
    """Quoted fields found without a loop, when every quote at a field start opens one (the usual case).

    Quotes come in runs; after an opening quote, the rest of its run and then every following run pair up as ``""``
    until a run of odd length, whose last quote closes the field. ``None`` (read them one by one) when a field start
    lies inside another quoted field, a field never closes, or a closing quote is followed by anything but a tab or
    a newline.
    """
    if not at_start.any():
        return [], []
    breaks = np.flatnonzero(np.diff(quotes) != 1) + 1
    run_starts = np.concatenate(([0], breaks))
    run_ends = np.concatenate((breaks, [quotes.size])) - 1  # index (into quotes) of each run's last quote
    odd_runs = np.flatnonzero((run_ends - run_starts + 1) % 2 == 1)
    opens = quotes[at_start]
    run_of_open = np.searchsorted(run_starts, np.flatnonzero(at_start), side="right") - 1
    rest_odd = (run_ends[run_of_open] - run_starts[run_of_open]) % 2 == 1  # quotes after the opener: odd count
    later = np.searchsorted(odd_runs, run_of_open, side="right")
    if later[~rest_odd].size and (later[~rest_odd] >= odd_runs.size).any():
        return None
    next_odd = odd_runs[np.minimum(later, odd_runs.size - 1)] if odd_runs.size else run_of_open
    close_run = np.where(rest_odd, run_of_open, next_odd)
    closes = quotes[run_ends[close_run]]
    if (opens[1:] <= closes[:-1]).any():
        return None
    after = closes + 1
    if after[-1] == a.size:
        after = after[:-1]
    if not np.isin(a[after], (9, 10)).all():
        return None
    return opens.tolist(), closes.tolist()


def _row_tabs(
    tabs: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], per_row: int
) -> npt.NDArray[np.int64] | None:
    """The tab positions as a ``(rows, per_row)`` array when every row has exactly ``per_row`` tabs, else None.

    Every tab lies in exactly one row (empty lines hold none), so when there are ``rows * per_row`` of them in
    order and each row's share lies inside the row, each row holds exactly its share.
    """
    if tabs.size != starts.size * per_row:
        return None
    fields = tabs.reshape(starts.size, per_row)
    if per_row and not (np.all(fields[:, 0] >= starts) and np.all(fields[:, -1] < ends)):
        return None
    return fields


def _gather_strings(a: npt.NDArray[np.uint8], begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64]) -> list[Any]:
    """The fields ``a[begin[i]:end[i]]`` as strings (``None`` for an empty one): one gather, one decode, one split.

    The fields hold no newline (the fast path only reads blocks where a newline ends a record), so newlines can
    separate them.
    """
    if not begin.size:
        return []
    lengths = end - begin
    spans = lengths + 1
    out_starts = np.cumsum(spans) - spans
    source = np.repeat(begin - out_starts, spans) + np.arange(int(spans.sum()))
    source[-1] = 0  # the last separator's slot (it may point one past the end of the block)
    gathered = a[source]
    gathered[out_starts + lengths] = 10
    values: list[Any] = gathered[:-1].tobytes().decode("utf-8").split("\n")
    if "" in values:
        values = [value or None for value in values]
    return values


class _Problems:
    """Record problems across chunks: the first :data:`MAX_DETAILS` described, all counted."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.details: list[dict[str, Any]] = []
        self.total = 0

    def add(self, loc: list[Any], msg: str) -> None:
        self.total += 1
        if len(self.details) < MAX_DETAILS:
            self.details.append({"loc": loc, "msg": msg})

    def add_records(self, chunk: _RecordChunk, fields: tuple[tuple[str, Any], ...]) -> None:
        for loc, record in zip(chunk.locs, chunk.records, strict=True):
            for where, msg in record_problems(record, fields, loc):
                self.add(where, msg)

    def add_rows(self, found: list[tuple[int, int, str, str]], lines: npt.NDArray[np.int64]) -> None:
        """``(row, field order, field, msg)`` problems of a TSV chunk, in record then field order."""
        for row, _, field, msg in sorted(found):
            self.add([self.kind, "line", int(lines[row]), field], msg)

    def raise_any(self) -> None:
        if self.total:
            raise problems_error(self.kind, self.details, self.total)


def _invalid(coerce: Any, value: Any) -> str:
    try:
        coerce(value)
    except InvalidValue as exc:
        return str(exc)
    raise AssertionError(f"{value!r} is valid")  # pragma: no cover


def _chunks(
    source: Source, kind: str, fmt: Format, compression: Compression, wanted: tuple[str, ...], limit: int | None
) -> Iterator[_TsvChunk | _RecordChunk | _TsvColumns]:
    """The TSV reader first (for its header), then every chunk of ``source``."""
    _check_options(fmt, compression)
    _check_limit(limit)
    stream, owned = _open_binary(source, compression)
    try:
        if fmt == "tsv":
            reader = _TsvColumns(stream, kind, wanted, limit)
            yield reader
            yield from reader.chunks()
            return
        locs: list[Loc] = []
        records: list[Any] = []
        for loc, record in _limited(_iter_stream(stream, fmt, kind), kind, limit):
            locs.append(loc)
            records.append(record)
            if len(records) >= _CHUNK_RECORDS:
                yield _RecordChunk(locs, records)
                locs, records = [], []
        if records:
            yield _RecordChunk(locs, records)
    finally:
        if owned:
            stream.close()


def _check_header(reader: _TsvColumns | None, kind: str) -> None:
    if reader is not None and reader.count:
        missing = reader.missing(_REQUIRED[kind])
        if missing:
            header = ", ".join(reader.header or ())
            raise InputError.at((kind, "line", 1), f"missing column(s) {', '.join(missing)} (header: {header})")


def read_post_columns(
    source: Source,
    *,
    format: Format | None = None,
    compression: Compression = None,
    max_records: int | None = None,
    created_at: bool = True,
) -> PostColumns:
    """Read posts from a TSV, JSON or JSON Lines source into columns (no dict per post for TSV).

    Accepts and refuses exactly what :func:`read_posts` does, with the same error locations and messages.

    Parameters
    ----------
    source
        A path, ``bytes``, or a readable binary file object (e.g. a streaming S3 body; not closed here).
    format
        ``"tsv"``, ``"json"`` or ``"jsonl"``; ``None`` infers it (and the compression) from a path's extension,
        bytes and file objects then default to TSV.
    compression
        ``None`` or ``"gzip"``.
    max_records
        Largest number of posts accepted: reading stops at the first record over it
        (:class:`~sockpuppet.errors.RecordLimitExceeded`). ``None``: no limit.
    created_at
        Also read ``created_at``, parsed as it is read (:class:`~sockpuppet.times.ParsedTimes`: ``int64``
        microseconds, no string per value; unparseable values are kept with their message, an error only where a
        signal needs them). ``False`` skips the column.

    Returns
    -------
    PostColumns
        ``author_id``, ``is_repost``, ``hashtags`` and (optionally) ``created_at``, in input order.

    Raises
    ------
    InputError
        Naming the line (TSV / JSON Lines) or index (JSON) and the field of each problem (up to
        :data:`~sockpuppet.records.MAX_DETAILS`).
    """
    fmt, comp = _resolve(source, format, compression)
    kind = "posts"
    wanted = _POST_COLUMNS if created_at else _POST_COLUMNS[:-1]
    problems = _Problems(kind)
    authors: list[str] = []
    reposts: list[npt.NDArray[np.bool_]] = []
    hashtags: list[Any] = []
    created: list[ParsedTimes] | None = [] if created_at else None
    reader: _TsvColumns | None = None
    for chunk in _chunks(source, kind, fmt, comp, wanted, max_records):
        if isinstance(chunk, _TsvColumns):
            reader = chunk
        elif isinstance(chunk, _RecordChunk):
            try:
                records = chunk.records
                chunk_authors = [coerce_id(p["author_id"]) for p in records]
                chunk_reposts = np.fromiter(
                    (coerce_is_repost(p["is_repost"]) for p in records), dtype=bool, count=len(records)
                )
                chunk_tags = [coerce_hashtags(p["hashtags"]) for p in records]
                chunk_created = [p.get("created_at") for p in records] if created_at else None
            except (InvalidValue, KeyError, TypeError, AttributeError):
                problems.add_records(chunk, POST_FIELDS)
                continue
            if not problems.total:
                authors += chunk_authors
                reposts.append(chunk_reposts)
                hashtags += chunk_tags
                if created is not None and chunk_created is not None:
                    created.append(ParsedTimes.parse(chunk_created))
        elif not (reader is not None and reader.missing(_REQUIRED[kind])):
            flags = _tsv_posts(chunk, problems)
            if not problems.total:
                authors += chunk.columns["author_id"]  # type: ignore[arg-type]  # checked: no None
                reposts.append(flags)
                hashtags += chunk.columns["hashtags"]
                if created is not None:
                    created.append(_chunk_times(chunk))
    _check_header(reader, kind)
    problems.raise_any()
    flags = np.concatenate(reposts) if reposts else np.zeros(0, dtype=bool)
    return PostColumns(authors, flags, hashtags, None if created is None else ParsedTimes.concat(created))


def _texts(
    strings: Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64]], list[Any]],
    begin: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    rows: npt.NDArray[np.intp],
) -> list[Any]:
    return strings(begin[rows], end[rows])


def _chunk_times(chunk: _TsvChunk) -> ParsedTimes:
    """The chunk's ``created_at`` parsed (``None`` each when the file has no such column)."""
    value = chunk.columns.get("created_at")
    if isinstance(value, ParsedTimes):
        return value
    return ParsedTimes.parse(value if value is not None else [None] * len(chunk.lines))


def _tsv_posts(chunk: _TsvChunk, problems: _Problems) -> npt.NDArray[np.bool_]:
    """Validate a TSV chunk of posts; return ``is_repost`` as booleans."""
    found: list[tuple[int, int, str, str]] = []
    authors = chunk.columns["author_id"]
    if None in authors:
        msg = _invalid(coerce_id, None)
        found += [(row, 0, "author_id", msg) for row, value in enumerate(authors) if value is None]
    if chunk.repost is not None:
        codes = chunk.repost
        for row, raw in zip(np.flatnonzero(codes < 0).tolist(), chunk.repost_raw or (), strict=True):
            try:
                codes[row] = coerce_is_repost(raw)
            except InvalidValue as exc:
                found.append((row, 1, "is_repost", str(exc)))
        flags = codes == 1
    else:
        flags = np.zeros(len(authors), dtype=bool)
        for row, raw in enumerate(chunk.columns["is_repost"]):
            try:
                flags[row] = coerce_is_repost(raw)
            except InvalidValue as exc:
                found.append((row, 1, "is_repost", str(exc)))
    if found:
        problems.add_rows(found, chunk.lines)
    return flags


def read_account_columns(
    source: Source,
    *,
    format: Format | None = None,
    compression: Compression = None,
    max_records: int | None = None,
    created_at: bool = True,
) -> AccountColumns:
    """Read accounts from a TSV, JSON or JSON Lines source into columns.

    Same parameters and errors as :func:`read_post_columns`; accepts and refuses exactly what
    :func:`read_accounts` does. Returns ``id``, ``screen_name`` and (optionally) ``created_at`` as
    :class:`~sockpuppet.times.ParsedTimes`.
    """
    fmt, comp = _resolve(source, format, compression)
    kind = "accounts"
    wanted = _ACCOUNT_COLUMNS if created_at else _ACCOUNT_COLUMNS[:-1]
    problems = _Problems(kind)
    ids: list[str] = []
    names: list[str | None] = []
    created: list[ParsedTimes] | None = [] if created_at else None
    reader: _TsvColumns | None = None
    for chunk in _chunks(source, kind, fmt, comp, wanted, max_records):
        if isinstance(chunk, _TsvColumns):
            reader = chunk
        elif isinstance(chunk, _RecordChunk):
            try:
                records = chunk.records
                chunk_ids = [coerce_id(a["id"]) for a in records]
                chunk_names = [coerce_screen_name(a["screen_name"]) for a in records]
                chunk_created = [a.get("created_at") for a in records] if created_at else None
            except (InvalidValue, KeyError, TypeError, AttributeError):
                problems.add_records(chunk, ACCOUNT_FIELDS)
                continue
            if not problems.total:
                ids += chunk_ids
                names += chunk_names
                if created is not None and chunk_created is not None:
                    created.append(ParsedTimes.parse(chunk_created))
        elif not (reader is not None and reader.missing(_REQUIRED[kind])):
            chunk_ids = chunk.columns["id"]
            if None in chunk_ids:
                msg = _invalid(coerce_id, None)
                problems.add_rows([(row, 0, "id", msg) for row, v in enumerate(chunk_ids) if v is None], chunk.lines)
            if not problems.total:
                ids += chunk_ids  # type: ignore[arg-type]  # checked: no None
                names += chunk.columns["screen_name"]
                if created is not None:
                    created.append(_chunk_times(chunk))
    _check_header(reader, kind)
    problems.raise_any()
    return AccountColumns(ids, names, None if created is None else ParsedTimes.concat(created))


def read_columns(
    source: Source,
    *,
    kind: Literal["posts", "accounts"],
    format: Format = "tsv",
    compression: Compression = None,
    max_records: int | None = None,
    created_at: bool = True,
) -> PostColumns | AccountColumns:
    """:func:`read_post_columns` or :func:`read_account_columns` by ``kind``."""
    read = read_post_columns if kind == "posts" else read_account_columns
    return read(source, format=format, compression=compression, max_records=max_records, created_at=created_at)
