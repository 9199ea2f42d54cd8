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
4. *Verification*: candidates are scored with ``normalized_similarity`` itself (no cutoff) and kept when ``> t``
   (one rapidfuzz call per candidate: a cutoff does not make rapidfuzz's Damerau-Levenshtein cheaper).

The subsequence neighbourhood grows like ``C(L, k)`` and short subsequences make crowded buckets, so at low
thresholds or for long names the filter loses. Per group an estimated cost (keys counted exactly, candidate pairs
extrapolated from hashing a sample of the group's names) picks between the filter and the *scan*: blocked
:func:`rapidfuzz.process.cdist` scoring restricted, by point 1 alone, to names of length ``M`` against the earlier
names (in length order) of length ``[T(M), M]``, each pair once (diagonal blocks as one triangle of a list with
itself; at ``t = 0`` this is every pair). Both paths are exact; ``method`` forces one of them. Small inputs skip the
bookkeeping and score every pair in input order, so the pairs come out sorted: up to ``SMALL_PAIRS`` pairs in one
single-thread ``cdist`` of the names with themselves (the naive baseline), and up to ``SMALL_NAMES`` names at low
thresholds (where the search would score nearly every pair too) in bands of rows checked against the deadline.
When enough pairs differ in length by more than the longest name's budget ``k``, these calls compute integer
distances with ``score_cutoff=k`` (rapidfuzz answers those pairs from the lengths alone) and the score
``1.0 - d / M`` in float64, the operations rapidfuzz performs, bit for bit. At thresholds above about 0.5 the one
call first bounds every pair by its Indel distance (bit-parallel, ~20x cheaper): every Damerau-Levenshtein
operation is at most two insertions or deletions, so ``Indel <= 2 * DL``, and a pair with ``Indel > 2k`` cannot
pass; only the others are scored (``cpdist``), when they are few.

Hashing: a polynomial hash modulo ``2**64`` over code points; the hash of a string with positions
``d_1 < ... < d_D`` deleted is ``P[L] B^-D + sum_i (P[d_i] B^-(i-1) - P[d_i + 1] B^-i)`` from the prefix hashes
``P``. The deletion sets are enumerated one deletion at a time in lexicographic order, so every set of ``i``
deletions extends over a contiguous range of next positions: one broadcast addition per set, written in place,
about one memory write per key (no gathers). The hash multiplied by ``2**id_bits`` plus the name's index makes one
``uint64`` key, so one :func:`numpy.sort` (split by rank over the threads, the cuts then moved to bucket starts so
each thread scans whole buckets for candidates) finds the buckets, and equal keys (a name emitting the same
subsequence twice) collapse.

Memory and time between deadline checks stay bounded: keys are produced in chunks of about ``CHUNK_KEYS`` (the
deadline checked per chunk), a group with more than ``PASS_KEYS`` keys is processed in several passes, split by
the *first character of the subsequence* (a function of the subsequence, so a pair meets in the pass of a shared
subsequence; only the deletion sets whose first kept character is in the pass are hashed, so each key is computed
once; one character heavier than a pass is split further by hash range), candidates are verified in slices and
scan blocks are capped by *work* (cells times the product of the name lengths, ``BLOCK_WORK``: rapidfuzz's
Damerau-Levenshtein is quadratic in the lengths), and the result is expanded to input indices in steps. Peak
memory is thus the names, one pass of keys and the output, whatever the total number of keys. Thread pools are
module-level, created on first use and reused.

Sharding for jobs (:mod:`sockpuppet.shards`) runs this search on one or two blocks of names with ``side``: then only
pairs with one name on each side are generated.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate, combinations, pairwise
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, Indel

from sockpuppet.errors import DeadlineExceeded, InputError

__all__ = ["PairArrays", "get_similar_screen_names", "similar_name_pairs"]

Method = Literal["auto", "filter", "scan"]

BLOCK_CELLS = 1 << 20
"""Upper bound on the cells of one scan ``cdist`` block (float64: 8 MiB)."""
BLOCK_WORK = 1 << 24
"""Upper bound on the work of one ``cdist`` block or verification slice, in character pairs (cells times the
product of the two name lengths: rapidfuzz's Damerau-Levenshtein is quadratic in the lengths). About 0.1-0.2 s on
one core: the deadline is checked between blocks, so this bounds the overshoot in time, whatever the lengths."""
PARALLEL_WORK = 1 << 18
"""Below this work (character pairs) a rapidfuzz call runs on the calling thread (``workers=1``)."""
CHUNK_KEYS = 1 << 21
"""Subsequence hashes computed per chunk of names."""
PASS_KEYS = 1 << 25
"""Most keys sorted at once (256 MiB, about a second of sorting on 2 busy cores: the deadline is checked between
passes); a larger group is split into passes over disjoint hash ranges."""
PAIR_BATCH = 1 << 20
"""Candidate pairs collected before they are verified (in slices of at most ``BLOCK_WORK``)."""
PARALLEL_SORT = 1 << 20
"""Key arrays at least this long are split by value and sorted on several threads."""
EXPAND_PAIRS = 1 << 20
"""Output pairs expanded per step (the deadline is checked between steps)."""
SMALL_PAIRS = 1 << 14
"""Up to this many pairs of distinct names (and ``BLOCK_WORK``), all of them are scored at once on the calling
thread: below this size the bookkeeping of the search costs more than it saves."""
SMALL_NAMES = 1 << 11
"""Up to this many distinct names, low thresholds score every pair in bands of rows in input order (see
:func:`_direct`)."""
SMALL_SKIP = 8
"""The small path computes integer distances with a cutoff when at least one pair in this many is left out by the
lengths alone (below that the extra array operations cost more than the pairs they skip)."""
SMALL_BOUNDED_PAIRS = 1 << 17
"""Up to this many pairs (and ``BLOCK_WORK``), a threshold whose Indel bound ``2k`` is below the longest name also
takes the one-call path: the bound leaves few pairs to score (300 names at 0.5: one in twenty)."""
SMALL_NEAR = 2
"""The one-call small path scores only the pairs within the Indel bound when at most one pair in this many is."""
SMALL_SCAN = 1 << 11
"""A group whose scan computes at most this many cells is scanned without estimating the filter's cost."""
MAX_COMBINATIONS = 1 << 14
"""The filter is never chosen automatically when a name length has more deletion patterns than this."""
KEY_COST = 1.0
CANDIDATE_COST = 7.0
SCAN_COST = 12.0
"""Relative costs of one subsequence key, one candidate pair and one scanned pair (automatic choice per group),
measured on handle-like names (about 25 ns per key hashed, sorted and scanned for buckets, 170 ns per bucket-mate
and 300 ns per scanned pair, single thread); a heuristic: it only decides which exact path runs. On 20k names at
0.4 these values took a fifth of the CPU time of the previous ones (5, 3, 1: keys cost 60 ns then)."""
SAMPLE_NAMES = 2000
"""About this many names of a group are hashed to estimate its candidate pairs (bucket-mates, repeats included)."""

_BASE = np.uint64(0x9E3779B97F4A7C15)
_BASE_INV = np.uint64(pow(int(_BASE), -1, 1 << 64))


def cpu_count() -> int:
    """CPUs this process may run on (``os.sched_getaffinity`` where it exists, e.g. Linux; else ``os.cpu_count``)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """The module's thread pool of ``threads`` threads, created on first use and reused by every search."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="sockpuppet-engine")
        return _POOLS[threads]


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


def _sorted_unique(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The distinct values, sorted (:func:`numpy.sort` and a mask: numpy's own ``unique`` hashes integers, which is
    many times slower on large arrays)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values


class PairArrays(NamedTuple):
    """Pairs as parallel arrays: indices into the names (``first < second``) and their similarity."""

    first: npt.NDArray[np.int64]
    second: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]


def _empty() -> PairArrays:
    return PairArrays(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))


def _distinct(names: Sequence[str | None]) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Distinct non-empty names (first-seen order) and, per input index, its distinct-name id (-1 if empty)."""
    if all(names) and len(set(names)) == len(names):
        return list(names), np.arange(len(names), dtype=np.int64)
    ids: dict[str, int] = {}
    codes = np.fromiter(
        (ids.setdefault(name, len(ids)) if name else -1 for name in names), dtype=np.int64, count=len(names)
    )
    return list(ids), codes


def _slices(weights: npt.NDArray[np.int64], budget: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` slices of ``weights`` of about ``budget`` total weight each (at least one item)."""
    if weights.size == 0:
        return []
    cumulative = np.cumsum(weights)
    targets = np.arange(1, int(cumulative[-1]) // budget + 2, dtype=np.int64) * budget
    ends = np.unique(np.clip(np.searchsorted(cumulative, targets, side="right"), 1, weights.size)).tolist()
    if ends[-1] != weights.size:
        ends.append(weights.size)
    return list(zip([0, *ends[:-1]], ends, strict=True))


def _expand(
    codes: npt.NDArray[np.int64],
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    s: npt.NDArray[Any],
    deadline: float | None = None,
) -> PairArrays:
    """Turn pairs of distinct names (plus self-pairs ``a == b``) into sorted pairs of input indices.

    Output pairs are generated in steps of ``EXPAND_PAIRS`` (a name shared by many accounts is split across
    steps too), sorted as one ``int64`` key, then scored by looking their names' pair up, ``deadline`` checked
    between steps.
    """

    def check() -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("building the pairs did not finish before the deadline")

    valid = np.flatnonzero(codes >= 0)
    order = valid[np.argsort(codes[valid], kind="stable")]
    starts = np.searchsorted(codes[order], np.arange(int(codes.max(initial=-1)) + 1))
    counts = np.diff(np.append(starts, order.size))
    reps = counts[a] * counts[b]
    distinct = max(1, counts.size)
    key = a * distinct + b
    if np.all(reps == 1) and np.all(a < b) and np.all(key[1:] > key[:-1]):
        # every name once, pairs sorted: distinct ids number names in first-seen order, so the input indices keep
        # both the orientation and the order
        return PairArrays(order[starts[a]], order[starts[b]], np.asarray(s, np.float64))
    shift = np.int64(max(1, codes.size - 1).bit_length())  # key = first << shift | second: no division to undo
    mask = np.int64((1 << int(shift)) - 1)
    ends = np.cumsum(reps)
    total = int(ends[-1]) if ends.size else 0
    keys: list[npt.NDArray[np.int64]] = []
    for begin in range(0, total, EXPAND_PAIRS):
        check()
        position = np.arange(begin, min(total, begin + EXPAND_PAIRS), dtype=np.int64)
        pair_of = np.searchsorted(ends, position, side="right")
        offset = position - (ends[pair_of] - reps[pair_of])
        pa, pb = a[pair_of], b[pair_of]
        row, column = np.divmod(offset, counts[pb])
        left = order[starts[pa] + row]
        right = order[starts[pb] + column]
        keep = (left < right) | ((left > right) & (pa != pb))
        keys.append(np.sort((np.minimum(left, right)[keep] << shift) | np.maximum(left, right)[keep]))
    if not keys:
        return _empty()
    check()
    found = np.sort(np.concatenate(keys), kind="stable")  # a merge of the sorted steps
    del keys
    lookup = np.minimum(a, b) * distinct + np.maximum(a, b)
    sort = np.argsort(lookup)
    lookup, scores = lookup[sort], np.asarray(s, np.float64)[sort]
    first = np.empty(found.size, np.int64)
    second = np.empty(found.size, np.int64)
    score = np.empty(found.size, np.float64)
    for begin in range(0, found.size, EXPAND_PAIRS):
        check()
        step = found[begin : begin + EXPAND_PAIRS]
        left, right = step >> shift, step & mask
        first[begin : begin + step.size], second[begin : begin + step.size] = left, right
        ca, cb = codes[left], codes[right]
        score[begin : begin + step.size] = scores[
            np.searchsorted(lookup, np.minimum(ca, cb) * distinct + np.maximum(ca, cb))
        ]
    return PairArrays(first, second, score)


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
        k[m] = _budget(m, float(min_similarity))
    return k


@functools.lru_cache(maxsize=1 << 10)
def _extensions(length: int, deletions: int, last: int, done: int) -> tuple[tuple[tuple[int, int, int], ...], ...]:
    """How sets of ``deletions`` positions out of ``length`` grow one deletion at a time, in lexicographic order,
    from one set of ``done`` deletions whose last is at ``last`` (``-1``, ``0``: from the empty set).

    Step ``i`` (from ``i`` to ``i + 1`` deletions) lists, per set of ``i`` deletions that can still grow (in order),
    ``(low, high, end)``: the next deletion takes the positions ``[low, high)`` and those sets end at row ``end`` of
    the next level.
    """
    lasts = [last]
    steps = []
    for i in range(done, deletions):
        high = length - deletions + i + 1
        step = tuple(accumulate(((low + 1, high, high - low - 1) for low in lasts), _row_end))
        steps.append(step)
        if i + 1 < deletions:
            lasts = [position for low, high, _ in step for position in range(low, high)]
    return tuple(steps)


def _extend(
    prefix: npt.NDArray[np.uint64],
    level: npt.NDArray[np.uint64],
    inverse: npt.NDArray[np.uint64],
    last: int,
    done: int,
    out: npt.NDArray[np.uint64],
    check: Callable[[], None],
) -> None:
    """Subsequence hashes of some names (columns) from one row ``level`` of partial hashes with ``done`` deletions
    made, the last one at ``last``: every set of the remaining ``inverse.size - 1 - done`` deletions after ``last``
    (:func:`_extensions` order), one row each, written to ``out``. ``prefix`` holds the names' shifted prefix
    hashes (one row per position), ``inverse`` the powers ``B^-i``; ``check`` runs before each deletion step (the
    deadline: long names with many deletions make many steps)."""
    length, deletions = prefix.shape[0] - 1, inverse.size - 1
    level_rows = level
    for i, step in enumerate(_extensions(length, deletions, last, done), start=done):
        check()
        term = prefix[:length] * inverse[i] - prefix[1:] * inverse[i + 1]
        target = out if i + 1 == deletions else np.empty((step[-1][2], level.shape[1]), dtype=np.uint64)
        for value, (low, high, end) in zip(level_rows, step, strict=True):
            np.add(term[low:high], value, out=target[end - high + low : end])
        level_rows = target
    if done == deletions:
        out[:] = level


def _member(chars: npt.NDArray[np.bool_], codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """Per code point: is it one of ``chars`` (a table by code point; code points past its end are not)."""
    inside = codes < chars.size
    return inside & chars[np.where(inside, codes, 0)]


def _row_end(previous: tuple[int, int, int], current: tuple[int, int, int]) -> tuple[int, int, int]:
    return current[0], current[1], previous[2] + current[2]


@functools.lru_cache(maxsize=1 << 14)
def _budget(m: int, min_similarity: float) -> int:
    """``k(m)`` of :func:`budgets` for one length (cached: small searches repeat the same lengths)."""
    passing = np.flatnonzero(1.0 - np.arange(m + 1, dtype=np.float64) / m > min_similarity)
    budget = int(passing[-1]) if passing.size else -1
    while budget < m and _canonical_score(m, budget + 1) > min_similarity:
        budget += 1
    while budget >= 0 and not _canonical_score(m, budget) > min_similarity:
        budget -= 1
    return budget


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
        self.n = len(names)
        self.t = min_similarity
        self.deadline = deadline
        self.progress = progress
        self.workers = workers
        self.threads = workers if workers >= 1 else cpu_count()
        self.side = side
        self.lengths = np.fromiter(map(len, names), dtype=np.int64, count=self.n)
        self.k = budgets(np.unique(self.lengths).tolist(), min_similarity)
        self.order = np.argsort(self.lengths, kind="stable")
        self.bounds = np.searchsorted(self.lengths[self.order], np.arange(self.k.size + 1))
        self.by_length = [self.order[self.bounds[m] : self.bounds[m + 1]] for m in range(self.k.size)]
        self.names = np.empty(self.n, dtype=object)
        self.names[:] = names
        self.sorted_names = self.names[self.order]
        self.id_bits = max(1, (self.n - 1).bit_length())
        shortest = np.where(self.k >= 0, np.arange(self.k.size) - self.k, self.k.size)
        self.shortest = shortest[self.lengths[self.order]]
        """Per position in length order: the shortest partner length ``T`` (``k.size``: no partner)."""
        if side is None:
            self.side_counts = None
        else:
            self.sorted_side = side[self.order]
            self.side_counts = [
                np.concatenate(([0], np.cumsum(np.bincount(self.lengths[side == s], minlength=self.k.size))))
                for s in (False, True)
            ]
        self.code_rows: dict[int, npt.NDArray[np.uint32]] = {}
        self.found: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
        self.done = 0

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded("the pair search did not finish before the deadline")

    def rapidfuzz_workers(self, work: int) -> int:
        """rapidfuzz's ``workers`` for a call of ``work`` character pairs (the calling thread for small calls)."""
        return 1 if work < PARALLEL_WORK else self.workers

    def groups(self) -> Iterator[tuple[int, list[int]]]:
        """``(T, [M, ...])``: present longer lengths ``M`` with a budget, grouped by ``T(M) = M - k(M)``."""
        by_t: dict[int, list[int]] = {}
        for m in range(1, self.k.size):
            if self.k[m] >= 0 and self.by_length[m].size:
                by_t.setdefault(m - int(self.k[m]), []).append(m)
        yield from by_t.items()

    def count(self, low: int, high: int) -> int:
        return int(self.bounds[high + 1] - self.bounds[max(low, 1)]) if high >= max(low, 1) else 0

    def filter_keys(self, t: int, lengths: list[int]) -> int:
        return sum(self.by_length[length].size * math.comb(length, length - t) for length in lengths)

    def scan_pairs(self, t: int, group: list[int]) -> int:
        """Cells the scan computes for a group (pairs of a shorter name with a longer one, half the same-length)."""
        if self.side_counts is None:
            return sum(
                self.by_length[m].size * (self.count(t, m - 1) + (self.by_length[m].size + 1) // 2) for m in group
            )
        low = max(t, 1)
        left, right = self.side_counts
        return sum(
            int(left[m + 1] - left[m]) * int(right[m + 1] - right[low])
            + int(right[m + 1] - right[m]) * int(left[m + 1] - left[low])
            for m in group
        )

    def map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """``function`` over ``items``, on the module's threads when there are several (numpy releases the GIL)."""
        items = list(items)
        if self.threads == 1 or len(items) < 2:
            return [function(item) for item in items]
        return list(_pool(self.threads).map(function, items))

    def run(self, method: Method) -> None:
        self.run_groups(method)
        if self.progress is not None:
            self.progress(self.n, self.n)

    def run_groups(self, method: Method) -> None:
        """Each group by the filter or the scan; consecutive scanned lengths are scanned as one range of rows."""
        pending = [0, 0, 0]  # scan rows [start, stop) not yet scanned, and their names
        for t, group in self.groups():
            lengths = [length for length in range(max(t, 1), group[-1] + 1) if self.by_length[length].size]
            use_filter = method == "filter" or (method == "auto" and self.filter_is_cheaper(t, group, lengths))
            size = sum(self.by_length[m].size for m in group)
            if use_filter:
                self.filter_group(t, group, lengths)
                self.report(size)
                continue
            for m in group:
                start, stop = int(self.bounds[m]), int(self.bounds[m + 1])
                if start != pending[1]:
                    self.flush_scan(pending)
                    pending[0] = start
                pending[1] = stop
            pending[2] += size
        self.flush_scan(pending)

    def flush_scan(self, pending: list[int]) -> None:
        self.scan_rows(pending[0], pending[1])
        self.report(pending[2])
        pending[:] = [pending[1], pending[1], 0]

    def report(self, names: int) -> None:
        self.done += names
        if self.progress is not None and names:
            self.progress(self.done, self.n)

    def filter_is_cheaper(self, t: int, group: list[int], lengths: list[int]) -> bool:
        """Estimated cost of the filter (keys + candidates, sampled) against the scan, for one group."""
        if max(math.comb(length, length - t) for length in lengths) > MAX_COMBINATIONS:
            return False
        scan = self.scan_pairs(t, group) * SCAN_COST
        keys = self.filter_keys(t, lengths) * KEY_COST
        if keys > scan or scan <= SMALL_SCAN * SCAN_COST:
            return False
        names = self.count(t, group[-1])
        stride = max(1, names // SAMPLE_NAMES)
        powers = _powers(_BASE, max(lengths))
        sample = [self.hash_chunk(t, *chunk, powers) for chunk in self.chunks(t, lengths, stride)]
        buckets = np.sort(np.concatenate([np.empty(0, np.uint64), *sample]) >> np.uint64(self.id_bits))
        sizes = np.diff(np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1], [True]))))
        candidates = float((sizes * (sizes - 1) // 2).sum()) * stride * stride
        return keys + candidates * CANDIDATE_COST <= scan

    # -- verification ------------------------------------------------------------------------------------------

    def verify(self, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> None:
        """Keep the candidate pairs (distinct ids ``a < b``) that pass, scored by rapidfuzz's normalized similarity.

        The budgets are exact (``score > t`` iff ``distance <= k(M)``), so scoring each candidate once is both the
        test and the score. Slices of about ``BLOCK_WORK`` character pairs, the deadline checked before each.
        """
        work = self.lengths[a] * self.lengths[b]
        for start, end in _slices(work, BLOCK_WORK):
            self.check_deadline()
            first, second = a[start:end], b[start:end]
            score = process.cpdist(
                self.names[first],
                self.names[second],
                scorer=DamerauLevenshtein.normalized_similarity,
                dtype=np.float64,
                workers=self.rapidfuzz_workers(int(work[start:end].sum())),
            )
            keep = score > self.t
            self.found.append((first[keep], second[keep], score[keep]))

    # -- scan path ---------------------------------------------------------------------------------------------

    def scan_rows(self, start: int, stop: int) -> None:
        """Every pair of a name at a position in ``[start, stop)`` of the length order with an earlier name whose
        length can meet its budget, scored with ``cdist`` in blocks of bounded work.

        A pair is taken at the later of its two positions (the longer name, or the later of two of one length);
        its partner lies in ``[lo, position)`` with ``lo`` the first position of length ``min T`` over the block.
        With sides, rows of one side meet only columns of the other.
        """
        if stop <= start:
            return
        if self.side is None:
            self.scan_positions(np.arange(start, stop), None)
            return
        rows = np.arange(start, stop)
        for side in (False, True):
            self.scan_positions(rows[self.sorted_side[start:stop] == side], np.flatnonzero(self.sorted_side != side))

    def scan_positions(self, rows: npt.NDArray[np.int64], columns: npt.NDArray[np.int64] | None) -> None:
        """Scan ``rows`` (positions, ascending) against earlier ``columns`` (positions; ``None``: all positions)."""
        longest = int(self.lengths[self.order[rows[-1]]]) if rows.size else 0
        work = max(1, longest * longest)
        cells = max(1, min(BLOCK_WORK // work, BLOCK_CELLS))
        index = 0
        while index < rows.size:
            low_length = int(self.shortest[rows[index]])
            if low_length > longest:
                index += 1
                continue
            lo = int(self.bounds[max(low_length, 1)])
            if columns is None:
                span = int(rows[index]) - lo
            else:
                span = int(np.searchsorted(columns, rows[index]) - np.searchsorted(columns, lo))
            # rows x (span + rows) cells at most: the block grows while that stays within the budget
            size = max(1, int((math.isqrt(span * span + 4 * cells) - span) // 2))
            block = rows[index : index + size]
            index += block.size
            low_length = int(self.shortest[block].min())
            if low_length > longest:
                continue
            lo = int(self.bounds[max(low_length, 1)])
            if columns is None:
                self.scan_block(block, np.arange(lo, min(int(block[0]), int(block[-1]))), work)
                self.scan_square(block, work)
            else:
                self.scan_block(
                    block, columns[np.searchsorted(columns, lo) : np.searchsorted(columns, block[-1])], work
                )

    def scan_block(self, rows: npt.NDArray[np.int64], columns: npt.NDArray[np.int64], work: int) -> None:
        """``cdist`` of some rows against columns (both positions), keeping column < row, in column chunks."""
        if columns.size == 0 or rows.size == 0:
            return
        step = max(1, min(BLOCK_WORK // work, BLOCK_CELLS) // rows.size)
        row_names = self.sorted_names[rows]
        for begin in range(0, columns.size, step):
            self.check_deadline()
            chunk = columns[begin : begin + step]
            score = process.cdist(
                row_names,
                self.sorted_names[chunk],
                scorer=DamerauLevenshtein.normalized_similarity,
                dtype=np.float64,
                workers=self.rapidfuzz_workers(rows.size * chunk.size * work),
            )
            r, c = np.nonzero(score > self.t)
            keep = chunk[c] < rows[r]
            self.keep(rows[r[keep]], chunk[c[keep]], score[r[keep], c[keep]])

    def scan_square(self, rows: npt.NDArray[np.int64], work: int) -> None:
        """The pairs within one block of consecutive positions (rapidfuzz scores one triangle of a list with itself)."""
        if rows.size < 2:
            return
        self.check_deadline()
        block = self.sorted_names[rows[0] : rows[-1] + 1]
        score = process.cdist(
            block,
            block,
            scorer=DamerauLevenshtein.normalized_similarity,
            dtype=np.float64,
            workers=self.rapidfuzz_workers(rows.size * rows.size * work // 2),
        )
        r, c = np.nonzero(score > self.t)
        keep = c < r
        self.keep(rows[r[keep]], rows[c[keep]], score[r[keep], c[keep]])

    def keep(self, rows: npt.NDArray[np.int64], columns: npt.NDArray[np.int64], score: npt.NDArray[np.float64]) -> None:
        """Record passing pairs given as positions in the length order."""
        left, right = self.order[rows], self.order[columns]
        self.found.append((np.minimum(left, right), np.maximum(left, right), score))

    # -- filter path -------------------------------------------------------------------------------------------

    def filter_group(self, t: int, group: list[int], lengths: list[int]) -> None:
        """Candidates of one group from shared subsequence hashes, verified.

        A group of at most ``PASS_KEYS`` keys is one pass. A larger group is split by the first character of the
        subsequence (a function of the subsequence, so both names of a pair meet in the same pass): the characters
        are packed into passes of about ``PASS_KEYS`` keys each by weight, and only the deletion sets whose first
        kept character belongs to the pass are hashed, so every key is computed once. A single character with more
        keys than that is split further by hash range (its keys then hashed once per range).
        """
        total = self.filter_keys(t, lengths)
        longest_in_group = np.zeros(self.k.size, dtype=bool)
        longest_in_group[group] = True
        powers = _powers(_BASE, max(lengths))
        if total <= PASS_KEYS:
            self.filter_pass(t, lengths, powers, longest_in_group, None, None)
            return
        for chars, weight in self.first_characters(t, lengths, total):
            bits = (max(1, -(-weight // PASS_KEYS)) - 1).bit_length()
            for bounds in [None] if bits == 0 else _ranges(bits):
                self.filter_pass(t, lengths, powers, longest_in_group, chars, bounds)

    def filter_pass(
        self,
        t: int,
        lengths: list[int],
        powers: npt.NDArray[np.uint64],
        longest_in_group: npt.NDArray[np.bool_],
        chars: npt.NDArray[np.bool_] | None,
        bounds: tuple[int, int] | None,
    ) -> None:
        """Hash the keys of one pass (subsequences starting with one of ``chars``, all of them for ``None``; keys in
        ``bounds`` if given), sort them and verify the pairs that share a bucket."""
        chunks = list(self.chunks(t, lengths))
        if bounds is None:
            sizes = [self.chunk_keys(t, length, codes, chars) for length, _, codes in chunks]
            keys = np.empty(sum(sizes), dtype=np.uint64)
            views = [keys[end - size : end] for end, size in zip(accumulate(sizes), sizes, strict=True)]  # consecutive
            self.map(lambda job: self.hash_chunk(t, *job[0], powers, chars, job[1]), zip(chunks, views, strict=True))
            del views
        else:
            low, high = bounds
            pieces = self.map(lambda c: _within(self.hash_chunk(t, *c, powers, chars), low, high), chunks)
            keys = np.concatenate([np.empty(0, np.uint64), *pieces])
            del pieces
        self.pairs_from_keys(keys, longest_in_group)

    def codes(self, length: int) -> npt.NDArray[np.uint32]:
        """The code points of the names of one length, one row per name in ``by_length`` order (cached)."""
        if length not in self.code_rows:
            text = "".join(self.names[self.by_length[length]]).encode("utf-32-le", "surrogatepass")
            self.code_rows[length] = np.frombuffer(text, dtype="<u4").reshape(-1, length)
        return self.code_rows[length]

    def first_characters(self, t: int, lengths: list[int], total: int) -> list[tuple[npt.NDArray[np.bool_], int]]:
        """The passes of a large group: sets of first characters of subsequences with about ``PASS_KEYS`` keys
        each (heaviest characters first, each into the lightest pass), as tables by code point, and their numbers
        of keys.

        A subsequence of a name ``a`` of length ``L`` with ``D = L - T`` deletions starts with ``a[f]`` exactly when
        positions ``0..f-1`` are deleted and ``f`` is kept: ``C(L - 1 - f, D - f)`` deletion sets, ``f <= D``.
        """
        size = max(int(self.codes(length).max(initial=0)) for length in lengths) + 1
        weight = np.zeros(size, np.int64)
        for length in lengths:
            codes, deletions = self.codes(length), length - t
            for first in range(deletions + 1):
                count = math.comb(length - 1 - first, deletions - first)
                weight += np.bincount(codes[:, first], minlength=size) * count
        chars = np.flatnonzero(weight)
        weight = weight[chars]
        passes: list[tuple[int, int, list[int]]] = [(0, index, []) for index in range(-(-total // PASS_KEYS))]
        alone: list[tuple[list[int], int]] = []
        for index in np.argsort(-weight, kind="stable").tolist():
            if weight[index] >= PASS_KEYS:
                alone.append(([int(chars[index])], int(weight[index])))
                continue
            keys, number, members = heapq.heappop(passes)
            members.append(int(chars[index]))
            heapq.heappush(passes, (keys + int(weight[index]), number, members))
        tables = []
        for members, keys in alone + [(members, keys) for keys, _, members in sorted(passes) if members]:
            table = np.zeros(size, dtype=bool)
            table[members] = True
            tables.append((table, keys))
        return tables

    def chunk_keys(
        self, t: int, length: int, codes: npt.NDArray[np.uint32], chars: npt.NDArray[np.bool_] | None
    ) -> int:
        """Keys of a chunk of names of one length in a pass (:meth:`hash_chunk`)."""
        deletions = length - t
        if chars is None:
            return codes.shape[0] * math.comb(length, deletions)
        return sum(
            int(np.count_nonzero(_member(chars, codes[:, first]))) * math.comb(length - 1 - first, deletions - first)
            for first in range(deletions + 1)
        )

    def chunks(
        self, t: int, lengths: list[int], stride: int = 1
    ) -> Iterator[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.uint32]]]:
        """``(length, name ids, their code points)`` per chunk of names of one length (about ``CHUNK_KEYS`` keys
        each), every ``stride``-th name of each length."""
        for length in lengths:
            ids, codes = self.by_length[length][::stride], self.codes(length)[::stride]
            step = max(1, CHUNK_KEYS // math.comb(length, length - t))
            for start in range(0, ids.size, step):
                yield length, ids[start : start + step], codes[start : start + step]

    def hash_chunk(
        self,
        t: int,
        length: int,
        ids: npt.NDArray[np.int64],
        codes: npt.NDArray[np.uint32],
        powers: npt.NDArray[np.uint64],
        chars: npt.NDArray[np.bool_] | None = None,
        out: npt.NDArray[np.uint64] | None = None,
    ) -> npt.NDArray[np.uint64]:
        """Keys ``hash << id_bits | id`` of the length-``t`` subsequences of some names of one length (with
        ``chars``: those whose first character is one of them).

        The prefix hashes ``P`` are shifted left by ``id_bits`` first, so every term of a subsequence hash has zero
        low bits and adding the id to one term packs it. With ``D = length - t`` deletions at ``d_1 < ... < d_D``
        the hash is ``base + sum_i g_i[d_i]`` with ``g_i[p] = P[p] B^-(i-1) - P[p + 1] B^-i``: the deletion sets
        are built one deletion at a time in lexicographic order (:func:`_extensions`), each set of ``i`` deletions
        adding ``g_{i+1}`` over a contiguous range of next positions in one broadcast addition written in place
        (arrays are position-major: one row per deletion set, one column per name). Returns the keys (written to
        ``out`` if given, :meth:`chunk_keys` of them), flattened.
        """
        self.check_deadline()
        deletions = length - t
        inverse = _powers(_BASE_INV, deletions)
        prefix = np.zeros((length + 1, ids.size), dtype=np.uint64)
        np.cumsum(codes.T * powers[:length, None], axis=0, out=prefix[1:])
        prefix <<= np.uint64(self.id_bits)
        base = prefix[length] * inverse[deletions] + ids.astype(np.uint64)
        hashes = np.empty(self.chunk_keys(t, length, codes, chars), dtype=np.uint64) if out is None else out
        if chars is None:
            _extend(prefix, base[None], inverse, -1, 0, hashes.reshape(-1, ids.size), self.check_deadline)
            return hashes
        offset = 0
        for first in range(deletions + 1):
            # positions 0..first-1 deleted, ``first`` kept: the subsequence starts with codes[:, first]
            selected = np.flatnonzero(_member(chars, codes[:, first]))
            if selected.size == 0:
                continue
            columns = prefix[:, selected]
            value = base[selected]
            for i in range(first):
                value += columns[i] * inverse[i] - columns[i + 1] * inverse[i + 1]
            size = math.comb(length - 1 - first, deletions - first) * selected.size
            _extend(
                columns,
                value[None],
                inverse,
                first,
                first,
                hashes[offset : offset + size].reshape(-1, selected.size),
                self.check_deadline,
            )
            offset += size
        return hashes

    def sorted_parts(self, keys: npt.NDArray[np.uint64]) -> list[npt.NDArray[np.uint64]]:
        """``keys`` sorted in place (partitioned by rank into one range per thread, each range sorted on its thread),
        as consecutive ranges, one per thread, that never split a bucket."""
        self.check_deadline()
        if self.threads == 1 or keys.size < PARALLEL_SORT:
            keys.sort()
            return [keys]
        cuts = [keys.size * index // self.threads for index in range(1, self.threads)]
        keys.partition(cuts)
        self.check_deadline()
        ends = [0, *cuts, keys.size]
        self.map(np.ndarray.sort, [keys[start:end] for start, end in pairwise(ends)])
        # the whole array is sorted now: move each cut back to the first key of its bucket
        shift = np.uint64(self.id_bits)
        ends[1:-1] = [int(np.searchsorted(keys, (keys[cut] >> shift) << shift)) for cut in cuts]
        return [keys[start:end] for start, end in pairwise(ends)]

    def pairs_from_keys(self, keys: npt.NDArray[np.uint64], longest_in_group: npt.NDArray[np.bool_]) -> None:
        """Sort the keys of a pass, find the candidate pairs of each sorted part on its thread, verify them."""
        parts = self.sorted_parts(keys)
        for batches in self.map(lambda part: self.candidates(part, longest_in_group), parts):
            for pair in batches:
                self.verify(pair // self.n, pair % self.n)

    def candidates(
        self, keys: npt.NDArray[np.uint64], longest_in_group: npt.NDArray[np.bool_]
    ) -> list[npt.NDArray[np.int64]]:
        """Pairs of names that share a bucket of sorted keys (whole buckets) and whose longer length is in the
        group, as sorted distinct keys ``a * n + b`` (``a < b``) in batches of about ``PAIR_BATCH``.

        Work is proportional to the keys for finding the shared buckets, then to the keys in shared buckets.
        """
        if keys.size < 2:
            return []
        shift = np.uint64(self.id_bits)
        same = np.empty(keys.size - 1, dtype=bool)
        for start in range(0, keys.size - 1, CHUNK_KEYS):
            self.check_deadline()
            stop = min(keys.size - 1, start + CHUNK_KEYS)
            np.less(keys[start + 1 : stop + 1] ^ keys[start:stop], np.uint64(1) << shift, out=same[start:stop])
        shared = np.flatnonzero(same)
        del same
        if shared.size == 0:
            return []
        # keys in buckets of two or more: every shared position, and the one after the last of each run
        last = np.flatnonzero(np.append(shared[1:] != shared[:-1] + 1, True))
        keys = keys[np.insert(shared, last + 1, shared[last] + 1)]
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # a name emitting one subsequence twice
        buckets = keys >> shift
        ids = (keys & np.uint64((1 << self.id_bits) - 1)).view(np.int64)
        starts = np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1])))
        ends = np.append(starts[1:], keys.size)
        end_of = np.repeat(ends, ends - starts)
        position = np.flatnonzero(end_of - np.arange(keys.size) > 1)
        batches: list[npt.NDArray[np.int64]] = []
        found: list[npt.NDArray[np.int64]] = []
        pending = 0
        offset = 1
        while position.size:
            self.check_deadline()
            a, b = ids[position], ids[position + offset]
            first, second = np.minimum(a, b), np.maximum(a, b)
            valid = longest_in_group[np.maximum(self.lengths[first], self.lengths[second])]
            if self.side is not None:
                valid &= self.side[first] != self.side[second]
            found.append(first[valid] * self.n + second[valid])
            pending += found[-1].size
            if pending >= PAIR_BATCH:
                batches.append(_sorted_unique(np.concatenate(found)))
                found, pending = [], 0
            offset += 1
            position = position[end_of[position] - position > offset]
        if found:
            batches.append(_sorted_unique(np.concatenate(found)))
        return batches

    def result(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Distinct pairs found (each once), as distinct-name ids ``a < b`` sorted by ``(a, b)``, and scores."""
        if not self.found:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        a = np.concatenate([f[0] for f in self.found])
        b = np.concatenate([f[1] for f in self.found])
        s = np.concatenate([f[2] for f in self.found])
        self.found = []
        key = a * self.n + b
        sort = np.argsort(key)
        key = key[sort]
        sort = sort[np.concatenate((key[:1] >= 0, key[1:] != key[:-1]))]
        return a[sort], b[sort], s[sort]


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
    if len(names) >= 1 << 31:
        raise ValueError("at most 2**31 - 1 names (pairs are packed in 64-bit keys)")
    distinct, codes = _distinct(names)
    if not distinct:
        return _empty()
    direct = _direct(distinct, min_similarity) if method == "auto" else None
    if direct is not None:
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("the pair search did not finish before the deadline")
        if direct == "one":
            a, b, s = _small_pairs(distinct, min_similarity)
        else:
            a, b, s = _band_pairs(distinct, min_similarity, deadline=deadline, workers=workers)
        if progress is not None:
            progress(len(distinct), len(distinct))
    else:
        a, b, s = distinct_pairs(
            distinct, min_similarity, deadline=deadline, progress=progress, workers=workers, method=method
        )
    if len(distinct) == len(names):
        # every name non-empty and distinct: the distinct ids are the input indices, pairs already sorted
        return PairArrays(a, b, np.asarray(s, np.float64))
    if min_similarity < 1.0:
        repeated = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(distinct)) > 1)
        a, b, s = np.append(a, repeated), np.append(b, repeated), np.append(s, np.ones(repeated.size))
    return _expand(codes, a, b, s, deadline)


def _direct(names: list[str], min_similarity: float) -> Literal["one", "bands"] | None:
    """Whether distinct names are scored pair by pair in input order, skipping the search's bookkeeping.

    ``"one"``: few enough pairs (``SMALL_PAIRS``, or ``SMALL_BOUNDED_PAIRS`` when the Indel bound of
    :func:`_small_pairs` applies, and ``BLOCK_WORK`` for the deadline) for one call on the calling thread.
    ``"bands"``: up to ``SMALL_NAMES`` names at a low threshold (a budget of at least half the longest name: the
    filter's subsequences would be at most half a name, its buckets crowded, and few pairs are apart by more than
    the budget in length), where the search would score nearly every pair anyway; one row of names must fit in
    ``BLOCK_WORK``. ``None``: the search (:func:`distinct_pairs`).
    """
    pairs = len(names) * (len(names) - 1) // 2
    longest = max(map(len, names))
    work = longest**2
    bounded = 2 * _budget(longest, float(min_similarity)) < longest
    if pairs * work <= BLOCK_WORK and (pairs <= SMALL_PAIRS or (pairs <= SMALL_BOUNDED_PAIRS and bounded)):
        return "one"
    if len(names) <= SMALL_NAMES and len(names) * work <= BLOCK_WORK and not bounded:
        return "bands"
    return None


@functools.lru_cache(maxsize=32)
def _upper(n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Rows, columns and flat indices of the cells above the diagonal of an ``n x n`` matrix, row-major
    (:func:`itertools.combinations` order; cached: small searches repeat their sizes)."""
    a, b = np.triu_indices(n, 1)
    return a, b, a * n + b


def _small_pairs(
    names: list[str], min_similarity: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every pair of a few distinct names scored on the calling thread by one ``cdist`` of the list with itself
    (which rapidfuzz computes as one triangle), as sorted ``(a, b, score)``.

    When the budget ``k`` of the longest name leaves out enough pairs by length alone (``|len(a) - len(b)| > k``:
    at least one pair in ``SMALL_SKIP``), the call computes integer distances with ``score_cutoff=k``: rapidfuzz
    answers those pairs without scoring them (as ``k + 1``). The score is then ``1.0 - d / M`` in float64, the
    operations rapidfuzz itself performs (bit-identical), and a cut pair cannot pass: ``k`` is the largest budget of
    any length, so ``k + 1`` exceeds the pair's own budget. Otherwise the normalized similarity is computed directly.

    Before that, when ``2k`` is below the longest length (thresholds above about 0.5), one Indel ``cdist`` with
    ``score_cutoff=2k`` bounds every pair: a pair over ``2k`` has a Damerau-Levenshtein distance over ``k`` and
    cannot pass. When at most one pair in ``SMALL_NEAR`` is within the bound, only those are scored, by ``cpdist``
    with rapidfuzz's normalized similarity (the same scores as ``cdist``).
    """
    a, b, flat = _upper(len(names))
    lengths = list(map(len, names))
    budget = _budget(max(lengths), float(min_similarity))
    if budget < 0:
        return a[:0], b[:0], np.empty(0)
    if 2 * budget < max(lengths):
        # Indel <= 2 * DL (a substitution or a transposition is one deletion and one insertion): pairs over 2k
        # cannot pass. Bit-parallel Indel costs a few percent of Damerau-Levenshtein.
        indel = process.cdist(
            names, names, scorer=Indel.distance, score_cutoff=2 * budget, dtype=np.int32, workers=1
        ).take(flat)
        near = np.flatnonzero(indel <= 2 * budget)
        if near.size * SMALL_NEAR <= a.size:
            objects = np.array(names, dtype=object)
            a, b = a[near], b[near]
            score = process.cpdist(
                objects[a], objects[b], scorer=DamerauLevenshtein.normalized_similarity, dtype=np.float64, workers=1
            )
            keep = np.flatnonzero(score > min_similarity)
            return a[keep], b[keep], score[keep]
    if _cut_pays(lengths, budget, a.size):
        distance = process.cdist(
            names, names, scorer=DamerauLevenshtein.distance, score_cutoff=budget, dtype=np.int32, workers=1
        ).take(flat)
        size = np.array(lengths, np.int64)
        score = 1.0 - distance / np.maximum(size[a], size[b])
    else:
        score = process.cdist(
            names, names, scorer=DamerauLevenshtein.normalized_similarity, dtype=np.float64, workers=1
        ).take(flat)
    keep = np.flatnonzero(score > min_similarity)
    return a[keep], b[keep], score[keep]


def _band_pairs(
    names: list[str], min_similarity: float, *, deadline: float | None, workers: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Every pair of distinct names scored by ``cdist`` in bands of rows, in input order, as sorted
    ``(a, b, score)``: per band, its triangle (the band with itself) and its rectangle with the later names,
    side by side; the deadline is checked between bands of at most ``BLOCK_WORK``. Scores as in
    :func:`_small_pairs` (integer distances with a cutoff when enough pairs are cut by length)."""
    n = len(names)
    lengths = list(map(len, names))
    longest = max(lengths)
    budget = _budget(longest, float(min_similarity))
    if budget < 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    cut = _cut_pays(lengths, budget, n * (n - 1) // 2)
    size = np.array(lengths, np.int64)
    work = longest * longest
    rows = max(1, min(BLOCK_WORK // work, BLOCK_CELLS) // n)
    found = []
    for start in range(0, n, rows):
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("the pair search did not finish before the deadline")
        stop = min(n, start + rows)
        band = names[start:stop]
        threads = 1 if (stop - start) * (n - start) * work < PARALLEL_WORK else workers
        parts = [band] if stop == n else [band, names[stop:]]
        if cut:
            matrix = np.hstack(
                [
                    process.cdist(
                        band,
                        part,
                        scorer=DamerauLevenshtein.distance,
                        score_cutoff=budget,
                        dtype=np.int32,
                        workers=threads,
                    )
                    for part in parts
                ]
            )
            score = 1.0 - matrix / np.maximum(size[start:stop, None], size[None, start:])
        else:
            score = np.hstack(
                [
                    process.cdist(
                        band, part, scorer=DamerauLevenshtein.normalized_similarity, dtype=np.float64, workers=threads
                    )
                    for part in parts
                ]
            )
        r, c = np.nonzero(np.triu(score > min_similarity, 1))
        found.append((r + start, c + start, score[r, c]))
    a, b, s = (np.concatenate(column) for column in zip(*found, strict=True))
    return a, b, s


def _cut_pays(lengths: list[int], budget: int, pairs: int) -> bool:
    """Whether at least one pair in ``SMALL_SKIP`` has lengths more than ``budget`` apart (a distance cutoff of
    ``budget`` answers those without scoring them)."""
    if max(lengths) - min(lengths) <= budget:
        return False
    ordered = sorted(lengths)
    skipped = sum(len(ordered) - bisect.bisect_right(ordered, length + budget) for length in ordered)
    return skipped * SMALL_SKIP >= pairs


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


_UNHASHABLE = object()


def get_similar_screen_names(accounts: list[dict], min_similarity: float) -> list[tuple[str, str, float]]:
    """Pairs of accounts with similar screen names (the original exercise's function, same results, scalable).

    A drop-in for the reference function: accounts are keyed by their ids as given (``1``, ``True`` and ``1.0``
    are three ids, as in the reference, although Python's ``==`` equates them), two records of one id with the
    same screen name count once, and two accounts with an empty screen name ``""`` pair with similarity 1.0 like
    rapidfuzz scores them (``None`` names never pass a threshold in [0, 1]).

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
    positions: dict[Any, int] = {}
    ids: list[Any] = []
    names: list[Any] = []
    for index, account in enumerate(accounts):
        ident, name = account["id"], account["screen_name"]
        key: tuple[Any, Any] = (type(ident), ident)
        try:
            hash(key)
        except TypeError:
            key = (_UNHASHABLE, index)
        position = positions.setdefault(key, len(ids))
        if position == len(ids):
            ids.append(ident)
            names.append(name)
        elif names[position] != name:
            raise InputError.at(("accounts", index, "id"), f"conflicting duplicate account id {ident!r}")
    found = similar_name_pairs(names, min_similarity)
    first, second, score = found.first.tolist(), found.second.tolist(), found.score.tolist()
    empty = [index for index, name in enumerate(names) if isinstance(name, str) and not name]
    if len(empty) > 1 and min_similarity < 1.0:
        # rapidfuzz scores two empty strings 1.0 (distance 0 over length 0); the engine never pairs empty names
        merged = sorted([*zip(first, second, score, strict=True), *((i, j, 1.0) for i, j in combinations(empty, 2))])
        return [(ids[i], ids[j], s) for i, j, s in merged]
    return [(ids[i], ids[j], s) for i, j, s in zip(first, second, score, strict=True)]
