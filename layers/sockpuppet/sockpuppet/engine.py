"""Exact pair search over screen names by normalized Damerau-Levenshtein similarity.

This first version is the exact blocked baseline: distinct names are compared block by block with
:func:`rapidfuzz.process.cdist` (all cores), so memory stays bounded by one block and scores are
rapidfuzz's own floats. No normalized ``score_cutoff`` is passed: rapidfuzz
applies its own epsilon to it and drops boundary scores (``"ab"``/``"aba"`` scores 0.6666666666666667 but is cut at
``score_cutoff=0.6666666666666666``); the strict ``> min_similarity`` test is applied to the scores instead.
The sub-quadratic candidate filters build on top of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from sockpuppet.errors import DeadlineExceeded, InputError

__all__ = ["PairArrays", "get_similar_screen_names", "similar_name_pairs"]

BLOCK_CELLS = 1 << 24
"""Upper bound on the cells of one ``cdist`` block (float64: 128 MiB)."""


class PairArrays(NamedTuple):
    """Pairs as parallel arrays: indices into the names (``first < second``) and their similarity."""

    first: npt.NDArray[np.int64]
    second: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]


def _empty() -> PairArrays:
    return PairArrays(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))


def _distinct(names: Sequence[str | None]) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Distinct non-empty names (first-seen order) and, per input index, its distinct-name id (-1 if empty)."""
    ids: dict[str, int] = {}
    codes = np.fromiter(
        (ids.setdefault(name, len(ids)) if name else -1 for name in names), dtype=np.int64, count=len(names)
    )
    return list(ids), codes


def _expand(codes: npt.NDArray[np.int64], a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], s: npt.NDArray[Any]):
    """Turn pairs of distinct names (plus self-pairs ``a == b``) into sorted pairs of input indices."""
    valid = np.flatnonzero(codes >= 0)
    order = valid[np.argsort(codes[valid], kind="stable")]
    starts = np.searchsorted(codes[order], np.arange(int(codes.max(initial=-1)) + 1))
    counts = np.diff(np.append(starts, order.size))
    reps = counts[a] * counts[b]
    total = int(reps.sum())
    if total == 0:
        return _empty()
    pair_of = np.repeat(np.arange(a.size), reps)
    offset = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
    cb = counts[b][pair_of]
    left = order[starts[a][pair_of] + offset // cb]
    right = order[starts[b][pair_of] + offset % cb]
    first, second = np.minimum(left, right), np.maximum(left, right)
    keep = first != second
    if np.any(a == b):
        keep &= ~((a[pair_of] == b[pair_of]) & (left > right))
    first, second, score = first[keep], second[keep], s[pair_of][keep]
    sort = np.lexsort((second, first))
    return PairArrays(first[sort], second[sort], np.asarray(score, np.float64)[sort])


def similar_name_pairs(
    names: Sequence[str | None],
    min_similarity: float,
    *,
    deadline: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = -1,
) -> PairArrays:
    """All index pairs whose names have a normalized Damerau-Levenshtein similarity strictly above a threshold.

    Parameters
    ----------
    names
        Screen names; ``None`` and ``""`` never pair.
    min_similarity
        Threshold in [0, 1]; a pair needs a similarity strictly greater.
    deadline
        A :func:`time.monotonic` value; past it, :class:`~sockpuppet.errors.DeadlineExceeded` is raised.
    progress
        ``progress(done, total)`` called as blocks of work complete.
    workers
        Threads for rapidfuzz (``-1``: all cores).

    Returns
    -------
    PairArrays
        Indices into ``names`` with ``first < second``, in :func:`itertools.combinations` order, and the scores,
        bit-identical to :func:`rapidfuzz.distance.DamerauLevenshtein.normalized_similarity`.
    """
    distinct, codes = _distinct(names)
    n = len(distinct)
    if n == 0:
        return _empty()
    rows = max(1, BLOCK_CELLS // n)
    found_a, found_b, found_s = [np.arange(n)], [np.arange(n)], [np.ones(n)]
    if min_similarity >= 1.0:
        found_a, found_b, found_s = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    for start in range(0, n, rows):
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("the pair search did not finish before the deadline")
        stop = min(n, start + rows)
        block = process.cdist(
            distinct[start:stop],
            distinct[start:],
            scorer=DamerauLevenshtein.normalized_similarity,
            dtype=np.float64,
            workers=workers,
        )
        r, c = np.nonzero(block > min_similarity)
        c += start
        upper = c > r + start
        found_a.append(r[upper] + start)
        found_b.append(c[upper])
        found_s.append(block[r[upper], c[upper] - start])
        if progress is not None:
            progress(stop, n)
    return _expand(codes, np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_s))


def get_similar_screen_names(accounts: list[dict], min_similarity: float) -> list[tuple[str, str, float]]:
    """Pairs of accounts with similar screen names (the original exercise's function, same results, scalable).

    Parameters
    ----------
    accounts
        Account records with ``id`` and ``screen_name``.
    min_similarity
        Threshold in [0, 1]; pairs need a normalized Damerau-Levenshtein similarity strictly greater.

    Returns
    -------
    list of tuple
        ``(id1, id2, similarity)`` in the order of :func:`itertools.combinations` over ``accounts``.

    Raises
    ------
    ValueError
        (:class:`~sockpuppet.errors.InputError`) when one id has records with different screen names.
    """
    ids: dict[Any, Any] = {}
    for index, account in enumerate(accounts):
        known = ids.setdefault(account["id"], account["screen_name"])
        if known != account["screen_name"]:
            raise InputError.at(("accounts", index, "id"), f"conflicting duplicate account id {account['id']!r}")
    keys = list(ids)
    found = similar_name_pairs([ids[key] for key in keys], min_similarity)
    return [
        (keys[i], keys[j], s)
        for i, j, s in zip(found.first.tolist(), found.second.tolist(), found.score.tolist(), strict=True)
    ]
