"""The sockpuppet console script."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest

from benchmarks.run import HASHTAG, write_inputs
from sockpuppet import find_similar_accounts, read_accounts, read_posts
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
    names = {a["id"]: a["screen_name"] for a in read_accounts(SAMPLE / "accounts.tsv")}
    assert all(n1 == names[a] and n2 == names[b] for a, n1, b, n2, _ in body["similar_account_pairs"])


@pytest.mark.parametrize(("step", "threshold"), [(1, 0.8), (2, 0.8), (512, 0.8), (2, 1.0)])
def test_json_with_signals_is_the_library_body(
    step: int, threshold: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the sample (planted clusters with co-hashtag and burst evidence; none at threshold 1) and JSON written
    # a few pairs and clusters at a time
    monkeypatch.setattr("sockpuppet.cli.WRITE_CLUSTERS", step)
    monkeypatch.setattr("sockpuppet.cli.WRITE_PAIRS", step)
    out = tmp_path / "out.json"
    # WHEN `sockpuppet pairs` runs with every signal
    signals = ["--co-hashtag", "--creation-bursts", "--clusters", "--min-similarity", str(threshold)]
    assert main([*BASE, "--hashtag", "diedsuddenly", *signals, "--groups", "-o", str(out)]) == 0
    # THEN the bytes are exactly the library's result (records path) with named pairs, indented
    accounts = read_accounts(SAMPLE / "accounts.tsv")
    result = find_similar_accounts(
        read_posts(SAMPLE / "posts.tsv"),
        accounts,
        hashtag="diedsuddenly",
        min_similarity=threshold,
        with_groups=True,
        signals={"co_hashtag": {}, "creation_bursts": {}, "clusters": True},
    )
    assert result.co_hashtag_pairs and result.creation_bursts
    assert len(result.clusters or []) > 3 if threshold < 1 else result.clusters == []
    names = {a["id"]: a["screen_name"] for a in accounts}
    named = [[a, names[a], b, names[b], score] for a, b, score in result.similar_account_pairs]
    body = {**result.to_dict(), "similar_account_pairs": named}
    assert out.read_bytes() == orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def test_csv_output_to_file(tmp_path: Path) -> None:
    # GIVEN --output pairs.csv WHEN run with --max-pairs 3 THEN a CSV with header and 3 rows
    out = tmp_path / "pairs.csv"
    assert main([*BASE, "--hashtag", "#diedsuddenly", "--max-pairs", "3", "--output", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["id1", "screen_name1", "id2", "screen_name2", "similarity"]
    assert len(rows) == 4
    assert all(float(row[4]) > 0.8 for row in rows[1:])
    names = {a["id"]: a["screen_name"] for a in read_accounts(SAMPLE / "accounts.tsv")}
    assert all(row[1] == names[row[0]] and row[3] == names[row[2]] for row in rows[1:])


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
    assert {e.findtext("g:data[@key='type']", namespaces=ns) for e in edges} == {"name_similarity"}


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


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeded posts/accounts (reposts, several tags per post, ghosts, empty names, quoted texts) and the benchmark's
    one-tagged-post-per-account files."""
    out = tmp_path_factory.mktemp("generated")
    script = Path(__file__).resolve().parents[2] / "scripts" / "generate_sample.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(out / "sample"), "--posts", "30000", "--accounts", "8000"],
        check=True,
        capture_output=True,
    )
    (out / "bench").mkdir()
    write_inputs(out / "bench", 20_000)
    return out


@pytest.mark.parametrize(
    ("data", "hashtag", "extra"),
    [
        ("sample", "diedsuddenly", ["--min-similarity", "0.7", "--groups"]),
        ("sample", "#DiedSuddenly", ["--hashtag-match", "case_insensitive", "--max-pairs", "7"]),
        ("bench", HASHTAG, []),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_whole_cli_equals_the_library(
    generated: Path, data: str, hashtag: str, extra: list[str], fmt: str, tmp_path: Path
) -> None:
    # GIVEN generated TSV files WHEN `sockpuppet pairs` writes JSON or CSV
    posts, accounts = generated / data / "posts.tsv", generated / data / "accounts.tsv"
    out = tmp_path / f"out.{fmt}"
    args = ["pairs", "--posts", str(posts), "--accounts", str(accounts), "--hashtag", hashtag, *extra, "-o", str(out)]
    assert main(args) == 0
    # THEN the bytes are exactly the library's result (records path) rendered
    options = dict(zip(extra[::2], extra[1::2], strict=False))
    result = find_similar_accounts(
        read_posts(posts),
        read_accounts(accounts),
        hashtag=hashtag,
        min_similarity=float(options.get("--min-similarity", 0.8)),
        hashtag_match=options.get("--hashtag-match", "exact"),  # type: ignore[arg-type]
        max_pairs=int(options["--max-pairs"]) if "--max-pairs" in options else None,
        with_groups="--groups" in extra,
    )
    assert result.pair_count > 0
    # (each pair with both screen names next to the ids)
    names = {a["id"]: a["screen_name"] for a in read_accounts(accounts)}
    named = [[a, names[a], b, names[b], score] for a, b, score in result.similar_account_pairs]
    if fmt == "json":
        body = {**result.to_dict(), "similar_account_pairs": named}
        expected = orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
        assert out.read_bytes() == expected
    else:
        rows = list(csv.reader(io.StringIO(out.read_text())))
        assert rows[0] == ["id1", "screen_name1", "id2", "screen_name2", "similarity"]
        assert [[a, n1, b, n2, float(s)] for a, n1, b, n2, s in rows[1:]] == named


def test_whole_cli_reads_jsonl_gzip_like_tsv(generated: Path, tmp_path: Path) -> None:
    # GIVEN the generated sample also as gzip JSON Lines WHEN both are run THEN the same JSON document
    sample = generated / "sample"
    posts_gz = tmp_path / "posts.jsonl.gz"
    posts_gz.write_bytes(gzip.compress(b"\n".join(orjson.dumps(p) for p in read_posts(sample / "posts.tsv"))))
    outputs = []
    for posts in (sample / "posts.tsv", posts_gz):
        out = tmp_path / "out.json"
        args = ["pairs", "--posts", str(posts), "--accounts", str(sample / "accounts.tsv"), "--hashtag", "diedsuddenly"]
        assert main([*args, "-o", str(out)]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_signals_options_equal_the_library(tmp_path: Path) -> None:
    # GIVEN the sample WHEN `--co-hashtag --creation-bursts --clusters` with non-default parameters
    out = tmp_path / "out.json"
    options = ["--window", "3600", "--min-shared", "1", "--burst-window", "86400", "--min-accounts", "2"]
    assert main([*BASE, "--hashtag", "diedsuddenly", "--co-hashtag", "--creation-bursts", "--clusters", *options,
                 "-o", str(out)]) == 0  # fmt: skip
    # THEN the signals are exactly the library's (records path) with the same parameters
    signals = {
        "co_hashtag": {"window_seconds": 3600, "min_shared": 1},
        "creation_bursts": {"window_seconds": 86400, "min_accounts": 2},
        "clusters": True,
    }
    result = find_similar_accounts(
        read_posts(SAMPLE / "posts.tsv"), read_accounts(SAMPLE / "accounts.tsv"), hashtag="diedsuddenly",
        signals=signals,
    )  # fmt: skip
    body = json.loads(out.read_bytes())
    expected = result.to_dict()
    for key in ("co_hashtag_pairs", "creation_bursts", "clusters"):
        assert body[key] == expected[key]
    assert body["clusters"] and body["co_hashtag_pairs"] and body["creation_bursts"]
    # AND without the options the document has none of them
    assert main([*BASE, "--hashtag", "diedsuddenly", "-o", str(out)]) == 0
    assert not {"co_hashtag_pairs", "creation_bursts", "clusters"} & json.loads(out.read_bytes()).keys()


def test_graphml_edge_types_with_co_hashtag(tmp_path: Path) -> None:
    # GIVEN --co-hashtag and GraphML WHEN run THEN name-similarity and co-hashtag edges, typed, with their evidence
    out = tmp_path / "g.graphml"
    assert main([*BASE, "--hashtag", "diedsuddenly", "--co-hashtag", "--window", "86400", "-o", str(out)]) == 0
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    edges = ET.parse(out).getroot().findall("g:graph/g:edge", ns)
    types = [e.findtext("g:data[@key='type']", namespaces=ns) for e in edges]
    assert {"name_similarity", "co_hashtag"} == set(types)
    for edge, kind in zip(edges, types, strict=True):
        if kind == "co_hashtag":
            tags = edge.findtext("g:data[@key='shared_hashtags']", namespaces=ns).split()
            assert int(edge.findtext("g:data[@key='shared_count']", namespaces=ns)) == len(tags) >= 2


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    # GIVEN --format html WHEN run THEN one HTML file, no external reference, a section and a drawing per cluster
    out = tmp_path / "report.html"
    assert main([*BASE, "--hashtag", "diedsuddenly", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text and "<script" not in text and "<link" not in text
    result = find_similar_accounts(
        read_posts(SAMPLE / "posts.tsv"), read_accounts(SAMPLE / "accounts.tsv"), hashtag="diedsuddenly",
        signals={"clusters": True},
    )  # fmt: skip
    assert result.clusters
    assert text.count('<section class="cluster"') == text.count('<svg class="graph"') == len(result.clusters)
    assert "breaking_news_nyc" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--creation-bursts", "--burst-window", "0"], "--burst-window"),
        (["--co-hashtag", "--min-shared", "0"], "--min-shared"),
        (["--creation-bursts", "--min-accounts", "1"], "--min-accounts"),
        (["--co-hashtag", "--window", "-1"], "--window"),
    ],
)
def test_signal_option_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--hashtag", "t", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err.strip().splitlines()[-1]


@pytest.mark.parametrize("signal", ["--co-hashtag", "--creation-bursts", "--clusters"])
def test_signals_with_csv_are_a_usage_error(signal: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a signal asked with CSV output (which carries only pairs)
    out = tmp_path / "pairs.csv"
    # WHEN run THEN exit code 2, one line naming the formats that carry signals, and no output written
    assert main([*BASE, "--hashtag", "diedsuddenly", signal, "--format", "csv", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(fmt in err[0] for fmt in ("json", "graphml", "html"))
    assert not out.exists()
    # AND the same from the output's extension
    assert main([*BASE, "--hashtag", "diedsuddenly", signal, "-o", str(out)]) == 2
    assert not out.exists()


def test_builtin_command_loads_no_plugin(tmp_path: Path) -> None:
    # GIVEN a fresh interpreter WHEN `sockpuppet pairs` runs through main()
    code = (
        "import sys\n"
        "from sockpuppet.cli import main\n"
        f"assert main([*{BASE!r}, '--hashtag', 'diedsuddenly', '-o', {str(tmp_path / 'out.csv')!r}]) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sockpuppet_client', 'botocore', 'requests')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    # THEN neither the client plugin nor what it imports was loaded (they cost seconds), and the CSV was written
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "out.csv").read_text().startswith("id1,screen_name1,id2,screen_name2,similarity\n")
