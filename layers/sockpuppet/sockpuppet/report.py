"""A self-contained HTML report of a job's clusters: members, evidence and a drawing of each cluster's graph.

One file, inline CSS and inline SVG, no script and no network: it opens from disk in any browser. Each cluster
(:mod:`sockpuppet.signals`, "clusters") gets its members (with creation times and burst membership), its
evidence, and its graph: nodes are accounts, solid edges are similar-name pairs labelled with their similarity,
dashed edges are co-hashtag pairs labelled with the shared hashtags. Positions come from networkx's
Fruchterman-Reingold layout (:func:`networkx.spring_layout`, seeded, so the same input draws the same picture);
clusters above :data:`SPRING_MAX_NODES` members are laid out on a circle (:func:`networkx.circular_layout`).
Edge labels are written on the drawing while a cluster has at most :data:`LABEL_MAX_EDGES` edges; beyond that each
edge still carries its label as a tooltip (SVG ``<title>``); beyond :data:`DENSE_EDGES` edges the name-similarity
edges are thin and faint; drawings keep their size (names stay legible) and scroll inside their box, so a 200-member
cluster stays readable.

networkx is a dependency of the CLI extra (``pip install 'sockpuppet[cli]'``), imported only here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from sockpuppet.job import SimilarAccountsResult

__all__ = ["LABEL_MAX_EDGES", "SPRING_MAX_NODES", "cluster_svg", "html_report"]

SPRING_MAX_NODES = 400
"""Largest cluster laid out with the spring layout (networkx needs scipy beyond 500 nodes)."""
LABEL_MAX_EDGES = 80
"""Most edges whose labels are written on the drawing (more: labels as tooltips only)."""
DENSE_EDGES = 300
"""Beyond this many edges name-similarity edges are drawn thin and faint."""
LAYOUT_SEED = 7

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0 0 6px;font-size:22px}
header p{margin:0;color:#c9d1e0}main{padding:18px 28px;max-width:1500px}
table{border-collapse:collapse;background:#fff;margin:8px 0 16px}th,td{border:1px solid #d9dde5;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#eef1f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
section.cluster{background:#fff;border:1px solid #d9dde5;border-radius:6px;padding:12px 18px;margin:18px 0}
section.cluster h2{margin:0 0 8px;font-size:18px}.evidence{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0 10px}
.badge{border-radius:12px;padding:2px 10px;background:#eef1f6}.badge.hit{background:#ffe2c2}
.legend span{margin-right:16px}.muted{color:#6b7385}svg.graph{border:1px solid #e3e6ec;background:#fcfcfd}
.drawing{overflow:auto;max-width:100%;max-height:1600px}svg text{font-family:system-ui,sans-serif}
.yes{color:#b34700;font-weight:600}
code{font-size:12px}
"""


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "unknown (a member has no creation time)"
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def cluster_svg(cluster: Mapping[str, Any], name_pairs: Sequence[Sequence[Any]]) -> str:
    """An inline SVG drawing of one cluster's graph.

    Parameters
    ----------
    cluster
        One entry of ``result.clusters``.
    name_pairs
        The similar-name pairs ``(id1, id2, similarity)`` between its members.

    Returns
    -------
    str
        ``<svg>`` markup (nodes labelled with screen names; edges labelled with a similarity or shared hashtags).
    """
    import networkx as nx

    members = cluster["members"]
    graph = nx.Graph()
    graph.add_nodes_from(member["id"] for member in members)
    graph.add_edges_from((a, b) for a, b, _ in name_pairs)
    for a, b, _, _ in cluster["co_hashtag_pairs"]:
        graph.add_edge(a, b)
    n = len(members)
    if n <= SPRING_MAX_NODES:
        positions = nx.spring_layout(graph, seed=LAYOUT_SEED, k=2.2 / math.sqrt(n), iterations=100)
    else:
        positions = nx.circular_layout(graph)
    side = max(600, int(130 * math.sqrt(n)))
    margin = 120
    scale = (side - 2 * margin) / 2

    def xy(node: str) -> tuple[float, float]:
        x, y = positions[node]
        return margin + scale * (x + 1), margin + scale * (y + 1)

    edge_count = len(name_pairs) + len(cluster["co_hashtag_pairs"])
    write_labels = edge_count <= LABEL_MAX_EDGES
    font = 12 if n <= 30 else 10 if n <= 100 else 9
    # dense graphs: faint name edges, so that nodes, names and co-hashtag edges stay visible
    faint = edge_count > DENSE_EDGES
    name_style = 'stroke="#3b6fd1" ' + ('stroke-width="0.6" stroke-opacity="0.15"' if faint else 'stroke-width="2"')
    co_style = 'stroke="#e07b00" stroke-dasharray="6 4" ' + ('stroke-width="1.5"' if faint else 'stroke-width="2"')
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" '
        f'viewBox="0 0 {side} {side}" role="img" aria-label="graph of {n} accounts">'
    ]

    def edge(a: str, b: str, label: str, style: str, offset: float) -> None:
        (x1, y1), (x2, y2) = xy(a), xy(b)
        title = escape(label)
        parts.append(
            f'<g class="edge"><line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}/>'
            f"<title>{title}</title></g>"
        )
        if write_labels:
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2 + offset
            parts.append(
                f'<text class="edge-label" x="{mx:.1f}" y="{my:.1f}" font-size="{max(font - 1, 8)}" '
                f'text-anchor="middle" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">{title}</text>'
            )

    for a, b, score in name_pairs:
        edge(a, b, f"{score:.3f}", name_style, -3)
    for a, b, count, tags in cluster["co_hashtag_pairs"]:
        edge(a, b, f"{count}: {' '.join(tags)}", co_style, 11)
    bursty = set(cluster["members_in_bursts"])
    for member in members:
        x, y = xy(member["id"])
        name = member["screen_name"] or member["id"]
        fill = "#ffb066" if member["id"] in bursty else "#9db8ec"
        tip = escape(f"{name} (id {member['id']}, created {member['created_at'] or 'unknown'})")
        parts.append(
            f'<g class="node"><circle cx="{x:.1f}" cy="{y:.1f}" r="{7 if n <= 100 else 5}" fill="{fill}" '
            f'stroke="#1d2330" stroke-width="1"/><title>{tip}</title>'
            f'<text x="{x:.1f}" y="{y - 10:.1f}" font-size="{font}" text-anchor="middle" fill="#1d2330" '
            f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(name)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def html_report(result: SimilarAccountsResult, *, title: str | None = None) -> str:
    """The whole report as one HTML document.

    Parameters
    ----------
    result
        A job result with ``clusters`` (and, when asked, ``co_hashtag_pairs`` and ``creation_bursts``).
    title
        Page title (default: the hashtag).

    Returns
    -------
    str
        The document.

    Raises
    ------
    ValueError
        If the result has no clusters (the job must run with ``signals={"clusters": True, ...}``).
    """
    if result.clusters is None:
        raise ValueError("the HTML report needs clusters: run the job with signals {'clusters': true}")
    heading = title or f"Sock-puppet report: {result.hashtag}"
    by_cluster: dict[str, int] = {}
    for c, cluster in enumerate(result.clusters):
        for member in cluster["members"]:
            by_cluster[member["id"]] = c
    name_pairs: list[list[tuple[str, str, float]]] = [[] for _ in result.clusters]
    for a, b, score in result.similar_account_pairs:
        if a in by_cluster:
            name_pairs[by_cluster[a]].append((a, b, score))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(heading)}</h1><p>",
        f"{result.accounts_matched:,} accounts posted {escape(result.hashtag)} (reposts excluded); ",
        f"{result.pair_count:,} pairs have near-identical screen names (similarity &gt; {result.min_similarity:g}); ",
        f"{len(result.clusters):,} clusters.",
        "</p></header><main>",
    ]
    if result.truncated:
        out.append(
            f'<p class="muted">Only the first {len(result.similar_account_pairs):,} pairs were kept (max_pairs): '
            "drawings show those; cluster figures count all pairs.</p>"
        )
    out.append(
        '<p class="legend"><span><svg width="34" height="8"><line x1="0" y1="4" x2="34" y2="4" stroke="#3b6fd1" '
        'stroke-width="2"/></svg> similar names (similarity)</span><span><svg width="34" height="8"><line x1="0" '
        'y1="4" x2="34" y2="4" stroke="#e07b00" stroke-width="2" stroke-dasharray="6 4"/></svg> same hashtags '
        'within the window (count: hashtags)</span><span><svg width="12" height="12"><circle cx="6" cy="6" r="5" '
        'fill="#ffb066" stroke="#1d2330"/></svg> created in a burst</span></p>'
    )
    out.append(_summary_table(result.clusters))
    for c, cluster in enumerate(result.clusters):
        out.append(_cluster_section(c, cluster, name_pairs[c], result.truncated))
    if result.creation_bursts is not None:
        out.append(_bursts_section(result.creation_bursts))
    out.append("</main></body></html>\n")
    return "".join(out)


def _summary_table(clusters: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        "<h2>Clusters</h2>",
        '<table class="summary"><tr><th>#</th><th>members</th><th>name pairs</th><th>similarity</th>'
        "<th>co-hashtag pairs</th><th>creation span</th><th>members in bursts</th><th>first members</th></tr>",
    ]
    for c, cluster in enumerate(clusters):
        names = ", ".join(escape(m["screen_name"] or m["id"]) for m in cluster["members"][:4])
        more = len(cluster["members"]) - 4
        rows.append(
            f'<tr><td><a href="#cluster-{c + 1}">{c + 1}</a></td><td class="num">{len(cluster["members"])}</td>'
            f'<td class="num">{cluster["pair_count"]}</td>'
            f"<td>{cluster['min_similarity']:.3f} - {cluster['max_similarity']:.3f}</td>"
            f'<td class="num">{len(cluster["co_hashtag_pairs"])}</td>'
            f"<td>{escape(_fmt_seconds(cluster['creation_span_seconds']))}</td>"
            f'<td class="num">{len(cluster["members_in_bursts"])}</td>'
            f"<td>{names}{f' and {more} more' if more > 0 else ''}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _cluster_section(
    c: int, cluster: Mapping[str, Any], name_pairs: Sequence[tuple[str, str, float]], truncated: bool
) -> str:
    members = cluster["members"]
    names = {m["id"]: m["screen_name"] or m["id"] for m in members}
    bursty = set(cluster["members_in_bursts"])
    co_pairs = cluster["co_hashtag_pairs"]
    hit = ' class="badge hit"'
    plain = ' class="badge"'
    parts = [
        f'<section class="cluster" id="cluster-{c + 1}" data-members="{len(members)}">',
        f"<h2>Cluster {c + 1}: {len(members)} accounts</h2>",
        '<div class="evidence">',
        f"<span{plain}>{cluster['pair_count']} similar-name pairs, similarity "
        f"{cluster['min_similarity']:.3f} - {cluster['max_similarity']:.3f}</span>",
        f"<span{hit if co_pairs else plain}>{len(co_pairs)} co-hashtag pairs</span>",
        f"<span{hit if bursty else plain}>{len(bursty)} of {len(members)} members created in a burst</span>",
        f"<span{plain}>created within {escape(_fmt_seconds(cluster['creation_span_seconds']))}</span>",
        "</div>",
        '<div class="drawing">',
        cluster_svg(cluster, name_pairs),
        "</div>",
        "<h3>Members</h3><table><tr><th>screen name</th><th>id</th><th>created</th><th>in a burst</th></tr>",
    ]
    for member in members:
        in_burst = '<span class="yes">yes</span>' if member["id"] in bursty else ""
        parts.append(
            f"<tr><td>{escape(member['screen_name'] or '')}</td><td><code>{escape(member['id'])}</code></td>"
            f"<td>{escape(member['created_at'] or 'unknown')}</td><td>{in_burst}</td></tr>"
        )
    parts.append("</table>")
    if co_pairs:
        parts.append(
            "<h3>Co-hashtag pairs</h3><table><tr><th>account</th><th>account</th><th>shared hashtags</th></tr>"
        )
        for a, b, count, tags in co_pairs:
            parts.append(
                f"<tr><td>{escape(names[a])}</td><td>{escape(names[b])}</td>"
                f"<td>{count}: {escape(' '.join(tags))}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append('<p class="muted">No co-hashtag pairs inside this cluster.</p>')
    if truncated and len(name_pairs) < cluster["pair_count"]:
        parts.append(f'<p class="muted">Drawing shows {len(name_pairs)} of {cluster["pair_count"]} name pairs.</p>')
    parts.append("</section>")
    return "".join(parts)


def _bursts_section(bursts: Sequence[Mapping[str, Any]]) -> str:
    parts = [f"<h2>Creation bursts ({len(bursts)})</h2>"]
    if not bursts:
        parts.append('<p class="muted">No creation bursts among the matched accounts.</p>')
        return "".join(parts)
    parts.append("<table><tr><th>start</th><th>end</th><th>accounts</th></tr>")
    for burst in bursts:
        ids = burst["account_ids"]
        shown = ", ".join(escape(i) for i in ids[:12]) + (f" and {len(ids) - 12} more" if len(ids) > 12 else "")
        parts.append(
            f"<tr><td>{escape(burst['start'])}</td><td>{escape(burst['end'])}</td>"
            f'<td><span class="num">{len(ids)}</span>: <code>{shown}</code></td></tr>'
        )
    parts.append("</table>")
    return "".join(parts)
