"""The signals' TSV fast path (sockpuppet.tsvsignals) against the general columnar path (prepare_signals)."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from sockpuppet.cli import main
from sockpuppet.errors import InputError
from sockpuppet.job import match_accounts
from sockpuppet.loaders import read_account_columns, read_post_columns
from sockpuppet.signals import SignalInputs, parse_signals
from sockpuppet.tsvjob import match_tsv
from sockpuppet.tsvsignals import tsv_signal_inputs
from tests.unit.test_signals import STYLES, render_time

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
IDS = ["a", "b", "c", "d", "e"]
ALL = parse_signals({"co_hashtag": {}, "creation_bursts": {}, "clusters": True})
OFFSETS_US = [0, 0, 1, 59_999_999, 60_000_000, 60_000_001, 3_600_000_000, 3_600_000_001]
times = st.builds(render_time, st.sampled_from(OFFSETS_US), STYLES).map(str)
bad_times = st.sampled_from(["", "yesterday", "2023-02-30T00:00:00", '"2023-12-01T12:00:00"'])


@st.composite
def files(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """posts.tsv and accounts.tsv: many posts per account, shared hashtags, reposts, ties at the windows; half of
    them with a missing, unparseable or quoted time somewhere."""
    clean = draw(st.booleans())
    stamp = times if clean else st.one_of(times, times, times, bad_times)
    post_lines = [
        "\t".join(
            [
                draw(st.sampled_from([*IDS, "ghost"])),
                draw(st.sampled_from(["false", "false", "true"])),
                draw(st.sampled_from(["#t", "#t|#u", "#u|#t|#v", "#v", "", "#u|#u", "#T"])),
                draw(stamp),
            ]
        )
        for _ in range(draw(st.integers(0, 30)))
    ]
    accounts = draw(st.lists(st.sampled_from(IDS), unique=True))
    account_lines = [f"{ident}\t{ident}name\t{draw(stamp)}" for ident in accounts]
    posts = "author_id\tis_repost\thashtags\tcreated_at\n" + "".join(line + "\n" for line in post_lines)
    return posts.encode(), ("id\tscreen_name\tcreated_at\n" + "".join(line + "\n" for line in account_lines)).encode()


def _general(posts: Path, accounts: Path) -> tuple[str, Any]:
    try:
        matched = match_accounts(read_post_columns(posts), read_account_columns(accounts), hashtag="#t", signals=ALL)
    except InputError as exc:
        return "error", exc.details
    return "ok", matched.signal_inputs


def _same_inputs(got: SignalInputs, expected: SignalInputs) -> None:
    assert got.events is not None and expected.events is not None
    assert got.events.tag_names == expected.events.tag_names
    for field in ("account", "time", "tag"):
        assert np.array_equal(getattr(got.events, field), getattr(expected.events, field)), field
    assert got.account_time is not None and got.account_present is not None
    assert expected.account_present is not None
    assert np.array_equal(got.account_present, expected.account_present)
    assert np.array_equal(got.account_time[got.account_present], expected.account_time[expected.account_present])


@settings(max_examples=300, deadline=None)
@given(data=files(), keep_tables=st.booleans())
def test_fast_inputs_equal_the_general_path(data: tuple[bytes, bytes], keep_tables: bool) -> None:
    # GIVEN TSV files (ties at the windows, many posts per account, every time spelling, sometimes bad times), read
    # again by the signals or through the tables match_tsv kept
    note(repr(data))
    with tempfile.TemporaryDirectory() as tmp:
        posts, accounts = Path(tmp) / "posts.tsv", Path(tmp) / "accounts.tsv"
        posts.write_bytes(data[0])
        accounts.write_bytes(data[1])
        expected = _general(posts, accounts)
        # WHEN the fast path builds the signals' inputs
        matched = match_tsv(posts, accounts, hashtag="#t", keep_tables=keep_tables)
        assert matched is None or (matched.tables is not None) == keep_tables
        got = None if matched is None else tsv_signal_inputs(ALL, posts=posts, accounts=accounts, matched=matched)
        event(f"fast path taken: {got is not None}")
        # THEN the general path's inputs exactly, or None (always when the general path reports an error)
        if got is None:
            assert matched is None or expected[0] == "error" or b'"' in data[0] + data[1]
            return
        assert expected[0] == "ok", expected
        _same_inputs(got, expected[1])


def test_the_sample_takes_the_fast_path_and_the_cli_output_is_the_general_one(tmp_path: Path) -> None:
    # GIVEN the sample (quoted multi-line texts, planted clusters with co-posts and bursts)
    posts, accounts = SAMPLE / "posts.tsv", SAMPLE / "accounts.tsv"
    matched = match_tsv(posts, accounts, hashtag="#diedsuddenly")
    assert matched is not None
    got = tsv_signal_inputs(ALL, posts=posts, accounts=accounts, matched=matched)
    # WHEN the fast path builds the inputs THEN it applies and equals the general path
    assert got is not None
    expected = match_accounts(
        read_post_columns(posts), read_account_columns(accounts), hashtag="#diedsuddenly", signals=ALL
    ).signal_inputs
    assert expected is not None
    _same_inputs(got, expected)
    # and the CLI's JSON with all signals (fast path) equals the one from gzip copies (general path)
    gz_posts, gz_accounts = tmp_path / "posts.tsv.gz", tmp_path / "accounts.tsv.gz"
    for source, target in ((posts, gz_posts), (accounts, gz_accounts)):
        target.write_bytes(gzip.compress(source.read_bytes()))
    outputs = []
    for p, a in ((posts, accounts), (gz_posts, gz_accounts)):
        out = tmp_path / f"{p.name}.json"
        args = ["pairs", "--posts", str(p), "--accounts", str(a), "--hashtag", "diedsuddenly", "--format", "json"]
        assert main([*args, "--co-hashtag", "--creation-bursts", "--clusters", "--output", str(out)]) == 0
        outputs.append(orjson.loads(out.read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0]["clusters"] and outputs[0]["co_hashtag_pairs"] and outputs[0]["creation_bursts"]
