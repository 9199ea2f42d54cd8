"""``sockpuppet remote`` (and the ``sockpuppet-remote`` console script): the job of ``sockpuppet pairs`` done by the
deployed API.

The command reaches ``sockpuppet``'s console script through the ``sockpuppet.commands`` entry-point group (see
:mod:`sockpuppet.cli`), so the library - the Lambda layer - carries no command that imports this client. The
client itself (``requests``, botocore) is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sockpuppet.cli import (
    INSTALL_HINT,
    CliError,
    _non_negative,
    _output_format,
    _probability,
    _write,
    render,
)
from sockpuppet.cli import main as cli_main
from sockpuppet.job import SimilarAccountsResult
from sockpuppet.loaders import read_account_columns

__all__ = ["TIMEOUT_HINT", "add_remote_command", "main", "run_remote"]

TIMEOUT_HINT = (
    "sockpuppet: hint: the work does not fit the synchronous route's time limit; run it as a job with --async "
    "(or --on-timeout job)"
)


def add_remote_command(subparsers: Any) -> None:
    """Register ``sockpuppet remote`` (the ``sockpuppet.commands`` entry point of this package)."""
    parser = subparsers.add_parser(
        "remote",
        help="find similar-name account pairs with the deployed API",
        description="Same job and output as `sockpuppet pairs`, computed by the sockpuppet HTTPS API. Requests are "
        "signed with AWS SigV4 (botocore's credential chain: environment, --profile, SSO, roles); large files are "
        "uploaded to S3 first.",
    )
    parser.add_argument("--url", required=True, help="API base URL (e.g. http://127.0.0.1:3000 for `make run`)")
    parser.add_argument("--posts", required=True, type=Path, help="posts file (.tsv, .json, .jsonl, .ndjson; + .gz)")
    parser.add_argument("--accounts", required=True, type=Path, help="accounts file (same formats)")
    parser.add_argument("--hashtag", required=True, help="hashtag to filter on; the leading # is optional")
    parser.add_argument("--min-similarity", type=_probability, default=0.8, help="threshold in [0, 1] (0.8)")
    parser.add_argument("--hashtag-match", choices=("exact", "case_insensitive"), default="exact")
    parser.add_argument("--max-pairs", type=_non_negative, help="keep only the first N pairs")
    parser.add_argument("--profile", help="AWS profile for the SigV4 credentials (default: the default chain)")
    parser.add_argument("--region", help="AWS region to sign for (default: from the URL, else the profile's)")
    parser.add_argument("--format", choices=("json", "csv"), help="output format (default: from --output, else json)")
    parser.add_argument("--output", "-o", type=Path, help="output file (default: stdout)")
    parser.add_argument(
        "--async",
        dest="run_async",
        action="store_true",
        help="run it as a job (POST /v1/jobs: no size or time limit), wait with a progress bar, print the result",
    )
    parser.add_argument(
        "--on-timeout",
        choices=("fail", "job"),
        default="fail",
        help="when the synchronous route answers 504: fail (default, with a hint), or switch to a job",
    )
    parser.add_argument("--idempotency-key", help="with --async: the job's Idempotency-Key (same key, same job)")
    parser.set_defaults(handler=run_remote)


def run_remote(args: argparse.Namespace) -> int:
    """Handler of ``sockpuppet remote``: the API's answer rendered like ``sockpuppet pairs``."""
    try:
        from botocore.exceptions import BotoCoreError
        from requests import RequestException

        from sockpuppet_client import Client, JobCancelled, SigV4Auth, SockpuppetError, SyncTimeout
        from sockpuppet_client.auth import region_from_url
    except ImportError as exc:
        raise CliError(
            f"`sockpuppet remote` needs the HTTP client ({exc.name} is not installed): {INSTALL_HINT}"
        ) from None
    fmt = _output_format(args)
    if fmt not in ("json", "csv"):
        raise CliError(f"`sockpuppet remote` writes json or csv, not {fmt}")
    try:
        auth = SigV4Auth.from_session(profile=args.profile, region=args.region or region_from_url(args.url))
    except (BotoCoreError, ValueError) as exc:  # unknown profile, no credentials, no region
        raise CliError(f"cannot sign requests: {exc}") from None
    inputs = {
        "posts": args.posts,
        "accounts": args.accounts,
        "hashtag": args.hashtag,
        "min_similarity": args.min_similarity,
        "hashtag_match": args.hashtag_match,
        "max_pairs": args.max_pairs,
    }
    try:
        with Client(args.url, auth=auth) as client:
            if args.run_async:
                job = client.submit_job(**inputs, idempotency_key=args.idempotency_key)
                sys.stderr.write(f"sockpuppet: job {job.job_id}\n")
                body = job.result()
            else:
                on_timeout = "job" if args.on_timeout == "job" else "raise"
                body = client.similar_account_pairs(**inputs, on_timeout=on_timeout)
    except JobCancelled as exc:
        sys.stderr.write(f"sockpuppet: error: {exc}\n")
        return 1
    except SyncTimeout as exc:
        sys.stderr.write(f"sockpuppet: error: {exc}\n{TIMEOUT_HINT}\n")
        return 1
    except SockpuppetError as exc:
        sys.stderr.write(f"sockpuppet: error: {exc}\n")
        return 2 if 400 <= exc.status < 500 else 1
    except RequestException as exc:
        sys.stderr.write(f"sockpuppet: error: cannot reach {args.url}: {exc}\n")
        return 1
    result = SimilarAccountsResult(
        similar_account_pairs=[(first, second, score) for first, second, score in body["similar_account_pairs"]],
        pair_count=body["pair_count"],
        hashtag=body["hashtag"],
        min_similarity=body["min_similarity"],
        accounts_matched=body["accounts_matched"],
        authors_without_account=body["authors_without_account"],
        truncated=body["truncated"],
    )
    _write(render(result, fmt, _screen_names(args.accounts, result)), args.output, sys.stdout.buffer)
    return 0


def _screen_names(accounts: Path, result: SimilarAccountsResult) -> dict[str, str | None]:
    """The screen names of the paired accounts, from the local accounts file (the API answers ids only), so that
    the output is exactly what ``sockpuppet pairs`` writes."""
    paired = {ident for first, second, _ in result.similar_account_pairs for ident in (first, second)}
    if not paired:
        return {}
    columns = read_account_columns(accounts, created_at=False)
    names: dict[str, str | None] = {}
    for ident, name in zip(columns.id, columns.screen_name, strict=True):
        if ident in paired:
            names.setdefault(ident, name)
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sockpuppet-remote`` console script (``sockpuppet remote`` with the same arguments).

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code of :func:`sockpuppet.cli.main`.
    """
    return cli_main(["remote", *(sys.argv[1:] if argv is None else argv)], commands=[add_remote_command])
