"""Exact sharding of the pair search, for jobs that fan the search out over workers.

A job plans shards once (:func:`plan_shards`), workers each search one shard over the *same* full list of names
(:func:`search_shard`), and the merge step combines their results (:func:`merge_shards`). The merged result is
bit-identical to :func:`sockpuppet.engine.similar_name_pairs` on the whole list, for every ``max_names >= 2``.

The layout
----------
The distinct non-empty names (first-seen order, as the engine numbers them) are ordered by length (ties by that
number: a stable sort, so every process computes the same order from the same list) and cut into consecutive
*blocks* of ``max_names // 2`` names. A shard is either

- a *diagonal* shard: one block, searched whole (every pair inside it, plus the pairs of accounts that share one
  of its names), or
- a *cross* shard: two blocks ``i < j``, searched only for pairs with one name in each (the engine's ``side``
  restriction: candidates and scan cells of two names on the same side are never generated).

When all distinct names fit in ``max_names`` there is exactly one (diagonal) shard holding all of them.

Why the merge is exact
----------------------
- *Every qualifying pair is found by at least one shard.* Two accounts with the same name are in the diagonal
  shard of that name's block. Two different names are in blocks ``i <= j``: in the diagonal shard of ``i`` if
  ``i == j``, else in the cross shard ``(i, j)`` unless the planner pruned it. The planner prunes ``(i, j)`` only
  when ``max_len(i) < min T(M)`` over the lengths ``M`` of block ``j``, where ``T(M) = M - k(M)`` is the shortest
  length a partner of a name of length ``M`` can have (``k`` from :func:`sockpuppet.engine.budgets`, ``T = inf``
  when ``k(M) < 0``). Blocks follow length order, so in a cross pair the name from ``j`` is the longer (or equal)
  one, of some length ``M``, and the name from ``i`` has a length ``L <= max_len(i) < T(M)``: its distance is at
  least ``M - L > k(M)`` and it cannot pass. Within a shard the search is the engine's, which is exact
  (see :mod:`sockpuppet.engine`); the ``side`` restriction only drops same-side pairs, which other shards cover.
- *No shard needs more than max_names names*: a shard holds one or two blocks of ``max_names // 2`` names (or all
  of them, when they fit in ``max_names``); no shard ever sees the whole ``N x N`` space once there are two blocks.
- *The merge restores the engine's result*: each shard returns pairs of input indices with their rapidfuzz scores
  (the same floats the engine computes, since both score the same two strings with the same call); the merge
  concatenates them, keeps each ``(first, second)`` once (a pair is found by exactly one shard in this layout,
  but the merge does not rely on it) and sorts by ``(first, second)``, which is :func:`itertools.combinations`
  order over the input.

Cost
----
Shards scale with the pairs of blocks whose length ranges can meet: with ``n_L`` names around one length and
blocks of ``B = max_names // 2`` names, a block meets about ``n_L / B + 2`` blocks, so the total shard work is about
``1 + 2 n_L / max_names`` times the single-process engine (the keys and scan cells of each block are recomputed
once per partner block; candidates are verified once, by one shard). Choose ``max_names`` well above the names of
one length to stay near the single-process cost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from sockpuppet.engine import Method, PairArrays, _distinct, _empty, _expand, budgets, distinct_pairs

__all__ = ["merge_shards", "pairs_from_bytes", "pairs_to_bytes", "plan_shards", "search_shard"]

_MAGIC = b"SPPAIRS1"
_VERSION = 1


Layout = tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]
_last_layout: tuple[Sequence[str | None], Layout] | None = None
"""The layout of the last list :func:`search_shard` was given, with that list (a strong reference, so that its
identity cannot be taken by another object): a worker searching several shards of one job in a row computes it once
instead of once per shard (dedupe + sort of every name: seconds at a few hundred thousand names)."""


def _shard_layout(names: Sequence[str | None]) -> Layout:
    """:func:`_layout` of ``names``, reused while the same list object comes back (a job's list never changes)."""
    global _last_layout
    cached = _last_layout
    if cached is not None and cached[0] is names:
        return cached[1]
    layout = _layout(names)
    _last_layout = (names, layout)
    return layout


def _layout(names: Sequence[str | None]) -> Layout:
    """Distinct names, per-input distinct ids, and the distinct ids in (length, id) order."""
    distinct, codes = _distinct(names)
    lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
    return distinct, codes, np.argsort(lengths, kind="stable")


def plan_shards(names: Sequence[str | None], min_similarity: float, *, max_names: int) -> list[dict[str, Any]]:
    """Cut the pair search over ``names`` into shards of at most ``max_names`` distinct names each.

    Parameters
    ----------
    names
        The full list of screen names the job searches (``None`` and ``""`` never pair).
    min_similarity
        Threshold in [0, 1] (strictly greater passes); used to prune block pairs whose lengths cannot meet.
    max_names
        The most distinct names one shard may need (at least 2).

    Returns
    -------
    list of dict
        JSON-serialisable shard specs: ``index``, ``names`` (distinct non-empty names of the whole list, checked
        by :func:`search_shard`), ``ranges`` (one or two ``[start, stop)`` ranges of positions in the length order
        of the distinct names) and ``cross`` (only pairs across the two ranges). Exactly one shard when the
        distinct non-empty names are at most ``max_names``.

    Raises
    ------
    ValueError
        If ``max_names`` is not an integer of at least 2.
    """
    if isinstance(max_names, bool) or not isinstance(max_names, int) or max_names < 2:
        raise ValueError(f"max_names must be an integer >= 2, got {max_names!r}")
    distinct, _, order = _layout(names)
    n = len(distinct)
    if n <= max_names:
        return [{"version": _VERSION, "index": 0, "names": n, "ranges": [[0, n]], "cross": False}]
    size = max_names // 2
    lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=n)[order]
    k = budgets(np.unique(lengths).tolist(), min_similarity)
    shortest = np.where(k >= 0, np.arange(k.size) - k, np.iinfo(np.int64).max)
    starts = np.arange(0, n, size)
    stops = np.minimum(starts + size, n)
    longest = lengths[stops - 1]
    shortest_partner = np.minimum.reduceat(shortest[lengths], starts)
    shards: list[dict[str, Any]] = []
    for i, (start, stop) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
        shards.append({"ranges": [[start, stop]], "cross": False})
        for j in np.flatnonzero(shortest_partner[i + 1 :] <= longest[i]).tolist():
            shards.append({"ranges": [[start, stop], [int(starts[i + 1 + j]), int(stops[i + 1 + j])]], "cross": True})
    return [{"version": _VERSION, "index": index, "names": n, **shard} for index, shard in enumerate(shards)]


def search_shard(
    names: Sequence[str | None],
    min_similarity: float,
    shard: dict[str, Any],
    *,
    deadline: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = -1,
    method: Method = "auto",
) -> PairArrays:
    """Search one shard of a plan made by :func:`plan_shards` over the same ``names``.

    Parameters
    ----------
    names
        The same full list given to :func:`plan_shards`.
    min_similarity
        The same threshold.
    shard
        One spec from the plan (as returned, or after a JSON round trip).
    deadline
        A :func:`time.monotonic` value; past it :class:`~sockpuppet.errors.DeadlineExceeded` is raised.
    progress
        ``progress(done, total)`` over the shard's names.
    workers
        Threads for rapidfuzz (``-1``: all cores).
    method
        The engine's path choice (see :func:`sockpuppet.engine.similar_name_pairs`).

    Returns
    -------
    PairArrays
        The shard's pairs as indices into ``names`` (``first < second``, sorted) with rapidfuzz's scores.

    Raises
    ------
    ValueError
        If the spec is malformed or was planned over a different list of names.

    Notes
    -----
    The layout of ``names`` (distinct names in length order) is kept for the next call with the *same list object*,
    so a worker searching several shards of one list pays for it once; do not change the list in between.
    """
    distinct, codes, order = _shard_layout(names)
    try:
        version, planned, ranges, cross = shard["version"], shard["names"], shard["ranges"], shard["cross"]
        bounds = [(int(start), int(stop)) for start, stop in ranges]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"malformed shard spec: {json.dumps(shard, default=str)[:200]}") from error
    if version != _VERSION or len(bounds) != (2 if cross else 1):
        raise ValueError(f"unsupported shard spec: {json.dumps(shard, default=str)[:200]}")
    if planned != len(distinct) or any(not 0 <= start <= stop <= len(distinct) for start, stop in bounds):
        raise ValueError(f"shard planned over {planned} distinct names, got {len(distinct)}")
    ids = np.concatenate([order[start:stop] for start, stop in bounds])
    if ids.size == 0:
        return _empty()
    side = None
    if cross:
        side = np.zeros(ids.size, dtype=bool)
        side[bounds[0][1] - bounds[0][0] :] = True
    a, b, s = distinct_pairs(
        [distinct[i] for i in ids.tolist()],
        min_similarity,
        side=side,
        deadline=deadline,
        progress=progress,
        workers=workers,
        method=method,
    )
    a, b = np.minimum(ids[a], ids[b]), np.maximum(ids[a], ids[b])
    if not cross and min_similarity < 1.0:
        repeated = ids[np.bincount(codes[codes >= 0], minlength=len(distinct))[ids] > 1]
        a, b, s = np.append(a, repeated), np.append(b, repeated), np.append(s, np.ones(repeated.size))
    sort = np.argsort(a * len(distinct) + b)
    return _expand(codes, a[sort], b[sort], np.asarray(s, np.float64)[sort], deadline)


def merge_shards(results: Iterable[PairArrays], n: int) -> PairArrays:
    """Combine the results of all shards of a plan into the engine's result.

    Parameters
    ----------
    results
        The :class:`~sockpuppet.engine.PairArrays` of every shard, in any order.
    n
        ``len(names)``: the length of the full list the shards searched.

    Returns
    -------
    PairArrays
        Each pair once, in :func:`itertools.combinations` order: equal to
        :func:`sockpuppet.engine.similar_name_pairs` over the same names and threshold.
    """
    parts = list(results)
    if not parts:
        return _empty()
    first = np.concatenate([np.asarray(p.first, np.int64) for p in parts])
    second = np.concatenate([np.asarray(p.second, np.int64) for p in parts])
    score = np.concatenate([np.asarray(p.score, np.float64) for p in parts])
    _, keep = np.unique(first * np.int64(max(n, 1)) + second, return_index=True)
    return PairArrays(first[keep], second[keep], score[keep])


def pairs_to_bytes(pairs: PairArrays) -> bytes:
    """Serialise pairs compactly: a magic, the count, then ``first``, ``second`` (int64) and ``score`` (float64).

    Parameters
    ----------
    pairs
        The pairs.

    Returns
    -------
    bytes
        Little-endian raw arrays behind an 8-byte magic and a uint64 count (24 bytes per pair).
    """
    count = np.asarray(pairs.first).size
    return b"".join(
        (
            _MAGIC,
            np.uint64(count).astype("<u8").tobytes(),
            np.ascontiguousarray(pairs.first, dtype="<i8").tobytes(),
            np.ascontiguousarray(pairs.second, dtype="<i8").tobytes(),
            np.ascontiguousarray(pairs.score, dtype="<f8").tobytes(),
        )
    )


def pairs_from_bytes(data: bytes) -> PairArrays:
    """Read pairs written by :func:`pairs_to_bytes`.

    Parameters
    ----------
    data
        The serialised pairs.

    Returns
    -------
    PairArrays
        The pairs (native-endian copies).

    Raises
    ------
    ValueError
        If ``data`` is not such a serialisation (wrong magic or length).
    """
    header = len(_MAGIC) + 8
    if len(data) < header or data[: len(_MAGIC)] != _MAGIC:
        raise ValueError("not a serialised pair array (bad magic)")
    count = int(np.frombuffer(data, dtype="<u8", count=1, offset=len(_MAGIC))[0])
    if len(data) != header + 24 * count:
        raise ValueError(f"serialised pairs truncated: {len(data)} bytes for {count} pairs")
    first = np.frombuffer(data, dtype="<i8", count=count, offset=header).astype(np.int64)
    second = np.frombuffer(data, dtype="<i8", count=count, offset=header + 8 * count).astype(np.int64)
    score = np.frombuffer(data, dtype="<f8", count=count, offset=header + 16 * count).astype(np.float64)
    return PairArrays(first, second, score)
