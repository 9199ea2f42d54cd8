"""Connected components of the pair graph."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sockpuppet.groups import component_labels, groups_from_pairs


def _reference_groups(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, list[int]] = {}
    for node in range(n):
        members.setdefault(find(node), []).append(node)
    return sorted((group for group in members.values() if len(group) > 1), key=lambda g: g[0])


def test_groups_sorted_within_and_by_first_member() -> None:
    # GIVEN edges 3-4, 0-4, 5-6, 1-6 over 8 nodes (7 and 2 isolated)
    # WHEN grouped THEN two groups, members ascending, ordered by first member; isolated nodes left out
    assert groups_from_pairs(8, [3, 0, 5, 1], [4, 4, 6, 6]) == [[0, 3, 4], [1, 5, 6]]


def test_no_pairs_no_groups() -> None:
    assert groups_from_pairs(5, np.array([], dtype=np.int64), np.array([], dtype=np.int64)) == []
    assert component_labels(3, [], []).tolist() == [0, 1, 2]


def test_long_chain_is_one_group() -> None:
    # GIVEN a path 0-1-2-...-9999 given in reverse order WHEN grouped THEN one group
    n = 10_000
    first = np.arange(n - 1)[::-1]
    assert groups_from_pairs(n, first, first + 1) == [list(range(n))]


@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    )
)
def test_matches_union_find(case: tuple[int, list[tuple[int, int]]]) -> None:
    # GIVEN any graph WHEN grouped THEN the same components as a plain union-find
    n, edges = case
    first = [a for a, _ in edges]
    second = [b for _, b in edges]
    assert groups_from_pairs(n, first, second) == _reference_groups(n, edges)
