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
from itertools import compress
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
            carries = np.fromiter(map(hits.__contains__, tags), dtype=bool, count=len(tags))
        return carries & ~self.is_repost

    def hashtag_authors(self, hashtag: str, *, match: HashtagMatch = "exact") -> dict[str, None]:
        """Authors of non-repost posts carrying ``hashtag``, in first-seen order, each once (as dict keys).

        Same authors, in the same order, as :func:`sockpuppet.hashtags.authors_with_hashtag` on the same posts.
        """
        return dict.fromkeys(compress(self.author_id, self.hashtag_mask(hashtag, match=match).tolist()))


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
    """

    ids: list[str]
    screen_names: list[str | None]
    without_account: int


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
            Ids to keep (a set, or a dict such as :meth:`PostColumns.hashtag_authors` returns).

        Returns
        -------
        Selection
            Kept ids and names, and the number of wanted ids without an account record.

        Raises
        ------
        InputError
            If one id has records with different screen names (``conflicting duplicate account id``), anywhere in
            the accounts (location ``["accounts", index, "id"]``, 0-based record index).
        """
        wanted = wanted if isinstance(wanted, (set, frozenset, dict)) else set(wanted)
        ids, names = self.id, self.screen_name
        known = set(ids)
        if len(known) != len(ids):  # duplicate ids: keep the first of each, refuse conflicting ones
            table = first_names(ids, names)
            kept = list(filter(wanted.__contains__, table))
            kept_names = list(map(table.__getitem__, kept))
        else:
            flags = list(map(wanted.__contains__, ids))
            kept, kept_names = list(compress(ids, flags)), list(compress(names, flags))
        without = len(wanted) - len(kept)  # kept: the distinct wanted ids that have a record
        return Selection(kept, kept_names, without)


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
