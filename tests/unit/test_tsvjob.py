"""The TSV fast path of the job (sockpuppet.tsvjob) against the general columnar path, and the CLI's CSV writer."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from benchmarks.run import HASHTAG, write_inputs
from sockpuppet.cli import main, write_pairs_csv, write_result
from sockpuppet.engine import similar_name_pairs
from sockpuppet.errors import InputError
from sockpuppet.hashtags import normalize_hashtag
from sockpuppet.job import MatchedAccounts, build_result, match_accounts
from sockpuppet.loaders import read_account_columns, read_post_columns
from sockpuppet.tsvjob import MAX_KEY_BYTES, match_tsv

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _general(posts: Path, accounts: Path, tag: str) -> tuple[str, Any]:
    """What the general path gives: ``("ok", (ids, names, without))`` or ``("error", message)``."""
    try:
        matched = match_accounts(
            read_post_columns(posts, created_at=False), read_account_columns(accounts, created_at=False), hashtag=tag
        )
    except InputError as exc:
        return "error", exc.message
    return "ok", (matched.ids, matched.names, matched.authors_without_account)


def _assert_same(posts: Path, accounts: Path, tag: str) -> bool:
    """The fast path gives the general path's selection, or hands the input back (always on an error)."""
    expected = _general(posts, accounts, tag)
    fast = match_tsv(posts, accounts, hashtag=normalize_hashtag(tag))
    if fast is None:
        return False
    assert expected[0] == "ok", expected
    assert (fast.id_strings(), fast.names, fast.authors_without_account) == expected[1]
    rows = np.arange(len(fast.names))[::-1].copy()
    assert fast.id_strings(rows) == [expected[1][0][i] for i in rows]
    return True


VALID_IDS = ["1", "22", "u7", "é", "a" * 8, "b" * 9, "c" * 17, "d" * MAX_KEY_BYTES, "1 ", "x|y"]
VALID_REPOSTS = ["true", "false", "TRUE", "False", "1", "0", "tRuE"]
names = st.sampled_from(["", "alice", "al1ce", "bob", "b0b", "é" * 9, "x" * 70, "carol_smith", "car0l_smith"])
hashtag_fields = st.sampled_from(
    [
        *("", "#x", "#x|#y", "#y|#x", "#xx", "x#x", "#X", "|#x|", "#y", "#x|", "a|#x|b", "#x #y", "##x", "é|#x"),
        *("#diedsuddenly", "#diedsuddenlY", "#x|#diedsuddenly", "#diedsuddenly2", "#diedsuddenly|#é", "#diedsudden"),
    ]
)
texts = st.sampled_from(
    ["post #x", "", '"quoted\ttab"', '"two\nlines #x"', '"say ""hi"""', 'mid"quote', "#x", "#diedsuddenly"]
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """posts.tsv and accounts.tsv bytes: shuffled and extra columns, quoted texts, repeated ids, long names; half of
    them also with values the fast path hands back (empty or long ids, odd is_repost values, conflicting ids)."""
    clean = draw(st.booleans())
    ids = st.sampled_from(VALID_IDS if clean else [*VALID_IDS, "e" * 40, ""])
    reposts = st.sampled_from(VALID_REPOSTS if clean else [*VALID_REPOSTS, "yes", "", " true"])
    post_columns = draw(st.permutations(["id", "author_id", "is_repost", "text", "hashtags"]))
    account_columns = draw(st.permutations(["id", "created_at", "screen_name"]))
    pool = draw(st.lists(ids, min_size=1, max_size=6))
    post_rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.just("p"),
                    "author_id": st.sampled_from(pool),
                    "is_repost": reposts,
                    "text": texts,
                    "hashtags": hashtag_fields,
                }
            ),
            max_size=12,
        )
    )
    name_of = {ident: draw(names) for ident in pool}  # clean: a repeated id repeats its record
    account_rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {"id": st.sampled_from(pool), "created_at": st.just("2020-01-01"), "screen_name": names}
            ),
            max_size=8,
        )
    )
    if clean:
        account_rows = [{**row, "screen_name": name_of[row["id"]]} for row in account_rows]

    def tsv(columns: list[str], rows: list[dict[str, str]]) -> bytes:
        lines = ["\t".join(columns), *("\t".join(row[c] for c in columns) for row in rows)]
        text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))
        return (draw(st.sampled_from(["", "\ufeff"])) + text).encode()

    return tsv(list(post_columns), post_rows), tsv(list(account_columns), account_rows)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=tables(), tag=st.sampled_from(["#x", "#y", "#X", "x", "diedsuddenly", "#é"]))
def test_fast_path_equals_the_general_path(files: tuple[bytes, bytes], tag: str) -> None:
    # GIVEN posts/accounts TSV with shuffled columns, quoted texts, repeated and long ids, odd is_repost values
    note(repr(files))
    with tempfile.TemporaryDirectory() as tmp:
        posts, accounts = Path(tmp) / "posts.tsv", Path(tmp) / "accounts.tsv"
        posts.write_bytes(files[0])
        accounts.write_bytes(files[1])
        # WHEN both paths select the accounts THEN the fast one gives the same, or hands the input back
        event(f"fast path taken: {_assert_same(posts, accounts, tag)}")


POSTS_HEADER = b"author_id\tis_repost\thashtags\n"
ACCOUNTS = b"id\tscreen_name\na\tann\nb\tbob\n"


@pytest.mark.parametrize(
    ("posts", "accounts", "handled"),
    [
        (POSTS_HEADER + b"a\tfalse\t#x\nb\ttrue\t#x\nc\tFALSE\t#y|#x\n", ACCOUNTS, True),
        (POSTS_HEADER + b"a\tfalse\t#x\n", b"id\tscreen_name\na\tann\na\tann\n", True),  # identical duplicate
        (b"author_id\tis_repost\thashtags\r\na\tfalse\t#x\r\n", ACCOUNTS, False),  # CR: csv's rules
        (POSTS_HEADER + b"\tfalse\t#x\n", ACCOUNTS, False),  # empty author_id: an error
        (POSTS_HEADER + b"a\tmaybe\t#x\n", ACCOUNTS, False),  # is_repost not a plain word: an error
        (POSTS_HEADER + b"a\t true\t#x\n", ACCOUNTS, False),  # is_repost with a space: coerce_is_repost decides
        (POSTS_HEADER + b"a\tfalse\n", ACCOUNTS, False),  # short line: an error
        (POSTS_HEADER + b"a\tfalse\t#x\n", b"id\tscreen_name\na\tann\na\tbob\n", False),  # conflicting id
        (POSTS_HEADER + b"a\tfalse\t\xff#x\n", ACCOUNTS, False),  # bad UTF-8: an error
        (POSTS_HEADER + b'a\tfalse\t"#x"\n', ACCOUNTS, False),  # a quoted wanted field: unescaping
        (b"author_id\tis_repost\tother\na\tfalse\t#x\n", ACCOUNTS, False),  # missing column: an error
        (POSTS_HEADER + b"a\tfalse\t#x\n", b"id\tscreen_name\n" + b"a" * 33 + b"\tann\n", False),  # long id
    ],
)
def test_unusual_input_goes_back_or_matches(posts: bytes, accounts: bytes, handled: bool, tmp_path: Path) -> None:
    # GIVEN one unusual feature each WHEN the fast path runs THEN the general path's result, or None (its error)
    (tmp_path / "p.tsv").write_bytes(posts)
    (tmp_path / "a.tsv").write_bytes(accounts)
    assert _assert_same(tmp_path / "p.tsv", tmp_path / "a.tsv", "#x") == handled


@pytest.mark.parametrize(("data", "tag"), [("bench", HASHTAG), ("sample", "#diedsuddenly"), ("sample", "#vaccine")])
def test_generated_files_take_the_fast_path(data: str, tag: str, tmp_path: Path) -> None:
    # GIVEN the benchmark's files and the sample (quoted multi-line texts) WHEN matched THEN the fast path applies
    # and equals the general path
    if data == "bench":
        posts, accounts = write_inputs(tmp_path, 3_000)
    else:
        posts, accounts = SAMPLE / "posts.tsv", SAMPLE / "accounts.tsv"
    assert _assert_same(posts, accounts, tag)


special_names = st.sampled_from(["ann", "a,b", 'say "hi"', "two\nlines", "cr\rx", "", "é", "ann1", "a,c", "ann "])


@settings(max_examples=150, deadline=None)
@given(
    screen=st.lists(st.one_of(st.none(), special_names), min_size=0, max_size=14),
    threshold=st.sampled_from([0.0, 0.5, 0.8]),
    max_pairs=st.none() | st.integers(0, 20),
    chunk=st.sampled_from([1, 3, 1 << 16]),
)
def test_csv_from_index_arrays_is_write_result(
    screen: list[str | None], threshold: float, max_pairs: int | None, chunk: int
) -> None:
    # GIVEN matched accounts whose names need quoting (commas, quotes, newlines, CR) or are missing
    ids = [f"id,{i}" if i % 5 == 4 else f"u{i}" for i in range(len(screen))]
    matched = MatchedAccounts(ids=ids, names=screen, hashtag="#x", min_similarity=threshold, authors_without_account=0)
    found = similar_name_pairs(screen, threshold)
    # WHEN the CSV is written from the index arrays, in chunks of any size
    out = io.BytesIO()
    id_array = np.array(ids, dtype=object)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sockpuppet.cli.CSV_CHUNK_PAIRS", chunk)
        write_pairs_csv(found, screen, lambda rows: id_array[rows].tolist(), out, max_pairs=max_pairs)
    # THEN it is byte-identical to the result rendered by write_result
    expected = io.BytesIO()
    result = build_result(matched, found, max_pairs=max_pairs)
    write_result(result, "csv", dict(zip(ids, screen, strict=True)), expected)
    assert out.getvalue() == expected.getvalue()


@pytest.mark.parametrize(
    "extra", [["-o", "out.csv"], ["-o", "out.json", "--groups"], ["-o", "out.csv", "--max-pairs", "5"]]
)
def test_cli_bytes_equal_with_and_without_the_fast_path(extra: list[str], tmp_path: Path) -> None:
    # GIVEN the benchmark's files (every account matched) and the sample
    bench = tmp_path / "bench"
    bench.mkdir()
    write_inputs(bench, 4_000)
    for directory, tag in ((bench, HASHTAG), (SAMPLE, "diedsuddenly")):
        args = ["pairs", "--posts", str(directory / "posts.tsv"), "--accounts", str(directory / "accounts.tsv")]
        args += ["--hashtag", tag, "--min-similarity", "0.7", *extra]
        args[args.index("-o") + 1] = str(tmp_path / extra[1])
        # WHEN `sockpuppet pairs` runs with the fast path, then with match_tsv handing every input back
        assert main(args) == 0
        fast = (tmp_path / extra[1]).read_bytes()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sockpuppet.cli.match_tsv", lambda *_, **__: None)
            assert main(args) == 0
        # THEN the files are byte-identical
        assert (tmp_path / extra[1]).read_bytes() == fast
