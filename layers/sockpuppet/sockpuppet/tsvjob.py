"""The job's first half on TSV files without a Python object per record: the CLI's fast path.

:func:`match_tsv` memory-maps ``posts.tsv`` and ``accounts.tsv`` and does what :func:`sockpuppet.job.match_accounts`
does on columns (exact hashtag filter, conflicting-duplicate check, account selection) with vectorised operations on
byte offsets; the accounts file is read on a second thread while the posts are filtered:

- fields are located from the newline and tab positions outside quoted fields (the same vectorised quote scan as
  the block reader of :mod:`sockpuppet.loaders`), found in cache-sized pieces;
- the hashtag filter compares the hashtag's bytes where its first byte occurs and keeps the occurrences that are a
  whole ``|``-separated element of a post's ``hashtags`` field; ``is_repost`` is read as one 64-bit word per post;
- ids are compared as exact keys: the field's bytes in 64-bit words plus its length. A 64-bit hash of the key sorts
  them, and every pair of keys the hash calls equal is compared word by word, so the result never rests on a hash;
- only the screen names of the matched accounts become Python strings; ids become strings only when asked for
  (:meth:`TsvMatch.id_strings`), e.g. for the pairs found.

It handles the common case and nothing else: whenever the input holds anything the general reader would treat
specially or report (a carriage return, a malformed or wanted quoted field, a bad width, an empty id, an
``is_repost`` other than ``true``/``false``/``1``/``0`` in any ASCII case, bad UTF-8, a missing column, a
conflicting duplicate id, an id longer than :data:`MAX_KEY_BYTES`, a file larger than :data:`MAX_FILE_BYTES`, or a
hash collision between different ids), :func:`match_tsv` returns ``None`` and the caller runs the general path,
which gives the same result or the exact error (line and field). The result is always identical to
``match_accounts(read_post_columns(posts), read_account_columns(accounts), hashtag=...)``.
"""

from __future__ import annotations

import codecs
import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sockpuppet.loaders import _BOM, _gather_strings, _quoted_spans_vectorised

__all__ = ["MAX_FILE_BYTES", "MAX_KEY_BYTES", "TsvMatch", "match_tsv"]

MAX_KEY_BYTES = 32
"""Longest id (in UTF-8 bytes) compared as an exact key; a longer one sends the job to the general path."""
MAX_FILE_BYTES = 1 << 30
"""Largest file mapped whole (the positions of its separators take about as much memory again); larger files go
through the general, block-streaming path."""

_PAD = 8
"""Bytes read at once per word of a key."""
_MIN_FILE_BYTES = 1
_SCAN_PIECE = 1 << 20
_MAX_WORD_STRING_BYTES = 64
"""Fields up to this long become strings through 64-bit words; longer ones through a gather of every byte."""
_UTF8_PIECE = 1 << 22
_WORD_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_TRUE, _FALSE = (np.uint64(int.from_bytes(word, "little")) for word in (b"true", b"false"))
_FOLD = {n: np.uint64(int.from_bytes(b"\x20" * n, "little")) for n in (4, 5)}
"""ASCII letters to lower case, byte by byte (``| 0x20``), as the block reader folds them."""


class NotHandled(Exception):
    """The input needs the general path (it decides, or reports the error)."""


def _words(data: npt.NDArray[np.uint8], at: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> Any:
    """The bytes ``data[at[i] : at[i] + lengths[i]]`` (up to 8 of them) of each ``i`` as a little-endian uint64,
    zero-padded: one unaligned 8-byte read each."""
    if data.size < _PAD:
        data = np.concatenate((data, np.zeros(_PAD, dtype=np.uint8)))
    last = data.size - _PAD
    view = np.ndarray(shape=(last + 1,), dtype="<u8", buffer=data, offset=0, strides=(1,))  # overlapping words
    masks = _WORD_MASKS[np.clip(lengths, 0, 8)]
    if not at.size or int(at.max()) <= last:
        return view[at] & masks
    base = np.minimum(at, last)  # near the end: the last 8 bytes, shifted down to the field's start
    shift = (np.minimum(at - base, 7) * 8).astype(np.uint64)
    return (view[base] >> shift) & masks


@dataclass(frozen=True, slots=True)
class Keys:
    """Exact keys of byte fields: the bytes in little-endian 64-bit words (zero-padded) and the lengths."""

    words: npt.NDArray[np.uint64]
    lengths: npt.NDArray[np.int64]

    def take(self, rows: npt.NDArray[np.int64]) -> Keys:
        return Keys(self.words[rows], self.lengths[rows])

    def hashes(self) -> npt.NDArray[np.uint64]:
        """A 64-bit mix of every key (equal keys, equal hashes; the converse is checked where it matters)."""
        h = self.lengths.astype(np.uint64) * _MIX[0]
        for w in range(self.words.shape[1]):
            mixed = (h ^ self.words[:, w]) * _MIX[1]
            mixed ^= mixed >> np.uint64(31)
            h = mixed if w == 0 else np.where(self.lengths > 8 * w, mixed, h)  # the same for any width
        h *= _MIX[2]
        h ^= h >> np.uint64(29)
        return h

    def equal(self, rows: npt.NDArray[np.int64], other: Keys, other_rows: npt.NDArray[np.int64]) -> bool:
        """Whether ``self[rows[i]] == other[other_rows[i]]`` for every ``i``."""
        if not np.array_equal(self.lengths[rows], other.lengths[other_rows]):
            return False
        width = min(self.words.shape[1], other.words.shape[1])  # beyond the shorter width both are zero
        return bool(np.array_equal(self.words[rows, :width], other.words[other_rows, :width]))

    def strings(self, rows: npt.NDArray[np.int64]) -> list[str]:
        """The keys of ``rows`` decoded (UTF-8, checked when the file was read)."""
        if not rows.size:
            return []
        raw = np.zeros((rows.size, self.words.shape[1] * 8 + 1), dtype=np.uint8)
        raw[:, :-1] = self.words[rows].view(np.uint8).reshape(rows.size, -1)
        raw[:, -1] = 10
        kept = np.arange(raw.shape[1])
        kept = kept < kept[:, None]
        kept[:, -1] = True
        keep = kept[self.lengths[rows]]  # row i: its first length bytes and the separator
        # unquoted TSV fields hold no newline: it separates the ids
        return raw[keep].tobytes().decode("utf-8").split("\n")[:-1]


@dataclass(frozen=True, slots=True)
class Table:
    """A TSV file's bytes, the byte bounds of its records' fields (offsets into the whole file), and where the
    hashtag's first byte occurs in the records when asked (:func:`_scan`)."""

    data: npt.NDArray[np.uint8]
    header: list[str]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    tabs: npt.NDArray[np.int64]
    quoted: bool
    tag_starts: npt.NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return int(self.starts.size)

    def bounds(self, name: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(begin, end)`` of column ``name`` in every record (a repeated header name: the last one, as a dict)."""
        j = len(self.header) - 1 - self.header[::-1].index(name)
        width = len(self.header)
        begin = self.starts if j == 0 else self.tabs[:, j - 1] + 1
        end = self.tabs[:, j] if j < width - 1 else self.ends
        first_byte = self.data[np.minimum(begin, self.data.size - 1)]
        if self.quoted and ((first_byte == 34) & (end > begin)).any():  # a quoted wanted field: unescaping
            raise NotHandled
        return begin, end

    def keys(self, begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64], *, limit: int = MAX_KEY_BYTES) -> Keys:
        """Exact keys of the fields ``[begin, end)`` (:class:`NotHandled` if one is longer than ``limit`` bytes)."""
        lengths = end - begin
        longest = int(lengths.max()) if lengths.size else 0
        if longest > limit:
            raise NotHandled
        width = max(1, -(-longest // 8))
        words = np.empty((begin.size, width), dtype=np.uint64)
        for w in range(width):
            words[:, w] = _words(self.data, begin + 8 * w, lengths - 8 * w)
        return Keys(words, lengths)

    def strings(self, begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64]) -> list[str | None]:
        """The fields ``[begin, end)`` as strings, ``None`` for an empty one (as the TSV readers give them)."""
        return _Names(self, begin, end).strings(np.arange(begin.size))


def _read(path: str | os.PathLike[str]) -> npt.NDArray[np.uint8]:
    """The file's bytes, memory-mapped (read-only; the mapping closes when the last array over it goes)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if not _MIN_FILE_BYTES <= size <= MAX_FILE_BYTES:
            raise NotHandled
        mapped = mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_READ)
    return np.frombuffer(mapped, dtype=np.uint8)


@dataclass(slots=True)
class _Scan:
    """Positions of newlines, tabs, quotes (and of the hashtag's first byte) in a file, found piece by piece."""

    newlines: npt.NDArray[np.int64]
    tabs: npt.NDArray[np.int64]
    quotes: npt.NDArray[np.int64]
    tag_starts: npt.NDArray[np.int64] | None


def _scan(body: npt.NDArray[np.uint8], tag_byte: int | None) -> _Scan:
    """:class:`_Scan` of ``body`` in cache-sized pieces; :class:`NotHandled` on a carriage return or bad UTF-8."""
    found: list[list[npt.NDArray[np.int64]]] = [[], [], [], []]
    wanted = [34] if tag_byte is None else [34, tag_byte]
    ascii_only = True
    for lo in range(0, body.size, _SCAN_PIECE):
        piece = body[lo : lo + _SCAN_PIECE]
        ascii_only = ascii_only and int(piece.max()) < 0x80
        controls = np.flatnonzero(piece <= 13)  # tabs, newlines and carriage returns in one pass
        kinds = piece[controls]
        if (kinds == 13).any():
            raise NotHandled
        controls += lo
        found[0].append(controls[kinds == 10])
        found[1].append(controls[kinds == 9])
        for byte, positions in zip(wanted, found[2:], strict=False):
            at = np.flatnonzero(piece == byte)
            if at.size:
                positions.append(at + lo)
    if not ascii_only:
        _check_utf8(body)
    empty = np.zeros(0, dtype=np.int64)
    newlines, tabs, quotes, starts = (np.concatenate(p) if p else empty for p in found)
    return _Scan(newlines, tabs, quotes, None if tag_byte is None else starts)


def _check_utf8(body: npt.NDArray[np.uint8]) -> None:
    """:class:`NotHandled` unless ``body`` is UTF-8 (decoded in pieces: no copy of the whole file as text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(body)
    try:
        for start in range(0, len(view), _UTF8_PIECE):
            decoder.decode(view[start : start + _UTF8_PIECE])
        decoder.decode(b"", True)
    except UnicodeDecodeError:
        raise NotHandled from None


def read_table(path: str | os.PathLike[str], required: tuple[str, ...], tag_byte: int | None = None) -> Table:
    body = _read(path)
    offset = len(_BOM) if bytes(body[: len(_BOM)]) == _BOM else 0
    scan = _scan(body, tag_byte)
    newlines = scan.newlines
    if not newlines.size or newlines[0] == offset:
        raise NotHandled  # no record, or an empty header line
    first = bytes(body[offset : newlines[0]])
    if b'"' in first:
        raise NotHandled
    header = first.decode("utf-8").split("\t")
    if any(name not in header for name in required):
        raise NotHandled
    # positions stay offsets into the whole file (no copies); the records start after the header's newline
    start = int(newlines[0]) + 1
    a = body
    newlines = newlines[1:]
    tabs = scan.tabs[np.searchsorted(scan.tabs, start) :]
    quotes = scan.quotes  # none in the header
    tag_starts = None if scan.tag_starts is None else scan.tag_starts[np.searchsorted(scan.tag_starts, start) :]
    quoted = bool(quotes.size)
    if quoted:
        at_start = np.isin(a[quotes - 1], (9, 10))  # every quote follows at least the header's newline
        spans = _quoted_spans_vectorised(a, quotes, at_start)
        if spans is None:
            raise NotHandled
        opens, closes = np.asarray(spans[0], dtype=np.int64), np.asarray(spans[1], dtype=np.int64)
        if opens.size:

            def outside(positions: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
                # the positions inside each quoted field are a run of the sorted positions: mark the runs
                first, last = np.searchsorted(positions, opens), np.searchsorted(positions, closes)
                size = positions.size + 1
                inside = np.bincount(first, minlength=size) - np.bincount(last, minlength=size)
                return positions[np.cumsum(inside[:-1]) == 0]

            newlines, tabs = outside(newlines), outside(tabs)
    ends = newlines if newlines.size and newlines[-1] == a.size - 1 else np.append(newlines, a.size)
    starts = np.empty_like(ends)
    starts[:1] = start
    starts[1:] = ends[:-1] + 1
    rows = ends > starts  # csv skips empty lines
    if not rows.all():
        starts, ends = starts[rows], ends[rows]
    per_row = len(header) - 1
    if tabs.size != starts.size * per_row:
        raise NotHandled
    fields = tabs.reshape(starts.size, per_row)
    if per_row and not (np.all(fields[:, 0] >= starts) and np.all(fields[:, -1] < ends)):
        raise NotHandled
    return Table(a, header, starts, ends, fields, quoted, tag_starts)


def _hashtag_rows(table: Table, tag: bytes) -> npt.NDArray[np.bool_]:
    """Which records carry ``tag`` as a whole ``|``-separated element of their ``hashtags`` field."""
    begin, end = table.bounds("hashtags")
    data = table.data
    size = data.size
    assert table.tag_starts is not None
    found = table.tag_starts[table.tag_starts <= size - len(tag)]
    # a whole element starts after "|", a tab or a newline (or at the start) and ends before "|", a tab, a newline
    # or the end; then it must lie in its record's hashtags field
    before = data[found - 1]
    found = found[(before == 9) | (before == 10) | (before == 124) | (found == 0)]
    for piece in range(0, len(tag), 8):
        word = tag[piece : piece + 8]
        lengths = np.full(found.size, len(word), dtype=np.int64)
        found = found[_words(data, found + piece, lengths) == int.from_bytes(word, "little")]
    after = found + len(tag)
    following = data[np.minimum(after, size - 1)]
    whole = (following == 9) | (following == 10) | (following == 124) | (after == size)
    found, after = found[whole], after[whole]
    row = np.searchsorted(table.starts, found, side="right") - 1
    inside = (row >= 0) & (found >= begin[row]) & (after <= end[row])
    carries = np.zeros(len(table), dtype=bool)
    carries[row[inside]] = True
    return carries


def repost_flags(table: Table) -> npt.NDArray[np.bool_]:
    """``is_repost`` of every record when each is ``1``, ``0``, ``true`` or ``false`` (any ASCII case), else
    :class:`NotHandled` (the general path decides the rest, or reports them)."""
    begin, end = table.bounds("is_repost")
    length = end - begin
    word = _words(table.data, begin, length)
    true = ((length == 1) & (word == ord("1"))) | ((length == 4) & ((word | _FOLD[4]) == _TRUE))
    false = ((length == 1) & (word == ord("0"))) | ((length == 5) & ((word | _FOLD[5]) == _FALSE))
    if not (true | false).all():
        raise NotHandled
    return true


def key_groups(keys: Keys) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Equal keys grouped: ``(order, first, hashes)`` with rows sorted by hash, the positions in ``order`` where a
    group starts, and the sorted hashes. Raises :class:`NotHandled` if two different keys share a hash."""
    hashes = keys.hashes()
    order = np.argsort(hashes)
    ordered = hashes[order]
    new = np.empty(order.size, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    first = np.flatnonzero(new)
    if first.size < order.size:  # repeated hashes: every row must equal its group's first row
        repeated = np.flatnonzero(~new)
        leader = order[first[np.searchsorted(first, repeated, side="right") - 1]]
        if not keys.equal(order[repeated], keys, leader):
            raise NotHandled
    return order, first, ordered


@dataclass(frozen=True, slots=True)
class Joined:
    """The join of posts to the matched accounts as far as the match found it.

    Attributes
    ----------
    post_rows, post_owner
        The posts that carry the hashtag (non-reposts, ascending records) and the index of each one's author among
        the matched accounts (``-1``: no account record).
    id_hashes, id_index
        The matched ids' key hashes, ascending and distinct, and the matched account of each: for other posts'
        authors (every hit is still compared key to key).
    """

    post_rows: npt.NDArray[np.int64]
    post_owner: npt.NDArray[np.int64]
    id_hashes: npt.NDArray[np.uint64]
    id_index: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TsvMatch:
    """The accounts that posted the hashtag, as :meth:`sockpuppet.columns.AccountColumns.select` gives them.

    Attributes
    ----------
    names
        Screen names of the matched accounts in accounts-input order (``None`` for an empty one).
    authors_without_account
        Distinct authors of matching posts without an account record.
    """

    names: list[str | None]
    authors_without_account: int
    ids: Keys
    """The matched accounts' ids as exact byte keys (:meth:`id_strings` decodes them)."""
    rows: npt.NDArray[np.int64]
    """The matched accounts' records (indices into the accounts file's records; :mod:`sockpuppet.tsvsignals`)."""
    tables: tuple[Table, Table] | None = None
    """The posts' and accounts' tables when :func:`match_tsv` was asked to keep them (the signals read them again)."""
    joined: Joined | None = None
    """What the match learnt about joining posts to the matched accounts (kept with the tables)."""

    def __len__(self) -> int:
        return len(self.names)

    def id_strings(self, rows: npt.NDArray[np.int64] | None = None) -> list[str]:
        """Ids of the matched accounts at ``rows`` (indices into :attr:`names`; ``None``: all), as strings."""
        if rows is None:
            rows = np.arange(len(self.names))
        return self.ids.strings(np.asarray(rows, dtype=np.int64))


def match_tsv(
    posts: str | os.PathLike[str], accounts: str | os.PathLike[str], *, hashtag: str, keep_tables: bool = False
) -> TsvMatch | None:
    """The accounts of ``accounts`` that posted ``hashtag`` (exact match, reposts excluded) in ``posts``.

    Parameters
    ----------
    posts, accounts
        Paths of uncompressed TSV files (the original exercise's columns).
    hashtag
        The normalised hashtag (:func:`~sockpuppet.hashtags.normalize_hashtag`).
    keep_tables
        Keep both files' tables (mapped bytes and field positions) in the result, for
        :func:`sockpuppet.tsvsignals.tsv_signal_inputs` to read the times and hashtags without scanning the files
        again (they then stay in memory as long as the result).

    Returns
    -------
    TsvMatch or None
        The matched accounts, identical to what the columnar path selects; ``None`` when the input needs the general
        path (see the module docstring): run that instead, it also reports any error.
    """
    tag = hashtag.encode("utf-8")
    if not tag or any(byte in tag for byte in b'|\t\n\r"'):
        return None
    try:
        return _match(posts, accounts, tag, keep_tables)
    except NotHandled:
        return None


def _match(posts_path: Any, accounts_path: Any, tag: bytes, keep_tables: bool) -> TsvMatch:
    # the two files are independent until the join: the accounts are read on a second thread (numpy releases the
    # GIL in its scans, gathers and sorts)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_accounts, accounts_path)
        authors = _authors(posts_path, tag)
        accounts = pending.result()
    # which accounts' ids are among the authors: sorted hashes searched in the sorted distinct author hashes
    hashes, order = accounts.hashes, accounts.order
    at = np.searchsorted(authors.hashes, hashes)
    hit = np.zeros(order.size, dtype=bool)
    if authors.hashes.size:
        hit = authors.hashes[np.minimum(at, authors.hashes.size - 1)] == hashes
    candidates = np.flatnonzero(hit)
    if not accounts.ids.equal(order[candidates], authors.keys, authors.rows[at[candidates]]):
        raise NotHandled
    selected = np.zeros(order.size, dtype=bool)
    selected[order[candidates]] = True
    rows = np.flatnonzero(selected & accounts.first)
    names = accounts.names.strings(rows)
    if not keep_tables:
        return TsvMatch(names, int(authors.hashes.size - rows.size), accounts.ids.take(rows), rows)
    # the matched accounts' first records in hash order, and each one's index among the matched accounts
    leads = candidates[accounts.first[order[candidates]]]
    index_of_row = np.full(order.size, -1, dtype=np.int64)
    index_of_row[rows] = np.arange(rows.size)
    lead_index = index_of_row[order[leads]]
    author_index = np.full(authors.hashes.size, -1, dtype=np.int64)
    author_index[at[leads]] = lead_index
    joined = Joined(authors.post_rows, author_index[authors.post_group], hashes[leads], lead_index)
    tables = (authors.table, accounts.table)
    return TsvMatch(names, int(authors.hashes.size - rows.size), accounts.ids.take(rows), rows, tables, joined)


@dataclass(frozen=True, slots=True)
class _Authors:
    """The distinct authors of matching posts: their keys, and the sorted hashes of the distinct ones with a row of
    ``keys`` each."""

    keys: Keys
    hashes: npt.NDArray[np.uint64]
    rows: npt.NDArray[np.int64]
    table: Table
    post_rows: npt.NDArray[np.int64]
    """The matching posts (records of the table), whose authors ``keys`` holds."""
    post_group: npt.NDArray[np.int64]
    """The distinct author (index into ``hashes``) of each matching post."""


def _authors(path: Any, tag: bytes) -> _Authors:
    posts = read_table(path, ("author_id", "is_repost", "hashtags"), tag[0])
    begin, end = posts.bounds("author_id")
    if (end <= begin).any():  # an empty author_id: the general path reports it
        raise NotHandled
    matched = np.flatnonzero(_hashtag_rows(posts, tag) & ~repost_flags(posts))
    keys = posts.keys(begin[matched], end[matched])
    order, first, hashes = key_groups(keys)
    group = np.empty(order.size, dtype=np.int64)
    group[order] = np.repeat(np.arange(first.size), np.diff(np.append(first, order.size)))
    return _Authors(keys, hashes[first], order[first], posts, matched, group)


@dataclass(frozen=True, slots=True)
class _Accounts:
    """Every account's id key (sorted by hash: ``order``, ``hashes``), which records are the first of their id, and
    the screen names (as keys, or as strings already when longer than a key)."""

    ids: Keys
    order: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint64]
    first: npt.NDArray[np.bool_]
    names: _Names
    table: Table


def _accounts(path: Any) -> _Accounts:
    table = read_table(path, ("id", "screen_name"))
    id_begin, id_end = table.bounds("id")
    if (id_end <= id_begin).any():
        raise NotHandled
    ids = table.keys(id_begin, id_end)
    order, first, hashes = key_groups(ids)
    keep = np.ones(len(table), dtype=bool)
    name_begin, name_end = table.bounds("screen_name")
    if first.size < order.size:  # duplicate ids: identical records collapse to the first, conflicting ones fail
        sizes = np.diff(np.append(first, order.size))
        group = np.repeat(np.arange(first.size), sizes)  # of every sorted position
        at = np.flatnonzero(sizes[group] > 1)
        earliest = np.minimum.reduceat(order, first)  # each id's first record
        dup, leader = order[at], earliest[group[at]]
        names = table.keys(name_begin[dup], name_end[dup])
        leaders = table.keys(name_begin[leader], name_end[leader])
        if not names.equal(np.arange(dup.size), leaders, np.arange(leader.size)):
            raise NotHandled  # a conflicting duplicate id: the general path names every one
        keep[dup[dup != leader]] = False
    return _Accounts(ids, order, hashes, keep, _Names(table, name_begin, name_end), table)


class _Names:
    """Screen names of a table, turned into strings for the rows asked (through keys when they are short)."""

    def __init__(self, table: Table, begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64]) -> None:
        lengths = end - begin
        self.keys: Keys | None = None
        self.table: Table | None = None
        if not lengths.size or int(lengths.max()) <= _MAX_WORD_STRING_BYTES:
            self.keys = table.keys(begin, end, limit=_MAX_WORD_STRING_BYTES)
        else:
            self.table = table
        self.begin, self.end = begin, end

    def strings(self, rows: npt.NDArray[np.int64]) -> list[str | None]:
        """The names of ``rows`` (``None`` for an empty one, as the TSV readers give them)."""
        if self.keys is not None:
            values: list[Any] = self.keys.strings(rows)
            if "" in values:
                values = [value or None for value in values]
            return values
        assert self.table is not None
        return _gather_strings(self.table.data, self.begin[rows], self.end[rows])
