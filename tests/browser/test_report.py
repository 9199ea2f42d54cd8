"""The HTML report opened from disk in headless Chromium (no network): clusters and their drawings render."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from scripts.generate_sample import CLUSTERS
from scripts.report_screenshot import dump_dom, screenshot
from sockpuppet import find_similar_accounts, read_accounts, read_posts
from sockpuppet.cli import main

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
SIGNALS = {"co_hashtag": {}, "creation_bursts": {}, "clusters": True}

# Appended to a copy of the report (the report itself has no script): measures what the browser laid out and
# writes it into the DOM as JSON, which --dump-dom then returns.
PROBE = """<script>
const rect = (el) => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
const out = [...document.querySelectorAll("section.cluster")].map((section) => {
  const svg = section.querySelector("svg.graph");
  return {
    id: section.id,
    heading: section.querySelector("h2").textContent,
    svg: rect(svg),
    nodes: [...svg.querySelectorAll("g.node circle")].filter((c) => rect(c)[0] > 0).length,
    node_labels: [...svg.querySelectorAll("g.node text")].map((t) => t.textContent),
    labels_drawn: [...svg.querySelectorAll("g.node text")].filter((t) => t.getBBox().width > 0).length,
    edges: [...svg.querySelectorAll("g.edge line")].filter((l) => l.getTotalLength() > 0).length,
    dashed: svg.querySelectorAll("line[stroke-dasharray]").length,
    edge_labels: [...svg.querySelectorAll("text.edge-label")].map((t) => t.textContent),
    badges: [...section.querySelectorAll(".evidence .badge")].map((b) => b.textContent),
    members: section.querySelectorAll("table")[0].rows.length - 1,
  };
});
const pre = document.createElement("pre");
pre.id = "probe";
pre.textContent = JSON.stringify({clusters: out, width: document.documentElement.scrollWidth});
document.body.appendChild(pre);
</script>"""


def probe(html: Path, tmp_path: Path) -> dict:
    probed = tmp_path / "probed.html"
    probed.write_text(html.read_text().replace("</body>", PROBE + "</body>"))
    dom = dump_dom(probed)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<"))


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    html = tmp_path_factory.mktemp("report") / "report.html"
    argv = ["pairs", "--posts", str(SAMPLE / "posts.tsv"), "--accounts", str(SAMPLE / "accounts.tsv")]
    assert main([*argv, "--hashtag", "diedsuddenly", "--format", "html", "-o", str(html)]) == 0
    return html


def test_sample_report_renders_every_cluster_with_its_evidence(sample_report: Path, tmp_path: Path) -> None:
    # GIVEN the sample's report WHEN Chromium opens it from disk
    seen = probe(sample_report, tmp_path)
    result = find_similar_accounts(
        read_posts(SAMPLE / "posts.tsv"), read_accounts(SAMPLE / "accounts.tsv"), hashtag="diedsuddenly",
        signals=SIGNALS,
    )  # fmt: skip
    assert result.clusters
    # THEN one laid-out section per cluster, in the result's order, each with a drawn graph of all its members
    assert len(seen["clusters"]) == len(result.clusters)
    planted = {name for cluster in CLUSTERS for name in cluster}
    for shown, cluster in zip(seen["clusters"], result.clusters, strict=True):
        names = [m["screen_name"] for m in cluster["members"]]
        assert shown["svg"][0] > 300 and shown["svg"][1] > 300
        assert shown["nodes"] == shown["labels_drawn"] == shown["members"] == len(names)
        assert sorted(shown["node_labels"]) == sorted(names)
        assert shown["edges"] == cluster["pair_count"] + len(cluster["co_hashtag_pairs"])
        assert shown["dashed"] == len(cluster["co_hashtag_pairs"])
        assert len(shown["edge_labels"]) == shown["edges"]  # small clusters: every edge labelled on the drawing
        # AND the planted clusters show co-hashtag and burst evidence, the other look-alikes none
        evidence = " | ".join(shown["badges"])
        if set(names) <= planted:
            assert f"{len(cluster['co_hashtag_pairs'])} co-hashtag pairs" in evidence
            assert len(cluster["co_hashtag_pairs"]) > 0
            assert f"{len(names)} of {len(names)} members created in a burst" in evidence
            assert any(":" in label and "#diedsuddenly" in label for label in shown["edge_labels"])
        else:
            assert "0 co-hashtag pairs" in evidence and f"0 of {len(names)} members created in a burst" in evidence
    assert seen["width"] <= 1400  # no horizontal overflow at the screenshot width


def test_a_200_member_cluster_stays_readable(tmp_path: Path) -> None:
    # GIVEN a cluster of 200 similar names (a chain: name_000 ~ name_001 ~ ...) co-posting in pairs
    start = 1_700_000_000
    accounts = [{"id": f"u{i}", "screen_name": f"sockpuppet_{i:03d}", "created_at": start + 60 * i} for i in range(200)]
    posts = [
        {"author_id": f"u{i}", "is_repost": False, "hashtags": ["#t", "#x"], "created_at": start + (i // 2) * 600}
        for i in range(200)
    ]
    result = find_similar_accounts(posts, accounts, hashtag="#t", min_similarity=0.85, signals=SIGNALS)
    assert result.clusters and len(result.clusters[0]["members"]) == 200
    from sockpuppet.report import html_report

    html = tmp_path / "big.html"
    html.write_text(html_report(result))
    # WHEN Chromium lays it out
    seen = probe(html, tmp_path)["clusters"][0]
    # THEN all 200 nodes and their names are drawn on a canvas large enough to hold them, every edge drawn
    assert seen["nodes"] == seen["labels_drawn"] == 200
    assert min(seen["svg"]) >= 1200
    assert seen["edges"] == result.clusters[0]["pair_count"] + len(result.clusters[0]["co_hashtag_pairs"])
    assert seen["edge_labels"] == []  # too many edges to write labels on the drawing: they are tooltips
    assert html.read_text().count("<title>") >= seen["edges"] + 200


def test_screenshot_is_a_png_of_the_page(sample_report: Path, tmp_path: Path) -> None:
    # GIVEN the sample report WHEN screenshotted THEN a PNG of the window size with real content
    png = screenshot(sample_report, tmp_path / "shot.png", width=1000, height=1200)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1000, 1200)
    assert len(data) > 50_000  # a blank page compresses to a few KiB
