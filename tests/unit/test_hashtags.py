"""Hashtag normalisation, the job's account filter and the drop-in, against the reference function."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockpuppet.errors import InputError
from sockpuppet.hashtags import authors_with_hashtag, get_hashtag_accounts, normalize_hashtag
from sockpuppet.records import post_rows
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


def typed(values: list) -> list[tuple[type, object]]:
    """Values with their types (``1``, ``True`` and ``1.0`` are equal in Python but distinct ids)."""
    return [(type(value), value) for value in values]


any_ids = st.sampled_from([1, True, 1.0, "1", 0, False, "u2", 2, "u3"])
literal_tags = ["", "a", "#a", "#A", "died", "#died", "|", "#a|#b"]
loose_posts = st.lists(
    st.fixed_dictionaries(
        {
            "author_id": any_ids,
            "is_repost": st.sampled_from([True, False, 0, 1, None, "", "false", "true"]),
            "hashtags": st.one_of(
                st.none(),
                st.lists(st.sampled_from(literal_tags), max_size=3),
                st.sampled_from(["", "#a|#b", "#died", "died|#a", "#diedsuddenly"]),
            ),
            "text": st.text(max_size=3),
        }
    ),
    max_size=30,
)


@given(posts=loose_posts, tag=st.sampled_from(literal_tags))
def test_drop_in_equals_reference(posts: list[dict], tag: str) -> None:
    # GIVEN posts as the reference takes them (ids of any type, truthy is_repost values, list or string hashtags)
    # and a literal hashtag (empty, without "#", with a pipe) WHEN filtered THEN the reference's ids exactly, each
    # once (the same element the reference's set keeps when ids are equal across types), in first-seen order
    ours = get_hashtag_accounts(posts, tag)
    reference = ref_get_hashtag_accounts(posts, tag)
    assert sorted(typed(ours), key=repr) == sorted(typed(reference), key=repr)
    seen: dict = {}
    for post in posts:
        if not post["is_repost"] and post["hashtags"] and tag in post["hashtags"]:
            seen.setdefault(post["author_id"], None)
    assert typed(ours) == typed(list(seen))


def test_drop_in_takes_the_hashtag_literally() -> None:
    # GIVEN posts tagged with and without "#" WHEN filtered on a bare tag, "#tag" and "" THEN no "#" is added and
    # an empty tag is not an error (it is "in" every non-empty string, in no list without "")
    posts = [
        {"author_id": "a", "is_repost": False, "hashtags": ["#DiedSuddenly"]},
        {"author_id": "b", "is_repost": False, "hashtags": ["DiedSuddenly"]},
        {"author_id": "c", "is_repost": False, "hashtags": "#x|#DiedSuddenly"},
    ]
    assert get_hashtag_accounts(posts, "DiedSuddenly") == ["b", "c"]
    assert get_hashtag_accounts(posts, "#DiedSuddenly") == ["a", "c"]
    assert get_hashtag_accounts(posts, "") == ["c"]
    for tag in ("DiedSuddenly", "#DiedSuddenly", ""):
        assert set(get_hashtag_accounts(posts, tag)) == set(ref_get_hashtag_accounts(posts, tag))


@given(posts=posts_strategy, tag=st.sampled_from(TAGS))
def test_job_filter_equals_reference(posts: list[dict], tag: str) -> None:
    # GIVEN any posts with list hashtags WHEN the job's filter runs THEN the reference's accounts, each once
    ours = authors_with_hashtag(post_rows(posts), normalize_hashtag(tag))
    assert set(ours) == set(ref_get_hashtag_accounts(posts, tag))
    assert len(ours) == len(set(ours))


@given(posts=posts_strategy)
def test_case_insensitive_folds_both_sides(posts: list[dict]) -> None:
    # GIVEN any posts WHEN matched case-insensitively THEN it is the union over the tag's case variants
    expected = set(ref_get_hashtag_accounts(posts, "#diedsuddenly")) | set(
        ref_get_hashtag_accounts(posts, "#DiedSuddenly")
    )
    assert set(authors_with_hashtag(post_rows(posts), "#DIEDSUDDENLY", match="case_insensitive")) == expected


def test_job_filter_first_seen_order_reposts_and_pipe_strings() -> None:
    # GIVEN TSV-style posts: pipe strings, "false"/"true" strings, a repost-only author
    posts = [
        {"author_id": "b", "is_repost": "false", "hashtags": "#x|#died"},
        {"author_id": "r", "is_repost": "true", "hashtags": "#died"},
        {"author_id": "a", "is_repost": False, "hashtags": ["#died"]},
        {"author_id": "b", "is_repost": False, "hashtags": ["#died"]},
        {"author_id": "s", "is_repost": False, "hashtags": "#diedsuddenly"},
    ]
    # WHEN the job filters on a bare tag THEN "#" added, first-seen order, reposts excluded, pipe strings split
    assert authors_with_hashtag(post_rows(posts), normalize_hashtag("died")) == ["b", "a"]


def test_unknown_match_mode() -> None:
    with pytest.raises(InputError):
        authors_with_hashtag([], "#a", match="fuzzy")  # type: ignore[arg-type]
