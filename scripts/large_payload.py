"""Large-payload run: a ~50 MB ``posts.tsv`` and 200k accounts through the local stack with the Python client.

Generates seeded input files (``scripts/generate_sample.py``), starts a local stack (Lambda RIE pool + HTTP front +
moto S3), and runs :class:`sockpuppet_client.Client` in a child process: both files are uploaded (presigned POST,
streamed) and the result comes back through a presigned URL. While it runs, the RSS of every RIE / function
process is sampled (psutil, over the process tree, plus each process's kernel high-water mark); the client reports
its own peak RSS. Prints one JSON document with sizes, times and peak RSS. Linux only (``/proc``), like the RIE.

Usage::

    python scripts/large_payload.py                                  # ~50 MB posts.tsv + 200k accounts
    python scripts/large_payload.py --posts 60000 --accounts 30000 --verify   # smaller, checked vs the library
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "generate_sample.py"
DEFAULT_POSTS = 350_000
"""About 50 MB of posts.tsv with the sample generator's rows (~145 bytes a row)."""
DEFAULT_ACCOUNTS = 200_000
MIB = 1 << 20


def generate(out: Path, *, posts: int, accounts: int, seed: int) -> tuple[Path, Path]:
    """Write (or reuse) seeded ``posts.tsv`` / ``accounts.tsv`` under ``out`` and return their paths."""
    folder = out / f"posts{posts}-accounts{accounts}-seed{seed}"
    paths = folder / "posts.tsv", folder / "accounts.tsv"
    if not all(path.exists() for path in paths):
        command = [sys.executable, str(GENERATOR), "--posts", str(posts), "--accounts", str(accounts)]
        subprocess.run([*command, "--seed", str(seed), "--out", str(folder)], check=True, stdout=subprocess.DEVNULL)
    return paths


def peak_rss(pid: int | str = "self") -> int:
    """Peak RSS in bytes of a process's current address space: Linux's ``VmHWM`` (unlike ``ru_maxrss``, it does
    not inherit the parent's RSS through fork + exec)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise ProcessLookupError(pid)


class RssSampler:
    """Sample the RSS of this process's RIE and function descendants (except ``exclude``) and keep the peaks.

    ``peak_process[role]``: the largest single process (sampled RSS or its ``VmHWM``, so short peaks between samples
    count too); ``peak_total[role]``: the largest sampled sum over the processes of that role.
    """

    def __init__(self, *, interval: float = 0.05) -> None:
        self.interval = interval
        self.exclude: set[int] = set()
        self.peak_process: dict[str, int] = {}
        self.peak_total: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _role(process: psutil.Process) -> str | None:
        try:
            cmdline = process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        if cmdline and "aws-lambda-rie" in Path(cmdline[0]).name:
            return "rie"
        if "awslambdaric" in cmdline:
            return "function"
        return None

    def sample(self) -> None:
        """Take one sample: current RSS of each process and its kernel high-water mark (``VmHWM``)."""
        totals: dict[str, int] = {}
        for process in psutil.Process().children(recursive=True):
            if process.pid in self.exclude:
                continue
            role = self._role(process)
            if role is None:
                continue
            try:
                rss = process.memory_info().rss
                hwm = peak_rss(process.pid)
            except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
                continue
            totals[role] = totals.get(role, 0) + rss
            self.peak_process[role] = max(self.peak_process.get(role, 0), rss, hwm)
        for role, total in totals.items():
            self.peak_total[role] = max(self.peak_total.get(role, 0), total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_client(argv: list[str]) -> int:
    """Child-process mode: upload both files, run the job with a URL result, print timings and peak RSS as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("posts", type=Path)
    parser.add_argument("accounts", type=Path)
    parser.add_argument("--hashtag", required=True)
    parser.add_argument("--result", type=Path, required=True, help="write the 200 body here")
    args = parser.parse_args(argv)

    from sockpuppet_client import Client

    baseline = peak_rss()
    times: dict[str, float] = {}
    with Client(args.url, auth=("LARGEPAYLOAD", "secret"), region="us-east-1", timeout=(10, 900)) as client:
        start = time.perf_counter()
        posts_id = client.upload(args.posts, kind="posts")
        times["upload_posts_s"] = time.perf_counter() - start
        start = time.perf_counter()
        accounts_id = client.upload(args.accounts, kind="accounts")
        times["upload_accounts_s"] = time.perf_counter() - start
        start = time.perf_counter()
        body = client.similar_account_pairs(
            posts=posts_id, accounts=accounts_id, hashtag=args.hashtag, result_delivery="url"
        )
        times["job_and_result_s"] = time.perf_counter() - start
    args.result.write_bytes(json.dumps(body).encode())
    report = {
        **{name: round(value, 3) for name, value in times.items()},
        "client_baseline_rss_mib": round(baseline / MIB, 1),
        "client_peak_rss_mib": round(peak_rss() / MIB, 1),
        "pair_count": body["pair_count"],
        "accounts_matched": body["accounts_matched"],
        "result_url_used": body["result_url"] is not None,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate, start the stack, run the client child while sampling RSS; return the report."""
    from sockpuppet_local.stack import LocalStack

    started = time.perf_counter()
    posts_path, accounts_path = generate(args.data_dir, posts=args.posts, accounts=args.accounts, seed=args.seed)
    report: dict[str, Any] = {
        "posts": args.posts,
        "accounts": args.accounts,
        "posts_tsv_mib": round(posts_path.stat().st_size / MIB, 1),
        "accounts_tsv_mib": round(accounts_path.stat().st_size / MIB, 1),
        "generate_s": round(time.perf_counter() - started, 1),
    }
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalStack(log=Path(tmp) / "function.log") as stack,
        RssSampler() as sampler,
    ):
        result_path = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "client", stack.base_url, str(posts_path), str(accounts_path)]
        command += ["--hashtag", args.hashtag, "--result", str(result_path)]
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        sampler.exclude.add(child.pid)
        out, _ = child.communicate()
        report["client_total_s"] = round(time.perf_counter() - started, 1)
        if child.returncode != 0:
            raise SystemExit(f"client failed with exit code {child.returncode}")
        report.update(json.loads(out))
        body = json.loads(result_path.read_bytes())
        sampler.sample()  # the function processes' final high-water marks, before the stack stops them
    report["function_peak_rss_mib"] = round(sampler.peak_process.get("function", 0) / MIB, 1)
    report["functions_peak_total_rss_mib"] = round(sampler.peak_total.get("function", 0) / MIB, 1)
    report["rie_peak_rss_mib"] = round(sampler.peak_process.get("rie", 0) / MIB, 1)
    if args.verify:
        from sockpuppet import find_similar_accounts, read_accounts, read_posts

        expected = find_similar_accounts(read_posts(posts_path), read_accounts(accounts_path), hashtag=args.hashtag)
        remote = {key: value for key, value in body.items() if key not in ("result_url", "result_expires_at")}
        local = {
            key: value for key, value in expected.to_dict().items() if key not in ("result_url", "result_expires_at")
        }
        local["similar_account_pairs"] = [list(pair) for pair in expected.similar_account_pairs]
        report["verified"] = remote == local
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["client"]:
        return run_client(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=DEFAULT_POSTS, help=f"posts (default {DEFAULT_POSTS})")
    parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS, help=f"accounts (default {DEFAULT_ACCOUNTS})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hashtag", default="#diedsuddenly")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "sockpuppet-large")
    parser.add_argument("--verify", action="store_true", help="also compare the result with the library's")
    args = parser.parse_args(argv)
    report = run(args)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0 if report.get("verified", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
