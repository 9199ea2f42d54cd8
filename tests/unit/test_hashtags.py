"""Hashtag normalisation and the account filter, against the reference function."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockpuppet.errors import InputError
from sockpuppet.hashtags import get_hashtag_accounts, normalize_hashtag
from tests.reference import get_hashtag_accounts as ref_get_hashtag_accounts

TAGS = ["#a", "#A", "#b", "#diedsuddenly", "#DiedSuddenly"]
posts_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "author_id": st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
            "is_repost": st.booleans(),
            "hashtags": st.one_of(st.none(), st.lists(st.sampled_from(TAGS), max_size=3, unique=True)),
        }
    ),
    max_size=30,
)


@pytest.mark.parametrize(("tag", "expected"), [("diedsuddenly", "#diedsuddenly"), ("#a", "#a"), (" #b ", "#b")])
def test_normalize_hashtag(tag: str, expected: str) -> None:
    assert normalize_hashtag(tag) == expected


@pytest.mark.parametrize("tag", ["", "   ", "#", "two words", None, 5])
def test_normalize_hashtag_rejects(tag: object) -> None:
    with pytest.raises(InputError) as info:
        normalize_hashtag(tag)
    assert info.value.details[0]["loc"] == ["hashtag"]


@given(posts=posts_strategy, tag=st.sampled_from(TAGS))
def test_same_accounts_as_reference(posts: list[dict], tag: str) -> None:
    # GIVEN any posts the reference accepts WHEN filtered THEN the same accounts (as a set), each once
    ours = get_hashtag_accounts(posts, tag)
    assert set(ours) == set(ref_get_hashtag_accounts(posts, tag))
    assert len(ours) == len(set(ours))


@given(posts=posts_strategy)
def test_case_insensitive_folds_both_sides(posts: list[dict]) -> None:
    # GIVEN any posts WHEN matched case-insensitively THEN it is the union over the tag's case variants
    expected = set(ref_get_hashtag_accounts(posts, "#diedsuddenly")) | set(
        ref_get_hashtag_accounts(posts, "#DiedSuddenly")
    )
    assert set(get_hashtag_accounts(posts, "#DIEDSUDDENLY", match="case_insensitive")) == expected


def test_first_seen_order_reposts_and_pipe_strings() -> None:
    # GIVEN TSV-style posts: pipe strings, "false"/"true" strings, a repost-only author
    posts = [
        {"author_id": "b", "is_repost": "false", "hashtags": "#x|#died"},
        {"author_id": "r", "is_repost": "true", "hashtags": "#died"},
        {"author_id": "a", "is_repost": False, "hashtags": ["#died"]},
        {"author_id": "b", "is_repost": False, "hashtags": ["#died"]},
        {"author_id": "s", "is_repost": False, "hashtags": "#diedsuddenly"},
    ]
    # WHEN filtered on a bare tag THEN first-seen order, reposts excluded, pipe strings split (no substring match)
    assert get_hashtag_accounts(posts, "died") == ["b", "a"]


def test_unknown_match_mode() -> None:
    with pytest.raises(InputError):
        get_hashtag_accounts([], "#a", match="fuzzy")  # type: ignore[arg-type]
