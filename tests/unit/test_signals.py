"""Co-hashtag pairs, creation bursts and clusters against the brute-force oracles of the contract's section 5."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from sockpuppet import InputError, co_hashtag_pairs, creation_bursts, find_similar_accounts, read_accounts, read_posts
from sockpuppet.loaders import read_account_columns, read_post_columns
from sockpuppet.signals import _distinct_rows, burst_arrays, co_hashtag_arrays, parse_signals, stable_argsort
from tests.signals_oracle import oracle_bursts, oracle_clusters, oracle_co_hashtag

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
BASE = datetime(2023, 12, 1, 12, 0, 0, tzinfo=UTC)
IDS = [f"a{i}" for i in range(5)]
NAMES = ["bob", "bobb", "bob_1", "b0b", "alice", "alicia", "", None]
TAGS = ["#t", "#T", "#u", "#v"]
# offsets in microseconds around the window edges (60 s, 3600 s) and identical times
OFFSETS_US = [0, 0, 1, 59_999_999, 60_000_000, 60_000_001, 120_000_000, 3_600_000_000, 3_600_000_001, 7_200_000_000]


def render_time(offset_us: int, style: int) -> object:
    """One instant in one of the accepted spellings."""
    moment = BASE + timedelta(microseconds=offset_us)
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond:06d}" if moment.microsecond else "")
    if style == 1:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + "Z"
    if style == 2:
        shifted = moment.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=2)
        return shifted.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+02:00"
    if style == 5:
        shifted = moment.astimezone(UTC).replace(tzinfo=None) - timedelta(hours=5, minutes=30)
        return shifted.strftime("%Y-%m-%dT%H:%M:%S.%f") + "999-0530"  # digits past the microsecond are dropped
    if style == 6:
        return moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{moment.microsecond:06d}" if moment.microsecond else "")
    seconds = int(moment.timestamp())
    if moment.microsecond == 0:
        return seconds if style == 3 else str(seconds)
    return f"{seconds}.{moment.microsecond:06d}"


STYLES = st.sampled_from([0, 1, 2, 3, 4, 5, 6])
times = st.builds(render_time, st.sampled_from(OFFSETS_US), STYLES)
posts_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "author_id": st.sampled_from([*IDS, "ghost"]),
            "is_repost": st.sampled_from([False, False, False, True]),
            "hashtags": st.one_of(st.none(), st.lists(st.sampled_from(TAGS), min_size=1, max_size=3)),
            "created_at": times,
        }
    ),
    max_size=40,
)


@st.composite
def accounts_strategy(draw: st.DrawFn) -> list[dict]:
    order = draw(st.permutations(IDS))
    count = draw(st.sampled_from([len(IDS), len(IDS), len(IDS) - 1, 0]))
    accounts = [
        {
            "id": ident,
            "screen_name": draw(st.sampled_from(NAMES)),
            "created_at": draw(st.one_of(st.none(), st.just(""), times, times, times)),
        }
        for ident in order[:count]  # some authors have no account record
    ]
    if accounts and draw(st.booleans()):
        accounts.append(dict(draw(st.sampled_from(accounts))))  # an identical duplicate record
    return accounts


@settings(max_examples=300, deadline=None)
@given(
    posts=posts_strategy,
    accounts=accounts_strategy(),
    window=st.sampled_from([0, 1e-6, 59.999999, 60, 60.000001, 3600]),
    min_shared=st.integers(1, 3),
    match=st.sampled_from(["exact", "case_insensitive"]),
)
def test_co_hashtag_pairs_match_the_oracle(
    posts: list[dict], accounts: list[dict], window: float, min_shared: int, match: str
) -> None:
    # GIVEN random posts (ties at the window edge, identical times, many posts per account, reposts, case variants)
    # WHEN co-hashtag pairs are computed THEN exactly the brute-force pairs, in the same order
    found = co_hashtag_pairs(
        posts, accounts, hashtag="t", window_seconds=window, min_shared=min_shared, hashtag_match=match
    )
    expected = oracle_co_hashtag(posts, accounts, "#t", window, min_shared, match)
    target(float(len(expected)))
    assert [list(pair) for pair in found] == expected


@settings(max_examples=300, deadline=None)
@given(
    posts=posts_strategy,
    accounts=accounts_strategy(),
    window=st.sampled_from([1e-6, 60, 3600, 3600.000001, 7200]),
    min_accounts=st.integers(2, 4),
    match=st.sampled_from(["exact", "case_insensitive"]),
)
def test_creation_bursts_match_the_oracle(
    posts: list[dict], accounts: list[dict], window: float, min_accounts: int, match: str
) -> None:
    # GIVEN random creation times (missing ones, identical ones, gaps of exactly the window)
    # WHEN bursts are computed THEN exactly the oracle's maximal runs
    found = creation_bursts(
        posts, accounts, hashtag="#t", window_seconds=window, min_accounts=min_accounts, hashtag_match=match
    )
    expected = oracle_bursts(posts, accounts, "#t", window, min_accounts, match)
    target(float(len(expected)))
    assert found == expected


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 4), st.sampled_from([0, 0, 1])), min_size=len(IDS), max_size=len(IDS)),
    styles=st.lists(STYLES, min_size=len(IDS), max_size=len(IDS)),
    min_accounts=st.integers(2, 4),
)
def test_bursts_on_a_grid_of_window_multiples(
    steps: list[tuple[int, int]], styles: list[int], min_accounts: int
) -> None:
    # GIVEN creation times on multiples of the window (gaps of exactly the window, identical times, one microsecond
    # more) in mixed spellings WHEN bursts are computed THEN exactly the oracle's runs
    posts = [{"author_id": ident, "is_repost": False, "hashtags": ["#t"]} for ident in IDS]
    accounts = [
        {"id": ident, "screen_name": ident, "created_at": render_time(k * 60_000_000 + extra, style)}
        for ident, (k, extra), style in zip(IDS, steps, styles, strict=True)
    ]
    found = creation_bursts(posts, accounts, hashtag="#t", window_seconds=60, min_accounts=min_accounts)
    assert found == oracle_bursts(posts, accounts, "#t", 60, min_accounts)


@settings(max_examples=200, deadline=None)
@given(
    posts=posts_strategy,
    accounts=accounts_strategy(),
    threshold=st.sampled_from([0.0, 0.5, 0.6, 0.75]),
    match=st.sampled_from(["exact", "case_insensitive"]),
    with_co=st.booleans(),
    with_bursts=st.booleans(),
)
def test_job_signals_match_the_oracles(
    posts: list[dict], accounts: list[dict], threshold: float, match: str, with_co: bool, with_bursts: bool
) -> None:
    # GIVEN random records WHEN the job runs with clusters (and maybe the other signals, non-default parameters)
    # THEN every signal equals its oracle and the original fields are unchanged
    signals: dict = {"clusters": True}
    co = {"window_seconds": 60, "min_shared": 1}
    bursts = {"window_seconds": 7200, "min_accounts": 2}
    if with_co:
        signals["co_hashtag"] = co
    if with_bursts:
        signals["creation_bursts"] = bursts
    result = find_similar_accounts(
        posts, accounts, hashtag="#t", min_similarity=threshold, hashtag_match=match, signals=signals
    )
    plain = find_similar_accounts(posts, accounts, hashtag="#t", min_similarity=threshold, hashtag_match=match)
    body = result.to_dict()
    assert {k: v for k, v in body.items() if k not in ("co_hashtag_pairs", "creation_bursts", "clusters")} == (
        plain.to_dict()
    )
    co_params = (60, 1) if with_co else (60, 2)
    burst_params = (7200, 2) if with_bursts else (3600, 3)
    assert body["clusters"] == oracle_clusters(
        posts,
        accounts,
        "#t",
        threshold,
        co_window=co_params[0],
        min_shared=co_params[1],
        burst_window=burst_params[0],
        min_accounts=burst_params[1],
        match=match,
    )
    if with_co:
        assert body["co_hashtag_pairs"] == oracle_co_hashtag(posts, accounts, "#t", 60, 1, match)
    else:
        assert "co_hashtag_pairs" not in body
    if with_bursts:
        assert body["creation_bursts"] == oracle_bursts(posts, accounts, "#t", 7200, 2, match)
    else:
        assert "creation_bursts" not in body


@settings(max_examples=100, deadline=None)
@given(
    events=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 200), st.one_of(st.integers(0, 3), st.just(2))),
        min_size=0,
        max_size=120,
    ),
    window=st.integers(0, 60),
    min_shared=st.integers(1, 3),
)
def test_arrays_many_posts_per_account(events: list[tuple[int, int, int]], window: int, min_shared: int) -> None:
    # GIVEN dense events (few accounts, many posts each, many identical times, one hashtag more frequent: the sweep
    # leaves it out and tests only the candidate pairs for it) WHEN swept on columns
    # THEN the pairs equal the all-pairs definition
    _assert_all_pairs_definition(events, n_accounts=6, window=window, min_shared=min_shared)


_one_account = st.tuples(
    st.lists(st.integers(0, 12), min_size=1, max_size=3).filter(lambda times: len(times) == 1 or times[0] % 3 == 0),
    st.lists(st.tuples(st.integers(0, 12), st.integers(1, 2)), max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(accounts=st.lists(_one_account, max_size=12), window=st.integers(0, 6), min_shared=st.integers(2, 3))
def test_arrays_mostly_one_post_per_account(
    accounts: list[tuple[list[int], list[tuple[int, int]]]], window: int, min_shared: int
) -> None:
    # GIVEN accounts that mostly post the frequent hashtag 0 once (some several times) plus a few other hashtags, so
    # the candidate pairs compare two single times or search the events, with ties at the window
    events = [(a, t, 0) for a, (heavy, _) in enumerate(accounts) for t in heavy]
    events += [(a, t, tag) for a, (_, light) in enumerate(accounts) for t, tag in light]
    # WHEN swept on columns THEN the pairs equal the all-pairs definition
    _assert_all_pairs_definition(events, n_accounts=max(len(accounts), 1), window=window, min_shared=min_shared)


def _assert_all_pairs_definition(
    events: list[tuple[int, int, int]], *, n_accounts: int, window: int, min_shared: int
) -> None:
    account, time, tag = (
        (np.array(column, dtype=np.int64) for column in zip(*events, strict=True))
        if events
        else (np.zeros(0, dtype=np.int64),) * 3
    )
    found = co_hashtag_arrays(account, time, tag, n_accounts=n_accounts, window=window, min_shared=min_shared)
    shared: dict[tuple[int, int], set[int]] = {}
    for a, ta, ha in events:
        for b, tb, hb in events:
            if a < b and ha == hb and abs(ta - tb) <= window:
                shared.setdefault((a, b), set()).add(ha)
    expected = sorted((a, b, sorted(s)) for (a, b), s in shared.items() if len(s) >= min_shared)
    got = [
        (a, b, found.tags[found.tag_ptr[i] : found.tag_ptr[i + 1]].tolist())
        for i, (a, b) in enumerate(zip(found.first.tolist(), found.second.tolist(), strict=True))
    ]
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5)), max_size=50),
    scale=st.sampled_from([1, 3, 1 << 20, 1 << 40]),
    offset=st.sampled_from([0, -7, 1 << 30]),
)
def test_distinct_rows_by_bitmap_or_sort(rows: list[tuple[int, int]], scale: int, offset: int) -> None:
    # GIVEN rows of two integer keys spread over a small range (read from a bitmap) or a wide one (sorted)
    keys = [(a * scale + offset, b) for a, b in rows]
    first = np.array([a for a, _ in keys], dtype=np.int64)
    second = np.array([b for _, b in keys], dtype=np.int64)
    # WHEN the distinct rows are taken
    got = list(zip(*(column.tolist() for column in _distinct_rows((first, second))), strict=True)) if keys else []
    # THEN they are the sorted set of rows
    assert got == sorted(set(keys))


def test_bursts_on_columns_with_ties_and_gaps() -> None:
    # GIVEN times with a gap of exactly the window and identical times WHEN bursts are found THEN runs by (time, index)
    time = np.array([10, 0, 5, 5, 100, 0, 16, 200], dtype=np.int64)
    present = np.array([True, True, True, True, True, False, True, True])
    found = burst_arrays(time, present, window=5, min_accounts=2)
    assert found.order.tolist() == [1, 2, 3, 0]
    assert found.ptr.tolist() == [0, 4]
    assert (found.start.tolist(), found.end.tolist()) == ([0], [10])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62) | st.integers(min_value=0, max_value=3), max_size=60))
def test_stable_argsort_equals_numpy_stable(values: list[int]) -> None:
    # GIVEN integers with many ties (and sorted or reversed runs) WHEN argsorted THEN numpy's stable order, exactly
    array = np.array(values, dtype=np.int64)
    for candidate in (array, np.sort(array), np.sort(array)[::-1]):
        assert stable_argsort(candidate).tolist() == np.argsort(candidate, kind="stable").tolist()


def test_sample_planted_clusters_have_evidence() -> None:
    # GIVEN the committed sample WHEN the job runs with all signals THEN every planted cluster is a cluster
    posts, accounts = read_posts(SAMPLE / "posts.tsv"), read_accounts(SAMPLE / "accounts.tsv")
    result = find_similar_accounts(
        posts, accounts, hashtag="#diedsuddenly", signals={"co_hashtag": {}, "creation_bursts": {}, "clusters": True}
    )
    assert result.clusters is not None and result.co_hashtag_pairs is not None and result.creation_bursts is not None
    names = [{m["screen_name"] for m in cluster["members"]} for cluster in result.clusters]
    assert any({"breaking_news_nyc", "breaking_news_ny"} <= group for group in names)
    sizes = [len(cluster["members"]) for cluster in result.clusters]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize(
    ("kwargs", "loc"),
    [
        ({"window_seconds": -1}, ["window_seconds"]),
        ({"window_seconds": True}, ["window_seconds"]),
        ({"window_seconds": float("inf")}, ["window_seconds"]),
        ({"min_shared": 0}, ["min_shared"]),
        ({"hashtag_match": "fuzzy"}, ["hashtag_match"]),
    ],
)
def test_co_hashtag_parameter_errors(kwargs: dict, loc: list) -> None:
    with pytest.raises(InputError) as info:
        co_hashtag_pairs([], [], **{"hashtag": "#t", **kwargs})
    assert info.value.details[0]["loc"] == loc


@pytest.mark.parametrize(
    ("kwargs", "loc"),
    [({"window_seconds": 0}, ["window_seconds"]), ({"min_accounts": 1}, ["min_accounts"])],
)
def test_burst_parameter_errors(kwargs: dict, loc: list) -> None:
    with pytest.raises(InputError) as info:
        creation_bursts([], [], **{"hashtag": "#t", **kwargs})
    assert info.value.details[0]["loc"] == loc


@pytest.mark.parametrize(
    ("signals", "loc"),
    [
        ("yes", ["signals"]),
        ({"co_hashtag": {"window_seconds": -1}}, ["signals", "co_hashtag", "window_seconds"]),
        ({"co_hashtag": {"min_shared": 0}}, ["signals", "co_hashtag", "min_shared"]),
        ({"creation_bursts": {"window_seconds": 0}}, ["signals", "creation_bursts", "window_seconds"]),
        ({"creation_bursts": {"min_accounts": 1}}, ["signals", "creation_bursts", "min_accounts"]),
        ({"creation_bursts": {"nope": 1}}, ["signals", "creation_bursts", "nope"]),
        ({"clusters": "true"}, ["signals", "clusters"]),
        ({"other": True}, ["signals", "other"]),
    ],
)
def test_signals_argument_errors(signals: object, loc: list) -> None:
    with pytest.raises(InputError) as info:
        parse_signals(signals)
    assert info.value.details[0]["loc"] == loc


POSTS = [
    {"author_id": "a", "is_repost": False, "hashtags": ["#t", "#x"], "created_at": "2023-12-01T00:00:00"},
    {"author_id": "b", "is_repost": False, "hashtags": ["#t", "#x"], "created_at": "2023-12-01 00:01:00Z"},
    {"author_id": "b", "is_repost": True, "hashtags": ["#t"], "created_at": "garbage"},
]
ACCOUNTS = [
    {"id": "a", "screen_name": "bob", "created_at": 1700000000},
    {"id": "b", "screen_name": "bobb", "created_at": None},
]


def test_unparseable_times_name_their_location() -> None:
    # GIVEN a needed post time that is not a time WHEN co-hashtag pairs are asked THEN 422-style error at its location
    bad = [POSTS[0], {**POSTS[1], "created_at": "yesterday"}]
    with pytest.raises(InputError) as info:
        co_hashtag_pairs(bad, ACCOUNTS, hashtag="#t")
    assert info.value.details[0]["loc"] == ["posts", 1, "created_at"]
    # a needed post without any time is an error too
    with pytest.raises(InputError) as info:
        co_hashtag_pairs([POSTS[0], {k: v for k, v in POSTS[1].items() if k != "created_at"}], ACCOUNTS, hashtag="t")
    assert info.value.details[0]["loc"] == ["posts", 1, "created_at"]
    # an account time that is not a time, when bursts (or clusters) need it
    with pytest.raises(InputError) as info:
        find_similar_accounts(
            POSTS,
            [ACCOUNTS[0], {**ACCOUNTS[1], "created_at": "2023-02-30T00:00:00"}],
            hashtag="#t",
            signals={"creation_bursts": {"min_accounts": 2}},
        )
    assert info.value.details[0]["loc"] == ["accounts", 1, "created_at"]


def test_reposts_and_unneeded_times_are_ignored() -> None:
    # GIVEN a repost with a garbage time and an account without a time WHEN signals run THEN no error, exact result
    assert co_hashtag_pairs(POSTS, ACCOUNTS, hashtag="#t") == [("a", "b", 2, ["#t", "#x"])]
    assert co_hashtag_pairs(POSTS, ACCOUNTS, hashtag="#t", window_seconds=59.999999) == []
    assert creation_bursts(POSTS, ACCOUNTS, hashtag="#t", min_accounts=2) == []
    result = find_similar_accounts(POSTS, ACCOUNTS, hashtag="#t", min_similarity=0.5, signals={"clusters": True})
    assert result.clusters == [
        {
            "members": [
                {"id": "a", "screen_name": "bob", "created_at": "2023-11-14T22:13:20Z"},
                {"id": "b", "screen_name": "bobb", "created_at": None},
            ],
            "pair_count": 1,
            "min_similarity": 0.75,
            "max_similarity": 0.75,
            "co_hashtag_pairs": [["a", "b", 2, ["#t", "#x"]]],
            "creation_span_seconds": None,
            "members_in_bursts": [],
        }
    ]
    assert "co_hashtag_pairs" not in result.to_dict() and "creation_bursts" not in result.to_dict()


def _tsv(header: list[str], rows: list[list[object]]) -> bytes:
    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return "|".join(value)
        return str(value)

    return ("\t".join(header) + "\n" + "".join("\t".join(map(cell, row)) + "\n" for row in rows)).encode()


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except InputError as exc:
        return "error", exc.details


@settings(max_examples=150, deadline=None)
@given(
    posts=posts_strategy,
    accounts=accounts_strategy(),
    bad=st.lists(st.tuples(st.booleans(), st.integers(0, 40), st.sampled_from(["yesterday", "2023-02-30 00:00:00"]))),
    threshold=st.sampled_from([0.0, 0.5, 0.75]),
    match=st.sampled_from(["exact", "case_insensitive"]),
    fmt=st.sampled_from(["tsv", "tsv", "jsonl"]),
)
def test_signals_on_loaded_columns_equal_the_record_path(
    posts: list[dict], accounts: list[dict], bad: list[tuple[bool, int, str]], threshold: float, match: str, fmt: str
) -> None:
    # GIVEN the records written as a TSV or JSON Lines file, some times unparseable
    for on_posts, index, text in bad:
        records = posts if on_posts else accounts
        if records:
            records[index % len(records)]["created_at"] = text
    if fmt == "tsv":
        post_bytes = _tsv(
            ["author_id", "is_repost", "hashtags", "created_at"],
            [[p["author_id"], p["is_repost"], p["hashtags"], p["created_at"]] for p in posts],
        )
        account_bytes = _tsv(
            ["id", "screen_name", "created_at"], [[a["id"], a["screen_name"], a["created_at"]] for a in accounts]
        )
    else:
        post_bytes = b"".join(orjson.dumps(p) + b"\n" for p in posts)
        account_bytes = b"".join(orjson.dumps(a) + b"\n" for a in accounts)
    # WHEN the loaders read them into columns (times parsed as they are read, from the bytes for TSV)
    post_columns = read_post_columns(post_bytes, format=fmt)
    account_columns = read_account_columns(account_bytes, format=fmt)
    # THEN every signal, and every located error, equals the record path over the same file's records
    post_records, account_records = read_posts(post_bytes, format=fmt), read_accounts(account_bytes, format=fmt)
    signals = {"co_hashtag": {"min_shared": 1}, "creation_bursts": {"min_accounts": 2}, "clusters": True}
    for call in (
        lambda p, a: co_hashtag_pairs(p, a, hashtag="#t", min_shared=1, hashtag_match=match),
        lambda p, a: creation_bursts(p, a, hashtag="#t", min_accounts=2, hashtag_match=match),
        lambda p, a: find_similar_accounts(
            p, a, hashtag="#t", min_similarity=threshold, hashtag_match=match, signals=signals
        ).to_dict(),
    ):
        got = _outcome(lambda call=call: call(post_columns, account_columns))
        assert got == _outcome(lambda call=call: call(post_records, account_records))
    if post_records and not any(on_posts for on_posts, _, _ in bad):
        assert _outcome(lambda: co_hashtag_pairs(post_columns, account_columns, hashtag="#t", min_shared=1)) == (
            "ok",
            [tuple(pair) for pair in oracle_co_hashtag(post_records, account_records, "#t", 60, 1, "exact")],
        )
