"""The whole job, against the reference pipeline of the original exercise."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockpuppet import DeadlineExceeded, InputError, find_similar_accounts, read_accounts, read_posts
from tests.reference import get_hashtag_accounts as ref_get_hashtag_accounts
from tests.reference import get_similar_screen_names as ref_get_similar_screen_names

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def reference_pairs(posts: list[dict], accounts: list[dict], hashtag: str, threshold: float) -> list[tuple]:
    wanted = set(ref_get_hashtag_accounts(posts, hashtag))
    return ref_get_similar_screen_names([a for a in accounts if a["id"] in wanted], threshold)


@pytest.fixture(scope="module")
def sample() -> tuple[list[dict], list[dict]]:
    return read_posts(SAMPLE / "posts.tsv"), read_accounts(SAMPLE / "accounts.tsv")


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.7, 0.8, 0.9, 1.0])
def test_sample_matches_reference(sample: tuple[list[dict], list[dict]], threshold: float) -> None:
    # GIVEN the committed sample WHEN the job runs THEN exactly the reference pipeline's pairs, in its order
    posts, accounts = sample
    result = find_similar_accounts(posts, accounts, hashtag="#diedsuddenly", min_similarity=threshold)
    expected = reference_pairs(posts, accounts, "#diedsuddenly", threshold)
    assert result.similar_account_pairs == expected
    assert result.pair_count == len(expected)
    assert not result.truncated


def test_sample_counts_and_groups(sample: tuple[list[dict], list[dict]]) -> None:
    # GIVEN the sample WHEN run at 0.8 with groups THEN planted clusters come out as groups
    posts, accounts = sample
    result = find_similar_accounts(posts, accounts, hashtag="diedsuddenly", with_groups=True)
    names = {a["id"]: a["screen_name"] for a in accounts}
    assert result.hashtag == "#diedsuddenly"
    assert result.pair_count > 0
    assert result.authors_without_account > 0
    assert result.accounts_matched == len(
        {a["id"] for a in accounts} & set(ref_get_hashtag_accounts(posts, "#diedsuddenly"))
    )
    assert result.groups is not None
    grouped = [{names[i] for i in group} for group in result.groups]
    assert {"breaking_news_nyc", "breaking_news_ny", "breaking_news_nyc2"} <= set().union(*grouped)
    members = [m for group in result.groups for m in group]
    assert len(members) == len(set(members))
    assert {i for pair in result.similar_account_pairs for i in pair[:2]} == set(members)


ACCOUNT_IDS = [f"a{i}" for i in range(8)]
NAMES = ["bob", "bobb", "bob_1", "b0b", "alice", "alicia", "", None, "breaking_news_nyc", "breaking_news_ny"]


@settings(max_examples=150, deadline=None)
@given(
    posts=st.lists(
        st.fixed_dictionaries(
            {
                "author_id": st.sampled_from([*ACCOUNT_IDS, "ghost"]),
                "is_repost": st.booleans(),
                "hashtags": st.one_of(st.none(), st.lists(st.sampled_from(["#t", "#u"]), max_size=2, unique=True)),
            }
        ),
        max_size=25,
    ),
    names=st.lists(st.sampled_from(NAMES), min_size=len(ACCOUNT_IDS), max_size=len(ACCOUNT_IDS)),
    order=st.permutations(ACCOUNT_IDS),
    threshold=st.sampled_from([0.0, 0.3, 0.5, 0.6, 0.75, 0.8, 0.9, 1.0]),
)
def test_random_inputs_match_reference(posts: list[dict], names: list, order: list[str], threshold: float) -> None:
    # GIVEN random posts and accounts with unique ids WHEN the job runs THEN the reference pipeline's exact pairs
    accounts = [{"id": ident, "screen_name": name} for ident, name in zip(order, names, strict=True)]
    named = {a["id"] for a in accounts if a["screen_name"]}
    result = find_similar_accounts(posts, accounts, hashtag="#t", min_similarity=threshold)
    # the contract's one deliberate difference: empty / missing screen names never pair (the reference pairs "" with "")
    expected = [p for p in reference_pairs(posts, accounts, "#t", threshold) if p[0] in named and p[1] in named]
    assert result.similar_account_pairs == expected
    authors = set(ref_get_hashtag_accounts(posts, "#t"))
    assert result.authors_without_account == len(authors - set(ACCOUNT_IDS))


def test_duplicates_collapse_and_conflicts_fail() -> None:
    posts = [
        {"author_id": "a", "is_repost": False, "hashtags": ["#t"]},
        {"author_id": "b", "is_repost": False, "hashtags": ["#t"]},
    ]
    same = [{"id": "a", "screen_name": "bob"}, {"id": "b", "screen_name": "bob1"}, {"id": "a", "screen_name": "bob"}]
    # GIVEN an identical duplicate record WHEN run THEN it counts once and is never paired with itself
    result = find_similar_accounts(posts, same, hashtag="t", min_similarity=0.5)
    assert result.accounts_matched == 2
    assert result.similar_account_pairs == [("a", "b", 0.75)]
    # GIVEN the same id with another screen name WHEN run THEN an input error
    with pytest.raises(InputError, match="conflicting duplicate account id") as info:
        find_similar_accounts(posts, [*same, {"id": "b", "screen_name": "eve"}], hashtag="t")
    assert info.value.details[0]["loc"] == ["accounts", 3, "id"]


def test_max_pairs_truncates_but_groups_use_all_pairs() -> None:
    posts = [{"author_id": i, "is_repost": False, "hashtags": ["#t"]} for i in range(4)]
    accounts = [{"id": i, "screen_name": n} for i, n in enumerate(["bob", "bob1", "bob12", "zed"])]
    result = find_similar_accounts(posts, accounts, hashtag="#t", min_similarity=0.5, max_pairs=1, with_groups=True)
    assert result.pair_count == 3
    assert result.similar_account_pairs == [("0", "1", 0.75)]
    assert result.truncated
    assert result.groups == [["0", "1", "2"]]
    body = result.to_dict()
    assert body["similar_account_pairs"] == [["0", "1", 0.75]]
    assert body["result_url"] is None and body["result_expires_at"] is None and body["groups"] == [["0", "1", "2"]]
    assert "groups" not in find_similar_accounts(posts, accounts, hashtag="#t").to_dict()


@pytest.mark.parametrize(
    ("kwargs", "loc"),
    [
        ({"min_similarity": 1.5}, "min_similarity"),
        ({"min_similarity": True}, "min_similarity"),
        ({"min_similarity": float("nan")}, "min_similarity"),
        ({"max_pairs": -1}, "max_pairs"),
        ({"hashtag_match": "fuzzy"}, "hashtag_match"),
        ({"hashtag": ""}, "hashtag"),
    ],
)
def test_parameter_errors(kwargs: dict, loc: str) -> None:
    with pytest.raises(InputError) as info:
        find_similar_accounts([], [], **{"hashtag": "#t", **kwargs})
    assert info.value.details[0]["loc"] == [loc]


def test_deadline_in_the_past() -> None:
    with pytest.raises(DeadlineExceeded):
        find_similar_accounts([], [], hashtag="#t", deadline=time.monotonic() - 1)
