"""The signals' inputs from TSV files without a Python object per record: the CLI's fast path with signals.

After :func:`sockpuppet.tsvjob.match_tsv` has matched the accounts, :func:`tsv_signal_inputs` builds what
:func:`sockpuppet.signals.prepare_signals` builds from columns, straight from the files' bytes (from the tables
``match_tsv(..., keep_tables=True)`` kept, so the files are not scanned again; else it scans them):

- the posts in P (non-reposts by a matched account) are found by joining every post's ``author_id`` key with the
  matched ids' keys (64-bit hashes, every hit compared word by word: :mod:`sockpuppet.tsvjob`'s exact keys);
- their ``hashtags`` fields are grouped by exact key, and only the distinct fields are decoded and split;
- ``created_at`` values are parsed from the bytes (:func:`sockpuppet.times.parse_spans`, :func:`parse_time` for the
  rest).

Anything it does not handle (case-insensitive matching, a missing or unparseable time a signal needs, a quoted
wanted field, a hashtags field longer than :data:`MAX_HASHTAGS_BYTES`, a hash collision) returns ``None``: the
caller runs the general path, which gives the same inputs or the exact located error.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from sockpuppet.signals import Events, SignalInputs, Signals
from sockpuppet.times import ParsedTimes
from sockpuppet.tsvjob import Keys, NotHandled, Table, TsvMatch, key_groups, read_table, repost_flags

__all__ = ["MAX_HASHTAGS_BYTES", "tsv_signal_inputs"]

MAX_HASHTAGS_BYTES = 64
"""Longest ``hashtags`` field (UTF-8 bytes) grouped as an exact key; a longer one sends the job to the general path."""


def tsv_signal_inputs(
    signals: Signals,
    *,
    posts: str | os.PathLike[str],
    accounts: str | os.PathLike[str],
    matched: TsvMatch,
) -> SignalInputs | None:
    """What the requested signals need, for the accounts ``matched`` (exact hashtag matching).

    Parameters
    ----------
    signals
        Validated options (:func:`sockpuppet.signals.parse_signals`).
    posts, accounts
        The same uncompressed TSV files :func:`~sockpuppet.tsvjob.match_tsv` matched.
    matched
        Its result.

    Returns
    -------
    SignalInputs or None
        Equal to :func:`~sockpuppet.signals.prepare_signals` over the files' columns; ``None`` when the general path
        must run (see the module docstring).
    """
    events = time = present = None
    post_columns, account_columns = ("author_id", "is_repost", "hashtags", "created_at"), ("id", "created_at")
    if matched.tables is not None:  # kept by match_tsv: no second scan
        post_table, account_table = matched.tables
        if "created_at" not in post_table.header or "created_at" not in account_table.header:
            return None

        def read_posts() -> Table:
            return post_table

        def read_accounts() -> Table:
            return account_table
    else:

        def read_posts() -> Table:
            return read_table(posts, post_columns)

        def read_accounts() -> Table:
            return read_table(accounts, account_columns)

    # the two files are independent: the accounts' times, then the posts' times, are read on a second thread while
    # this one joins the posts to the accounts (numpy releases the GIL in both)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        if signals.creation_bursts is not None or signals.clusters:
            pending = pool.submit(lambda: _account_times(read_accounts(), matched))
        try:
            if signals.co_hashtag is not None or signals.clusters:
                events = _events(read_posts(), matched, pool)
            if pending is not None:
                time, present = pending.result()
        except NotHandled:
            return None
    return SignalInputs(signals, events, time, present)


def _times(table: Table, rows: npt.NDArray[np.int64]) -> ParsedTimes:
    begin, end = table.bounds("created_at")
    begin, end = begin[rows], end[rows]
    return ParsedTimes.from_spans(table.data, begin, end, lambda rest: table.strings(begin[rest], end[rest]))


def _events(table: Table, matched: TsvMatch, pool: ThreadPoolExecutor) -> Events:
    author_begin, author_end = table.bounds("author_id")
    if (author_end <= author_begin).any():
        raise NotHandled
    tag_begin, tag_end = table.bounds("hashtags")
    candidates = np.flatnonzero(~repost_flags(table) & (tag_end > tag_begin))
    # the times of every candidate are parsed on the pool while the authors are joined; only P's must be times
    parsing = pool.submit(_times, table, candidates)
    owner = np.full(candidates.size, -2, dtype=np.int64)
    if matched.joined is not None:  # the posts with the hashtag were joined by the match (they are candidates)
        owner[np.searchsorted(candidates, matched.joined.post_rows)] = matched.joined.post_owner
    rest = np.flatnonzero(owner == -2)
    if rest.size:
        others = candidates[rest]
        owner[rest] = _join(table.keys(author_begin[others], author_end[others]), matched)
    mine = owner >= 0
    rows, owner = candidates[mine], owner[mine]
    fields = table.keys(tag_begin[rows], tag_end[rows], limit=MAX_HASHTAGS_BYTES)
    order, first, _ = key_groups(fields)
    field_of = np.empty(rows.size, dtype=np.int64)
    field_of[order] = np.repeat(np.arange(first.size), np.diff(np.append(first, order.size)))
    distinct = order[first]
    lists = [text.split("|") for text in table.strings(tag_begin[rows[distinct]], tag_end[rows[distinct]])]
    field_length = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = [tag for tags in lists for tag in tags]
    names = sorted(set(flat))
    code_of = dict(zip(names, range(len(names)), strict=True))
    field_tags = np.fromiter(map(code_of.__getitem__, flat), dtype=np.int64, count=len(flat))
    lengths = field_length[field_of]
    starts = np.cumsum(field_length) - field_length
    offsets = np.repeat(starts[field_of] - (np.cumsum(lengths) - lengths), lengths)
    tag = field_tags[offsets + np.arange(offsets.size)]
    times = parsing.result()
    if any(mine[row] for row in times.invalid) or not times.present[mine].all():
        raise NotHandled  # a needed time missing or unparseable: the general path says where
    return Events(np.repeat(owner, lengths), np.repeat(times.micros[mine], lengths), tag, names)


def _join(keys: Keys, matched: TsvMatch) -> npt.NDArray[np.int64]:
    """Index into the matched accounts of each key (``-1``: not a matched id), compared exactly."""
    ids = matched.ids
    if matched.joined is not None:
        sorted_hashes, id_order = matched.joined.id_hashes, matched.joined.id_index
    else:
        id_hashes = ids.hashes()
        id_order = np.argsort(id_hashes)
        sorted_hashes = id_hashes[id_order]
        if sorted_hashes.size > 1 and (sorted_hashes[1:] == sorted_hashes[:-1]).any():
            raise NotHandled  # two matched ids share a hash
    hashes = keys.hashes()
    at = np.minimum(np.searchsorted(sorted_hashes, hashes), max(sorted_hashes.size - 1, 0))
    owner = np.full(hashes.size, -1, dtype=np.int64)
    if not sorted_hashes.size:
        return owner
    hit = np.flatnonzero(sorted_hashes[at] == hashes)
    owner[hit] = id_order[at[hit]]
    if not keys.equal(hit, ids, owner[hit]):
        raise NotHandled  # a hash shared by different ids
    return owner


def _account_times(table: Table, matched: TsvMatch) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    times = _times(table, matched.rows)
    if times.invalid:  # an unparseable creation time: the general path names it
        raise NotHandled
    return times.micros, times.present
