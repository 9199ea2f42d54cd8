"""The sockpuppet console script."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sockpuppet.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
BASE = ["pairs", "--posts", str(SAMPLE / "posts.tsv"), "--accounts", str(SAMPLE / "accounts.tsv")]


def test_json_output_is_the_api_body(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    # GIVEN the sample WHEN `sockpuppet pairs ... --groups` runs THEN stdout is the API 200 body with groups
    assert main([*BASE, "--hashtag", "diedsuddenly", "--groups"]) == 0
    body = json.loads(capsysbinary.readouterr().out)
    assert body["hashtag"] == "#diedsuddenly"
    assert body["pair_count"] == len(body["similar_account_pairs"]) > 0
    assert body["groups"] and body["result_url"] is None


def test_csv_output_to_file(tmp_path: Path) -> None:
    # GIVEN --output pairs.csv WHEN run with --max-pairs 3 THEN a CSV with header and 3 rows
    out = tmp_path / "pairs.csv"
    assert main([*BASE, "--hashtag", "#diedsuddenly", "--max-pairs", "3", "--output", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["id1", "id2", "similarity"]
    assert len(rows) == 4
    assert all(float(row[2]) > 0.8 for row in rows[1:])


def test_graphml_output(tmp_path: Path) -> None:
    # GIVEN --format graphml WHEN run THEN valid GraphML with named nodes and weighted edges
    out = tmp_path / "g.xml"
    assert main([*BASE, "--hashtag", "diedsuddenly", "--format", "graphml", "--groups", "-o", str(out)]) == 0
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    root = ET.parse(out).getroot()
    nodes = root.findall("g:graph/g:node", ns)
    edges = root.findall("g:graph/g:edge", ns)
    assert nodes and edges
    names = {n.findtext("g:data[@key='screen_name']", namespaces=ns) for n in nodes}
    assert "breaking_news_nyc" in names
    assert all(float(e.findtext("g:data[@key='similarity']", namespaces=ns)) > 0.8 for e in edges)


def test_input_error_exit_2_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN accounts given as posts WHEN run THEN exit 2 and one line on stderr naming the missing columns
    bad = ["pairs", "--posts", str(SAMPLE / "accounts.tsv"), "--accounts", str(SAMPLE / "accounts.tsv")]
    assert main([*bad, "--hashtag", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sockpuppet: error: posts.line.1: missing column(s) author_id, is_repost, hashtags")
    assert err.count("\n") == 1
    # AND a missing file is exit 2 too
    assert main(["pairs", "--posts", str(tmp_path / "nope.tsv"), "--accounts", "a.tsv", "--hashtag", "x"]) == 2
    assert "No such file" in capsys.readouterr().err
    # AND an extension that says nothing about the format
    assert main(["pairs", "--posts", str(tmp_path / "p.txt"), "--accounts", "a.tsv", "--hashtag", "x"]) == 2
    assert "--posts-format" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [*BASE, "--hashtag", "x", "--min-similarity", "2"],
        [*BASE, "--hashtag", "x", "--max-pairs", "-1"],
        [*BASE, "--hashtag", "x", "--hashtag-match", "fuzzy"],
        [*BASE],
        ["pairs"],
        [],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN bad arguments WHEN run THEN exit 2 with argparse's usage message on stderr
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_format_override(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    # GIVEN a TSV file with a .txt name WHEN --posts-format tsv THEN it is read as TSV
    posts = tmp_path / "posts.txt"
    shutil.copy(SAMPLE / "posts.tsv", posts)
    args = ["pairs", "--posts", str(posts), "--posts-format", "tsv", "--accounts", str(SAMPLE / "accounts.tsv")]
    assert main([*args, "--hashtag", "diedsuddenly"]) == 0
    assert json.loads(capsysbinary.readouterr().out)["pair_count"] > 0


def test_console_script_subprocess() -> None:
    # GIVEN the installed console script WHEN run on the sample THEN exit 0 and JSON on stdout
    exe = shutil.which("sockpuppet", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "sockpuppet"]
    done = subprocess.run(
        [*command, *BASE, "--hashtag", "diedsuddenly", "--min-similarity", "0.8"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pair_count"] > 0
    assert done.stderr == b""
