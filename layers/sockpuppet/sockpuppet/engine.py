"""Exact pair search over screen names by normalized Damerau-Levenshtein similarity.

The result is exactly the original exercise's loop (every pair with
``DamerauLevenshtein.normalized_similarity(a, b) > t``, in :func:`itertools.combinations` order, rapidfuzz's own
floats), computed without looking at every pair.

Definitions
-----------
rapidfuzz's ``DamerauLevenshtein`` is the *unrestricted* Damerau-Levenshtein distance ``d`` (insertions,
deletions, substitutions and transpositions of adjacent characters, each costing 1, applied in any sequence) over
code points, and ``normalized_similarity = 1 - d / M`` with ``M = max(len(a), len(b))``: a function of ``(d, M)``
alone (rapidfuzz computes ``1.0 - double(d) / double(M)``), non-increasing in ``d``. For a longer length ``M`` the
*budget* ``k(M)`` is the largest ``d`` whose score exceeds ``t``, found with that float formula and then confirmed
at the boundary with rapidfuzz itself on a canonical pair (``"a" * M`` vs ``"a" * (M - d) + "b" * d``, distance
``d``): every pair that can pass has ``d <= k(M)``. Candidates are always checked against rapidfuzz's own score
with the strict ``> t`` test. No normalized ``score_cutoff`` is ever passed to rapidfuzz (it applies its own
epsilon and drops boundary scores: ``"ab"``/``"aba"`` scores 0.6666666666666667 but is cut at
``score_cutoff=0.6666666666666666``); only integer distance cutoffs are.

Why the candidates are a superset of the answer
-----------------------------------------------
1. *Length*: ``d >= |len(a) - len(b)|``, so the shorter string of a passing pair has a length in
   ``[T(M), M]`` with ``T(M) = M - k(M)``.
2. *Shared subsequence*: if ``d(a, b) <= k`` and ``len(a) = M >= len(b)``, then ``a`` and ``b`` have a common
   subsequence of length ``>= M - k``. Proof: take a shortest edit sequence ``a = x0, x1, ..., xd = b`` of single
   operations. One operation lowers ``LCS(a, x)`` by at most one: from a common subsequence of ``a`` and ``x_i``
   (a set of matched positions of ``x_i``), drop the position a deletion or substitution touches, or one of the
   two positions an adjacent transposition swaps (the others keep their order); an insertion drops nothing. So
   ``LCS(a, b) >= LCS(a, a) - d = M - d >= M - k``. rapidfuzz's value is the cost of some edit script, so it is
   never below the length of the shortest sequence and the argument holds for it. A transposition is one deletion
   on each side: this is why the *symmetric* deletion neighbourhood is needed, and why a pigeonhole split of ``a``
   into ``k + 1`` exact segments would not be safe (``"aabb"``/``"abab"`` are one transposition apart and share
   no half).
3. *The filter*: group the lengths ``M`` by ``T = T(M)`` (``T`` never decreases as ``M`` grows). For a group,
   every name of a length ``L`` in ``[T, max M]`` emits a hash of each of its ``C(L, L - T)`` subsequences of
   length ``T`` (all ways to delete ``L - T`` characters). By 1 and 2, both names of a passing pair whose longer
   length is in the group emit the hash of one shared subsequence, so the pair meets in one hash bucket. Every
   pair in a bucket whose longer length belongs to the group is a candidate. Hash collisions only add candidates.
4. *Verification*: candidates are checked with ``DamerauLevenshtein.distance(score_cutoff=k)`` (integer, exact),
   then the survivors are scored with ``normalized_similarity`` itself (no cutoff) and kept when ``> t``.

The subsequence neighbourhood grows like ``C(L, k)`` and short subsequences make crowded buckets, so at low
thresholds or for long names the filter loses. Per group an estimated cost (keys counted exactly, candidate pairs
extrapolated from hashing a sample of the group's names) picks between the filter and the *scan*: the original blocked
:func:`rapidfuzz.process.cdist` baseline restricted, by point 1 alone, to names of length ``M`` against names of
length ``[T(M), M]`` (at ``t = 0`` this is every pair). Both paths are exact; ``method`` forces one of them.

Hashing: a polynomial hash modulo ``2**64`` over code points; the hash of a string with positions
``d_1 < ... < d_D`` deleted is ``P[L] B^-D + sum_i (P[d_i] B^-(i-1) - P[d_i + 1] B^-i)`` from the prefix hashes
``P``, i.e. ``D`` gathers per subsequence. The hash multiplied by ``2**id_bits`` plus the name's index makes one
``uint64`` key, so one :func:`numpy.sort` (split by value over the threads) finds the buckets, and equal keys
(a name emitting the same subsequence twice) collapse.

Memory stays bounded: keys are produced in chunks, a group with too many keys is processed in several passes
over disjoint hash ranges, candidates are verified in batches, and scan blocks are capped in cells.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from sockpuppet.errors import DeadlineExceeded, InputError

__all__ = ["PairArrays", "get_similar_screen_names", "similar_name_pairs"]

Method = Literal["auto", "filter", "scan"]

BLOCK_CELLS = 1 << 22
"""Upper bound on the cells of one scan ``cdist`` block (int32: 16 MiB)."""
CHUNK_KEYS = 1 << 21
"""Subsequence hashes computed per chunk of names."""
PASS_KEYS = 1 << 26
"""Most keys sorted at once (512 MiB); a larger group is split into passes over disjoint hash ranges."""
PAIR_BATCH = 1 << 22
"""Candidate pairs verified per batch."""
PARALLEL_SORT = 1 << 20
"""Key arrays at least this long are split by value and sorted on several threads."""
MAX_COMBINATIONS = 1 << 14
"""The filter is never chosen automatically when a name length has more deletion patterns than this."""
KEY_COST = 1.0
CANDIDATE_COST = 3.0
SCAN_COST = 5.0
"""Relative costs of one subsequence key, one candidate pair and one scanned pair (automatic choice per group),
measured on handle-like names (about 60 ns per key and 300 ns per scanned pair on 2 cores); a heuristic: it only
decides which exact path runs."""
SAMPLE_NAMES = 2000
"""About this many names of a group are hashed to estimate its candidate pairs (bucket-mates, repeats included)."""

_BASE = np.uint64(0x9E3779B97F4A7C15)
_BASE_INV = np.uint64(pow(int(_BASE), -1, 1 << 64))


def _powers(base: np.uint64, count: int) -> npt.NDArray[np.uint64]:
    """``base ** i`` modulo ``2**64`` for ``i`` in ``0..count``."""
    return np.cumprod(np.concatenate(([np.uint64(1)], np.full(count, base, dtype=np.uint64))), dtype=np.uint64)


def _ranges(bits: int) -> list[tuple[int, int]]:
    """The ``2**bits`` equal ranges ``[low, high)`` of ``uint64`` values, in order."""
    step = 1 << (64 - bits)
    return [(index * step, (index + 1) * step) for index in range(1 << bits)]


def _within(keys: npt.NDArray[np.uint64], low: int, high: int) -> npt.NDArray[np.uint64]:
    """The keys in ``[low, high)`` (all of them for the full range)."""
    if low == 0 and high == 1 << 64:
        return keys
    inside = keys >= np.uint64(low)
    if high < 1 << 64:
        inside &= keys < np.uint64(high)
    return keys[inside]


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


def _canonical_score(length: int, distance: int) -> float:
    """rapidfuzz's normalized similarity of a pair with longer length ``length`` at distance ``distance``."""
    return DamerauLevenshtein.normalized_similarity("a" * length, "a" * (length - distance) + "b" * distance)


def budgets(lengths: Iterable[int], min_similarity: float) -> npt.NDArray[np.int64]:
    """Per longer length ``M`` (index), the largest distance that still passes the threshold (-1: none).

    Parameters
    ----------
    lengths
        The longer lengths of interest (positive).
    min_similarity
        The threshold ``t``.

    Returns
    -------
    numpy.ndarray
        ``k[M]`` for ``M`` in ``0..max(lengths)``: the largest ``d <= M`` whose score ``1 - d / M`` (as rapidfuzz
        computes it) is ``> t``; ``-1`` when no ``d`` qualifies and for lengths not asked for.
    """
    wanted = sorted(set(lengths))
    k = np.full((wanted[-1] if wanted else 0) + 1, -1, np.int64)
    for m in wanted:
        passing = np.flatnonzero(1.0 - np.arange(m + 1, dtype=np.float64) / m > min_similarity)
        budget = int(passing[-1]) if passing.size else -1
        while budget < m and _canonical_score(m, budget + 1) > min_similarity:
            budget += 1
        while budget >= 0 and not _canonical_score(m, budget) > min_similarity:
            budget -= 1
        k[m] = budget
    return k


class _Search:
    """State of one pair search over distinct names."""

    def __init__(
        self,
        names: list[str],
        min_similarity: float,
        deadline: float | None,
        progress: Callable[[int, int], None] | None,
        workers: int,
        side: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        self.names = np.empty(len(names), dtype=object)
        self.names[:] = names
        self.n = len(names)
        self.t = min_similarity
        self.deadline = deadline
        self.progress = progress
        self.workers = workers
        self.threads = workers if workers >= 1 else len(os.sched_getaffinity(0))
        self.pool: ThreadPoolExecutor | None = None
        self.lengths = np.fromiter(map(len, names), dtype=np.int64, count=self.n)
        self.k = budgets(np.unique(self.lengths).tolist(), min_similarity)
        order = np.argsort(self.lengths, kind="stable")
        bounds = np.searchsorted(self.lengths[order], np.arange(self.k.size + 1))
        self.by_length = [order[bounds[m] : bounds[m + 1]] for m in range(self.k.size)]
        self.side = side
        if side is None:
            self.side_counts = None
        else:
            self.side_counts = [
                np.concatenate(([0], np.cumsum(np.bincount(self.lengths[side == s], minlength=self.k.size))))
                for s in (False, True)
            ]
        self.id_bits = max(1, (self.n - 1).bit_length())
        self.found: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
        self.done = 0

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded("the pair search did not finish before the deadline")

    def groups(self) -> Iterator[tuple[int, list[int]]]:
        """``(T, [M, ...])``: present longer lengths ``M`` with a budget, grouped by ``T(M) = M - k(M)``."""
        by_t: dict[int, list[int]] = {}
        for m in range(1, self.k.size):
            if self.k[m] >= 0 and self.by_length[m].size:
                by_t.setdefault(m - int(self.k[m]), []).append(m)
        yield from by_t.items()

    def count(self, low: int, high: int) -> int:
        return sum(self.by_length[length].size for length in range(max(low, 1), high + 1))

    def filter_keys(self, t: int, lengths: list[int]) -> int:
        return sum(self.by_length[length].size * math.comb(length, length - t) for length in lengths)

    def scan_pairs(self, t: int, group: list[int]) -> int:
        if self.side_counts is None:
            return sum(self.by_length[m].size * self.count(t, m) for m in group)
        low = max(t, 1)
        left, right = self.side_counts
        return sum(
            int(left[m + 1] - left[m]) * int(right[m + 1] - right[low])
            + int(right[m + 1] - right[m]) * int(left[m + 1] - left[low])
            for m in group
        )

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """``function`` over ``items`` on the search's threads (numpy releases the GIL in the heavy loops)."""
        if self.pool is None:
            return [function(item) for item in items]
        return list(self.pool.map(function, items))

    def run(self, method: Method) -> None:
        if self.threads > 1:
            with ThreadPoolExecutor(self.threads, thread_name_prefix="sockpuppet-engine") as self.pool:
                self.run_groups(method)
            self.pool = None
        else:
            self.run_groups(method)

    def run_groups(self, method: Method) -> None:
        for t, group in self.groups():
            lengths = [length for length in range(max(t, 1), group[-1] + 1) if self.by_length[length].size]
            use_filter = method == "filter" or (method == "auto" and self.filter_is_cheaper(t, group, lengths))
            if use_filter:
                self.filter_group(t, group, lengths)
            else:
                for m in group:
                    self.scan(m)
            self.done += sum(self.by_length[m].size for m in group)
            if self.progress is not None:
                self.progress(self.done, self.n)
        if self.progress is not None:
            self.progress(self.n, self.n)

    def filter_is_cheaper(self, t: int, group: list[int], lengths: list[int]) -> bool:
        """Estimated cost of the filter (keys + candidates, sampled) against the scan, for one group."""
        if max(math.comb(length, length - t) for length in lengths) > MAX_COMBINATIONS:
            return False
        scan = self.scan_pairs(t, group) * SCAN_COST
        keys = self.filter_keys(t, lengths) * KEY_COST
        if keys > scan:
            return False
        names = self.count(t, group[-1])
        stride = max(1, names // SAMPLE_NAMES)
        powers = _powers(_BASE, max(lengths))
        sample = [
            self.hash_chunk(t, patterns, chunk[::stride], powers) for _, patterns, chunk in self.chunks(t, lengths)
        ]
        buckets = np.sort(np.concatenate([np.empty(0, np.uint64), *sample]) >> np.uint64(self.id_bits))
        _, sizes = np.unique(buckets, return_counts=True)
        candidates = float((sizes * (sizes - 1) // 2).sum()) * stride * stride
        return keys + candidates * CANDIDATE_COST <= scan

    # -- verification ------------------------------------------------------------------------------------------

    def verify(self, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> None:
        """Keep the candidate pairs (distinct ids) that pass; scores from rapidfuzz's normalized similarity."""
        for start in range(0, a.size, PAIR_BATCH):
            self.check_deadline()
            first, second = a[start : start + PAIR_BATCH], b[start : start + PAIR_BATCH]
            longer = np.maximum(self.lengths[first], self.lengths[second])
            limit = self.k[longer]
            distance = process.cpdist(
                self.names[first],
                self.names[second],
                scorer=DamerauLevenshtein.distance,
                score_cutoff=int(limit.max()),
                dtype=np.int32,
                workers=self.workers,
            )
            near = distance <= limit
            self.score(first[near], second[near])

    def score(self, first: npt.NDArray[np.int64], second: npt.NDArray[np.int64]) -> None:
        if first.size == 0:
            return
        score = process.cpdist(
            self.names[first],
            self.names[second],
            scorer=DamerauLevenshtein.normalized_similarity,
            dtype=np.float64,
            workers=self.workers,
        )
        keep = score > self.t
        self.found.append((first[keep], second[keep], score[keep]))

    # -- scan path ---------------------------------------------------------------------------------------------

    def scan(self, m: int) -> None:
        """Blocked ``cdist`` of the names of length ``m`` against the names of length ``[T(m), m]``.

        With sides, rows of one side meet only columns of the other (both orientations, so same-length pairs are
        kept once by the ``second > first`` rule as without sides).
        """
        rows = self.by_length[m]
        columns = np.concatenate([self.by_length[length] for length in range(max(m - int(self.k[m]), 1), m + 1)])
        if self.side is None:
            self.scan_block(m, rows, columns)
            return
        for side in (False, True):
            self.scan_block(m, rows[self.side[rows] == side], columns[self.side[columns] != side])

    def scan_block(self, m: int, rows: npt.NDArray[np.int64], columns: npt.NDArray[np.int64]) -> None:
        if rows.size == 0 or columns.size == 0:
            return
        k = int(self.k[m])
        column_names = self.names[columns]
        column_short = self.lengths[columns] < m
        step = max(1, BLOCK_CELLS // max(1, columns.size))
        for start in range(0, rows.size, step):
            self.check_deadline()
            block = rows[start : start + step]
            distance = process.cdist(
                self.names[block],
                column_names,
                scorer=DamerauLevenshtein.distance,
                score_cutoff=k,
                dtype=np.int32,
                workers=self.workers,
            )
            r, c = np.nonzero(distance <= k)
            first, second = block[r], columns[c]
            keep = column_short[c] | (second > first)
            self.score(first[keep], second[keep])

    # -- filter path -------------------------------------------------------------------------------------------

    def filter_group(self, t: int, group: list[int], lengths: list[int]) -> None:
        total = self.filter_keys(t, lengths)
        pass_bits = (max(1, -(-total // PASS_KEYS)) - 1).bit_length()
        longest_in_group = np.zeros(self.k.size, dtype=bool)
        longest_in_group[group] = True
        powers = _powers(_BASE, max(lengths))
        chunks = list(self.chunks(t, lengths))
        if pass_bits == 0:
            keys = np.empty(total, dtype=np.uint64)
            ends = np.cumsum([chunk.size * len(patterns) for _, patterns, chunk in chunks])
            views = [
                keys[end - chunk.size * len(patterns) : end].reshape(chunk.size, len(patterns))
                for end, (_, patterns, chunk) in zip(ends.tolist(), chunks, strict=True)
            ]
            self.map(lambda job: self.hash_chunk(*job[0], powers, job[1]), zip(chunks, views, strict=True))
            del views
            for part in self.sorted_parts(keys):
                self.pairs_from_keys(part, longest_in_group)
            return
        for low, high in _ranges(pass_bits):
            pieces = self.map(lambda c, lo=low, hi=high: _within(self.hash_chunk(*c, powers), lo, hi), chunks)
            keys = np.concatenate([np.empty(0, np.uint64), *pieces])
            del pieces
            for part in self.sorted_parts(keys):
                self.pairs_from_keys(part, longest_in_group)

    def chunks(self, t: int, lengths: list[int]) -> Iterator[tuple[int, npt.NDArray[np.intp], npt.NDArray[np.int64]]]:
        """``(T, deletion patterns, name ids)`` per chunk of names of one length (about ``CHUNK_KEYS`` keys)."""
        for length in lengths:
            ids = self.by_length[length]
            patterns = np.array(list(combinations(range(length), length - t)), dtype=np.intp)
            step = max(1, CHUNK_KEYS // len(patterns))
            for start in range(0, ids.size, step):
                yield t, patterns, ids[start : start + step]

    def hash_chunk(
        self,
        t: int,
        patterns: npt.NDArray[np.intp],
        chunk: npt.NDArray[np.int64],
        powers: npt.NDArray[np.uint64],
        out: npt.NDArray[np.uint64] | None = None,
    ) -> npt.NDArray[np.uint64]:
        """Keys ``hash << id_bits | id`` of every length-``t`` subsequence of some names of one length.

        The prefix hashes are shifted left by ``id_bits`` first, so every term of a subsequence hash has zero low
        bits and adding the id to one term packs it. Returns the keys (written to ``out`` if given), flattened.
        """
        self.check_deadline()
        deletions = patterns.shape[1]
        length = t + deletions
        inverse = _powers(_BASE_INV, deletions)
        codes = np.frombuffer("".join(self.names[chunk]).encode("utf-32-le", "surrogatepass"), dtype="<u4")
        prefix = np.zeros((chunk.size, length + 1), dtype=np.uint64)
        np.cumsum(codes.reshape(chunk.size, length) * powers[:length], axis=1, out=prefix[:, 1:])
        prefix <<= np.uint64(self.id_bits)
        base = (prefix[:, length] * inverse[deletions] + chunk.astype(np.uint64))[:, None]
        hashes = np.empty((chunk.size, len(patterns)), dtype=np.uint64) if out is None else out
        if deletions == 0:
            hashes[:] = base
        for i in range(deletions):
            q = prefix[:, :length] * inverse[i] - prefix[:, 1:] * inverse[i + 1]
            if i == 0:
                q += base
                np.take(q, patterns[:, 0], axis=1, out=hashes, mode="clip")
            else:
                hashes += q[:, patterns[:, i]]
        return hashes.reshape(-1)

    def sorted_parts(self, keys: npt.NDArray[np.uint64]) -> list[npt.NDArray[np.uint64]]:
        """``keys`` sorted, as consecutive value ranges (split by top bits and sorted on the threads)."""
        self.check_deadline()
        if self.threads == 1 or keys.size < PARALLEL_SORT:
            keys.sort()
            return [keys]
        parts = [_within(keys, low, high) for low, high in _ranges((self.threads - 1).bit_length())]
        del keys
        self.map(np.ndarray.sort, parts)
        return parts

    def pairs_from_keys(self, keys: npt.NDArray[np.uint64], longest_in_group: npt.NDArray[np.bool_]) -> None:
        """Candidate pairs of names that share a bucket of sorted keys, then verify them."""
        if keys.size < 2:
            return
        shift = np.uint64(self.id_bits)
        same = np.empty(keys.size - 1, dtype=bool)
        for start in range(0, keys.size - 1, CHUNK_KEYS):
            stop = min(keys.size - 1, start + CHUNK_KEYS)
            np.less(keys[start + 1 : stop + 1] ^ keys[start:stop], np.uint64(1) << shift, out=same[start:stop])
        shared = np.flatnonzero(same)
        del same
        if shared.size == 0:
            return
        member = np.zeros(keys.size, dtype=bool)
        member[shared] = True
        member[shared + 1] = True
        keys = keys[member]
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        buckets = keys >> shift
        ids = (keys & np.uint64((1 << self.id_bits) - 1)).view(np.int64)
        starts = np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1])))
        ends = np.append(starts[1:], keys.size)
        end_of = np.repeat(ends, ends - starts)
        position = np.flatnonzero(end_of - np.arange(keys.size) > 1)
        found_a: list[npt.NDArray[np.int64]] = []
        found_b: list[npt.NDArray[np.int64]] = []
        pending = 0
        offset = 1
        while position.size:
            a, b = ids[position], ids[position + offset]
            first, second = np.minimum(a, b), np.maximum(a, b)
            valid = longest_in_group[np.maximum(self.lengths[first], self.lengths[second])]
            if self.side is not None:
                valid &= self.side[first] != self.side[second]
            found_a.append(first[valid])
            found_b.append(second[valid])
            pending += int(valid.sum())
            if pending >= PAIR_BATCH:
                self.verify_unique(found_a, found_b)
                found_a, found_b, pending = [], [], 0
            offset += 1
            position = position[end_of[position] - position > offset]
        self.verify_unique(found_a, found_b)

    def verify_unique(self, found_a: list[npt.NDArray[np.int64]], found_b: list[npt.NDArray[np.int64]]) -> None:
        if not found_a:
            return
        pair = np.unique(np.concatenate(found_a) * self.n + np.concatenate(found_b))
        self.verify(pair // self.n, pair % self.n)

    def result(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Distinct pairs found (each once), as distinct-name ids ``a < b`` and scores."""
        if not self.found:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        a = np.concatenate([f[0] for f in self.found])
        b = np.concatenate([f[1] for f in self.found])
        s = np.concatenate([f[2] for f in self.found])
        _, first = np.unique(a * self.n + b, return_index=True)
        return a[first], b[first], s[first]


def similar_name_pairs(
    names: Sequence[str | None],
    min_similarity: float,
    *,
    deadline: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = -1,
    method: Method = "auto",
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
        ``progress(done, total)`` called as groups of name lengths complete (``total``: distinct names).
    workers
        Threads for rapidfuzz (``-1``: all cores).
    method
        ``"auto"`` picks per group of lengths by estimated cost; ``"filter"`` (subsequence-hash candidates) and
        ``"scan"`` (length-banded blocked ``cdist``) force one exact path (for tests and benchmarks).

    Returns
    -------
    PairArrays
        Indices into ``names`` with ``first < second``, in :func:`itertools.combinations` order, and the scores,
        bit-identical to :func:`rapidfuzz.distance.DamerauLevenshtein.normalized_similarity`.
    """
    if method not in ("auto", "filter", "scan"):
        raise ValueError(f"method must be 'auto', 'filter' or 'scan', got {method!r}")
    distinct, codes = _distinct(names)
    if not distinct:
        return _empty()
    a, b, s = distinct_pairs(
        distinct, min_similarity, deadline=deadline, progress=progress, workers=workers, method=method
    )
    if min_similarity < 1.0:
        n = len(distinct)
        a, b, s = np.append(a, np.arange(n)), np.append(b, np.arange(n)), np.append(s, np.ones(n))
    return _expand(codes, a, b, s)


def distinct_pairs(
    names: list[str],
    min_similarity: float,
    *,
    side: npt.NDArray[np.bool_] | None = None,
    deadline: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = -1,
    method: Method = "auto",
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The passing pairs of *distinct*, non-empty names (the search behind :func:`similar_name_pairs`).

    Parameters
    ----------
    names
        Distinct non-empty names.
    min_similarity
        Threshold in [0, 1] (strictly greater passes).
    side
        Optional boolean per name: when given, only pairs of names on different sides are searched (the
        cross search of one shard of :mod:`sockpuppet.shards`).
    deadline, progress, workers, method
        As for :func:`similar_name_pairs` (``progress`` counts these names).

    Returns
    -------
    tuple of numpy.ndarray
        ``(a, b, score)``: name indices ``a < b`` (each pair once, in no particular order) and rapidfuzz's scores.
        A name never pairs with itself here.
    """
    if method not in ("auto", "filter", "scan"):
        raise ValueError(f"method must be 'auto', 'filter' or 'scan', got {method!r}")
    search = _Search(names, min_similarity, deadline, progress, workers, side)
    search.check_deadline()
    search.run(method)
    return search.result()


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
