"""Connected components of the similar-name graph ("groups" of likely sock puppets), vectorised with numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["component_labels", "groups_from_pairs"]


def component_labels(n: int, first: npt.ArrayLike, second: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Label each of ``n`` nodes with the smallest node index of its connected component.

    Min-label propagation over the edges alternated with pointer jumping (a Shiloach-Vishkin style hook and
    compress), all in numpy: a handful of passes over the edge arrays for typical graphs, no Python loop per
    edge, no N x N anything.

    Parameters
    ----------
    n
        Number of nodes (indices ``0 .. n-1``).
    first, second
        Edge end points (equal-length integer arrays).

    Returns
    -------
    numpy.ndarray
        ``labels[i]`` = smallest index in ``i``'s component (``i`` itself for an isolated node).
    """
    labels = np.arange(n, dtype=np.int64)
    a = np.asarray(first, dtype=np.int64)
    b = np.asarray(second, dtype=np.int64)
    if a.size == 0:
        return labels
    while True:
        la = labels[a]
        lb = labels[b]
        low = np.minimum(la, lb)
        high = np.maximum(la, lb)
        changed = low != high
        if not changed.any():
            return labels
        # hook: each root label points at the smallest label it is connected to
        np.minimum.at(labels, high[changed], low[changed])
        # compress: pointer jumping until every node points at a root
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


def groups_from_pairs(n: int, first: npt.ArrayLike, second: npt.ArrayLike) -> list[list[int]]:
    """Groups (connected components with at least two members) of the graph given by the pairs.

    Parameters
    ----------
    n
        Number of nodes.
    first, second
        Edge end points.

    Returns
    -------
    list of list of int
        Each group's node indices ascending; groups ordered by their first (smallest) member.
    """
    labels = component_labels(n, first, second)
    counts = np.bincount(labels, minlength=n)
    members = np.flatnonzero(counts[labels] > 1)
    if members.size == 0:
        return []
    member_labels = labels[members]
    order = np.lexsort((members, member_labels))
    members = members[order]
    member_labels = member_labels[order]
    cuts = np.flatnonzero(np.diff(member_labels)) + 1
    return [chunk.tolist() for chunk in np.split(members, cuts)]
