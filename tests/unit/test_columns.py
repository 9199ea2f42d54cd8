"""Columnar readers and the job on columns: the same records, errors and results as the record-by-record path."""

from __future__ import annotations

import csv
import gzip
import io
from typing import Any
from unittest import mock

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sockpuppet import InputError, columns, find_similar_accounts, loaders
from sockpuppet.columns import AccountColumns, PostColumns
from sockpuppet.errors import RecordLimitExceeded
from sockpuppet.hashtags import authors_with_hashtag
from sockpuppet.loaders import read_account_columns, read_accounts, read_post_columns, read_posts
from sockpuppet.records import post_rows
from sockpuppet.times import ParsedTimes

POSTS_HEADER = "id\tcreated_at\tauthor_id\tis_repost\ttext\thashtags\n"
ACCOUNTS_HEADER = "id\tcreated_at\tscreen_name\n"
# Pieces of TSV text: words the validators accept or refuse, separators, quotes, carriage returns, non-ASCII
TOKENS = ["a1", "b2", "é", "#x", "#X", "|", "true", "FALSE", "1", "0", "maybe", " ", "\t", "\n", "\r", '"', '""']
TOKENS += ["2023-12-01T12:34:56", "2023-12-01 12:34:56.5Z", "+02:00", "1701434096.25", "2023-02-29T00:00:00"]


def time_answers(column: Any) -> list[Any]:
    """Per value: microseconds, None (absent) or parse_time's message, for raw values or parsed columns alike."""
    parsed = column if isinstance(column, ParsedTimes) else ParsedTimes.parse(column)
    answers: list[Any] = [int(m) if p else None for m, p in zip(parsed.micros, parsed.present, strict=True)]
    for row, (_, message) in parsed.invalid.items():
        answers[row] = message
    return answers


def _outcome(read: Any, data: bytes, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "ok", read(data, **kwargs)
    except InputError as exc:
        return "error", (type(exc).__name__, exc.message, exc.details)


def _post_fields(posts: list[dict[str, Any]]) -> tuple[list, list, list, list]:
    return (
        [p["author_id"] for p in posts],
        [p["is_repost"] for p in posts],
        [p["hashtags"] for p in posts],
        time_answers([p.get("created_at") for p in posts]),
    )


def _column_fields(columns: PostColumns) -> tuple[list, list, list, list]:
    tags = list(columns.hashtag_lists())
    return columns.author_id, columns.is_repost.tolist(), tags, time_answers(columns.created_at or [])


def _assert_same_posts(data: bytes, fmt: str = "tsv", **kwargs: Any) -> None:
    expected = _outcome(read_posts, data, format=fmt, **kwargs)
    got = _outcome(read_post_columns, data, format=fmt, **kwargs)
    assert got[0] == expected[0], (got, expected)
    if expected[0] == "error":
        assert got[1] == expected[1]
    else:
        assert _column_fields(got[1]) == _post_fields(expected[1])


def _assert_same_accounts(data: bytes, fmt: str = "tsv", **kwargs: Any) -> None:
    expected = _outcome(read_accounts, data, format=fmt, **kwargs)
    got = _outcome(read_account_columns, data, format=fmt, **kwargs)
    assert got[0] == expected[0], (got, expected)
    if expected[0] == "error":
        assert got[1] == expected[1]
    else:
        records = expected[1]
        assert got[1].id == [a["id"] for a in records]
        assert got[1].screen_name == [a["screen_name"] for a in records]
        assert time_answers(got[1].created_at) == time_answers([a.get("created_at") for a in records])


tsv_bodies = st.lists(st.lists(st.sampled_from(TOKENS), max_size=12).map("".join), max_size=30).map("\n".join)
block_sizes = st.sampled_from([8, 64, 1 << 22])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=tsv_bodies, bom=st.booleans(), block=block_sizes, limit=st.none() | st.integers(0, 12))
def test_tsv_posts_columns_equal_records(body: str, bom: bool, block: int, limit: int | None) -> None:
    # GIVEN arbitrary TSV text (quotes, tabs, CR, blank lines, bad values) after the posts header, read in tiny or
    # large blocks, with or without a record limit
    data = ("\ufeff" if bom else "").encode() + (POSTS_HEADER + body).encode()
    # WHEN read as columns and as records THEN the same fields, or the same error (type, message, locations)
    with mock.patch.object(loaders, "_BLOCK_BYTES", block):
        _assert_same_posts(data, max_records=limit)


@settings(max_examples=200, deadline=None)
@given(body=tsv_bodies, block=block_sizes)
def test_tsv_accounts_columns_equal_records(body: str, block: int) -> None:
    # GIVEN arbitrary TSV text after the accounts header WHEN read both ways THEN the same accounts or error
    with mock.patch.object(loaders, "_BLOCK_BYTES", block):
        _assert_same_accounts((ACCOUNTS_HEADER + body).encode())


field_text = st.lists(st.sampled_from(["a", "é", "#x", "|", " ", "\t", "\n", '"', "1"]), max_size=8).map("".join)
post_rows_ = st.lists(
    st.tuples(field_text, st.sampled_from(["a1", "", '"q"', "b\tc"]), st.sampled_from(["true", "0", "x"]), field_text),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(rows=post_rows_, block=block_sizes, quote_all=st.booleans())
def test_quoted_tsv_posts_columns_equal_records(rows: list[tuple[str, ...]], block: int, quote_all: bool) -> None:
    # GIVEN valid TSV written by csv (texts and ids with tabs, newlines and quotes, so quoted fields span lines and
    # blocks)
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerow(["text", "author_id", "is_repost", "hashtags"])
    writer.writerows(rows)
    # WHEN read both ways THEN the same fields or the same error
    with mock.patch.object(loaders, "_BLOCK_BYTES", block):
        _assert_same_posts(buffer.getvalue().encode())


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "a", "true", "0", "#x|#y", "#x"]),
    st.lists(st.sampled_from(["#x", "#y", 1]), max_size=3),
)
post_records = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={"author_id": values, "is_repost": values, "hashtags": values, "created_at": values},
        ),
        st.integers(-5, 5),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(records=post_records, lines=st.booleans(), limit=st.none() | st.integers(0, 12))
def test_json_posts_columns_equal_records(records: list[Any], lines: bool, limit: int | None) -> None:
    # GIVEN arbitrary JSON values as posts, as a JSON array or JSON Lines (blank lines between)
    if lines:
        data, fmt = b"\n\n".join(orjson.dumps(record) for record in records), "jsonl"
    else:
        data, fmt = orjson.dumps(records), "json"
    # WHEN read both ways THEN the same fields or the same error
    with mock.patch.object(loaders, "_CHUNK_RECORDS", 3):
        _assert_same_posts(data, fmt, max_records=limit)


@settings(max_examples=100, deadline=None)
@given(
    records=st.lists(
        st.fixed_dictionaries({}, optional={"id": values, "screen_name": values, "created_at": values}), max_size=10
    )
)
def test_jsonl_accounts_columns_equal_records(records: list[dict[str, Any]]) -> None:
    _assert_same_accounts(b"\n".join(orjson.dumps(record) for record in records), "jsonl")


def test_non_ascii_tsv_fields_and_gzip_path(tmp_path: Any) -> None:
    # GIVEN a gzip TSV with non-ASCII ids, hashtags and names (vectorised path) WHEN read by path THEN exact strings
    text = POSTS_HEADER + "1\t\tżółw\tTrue\tx\t#ćma|#x\n2\t\tkot\t 0 \tx\t\n"
    path = tmp_path / "posts.tsv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    posts = read_post_columns(path)
    assert posts.author_id == ["żółw", "kot"]
    assert posts.is_repost.tolist() == [True, False]
    assert posts.hashtags == ["#ćma|#x", None]
    assert time_answers(posts.created_at) == [None, None]


def test_invalid_utf8_names_the_exact_line() -> None:
    # GIVEN invalid UTF-8 on line 4 of a quote-free TSV WHEN read as columns THEN the error names line 4
    data = (POSTS_HEADER + "1\tt\ta\tfalse\tx\t#a\n2\tt\tb\tfalse\tx\t#a\n").encode() + b"3\tt\t\xff\tfalse\tx\t#a\n"
    with pytest.raises(InputError) as info:
        read_post_columns(data)
    assert info.value.details[0]["loc"] == ["posts", "line", 4]
    assert "cannot read" in info.value.details[0]["msg"]


@pytest.mark.parametrize("quoted", [False, True])
def test_record_limit_stops_at_the_first_record_over(quoted: bool) -> None:
    # GIVEN 5 posts (one with a quoted text, so the csv path reads it) and a blank line, limit 3
    text = '"q"' if quoted else "t"
    data = (POSTS_HEADER + f"1\tt\ta\tfalse\t{text}\t#a\n\n2\tt\tb\tfalse\tx\t#a\n3\tt\tc\t1\tx\t\n").encode()
    data += b"4\tt\td\tfalse\tx\t#a\n5\tt\te\tfalse\tx\t#a\nnot even a record\n"
    # WHEN read with max_records=3 THEN RecordLimitExceeded (an InputError) names the limit and the 4th record's line
    with pytest.raises(RecordLimitExceeded) as info:
        read_post_columns(data, max_records=3)
    assert info.value.limit == 3
    msg = "more than 3 posts: reading stopped at the first record over the limit of 3"
    assert info.value.details == [{"loc": ["posts", "line", 6], "msg": msg}]
    # AND exactly the limit is accepted
    assert len(read_post_columns(data.rsplit(b"4\t", 1)[0], max_records=3)) == 3


def test_record_limit_json_and_records() -> None:
    posts = [{"author_id": "a", "is_repost": False, "hashtags": None}] * 3
    with pytest.raises(RecordLimitExceeded) as info:
        read_post_columns(orjson.dumps(posts), format="json", max_records=2)
    assert info.value.details[0]["loc"] == ["posts", 2]
    with pytest.raises(RecordLimitExceeded) as info:
        read_posts(b"\n".join(orjson.dumps(p) for p in posts), format="jsonl", max_records=1)
    assert info.value.details[0]["loc"] == ["posts", "line", 2]


def test_record_limit_reads_no_further(tmp_path: Any) -> None:
    # GIVEN a stream whose bytes after the first blocks raise WHEN the limit is hit early THEN they are never read
    class Exploding(io.RawIOBase):
        def __init__(self, head: bytes) -> None:
            self.head = head

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            if not self.head:
                raise AssertionError("read past the record limit")
            size = min(len(buffer), len(self.head))
            buffer[:size], self.head = self.head[:size], self.head[size:]
            return size

    data = (POSTS_HEADER + "".join(f"{i}\tt\ta{i}\tfalse\tx\t#a\n" for i in range(100))).encode()
    with mock.patch.object(loaders, "_BLOCK_BYTES", 256), pytest.raises(RecordLimitExceeded):
        read_post_columns(Exploding(data), max_records=5)


hashtag_values = st.one_of(
    st.none(),
    st.sampled_from(["#x", "#X", "#x|#y", "#y|#x", "#xx", "x#x", "#K", "#\u212a", "#ß", "#SS", "||#x"]),
    st.lists(st.sampled_from(["#x", "#X", "#ß", "#ss", "#\u212a", "#k"]), max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(
    posts=st.lists(
        st.fixed_dictionaries(
            {"author_id": st.sampled_from(["a", "b", "c", "d"]), "is_repost": st.booleans(), "hashtags": hashtag_values}
        ),
        max_size=15,
    ),
    tag=st.sampled_from(["#x", "#X", "#k", "#ss", "#ß"]),
    match=st.sampled_from(["exact", "case_insensitive"]),
)
def test_hashtag_authors_equal_the_record_filter(posts: list[dict[str, Any]], tag: str, match: Any) -> None:
    # GIVEN posts with string and list hashtags (and case-folding traps: Kelvin sign, sharp s)
    expected = authors_with_hashtag(post_rows(posts), tag, match=match)
    # WHEN filtered on columns THEN the same authors in the same order
    assert list(PostColumns.from_records(posts).hashtag_authors(tag, match=match)) == expected


def test_select_keeps_first_of_identical_duplicates_and_refuses_conflicts() -> None:
    accounts = AccountColumns(["a", "b", "a", "c"], ["x", "y", "x", None])
    selection = accounts.select({"a", "c", "ghost"})
    assert (selection.ids, selection.screen_names, selection.without_account) == (["a", "c"], ["x", None], 1)
    with pytest.raises(InputError) as info:
        AccountColumns(["a", "b", "a"], ["x", "y", "z"]).select({"a"})
    assert info.value.details[0]["loc"] == ["accounts", 2, "id"]


def select_oracle(ids: list[str], names: list[Any], wanted: list[str]) -> Any:
    """AccountColumns.select by its definition: first record of each wanted id, conflicts refused."""
    first: dict[str, int] = {}
    conflicts = []
    for index, (ident, name) in enumerate(zip(ids, names, strict=True)):
        if ident in first and names[first[ident]] != name:
            conflicts.append(["accounts", index, "id"])
        first.setdefault(ident, index)
    if conflicts:
        return conflicts
    rows = [index for ident, index in first.items() if ident in set(wanted)]
    return [ids[i] for i in rows], [names[i] for i in rows], len(set(wanted)) - len(rows), rows


def low_entropy_hashes(values: Any) -> np.ndarray:
    """A hash with many collisions between different ids (the length of the id), to reach the exact fallback."""
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


@settings(max_examples=300, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["a", "b", "c", "dd", "ee", "é", "a "]), max_size=12),
    names=st.lists(st.sampled_from(["x", "y", None]), min_size=12, max_size=12),
    wanted=st.lists(st.sampled_from(["a", "b", "dd", "é", "ghost", "zz"]), max_size=10),
    as_set=st.booleans(),
    collide=st.booleans(),
)
def test_select_equals_the_oracle(
    ids: list[str], names: list[Any], wanted: list[str], as_set: bool, collide: bool
) -> None:
    # GIVEN accounts with duplicate ids (identical or conflicting), wanted ids with repeats and ids without a record,
    # hashed normally or through a hash that makes different ids collide
    names = names[: len(ids)]
    expected = select_oracle(ids, names, wanted)
    accounts = AccountColumns(ids, names)
    hashes = low_entropy_hashes if collide else columns._hashes
    with mock.patch.object(columns, "_hashes", hashes):
        # WHEN selected (the wanted ids as a list with repeats, or as a set)
        try:
            selection = accounts.select(set(wanted) if as_set else wanted)
        except InputError as exc:
            # THEN a conflicting duplicate is refused at every conflicting record
            assert [detail["loc"] for detail in exc.details] == expected
            return
    # THEN the first record of each wanted id, in input order, and the count of wanted ids without a record
    assert not isinstance(expected, list)
    kept, kept_names, without, rows = expected
    assert (selection.ids, selection.screen_names, selection.without_account) == (kept, kept_names, without)
    assert selection.rows is not None and selection.rows.tolist() == rows


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.sampled_from(["a", "b", "c", "dd", "é", "ghost", ""]), max_size=15),
    keys=st.lists(st.sampled_from(["a", "b", "c", "dd", "é", "zz"]), unique=True, max_size=6),
    collide=st.booleans(),
)
def test_positions_equal_a_dict_lookup(values: list[str], keys: list[str], collide: bool) -> None:
    # GIVEN strings and distinct keys, hashed normally or through a hash that makes different strings collide
    expected = [keys.index(value) if value in keys else -1 for value in values]
    with mock.patch.object(columns, "_hashes", low_entropy_hashes if collide else columns._hashes):
        # WHEN each string's position among the keys is asked THEN the index of the equal key, or -1
        assert columns.positions(values, keys).tolist() == expected


def test_hashtag_author_ids_are_the_authors_of_each_matching_post() -> None:
    # GIVEN posts by a twice, a repost by c, and a post by b
    posts = PostColumns.from_records(
        [
            {"author_id": "a", "is_repost": False, "hashtags": "#x|#y"},
            {"author_id": "c", "is_repost": True, "hashtags": "#x"},
            {"author_id": "b", "is_repost": False, "hashtags": ["#X"]},
            {"author_id": "a", "is_repost": False, "hashtags": "#x"},
        ]
    )
    # WHEN the author ids are asked THEN one per matching non-repost post, in post order
    assert posts.hashtag_author_ids("#x") == ["a", "a"]
    assert posts.hashtag_author_ids("#x", match="case_insensitive") == ["a", "b", "a"]


@pytest.mark.parametrize(
    ("hashtags", "expected"),
    [
        (["#x", "#x|#y", "#y|#x"], [True, False, True]),  # every distinct value carries it (one post a repost)
        (["#y", None, "#xx"], [False, False, False]),  # none does
        (["#x", None, "#y"], [True, False, False]),  # some do
        ([], []),
    ],
)
def test_hashtag_mask_when_all_some_or_no_posts_carry_it(hashtags: list[str | None], expected: list[bool]) -> None:
    # GIVEN TSV-like string hashtags, the second post a repost WHEN the mask is asked THEN the carrying non-reposts
    posts = PostColumns.from_records(
        [{"author_id": "a", "is_repost": i == 1, "hashtags": tags} for i, tags in enumerate(hashtags)]
    )
    assert posts.hashtag_mask("#x").tolist() == expected


def test_job_on_columns_equals_job_on_records() -> None:
    # GIVEN the same posts and accounts as records and as columns read from TSV
    posts_tsv = (POSTS_HEADER + "1\tt\ta\tfalse\tx\t#x\n2\tt\tb\tfalse\tx\t#x|#y\n3\tt\tc\ttrue\tx\t#x\n").encode()
    accounts_tsv = (ACCOUNTS_HEADER + "a\t\tbob_smith\nb\t\tbob_smiht\nc\t\tbob_smith\nd\t\tbob\n").encode()
    by_records = find_similar_accounts(read_posts(posts_tsv), read_accounts(accounts_tsv), hashtag="x")
    by_columns = find_similar_accounts(read_post_columns(posts_tsv), read_account_columns(accounts_tsv), hashtag="x")
    # THEN the same result
    assert by_columns == by_records
    assert by_columns.similar_account_pairs == [("a", "b", pytest.approx(0.888, abs=1e-3))]
    assert np.isclose(by_columns.similar_account_pairs[0][2], 1 - 1 / 9)
