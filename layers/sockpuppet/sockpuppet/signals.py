"""Coordination evidence beyond similar names: co-hashtag pairs and account-creation bursts (contract section 5).

Let M be the matched accounts (posted the hashtag, reposts excluded, under ``hashtag_match``, with an account
record; in accounts-input order, identical duplicates once) and P the non-repost posts of the accounts in M (all
their posts, any hashtag).

* **Co-hashtag pairs**: for accounts ``a != b`` in M, ``S(a, b)`` is the set of hashtags ``h`` such that a post of
  ``a`` and a post of ``b`` in P both carry ``h`` and their ``created_at`` differ by at most ``window_seconds``.
  Pairs with ``|S| >= min_shared`` are reported as ``(id_a, id_b, |S|, sorted(S))``, ``id_a`` first in the
  accounts input, in the order of ``(index of a, index of b)``.
* **Creation bursts**: the accounts of M that have a ``created_at``, sorted by ``(time, input index)``; a burst is
  a maximal run whose consecutive gaps are all ``<= window_seconds``; runs of at least ``min_accounts`` are
  reported as ``{"start", "end", "account_ids"}``, ordered by start.

Both are computed on columns (``int64`` arrays) by :func:`co_hashtag_arrays` and :func:`burst_arrays`; the
record-level functions (:func:`co_hashtag_pairs`, :func:`creation_bursts`) and the job build those columns.

The co-hashtag search never compares every pair of posts: (hashtag, time, account) events are sorted by
(hashtag, time), and a sweep pairs each event only with the following events of the same hashtag within the
window (shift ``k = 1, 2, ...`` over the still-active events, all in numpy), so the work is the number of event
pairs that are actually within the window. Before the sweep, events that cannot take part in a reported pair are
dropped exactly: an account with fewer than ``min_shared`` distinct hashtags in P cannot reach ``|S| >=
min_shared``, and a hashtag carried by a single remaining account cannot be shared (repeated until nothing
changes). When ``min_shared >= 2``, the most frequent hashtag (typically the matched hashtag itself, which every
account in M carries, and which makes most of the window pairs) is left out of the sweep: a pair needs
``min_shared - 1`` other hashtags anyway, so only the pairs that have that many are then tested for it (each event
of the account with fewer such events looks up the other account's first event at or after ``time - window``).

Times are integer microseconds (:mod:`sockpuppet.times`), so "differ by at most the window" is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, compress, count
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from sockpuppet.collector import collector_paused
from sockpuppet.columns import AccountColumns, PostColumns, positions
from sockpuppet.errors import InputError, Loc
from sockpuppet.hashtags import HashtagMatch, normalize_hashtag
from sockpuppet.records import MAX_DETAILS
from sockpuppet.times import MICROS, ParsedTimes, TimeColumn, format_times, parse_times, seconds_to_micros

__all__ = [
    "BurstArrays",
    "BurstOptions",
    "ClusterTable",
    "CoHashtagArrays",
    "CoHashtagOptions",
    "CoHashtagPair",
    "Events",
    "SignalInputs",
    "SignalResults",
    "Signals",
    "burst_arrays",
    "cluster_table",
    "co_hashtag_arrays",
    "co_hashtag_pairs",
    "compute_signals",
    "creation_bursts",
    "parse_signals",
    "post_events",
    "prepare_signals",
]

CoHashtagPair = tuple[str, str, int, list[str]]
Int64Array = npt.NDArray[np.int64]

_COMPACT_AT = 1 << 23
"""Deduplicate the collected (pair, hashtag) keys whenever this many are pending."""


@dataclass(frozen=True, slots=True)
class CoHashtagArrays:
    """Co-hashtag pairs as columns.

    Attributes
    ----------
    first, second
        Account indices (``first < second``), ordered by ``(first, second)``.
    tag_ptr
        CSR offsets: the hashtags of pair ``i`` are ``tags[tag_ptr[i]:tag_ptr[i + 1]]``.
    tags
        Hashtag codes, ascending within each pair.
    """

    first: Int64Array
    second: Int64Array
    tag_ptr: Int64Array
    tags: Int64Array

    @property
    def counts(self) -> Int64Array:
        """``|S|`` of each pair."""
        return np.diff(self.tag_ptr)


@dataclass(frozen=True, slots=True)
class BurstArrays:
    """Creation bursts as columns.

    Attributes
    ----------
    order
        Indices of the accounts in the reported bursts, burst after burst, each burst by ``(time, index)``.
    ptr
        CSR offsets into ``order``: burst ``i`` is ``order[ptr[i]:ptr[i + 1]]``; bursts ordered by start.
    start, end
        First and last creation time of each burst (microseconds).
    """

    order: Int64Array
    ptr: Int64Array
    start: Int64Array
    end: Int64Array


def _dedupe_sorted(keys: Sequence[Int64Array]) -> npt.NDArray[np.bool_]:
    """For rows already sorted by ``keys``: mask of the first row of each run of equal rows."""
    n = keys[0].size
    first = np.ones(n, dtype=np.bool_)
    if n > 1:
        same = np.ones(n - 1, dtype=np.bool_)
        for key in keys:
            same &= key[1:] == key[:-1]
        first[1:] = ~same
    return first


_PACK_LIMIT = 1 << 62
_BITMAP_PER_ROW = 16
"""Distinct packed rows are read from a byte per possible value when there are at most this many per row..."""
_BITMAP_MIN = 1 << 20
"""...or at most this many in all (else they are sorted)."""


def _pack(keys: Sequence[Int64Array]) -> tuple[Int64Array, list[int], list[int]] | None:
    """One ``int64`` per row ordered like the rows' ``keys`` (first key most significant), with each key's offset
    and place value; ``None`` when the key ranges do not fit in 62 bits (callers then use :func:`numpy.lexsort`)."""
    packed = np.zeros(keys[0].size, dtype=np.int64)
    lows: list[int] = []
    spans: list[int] = []
    span = 1
    for key in reversed(keys):
        low = int(key.min()) if key.size else 0
        width = (int(key.max()) if key.size else 0) - low + 1
        if span * width >= _PACK_LIMIT:
            return None
        packed += (key - low) * span
        lows.insert(0, low)
        spans.insert(0, span)
        span *= width
    return packed, lows, spans


def _order(keys: Sequence[Int64Array]) -> npt.NDArray[np.intp]:
    """Indices that sort the rows by ``keys`` (first key most significant; ties in any order)."""
    packed = _pack(keys)
    if packed is None:
        return np.lexsort(tuple(reversed(keys)))
    return np.argsort(packed[0])


def _distinct_rows(keys: Sequence[Int64Array]) -> tuple[Int64Array, ...]:
    """The distinct rows of the columns ``keys``, sorted."""
    packed = _pack(keys)
    if packed is None:
        order = np.lexsort(tuple(reversed(keys)))
        columns = [key[order] for key in keys]
        first = _dedupe_sorted(columns)
        return tuple(column[first] for column in columns)
    values, lows, spans = packed
    size = int(values.max()) + 1 if values.size else 0
    if size <= max(_BITMAP_PER_ROW * values.size, _BITMAP_MIN):
        seen = np.zeros(size, dtype=np.bool_)  # a small range: mark the values, read them back in order (no sort)
        seen[values] = True
        values = np.flatnonzero(seen)
    else:
        values = np.sort(values)
        values = values[_dedupe_sorted((values,))]
    out = []
    for low, span in zip(lows, spans, strict=True):
        digit, values = np.divmod(values, span)
        out.append(digit + low)
    return tuple(out)


def _prune(account: Int64Array, tag: Int64Array, min_shared: int) -> npt.NDArray[np.bool_]:
    """Mask of the events that can take part in a reported pair (see the module docstring)."""
    keep = np.ones(account.size, dtype=np.bool_)
    n_accounts, n_tags = int(account.max()) + 1, int(tag.max()) + 1
    while True:
        rows = np.flatnonzero(keep)
        if rows.size == 0:
            return keep
        a, t = account[rows], tag[rows]
        pair_a, pair_t = _distinct_rows((a, t))
        tags_of = np.bincount(pair_a, minlength=n_accounts)
        accounts_of = np.bincount(pair_t, minlength=n_tags)
        ok = (tags_of[a] >= min_shared) & (accounts_of[t] >= 2)
        if ok.all():
            return keep
        keep[rows[~ok]] = False


def _shared_tags(
    account: Int64Array, time: Int64Array, tag: Int64Array, *, n_accounts: int, window: int
) -> tuple[Int64Array, Int64Array]:
    """Every distinct (pair key ``a * n_accounts + b`` with ``a < b``, hashtag) whose accounts have events of the
    hashtag within the window, sorted: the sort-and-sweep of the module docstring."""
    empty = np.zeros(0, dtype=np.int64)
    if account.size < 2:
        return empty, empty
    order = _order((tag, time))
    account, time, tag = account[order], time[order], tag[order]
    pending_pairs: list[Int64Array] = []
    pending_tags: list[Int64Array] = []
    pending = 0
    kept_pairs, kept_tags = empty, empty
    active = np.arange(account.size - 1, dtype=np.int64)
    shift = 1
    while active.size:
        other = active + shift
        within = (tag[other] == tag[active]) & (time[other] - time[active] <= window)
        active, other = active[within], other[within]
        a, b = account[active], account[other]
        differ = a != b
        if differ.any():
            a, b = a[differ], b[differ]
            pending_pairs.append(np.minimum(a, b) * n_accounts + np.maximum(a, b))
            pending_tags.append(tag[active[differ]])
            pending += pending_pairs[-1].size
            if pending >= _COMPACT_AT:
                kept_pairs, kept_tags = _distinct_rows(
                    (np.concatenate([kept_pairs, *pending_pairs]), np.concatenate([kept_tags, *pending_tags]))
                )
                pending_pairs, pending_tags, pending = [], [], 0
        shift += 1
        active = active[active + shift < account.size]
    pairs, tags = _distinct_rows(
        (np.concatenate([kept_pairs, *pending_pairs]), np.concatenate([kept_tags, *pending_tags]))
    )
    return pairs, tags


def _pairs_within(
    first: Int64Array, second: Int64Array, account: Int64Array, time: Int64Array, *, n_accounts: int, window: int
) -> npt.NDArray[np.bool_]:
    """Whether accounts ``first[i]`` and ``second[i]`` have events (of one hashtag: ``account``, ``time``) at most
    ``window`` apart.

    Two accounts with one event each (the usual case for the matched hashtag) compare their two times; otherwise
    each event of the account with fewer events looks up the other's first event at or after ``time - window``.
    """
    share = np.zeros(first.size, dtype=np.bool_)
    if not first.size or not account.size:
        return share
    count = np.bincount(account, minlength=n_accounts)
    swap = count[first] > count[second]
    small, large = np.where(swap, second, first), np.where(swap, first, second)
    event_of = np.zeros(n_accounts, dtype=np.int64)
    event_of[account] = np.arange(account.size)  # the event of each account that has exactly one
    single = (count[small] == 1) & (count[large] == 1)
    one = np.flatnonzero(single)
    share[one] = np.abs(time[event_of[small[one]]] - time[event_of[large[one]]]) <= window
    rest = np.flatnonzero(~single & (count[small] > 0))
    if rest.size:
        share[rest] = _events_within(small[rest], large[rest], account, time, count, window=window)
    return share


def _events_within(
    small: Int64Array, large: Int64Array, account: Int64Array, time: Int64Array, count: Int64Array, *, window: int
) -> npt.NDArray[np.bool_]:
    """For each pair, whether an event of ``small[i]`` has one of ``large[i]`` within ``window``: binary searches
    in the events sorted by (account, time)."""
    moments = np.sort(time)
    moments = moments[_dedupe_sorted((moments,))]  # np.unique hashes: many times slower on a million distinct ones
    span = moments.size + 1  # account * span + rank orders the events by (account, time)
    key = account * span + np.searchsorted(moments, time)
    order = np.argsort(key)
    sorted_key, sorted_account, sorted_time = key[order], account[order], time[order]
    lengths = count[small]
    begin = (np.cumsum(count) - count)[small]  # each account's first event in that order
    pair = np.repeat(np.arange(small.size), lengths)
    event = np.repeat(begin - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    at = sorted_time[event]
    other = large[pair]
    found = np.searchsorted(sorted_key, other * span + np.searchsorted(moments, at - window))
    clipped = np.minimum(found, sorted_key.size - 1)
    near = (found < sorted_key.size) & (sorted_account[clipped] == other) & (sorted_time[clipped] <= at + window)
    share = np.zeros(small.size, dtype=np.bool_)
    share[pair[near]] = True
    return share


def co_hashtag_arrays(
    account: npt.ArrayLike,
    time: npt.ArrayLike,
    tag: npt.ArrayLike,
    *,
    n_accounts: int,
    window: int,
    min_shared: int,
) -> CoHashtagArrays:
    """Co-hashtag pairs from (account, time, hashtag) events.

    Parameters
    ----------
    account
        Account index of each event (``0 .. n_accounts - 1``): one event per hashtag of a post in P.
    time
        The post's time of each event (integer microseconds).
    tag
        Hashtag code of each event (codes ordered like the hashtag strings, so pairs list them sorted).
    n_accounts
        Number of accounts (M).
    window
        ``window_seconds`` in microseconds (``>= 0``).
    min_shared
        Smallest ``|S|`` reported (``>= 1``).

    Returns
    -------
    CoHashtagArrays
        The pairs in ``(first, second)`` order with their hashtag codes.
    """
    account = np.asarray(account, dtype=np.int64)
    time = np.asarray(time, dtype=np.int64)
    tag = np.asarray(tag, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    nothing = CoHashtagArrays(empty, empty, np.zeros(1, dtype=np.int64), empty)
    if account.size:
        keep = _prune(account, tag, min_shared)
        account, time, tag = account[keep], time[keep], tag[keep]
    if account.size < 2:
        return nothing
    counts_by_tag = np.bincount(tag)
    heavy = int(counts_by_tag.argmax())
    if min_shared < 2 or counts_by_tag[heavy] == tag.size:
        pairs, tags = _shared_tags(account, time, tag, n_accounts=n_accounts, window=window)
    else:
        # the most frequent hashtag (the matched hashtag, typically: every account in M carries it) makes most of
        # the window pairs, and a pair needs min_shared - 1 others anyway: sweep the others, then test only the
        # pairs that have enough of them for the heavy hashtag
        light = tag != heavy
        pairs, tags = _shared_tags(account[light], time[light], tag[light], n_accounts=n_accounts, window=window)
        if pairs.size:
            starts = np.flatnonzero(_dedupe_sorted((pairs,)))
            counts = np.diff(np.append(starts, pairs.size))
            candidates = pairs[starts[counts >= min_shared - 1]]
            share = _pairs_within(
                candidates // n_accounts,
                candidates % n_accounts,
                account[~light],
                time[~light],
                n_accounts=n_accounts,
                window=window,
            )
            more = candidates[share]
            pairs, tags = _distinct_rows(
                (np.concatenate([pairs, more]), np.concatenate([tags, np.full(more.size, heavy, dtype=np.int64)]))
            )
    if pairs.size == 0:
        return nothing
    starts = np.flatnonzero(_dedupe_sorted((pairs,)))
    counts = np.diff(np.append(starts, pairs.size))
    chosen = counts >= min_shared
    pair_keys = pairs[starts[chosen]]
    tag_ptr = np.zeros(int(chosen.sum()) + 1, dtype=np.int64)
    np.cumsum(counts[chosen], out=tag_ptr[1:])
    return CoHashtagArrays(pair_keys // n_accounts, pair_keys % n_accounts, tag_ptr, tags[np.repeat(chosen, counts)])


def stable_argsort(values: Int64Array) -> Int64Array:
    """``np.argsort(values, kind="stable")`` for integers, through faster unstable sorts.

    An unstable argsort orders the values; where equal values meet, a second sort of ``rank * n + index`` (the
    dense rank of the value, then the index: at most ``n * n``, exact in int64 for ``n < 3 * 10**9``) puts each
    run of equal values back in index order. Already non-decreasing values need no sort.
    """
    values = np.asarray(values, dtype=np.int64)
    size = values.size
    if size < 2 or bool((values[1:] >= values[:-1]).all()):
        return np.arange(size, dtype=np.int64)
    order = np.argsort(values)
    ordered = values[order]
    tie = ordered[1:] == ordered[:-1]
    if not tie.any():
        return order.astype(np.int64, copy=False)
    rank = np.zeros(size, dtype=np.int64)
    np.cumsum(~tie, out=rank[1:])
    key = rank * size + order
    key.sort()
    return key % size


def burst_arrays(time: npt.ArrayLike, present: npt.ArrayLike, *, window: int, min_accounts: int) -> BurstArrays:
    """Creation bursts over account creation times.

    Parameters
    ----------
    time
        Creation time of each account (integer microseconds), in input order.
    present
        Which accounts have a time (the others take no part).
    window
        ``window_seconds`` in microseconds (``> 0``).
    min_accounts
        Smallest burst reported (``>= 2``).

    Returns
    -------
    BurstArrays
        The bursts, ordered by start.
    """
    time = np.asarray(time, dtype=np.int64)
    rows = np.flatnonzero(np.asarray(present, dtype=np.bool_))
    order = rows[stable_argsort(time[rows])]
    sorted_time = time[order]
    run = np.zeros(order.size, dtype=np.int64)
    run[1:] = np.cumsum(np.diff(sorted_time) > window)
    sizes = np.bincount(run, minlength=1 if order.size else 0)
    chosen = np.flatnonzero(sizes >= min_accounts)
    members = sizes[run] >= min_accounts
    ptr = np.zeros(chosen.size + 1, dtype=np.int64)
    np.cumsum(sizes[chosen], out=ptr[1:])
    first = np.searchsorted(run, chosen)
    last = first + sizes[chosen] - 1
    return BurstArrays(order[members].astype(np.int64), ptr, sorted_time[first], sorted_time[last])


# -- parameters ----------------------------------------------------------------------------------------------


def check_window(value: Any, loc: Loc, *, positive: bool) -> int:
    """``window_seconds`` as whole microseconds, or :class:`InputError` at ``loc``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError.at(loc, "must be a number of seconds")
    if value < 0 or (positive and value == 0):
        raise InputError.at(loc, f"must be {'>' if positive else '>='} 0, got {value}")
    return seconds_to_micros(value)


def check_count(value: Any, loc: Loc, *, minimum: int) -> int:
    """An integer ``>= minimum``, or :class:`InputError` at ``loc``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError.at(loc, f"must be an integer >= {minimum}")
    return value


# -- from records ----------------------------------------------------------------------------------------------


def first_records(account_ids: Sequence[str], ids: Sequence[str]) -> npt.NDArray[np.intp]:
    """Index of the first record of each of ``ids`` (distinct, in accounts-input order) in the accounts' id column."""
    n = len(account_ids)
    if len(ids) == n:  # every record matched, so no duplicate ids: the records are the ids, in order
        return np.arange(n)
    wanted = set(ids)
    records = np.flatnonzero(np.fromiter(map(wanted.__contains__, account_ids), dtype=np.bool_, count=n))
    if records.size == len(ids):  # no duplicate records among them: the records are the ids, in order
        return records
    first: dict[str, int] = {}
    for index in records.tolist():
        first.setdefault(account_ids[index], index)
    return np.array([first[ident] for ident in ids], dtype=np.intp)


def _time_errors(kind: str, errors: list[tuple[int, str]], what: str) -> InputError:
    details = [{"loc": [kind, index, "created_at"], "msg": msg} for index, msg in errors[:MAX_DETAILS]]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InputError(f"{kind}.{errors[0][0]}.created_at: {errors[0][1]}{more}; {what}", details)


def _pick(values: Sequence[Any], indices: list[int]) -> list[Any]:
    """``[values[i] for i in indices]`` at C speed."""
    if not indices:
        return []
    picked = itemgetter(*indices)(values)
    return [picked] if len(indices) == 1 else list(picked)


def account_times(
    accounts: AccountColumns, ids: Sequence[str], *, what: str, rows: npt.NDArray[np.int64] | None = None
) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
    """Creation times of the accounts ``ids`` (their first records, at ``rows`` when the caller knows them, as
    :attr:`sockpuppet.columns.Selection.rows`): ``(micros, present)``.

    Raises
    ------
    InputError
        For an unparseable time (loc ``["accounts", i, "created_at"]``); a missing one is simply absent.
    """
    records = first_records(accounts.id, ids) if rows is None else rows
    micros, present, errors = _times_at(accounts.created_at, records)
    if errors:
        raise _time_errors("accounts", [(int(records[i]), msg) for i, msg in errors], what)
    return micros, present


def _times_at(column: list[Any] | ParsedTimes | None, rows: npt.NDArray[np.intp]) -> TimeColumn:
    """:func:`~sockpuppet.times.parse_times` of the ``created_at`` values at ``rows`` (already parsed or raw)."""
    if column is None:
        return np.zeros(rows.size, dtype=np.int64), np.zeros(rows.size, dtype=np.bool_), []
    if isinstance(column, ParsedTimes):
        return column.take(rows)
    return parse_times(_pick(column, rows.tolist()))


@dataclass(frozen=True, slots=True)
class Events:
    """(account, time, hashtag) events of the posts in P that carry hashtags."""

    account: Int64Array
    time: Int64Array
    tag: Int64Array
    tag_names: list[str]


def post_events(posts: PostColumns, ids: Sequence[str], match: HashtagMatch) -> Events:
    """Events of P (every non-repost post of an account in ``ids``, one event per hashtag it carries).

    Raises
    ------
    InputError
        When such a post (one with hashtags) has no parseable ``created_at`` (loc ``["posts", i, "created_at"]``).
    """
    who = positions(posts.author_id, ids)
    post_index = np.flatnonzero((who >= 0) & ~posts.is_repost)
    tagged, lengths, tag, names = _hashtag_codes(_pick(posts.hashtags, post_index.tolist()), match)
    post_index = post_index[tagged]
    owner = who[post_index]
    micros, present, errors = _times_at(posts.created_at, post_index)
    if errors or not present.all():
        unparseable = dict(errors)
        required = "field required (a post with hashtags of a matched account needs a time)"
        rows = post_index.tolist()
        problems = [(rows[i], unparseable.get(i, required)) for i in np.flatnonzero(~present).tolist()]
        raise _time_errors("posts", problems, "co_hashtag needs the time of each post of the matched accounts")
    return Events(np.repeat(owner, lengths), np.repeat(micros, lengths), tag, names)


def _hashtag_codes(
    values: list[Any], match: HashtagMatch
) -> tuple[npt.NDArray[np.bool_], Int64Array, Int64Array, list[str]]:
    """Which posts carry hashtags; for those, the number of their hashtags, then every hashtag's code (post after
    post); and the hashtag names (sorted; codes index them). Posts repeat few distinct hashtag strings (TSV
    ``"#a|#b"``): each is numbered in one pass and split once."""
    first: dict[Any, int] = {}
    try:  # each value's code: the index of its first occurrence
        seen = np.fromiter(map(first.setdefault, values, count()), dtype=np.int64, count=len(values))
    except TypeError:  # lists (JSON input) are not hashable: split per post
        tagged = np.fromiter(map(bool, values), dtype=np.bool_, count=len(values))
        lists = [tags.split("|") if type(tags) is str else tags for tags in compress(values, tagged.tolist())]
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        flat = list(chain.from_iterable(lists))
        if match == "case_insensitive":
            flat = [name.casefold() for name in flat]
        names = sorted(dict.fromkeys(flat))
        code_of = dict(zip(names, range(len(names)), strict=True))
        return tagged, lengths, np.fromiter(map(code_of.__getitem__, flat), dtype=np.int64, count=len(flat)), names
    combos = list(first)
    dense = np.zeros(len(values), dtype=np.int64)
    dense[np.fromiter(first.values(), dtype=np.int64, count=len(combos))] = np.arange(len(combos))
    combo = dense[seen]
    lists = [(tags.split("|") if type(tags) is str else list(tags)) if tags else [] for tags in combos]
    combo_length = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    tagged = np.fromiter(map(bool, combos), dtype=np.bool_, count=len(combos))[combo]
    combo = combo[tagged]
    flat = list(chain.from_iterable(lists))
    if match == "case_insensitive":
        flat = [name.casefold() for name in flat]
    names = sorted(dict.fromkeys(flat))
    code_of = dict(zip(names, range(len(names)), strict=True))
    combo_tags = np.fromiter(map(code_of.__getitem__, flat), dtype=np.int64, count=len(flat))
    lengths = combo_length[combo]
    starts = np.cumsum(combo_length) - combo_length
    # the hashtag codes of each post's combination, post after post: gather the combinations' CSR ranges
    offsets = np.repeat(starts[combo] - (np.cumsum(lengths) - lengths), lengths)
    return tagged, lengths, combo_tags[offsets + np.arange(offsets.size)], names


def _columns(
    posts: Iterable[dict[str, Any]] | PostColumns, accounts: Iterable[dict[str, Any]] | AccountColumns
) -> tuple[PostColumns, AccountColumns]:
    post_columns = posts if isinstance(posts, PostColumns) else PostColumns.from_records(_records(posts))
    if isinstance(accounts, AccountColumns):
        return post_columns, accounts
    return post_columns, AccountColumns.from_records(_records(accounts))


def _records(values: Iterable[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    return values if isinstance(values, Sequence) else list(values)


def co_hashtag_tuples(found: CoHashtagArrays, tag_names: Sequence[str], ids: Sequence[str]) -> list[CoHashtagPair]:
    """The pairs as ``(id_a, id_b, |S|, sorted(S))``."""
    flat = np.array(tag_names, dtype=object)[found.tags].tolist()
    ptr = found.tag_ptr.tolist()
    id_array = np.asarray(ids, dtype=object)
    firsts, seconds = id_array[found.first].tolist(), id_array[found.second].tolist()
    with collector_paused():
        return [
            (a, b, end - begin, flat[begin:end])
            for a, b, begin, end in zip(firsts, seconds, ptr[:-1], ptr[1:], strict=True)
        ]


def burst_dicts(found: BurstArrays, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The bursts as ``{"start", "end", "account_ids"}`` (ISO 8601 UTC times)."""
    id_array = np.asarray(ids, dtype=object)
    members = id_array[found.order].tolist()
    ptr = found.ptr.tolist()
    return [
        {"start": start, "end": end, "account_ids": members[ptr[i] : ptr[i + 1]]}
        for i, (start, end) in enumerate(zip(format_times(found.start), format_times(found.end), strict=True))
    ]


def co_hashtag_pairs(
    posts: Iterable[dict[str, Any]] | PostColumns,
    accounts: Iterable[dict[str, Any]] | AccountColumns,
    *,
    hashtag: str,
    window_seconds: float = 60,
    min_shared: int = 2,
    hashtag_match: HashtagMatch = "exact",
) -> list[CoHashtagPair]:
    """Pairs of matched accounts that posted the same hashtags within a time window of each other.

    Parameters
    ----------
    posts, accounts
        Records (or columns) as for :func:`sockpuppet.find_similar_accounts`; posts of the matched accounts that
        carry hashtags need a ``created_at`` (:mod:`sockpuppet.times`).
    hashtag
        Hashtag that selects M; a missing ``#`` is added.
    window_seconds
        Largest difference between the two posts' times (``>= 0``; inclusive).
    min_shared
        Smallest number of shared hashtags reported (``>= 1``).
    hashtag_match
        ``"exact"`` or ``"case_insensitive"`` (hashtags then compare and are reported case-folded).

    Returns
    -------
    list of tuple
        ``(id_a, id_b, |S|, sorted(S))``, ``id_a`` first in the accounts input, in ``(index a, index b)`` order.

    Raises
    ------
    InputError
        On invalid parameters or records, or a needed post time missing or unparseable (with its location).
    """
    tag = normalize_hashtag(hashtag)
    window = check_window(window_seconds, ("window_seconds",), positive=False)
    shared = check_count(min_shared, ("min_shared",), minimum=1)
    _check_match(hashtag_match)
    with collector_paused():  # columns, id lists and result tuples: nothing forms a cycle
        post_columns, account_columns = _columns(posts, accounts)
        ids = account_columns.select(post_columns.hashtag_author_ids(tag, match=hashtag_match)).ids
        events = post_events(post_columns, ids, hashtag_match)
        found = co_hashtag_arrays(
            events.account, events.time, events.tag, n_accounts=len(ids), window=window, min_shared=shared
        )
        return co_hashtag_tuples(found, events.tag_names, ids)


def creation_bursts(
    posts: Iterable[dict[str, Any]] | PostColumns,
    accounts: Iterable[dict[str, Any]] | AccountColumns,
    *,
    hashtag: str,
    window_seconds: float = 3600,
    min_accounts: int = 3,
    hashtag_match: HashtagMatch = "exact",
) -> list[dict[str, Any]]:
    """Runs of matched accounts created close together.

    Parameters
    ----------
    posts, accounts
        Records (or columns) as for :func:`sockpuppet.find_similar_accounts`; accounts without ``created_at``
        (missing, null or empty) take no part, an unparseable one is an error.
    hashtag
        Hashtag that selects M; a missing ``#`` is added.
    window_seconds
        Largest gap between consecutive creations inside a burst (``> 0``; inclusive).
    min_accounts
        Smallest burst reported (``>= 2``).
    hashtag_match
        ``"exact"`` or ``"case_insensitive"``.

    Returns
    -------
    list of dict
        ``{"start", "end", "account_ids"}``: ISO 8601 UTC times (``2023-12-01T12:34:56Z``) and the ids by
        ``(time, input index)``; bursts ordered by start.

    Raises
    ------
    InputError
        On invalid parameters or records, or an unparseable account time (with its location).
    """
    tag = normalize_hashtag(hashtag)
    window = check_window(window_seconds, ("window_seconds",), positive=True)
    smallest = check_count(min_accounts, ("min_accounts",), minimum=2)
    _check_match(hashtag_match)
    with collector_paused():  # columns, id lists and result dicts: nothing forms a cycle
        post_columns, account_columns = _columns(posts, accounts)
        selection = account_columns.select(post_columns.hashtag_author_ids(tag, match=hashtag_match))
        ids = selection.ids
        micros, present = account_times(
            account_columns, ids, what="creation_bursts needs the accounts' times", rows=selection.rows
        )
        return burst_dicts(burst_arrays(micros, present, window=window, min_accounts=smallest), ids)


def _check_match(value: Any) -> None:
    if value not in ("exact", "case_insensitive"):
        raise InputError.at(("hashtag_match",), f"must be 'exact' or 'case_insensitive', got {value!r}")


# -- the job's signals argument --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoHashtagOptions:
    """Parameters of the co-hashtag signal."""

    window_seconds: float = 60
    min_shared: int = 2


@dataclass(frozen=True, slots=True)
class BurstOptions:
    """Parameters of the creation-burst signal."""

    window_seconds: float = 3600
    min_accounts: int = 3


@dataclass(frozen=True, slots=True)
class Signals:
    """Which signals the job adds (``None`` / ``False``: not asked)."""

    co_hashtag: CoHashtagOptions | None = None
    creation_bursts: BurstOptions | None = None
    clusters: bool = False

    @property
    def any(self) -> bool:
        """Whether anything was asked."""
        return self.co_hashtag is not None or self.creation_bursts is not None or self.clusters


_OPTION_FIELDS = {"co_hashtag": ("window_seconds", "min_shared"), "creation_bursts": ("window_seconds", "min_accounts")}


def parse_signals(value: Any, loc: Loc = ("signals",)) -> Signals:
    """Validate the job's ``signals`` argument (the API's ``signals`` object, or a :class:`Signals`).

    Parameters
    ----------
    value
        ``None``, a :class:`Signals`, or a mapping ``{"co_hashtag": {...} | None, "creation_bursts": {...} | None,
        "clusters": bool}`` (missing keys: not asked; an empty object asks with the defaults).
    loc
        Location prefix of errors.

    Returns
    -------
    Signals
        Validated options.

    Raises
    ------
    InputError
        On unknown keys or invalid values, at e.g. ``["signals", "co_hashtag", "window_seconds"]``.
    """
    if value is None:
        return Signals()
    if isinstance(value, Signals):
        options = {
            "co_hashtag": None if value.co_hashtag is None else _as_mapping(value.co_hashtag),
            "creation_bursts": None if value.creation_bursts is None else _as_mapping(value.creation_bursts),
            "clusters": value.clusters,
        }
    elif isinstance(value, dict):
        options = value
    else:
        raise InputError.at(loc, "must be an object")
    unknown = sorted(set(options) - {"co_hashtag", "creation_bursts", "clusters"})
    if unknown:
        raise InputError.at((*loc, unknown[0]), "unknown signal (co_hashtag, creation_bursts, clusters)")
    parsed: dict[str, Any] = {}
    for name, fields in _OPTION_FIELDS.items():
        given = options.get(name)
        if given is None:
            parsed[name] = None
            continue
        if not isinstance(given, dict):
            raise InputError.at((*loc, name), "must be an object or null")
        extra = sorted(set(given) - set(fields))
        if extra:
            raise InputError.at((*loc, name, extra[0]), f"unknown parameter ({', '.join(fields)})")
        defaults = CoHashtagOptions() if name == "co_hashtag" else BurstOptions()
        window = given.get("window_seconds", defaults.window_seconds)
        check_window(window, (*loc, name, "window_seconds"), positive=name == "creation_bursts")
        count_field = fields[1]
        count = given.get(count_field, getattr(defaults, count_field))
        check_count(count, (*loc, name, count_field), minimum=1 if name == "co_hashtag" else 2)
        parsed[name] = type(defaults)(window, count)
    clusters = options.get("clusters", False)
    if not isinstance(clusters, bool):
        raise InputError.at((*loc, "clusters"), "must be a boolean")
    return Signals(parsed["co_hashtag"], parsed["creation_bursts"], clusters)


def _as_mapping(options: CoHashtagOptions | BurstOptions) -> dict[str, Any]:
    return {field: getattr(options, field) for field in options.__slots__}


@dataclass(frozen=True, slots=True)
class SignalInputs:
    """What the requested signals need from the records, as columns over M (built by :func:`prepare_signals`).

    Attributes
    ----------
    signals
        The validated options.
    events
        Co-hashtag events of P (when co-hashtag pairs or clusters were asked).
    account_time, account_present
        Creation time of each matched account and whether it has one (when bursts or clusters were asked).
    """

    signals: Signals
    events: Events | None = None
    account_time: Int64Array | None = None
    account_present: npt.NDArray[np.bool_] | None = None


def prepare_signals(
    signals: Signals,
    *,
    posts: PostColumns,
    accounts: AccountColumns,
    ids: Sequence[str],
    match: HashtagMatch,
    rows: npt.NDArray[np.int64] | None = None,
) -> SignalInputs:
    """Parse the times and build the event columns the requested signals need.

    Parameters
    ----------
    signals
        Validated options (:func:`parse_signals`).
    posts, accounts
        All posts and accounts as columns, ``created_at`` read.
    ids
        M, in input order.
    match
        ``hashtag_match``.
    rows
        The first record of each of ``ids`` in the accounts, when known (:attr:`sockpuppet.columns.Selection.rows`).

    Returns
    -------
    SignalInputs
        Columns for :func:`compute_signals`.

    Raises
    ------
    InputError
        When a needed ``created_at`` is missing (posts) or unparseable, at its location.
    """
    events = time = present = None
    if signals.co_hashtag is not None or signals.clusters:
        events = post_events(posts, ids, match)
    if signals.creation_bursts is not None or signals.clusters:
        time, present = account_times(
            accounts, ids, what="creation_bursts and clusters need the accounts' times", rows=rows
        )
    return SignalInputs(signals, events, time, present)


@dataclass(frozen=True, slots=True)
class SignalResults:
    """What :func:`compute_signals` found (``None``: not asked). The clusters are in ``clusters`` or, when asked as a
    table, in ``cluster_table``."""

    co_hashtag_pairs: list[CoHashtagPair] | None
    creation_bursts: list[dict[str, Any]] | None
    clusters: list[dict[str, Any]] | None
    cluster_table: ClusterTable | None = None


def compute_signals(
    inputs: SignalInputs,
    *,
    ids: Sequence[str],
    names: Sequence[str | None],
    name_pairs: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
    clusters_as_table: bool = False,
) -> SignalResults:
    """The requested signals (clusters use the given co-hashtag and burst parameters, else the defaults).

    Parameters
    ----------
    inputs
        From :func:`prepare_signals`.
    ids, names
        M (input order) and the screen names.
    name_pairs
        *All* similar-name pairs as index arrays into M and their scores ``(first, second, score)``.
    clusters_as_table
        Give the clusters as a :class:`ClusterTable` (``cluster_table``) instead of dicts, for a writer that builds
        them a slice at a time.

    Returns
    -------
    SignalResults
        JSON-ready lists for what was asked.
    """
    with collector_paused():  # builds one dict or list per member, pair and burst: nothing forms a cycle
        ids = np.asarray(ids, dtype=object)  # one object array for every lookup below (no copy if given one)
        signals = inputs.signals
        co_options = signals.co_hashtag or CoHashtagOptions()
        burst_options = signals.creation_bursts or BurstOptions()
        co_found = co_pairs = bursts = None
        if inputs.events is not None:
            events = inputs.events
            co_found = co_hashtag_arrays(
                events.account,
                events.time,
                events.tag,
                n_accounts=len(ids),
                window=seconds_to_micros(co_options.window_seconds),
                min_shared=co_options.min_shared,
            )
            co_pairs = co_hashtag_tuples(co_found, events.tag_names, ids)
        if inputs.account_time is not None and inputs.account_present is not None:
            bursts = burst_arrays(
                inputs.account_time,
                inputs.account_present,
                window=seconds_to_micros(burst_options.window_seconds),
                min_accounts=burst_options.min_accounts,
            )
        table = None
        if signals.clusters:
            assert co_found is not None and co_pairs is not None and bursts is not None
            assert inputs.account_time is not None and inputs.account_present is not None
            table = cluster_table(
                ids,
                names,
                name_pairs,
                co_found,
                co_pairs,
                bursts,
                inputs.account_time,
                inputs.account_present,
            )
        return SignalResults(
            co_hashtag_pairs=co_pairs if signals.co_hashtag is not None else None,
            creation_bursts=burst_dicts(bursts, ids)
            if signals.creation_bursts is not None and bursts is not None
            else None,
            clusters=None if table is None or clusters_as_table else table.dicts(),
            cluster_table=table if clusters_as_table else None,
        )


@dataclass(frozen=True, slots=True)
class ClusterTable:
    """Connected components of the similar-name graph with their evidence (contract section 5, "Clusters"), as
    columns: :meth:`dicts` builds the dicts of any range of them, so a writer can build, write and drop them a slice
    at a time (cache-warm, and never all at once). Clusters are ordered largest first, then by the input index of
    the first member.

    Attributes
    ----------
    ids, names
        Every account of M (object arrays).
    members
        Indices into ``ids`` of the members, cluster after cluster, each cluster in input order.
    member_ptr
        CSR offsets: cluster ``i`` is ``members[member_ptr[i]:member_ptr[i + 1]]``.
    stamps
        ``created_at`` of each member (ISO 8601 UTC or ``None``), aligned with ``members``.
    bursting
        Whether each member is in a reported creation burst, aligned with ``members``.
    pair_count, min_similarity, max_similarity, creation_span_seconds, co_hashtag_pairs
        Per cluster.
    """

    ids: npt.NDArray[np.object_]
    names: npt.NDArray[np.object_]
    members: Int64Array
    member_ptr: list[int]
    stamps: npt.NDArray[np.object_]
    bursting: npt.NDArray[np.bool_]
    pair_count: list[int]
    min_similarity: list[float]
    max_similarity: list[float]
    creation_span_seconds: list[float | None]
    co_hashtag_pairs: list[list[list[Any]]]

    def __len__(self) -> int:
        return len(self.pair_count)

    def dicts(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """The JSON-ready dicts of clusters ``start .. stop - 1`` (all by default): ``{"members": [{"id",
        "screen_name", "created_at"}], "pair_count", "min_similarity", "max_similarity", "co_hashtag_pairs",
        "creation_span_seconds", "members_in_bursts"}``; ``members_in_bursts`` lists the members (input order) that
        are in a reported creation burst."""
        stop = len(self) if stop is None else min(stop, len(self))
        if start >= stop:
            return []
        lo, hi = self.member_ptr[start], self.member_ptr[stop]
        rows = self.members[lo:hi]
        member_ids = self.ids[rows].tolist()
        member_dicts = [
            {"id": ident, "screen_name": name, "created_at": stamp}
            for ident, name, stamp in zip(
                member_ids, self.names[rows].tolist(), self.stamps[lo:hi].tolist(), strict=True
            )
        ]
        # the members in bursts, cluster after cluster (sliced from one list)
        bursting = self.bursting[lo:hi]
        cluster = np.repeat(np.arange(stop - start), np.diff(self.member_ptr[start : stop + 1]))
        burst_ptr = np.zeros(stop - start + 1, dtype=np.int64)
        np.cumsum(np.bincount(cluster[bursting], minlength=stop - start), out=burst_ptr[1:])
        burst_ids = self.ids[rows[bursting]].tolist()
        ptr = [offset - lo for offset in self.member_ptr[start : stop + 1]]
        bptr = burst_ptr.tolist()
        columns = zip(
            ptr[:-1],
            ptr[1:],
            bptr[:-1],
            bptr[1:],
            self.pair_count[start:stop],
            self.min_similarity[start:stop],
            self.max_similarity[start:stop],
            self.co_hashtag_pairs[start:stop],
            self.creation_span_seconds[start:stop],
            strict=True,
        )
        with collector_paused():
            return [
                {
                    "members": member_dicts[begin:end],
                    "pair_count": pair_total,
                    "min_similarity": least,
                    "max_similarity": most,
                    "co_hashtag_pairs": pairs_inside,
                    "creation_span_seconds": span,
                    "members_in_bursts": burst_ids[burst_begin:burst_end],
                }
                for begin, end, burst_begin, burst_end, pair_total, least, most, pairs_inside, span in columns
            ]


def cluster_table(
    ids: Sequence[str],
    names: Sequence[str | None],
    name_pairs: tuple[Int64Array, Int64Array, npt.NDArray[np.float64]],
    co_found: CoHashtagArrays,
    co_pairs: Sequence[CoHashtagPair],
    bursts: BurstArrays,
    micros: Int64Array,
    present: npt.NDArray[np.bool_],
) -> ClusterTable:
    """The clusters of the similar-name pairs (index arrays into M and their scores) with their evidence: the
    co-hashtag pairs inside each, the members' creation times and which are in ``bursts``."""
    from sockpuppet.groups import component_labels

    first, second, score = (np.asarray(column) for column in name_pairs)
    n = len(ids)
    id_array = np.asarray(ids, dtype=object)
    name_array = np.asarray(names, dtype=object) if len(names) else np.zeros(0, dtype=object)
    labels = component_labels(n, first, second)
    sizes = np.bincount(labels, minlength=n)
    roots = np.flatnonzero((sizes > 1) & (labels == np.arange(n)))
    roots = roots[np.lexsort((roots, -sizes[roots]))]
    slot = np.full(n, -1, dtype=np.int64)
    slot[roots] = np.arange(roots.size)
    member_slot = slot[labels]
    members = np.flatnonzero(member_slot >= 0)
    members = members[np.argsort(member_slot[members], kind="stable")]
    member_ptr = np.zeros(roots.size + 1, dtype=np.int64)
    np.cumsum(sizes[roots], out=member_ptr[1:])

    pair_slot = slot[labels[first]] if first.size else np.zeros(0, dtype=np.int64)
    pair_count = np.bincount(pair_slot, minlength=roots.size)
    low = np.full(roots.size, np.inf)
    high = np.full(roots.size, -np.inf)
    np.minimum.at(low, pair_slot, score)
    np.maximum.at(high, pair_slot, score)

    inside: list[list[list[Any]]] = [[] for _ in range(roots.size)]
    if co_found.first.size and roots.size:
        co_slot = slot[labels[co_found.first]]
        same = (co_slot >= 0) & (labels[co_found.first] == labels[co_found.second])
        for row in np.flatnonzero(same).tolist():
            inside[int(co_slot[row])].append(list(co_pairs[row]))

    in_burst = np.zeros(n, dtype=np.bool_)
    in_burst[bursts.order] = True
    timed = present[members]
    lowest = np.full(roots.size, np.iinfo(np.int64).max)
    highest = np.full(roots.size, np.iinfo(np.int64).min)
    member_cluster = member_slot[members]
    np.minimum.at(lowest, member_cluster, micros[members])
    np.maximum.at(highest, member_cluster, micros[members])
    untimed = np.bincount(member_cluster[~timed], minlength=roots.size)
    stamps = np.full(members.size, None, dtype=object)
    timed_rows = np.flatnonzero(timed)
    stamps[timed_rows] = format_times(micros[members[timed_rows]])
    spans = [  # Python int / int: correctly rounded at any span
        None if blank else (last - start) / MICROS
        for blank, start, last in zip(untimed.tolist(), lowest.tolist(), highest.tolist(), strict=True)
    ]
    return ClusterTable(
        ids=id_array,
        names=name_array,
        members=members,
        member_ptr=member_ptr.tolist(),
        stamps=stamps,
        bursting=in_burst[members],
        pair_count=pair_count.tolist(),
        min_similarity=low.tolist(),
        max_similarity=high.tolist(),
        creation_span_seconds=spans,
        co_hashtag_pairs=inside,
    )
