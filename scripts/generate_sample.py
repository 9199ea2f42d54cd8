"""Write a deterministic sample of the original exercise's ``posts.tsv`` and ``accounts.tsv``.

The sample has realistic handle-like screen names, several hashtags (``#diedsuddenly`` among them, sometimes in
other cases), reposts, posts whose authors have no account record, and planted sock-puppet clusters
(``breaking_news_nyc`` / ``breaking_news_ny`` / ``breaking_news_nyc2`` style) so that the job finds real pairs and
groups. The planted clusters also behave like a coordinated campaign: each cluster's accounts were created minutes
apart (the two-account clusters in one shared batch), so they form creation bursts, and they post in waves - every
member within :data:`WAVE_SECONDS` seconds, with the same hashtags - so they are co-hashtag pairs. Organic
accounts, look-alike names among them, are created over ten years and post at random times: they show neither.
Same seed and sizes -> byte-identical files.

Usage::

    python scripts/generate_sample.py                      # data/sample/, ~3k posts / ~1.5k accounts
    python scripts/generate_sample.py --posts 500000 --accounts 200000 --out /tmp/big
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["CLUSTERS", "generate", "main"]

FIRST = [
    "anna",
    "ben",
    "carla",
    "dan",
    "elena",
    "frank",
    "grace",
    "henry",
    "iris",
    "jack",
    "kate",
    "leo",
    "maria",
    "nick",
    "olga",
    "paul",
    "quinn",
    "rosa",
    "sam",
    "tina",
    "uma",
    "victor",
    "wendy",
    "xavier",
    "yara",
    "zoe",
    "amir",
    "bruno",
    "chloe",
    "diego",
    "emma",
    "felix",
    "gina",
    "hugo",
    "ivy",
    "jonas",
    "kira",
    "lars",
    "mila",
    "noah",
]
LAST = [
    "smith",
    "jones",
    "brown",
    "miller",
    "davis",
    "garcia",
    "wilson",
    "moore",
    "taylor",
    "thomas",
    "white",
    "harris",
    "martin",
    "lee",
    "clark",
    "lewis",
    "walker",
    "young",
    "king",
    "wright",
    "lopez",
    "hill",
    "scott",
    "green",
    "adams",
    "baker",
    "nelson",
    "carter",
    "mitchell",
    "perez",
    "roberts",
    "turner",
    "phillips",
]
WORDS = [
    "health",
    "news",
    "daily",
    "truth",
    "watch",
    "report",
    "live",
    "update",
    "world",
    "local",
    "citizen",
    "patriot",
    "mom",
    "dad",
    "doc",
    "nurse",
    "science",
    "data",
    "facts",
    "voice",
    "freedom",
    "media",
    "journal",
    "observer",
    "insider",
    "coffee",
    "runner",
    "garden",
    "music",
    "travel",
    "photo",
    "tech",
    "crypto",
    "fitness",
    "vegan",
    "book",
    "film",
    "gamer",
    "artist",
    "writer",
    "teacher",
    "coach",
    "farmer",
    "pilot",
    "sailor",
    "hiker",
]
TOPICS = [
    "covid19",
    "vaccine",
    "pandemic",
    "booster",
    "mrna",
    "publichealth",
    "diedsuddenly",
    "longcovid",
    "masks",
    "lockdown",
    "cdc",
    "who",
    "pfizer",
    "moderna",
    "myocarditis",
    "science",
    "health",
    "news",
]
SENTENCES = (
    "Another one gone too soon.",
    'Doctors are "baffled" again.',
    "Read the full report here: https://example.org/r/{n}",
    "Why is nobody talking about this?",
    "Stay safe out there, everyone.",
    "New data out today\tworth a look.",
    'He said "it\'s fine" and then\nthis happened.',
    "Thread below.",
    "Share before it gets deleted!",
    "Numbers from the county health office.",
)

# Planted sock-puppet clusters: a base handle and its near-identical variants.
CLUSTERS: tuple[tuple[str, ...], ...] = (
    ("breaking_news_nyc", "breaking_news_ny", "breaking_news_nyc2", "breakingnews_nyc"),
    ("covid_truth_now", "covid_truth_now1", "covid_truthnow", "c0vid_truth_now"),
    ("healthwatch_usa", "healthwatch_us", "health_watch_usa"),
    ("vaxx_injured_uk", "vaxx_injured_uk1", "vax_injured_uk"),
    ("sudden_deaths_daily", "sudden_death_daily", "suddendeaths_daily", "sudden_deaths_daily_"),
    ("real_dr_kate_md", "real_dr_kate_m"),
    ("patriot_mom_tx", "patriot_mom_tx2"),
)
BASE_TIME = datetime(2023, 12, 1, tzinfo=UTC)
WAVE_SECONDS = 25
"""Planted accounts post a wave within this many seconds of its start."""
PUPPET_SHARE = 0.08
"""About this share of the posts are the planted accounts' waves."""
WAVE_TAGS = ("#covid19", "#vaccine", "#mrna", "#booster")


def _timestamp(rng: random.Random, days: int) -> str:
    """A time within ``days`` after the sample's start (``days < 0``: before it)."""
    offset = timedelta(seconds=rng.randrange(abs(days) * 86400))
    return (BASE_TIME + offset if days > 0 else BASE_TIME - offset).strftime("%Y-%m-%dT%H:%M:%S")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _creation_batches(rng: random.Random) -> list[list[str]]:
    """Creation times of each planted cluster's accounts: minutes apart, the two-account clusters in one batch."""
    batches: list[list[str]] = []
    shared: datetime | None = None
    for cluster in CLUSTERS:
        if len(cluster) == 2 and shared is not None:
            start = shared + timedelta(seconds=rng.randrange(300, 1200))
        else:
            start = BASE_TIME - timedelta(days=rng.randrange(20, 60), seconds=rng.randrange(86400))
        moments = [start]
        for _ in cluster[1:]:
            moments.append(moments[-1] + timedelta(seconds=rng.randrange(60, 900)))
        if len(cluster) == 2:
            shared = moments[-1]
        batches.append([_stamp(moment) for moment in moments])
    return batches


def _handle(rng: random.Random) -> str:
    pattern = rng.randrange(6)
    if pattern == 0:
        return f"{rng.choice(FIRST)}{rng.choice(LAST)}{rng.randrange(10, 9999)}"
    if pattern == 1:
        return f"{rng.choice(FIRST)}_{rng.choice(WORDS)}"
    if pattern == 2:
        return f"the{rng.choice(WORDS)}{rng.choice(WORDS)}"
    if pattern == 3:
        return f"{rng.choice(WORDS)}_{rng.choice(LAST)}_{rng.randrange(1950, 2006)}"
    if pattern == 4:
        return f"{rng.choice(FIRST)}.{rng.choice(LAST)}".title().replace(".", "")
    return f"{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.randrange(100)}"


def generate(*, posts: int = 3000, accounts: int = 1500, seed: int = 7) -> tuple[list[list[str]], list[list[str]]]:
    """Build the rows (without headers) of ``posts.tsv`` and ``accounts.tsv``.

    Parameters
    ----------
    posts
        Number of posts.
    accounts
        Number of account records (planted cluster accounts included).
    seed
        Random seed.

    Returns
    -------
    tuple
        ``(post_rows, account_rows)``, each row a list of strings in the TSV column order.
    """
    rng = random.Random(seed)
    used_ids: set[str] = set()

    def new_id() -> str:
        while True:
            ident = str(rng.randrange(10**17, 10**19))
            if ident not in used_ids:
                used_ids.add(ident)
                return ident

    planted = [name for cluster in CLUSTERS for name in cluster]
    names: list[str] = []
    seen: set[str] = set(planted)
    while len(names) < max(0, accounts - len(planted)):
        name = _handle(rng)
        if name not in seen:
            seen.add(name)
            names.append(name)
    account_rows = [[new_id(), _timestamp(rng, -3650), name] for name in names]
    for row in rng.sample(account_rows, k=min(len(account_rows), max(1, accounts // 100))):
        row[2] = ""  # a few accounts without a screen name
    organic_ids = [row[0] for row in account_rows]
    clusters: list[list[str]] = []
    budget = max(0, accounts)
    for cluster, created in zip(CLUSTERS, _creation_batches(rng), strict=True):
        members = []
        for name, stamp in zip(cluster, created, strict=True):
            if budget == 0:
                break
            budget -= 1
            members.append(new_id())
            account_rows.append([members[-1], stamp, name])
        if members:
            clusters.append(members)
    rng.shuffle(account_rows)
    ghost_ids = [new_id() for _ in range(max(1, accounts // 50))]  # authors with no account record

    # planted waves: every member of a cluster posts the same hashtags within WAVE_SECONDS of the wave's start
    waves: list[tuple[str, str, list[str]]] = []
    puppets = sum(map(len, clusters))
    per_cluster = max(1, round(PUPPET_SHARE * posts / puppets)) if puppets else 0
    for members in clusters:
        for _ in range(per_cluster):
            start = BASE_TIME + timedelta(seconds=rng.randrange(31 * 86400 - WAVE_SECONDS))
            tags = ["#diedsuddenly", *rng.sample(WAVE_TAGS, k=rng.randrange(1, 3))]
            for author in members:
                moment = start + timedelta(seconds=rng.randrange(WAVE_SECONDS + 1))
                waves.append((author, _stamp(moment), tags))
    waves = waves[:posts]
    slots = set(rng.sample(range(posts), k=len(waves)))
    planted_posts = iter(waves)

    post_rows: list[list[str]] = []
    for n in range(posts):
        if n in slots:
            author, stamp, tags = next(planted_posts)
            repost = False
        else:
            roll = rng.random()
            author = rng.choice(ghost_ids) if roll > 0.97 or not organic_ids else rng.choice(organic_ids)
            tags = [f"#{topic}" for topic in rng.sample(TOPICS, k=rng.choice((0, 1, 1, 2, 3)))]
            if "#diedsuddenly" in tags and rng.random() < 0.15:
                tags[tags.index("#diedsuddenly")] = "#DiedSuddenly"
            stamp = _timestamp(rng, 31)
            repost = rng.random() < 0.2
        text = " ".join(rng.sample(SENTENCES, k=rng.randrange(1, 3))).format(n=n)
        if tags:
            text = f"{text} {' '.join(tags)}"
        post_rows.append([new_id(), stamp, author, "true" if repost else "false", text, "|".join(tags)])
    return post_rows, account_rows


def write_sample(out: Path, *, posts: int = 3000, accounts: int = 1500, seed: int = 7) -> tuple[Path, Path]:
    """Write ``posts.tsv`` and ``accounts.tsv`` into ``out`` and return their paths."""
    post_rows, account_rows = generate(posts=posts, accounts=accounts, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "posts.tsv", out / "accounts.tsv")
    headers = (
        ["id", "created_at", "author_id", "is_repost", "text", "hashtags"],
        ["id", "created_at", "screen_name"],
    )
    for path, header, rows in zip(paths, headers, (post_rows, account_rows), strict=True):
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=3000, help="number of posts (default 3000)")
    parser.add_argument("--accounts", type=int, default=1500, help="number of accounts (default 1500)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, default=Path("data/sample"), help="output directory")
    args = parser.parse_args(argv)
    posts_path, accounts_path = write_sample(args.out, posts=args.posts, accounts=args.accounts, seed=args.seed)
    print(f"wrote {posts_path} ({args.posts} posts) and {accounts_path} ({args.accounts} accounts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
