"""TSV / JSON / JSON Lines readers."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import orjson
import pytest

from sockpuppet.errors import InputError
from sockpuppet.loaders import detect_format, iter_records, read_accounts, read_posts

POSTS_HEADER = "id\tcreated_at\tauthor_id\tis_repost\ttext\thashtags\n"


def _tsv(*lines: str) -> bytes:
    return (POSTS_HEADER + "".join(lines)).encode()


def test_tsv_quotes_tabs_newlines_like_polars() -> None:
    # GIVEN the exercise's TSV with quotes inside text, a quoted field holding a tab, a newline and "" escapes
    data = _tsv(
        '1\t2023-12-01\ta1\tfalse\tsaid "hi" there\t#a|#b\n',
        '2\t2023-12-01\ta2\tTRUE\t"multi\nline ""x"" \ttab"\t#c\n',
        "3\t2023-12-01\t\t0\t\t\n",
        "4\t2023-12-01\t007\tFalse\t\t#a||#b\n",
    )
    # WHEN read without validation
    records = [record for _, record in iter_records(data, format="tsv", kind="posts")]
    # THEN fields match what polars.read_csv(separator="\t") gives (empty = null)
    assert records[0]["text"] == 'said "hi" there'
    assert records[1]["text"] == 'multi\nline "x" \ttab'
    assert records[2]["author_id"] is None
    assert records[3]["author_id"] == "007"


def test_tsv_posts_normalised() -> None:
    # GIVEN valid TSV posts WHEN read THEN is_repost is bool, hashtags are split, ids stay strings
    posts = read_posts(_tsv("1\tt\t007\tFalse\tx\t#a||#b\n", "2\tt\ta2\t1\tx\t\n"), format="tsv")
    assert [(p["author_id"], p["is_repost"], p["hashtags"]) for p in posts] == [
        ("007", False, ["#a", "", "#b"]),
        ("a2", True, None),
    ]


def test_tsv_error_names_line_and_field() -> None:
    # GIVEN a post with an empty author and one with a bad is_repost (the second record spans two lines)
    data = _tsv('1\tt\ta1\tfalse\t"two\nlines"\t#a\n', "2\tt\t\tfalse\tx\t#a\n", "3\tt\ta3\tmaybe\tx\t#a\n")
    # WHEN read
    with pytest.raises(InputError) as info:
        read_posts(data, format="tsv")
    # THEN physical line numbers (header = line 1) and fields are named
    assert [d["loc"] for d in info.value.details] == [
        ["posts", "line", 4, "author_id"],
        ["posts", "line", 5, "is_repost"],
    ]


def test_tsv_malformed_quote_is_an_error_like_polars() -> None:
    # GIVEN a quoted field followed by more text (polars refuses it) WHEN read THEN InputError naming the line
    with pytest.raises(InputError) as info:
        read_posts(_tsv('1\tt\ta1\tfalse\t"quoted" and more\t#a\n'), format="tsv")
    assert info.value.details[0]["loc"] == ["posts", "line", 2]


def test_tsv_wrong_field_count() -> None:
    with pytest.raises(InputError) as info:
        read_posts(_tsv("1\tt\ta1\tfalse\n"), format="tsv")
    assert info.value.details[0]["loc"] == ["posts", "line", 2]
    assert "expected 6" in info.value.details[0]["msg"]


def test_accounts_tsv_empty_screen_name_is_null(tmp_path: Path) -> None:
    # GIVEN an accounts.tsv.gz with an empty screen name WHEN read by path THEN format/compression are inferred
    path = tmp_path / "accounts.tsv.gz"
    path.write_bytes(gzip.compress(b"id\tcreated_at\tscreen_name\n1\t2020\tbob\n2\t2020\t\n"))
    assert read_accounts(path) == [
        {"id": "1", "created_at": "2020", "screen_name": "bob"},
        {"id": "2", "created_at": "2020", "screen_name": None},
    ]


def test_jsonl_from_file_object_gzip_and_int_ids() -> None:
    # GIVEN gzip JSON Lines with an int id and a blank line, as a binary stream (like an S3 body)
    body = b'{"id": 1, "screen_name": "a"}\n\n{"id": "2", "screen_name": null, "extra": true}\n'
    stream = io.BytesIO(gzip.compress(body))
    # WHEN read THEN ids are strings and the stream is left open for its owner
    accounts = read_accounts(stream, format="jsonl", compression="gzip")
    assert [(a["id"], a["screen_name"]) for a in accounts] == [("1", "a"), ("2", None)]
    assert not stream.closed


def test_jsonl_errors_name_the_line() -> None:
    # GIVEN a JSON Lines file with invalid JSON on line 2
    with pytest.raises(InputError) as info:
        read_posts(b'{"author_id": "a", "is_repost": false, "hashtags": []}\n{oops\n', format="jsonl")
    assert info.value.details[0]["loc"] == ["posts", "line", 2]
    # AND a missing field on line 3 (after a blank line) is named by line and field
    with pytest.raises(InputError) as info:
        read_posts(b'{"author_id": "a", "is_repost": false, "hashtags": []}\n\n{"author_id": "b"}\n', format="jsonl")
    assert [d["loc"] for d in info.value.details] == [
        ["posts", "line", 3, "is_repost"],
        ["posts", "line", 3, "hashtags"],
    ]


def test_json_array_errors_name_the_index() -> None:
    # GIVEN a JSON array whose second post has a float author id
    data = orjson.dumps(
        [
            {"author_id": "a", "is_repost": True, "hashtags": None},
            {"author_id": 1.0, "is_repost": True, "hashtags": None},
        ]
    )
    with pytest.raises(InputError) as info:
        read_posts(data, format="json")
    assert info.value.details == [
        {"loc": ["posts", 1, "author_id"], "msg": "must be a string or an integer, got float"}
    ]


def test_json_must_be_an_array() -> None:
    with pytest.raises(InputError) as info:
        read_accounts(b'{"id": "a"}', format="json")
    assert info.value.details[0]["loc"] == ["accounts"]
    with pytest.raises(InputError):
        read_accounts(b"[1,", format="json")


def test_bad_gzip_is_an_input_error() -> None:
    with pytest.raises(InputError):
        read_accounts(b"not gzip at all", format="jsonl", compression="gzip")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("posts.tsv", ("tsv", None)),
        ("p.JSON", ("json", None)),
        ("p.jsonl", ("jsonl", None)),
        ("p.ndjson.gz", ("jsonl", "gzip")),
        ("dir.x/posts.tsv.gz", ("tsv", "gzip")),
    ],
)
def test_detect_format(name: str, expected: tuple[str, str | None]) -> None:
    assert detect_format(name) == expected


def test_detect_format_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="cannot infer"):
        detect_format("posts.csv")


def test_tsv_missing_columns_named_once() -> None:
    # GIVEN an accounts file read as posts WHEN read THEN one error naming the header line and missing columns
    with pytest.raises(InputError) as info:
        read_posts(b"id\tcreated_at\tscreen_name\n1\t2020\tbob\n", format="tsv")
    assert info.value.details == [
        {
            "loc": ["posts", "line", 1],
            "msg": "missing column(s) author_id, is_repost, hashtags (header: id, created_at, screen_name)",
        }
    ]
