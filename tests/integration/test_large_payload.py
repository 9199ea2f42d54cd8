"""Large payloads through the client and the local stack (``scripts/large_payload.py``).

By default a reduced run (~8 MB posts.tsv, 30k accounts); ``SOCKPUPPET_LARGE=1`` runs the full size (~50 MB
posts.tsv, 200k accounts), which takes about a minute and ~1.5 GB of memory in total on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "large_payload.py"
LARGE = os.environ.get("SOCKPUPPET_LARGE") == "1"
SIZE = ("350000", "200000") if LARGE else ("60000", "30000")
FUNCTION_BASE_MIB = 200
"""Function process RSS without data (Python, Powertools, boto3, numpy, rapidfuzz), with headroom."""
FUNCTION_MIB_PER_INPUT_MIB = 12
"""Parsed records cost ~8x their TSV size in the function (measured at both sizes); 12x leaves headroom but still
fails if the function kept several copies of the payload (raw body + decoded + records)."""


def test_large_payload_stays_flat_and_matches_the_library(tmp_path: Path) -> None:
    # GIVEN seeded posts.tsv / accounts.tsv of the chosen size
    posts, accounts = SIZE
    command = [sys.executable, str(SCRIPT), "--posts", posts, "--accounts", accounts, "--verify"]
    # WHEN the script uploads them with the client and gets the result through a URL
    run = subprocess.run([*command, "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    # THEN the result equals the library's, it came through the result URL and found pairs
    assert report["verified"] is True
    assert report["result_url_used"] is True
    assert report["pair_count"] > 0
    # AND the client's memory does not grow with the files (uploads are streamed from disk)
    assert report["client_peak_rss_mib"] - report["client_baseline_rss_mib"] < report["posts_tsv_mib"] / 4
    # AND the function's peak is bounded by the data, not by copies of it
    input_mib = report["posts_tsv_mib"] + report["accounts_tsv_mib"]
    assert report["function_peak_rss_mib"] < FUNCTION_BASE_MIB + FUNCTION_MIB_PER_INPUT_MIB * input_mib
