"""Record normalisation and validation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockpuppet.errors import InputError
from sockpuppet.records import (
    MAX_DETAILS,
    account_columns,
    account_rows,
    coerce_hashtags,
    coerce_id,
    coerce_is_repost,
    coerce_screen_name,
    normalize_accounts,
    normalize_posts,
    post_columns,
    post_rows,
)

# every accepted form and a few refused ones, per field (the fast column path must agree with the coercions)
ids = st.one_of(st.text(max_size=3), st.integers(-(1 << 64), 1 << 64), st.booleans(), st.none(), st.floats())
reposts = st.one_of(st.booleans(), st.integers(-1, 2), st.sampled_from(["true", " FALSE ", "1", "0", "yes", ""]))
tags = st.one_of(
    st.none(),
    st.text(alphabet="#a|", max_size=5),
    st.lists(st.text(alphabet="#a", max_size=3), max_size=3),
    st.lists(st.one_of(st.text(max_size=2), st.integers()), max_size=2),
    st.integers(),
)
names = st.one_of(st.none(), st.text(max_size=3), st.integers())


def _records(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[list[Any]]:
    record = st.fixed_dictionaries({}, optional=fields) | st.fixed_dictionaries(fields)
    return st.lists(st.one_of(record, record, record, st.just("nope"), st.just([1])), max_size=6)


def _coerced(records: list[Any], fields: dict[str, Any]) -> list[tuple[Any, ...]] | None:
    try:
        return [tuple(coerce(record[field]) for field, coerce in fields.items()) for record in records]
    except Exception:
        return None


@settings(max_examples=500, deadline=None)
@given(posts=_records({"author_id": ids, "is_repost": reposts, "hashtags": tags}))
def test_post_columns_are_the_per_record_coercions(posts: list[Any]) -> None:
    # GIVEN posts of any accepted or refused forms WHEN the fast column path accepts them
    # THEN its columns are exactly the per-record coercions (and post_rows gives the same rows as before)
    columns = post_columns(posts)
    coerced = _coerced(posts, {"author_id": coerce_id, "is_repost": coerce_is_repost, "hashtags": coerce_hashtags})
    if columns is not None:
        assert list(zip(*columns, strict=True)) == coerced
    if coerced is not None:
        assert post_rows(posts) == coerced


@settings(max_examples=300, deadline=None)
@given(accounts=_records({"id": ids, "screen_name": names}))
def test_account_columns_are_the_per_record_coercions(accounts: list[Any]) -> None:
    # GIVEN accounts of any forms WHEN the fast column path accepts them THEN exactly the per-record coercions
    columns = account_columns(accounts)
    coerced = _coerced(accounts, {"id": coerce_id, "screen_name": coerce_screen_name})
    if columns is not None:
        assert list(zip(*columns, strict=True)) == coerced
    if coerced is not None:
        assert account_rows(accounts) == coerced


def test_common_forms_take_the_column_path() -> None:
    # GIVEN posts and accounts of the usual JSON shapes THEN the column path takes them (not only the fallback)
    posts = [
        {"author_id": "a", "is_repost": False, "hashtags": ["#x"]},
        {"author_id": "b", "is_repost": True, "hashtags": "#x|#y"},
        {"author_id": "c", "is_repost": False, "hashtags": []},
    ]
    assert post_columns(posts) == (["a", "b", "c"], [False, True, False], [["#x"], ["#x", "#y"], None])
    assert account_columns([{"id": "a", "screen_name": None}]) == (["a"], [None])


def test_posts_normalised_from_json_and_tsv_shapes() -> None:
    # GIVEN posts with int ids, TSV-style booleans, pipe strings and lists, plus extra fields
    posts = [
        {"author_id": 7, "is_repost": "TRUE", "hashtags": "#a|#b", "text": "x", "extra": 1},
        {"author_id": "u2", "is_repost": 0, "hashtags": ["#c"]},
        {"author_id": "u3", "is_repost": False, "hashtags": None},
        {"author_id": "u4", "is_repost": "0", "hashtags": ""},
    ]
    # WHEN they are normalised
    rows = post_rows(posts)
    normalised = normalize_posts(posts)
    # THEN ids are strings, is_repost is a bool, hashtags a list or None, extra fields kept untouched
    assert rows == [("7", True, ["#a", "#b"]), ("u2", False, ["#c"]), ("u3", False, None), ("u4", False, None)]
    assert normalised[0] == {"author_id": "7", "is_repost": True, "hashtags": ["#a", "#b"], "text": "x", "extra": 1}


@pytest.mark.parametrize(
    ("field", "value", "msg"),
    [
        ("author_id", True, "must be a string or an integer, got bool"),
        ("author_id", 1.5, "must be a string or an integer, got float"),
        ("author_id", None, "must be a string or an integer, got null"),
        ("author_id", "", "must be a non-empty string"),
        ("author_id", 1 << 63, "an integer id must fit in a signed 64-bit integer (send larger ids as strings)"),
        ("author_id", -(1 << 63) - 1, "an integer id must fit in a signed 64-bit integer (send larger ids as strings)"),
        ("is_repost", "yes", "must be a boolean (true/false/1/0), got 'yes'"),
        ("is_repost", 2, "must be a boolean, got int"),
        ("hashtags", [1], "must be a list of strings"),
        ("hashtags", 5, "must be a list of strings, a pipe-separated string or null, got int"),
    ],
)
def test_invalid_post_value_names_index_and_field(field: str, value: object, msg: str) -> None:
    # GIVEN one bad post among good ones
    posts = [{"author_id": "a", "is_repost": False, "hashtags": None} for _ in range(4)]
    posts[3] = {**posts[3], field: value}
    # WHEN validated THEN the error names the record index and the field
    with pytest.raises(InputError) as info:
        post_rows(posts)
    assert info.value.details == [{"loc": ["posts", 3, field], "msg": msg}]
    assert f"posts.3.{field}" in info.value.message


def test_missing_fields_and_non_objects_are_all_reported() -> None:
    # GIVEN accounts with a missing field, a non-object and a bad screen name
    accounts = [{"id": "a"}, "nope", {"id": "c", "screen_name": 3}, {"id": 4, "screen_name": None}]
    # WHEN validated
    with pytest.raises(InputError) as info:
        account_rows(accounts)
    # THEN every problem is listed with its location
    assert info.value.details == [
        {"loc": ["accounts", 0, "screen_name"], "msg": "field required"},
        {"loc": ["accounts", 1], "msg": "must be an object, got str"},
        {"loc": ["accounts", 2, "screen_name"], "msg": "must be a string or null, got int"},
    ]
    assert "and 2 more problems" in info.value.message


def test_details_are_capped() -> None:
    # GIVEN 100 posts all missing author_id
    posts = [{"is_repost": False, "hashtags": None}] * 100
    # WHEN validated THEN at most MAX_DETAILS details, the message counts them all
    with pytest.raises(InputError) as info:
        post_rows(posts)
    assert len(info.value.details) == MAX_DETAILS
    assert "99 more problems" in info.value.message


def test_not_a_list_is_rejected() -> None:
    # GIVEN a dict instead of a list WHEN validated THEN the error is at the collection
    with pytest.raises(InputError) as info:
        normalize_accounts({"id": "a", "screen_name": "x"})  # type: ignore[arg-type]
    assert info.value.details[0]["loc"] == ["accounts"]


def test_custom_location_prefix() -> None:
    # GIVEN a loader-style location function WHEN a record is bad THEN its loc uses that prefix
    with pytest.raises(InputError) as info:
        account_rows([{"id": None, "screen_name": "x"}], loc_of=lambda i: ("accounts", "line", i + 2))
    assert info.value.details[0]["loc"] == ["accounts", "line", 2, "id"]
