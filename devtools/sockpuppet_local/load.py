"""``make load``: a bounded load test (locust, headless) and a warm-latency probe of the API.

Usage::

    python -m sockpuppet_local.load                      # 8 users, 400 requests, against a fresh local stack
    python -m sockpuppet_local.load --duration 15        # time-bounded instead (the CI variant)
    python -m sockpuppet_local.load --host https://<id>.execute-api.<region>.amazonaws.com/prod
    python -m sockpuppet_local.load --latency            # p50 of 200 sequential 1k-post jobs through one RIE
                                                         # (gzip body as the client sends it, then plain JSON)

Without ``--host`` it starts its own :class:`~sockpuppet_local.stack.LocalStack` (2 RIE workers). Prints p50/p95/
p99, throughput and error rate per request type and overall; exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from sockpuppet_client.auth import SigV4Auth
from sockpuppet_local.jobs import sample_jobs
from sockpuppet_local.rie import REPO_ROOT
from sockpuppet_local.stack import LocalStack

logger = logging.getLogger("sockpuppet_local.load")

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SAFETY_RUN_TIME = "10m"
"""Upper bound of a count-bounded run, in case the stack stops answering."""
FUNCTION_TARGET_MS = 6.0
HEALTH_RATIO_TARGET = 3.0
"""Targets of the warm probe: the function's duration for a 1k-post job, and its round trip over /health's."""
OUT = REPO_ROOT / ".local" / "load"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sockpuppet_local.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=8, help="concurrent users (default: 8)")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--requests", type=int, default=None, help="stop after this many requests (default: 400)")
    bound.add_argument("--duration", type=int, default=None, help="stop after this many seconds")
    parser.add_argument("--host", help="API base URL (default: start a local stack)")
    parser.add_argument("--workers", type=int, default=2, help="RIE workers of the local stack (default: 2)")
    parser.add_argument("--out", type=Path, default=OUT, help="samples, locust CSVs and logs (default: .local/load)")
    parser.add_argument("--latency", action="store_true", help="measure sequential warm latency through one RIE")
    parser.add_argument("--latency-requests", type=int, default=200, help="requests of --latency (default: 200)")
    return parser


@contextmanager
def _target(host: str | None, workers: int, log_dir: Path) -> Iterator[str]:
    if host:
        yield host.rstrip("/")
        return
    log = log_dir / "function.log"
    log.unlink(missing_ok=True)
    with LocalStack(workers=workers, log=log) as stack:
        logger.info("local stack %s with %d RIE workers (function logs: %s)", stack.base_url, workers, log)
        yield stack.base_url


def run_locust(host: str, *, users: int, requests_limit: int | None, duration: int | None, out: Path) -> int:
    """Run the locustfile headless against ``host``; return locust's exit code (1 when a request failed)."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--host",
        host,
        "--csv",
        str(out / "load"),
        "--samples-file",
        str(out / "samples.json"),
        "--run-time",
        f"{duration}s" if duration else SAFETY_RUN_TIME,
    ]
    if not duration:
        command += ["--max-requests", str(requests_limit or 400)]
    (out / "samples.json").unlink(missing_ok=True)
    logger.info("running locust: %d users, %s", users, f"{duration} s" if duration else f"{command[-1]} requests")
    with (out / "locust.log").open("wb") as log:
        code = subprocess.run(command, check=False, stdout=log, stderr=subprocess.STDOUT).returncode
    if code not in (0, 1):  # 1: some request failed (the report shows it); anything else: locust itself failed
        sys.stderr.write((out / "locust.log").read_text(errors="replace")[-4000:])
    return code


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def report(samples_json: Path) -> tuple[str, bool]:
    """A table of the run's samples (exact p50/p95/p99 in ms, req/s over the run) and whether any request failed
    (or none was made)."""
    samples = json.loads(samples_json.read_text()) if samples_json.exists() else []
    failed = not samples
    groups: dict[str, list[list]] = {}
    for sample in samples:
        groups.setdefault(sample[0], []).append(sample)
    if samples:
        groups["all requests"] = samples
    first_start = min((end - latency / 1000 for _, latency, _, end in samples), default=0.0)
    span = max((end for *_, end in samples), default=0.0) - first_start
    lines = [f"{'request':<44} {'count':>6} {'errors':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>7}"]
    for name, rows in groups.items():
        errors = sum(1 for row in rows if row[2])
        failed |= errors > 0
        p50, p95, p99 = _percentiles([row[1] for row in rows])
        lines.append(
            f"{name:<44} {len(rows):>6} {100 * errors / len(rows):>6.2f}% {p50:>7.1f} {p95:>7.1f} {p99:>7.1f} "
            f"{len(rows) / span if span > 0 else 0.0:>7.1f}"
        )
    return "\n".join(lines) + "\n(latency in ms; errors = failed / sent; req/s over the run)\n", failed


def _failures(samples_json: Path, limit: int = 5) -> str:
    """The most frequent error messages of the run."""
    errors = Counter(f"{name}: {error}" for name, _, error, _ in json.loads(samples_json.read_text()) if error)
    return "".join(f"  {count:>5} x {message}\n" for message, count in errors.most_common(limit))


_REPORT_DURATION = re.compile(
    rb"^REPORT RequestId: \S+\s+(?:Init Duration: \S+ ms\s+)?Duration: ([0-9.]+) ms", re.MULTILINE
)


def measure_latency(requests_count: int, log: Path, *, gzip_body: bool = True) -> tuple[float, float, float, float]:
    """Sequential 1k-post jobs through a one-RIE local stack, each followed by a ``GET /health`` on the same stack
    (so that both see the same machine load), after 10 warm-up rounds.

    ``gzip_body``: send the body as :mod:`sockpuppet_client` sends every inline body (gzip JSON,
    ``Content-Encoding: gzip``; the gateway passes it base64-encoded in the event); else as plain JSON text (then
    the event carries the 300 KB JSON document as an escaped string, which the Lambda runtime's own JSON parser
    reads before the handler starts).

    Returns
    -------
    tuple of float
        p50 and p95 of the job's HTTP round trip, p50 of the function's own duration for the job (the RIE's
        ``REPORT`` lines), and p50 of the ``/health`` round trip, ms.
    """
    body = sample_jobs(1)[0]
    headers = {"Content-Type": "application/json"}
    if gzip_body:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    signer = SigV4Auth(("AKIDLOCALLATENCY", "local-secret"), "us-east-1")
    log.unlink(missing_ok=True)
    samples, health = [], []
    with LocalStack(workers=1, log=log) as stack, requests.Session() as session:
        url = f"{stack.base_url}/v1/similar-account-pairs"
        for index in range(requests_count + 10):
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, auth=signer)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            started = time.perf_counter()
            session.get(f"{stack.base_url}/health").raise_for_status()
            health_elapsed = (time.perf_counter() - started) * 1000
            if index >= 10:
                samples.append(elapsed)
                health.append(health_elapsed)
    reports = [float(match) for match in _REPORT_DURATION.findall(log.read_bytes())][-2 * requests_count :]
    durations = reports[0::2]  # job, health, job, health, ...
    p50, p95, _ = _percentiles(samples)
    return p50, p95, statistics.median(durations), statistics.median(health)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("sockpuppet_local.front").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.latency:
        args.out.mkdir(parents=True, exist_ok=True)
        for gzip_body, form in ((True, "gzip JSON as the client sends it"), (False, "plain JSON text")):
            p50, p95, function_p50, health_p50 = measure_latency(
                args.latency_requests, args.out / "latency-function.log", gzip_body=gzip_body
            )
            sys.stdout.write(
                f"warm latency, 1k-post job ({form}), 1 RIE, {args.latency_requests} sequential requests: HTTP "
                f"round trip p50 {p50:.1f} ms, p95 {p95:.1f} ms; function duration p50 {function_p50:.1f} ms "
                f"(target <= {FUNCTION_TARGET_MS:.0f} ms); /health p50 {health_p50:.1f} ms, HTTP/health ratio "
                f"{p50 / health_p50:.2f} (target <= {HEALTH_RATIO_TARGET:.0f})\n"
            )
        return 0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    with _target(args.host, args.workers, out) as host:
        started = time.monotonic()
        code = run_locust(host, users=args.users, requests_limit=args.requests, duration=args.duration, out=out)
        elapsed = time.monotonic() - started
    table, failed = report(out / "samples.json")
    sys.stdout.write(f"load test against {args.host or 'a local stack'} ({args.users} users, {elapsed:.0f} s)\n")
    sys.stdout.write(table)
    if failed:
        sys.stdout.write(_failures(out / "samples.json"))
    return 1 if failed or code != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
