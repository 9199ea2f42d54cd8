"""The exact pair search against the verbatim reference loop, on both engine paths and adversarial inputs."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import DamerauLevenshtein, Indel

from benchmarks.names import names as handle_names
from sockpuppet import engine
from sockpuppet.engine import budgets, get_similar_screen_names, similar_name_pairs
from sockpuppet.errors import DeadlineExceeded, InputError
from tests.reference import get_similar_screen_names as ref_get_similar_screen_names

METHODS = ("auto", "filter", "scan")
BOUNDARIES = sorted({float(Fraction(d, m)) for m in range(1, 13) for d in range(m + 1)} | {1 - 1 / 7, 0.8, 0.75})
"""Thresholds equal to reachable scores ``1 - d / M`` (and ``d / M``): the strict ``>`` must hold exactly there."""

thresholds = st.one_of(
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from(BOUNDARIES),
    st.sampled_from([0.0, 1.0, 0.8, 2 / 3, 0.75, 1 / 7]),
)
small_alphabet = st.text(alphabet="ab", max_size=8)
handles = st.text(alphabet="abcdeklmnorst_0123", min_size=1, max_size=16)
repeated = st.builds(lambda c, n, tail: c * n + tail, st.sampled_from("ab_"), st.integers(1, 12), small_alphabet)
unicode_names = st.text(
    alphabet=st.one_of(st.sampled_from("aé\u00df\u4e2d\U0001f600\U0001d11e\x00"), st.characters()), max_size=10
)
long_or_short = st.one_of(
    st.text(alphabet="ab", min_size=1, max_size=2), st.text(alphabet="abc", min_size=18, max_size=40)
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str] = handles) -> list[str]:
    """A few base names and near-duplicates of them (transpositions, insertions, deletions, substitutions)."""
    names = draw(st.lists(base, min_size=1, max_size=6))
    for _ in range(draw(st.integers(0, 12))):
        chars = list(draw(st.sampled_from(names)))
        for _ in range(draw(st.integers(1, 3))):
            op = draw(st.sampled_from(["swap", "insert", "delete", "substitute"]))
            at = draw(st.integers(0, max(0, len(chars) - 1)))
            if op == "swap" and at + 1 < len(chars):
                chars[at], chars[at + 1] = chars[at + 1], chars[at]
            elif op == "insert":
                chars.insert(at, draw(st.sampled_from("ab_9\U0001f600")))
            elif op == "delete" and chars:
                del chars[at]
            elif chars:
                chars[at] = draw(st.sampled_from("ab_9"))
        names.append("".join(chars))
    return draw(st.permutations(names))


name_lists = st.one_of(
    st.lists(handles, max_size=25),
    st.lists(small_alphabet, max_size=25),
    st.lists(repeated, max_size=20),
    st.lists(unicode_names, max_size=20),
    st.lists(long_or_short, max_size=15),
    st.lists(st.one_of(handles, long_or_short, unicode_names), max_size=20),
    mutated(),
    mutated(small_alphabet),
    mutated(repeated),
)


def expected_pairs(names: list[str | None], threshold: float) -> list[tuple[int, int, float]]:
    """The reference loop on the accounts with a non-empty name (empty names never pair), as index pairs."""
    accounts = [{"id": i, "screen_name": name} for i, name in enumerate(names) if name]
    return ref_get_similar_screen_names(accounts, threshold)


def feasible(names: list[str | None], method: engine.Method) -> bool:
    """Forcing the filter on long names at low thresholds enumerates millions of subsequences: not for unit tests."""
    return method != "filter" or max(map(len, filter(None, names)), default=0) <= 12


def as_tuples(found: engine.PairArrays) -> list[tuple[int, int, float]]:
    return list(zip(found.first.tolist(), found.second.tolist(), found.score.tolist(), strict=True))


@settings(max_examples=800, deadline=None)
@given(names=name_lists, threshold=thresholds, method=st.sampled_from(METHODS))
def test_pairs_equal_reference(names: list[str], threshold: float, method: engine.Method) -> None:
    # GIVEN any names and threshold WHEN searched by either path THEN exactly the reference pairs, order and floats
    assume(feasible(names, method))
    assert as_tuples(similar_name_pairs(names, threshold, method=method)) == expected_pairs(names, threshold)


@settings(max_examples=200, deadline=None)
@given(names=name_lists, threshold=thresholds)
def test_filter_and_scan_agree(names: list[str], threshold: float) -> None:
    # GIVEN any names WHEN both paths run THEN identical arrays (bit-identical scores)
    assume(feasible(names, "filter"))
    filtered = similar_name_pairs(names, threshold, method="filter")
    scanned = similar_name_pairs(names, threshold, method="scan")
    for left, right in zip(filtered, scanned, strict=True):
        np.testing.assert_array_equal(left, right)


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.one_of(st.none(), st.just(""), handles, small_alphabet), max_size=25),
    threshold=thresholds,
    method=st.sampled_from(METHODS),
)
def test_empty_names_never_pair(names: list[str | None], threshold: float, method: engine.Method) -> None:
    # GIVEN names with None and "" among them WHEN searched THEN they never pair, the rest is the reference
    assume(feasible(names, method))
    found = similar_name_pairs(names, threshold, method=method)
    empty = {i for i, name in enumerate(names) if not name}
    assert not empty & (set(found.first.tolist()) | set(found.second.tolist()))
    assert as_tuples(found) == expected_pairs(names, threshold)


@settings(max_examples=150, deadline=None)
@given(names=mutated(), threshold=thresholds, method=st.sampled_from(METHODS), data=st.data())
def test_duplicate_names_pair_with_score_one(
    names: list[str], threshold: float, method: engine.Method, data: st.DataObject
) -> None:
    # GIVEN repeated names (distinct accounts, same screen name) WHEN searched THEN the reference, score 1.0 for them
    repeated_names = names + data.draw(st.lists(st.sampled_from(names), max_size=6))
    assume(feasible(repeated_names, method))
    found = as_tuples(similar_name_pairs(repeated_names, threshold, method=method))
    assert found == expected_pairs(repeated_names, threshold)


@settings(max_examples=150, deadline=None)
@given(
    names=mutated(),
    threshold=thresholds,
    method=st.sampled_from(METHODS),
    pass_keys=st.sampled_from([1, 7, 40, 1 << 25]),
    workers=st.sampled_from([1, 2]),
)
def test_tiny_chunks_and_passes(
    names: list[str], threshold: float, method: engine.Method, pass_keys: int, workers: int
) -> None:
    # GIVEN memory and work bounds so small that every chunk, pass, batch, block and expansion step
    # splits, and no small-input shortcut WHEN searched on one or two threads THEN the same result
    assume(feasible(names, method))
    with pytest.MonkeyPatch.context() as patch:
        constants = {
            "CHUNK_KEYS": 1,
            "PASS_KEYS": pass_keys,
            "PAIR_BATCH": 3,
            "BLOCK_CELLS": 5,
            "BLOCK_WORK": 7,
            "PARALLEL_WORK": 1,
            "PARALLEL_SORT": 1,
            "EXPAND_PAIRS": 2,
            "SMALL_PAIRS": 0,
            "SMALL_BOUNDED_PAIRS": 0,
            "SMALL_NAMES": 0,
            "SMALL_SCAN": 0,
        }
        for constant, value in constants.items():
            patch.setattr(engine, constant, value)
        found = as_tuples(similar_name_pairs(names, threshold, method=method, workers=workers))
    assert found == expected_pairs(names, threshold)


@settings(max_examples=400, deadline=None)
@given(
    names=name_lists,
    threshold=thresholds,
    small_pairs=st.sampled_from([0, 1 << 14]),
    bounded_pairs=st.sampled_from([0, 1 << 17]),
    skip=st.sampled_from([1, 1 << 40]),
    near=st.sampled_from([0, 1 << 40]),
    block_cells=st.sampled_from([8, 1 << 20]),
    workers=st.sampled_from([1, 2]),
)
def test_direct_paths_equal_reference(
    names: list[str],
    threshold: float,
    small_pairs: int,
    bounded_pairs: int,
    skip: int,
    near: int,
    block_cells: int,
    workers: int,
) -> None:
    # GIVEN the direct paths (one call, or bands of one row or of all rows, on one or two threads), with the
    # integer distance cutoff taken whenever it cuts a pair or never, and the one call's Indel bound followed by
    # scoring only the pairs within it always or only when none is WHEN searched
    # THEN exactly the reference pairs and floats
    with pytest.MonkeyPatch.context() as patch:
        for constant, value in {
            "SMALL_PAIRS": small_pairs,
            "SMALL_BOUNDED_PAIRS": bounded_pairs,
            "SMALL_SKIP": skip,
            "SMALL_NEAR": near,
            "BLOCK_CELLS": block_cells,
            "PARALLEL_WORK": 1,
        }.items():
            patch.setattr(engine, constant, value)
        found = as_tuples(similar_name_pairs(names, threshold, workers=workers))
    assert found == expected_pairs(names, threshold)


@settings(max_examples=500, deadline=None)
@given(
    left=st.one_of(small_alphabet, handles, unicode_names, long_or_short),
    right=st.one_of(small_alphabet, handles, unicode_names, long_or_short),
)
def test_indel_bound_of_the_small_path(left: str, right: str) -> None:
    # GIVEN any two names WHEN rapidfuzz measures them THEN Indel <= 2 * Damerau-Levenshtein (the small path's bound)
    assert Indel.distance(left, right) <= 2 * DamerauLevenshtein.distance(left, right)


def test_score_from_distance_is_rapidfuzz_score() -> None:
    # GIVEN every (longer length, distance) up to 300 WHEN the small path turns a distance into a score
    # THEN 1.0 - d / M in float64 is bit-identical to rapidfuzz's normalized similarity of such a pair
    for m in range(1, 301):
        distance = np.arange(m + 1)
        computed = 1.0 - distance / np.full(m + 1, m, np.int64)
        expected = [DamerauLevenshtein.normalized_similarity("a" * m, "a" * (m - d) + "b" * d) for d in range(m + 1)]
        assert computed.tolist() == expected


@pytest.mark.parametrize(
    ("left", "right"),
    [("ab", "aba"), ("aabb", "abab"), ("abcd", "acbd"), ("ca", "abc"), ("\U0001f600x", "x\U0001f600"), ("a", "ab")],
)
@pytest.mark.parametrize("method", METHODS)
def test_boundary_scores_are_kept_strictly(left: str, right: str, method: engine.Method) -> None:
    # GIVEN a pair and thresholds just below, at and just above its score WHEN searched THEN only "below" pairs it
    score = DamerauLevenshtein.normalized_similarity(left, right)
    for threshold, pairs in ((np.nextafter(score, 0.0), 1), (score, 0), (np.nextafter(score, 1.0), 0)):
        found = similar_name_pairs([left, right], float(threshold), method=method)
        assert found.first.size == pairs
        assert found.score.tolist() == [score] * pairs


def test_budgets_are_exact_for_any_pair_shape() -> None:
    # GIVEN pairs of several shapes at each (length, distance) WHEN rapidfuzz scores them
    # THEN a pair passes exactly when its distance is within the budget of its longer length
    for threshold in BOUNDARIES:
        k = budgets(range(1, 33), threshold)
        assert k[0] == -1
        for m in range(1, 17):
            for d in range(m + 1):
                shapes = [("x" * m, "x" * (m - d) + "y" * d), ("q" * m, "q" * (m - d)), ("ab" * m, "ba" * m)]
                for left, right in shapes:
                    distance = DamerauLevenshtein.distance(left, right)
                    passes = DamerauLevenshtein.normalized_similarity(left, right) > threshold
                    assert passes == (distance <= k[max(len(left), len(right))])


def test_accounts_duplicates_collapse_and_conflicts_fail() -> None:
    # GIVEN identical duplicate records THEN they count once; GIVEN conflicting ones THEN an input error
    accounts = [
        {"id": "1", "screen_name": "breaking_news_nyc"},
        {"id": "2", "screen_name": "breaking_news_ny"},
        {"id": "1", "screen_name": "breaking_news_nyc"},
    ]
    assert get_similar_screen_names(accounts, 0.8) == ref_get_similar_screen_names(accounts[:2], 0.8)
    with pytest.raises(InputError) as info:
        get_similar_screen_names([*accounts, {"id": "2", "screen_name": "other"}], 0.8)
    assert isinstance(info.value, ValueError)
    assert info.value.details[0]["loc"] == ["accounts", 3, "id"]


def test_deadline_and_progress() -> None:
    # GIVEN a deadline in the past WHEN searched THEN DeadlineExceeded; GIVEN a callback THEN it ends at total
    names = ["anna_smith", "anna_smith1", "ben_jones", "ben_jone", "x"]
    with pytest.raises(DeadlineExceeded):
        similar_name_pairs(names, 0.8, deadline=time.monotonic() - 1)
    calls: list[tuple[int, int]] = []
    similar_name_pairs(names, 0.8, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(names), len(names))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_unknown_method_is_rejected() -> None:
    with pytest.raises(ValueError, match="method"):
        similar_name_pairs(["a", "b"], 0.5, method="fast")  # type: ignore[arg-type]


OVERSHOOT = 2.5
"""Generous bound on the time past the deadline before DeadlineExceeded: a bound on the granularity, not a
benchmark. The work between two checks is ~0.1-0.3 s on one quiet core (overshoots of 0.01-0.5 s measured with the
machine at load 10 on 2 cores; without the checks these cases overshot by 5-10 s); the margin is for the test
suite's own parallel load on a shared machine."""


def _random_names(count: int, alphabet: str, low: int, high: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(alphabet, k=rng.randint(low, high))) for _ in range(count)]


WORST_CASES: dict[str, Callable[[], tuple[list[str], float, engine.Method]]] = {
    "2500 names of 256 characters at t=0, every pair": lambda: (
        _random_names(2500, "abcd", 256, 256),
        0.0,
        "auto",
    ),
    "2500 names of 256 characters at t=0.5": lambda: (_random_names(2500, "abcd", 256, 256, 1), 0.5, "auto"),
    "2000 names of 90 characters at t=0, small-input bands of one row": lambda: (
        _random_names(2000, "abcd", 90, 90, 2),
        0.0,
        "auto",
    ),
    "crowded buckets through the filter": lambda: (_random_names(200_000, "ab", 8, 12), 0.6, "filter"),
    "crowded short names, automatic choice": lambda: (_random_names(100_000, "abc", 6, 14), 0.5, "auto"),
    # 6.8M pairs: about 0.6-1.2 s here (2.6M pairs took 0.22-0.47 s, sometimes inside the 0.3 s deadline)
    "a large result from repeated names (6.8M pairs)": lambda: (["same"] * 2500 + ["samf"] * 1200, 0.5, "auto"),
}


@pytest.mark.parametrize("case", WORST_CASES, ids=list(WORST_CASES))
def test_deadline_is_kept_on_worst_cases(case: str) -> None:
    # GIVEN an input that takes far longer than the deadline WHEN searched THEN DeadlineExceeded soon after it
    names, threshold, method = WORST_CASES[case]()
    deadline = time.monotonic() + 0.3
    with pytest.raises(DeadlineExceeded):
        similar_name_pairs(names, threshold, deadline=deadline, method=method)
    assert time.monotonic() - deadline < OVERSHOOT


def _typed_pairs(pairs: list[tuple]) -> list[tuple]:
    """Pairs with the types of their ids (``1 == True == 1.0`` in Python; the drop-in must keep them apart)."""
    return [(type(a), a, type(b), b, s) for a, b, s in pairs]


mixed_ids = st.sampled_from([1, True, 1.0, "1", 0, False, 0.0, "0", 2, "u2", -1, None, (1, 2)])


@settings(max_examples=300, deadline=None)
@given(
    accounts=st.lists(
        st.tuples(mixed_ids, st.one_of(handles, st.just(""), st.none(), small_alphabet)),
        unique_by=lambda account: (type(account[0]), account[0]),
        max_size=13,
    ),
    threshold=thresholds,
)
def test_drop_in_keys_accounts_by_ids_as_given(accounts: list[tuple], threshold: float) -> None:
    # GIVEN accounts whose ids differ only by type (1, True, 1.0), with empty and missing names WHEN paired by the
    # drop-in THEN exactly the reference's tuples, ids as given (types kept), order and floats
    records = [{"id": ident, "screen_name": name, "created_at": "x"} for ident, name in accounts]
    ours = get_similar_screen_names(records, threshold)
    assert _typed_pairs(ours) == _typed_pairs(ref_get_similar_screen_names(records, threshold))


def test_drop_in_unhashable_ids_and_identical_duplicates() -> None:
    # GIVEN unhashable ids (the reference never hashes them) and an identical duplicate record
    # WHEN paired THEN the reference's pairs over the accounts, the duplicate counted once
    accounts = [
        {"id": ["a"], "screen_name": "anna_smith"},
        {"id": {"k": 1}, "screen_name": "anna_smith1"},
        {"id": 1, "screen_name": "anna_smith2"},
        {"id": True, "screen_name": "anna_smith2"},
        {"id": 1, "screen_name": "anna_smith2"},
    ]
    assert get_similar_screen_names(accounts, 0.8) == ref_get_similar_screen_names(accounts[:4], 0.8)
    assert [type(b) for _, b, _ in get_similar_screen_names(accounts, 0.8)][-1] is bool


@settings(max_examples=100, deadline=None)
@given(
    names=st.lists(st.text(alphabet="abc_1\U0001f600", min_size=1, max_size=9), min_size=1, max_size=30),
    t=st.integers(1, 9),
    splits=st.integers(1, 6),
)
def test_first_character_passes_partition_the_keys(names: list[str], t: int, splits: int) -> None:
    # GIVEN names of several lengths and their characters cut into a few passes WHEN the subsequences of each pass
    # (those starting with one of its characters) are hashed THEN together they are exactly all the keys, each once
    search = engine._Search(list(dict.fromkeys(names)), 0.5, None, None, 1)
    lengths = [length for length in range(t, len(search.by_length)) if search.by_length[length].size]
    assume(lengths)
    powers = engine._powers(engine._BASE, max(lengths))
    chars = np.unique(np.concatenate([search.codes(length).reshape(-1) for length in lengths]))
    passes = [np.isin(np.arange(chars.max() + 1), chars[index::splits]) for index in range(splits)]
    for length, ids, codes in search.chunks(t, lengths):
        every = search.hash_chunk(t, length, ids, codes, powers)
        assert every.size == math.comb(length, length - t) * ids.size
        parts = [search.hash_chunk(t, length, ids, codes, powers, part) for part in passes]
        assert [part.size for part in parts] == [search.chunk_keys(t, length, codes, part) for part in passes]
        np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.sort(every))


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    threshold=st.sampled_from([2 / 3, 0.7, 0.75, 0.8, 1 - 1 / 7, 0.9]),
    pass_keys=st.sampled_from([400, 3000, 1 << 25]),
)
def test_handles_with_planted_edits_through_small_passes(seed: int, threshold: float, pass_keys: int) -> None:
    # GIVEN 100 handle-like names, a third of them near-duplicates (transpositions, insertions, deletions,
    # substitutions), and passes so small that groups split by first character and heavy characters by hash range
    # WHEN searched by the filter on two threads THEN exactly the reference pairs, order and floats
    names = handle_names(100, seed=seed, planted=0.35)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "PASS_KEYS", pass_keys)
        patch.setattr(engine, "PARALLEL_SORT", 1)
        found = as_tuples(similar_name_pairs(names, threshold, method="filter", workers=2))
    assert found == expected_pairs(names, threshold)
