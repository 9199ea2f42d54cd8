"""The ``sockpuppet`` console script.

``sockpuppet pairs --posts posts.tsv --accounts accounts.tsv --hashtag diedsuddenly`` runs the job locally and
writes the API's 200 body (JSON, each pair with both screen names next to the ids), a CSV of pairs (ids and screen
names), a GraphML graph (edges typed: name similarity, co-hashtag) or a self-contained HTML report of the clusters
(:mod:`sockpuppet.report`). ``--co-hashtag``, ``--creation-bursts`` and ``--clusters`` add the coordination signals
(:mod:`sockpuppet.signals`). Exit codes: 0 ok, 2 usage or input error (one line on stderr, no traceback).

Subcommands register themselves through :data:`SUBCOMMANDS`: each entry is a function that adds a subparser to the
``add_subparsers`` action and sets ``handler`` (``handler(args) -> int``) as its default. Other installed packages
add commands through the ``sockpuppet.commands`` entry-point group (same signature): ``sockpuppet remote`` comes
from ``sockpuppet_client`` that way, so this library (the Lambda layer) carries no command that needs the client.
Plugins are loaded only when the command run is not one of :data:`BUILTIN_COMMANDS` (or for ``--help``).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from sockpuppet import __version__
from sockpuppet.collector import collector_paused
from sockpuppet.engine import PairArrays, similar_name_pairs
from sockpuppet.errors import DeadlineExceeded, InputError
from sockpuppet.hashtags import normalize_hashtag
from sockpuppet.job import MatchedAccounts, SimilarAccountsResult, build_result
from sockpuppet.loaders import FORMATS, detect_format, read_account_columns, read_post_columns
from sockpuppet.signals import Signals, parse_signals, prepare_signals
from sockpuppet.tsvjob import match_tsv
from sockpuppet.tsvsignals import tsv_signal_inputs

__all__ = ["OUTPUT_FORMATS", "SUBCOMMANDS", "build_parser", "main", "render", "write_pairs_csv", "write_result"]

OUTPUT_FORMATS = ("json", "csv", "graphml", "html")
PROGRESS_MIN_TOTAL = 1_000_000
"""Show a progress bar only when the pair search reports at least this much work (and stderr is a TTY)."""

INSTALL_HINT = "pip install 'sockpuppet[cli]'"
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
WRITE_PAIRS = 8192
"""Pairs serialised per write of JSON output."""
WRITE_CLUSTERS = 512
"""Clusters built, serialised and dropped per write of JSON output (:meth:`sockpuppet.signals.ClusterTable.dicts`)."""
CSV_CHUNK_PAIRS = 1 << 16
"""Pairs joined per write of CSV output."""


class CliError(Exception):
    """A usage or input problem reported as one line on stderr with exit code 2."""


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return int(value) if value.is_integer() else value


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def add_pairs_command(subparsers: Any) -> None:
    """Register ``sockpuppet pairs``."""
    parser = subparsers.add_parser(
        "pairs",
        help="find similar-name account pairs locally",
        description="Find pairs of accounts that posted a hashtag (reposts excluded) and have near-identical "
        "screen names (normalized Damerau-Levenshtein similarity strictly greater than --min-similarity).",
    )
    parser.add_argument("--posts", required=True, type=Path, help="posts file (.tsv, .json, .jsonl, .ndjson; + .gz)")
    parser.add_argument("--accounts", required=True, type=Path, help="accounts file (same formats)")
    parser.add_argument("--posts-format", choices=FORMATS, help="override the format inferred from --posts")
    parser.add_argument("--accounts-format", choices=FORMATS, help="override the format inferred from --accounts")
    parser.add_argument("--hashtag", required=True, help="hashtag to filter on; the leading # is optional")
    parser.add_argument("--min-similarity", type=_probability, default=0.8, help="threshold in [0, 1] (0.8)")
    parser.add_argument("--hashtag-match", choices=("exact", "case_insensitive"), default="exact")
    parser.add_argument("--max-pairs", type=_non_negative, help="keep only the first N pairs")
    parser.add_argument("--groups", action="store_true", help="also report groups (connected components)")
    signals = parser.add_argument_group("coordination signals (need created_at; contract section 5)")
    signals.add_argument(
        "--co-hashtag", action="store_true", help="pairs of matched accounts posting the same hashtags close in time"
    )
    signals.add_argument("--window", type=_seconds, default=60, help="co-hashtag time window in seconds (60)")
    signals.add_argument("--min-shared", type=_count, default=2, help="co-hashtag: fewest shared hashtags (2)")
    signals.add_argument(
        "--creation-bursts", action="store_true", help="runs of matched accounts created close together"
    )
    signals.add_argument("--burst-window", type=_seconds, default=3600, help="largest creation gap in a burst (3600)")
    signals.add_argument("--min-accounts", type=_count, default=3, help="smallest burst reported (3)")
    signals.add_argument(
        "--clusters", action="store_true", help="similar-name clusters with their evidence (implied by --format html)"
    )
    parser.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        help="output format (default: from --output's extension, else json); html: a self-contained report of the "
        "clusters with all signals",
    )
    parser.add_argument("--output", "-o", type=Path, help="output file (default: stdout)")
    parser.set_defaults(handler=run_pairs)


Register = Callable[[Any], None]
SUBCOMMANDS: list[Register] = [add_pairs_command]
BUILTIN_COMMANDS = ("pairs",)
"""Names of the commands :data:`SUBCOMMANDS` register: running one of them loads no plugin (nor what it imports)."""
COMMANDS_ENTRY_POINT_GROUP = "sockpuppet.commands"


def _unavailable(name: str, exc: ImportError) -> Register:
    """A stand-in for a plugin command whose package cannot be imported: it says what to install."""

    def register(subparsers: Any) -> None:
        def handler(_: argparse.Namespace) -> int:
            raise CliError(f"`sockpuppet {name}` needs the HTTP client ({exc.name} is not installed): {INSTALL_HINT}")

        # no option prefix at all: every argument (--url ...) is taken as is, so the handler can say what is missing
        parser = subparsers.add_parser(
            name, help=f"(unavailable: {exc.name} is not installed)", add_help=False, prefix_chars="\0"
        )
        parser.add_argument("arguments", nargs="*")
        parser.set_defaults(handler=handler)

    return register


def plugin_commands() -> list[Register]:
    """Commands of other installed packages (entry-point group :data:`COMMANDS_ENTRY_POINT_GROUP`)."""
    from importlib.metadata import entry_points

    commands: list[Register] = []
    for entry_point in entry_points(group=COMMANDS_ENTRY_POINT_GROUP):
        try:
            commands.append(entry_point.load())
        except ImportError as exc:
            commands.append(_unavailable(entry_point.name, exc))
    return commands


def build_parser(commands: Sequence[Register] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand.

    Parameters
    ----------
    commands
        The subcommands to register (default: :data:`SUBCOMMANDS` and :func:`plugin_commands`).
    """
    parser = argparse.ArgumentParser(prog="sockpuppet", description="Find likely sock-puppet accounts.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in [*SUBCOMMANDS, *plugin_commands()] if commands is None else commands:
        register(subparsers)
    return parser


def _input_format(path: Path, override: str | None) -> tuple[Any, Any]:
    if override is not None:
        return override, ("gzip" if path.name.lower().endswith(".gz") else None)
    try:
        return detect_format(path)
    except ValueError as exc:
        raise CliError(f"{exc}; or pass --posts-format / --accounts-format") from None


def _output_format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    if args.output is not None:
        suffix = args.output.suffix.lower().lstrip(".")
        if suffix in OUTPUT_FORMATS:
            return suffix
    return "json"


class _Progress:
    """``progress(done, total)`` callback drawing a tqdm bar on stderr for large jobs (tqdm imported lazily)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.disabled = False

    def __call__(self, done: int, total: int) -> None:
        if self.disabled:
            return
        if self.bar is None:
            if total < PROGRESS_MIN_TOTAL:
                self.disabled = True
                return
            try:
                from tqdm import tqdm
            except ImportError:
                self.disabled = True
                return
            self.bar = tqdm(total=total, desc="pairs", unit="", unit_scale=True, file=sys.stderr, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def render(result: SimilarAccountsResult, fmt: str, screen_names: dict[str, str | None]) -> bytes:
    """Serialise a result as ``json`` (the API's 200 body), ``csv``, ``graphml`` or ``html``.

    Parameters
    ----------
    result
        The job's result.
    fmt
        One of :data:`OUTPUT_FORMATS`.
    screen_names
        Account id -> screen name of the matched accounts: JSON and CSV pairs carry both names next to the ids
        (an empty mapping: pairs as the API gives them), GraphML nodes carry them.

    Returns
    -------
    bytes
        UTF-8 document (the bytes :func:`write_result` writes).
    """
    buffer = io.BytesIO()
    write_result(result, fmt, screen_names, buffer)
    return buffer.getvalue()


def write_result(result: SimilarAccountsResult, fmt: str, screen_names: dict[str, str | None], out: IO[bytes]) -> None:
    """Write a result as ``json``, ``csv``, ``graphml`` or ``html`` to a binary stream, the pairs in pieces.

    JSON is exactly ``orjson.dumps(result.to_dict(), option=OPT_INDENT_2 | OPT_APPEND_NEWLINE)`` except that,
    given ``screen_names``, each pair is ``[id1, screen_name1, id2, screen_name2, similarity]``; it is written
    :data:`WRITE_PAIRS` pairs at a time without building the document's list of pairs. CSV
    (``id1,screen_name1,id2,screen_name2,similarity``; ``id1,id2,similarity`` without names) goes through one
    :func:`csv.writer` straight to ``out``. HTML needs the result's clusters (:func:`sockpuppet.report.html_report`).

    Raises
    ------
    ValueError
        On an unknown ``fmt``.
    """
    if fmt == "json":
        _write_json(result, out, screen_names)
    elif fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        if screen_names:
            writer.writerow(["id1", "screen_name1", "id2", "screen_name2", "similarity"])
            writer.writerows(_named(result.similar_account_pairs, screen_names))
        else:
            writer.writerow(["id1", "id2", "similarity"])
            writer.writerows(result.similar_account_pairs)  # csv writes floats as repr(), like the JSON
        text.flush()
        text.detach()
    elif fmt == "graphml":
        out.write(_graphml(result, screen_names))
    elif fmt == "html":
        from sockpuppet.report import html_report

        out.write(html_report(result).encode())
    else:
        raise ValueError(f"unknown output format {fmt!r}")


def _named(
    pairs: Sequence[tuple[str, str, float]], screen_names: dict[str, str | None]
) -> list[tuple[str, str | None, str, str | None, float]]:
    name = screen_names.get
    return [(a, name(a), b, name(b), score) for a, b, score in pairs]


def _write_json(result: SimilarAccountsResult, out: IO[bytes], screen_names: dict[str, str | None]) -> None:
    pairs: Sequence[Any] = result.similar_account_pairs
    if screen_names:
        pairs = _named(result.similar_account_pairs, screen_names)
    table = result.cluster_table
    rest = orjson.dumps(result.summary(clusters=table is None), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    out.write(b'{\n  "similar_account_pairs": [')
    if pairs:
        out.write(b"\n")
        _write_items(out, lambda start, stop: pairs[start:stop], len(pairs), WRITE_PAIRS)
        out.write(b"\n  ")
    out.write(b"],\n")
    if table is None:
        out.write(memoryview(rest)[2:])  # the summary (with any signals) written without a copy
        return
    out.write(memoryview(rest)[2:-3])  # the summary up to its closing "\n}\n"; "clusters" is its last key
    out.write(b',\n  "clusters": [')
    if len(table):
        out.write(b"\n")
        _write_items(out, table.dicts, len(table), WRITE_CLUSTERS)
        out.write(b"\n  ")
    out.write(b"]\n}\n")


def _write_items(out: IO[bytes], items: Callable[[int, int], Sequence[Any]], count: int, step: int) -> None:
    """Write ``count`` items as the inside of an indented array one level below the top, ``step`` at a time
    (``items(start, stop)`` gives each piece)."""
    for start in range(0, count, step):
        # an indented array is "[\n  item,\n  ...\n]": keep the inside, one level deeper
        piece = orjson.dumps(items(start, min(start + step, count)), option=orjson.OPT_INDENT_2)
        out.write((b",\n  " if start else b"  ") + piece[2:-2].replace(b"\n", b"\n  "))


def _graphml(result: SimilarAccountsResult, screen_names: dict[str, str | None]) -> bytes:
    ET.register_namespace("", GRAPHML_NS)

    def tag(name: str) -> str:
        return f"{{{GRAPHML_NS}}}{name}"

    root = ET.Element(tag("graphml"))
    keys = [("screen_name", "node", "string"), ("type", "edge", "string"), ("similarity", "edge", "double")]
    if result.co_hashtag_pairs is not None:
        keys += [("shared_count", "edge", "int"), ("shared_hashtags", "edge", "string")]
    if result.groups is not None:
        keys.append(("group", "node", "int"))
    if result.clusters is not None:
        keys.append(("cluster", "node", "int"))
    for key, domain, kind in keys:
        ET.SubElement(root, tag("key"), {"id": key, "for": domain, "attr.name": key, "attr.type": kind})
    graph = ET.SubElement(root, tag("graph"), {"id": result.hashtag, "edgedefault": "undirected"})
    group_of = {member: n for n, group in enumerate(result.groups or []) for member in group}
    cluster_of = {m["id"]: n for n, cluster in enumerate(result.clusters or []) for m in cluster["members"]}
    co_pairs = result.co_hashtag_pairs or []
    nodes = dict.fromkeys(ident for first, second, _ in result.similar_account_pairs for ident in (first, second))
    nodes.update(dict.fromkeys(ident for first, second, _, _ in co_pairs for ident in (first, second)))
    for ident in nodes:
        node = ET.SubElement(graph, tag("node"), {"id": ident})
        ET.SubElement(node, tag("data"), {"key": "screen_name"}).text = screen_names.get(ident) or ""
        if ident in group_of:
            ET.SubElement(node, tag("data"), {"key": "group"}).text = str(group_of[ident])
        if ident in cluster_of:
            ET.SubElement(node, tag("data"), {"key": "cluster"}).text = str(cluster_of[ident])
    for first, second, score in result.similar_account_pairs:
        edge = ET.SubElement(graph, tag("edge"), {"source": first, "target": second})
        ET.SubElement(edge, tag("data"), {"key": "type"}).text = "name_similarity"
        ET.SubElement(edge, tag("data"), {"key": "similarity"}).text = repr(score)
    for first, second, count, tags in co_pairs:
        edge = ET.SubElement(graph, tag("edge"), {"source": first, "target": second})
        ET.SubElement(edge, tag("data"), {"key": "type"}).text = "co_hashtag"
        ET.SubElement(edge, tag("data"), {"key": "shared_count"}).text = str(count)
        ET.SubElement(edge, tag("data"), {"key": "shared_hashtags"}).text = " ".join(tags)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _write(data: bytes, output: Path | None, stdout: IO[bytes]) -> None:
    if output is None:
        stdout.write(data)
        stdout.flush()
    else:
        output.write_bytes(data)


def _write_to(
    result: SimilarAccountsResult, fmt: str, screen_names: dict[str, str | None], output: Path | None
) -> None:
    if output is None:
        write_result(result, fmt, screen_names, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with output.open("wb") as out:
        write_result(result, fmt, screen_names, out)


def run_pairs(args: argparse.Namespace) -> int:
    """Handler of ``sockpuppet pairs``: :func:`~sockpuppet.job.find_similar_accounts` on columns read from files, in
    steps.

    Plain TSV files with an exact hashtag go through :func:`sockpuppet.tsvjob.match_tsv` and, for the signals,
    :func:`sockpuppet.tsvsignals.tsv_signal_inputs` (no Python object per record; both hand anything unusual back to
    the general path). Otherwise the posts are dropped once
    their authors are known, and the accounts once the matched ones are selected, so the pair search runs with
    little else in memory. CSV is written straight from the engine's index arrays (:func:`write_pairs_csv`).
    """
    posts_format, posts_compression = _input_format(args.posts, args.posts_format)
    accounts_format, accounts_compression = _input_format(args.accounts, args.accounts_format)
    fmt = _output_format(args)
    tag = normalize_hashtag(args.hashtag)
    signals = _signals(args, fmt)
    timed = signals.any  # created_at is read only when a signal needs it
    formats = (posts_format, posts_compression, accounts_format, accounts_compression)
    fast = inputs = None
    if args.hashtag_match == "exact" and formats == ("tsv", None, "tsv", None):
        fast = match_tsv(args.posts, args.accounts, hashtag=tag, keep_tables=timed)
        if fast is not None and timed:
            inputs = tsv_signal_inputs(signals, posts=args.posts, accounts=args.accounts, matched=fast)
            fast = fast if inputs is not None else None
            if fast is not None:  # the tables are read: let them go before the pair search
                fast = dataclasses.replace(fast, tables=None)
    if fast is not None:
        names, without = fast.names, fast.authors_without_account
        ids_at = fast.id_strings
        matched = None
    else:
        matched = _match_columns(args, tag, signals, formats)
        names, without = matched.names, matched.authors_without_account
        id_array = np.array(matched.ids, dtype=object)

        def ids_at(rows: np.ndarray | None = None) -> list[str]:
            return list(matched.ids) if rows is None else id_array[rows].tolist()

    progress = _Progress() if sys.stderr.isatty() else None
    try:
        found = similar_name_pairs(names, args.min_similarity, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    if fmt == "csv" and not timed:
        _open_output(args.output, lambda out: write_pairs_csv(found, names, ids_at, out, max_pairs=args.max_pairs))
        return 0
    if matched is None:
        matched = MatchedAccounts(
            ids=ids_at(),
            names=names,
            hashtag=tag,
            min_similarity=args.min_similarity,
            authors_without_account=without,
            signal_inputs=inputs,
        )
    # JSON output builds and writes the clusters a slice at a time; the other formats need them all
    result = build_result(
        matched, found, max_pairs=args.max_pairs, with_groups=args.groups, clusters_as_table=fmt == "json"
    )
    with collector_paused():  # the named pairs, the screen names and the document's pieces: no cycles
        _write_to(result, fmt, dict(zip(matched.ids, matched.names, strict=True)), args.output)
    return 0


def _match_columns(
    args: argparse.Namespace, tag: str, signals: Signals, formats: tuple[Any, Any, Any, Any]
) -> MatchedAccounts:
    """The general path: posts and accounts read into columns, each dropped as soon as it is no longer needed."""
    posts_format, posts_compression, accounts_format, accounts_compression = formats
    timed = signals.any
    posts = read_post_columns(args.posts, format=posts_format, compression=posts_compression, created_at=timed)
    authors = posts.hashtag_author_ids(tag, match=args.hashtag_match)
    if not timed:
        del posts
    accounts = read_account_columns(
        args.accounts, format=accounts_format, compression=accounts_compression, created_at=timed
    )
    selection = accounts.select(authors)
    matched = MatchedAccounts.selected(selection, hashtag=tag, min_similarity=args.min_similarity)
    if timed:
        inputs = prepare_signals(
            signals, posts=posts, accounts=accounts, ids=matched.ids, match=args.hashtag_match, rows=selection.rows
        )
        matched = dataclasses.replace(matched, signal_inputs=inputs)
    return matched


def _open_output(output: Path | None, write: Callable[[IO[bytes]], None]) -> None:
    if output is None:
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with output.open("wb") as out:
        write(out)


def write_pairs_csv(
    found: PairArrays,
    names: Sequence[str | None],
    ids_at: Callable[[np.ndarray], list[str]],
    out: IO[bytes],
    *,
    max_pairs: int | None = None,
) -> None:
    """The CSV of :func:`write_result` (with screen names) written from the engine's index arrays.

    Byte-identical to ``write_result(build_result(matched, found, max_pairs=max_pairs), "csv", screen_names, out)``
    with ``screen_names = dict(zip(matched.ids, matched.names))``, without building the pairs as tuples: each chunk
    of :data:`CSV_CHUNK_PAIRS` pairs is joined as text, or goes through :func:`csv.writer` when one of its fields
    needs quoting; a similarity is written as its ``repr``, as :mod:`csv` does, formatted once per distinct value.

    Parameters
    ----------
    found
        Pairs from :func:`~sockpuppet.engine.similar_name_pairs` over ``names``.
    names
        The matched accounts' screen names (``None``: none).
    ids_at
        The matched accounts' ids at the given indices, as strings.
    out
        Binary stream.
    max_pairs
        Write only the first ``max_pairs`` pairs; ``None`` writes all.
    """
    first = np.asarray(found.first, dtype=np.int64)
    second = np.asarray(found.second, dtype=np.int64)
    score = np.asarray(found.score, dtype=np.float64)
    keep = first.size if max_pairs is None else min(max_pairs, first.size)
    if not names:  # no matched account: the header without screen names (and no pair)
        out.write(b"id1,id2,similarity\n")
        return
    out.write(b"id1,screen_name1,id2,screen_name2,similarity\n")
    name_array = np.array(names, dtype=object)
    if None in names:
        name_array[np.equal(name_array, None)] = ""  # csv writes None as an empty field
    for start in range(0, keep, CSV_CHUNK_PAIRS):
        end = min(start + CSV_CHUNK_PAIRS, keep)
        a, b = first[start:end], second[start:end]
        columns = (ids_at(a), name_array[a].tolist(), ids_at(b), name_array[b].tolist())
        pieces = [","] * (10 * (end - start))  # field, separator, field, ...: one join, no string per row
        for j, column in enumerate((*columns, _reprs(score[start:end]))):
            pieces[2 * j :: 10] = column
        pieces[9::10] = ["\n"] * (end - start)
        text = "".join(pieces)
        # no field holds a comma, a quote or a line break: exactly 4 commas and one newline a row
        if text.count(",") != 4 * (end - start) or text.count("\n") != end - start or '"' in text or "\r" in text:
            chunk = io.StringIO()
            csv.writer(chunk, lineterminator="\n").writerows(zip(*columns, score[start:end].tolist(), strict=True))
            text = chunk.getvalue()
        out.write(text.encode())


def _reprs(score: np.ndarray) -> list[str]:
    """``repr`` of every score, computed once per distinct value (scores are few distinct fractions)."""
    bits = score.view(np.uint64)
    distinct = np.sort(bits)
    distinct = distinct[np.concatenate(([True], distinct[1:] != distinct[:-1]))] if distinct.size else distinct
    texts = np.array([repr(value) for value in distinct.view(np.float64).tolist()], dtype=object)
    return texts[np.searchsorted(distinct, bits)].tolist()


def _signals(args: argparse.Namespace, fmt: str) -> Signals:
    """The signals asked on the command line (``--format html`` asks for all of them); CSV carries only pairs, so
    asking for a signal with it is a usage error (nothing computed and left unwritten)."""
    report = fmt == "html"
    if fmt == "csv" and (args.co_hashtag or args.creation_bursts or args.clusters):
        raise CliError(
            "--co-hashtag, --creation-bursts and --clusters need --format json, graphml or html "
            "(CSV carries only pairs)"
        )
    options: dict[str, Any] = {"clusters": args.clusters or report}
    if args.co_hashtag or report:
        options["co_hashtag"] = {"window_seconds": args.window, "min_shared": args.min_shared}
    if args.creation_bursts or report:
        options["creation_bursts"] = {"window_seconds": args.burst_window, "min_accounts": args.min_accounts}
    try:
        return parse_signals(options)
    except InputError as exc:
        option = _SIGNAL_OPTIONS.get(tuple(exc.details[0]["loc"][-2:]), "signals")
        raise CliError(f"{option}: {exc.details[0]['msg']}") from None


_SIGNAL_OPTIONS = {
    ("co_hashtag", "window_seconds"): "--window",
    ("co_hashtag", "min_shared"): "--min-shared",
    ("creation_bursts", "window_seconds"): "--burst-window",
    ("creation_bursts", "min_accounts"): "--min-accounts",
}


def main(argv: Sequence[str] | None = None, *, commands: Sequence[Register] | None = None) -> int:
    """Entry point of the ``sockpuppet`` console script; returns the exit code.

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).
    commands
        The subcommands (default: every registered one, see :func:`build_parser`; only :data:`SUBCOMMANDS` when
        ``argv`` starts with one of :data:`BUILTIN_COMMANDS`).

    Returns
    -------
    int
        0 on success, 2 on a usage or input error (message on stderr; for ``remote`` also any 4xx answer), 1 when
        the work timed out (``remote``: a 5xx answer or an unreachable API).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if commands is None and argv and argv[0] in BUILTIN_COMMANDS:
        commands = SUBCOMMANDS  # the plugins' packages (the HTTP client, botocore) take a second or more to import
    parser = build_parser(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(args.handler(args))
    except InputError as exc:
        sys.stderr.write(f"sockpuppet: error: {exc.message}\n")
        return 2
    except (CliError, OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
        sys.stderr.write(f"sockpuppet: error: {where}{reason}\n")
        return 2
    except DeadlineExceeded as exc:
        sys.stderr.write(f"sockpuppet: error: timed out: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("sockpuppet: interrupted\n")
        return 130
