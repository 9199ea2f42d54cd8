"""The seeded sample generator and the committed sample."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sockpuppet import read_accounts, read_posts

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
