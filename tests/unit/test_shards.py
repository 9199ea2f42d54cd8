"""Exact sharding: plan -> search every shard -> merge equals the single-process engine and the reference."""

from __future__ import annotations

import json
import random
import time

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sockpuppet import engine, merge_shards, pairs_from_bytes, pairs_to_bytes, plan_shards, search_shard
from sockpuppet.engine import PairArrays, similar_name_pairs
from sockpuppet.errors import DeadlineExceeded
from tests.unit.test_engine import (
    METHODS,
    as_tuples,
    expected_pairs,
    feasible,
    handles,
    name_lists,
    small_alphabet,
    thresholds,
)

with_empties = st.lists(st.one_of(st.none(), st.just(""), handles, small_alphabet), max_size=25)


def sharded(
    names: list[str | None], threshold: float, max_names: int, seed: int = 0, method: engine.Method = "auto"
) -> PairArrays:
    """The job's path: plan, JSON round trip of the plan, shards in a shuffled order, bytes round trip, merge."""
    plan = json.loads(json.dumps(plan_shards(names, threshold, max_names=max_names)))
    random.Random(seed).shuffle(plan)
    results = [pairs_from_bytes(pairs_to_bytes(search_shard(names, threshold, shard, method=method))) for shard in plan]
    return merge_shards(results, len(names))


def distinct_count(names: list[str | None]) -> int:
    return len({name for name in names if name})


@settings(max_examples=600, deadline=None)
@given(
    names=st.one_of(name_lists, with_empties),
    threshold=thresholds,
    max_names=st.integers(2, 6),
    seed=st.integers(0, 3),
    method=st.sampled_from(METHODS),
)
def test_merged_shards_equal_engine_and_reference(
    names: list[str | None], threshold: float, max_names: int, seed: int, method: engine.Method
) -> None:
    # GIVEN any names, threshold and a tiny shard size WHEN planned, searched shard by shard (either engine path)
    # and merged THEN bit-identical to the single-process engine, and the reference's pairs
    assume(feasible(names, method))
    merged = sharded(names, threshold, max_names, seed, method)
    whole = similar_name_pairs(names, threshold)
    for left, right in zip(merged, whole, strict=True):
        np.testing.assert_array_equal(left, right)
        assert left.dtype == right.dtype
    assert as_tuples(merged) == expected_pairs(names, threshold)


@settings(max_examples=300, deadline=None)
@given(names=st.one_of(name_lists, with_empties), threshold=thresholds, max_names=st.integers(2, 40))
def test_plan_respects_max_names_and_is_small(names: list[str | None], threshold: float, max_names: int) -> None:
    # GIVEN any names WHEN planned THEN every shard needs at most max_names distinct names, the specs hold no names,
    # and there is exactly one shard when everything fits
    plan = plan_shards(names, threshold, max_names=max_names)
    assert [shard["index"] for shard in plan] == list(range(len(plan)))
    for shard in plan:
        assert sum(stop - start for start, stop in shard["ranges"]) <= max(max_names, 0)
        assert shard["cross"] == (len(shard["ranges"]) == 2)
        assert json.loads(json.dumps(shard)) == shard
    if distinct_count(names) <= max_names:
        assert len(plan) == 1
    else:
        assert all(sum(stop - start for start, stop in s["ranges"]) < distinct_count(names) for s in plan)


def test_no_pruning_at_zero_and_pruning_by_length() -> None:
    # GIVEN 8 distinct names in 4 blocks of 2 WHEN planned at t = 0 THEN every block pair is a shard (4 + 6)
    names = ["ab", "ba", "abc", "bca", "abcdefghijklmnopqrst", "bacdefghijklmnopqrst", "x" * 40, "y" * 40]
    assert len(plan_shards(names, 0.0, max_names=4)) == 10
    # WHEN planned at 0.8 THEN blocks whose lengths cannot meet are not paired (only the 4 diagonal shards remain)
    plan = plan_shards(names, 0.8, max_names=4)
    assert [shard["cross"] for shard in plan] == [False] * 4
    assert as_tuples(sharded(names, 0.8, 4)) == expected_pairs(names, 0.8)


def test_cross_shard_returns_only_cross_pairs() -> None:
    # GIVEN three blocks of two near-identical names WHEN the first cross shard is searched THEN only pairs
    # across its two blocks
    names = ["abcd", "abce", "abcf", "abcg", "abch", "abci"]
    plan = plan_shards(names, 0.5, max_names=5)
    cross = next(shard for shard in plan if shard["cross"])
    found = search_shard(names, 0.5, cross)
    assert sorted(zip(found.first.tolist(), found.second.tolist(), strict=True)) == [(0, 2), (0, 3), (1, 2), (1, 3)]


def test_shard_of_another_list_is_rejected() -> None:
    # GIVEN a plan over some names WHEN a worker searches it over a different list THEN ValueError, no wrong answer
    plan = plan_shards(["a", "b", "c"], 0.5, max_names=2)
    with pytest.raises(ValueError, match="distinct names"):
        search_shard(["a", "b"], 0.5, plan[0])
    with pytest.raises(ValueError, match="malformed"):
        search_shard(["a", "b", "c"], 0.5, {"ranges": [[0, 1]]})
    with pytest.raises(ValueError, match="max_names"):
        plan_shards(["a"], 0.5, max_names=1)


def test_bytes_round_trip_and_corruption() -> None:
    # GIVEN pairs WHEN serialised and read back THEN equal arrays; truncated or foreign bytes are rejected
    pairs = similar_name_pairs(["anna", "anna1", "anna2", "bob"], 0.5)
    data = pairs_to_bytes(pairs)
    assert len(data) == 16 + 24 * pairs.first.size
    for left, right in zip(pairs_from_bytes(data), pairs, strict=True):
        np.testing.assert_array_equal(left, right)
    assert pairs_from_bytes(pairs_to_bytes(similar_name_pairs([], 0.5))).first.size == 0
    with pytest.raises(ValueError, match="truncated"):
        pairs_from_bytes(data[:-1])
    with pytest.raises(ValueError, match="magic"):
        pairs_from_bytes(b"PK\x03\x04" + data[4:])


def test_search_shard_deadline_and_progress() -> None:
    # GIVEN a past deadline WHEN a shard is searched THEN DeadlineExceeded; GIVEN a callback THEN it ends at total
    names = ["anna_smith", "anna_smith1", "ben_jones", "ben_jone"]
    shard = plan_shards(names, 0.8, max_names=10)[0]
    with pytest.raises(DeadlineExceeded):
        search_shard(names, 0.8, shard, deadline=time.monotonic() - 1)
    calls: list[tuple[int, int]] = []
    search_shard(names, 0.8, shard, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (4, 4)


def test_layout_is_reused_only_for_the_same_list_object() -> None:
    # GIVEN two lists of names, the second a copy of the first with one name changed, and shards of each
    first = ["anna_smith", "anna_smyth", "jo_brown", "jo_br0wn", "mike", "mikey", None, "anna_smith"]
    second = [*first]
    second[2] = "jo_browne"
    plans = {id(names): plan_shards(names, 0.7, max_names=4) for names in (first, second)}
    # WHEN their shards are searched interleaved (first, second, first again: the kept layout switches lists)
    results: dict[int, list[PairArrays]] = {id(first): [], id(second): []}
    for names in (first, second, first):
        results[id(names)] = [search_shard(names, 0.7, shard) for shard in plans[id(names)]]
    # THEN every list's merged shards equal the engine's result on that list
    for names in (first, second):
        merged = merge_shards(results[id(names)], len(names))
        assert as_tuples(merged) == as_tuples(similar_name_pairs(names, 0.7))
