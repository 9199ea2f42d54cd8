"""Benchmark the coordination signals (contract section 5) on generated records.

Rows:

- ``co_hashtag``: :func:`sockpuppet.co_hashtag_pairs` over ``--posts`` posts by ``--accounts`` accounts (every
  account posts the hashtag at least once, so all are matched; each post carries 1-3 of 50 topics, times uniform over
  31 days, ISO 8601 strings), 60 s window, ``min_shared`` 2. Also the column sweep alone
  (:func:`sockpuppet.signals.co_hashtag_arrays` on the prepared events).
- ``creation_bursts``: :func:`sockpuppet.creation_bursts` over ``--burst-accounts`` accounts (one tagged post each,
  creation times uniform over 10 years), 3600 s window; and the column step alone
  (:func:`sockpuppet.signals.burst_arrays`).
- ``job``: :func:`sockpuppet.find_similar_accounts` on the co-hashtag records with and without all signals
  (``co_hashtag``, ``creation_bursts``, ``clusters``); the ratio is the signals' overhead.

Times are wall-clock seconds of one run in this process (record generation excluded).

Usage::

    python -m benchmarks.signals                       # 1M posts / 100k accounts; bursts over 1M accounts
    python -m benchmarks.signals --posts 100000 --accounts 10000 --burst-accounts 100000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from benchmarks.names import names
from sockpuppet import co_hashtag_pairs, creation_bursts, find_similar_accounts
from sockpuppet.columns import PostColumns
from sockpuppet.signals import burst_arrays, co_hashtag_arrays, post_events
from sockpuppet.times import parse_times

HASHTAG = "#bench"
TOPICS = [f"#topic{i}" for i in range(50)]
START = int(datetime(2023, 12, 1, tzinfo=UTC).timestamp())


def _iso(seconds: np.ndarray) -> list[str]:
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()


def make_records(n_posts: int, n_accounts: int, *, seed: int = 1) -> tuple[list[dict], list[dict]]:
    """Posts (every account posts the hashtag once, the rest random) and accounts with handle-like names
    (:func:`benchmarks.names.names`: sequential names like ``user0000001`` are all near-identical, and the name
    search of the job rows would be quadratic in its output), all with ISO times."""
    rng = np.random.default_rng(seed)
    authors = np.concatenate([np.arange(n_accounts), rng.integers(0, n_accounts, max(0, n_posts - n_accounts))])
    post_times = _iso(START + rng.integers(0, 31 * 86400, authors.size))
    counts = rng.integers(1, 4, authors.size)
    topics = rng.integers(0, len(TOPICS), (authors.size, 3))
    posts = []
    for i, (author, stamp, count) in enumerate(zip(authors.tolist(), post_times, counts.tolist(), strict=True)):
        tags = [TOPICS[t] for t in topics[i, :count].tolist()]
        if i < n_accounts:
            tags[0] = HASHTAG
        posts.append({"author_id": f"u{author}", "is_repost": False, "hashtags": tags, "created_at": stamp})
    created = _iso(START - rng.integers(0, 3650 * 86400, n_accounts))
    screen_names = names(n_accounts, seed=seed)
    accounts = [{"id": f"u{i}", "screen_name": screen_names[i], "created_at": created[i]} for i in range(n_accounts)]
    return posts, accounts


def _timed(label: str, call: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = call()
    print(f"| {label} | {time.perf_counter() - start:.2f} |", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Print a markdown table of the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--burst-accounts", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    print("| measurement | seconds |\n| --- | ---: |")
    posts, accounts = make_records(args.posts, args.accounts)
    label = f"{args.posts:,} posts / {args.accounts:,} accounts"
    found = _timed(
        f"co_hashtag_pairs, {label}, 60 s window", lambda: co_hashtag_pairs(posts, accounts, hashtag=HASHTAG)
    )
    ids = [account["id"] for account in accounts]
    events = post_events(PostColumns.from_records(posts), ids, "exact")
    _timed(
        f"co_hashtag_arrays (sweep alone, {events.account.size:,} events)",
        lambda: co_hashtag_arrays(
            events.account, events.time, events.tag, n_accounts=len(ids), window=60_000_000, min_shared=2
        ),
    )
    print(f"<!-- {len(found):,} co-hashtag pairs -->")
    everything = {"co_hashtag": {}, "creation_bursts": {}, "clusters": True}
    _timed(f"job without signals, {label}", lambda: find_similar_accounts(posts, accounts, hashtag=HASHTAG))
    _timed(
        f"job with all signals, {label}",
        lambda: find_similar_accounts(posts, accounts, hashtag=HASHTAG, signals=everything),
    )

    burst_posts, burst_accounts = make_records(args.burst_accounts, args.burst_accounts, seed=2)
    _timed(
        f"creation_bursts, {args.burst_accounts:,} accounts, 3600 s window",
        lambda: creation_bursts(burst_posts, burst_accounts, hashtag=HASHTAG),
    )
    micros, present, _ = _timed(
        f"parse_times ({args.burst_accounts:,} ISO strings)",
        lambda: parse_times([a["created_at"] for a in burst_accounts]),
    )
    _timed("burst_arrays (columns alone)", lambda: burst_arrays(micros, present, window=3_600_000_000, min_accounts=3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
