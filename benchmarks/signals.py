"""Benchmark the coordination signals (contract section 5) against the issue's targets.

Generated data (:func:`write_tsv`): ``--accounts`` accounts with handle-like names (:mod:`benchmarks.names`) created
uniformly over 10 years, and ``--posts`` posts, each account posting ``#bench`` once and the rest by random authors,
every post carrying ``#bench`` or one of 50 topics plus 0-2 more topics, at times uniform over 31 days (ISO 8601
strings). Rows (wall-clock seconds of one run, in this process unless said otherwise):

- ``read``: :func:`sockpuppet.loaders.read_post_columns` / :func:`~sockpuppet.loaders.read_account_columns` of the
  TSV files (``created_at`` included): how a user loads the data; *not* part of the rows below.
- ``co_hashtag_pairs (columns)``: :func:`sockpuppet.co_hashtag_pairs` given those columns, 60 s window,
  ``min_shared`` 2: hashtag filter, account selection, time parsing, event building, the sweep and the result
  tuples. **The issue's target (<= 5 s at 1M posts / 100k accounts).**
- ``co_hashtag_pairs (records)``: the same given lists of dicts (the records' validation included).
- ``co_hashtag_arrays``: the sweep alone on prepared events.
- ``creation_bursts (columns)`` over ``--burst-accounts`` accounts (one ``#bench`` post each): the same steps for
  bursts, given columns. **The issue's target (<= 1 s at 1M accounts).** Also from records, and
  :func:`~sockpuppet.signals.burst_arrays` alone.
- ``cli``: ``sockpuppet pairs`` in a child process, with and without ``--co-hashtag --creation-bursts --clusters``,
  alternating for ``--cli-rounds`` rounds, the best of each; the ratio is the issue's third target (<= 1.3x). First
  on the files of the CLI benchmark of :mod:`benchmarks.run` (``write_inputs``: ``--cli-accounts`` accounts, one
  ``#bench`` post each, every post and every account with the same time), with JSON output (CSV carries no signals:
  asking for them with CSV is a usage error); then JSON on generated data with real timing (the data above:
  ``--cli-accounts`` accounts, twice as many posts). The signals runs also read ``created_at``.

Usage::

    python -m benchmarks.signals                     # the issue's sizes
    python -m benchmarks.signals --scale 0.1         # every size / 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.names import names
from benchmarks.run import write_inputs
from sockpuppet import co_hashtag_pairs, creation_bursts
from sockpuppet.columns import AccountColumns, PostColumns
from sockpuppet.loaders import read_account_columns, read_post_columns
from sockpuppet.signals import burst_arrays, co_hashtag_arrays, post_events
from sockpuppet.times import ParsedTimes

HASHTAG = "#bench"
TOPICS = np.array([f"#topic{i}" for i in range(50)], dtype=object)
START = np.datetime64(datetime(2023, 12, 1, tzinfo=UTC).replace(tzinfo=None), "s")


def _iso(seconds: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(START + seconds.astype("timedelta64[s]"), unit="s").astype(object)


def write_tsv(directory: Path, n_posts: int, n_accounts: int, *, seed: int = 1) -> tuple[Path, Path]:
    """``posts.tsv`` and ``accounts.tsv`` as the module docstring describes them."""
    rng = np.random.default_rng(seed)
    authors = np.concatenate([np.arange(n_accounts), rng.integers(0, n_accounts, max(0, n_posts - n_accounts))])
    first = np.where(np.arange(authors.size) < n_accounts, HASHTAG, TOPICS[rng.integers(0, 50, authors.size)])
    extra = rng.integers(0, 3, authors.size)
    tags = first.astype(object)
    for k in (1, 2):
        more = extra >= k
        tags[more] = tags[more] + "|" + TOPICS[rng.integers(0, 50, int(more.sum()))]
    post_times = _iso(rng.integers(0, 31 * 86400, authors.size))
    ids = np.char.add("u", np.arange(n_accounts).astype(str)).astype(object)
    created = _iso(-rng.integers(0, 3650 * 86400, n_accounts))
    screen_names = np.array(names(n_accounts, seed=seed), dtype=object)
    posts, accounts = directory / "posts.tsv", directory / "accounts.tsv"
    post_rows = np.char.add("p", np.arange(authors.size).astype(str)).astype(object)
    post_rows = post_rows + "\t" + post_times + "\t" + ids[authors] + "\tfalse\tpost\t" + tags
    posts.write_text("id\tcreated_at\tauthor_id\tis_repost\ttext\thashtags\n" + "\n".join(post_rows) + "\n")
    account_rows = ids + "\t" + created + "\t" + screen_names
    accounts.write_text("id\tcreated_at\tscreen_name\n" + "\n".join(account_rows) + "\n")
    return posts, accounts


def _timed(label: str, call: Callable[[], Any], note: str = "") -> tuple[Any, float]:
    start = time.perf_counter()
    out = call()
    seconds = time.perf_counter() - start
    print(f"| {label} | {seconds:.2f} | {note} |", flush=True)
    return out, seconds


def _from_records(label: str, signal: Callable[..., Any], posts: PostColumns, accounts: AccountColumns) -> None:
    """The row of ``signal`` given the same data as lists of dicts (their validation included in the time)."""
    post_records, account_records = posts.to_records(), accounts.to_records()
    call = partial(signal, post_records, account_records, hashtag=HASHTAG)
    _timed(label, call, "lists of dicts: their validation included")


def _cli(posts: Path, accounts: Path, output: Path, *, fmt: str, signals: bool) -> float:
    script = shutil.which("sockpuppet", path=str(Path(sys.executable).parent)) or "sockpuppet"
    command = [script, "pairs", "--posts", str(posts), "--accounts", str(accounts), "--hashtag", HASHTAG]
    command += ["--format", fmt, "--output", str(output)]
    if signals:
        command += ["--co-hashtag", "--creation-bursts", "--clusters"]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def _runs_note(seconds: list[float]) -> str:
    if len(seconds) == 1:
        return "one run"
    return f"best of {len(seconds)} alternating runs ({', '.join(f'{x:.2f}' for x in seconds)} s)"


def main(argv: list[str] | None = None) -> int:
    """Print a markdown table of the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--burst-accounts", type=int, default=1_000_000)
    parser.add_argument("--cli-accounts", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    parser.add_argument("--no-records", action="store_true", help="skip the rows given lists of dicts")
    parser.add_argument("--cli-rounds", type=int, default=3, help="alternating runs of each CLI row (the best counts)")
    args = parser.parse_args(argv)
    for field in ("posts", "accounts", "burst_accounts", "cli_accounts"):
        setattr(args, field, max(10, round(getattr(args, field) * args.scale)))

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| measurement | seconds | note |\n| --- | ---: | --- |")
    with tempfile.TemporaryDirectory(prefix="sockpuppet-signals-") as tmp:
        directory = Path(tmp)
        label = f"{args.posts:,} posts / {args.accounts:,} accounts"
        post_path, account_path = write_tsv(directory, args.posts, args.accounts)
        posts, _ = _timed(f"read posts ({args.posts:,})", lambda: read_post_columns(post_path), "not in the rows below")
        accounts, _ = _timed(f"read accounts ({args.accounts:,})", lambda: read_account_columns(account_path), "")
        found, _ = _timed(
            f"co_hashtag_pairs (columns), {label}, 60 s window",
            partial(co_hashtag_pairs, posts, accounts, hashtag=HASHTAG),
            "target <= 5 s",
        )
        ids = accounts.id
        events = post_events(posts, ids, "exact")
        _timed(
            f"co_hashtag_arrays (the sweep alone, {events.account.size:,} events)",
            partial(
                co_hashtag_arrays,
                events.account,
                events.time,
                events.tag,
                n_accounts=len(ids),
                window=60_000_000,
                min_shared=2,
            ),
            f"{len(found):,} pairs",
        )
        if not args.no_records:
            _from_records(f"co_hashtag_pairs (records), {label}", co_hashtag_pairs, posts, accounts)
        del posts, accounts, events

        n = args.burst_accounts
        post_path, account_path = write_tsv(directory, n, n, seed=2)
        posts, accounts = read_post_columns(post_path), read_account_columns(account_path)
        bursts, _ = _timed(
            f"creation_bursts (columns), {n:,} accounts, 3600 s window",
            partial(creation_bursts, posts, accounts, hashtag=HASHTAG),
            "target <= 1 s",
        )
        assert isinstance(accounts.created_at, ParsedTimes)  # parsed as read
        micros, present = accounts.created_at.micros, accounts.created_at.present
        _timed(
            "burst_arrays (the sort and cut alone)",
            partial(burst_arrays, micros, present, window=3_600_000_000, min_accounts=3),
            f"{len(bursts):,} bursts of {sum(len(b['account_ids']) for b in bursts):,} accounts",
        )
        if not args.no_records:
            _from_records(f"creation_bursts (records), {n:,} accounts", creation_bursts, posts, accounts)
        del posts, accounts

        n = args.cli_accounts
        for data in ("CLI benchmark files", "real timing"):
            if data == "real timing":
                post_path, account_path = write_tsv(directory, 2 * n, n, seed=3)
                label, formats = f"{n:,} accounts / {2 * n:,} posts with real timing", ("json",)
            else:
                post_path, account_path = write_inputs(directory, n)
                label, formats = f"the CLI benchmark's files, {n:,} accounts / posts", ("json",)
            for fmt in formats:
                output = directory / f"out.{fmt}"
                runs: dict[bool, list[float]] = {False: [], True: []}
                sizes: dict[bool, int] = {}
                for _ in range(args.cli_rounds):  # alternating, so a busy spell slows both alike
                    for signals in (False, True):
                        runs[signals].append(_cli(post_path, account_path, output, fmt=fmt, signals=signals))
                        sizes[signals] = output.stat().st_size
                plain, with_signals = min(runs[False]), min(runs[True])
                print(
                    f"| cli without signals, {label}, {fmt} out | {plain:.2f} | {sizes[False]:,} bytes; "
                    f"{_runs_note(runs[False])} |"
                )
                print(
                    f"| cli with all signals, same files, {fmt} out | {with_signals:.2f} | {sizes[True]:,} bytes; "
                    f"{_runs_note(runs[True])}; **{with_signals / plain:.2f}x** without (target <= 1.3x) |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
