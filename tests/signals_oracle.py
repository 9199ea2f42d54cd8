"""Brute-force oracles of the coordination signals, written straight from the contract's section 5.

Deliberately naive and independent of :mod:`sockpuppet.signals` and :mod:`sockpuppet.times`: times are parsed with
:meth:`datetime.fromisoformat` (epoch numbers with :class:`fractions.Fraction`), every pair of matched accounts and
every pair of their posts is compared, windows are tested in exact rational arithmetic, and clusters come from a
plain union-find over the reference function's pairs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fractions import Fraction
from itertools import combinations
from typing import Any

from tests.reference import get_similar_screen_names

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def oracle_time(value: Any) -> Fraction | None:
    """Seconds since the epoch as an exact fraction (microsecond resolution, like ``datetime``); None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Fraction(round(Fraction(value) * 10**6), 10**6)
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        micros = Fraction(value) * 10**6
        return Fraction(micros.numerator // micros.denominator, 10**6)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return Fraction((delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds, 10**6)


def iso(seconds: Fraction) -> str:
    """The oracle's rendering of a time (ISO 8601 UTC with Z, microseconds only when not zero)."""
    micros = int(seconds * 10**6)
    moment = datetime.fromtimestamp(micros // 10**6, tz=UTC).replace(microsecond=micros % 10**6)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"


def _fold(tag: str, match: str) -> str:
    return tag.casefold() if match == "case_insensitive" else tag


def _tags(post: dict, match: str) -> set[str]:
    tags = post["hashtags"]
    if isinstance(tags, str):
        tags = tags.split("|") if tags else []
    return {_fold(t, match) for t in tags or ()}


def matched_accounts(posts: list[dict], accounts: list[dict], hashtag: str, match: str) -> list[dict]:
    """M: first record of each account (input order) whose id posted the hashtag in a non-repost post."""
    tag = hashtag if hashtag.startswith("#") else f"#{hashtag}"
    authors = {str(p["author_id"]) for p in posts if not p["is_repost"] and _fold(tag, match) in _tags(p, match)}
    seen: dict[str, dict] = {}
    for account in accounts:
        seen.setdefault(str(account["id"]), account)
    return [a for ident, a in seen.items() if ident in authors]


def oracle_co_hashtag(
    posts: list[dict], accounts: list[dict], hashtag: str, window: float, min_shared: int, match: str = "exact"
) -> list[list]:
    """Co-hashtag pairs ``[id_a, id_b, |S|, sorted(S)]`` by comparing every pair of posts of every account pair."""
    members = matched_accounts(posts, accounts, hashtag, match)
    ids = [str(a["id"]) for a in members]
    own = {ident: [p for p in posts if not p["is_repost"] and str(p["author_id"]) == ident] for ident in ids}
    limit = Fraction(window)
    out = []
    for a, b in combinations(ids, 2):
        shared: set[str] = set()
        for p in own[a]:
            for q in own[b]:
                tp, tq = oracle_time(p.get("created_at")), oracle_time(q.get("created_at"))
                common = _tags(p, match) & _tags(q, match)
                if common and abs(tp - tq) <= limit:
                    shared |= common
        if len(shared) >= min_shared:
            out.append([a, b, len(shared), sorted(shared)])
    return out


def oracle_bursts(
    posts: list[dict], accounts: list[dict], hashtag: str, window: float, min_accounts: int, match: str = "exact"
) -> list[dict]:
    """Creation bursts: sort by (time, input index), cut where a gap exceeds the window, keep big runs."""
    members = matched_accounts(posts, accounts, hashtag, match)
    timed = [(oracle_time(a.get("created_at")), i, str(a["id"])) for i, a in enumerate(members)]
    timed = sorted(t for t in timed if t[0] is not None)
    runs: list[list[tuple]] = []
    for item in timed:
        if runs and item[0] - runs[-1][-1][0] <= Fraction(window):
            runs[-1].append(item)
        else:
            runs.append([item])
    return [
        {"start": iso(run[0][0]), "end": iso(run[-1][0]), "account_ids": [t[2] for t in run]}
        for run in runs
        if len(run) >= min_accounts
    ]


def oracle_clusters(
    posts: list[dict],
    accounts: list[dict],
    hashtag: str,
    min_similarity: float,
    *,
    co_window: float = 60,
    min_shared: int = 2,
    burst_window: float = 3600,
    min_accounts: int = 3,
    match: str = "exact",
) -> list[dict]:
    """Clusters with evidence: union-find over the reference's pairs of M (named accounts only)."""
    members = matched_accounts(posts, accounts, hashtag, match)
    named = [a for a in members if a["screen_name"]]
    pairs = get_similar_screen_names([{**a, "id": str(a["id"])} for a in named], min_similarity)
    order = {str(a["id"]): i for i, a in enumerate(members)}
    parent = {ident: ident for ident in order}

    def root(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b, _ in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb, key=order.get)] = min(ra, rb, key=order.get)
    components: dict[str, list[str]] = {}
    for ident in order:
        components.setdefault(root(ident), []).append(ident)
    co_pairs = oracle_co_hashtag(posts, accounts, hashtag, co_window, min_shared, match)
    bursty = {
        i for b in oracle_bursts(posts, accounts, hashtag, burst_window, min_accounts, match) for i in b["account_ids"]
    }
    by_id = {str(a["id"]): a for a in members}
    out = []
    for group in components.values():
        if len(group) < 2:
            continue
        inside = set(group)
        scores = [s for a, b, s in pairs if a in inside]
        times = [oracle_time(by_id[i].get("created_at")) for i in group]
        out.append(
            {
                "members": [
                    {"id": i, "screen_name": by_id[i]["screen_name"], "created_at": None if t is None else iso(t)}
                    for i, t in zip(group, times, strict=True)
                ],
                "pair_count": len(scores),
                "min_similarity": min(scores),
                "max_similarity": max(scores),
                "co_hashtag_pairs": [p for p in co_pairs if p[0] in inside and p[1] in inside],
                "creation_span_seconds": None if None in times else float(max(times) - min(times)),
                "members_in_bursts": [i for i in group if i in bursty],
            }
        )
    out.sort(key=lambda c: (-len(c["members"]), order[c["members"][0]["id"]]))
    return out
