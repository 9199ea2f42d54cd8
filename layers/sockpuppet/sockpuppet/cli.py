"""The ``sockpuppet`` console script.

``sockpuppet pairs --posts posts.tsv --accounts accounts.tsv --hashtag diedsuddenly`` runs the job locally and
writes the API's 200 body (JSON), a CSV of pairs, or a GraphML graph. Exit codes: 0 ok, 2 usage or input error
(one line on stderr, no traceback).

Subcommands register themselves through :data:`SUBCOMMANDS`: each entry is a function that adds a subparser to the
``add_subparsers`` action and sets ``handler`` (``handler(args) -> int``) as its default. Other installed packages
add commands through the ``sockpuppet.commands`` entry-point group (same signature): ``sockpuppet remote`` comes
from ``sockpuppet_client`` that way, so this library (the Lambda layer) carries no command that needs the client.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from sockpuppet import __version__
from sockpuppet.errors import DeadlineExceeded, InputError
from sockpuppet.hashtags import normalize_hashtag
from sockpuppet.job import MatchedAccounts, SimilarAccountsResult, search_matched
from sockpuppet.loaders import FORMATS, detect_format, read_account_columns, read_post_columns

__all__ = ["OUTPUT_FORMATS", "SUBCOMMANDS", "build_parser", "main", "render", "write_result"]

OUTPUT_FORMATS = ("json", "csv", "graphml")
PROGRESS_MIN_TOTAL = 1_000_000
"""Show a progress bar only when the pair search reports at least this much work (and stderr is a TTY)."""

INSTALL_HINT = "pip install 'sockpuppet[cli]'"
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
WRITE_PAIRS = 8192
"""Pairs serialised per write of JSON output."""


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
    parser.add_argument(
        "--format", choices=OUTPUT_FORMATS, help="output format (default: from --output's extension, else json)"
    )
    parser.add_argument("--output", "-o", type=Path, help="output file (default: stdout)")
    parser.set_defaults(handler=run_pairs)


Register = Callable[[Any], None]
SUBCOMMANDS: list[Register] = [add_pairs_command]
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
    """Serialise a result as ``json`` (the API's 200 body), ``csv`` (id1,id2,similarity) or ``graphml``.

    Parameters
    ----------
    result
        The job's result.
    fmt
        One of :data:`OUTPUT_FORMATS`.
    screen_names
        Account id -> screen name, for the GraphML node attributes.

    Returns
    -------
    bytes
        UTF-8 document (the bytes :func:`write_result` writes).
    """
    buffer = io.BytesIO()
    write_result(result, fmt, screen_names, buffer)
    return buffer.getvalue()


def write_result(result: SimilarAccountsResult, fmt: str, screen_names: dict[str, str | None], out: IO[bytes]) -> None:
    """Write a result as ``json``, ``csv`` or ``graphml`` to a binary stream, the pairs in pieces.

    JSON is exactly ``orjson.dumps(result.to_dict(), option=OPT_INDENT_2 | OPT_APPEND_NEWLINE)``, written
    :data:`WRITE_PAIRS` pairs at a time without building the document's list of pairs; CSV goes through one
    :func:`csv.writer` straight to ``out``.

    Raises
    ------
    ValueError
        On an unknown ``fmt``.
    """
    if fmt == "json":
        _write_json(result, out)
    elif fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["id1", "id2", "similarity"])
        writer.writerows(result.similar_account_pairs)  # csv writes floats as repr(), like the JSON
        text.flush()
        text.detach()
    elif fmt == "graphml":
        out.write(_graphml(result, screen_names))
    else:
        raise ValueError(f"unknown output format {fmt!r}")


def _write_json(result: SimilarAccountsResult, out: IO[bytes]) -> None:
    pairs = result.similar_account_pairs
    rest = orjson.dumps(result.summary(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    if not pairs:
        out.write(b'{\n  "similar_account_pairs": [],\n' + rest[2:])
        return
    out.write(b'{\n  "similar_account_pairs": [\n')
    for start in range(0, len(pairs), WRITE_PAIRS):
        # an indented array of pairs is "[\n  [\n    ...\n  ],\n  ...\n]": keep the inside, one level deeper
        piece = orjson.dumps(pairs[start : start + WRITE_PAIRS], option=orjson.OPT_INDENT_2)
        out.write((b",\n  " if start else b"  ") + piece[2:-2].replace(b"\n", b"\n  "))
    out.write(b"\n  ],\n" + rest[2:])


def _graphml(result: SimilarAccountsResult, screen_names: dict[str, str | None]) -> bytes:
    ET.register_namespace("", GRAPHML_NS)

    def tag(name: str) -> str:
        return f"{{{GRAPHML_NS}}}{name}"

    root = ET.Element(tag("graphml"))
    keys = [("screen_name", "node", "string"), ("similarity", "edge", "double")]
    if result.groups is not None:
        keys.append(("group", "node", "int"))
    for key, domain, kind in keys:
        ET.SubElement(root, tag("key"), {"id": key, "for": domain, "attr.name": key, "attr.type": kind})
    graph = ET.SubElement(root, tag("graph"), {"id": result.hashtag, "edgedefault": "undirected"})
    group_of = {member: n for n, group in enumerate(result.groups or []) for member in group}
    nodes = dict.fromkeys(ident for first, second, _ in result.similar_account_pairs for ident in (first, second))
    for ident in nodes:
        node = ET.SubElement(graph, tag("node"), {"id": ident})
        ET.SubElement(node, tag("data"), {"key": "screen_name"}).text = screen_names.get(ident) or ""
        if ident in group_of:
            ET.SubElement(node, tag("data"), {"key": "group"}).text = str(group_of[ident])
    for first, second, score in result.similar_account_pairs:
        edge = ET.SubElement(graph, tag("edge"), {"source": first, "target": second})
        ET.SubElement(edge, tag("data"), {"key": "similarity"}).text = repr(score)
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

    The posts are dropped once their authors are known, and the accounts once the matched ones are selected, so
    the pair search runs with little else in memory.
    """
    posts_format, posts_compression = _input_format(args.posts, args.posts_format)
    accounts_format, accounts_compression = _input_format(args.accounts, args.accounts_format)
    fmt = _output_format(args)
    tag = normalize_hashtag(args.hashtag)
    posts = read_post_columns(args.posts, format=posts_format, compression=posts_compression, created_at=False)
    authors = posts.hashtag_authors(tag, match=args.hashtag_match)
    del posts
    accounts = read_account_columns(
        args.accounts, format=accounts_format, compression=accounts_compression, created_at=False
    )
    matched = MatchedAccounts.selected(accounts.select(authors), hashtag=tag, min_similarity=args.min_similarity)
    del accounts, authors
    progress = _Progress() if sys.stderr.isatty() else None
    try:
        result = search_matched(matched, max_pairs=args.max_pairs, with_groups=args.groups, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    screen_names = dict(zip(matched.ids, matched.names, strict=True)) if fmt == "graphml" else {}
    _write_to(result, fmt, screen_names, args.output)
    return 0


def main(argv: Sequence[str] | None = None, *, commands: Sequence[Register] | None = None) -> int:
    """Entry point of the ``sockpuppet`` console script; returns the exit code.

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).
    commands
        The subcommands (default: every registered one, see :func:`build_parser`).

    Returns
    -------
    int
        0 on success, 2 on a usage or input error (message on stderr; for ``remote`` also any 4xx answer), 1 when
        the work timed out (``remote``: a 5xx answer or an unreachable API).
    """
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
