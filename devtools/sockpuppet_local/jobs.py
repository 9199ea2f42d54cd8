"""Request bodies of the load test and the latency probe: inline jobs cut from the committed sample data."""

from __future__ import annotations

import json
import random
from pathlib import Path

from sockpuppet import read_accounts, read_posts

__all__ = ["HASHTAGS", "POSTS_PER_JOB", "sample_jobs"]

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
POSTS_PER_JOB = 1000
HASHTAGS = ("#diedsuddenly", "#covid19", "#booster", "#mrna", "#vaccine")


def sample_jobs(count: int, posts_per_job: int = POSTS_PER_JOB) -> list[bytes]:
    """``count`` JSON bodies for ``POST /v1/similar-account-pairs``: each a window of ``posts_per_job`` sample posts,
    the accounts of their authors and one of :data:`HASHTAGS` (fixed seeds: every run sends the same requests)."""
    posts = read_posts(SAMPLE / "posts.tsv")
    accounts = read_accounts(SAMPLE / "accounts.tsv")
    bodies = []
    for seed in range(count):
        rng = random.Random(seed)
        start = rng.randrange(len(posts) - posts_per_job + 1)
        window = posts[start : start + posts_per_job]
        authors = {post["author_id"] for post in window}
        body = {
            "posts": window,
            "accounts": [account for account in accounts if account["id"] in authors],
            "hashtag": rng.choice(HASHTAGS),
        }
        bodies.append(json.dumps(body).encode())
    return bodies
