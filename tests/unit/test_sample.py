"""The seeded sample generator and the committed sample."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.generate_sample import CLUSTERS
from sockpuppet import find_similar_accounts, read_accounts, read_posts

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_sample.py"


def _generate(out: Path, *args: str) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args], check=True, capture_output=True)


def test_default_run_reproduces_the_committed_sample(tmp_path: Path) -> None:
    # GIVEN the generator's defaults WHEN run THEN byte-identical to data/sample
    _generate(tmp_path)
    for name in ("posts.tsv", "accounts.tsv"):
        assert (tmp_path / name).read_bytes() == (ROOT / "data" / "sample" / name).read_bytes()


def test_sizes_seed_and_content(tmp_path: Path) -> None:
    # GIVEN custom sizes and two seeds WHEN generated THEN the requested counts, readable, seed-dependent
    _generate(tmp_path / "a", "--posts", "500", "--accounts", "200", "--seed", "1")
    _generate(tmp_path / "b", "--posts", "500", "--accounts", "200", "--seed", "2")
    posts = read_posts(tmp_path / "a" / "posts.tsv")
    accounts = read_accounts(tmp_path / "a" / "accounts.tsv")
    assert len(posts) == 500
    assert len(accounts) == 200
    assert len({a["id"] for a in accounts}) == 200
    assert any(p["is_repost"] for p in posts)
    assert (tmp_path / "a" / "posts.tsv").read_bytes() != (tmp_path / "b" / "posts.tsv").read_bytes()


def test_committed_sample_has_the_features_the_readme_shows() -> None:
    posts = read_posts(ROOT / "data" / "sample" / "posts.tsv")
    accounts = read_accounts(ROOT / "data" / "sample" / "accounts.tsv")
    account_ids = {a["id"] for a in accounts}
    tags = {t for p in posts for t in p["hashtags"] or ()}
    assert {"#diedsuddenly", "#DiedSuddenly", "#covid19"} <= tags
    assert any(p["author_id"] not in account_ids for p in posts)
    assert {"breaking_news_nyc", "breaking_news_ny", "breaking_news_nyc2"} <= {a["screen_name"] for a in accounts}


def test_planted_clusters_coordinate_and_look_alikes_do_not() -> None:
    # GIVEN the committed sample WHEN the job runs with all signals (default parameters)
    posts = read_posts(ROOT / "data" / "sample" / "posts.tsv")
    accounts = read_accounts(ROOT / "data" / "sample" / "accounts.tsv")
    result = find_similar_accounts(
        posts, accounts, hashtag="diedsuddenly", signals={"co_hashtag": {}, "creation_bursts": {}, "clusters": True}
    )
    assert result.clusters is not None
    planted = {name for cluster in CLUSTERS for name in cluster}
    seen_planted = set()
    for cluster in result.clusters:
        names = {member["screen_name"] for member in cluster["members"]}
        size = len(cluster["members"])
        if names <= planted:
            # THEN every planted cluster co-posts (every member pair) and was created in a burst
            seen_planted |= names
            assert len(cluster["co_hashtag_pairs"]) == size * (size - 1) // 2
            assert len(cluster["members_in_bursts"]) == size
            assert cluster["creation_span_seconds"] is not None and cluster["creation_span_seconds"] < 3600
        else:
            # AND the other look-alike clusters show neither
            assert not names & planted
            assert cluster["co_hashtag_pairs"] == [] and cluster["members_in_bursts"] == []
    assert seen_planted == planted
    assert len(result.clusters) > len(CLUSTERS)  # there are organic look-alikes too
