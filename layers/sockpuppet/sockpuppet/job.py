"""The whole job: hashtag filter -> account selection -> similar-name pairs -> result (counts, groups)."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sockpuppet import engine
from sockpuppet.collector import collector_paused
from sockpuppet.columns import AccountColumns, PostColumns, Selection, first_names
from sockpuppet.errors import DeadlineExceeded, InputError
from sockpuppet.groups import groups_from_pairs
from sockpuppet.hashtags import HashtagMatch, normalize_hashtag
from sockpuppet.records import AccountRow
from sockpuppet.signals import (
    ClusterTable,
    CoHashtagPair,
    SignalInputs,
    Signals,
    compute_signals,
    parse_signals,
    prepare_signals,
)

__all__ = [
    "MatchedAccounts",
    "SimilarAccountsResult",
    "build_result",
    "find_similar_accounts",
    "match_accounts",
    "search_matched",
    "select_accounts",
]

Pair = tuple[str, str, float]


@dataclass(frozen=True, slots=True)
class SimilarAccountsResult:
    """Result of :func:`find_similar_accounts`.

    Attributes
    ----------
    similar_account_pairs
        ``(id1, id2, similarity)`` tuples in the reference's order (``id1`` comes first in the accounts input);
        at most ``max_pairs`` of them.
    pair_count
        Number of pairs found, before any truncation.
    hashtag
        The normalised hashtag (with its ``#``).
    min_similarity
        The threshold (pairs have a similarity strictly greater).
    accounts_matched
        Distinct accounts (with a record) that posted the hashtag: the accounts that were compared.
    authors_without_account
        Authors who posted the hashtag but have no account record (counted, never paired).
    truncated
        Whether ``similar_account_pairs`` holds fewer than ``pair_count`` pairs.
    groups
        Connected components of the similar-name graph over *all* pairs (also when truncated), as account ids;
        each group in accounts-input order, groups ordered by their first member. ``None`` unless requested.
    co_hashtag_pairs, creation_bursts, clusters
        The coordination signals (:mod:`sockpuppet.signals`); each ``None`` unless requested.
    cluster_table
        The clusters as a :class:`~sockpuppet.signals.ClusterTable` instead of ``clusters``, when
        :func:`build_result` was asked for that (a writer then builds their dicts a slice at a time).
    """

    similar_account_pairs: list[Pair]
    pair_count: int
    hashtag: str
    min_similarity: float
    accounts_matched: int
    authors_without_account: int
    truncated: bool
    groups: list[list[str]] | None = None
    co_hashtag_pairs: list[CoHashtagPair] | None = None
    creation_bursts: list[dict[str, Any]] | None = None
    clusters: list[dict[str, Any]] | None = None
    cluster_table: ClusterTable | None = None

    def to_dict(self) -> dict[str, Any]:
        """The API's 200 response body (``groups`` and each signal only when they were requested)."""
        return {"similar_account_pairs": [list(pair) for pair in self.similar_account_pairs], **self.summary()}

    def summary(self, *, clusters: bool = True) -> dict[str, Any]:
        """:meth:`to_dict` without ``similar_account_pairs`` (the other keys, in the same order; ``clusters``, the
        last one, left out when ``clusters`` is false)."""
        body: dict[str, Any] = {
            "pair_count": self.pair_count,
            "hashtag": self.hashtag,
            "min_similarity": self.min_similarity,
            "accounts_matched": self.accounts_matched,
            "authors_without_account": self.authors_without_account,
            "truncated": self.truncated,
            "result_url": None,
            "result_expires_at": None,
        }
        if self.groups is not None:
            body["groups"] = self.groups
        if self.co_hashtag_pairs is not None:
            body["co_hashtag_pairs"] = [list(pair) for pair in self.co_hashtag_pairs]
        if self.creation_bursts is not None:
            body["creation_bursts"] = self.creation_bursts
        if clusters and self.clusters is not None:
            body["clusters"] = self.clusters
        elif clusters and self.cluster_table is not None:
            body["clusters"] = self.cluster_table.dicts()
        return body


def check_min_similarity(value: Any) -> float:
    """Return ``value`` as a float in [0, 1] or raise :class:`InputError` (loc ``["min_similarity"]``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError.at(("min_similarity",), "must be a number between 0 and 1")
    if not 0.0 <= value <= 1.0:
        raise InputError.at(("min_similarity",), f"must be between 0 and 1, got {value}")
    return float(value)


def _check_max_pairs(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError.at(("max_pairs",), "must be a non-negative integer or null")
    return value


def select_accounts(rows: Iterable[AccountRow], wanted: set[str]) -> tuple[list[str], list[str | None], set[str]]:
    """Accounts whose id is in ``wanted``, in input order, identical duplicates collapsed.

    Parameters
    ----------
    rows
        Validated ``(id, screen_name)`` rows of *all* accounts.
    wanted
        Ids to keep.

    Returns
    -------
    tuple
        ``(ids, screen_names, all_ids)``: the kept accounts' ids and names (input order, each id once) and the
        set of every account id in ``rows``.

    Raises
    ------
    InputError
        If one id has records with different screen names (``conflicting duplicate account id``), anywhere in
        the accounts.
    """
    rows = list(rows)
    names = first_names([ident for ident, _ in rows], [name for _, name in rows])
    ids = [ident for ident in names if ident in wanted]
    return ids, [names[ident] for ident in ids], set(names)


@dataclass(frozen=True, slots=True)
class MatchedAccounts:
    """The accounts a job compares: the first half of :func:`find_similar_accounts` (the asynchronous job runs the
    pair search of these names elsewhere and builds the result with :func:`build_result`).

    Attributes
    ----------
    ids
        Distinct account ids (with a record) that posted the hashtag, in accounts-input order.
    names
        Their screen names (``None`` or empty: never paired).
    hashtag
        The normalised hashtag (with its ``#``).
    min_similarity
        The validated threshold.
    authors_without_account
        Authors who posted the hashtag but have no account record.
    signal_inputs
        What the requested signals need (times and hashtag events as columns); ``None`` when none was asked.
    """

    ids: list[str]
    names: list[str | None]
    hashtag: str
    min_similarity: float
    authors_without_account: int
    signal_inputs: SignalInputs | None = None

    @classmethod
    def selected(cls, selection: Selection, *, hashtag: str, min_similarity: float) -> MatchedAccounts:
        """The accounts of a :meth:`~sockpuppet.columns.AccountColumns.select` (no signals).

        Parameters
        ----------
        selection
            The accounts that posted the hashtag.
        hashtag
            The normalised hashtag (:func:`~sockpuppet.hashtags.normalize_hashtag`).
        min_similarity
            The threshold (validated here).
        """
        return cls(
            ids=selection.ids,
            names=selection.screen_names,
            hashtag=hashtag,
            min_similarity=check_min_similarity(min_similarity),
            authors_without_account=selection.without_account,
        )


def match_accounts(
    posts: Iterable[dict[str, Any]] | PostColumns,
    accounts: Iterable[dict[str, Any]] | AccountColumns,
    *,
    hashtag: str,
    min_similarity: float = 0.8,
    hashtag_match: HashtagMatch = "exact",
    signals: Signals | dict[str, Any] | None = None,
) -> MatchedAccounts:
    """Validate the parameters and records and select the accounts that posted ``hashtag``.

    Parameters are those of :func:`find_similar_accounts`.

    Returns
    -------
    MatchedAccounts
        The accounts to compare and the counts of the result.

    Raises
    ------
    InputError
        On invalid parameters or records (with field locations), conflicting duplicate account ids, or a
        ``created_at`` a requested signal needs that is missing or unparseable (at its location).
    """
    tag = normalize_hashtag(hashtag)
    threshold = check_min_similarity(min_similarity)
    if hashtag_match not in ("exact", "case_insensitive"):
        raise InputError.at(("hashtag_match",), f"must be 'exact' or 'case_insensitive', got {hashtag_match!r}")
    wanted = parse_signals(signals)
    # columns: no dict per record, only the matched accounts gathered; created_at only when a signal needs it
    if not isinstance(posts, PostColumns):
        posts = PostColumns.from_records(_sequence(posts) if wanted.any else posts, created_at=wanted.any)
    authors = posts.hashtag_author_ids(tag, match=hashtag_match)
    if not isinstance(accounts, AccountColumns):
        accounts = AccountColumns.from_records(_sequence(accounts) if wanted.any else accounts, created_at=wanted.any)
    selection = accounts.select(authors)
    matched = MatchedAccounts.selected(selection, hashtag=tag, min_similarity=threshold)
    if not wanted.any:
        return matched
    inputs = prepare_signals(
        wanted, posts=posts, accounts=accounts, ids=matched.ids, match=hashtag_match, rows=selection.rows
    )
    return dataclasses.replace(matched, signal_inputs=inputs)


def _sequence(records: Iterable[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    return records if isinstance(records, Sequence) else list(records)


RESULT_CHUNK_PAIRS = 1 << 16
"""Pairs turned into id tuples between two deadline checks in :func:`build_result` (~10-50 ms of work)."""


def _id_pairs(
    id_array: np.ndarray, first: np.ndarray, second: np.ndarray, score: np.ndarray, deadline: float | None
) -> list[Pair]:
    """``(id1, id2, similarity)`` tuples, built in chunks of :data:`RESULT_CHUNK_PAIRS` between deadline checks."""
    pairs: list[Pair] = []
    for start in range(0, first.size, RESULT_CHUNK_PAIRS):
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("deadline passed while the result was built")
        end = start + RESULT_CHUNK_PAIRS
        pairs += zip(
            id_array[first[start:end]].tolist(),
            id_array[second[start:end]].tolist(),
            score[start:end].tolist(),
            strict=True,
        )
    return pairs


def build_result(
    matched: MatchedAccounts,
    found: engine.PairArrays,
    *,
    max_pairs: int | None = None,
    with_groups: bool = False,
    deadline: float | None = None,
    clusters_as_table: bool = False,
) -> SimilarAccountsResult:
    """The job's result from its accounts and the pairs the search found among ``matched.names``.

    Parameters
    ----------
    matched
        From :func:`match_accounts`.
    found
        Index pairs into ``matched.names`` in the reference order (:func:`sockpuppet.engine.similar_name_pairs`).
    max_pairs
        Keep only the first ``max_pairs`` pairs; ``None`` keeps all.
    with_groups
        Also compute the groups.
    deadline
        A :func:`time.monotonic` value, checked every :data:`RESULT_CHUNK_PAIRS` pairs.
    clusters_as_table
        Give asked clusters as ``cluster_table`` (a :class:`~sockpuppet.signals.ClusterTable`) instead of dicts.

    Returns
    -------
    SimilarAccountsResult
        Pairs as account ids, counts, (optionally) groups, and the signals ``matched`` was prepared for.

    Raises
    ------
    InputError
        If ``max_pairs`` is not a non-negative integer or ``None``.
    DeadlineExceeded
        When ``deadline`` passes while the pairs are turned into ids.
    """
    limit = _check_max_pairs(max_pairs)
    ids = matched.ids
    first = np.asarray(found.first, dtype=np.int64)
    second = np.asarray(found.second, dtype=np.int64)
    score = np.asarray(found.score, dtype=np.float64)
    pair_count = int(first.size)
    keep = pair_count if limit is None else min(limit, pair_count)
    id_array = np.asarray(ids, dtype=object)  # one object array for the pairs and the signals
    with collector_paused():  # one tuple per pair, one dict per cluster member: nothing forms a cycle
        pairs = _id_pairs(id_array, first[:keep], second[:keep], score[:keep], deadline)
        groups = None
        if with_groups:
            groups = [[ids[i] for i in group] for group in groups_from_pairs(len(ids), first, second)]
        extra: dict[str, Any] = {}
        if matched.signal_inputs is not None:
            found_signals = compute_signals(
                matched.signal_inputs,
                ids=id_array,
                names=matched.names,
                name_pairs=(first, second, score),
                clusters_as_table=clusters_as_table,
            )
            extra = {
                "co_hashtag_pairs": found_signals.co_hashtag_pairs,
                "creation_bursts": found_signals.creation_bursts,
                "clusters": found_signals.clusters,
                "cluster_table": found_signals.cluster_table,
            }
    return SimilarAccountsResult(
        similar_account_pairs=pairs,
        pair_count=pair_count,
        hashtag=matched.hashtag,
        min_similarity=matched.min_similarity,
        accounts_matched=len(ids),
        authors_without_account=matched.authors_without_account,
        truncated=keep < pair_count,
        groups=groups,
        **extra,
    )


def find_similar_accounts(
    posts: Iterable[dict[str, Any]] | PostColumns,
    accounts: Iterable[dict[str, Any]] | AccountColumns,
    *,
    hashtag: str,
    min_similarity: float = 0.8,
    hashtag_match: HashtagMatch = "exact",
    max_pairs: int | None = None,
    with_groups: bool = False,
    signals: Signals | dict[str, Any] | None = None,
    deadline: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimilarAccountsResult:
    """Find pairs of accounts that posted a hashtag and have near-identical screen names.

    For records the reference functions accept (unique account ids), ``similar_account_pairs`` equals
    ``get_similar_screen_names([a for a in accounts if a["id"] in set(get_hashtag_accounts(posts, hashtag))],
    min_similarity)`` of the original exercise.

    Parameters
    ----------
    posts
        Post records (see :mod:`sockpuppet.records`), or posts already read into columns
        (:func:`sockpuppet.loaders.read_post_columns`).
    accounts
        Account records, or :class:`~sockpuppet.columns.AccountColumns`.
    hashtag
        Hashtag to filter on; a missing ``#`` is added.
    min_similarity
        Threshold in [0, 1]; pairs need a normalized Damerau-Levenshtein similarity strictly greater.
    hashtag_match
        ``"exact"`` (default) or ``"case_insensitive"``.
    max_pairs
        Keep only the first ``max_pairs`` pairs (``truncated`` tells); ``None`` keeps all.
    with_groups
        Also compute the groups (connected components of the similar-name graph).
    signals
        Coordination signals to add (contract section 5): ``{"co_hashtag": {"window_seconds", "min_shared"} |
        None, "creation_bursts": {"window_seconds", "min_accounts"} | None, "clusters": bool}`` or a
        :class:`~sockpuppet.signals.Signals`. Clusters carry co-hashtag and burst evidence computed with the given
        parameters, else the defaults. Signals need ``created_at`` values (:mod:`sockpuppet.times`).
    deadline
        A :func:`time.monotonic` value; past it :class:`DeadlineExceeded` is raised.
    progress
        ``progress(done, total)`` callback forwarded to the pair search.

    Returns
    -------
    SimilarAccountsResult
        Pairs, counts and (optionally) groups.

    Raises
    ------
    InputError
        On invalid parameters or records (with field locations), conflicting duplicate account ids, or a
        ``created_at`` a requested signal needs that is missing or unparseable (at its location).
    DeadlineExceeded
        When ``deadline`` passes.
    """
    limit = _check_max_pairs(max_pairs)
    matched = match_accounts(
        posts, accounts, hashtag=hashtag, min_similarity=min_similarity, hashtag_match=hashtag_match, signals=signals
    )
    return search_matched(matched, max_pairs=limit, with_groups=with_groups, deadline=deadline, progress=progress)


def search_matched(
    matched: MatchedAccounts,
    *,
    max_pairs: int | None = None,
    with_groups: bool = False,
    deadline: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimilarAccountsResult:
    """The pair search among matched accounts and the result: the second half of :func:`find_similar_accounts`.

    For callers that match in steps, e.g. to let the posts go before the search (the CLI)::

        authors = posts.hashtag_author_ids(tag)
        matched = MatchedAccounts.selected(accounts.select(authors), hashtag=tag, min_similarity=t)
        search_matched(matched)  # == find_similar_accounts(posts, accounts, hashtag=tag, min_similarity=t)

    Parameters
    ----------
    matched
        From :func:`match_accounts` or :meth:`MatchedAccounts.selected`.
    max_pairs, with_groups, deadline, progress
        As for :func:`find_similar_accounts`.

    Returns
    -------
    SimilarAccountsResult
        Pairs, counts, (optionally) groups and the signals ``matched`` was prepared for.
    """
    limit = _check_max_pairs(max_pairs)
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded("deadline passed before the pair search started")
    found = engine.similar_name_pairs(matched.names, matched.min_similarity, deadline=deadline, progress=progress)
    return build_result(matched, found, max_pairs=limit, with_groups=with_groups, deadline=deadline)
