"""Posts and accounts as columns: what the job reads, without a dict per record.

The job needs, per post, ``author_id``, ``is_repost`` and the hashtags (and, for the signals, ``created_at``); per
account ``id``, ``screen_name`` and ``created_at``. :class:`PostColumns` and :class:`AccountColumns` hold exactly
those, validated, as Python lists of strings (shared, never copied) and a numpy ``bool`` array for ``is_repost``.
The loaders (:func:`sockpuppet.loaders.read_post_columns`, :func:`~sockpuppet.loaders.read_account_columns`) build
them block by block; :meth:`PostColumns.from_records` / :meth:`AccountColumns.from_records` build them from
in-memory records with the same validation and error locations as :func:`sockpuppet.records.post_rows`.

The hashtag filter and the account selection run on the columns: only the matched accounts are ever gathered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from sockpuppet.errors import InputError
from sockpuppet.hashtags import HashtagMatch
from sockpuppet.records import MAX_DETAILS, LocOf, account_columns, account_rows, post_columns, post_rows
from sockpuppet.times import ParsedTimes

__all__ = ["AccountColumns", "PostColumns", "Selection"]

Hashtags = str | list[str] | None
"""A post's hashtags as stored: a pipe-separated string as read from TSV (``"#a|#b"``), a list of strings, or None."""


@dataclass(slots=True)
class PostColumns:
    """Validated posts, one list (or array) per field, in input order.

    Attributes
    ----------
    author_id
        Author ids (strings; JSON integers already turned into strings).
    is_repost
        ``bool`` array.
    hashtags
        Per post: a non-empty pipe-separated string (TSV, split on demand exactly like
        :func:`~sockpuppet.records.coerce_hashtags`), a non-empty list of strings, or ``None`` for none.
    created_at
        ``created_at``: raw values (from records: as given, missing = ``None``), or parsed
        (:class:`~sockpuppet.times.ParsedTimes`, as the loaders read it), or ``None`` when not read.
    """

    author_id: list[str]
    is_repost: npt.NDArray[np.bool_]
    hashtags: list[Hashtags]
    created_at: list[Any] | ParsedTimes | None = None

    def __len__(self) -> int:
        return len(self.author_id)

    @classmethod
    def from_records(
        cls,
        records: Iterable[dict[str, Any]],
        *,
        kind: str = "posts",
        loc_of: LocOf | None = None,
        created_at: bool = True,
    ) -> PostColumns:
        """Validate post records (see :func:`sockpuppet.records.post_rows`: same errors) into columns.

        ``created_at`` (unless ``created_at=False``) is taken from every record (``None`` when missing).
        """
        seq = records if isinstance(records, Sequence) and not isinstance(records, (str, bytes)) else None
        columns = None if seq is None else post_columns(seq)
        if columns is not None:
            authors, reposts, tags = columns
        else:
            rows = post_rows(records if seq is None else seq, kind=kind, loc_of=loc_of)
            if not rows:
                return cls([], np.zeros(0, dtype=bool), [], [])
            authors, reposts, tags = (list(column) for column in zip(*rows, strict=True))
        created = [record.get("created_at") for record in seq] if created_at and seq is not None else None
        return cls(authors, np.array(reposts, dtype=bool), tags, created)

    def to_records(self) -> list[dict[str, Any]]:
        """The posts as records (``created_at`` included when it was read; parsed times as ISO 8601 UTC)."""
        keys = ("author_id", "is_repost", "hashtags")
        columns: list[Any] = [self.author_id, self.is_repost.tolist(), self.hashtags]
        if self.created_at is not None:
            keys += ("created_at",)
            columns.append(_raw(self.created_at))
        return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]

    def hashtag_lists(self) -> Iterator[list[str] | None]:
        """Each post's hashtags as a list (``None`` for none), exactly as :func:`coerce_hashtags` gives them."""
        for tags in self.hashtags:
            yield tags.split("|") if type(tags) is str else tags

    def hashtag_mask(self, hashtag: str, *, match: HashtagMatch = "exact") -> npt.NDArray[np.bool_]:
        """Which posts are non-reposts carrying ``hashtag`` (an already normalised hashtag).

        Parameters
        ----------
        hashtag
            The hashtag (see :func:`sockpuppet.hashtags.normalize_hashtag`).
        match
            ``"exact"`` (membership, as the reference) or ``"case_insensitive"`` (``str.casefold`` on both sides).

        Returns
        -------
        numpy.ndarray
            ``bool`` mask over the posts.
        """
        if match == "exact":
            test = _exact_test(hashtag)
        elif match == "case_insensitive":
            test = _folded_test(hashtag)
        else:
            raise InputError.at(("hashtag_match",), f"must be 'exact' or 'case_insensitive', got {match!r}")
        tags = self.hashtags
        try:  # posts share few distinct hashtag strings: decide each once
            distinct = dict.fromkeys(tags)
        except TypeError:  # lists (JSON input) are not hashable: decide per post
            if match == "exact" and set(map(type, tags)) <= {list, type(None)}:
                carries = np.array([bool(post_tags) and hashtag in post_tags for post_tags in tags], dtype=bool)
            else:
                carries = np.fromiter(map(test, tags), dtype=bool, count=len(tags))
        else:
            hits = {value for value in distinct if test(value)}
            if len(hits) == len(distinct):  # every post carries it (or there are none)
                carries = np.ones(len(tags), dtype=bool)
            elif not hits:
                carries = np.zeros(len(tags), dtype=bool)
            else:
                carries = np.fromiter(map(hits.__contains__, tags), dtype=bool, count=len(tags))
        return carries & ~self.is_repost

    def hashtag_authors(self, hashtag: str, *, match: HashtagMatch = "exact") -> dict[str, None]:
        """Authors of non-repost posts carrying ``hashtag``, in first-seen order, each once (as dict keys).

        Same authors, in the same order, as :func:`sockpuppet.hashtags.authors_with_hashtag` on the same posts.
        """
        return dict.fromkeys(compress(self.author_id, self.hashtag_mask(hashtag, match=match).tolist()))

    def hashtag_author_ids(self, hashtag: str, *, match: HashtagMatch = "exact") -> list[str]:
        """Authors of the non-repost posts carrying ``hashtag``, one per such post (repeats kept), in post order.

        The same distinct authors as :meth:`hashtag_authors` without a dict of them: what
        :meth:`AccountColumns.select` takes.
        """
        return list(compress(self.author_id, self.hashtag_mask(hashtag, match=match).tolist()))


def _exact_test(hashtag: str) -> Callable[[Hashtags], bool]:
    def test(tags: Hashtags) -> bool:
        if tags is None:
            return False
        if type(tags) is str:
            return tags == hashtag or (hashtag in tags and hashtag in tags.split("|"))
        return hashtag in tags

    return test


def _folded_test(hashtag: str) -> Callable[[Hashtags], bool]:
    folded = hashtag.casefold()

    def test(tags: Hashtags) -> bool:
        if tags is None:
            return False
        if type(tags) is str:
            # casefold maps characters one by one and never makes or removes a "|": folding the whole string and
            # splitting it equals folding every tag
            return folded in tags.casefold().split("|")
        return any(tag.casefold() == folded for tag in tags)

    return test


@dataclass(frozen=True, slots=True)
class Selection:
    """Accounts kept for the pair search (see :meth:`AccountColumns.select`).

    Attributes
    ----------
    ids, screen_names
        The kept accounts, in accounts-input order, each id once.
    without_account
        How many of the wanted ids have no account record.
    rows
        The index of each kept id's first record in the accounts (``None`` when not known).
    """

    ids: list[str]
    screen_names: list[str | None]
    without_account: int
    rows: npt.NDArray[np.int64] | None = None


@dataclass(slots=True)
class AccountColumns:
    """Validated accounts, one list per field, in input order (duplicates kept).

    Attributes
    ----------
    id
        Account ids (strings).
    screen_name
        Screen names (``None`` for none).
    created_at
        ``created_at``: raw values, or :class:`~sockpuppet.times.ParsedTimes`, or ``None`` when not read.
    """

    id: list[str]
    screen_name: list[str | None]
    created_at: list[Any] | ParsedTimes | None = None

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def from_records(
        cls,
        records: Iterable[dict[str, Any]],
        *,
        kind: str = "accounts",
        loc_of: LocOf | None = None,
        created_at: bool = True,
    ) -> AccountColumns:
        """Validate account records (see :func:`sockpuppet.records.account_rows`: same errors) into columns."""
        seq = records if isinstance(records, Sequence) and not isinstance(records, (str, bytes)) else None
        columns = None if seq is None else account_columns(seq)
        if columns is None:
            rows = account_rows(records if seq is None else seq, kind=kind, loc_of=loc_of)
            if not rows:
                return cls([], [], [])
            ids, names = (list(column) for column in zip(*rows, strict=True))
        else:
            ids, names = columns
        created = [record.get("created_at") for record in seq] if created_at and seq is not None else None
        return cls(ids, names, created)

    def to_records(self) -> list[dict[str, Any]]:
        """The accounts as records (``created_at`` included when it was read; parsed times as ISO 8601 UTC)."""
        if self.created_at is None:
            return [{"id": i, "screen_name": n} for i, n in zip(self.id, self.screen_name, strict=True)]
        return [
            {"id": i, "screen_name": n, "created_at": c}
            for i, n, c in zip(self.id, self.screen_name, _raw(self.created_at), strict=True)
        ]

    def select(self, wanted: Iterable[str]) -> Selection:
        """The accounts whose id is in ``wanted``, in input order, identical duplicates collapsed.

        Parameters
        ----------
        wanted
            Ids to keep, repeats allowed (a set, a dict such as :meth:`PostColumns.hashtag_authors` returns, or a
            list such as :meth:`PostColumns.hashtag_author_ids` returns).

        Returns
        -------
        Selection
            Kept ids and names, the number of distinct wanted ids without an account record, and the index of
            each kept id's first record.

        Raises
        ------
        InputError
            If one id has records with different screen names (``conflicting duplicate account id``), anywhere in
            the accounts (location ``["accounts", index, "id"]``, 0-based record index).

        Notes
        -----
        The ids are compared through their 64-bit string hashes in numpy (sorts and binary searches, no set or
        dict of a million strings); every pair of ids the hashes call equal is then compared as strings, so the
        result never rests on a hash: on a collision between different ids the dict-based comparison runs.
        """
        wanted = wanted if isinstance(wanted, (set, frozenset, dict, list)) else list(wanted)
        try:
            return _select_hashed(self.id, self.screen_name, wanted)
        except _Collision:
            return _select_dicts(self.id, self.screen_name, wanted)


_Wanted = list[str] | set[str] | frozenset[str] | dict[str, Any]


class _Collision(Exception):
    """Two different ids share a hash: compare as strings instead."""


def _hashes(values: Sequence[Any]) -> npt.NDArray[np.int64]:
    """Each value's ``hash`` (pass a list rather than an object array: iterating a list is faster)."""
    return np.fromiter(map(hash, values), dtype=np.int64, count=len(values))


def _objects(values: Sequence[Any]) -> npt.NDArray[np.object_]:
    """``values`` as a 1-d object array (one reference per value, no copy of any string)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _all_equal(left: npt.NDArray[np.object_], right: npt.NDArray[np.object_]) -> bool:
    return bool(np.equal(left, right).all()) if left.size else True


def _runs(ordered: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """For sorted values: mask of the first of each run of equal values."""
    first = np.ones(ordered.size, dtype=np.bool_)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def _lookup(
    ordered: npt.NDArray[np.int64], hashes: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """For each of ``hashes``: its position in the sorted ``ordered`` (binary search) and whether it is there."""
    at = np.minimum(np.searchsorted(ordered, hashes), max(ordered.size - 1, 0))
    hit = np.zeros(hashes.size, dtype=np.bool_)
    if ordered.size:
        np.equal(ordered[at], hashes, out=hit)
    return at, hit


def _select_hashed(ids: list[str], names: list[str | None], wanted: _Wanted) -> Selection:
    # every record's id, sorted by hash: the first record of each id, and conflicting duplicates refused
    id_array = _objects(ids)
    id_hashes = _hashes(ids)
    id_order = np.argsort(id_hashes)
    ordered = id_hashes[id_order]
    leads = _runs(ordered)
    first_record = np.ones(id_array.size, dtype=np.bool_)
    if leads.all():
        distinct, owner = ordered, id_order
    else:
        starts = np.flatnonzero(leads)
        earliest = np.minimum.reduceat(id_order, starts)  # the first record of each hash
        group = np.cumsum(leads) - 1
        repeat = id_order != earliest[group]
        duplicate, leader = id_order[repeat], earliest[group[repeat]]
        if not _all_equal(id_array[duplicate], id_array[leader]):
            raise _Collision
        name_array = _objects(names)
        if not _all_equal(name_array[duplicate], name_array[leader]):
            first_names(ids, names)  # raises, naming every conflicting duplicate
        first_record[duplicate] = False
        distinct, owner = ordered[starts], earliest
    # each wanted id's record: binary search of its hash, every hit compared as strings
    wanted_list = wanted if isinstance(wanted, list) else list(wanted)
    wanted_array = _objects(wanted_list)
    wanted_hashes = _hashes(wanted_list)
    at, hit = _lookup(distinct, wanted_hashes)
    records = owner[at[hit]]
    if not _all_equal(wanted_array[hit], id_array[records]):
        raise _Collision
    selected = np.zeros(id_array.size, dtype=np.bool_)
    selected[records] = True
    rows = np.flatnonzero(selected)
    # the distinct wanted ids without a record (every repeat compared with the first of its hash)
    missing = np.flatnonzero(~hit)
    missing_order = missing[np.argsort(wanted_hashes[missing], kind="stable")]
    missing_leads = _runs(wanted_hashes[missing_order])
    if not missing_leads.all():
        starts = np.flatnonzero(missing_leads)
        leader = missing_order[starts[np.cumsum(missing_leads)[~missing_leads] - 1]]
        if not _all_equal(wanted_array[missing_order[~missing_leads]], wanted_array[leader]):
            raise _Collision
    without = int(missing_leads.sum())
    if rows.size == id_array.size:  # every record kept
        return Selection(list(ids), list(names), without, rows)
    return Selection(id_array[rows].tolist(), _objects(names)[rows].tolist(), without, rows)


def positions(values: Sequence[str], keys: Sequence[str]) -> npt.NDArray[np.int64]:
    """Index of each of ``values`` in ``keys`` (distinct strings), ``-1`` where absent.

    Compared through 64-bit string hashes in numpy (a sort and a binary search), every hit compared as strings; a
    collision between different strings falls back to a dict, so the result never rests on a hash.
    """
    key_array, value_array = _objects(keys), _objects(values)
    key_hashes = _hashes(keys)
    order = np.argsort(key_hashes)
    ordered = key_hashes[order]
    found = np.full(value_array.size, -1, dtype=np.int64)
    if not key_array.size or not value_array.size:
        return found
    at, mask = _lookup(ordered, _hashes(values))
    hit = np.flatnonzero(mask)
    found[hit] = order[at[hit]]
    if _runs(ordered).all() and _all_equal(value_array[hit], key_array[found[hit]]):
        return found
    index_of = {key: i for i, key in enumerate(keys)}  # a collision: compare as strings
    return np.fromiter(map(index_of.get, values, repeat(-1)), dtype=np.int64, count=len(values))


def _select_dicts(ids: list[str], names: list[str | None], wanted: _Wanted) -> Selection:
    wanted = wanted if isinstance(wanted, (set, frozenset, dict)) else dict.fromkeys(wanted)
    table = first_names(ids, names)
    first: dict[str, int] = {}
    for index, ident in enumerate(ids):
        first.setdefault(ident, index)
    kept = list(filter(wanted.__contains__, table))
    rows = np.array([first[ident] for ident in kept], dtype=np.int64)
    return Selection(kept, list(map(table.__getitem__, kept)), len(wanted) - len(kept), rows)


def _raw(created_at: list[Any] | ParsedTimes) -> list[Any]:
    return created_at.values() if isinstance(created_at, ParsedTimes) else created_at


def first_names(ids: list[str], names: list[str | None]) -> dict[str, str | None]:
    """Id -> screen name of its first record, or :class:`InputError` naming every conflicting duplicate."""
    table: dict[str, str | None] = {}
    conflicts: list[dict[str, Any]] = []
    for index, (ident, name) in enumerate(zip(ids, names, strict=True)):
        known = table.setdefault(ident, name)
        if known != name and len(conflicts) < MAX_DETAILS:
            conflicts.append(
                {
                    "loc": ["accounts", index, "id"],
                    "msg": f"conflicting duplicate account id {ident!r}: screen_name {name!r} vs {known!r}",
                }
            )
    if conflicts:
        raise InputError(
            f"conflicting duplicate account id: {conflicts[0]['msg']}"
            + (f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""),
            conflicts,
        )
    return table
