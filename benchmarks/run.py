"""Benchmark the exact pair search: engine vs the reference loop vs blocked ``rapidfuzz.process.cdist``.

Every measurement runs in its own child process (``python -m benchmarks.run --child ...``) on names from
:mod:`benchmarks.names`; the child reports the wall time of the search alone (name generation excluded), the
number of pairs and a SHA-256 digest of the pairs (indices and score bytes), and its peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``, names included). Methods that finish the same ``(n, threshold)`` must agree
on the digest, or the run fails.

- ``engine``: :func:`sockpuppet.engine.similar_name_pairs` (``workers=-1``), one child per threshold; the row
  also gives the search's CPU seconds (user + system, all threads: steadier than wall time on a shared machine).
- ``reference``: the original exercise's loop (``tests.reference.get_similar_screen_names``), measured where it
  is feasible (``--reference-max``); larger sizes get an ``extrapolated`` row (``seconds * (n / n_measured)**2``
  from the largest measured size), labelled as such.
- ``cdist``: ``process.cdist(scorer=DamerauLevenshtein.normalized_similarity, dtype=float64, workers=-1)`` over
  the full ``n x n`` matrix in row blocks (``--cdist-max``); its time does not depend on the threshold, so one pass
  counts the pairs of every threshold.
- ``small``: the engine against one single-thread ``cdist`` of the names with themselves plus the threshold (the
  naive exact baseline) on the same names, at ``--small-sizes`` and ``--small-thresholds``, in one child: runs
  alternate (the order flips every round) for about 3 s per row, at least five each, digests compared; the table
  reports the medians and their ratio.
- ``cli``: ``sockpuppet pairs`` on generated ``posts.tsv``/``accounts.tsv`` (one post with the hashtag per
  account: the engine's names, so the ``engine`` row of the same ``(n, t)`` is the engine alone on the same files)
  at the sizes in ``--cli-sizes``, timed and measured with ``/usr/bin/time -v`` when available (else the child's
  rusage); pairs counted in the CSV output. The engine child and the CLI run alternately for ``--cli-rounds``
  rounds in the same run (this is the engine row of that ``(n, t)``); both rows keep their best time and largest
  peak RSS, and the CLI's note gives the ratios (time and peak RSS).
- ``api upload job``: ``scripts/large_payload.py`` (``--upload-posts`` posts, ~145 bytes a row, and
  ``--upload-accounts`` accounts uploaded through the local stack, result by URL): *seconds* is the pairs request
  with the result download (the uploads are in the note), *peak RSS* the function process's.

Usage::

    python -m benchmarks.run                      # everything (about 10 minutes on 2 cores)
    python -m benchmarks.run --scale 0.1          # every size / 10 (1M -> 100k; about 1-2 minutes)
    python -m benchmarks.run --quick              # 1k/10k/20k at 0.8, no CLI or upload run
    python -m benchmarks.run --sizes 1000 100000 --thresholds 0.8 --cli-sizes --upload-posts 0

The markdown table goes to stdout and ``benchmarks/results/latest.md``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.names import names as generate_names

RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"
SIZES = (1_000, 10_000, 20_000, 100_000, 1_000_000)
THRESHOLDS = (0.7, 0.8, 0.9)
CDIST_ROWS = 256
HASHTAG = "#bench"
BASELINES = ("cdist", "reference", "reference (est.)")
SMALL_SIZES = (10, 30, 100, 300, 1_000, 2_000)
SMALL_THRESHOLDS = (0.0, 0.5, 0.8)
LARGE_PAYLOAD = Path(__file__).resolve().parents[1] / "scripts" / "large_payload.py"
UPLOAD_POSTS = 350_000
"""Posts of the upload row: about 50 MB of posts.tsv."""
UPLOAD_ACCOUNTS = 200_000


@dataclass
class Row:
    """One table row."""

    method: str
    n: int
    threshold: float
    seconds: float | None
    pairs: int | None
    peak_rss_mib: float | None
    digest: str | None = None
    note: str = ""
    cpu_seconds: float | None = None


def _digest(first: np.ndarray, second: np.ndarray, score: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array, dtype in ((first, np.int64), (second, np.int64), (score, np.float64)):
        digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return digest.hexdigest()[:16]


def _result(threshold: float, seconds: float, first: np.ndarray, second: np.ndarray, score: np.ndarray) -> dict:
    return {"threshold": threshold, "seconds": seconds, "pairs": len(first), "digest": _digest(first, second, score)}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- child measurements ----------------------------------------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_engine(names: list[str], thresholds: list[float]) -> list[dict]:
    from sockpuppet.engine import similar_name_pairs

    out = []
    for threshold in thresholds:
        cpu = _cpu_seconds()
        start = time.perf_counter()
        found = similar_name_pairs(names, threshold)
        seconds = time.perf_counter() - start
        out.append({**_result(threshold, seconds, *found), "cpu_seconds": _cpu_seconds() - cpu})
    return out


def child_reference(names: list[str], thresholds: list[float]) -> list[dict]:
    from tests.reference import get_similar_screen_names

    accounts = [{"id": i, "screen_name": name} for i, name in enumerate(names)]
    out = []
    for threshold in thresholds:
        start = time.perf_counter()
        found = get_similar_screen_names(accounts, threshold)
        seconds = time.perf_counter() - start
        columns = [np.array(column) for column in zip(*found, strict=True)] if found else [[], [], []]
        out.append(_result(threshold, seconds, *columns))
    return out


def child_cdist(names: list[str], thresholds: list[float]) -> list[dict]:
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    found: dict[float, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {t: [] for t in thresholds}
    start = time.perf_counter()
    for row in range(0, len(names), CDIST_ROWS):
        block = process.cdist(
            names[row : row + CDIST_ROWS],
            names,
            scorer=DamerauLevenshtein.normalized_similarity,
            dtype=np.float64,
            workers=-1,
        )
        r, c = np.nonzero(np.triu(block, k=row + 1) > min(thresholds))
        scores = block[r, c]
        for threshold in thresholds:
            keep = scores > threshold
            found[threshold].append((r[keep] + row, c[keep], scores[keep]))
    seconds = time.perf_counter() - start
    out = []
    for threshold in thresholds:
        first, second, score = (np.concatenate(parts) for parts in zip(*found[threshold], strict=True))
        out.append(_result(threshold, seconds, first, second, score))
    return out


def child_small(n: int, thresholds: list[float]) -> list[dict]:
    """Engine vs single-thread ``cdist`` + threshold on the same names, alternating runs, medians of each."""
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    from sockpuppet.engine import similar_name_pairs

    names = generate_names(n)

    def naive(threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        score = process.cdist(
            names, names, scorer=DamerauLevenshtein.normalized_similarity, dtype=np.float64, workers=1
        )
        first, second = np.nonzero(np.triu(score > threshold, 1))
        return first, second, score[first, second]

    out = []
    for threshold in thresholds:
        timings: dict[str, list[float]] = {"cdist": [], "engine": []}
        digests = set()
        runs = {"cdist": lambda t=threshold: naive(t), "engine": lambda t=threshold: similar_name_pairs(names, t)}
        started = time.perf_counter()
        while len(timings["engine"]) < 5 or (time.perf_counter() - started < 3.0 and len(timings["engine"]) < 2000):
            order = list(runs.items()) if len(timings["engine"]) % 2 == 0 else list(runs.items())[::-1]
            for method, run in order:
                start = time.perf_counter()
                found = run()
                timings[method].append(time.perf_counter() - start)
                digests.add(_digest(*found))
        if len(digests) != 1:
            raise SystemExit(f"engine and cdist disagree at n={n}, threshold={threshold}")
        out.append(
            {
                "threshold": threshold,
                "cdist": statistics.median(timings["cdist"]),
                "engine": statistics.median(timings["engine"]),
                "runs": len(timings["engine"]),
            }
        )
    return out


CHILDREN = {"engine": child_engine, "reference": child_reference, "cdist": child_cdist}


def child_main(method: str, n: int, thresholds: list[float]) -> None:
    if method == "small":
        json.dump({"results": child_small(n, thresholds)}, sys.stdout)
        return
    names = generate_names(n)
    results = CHILDREN[method](names, thresholds)
    json.dump({"results": results, "peak_rss_mib": _peak_rss_mib()}, sys.stdout)


# -- parent ----------------------------------------------------------------------------------------------------


def measure(method: str, n: int, thresholds: list[float], timeout: float) -> list[Row]:
    """Run one method in a child process; a timeout gives rows without numbers."""
    command = [sys.executable, "-m", "benchmarks.run", "--child", method, str(n), *map(str, thresholds)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return [Row(method, n, t, None, None, None, note=f"timed out after {timeout:.0f} s") for t in thresholds]
    report = json.loads(done.stdout)
    return [
        Row(
            method,
            n,
            r["threshold"],
            r["seconds"],
            r["pairs"],
            report["peak_rss_mib"],
            r["digest"],
            cpu_seconds=r.get("cpu_seconds"),
        )
        for r in report["results"]
    ]


def measure_small(sizes: list[int], thresholds: list[float], timeout: float) -> str:
    """The small-input table: engine vs single-thread ``cdist`` + threshold, measured in the same child."""
    lines = [
        "| n | threshold | cdist, 1 thread (ms) | engine (ms) | engine / cdist | runs each |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in sizes:
        command = [sys.executable, "-m", "benchmarks.run", "--child", "small", str(n), *map(str, thresholds)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
        for r in json.loads(done.stdout)["results"]:
            lines.append(
                f"| {n:,} | {r['threshold']} | {r['cdist'] * 1e3:.3f} | {r['engine'] * 1e3:.3f} "
                f"| {r['engine'] / r['cdist']:.2f} | {r['runs']} |"
            )
        print(f"small n={n:,} done", file=sys.stderr)
    return "\n".join(lines)


def write_inputs(directory: Path, n: int) -> tuple[Path, Path]:
    """``posts.tsv``/``accounts.tsv`` with ``n`` accounts (the benchmark names), each with one post tagged."""
    accounts, posts = directory / "accounts.tsv", directory / "posts.tsv"
    names = generate_names(n)
    with accounts.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "created_at", "screen_name"])
        writer.writerows((f"u{i}", "2020-01-01T00:00:00", name) for i, name in enumerate(names))
    with posts.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "created_at", "author_id", "is_repost", "text", "hashtags"])
        writer.writerows(
            (f"p{i}", "2024-01-01T00:00:00", f"u{i}", "false", f"post {HASHTAG}", HASHTAG) for i in range(n)
        )
    return posts, accounts


def _run_cli(
    posts: Path, accounts: Path, output: Path, threshold: float, timeout: float
) -> tuple[float, float, float] | None:
    """One ``sockpuppet pairs`` process: ``(seconds, peak RSS in MiB, CPU seconds)``, or ``None`` on a timeout."""
    script = shutil.which("sockpuppet", path=str(Path(sys.executable).parent)) or "sockpuppet"
    command = [script, "pairs", "--posts", str(posts), "--accounts", str(accounts), "--hashtag", HASHTAG]
    command += ["--min-similarity", str(threshold), "--output", str(output)]
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(timer + command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return None
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if timer:
        line = next(x for x in done.stderr.splitlines() if "Maximum resident set size" in x)
        return seconds, int(line.rsplit(":", 1)[1]) / 1024, cpu
    return seconds, after.ru_maxrss / 1024, cpu


def measure_cli(n: int, threshold: float, timeout: float, rounds: int = 1) -> tuple[Row, Row]:
    """``sockpuppet pairs`` end to end (load, filter, pairs, CSV output) on generated files, and the engine alone on
    the same names, alternating for ``rounds`` rounds in this run: ``(engine row, cli row)``, each with its best
    time and its largest peak RSS (a busy machine only ever adds time)."""
    engine_rows: list[Row] = []
    cli_runs: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="sockpuppet-bench-") as tmp:
        posts, accounts = write_inputs(Path(tmp), n)
        output = Path(tmp) / "pairs.csv"
        for _ in range(rounds):
            engine_rows += measure("engine", n, [threshold], timeout)
            run = _run_cli(posts, accounts, output, threshold, timeout)
            if run is None:
                late = f"timed out after {timeout:.0f} s"
                return engine_rows[0], Row("cli", n, threshold, None, None, None, note=late)
            cli_runs.append(run)
        with output.open() as fh:
            pairs = sum(1 for _ in fh) - 1
    timed = [r for r in engine_rows if r.seconds is not None] or engine_rows
    engine = min(timed, key=lambda r: r.seconds or 0.0)
    engine.peak_rss_mib = max((r.peak_rss_mib or 0.0) for r in timed) or None
    note = "sockpuppet pairs, TSV in, CSV out, whole process"
    if rounds > 1:
        times = ", ".join(f"{r.seconds:.2f}" for r in timed if r.seconds is not None)
        engine.note = f"best of {rounds} runs alternating with the cli row ({times} s)"
        cli_times = ", ".join(f"{seconds:.2f}" for seconds, _, _ in cli_runs)
        note += f"; best of {rounds} runs alternating with the engine ({cli_times} s)"
    best = min(cli_runs)
    peak = max(rss for _, rss, _ in cli_runs)
    return engine, Row("cli", n, threshold, best[0], pairs, peak, note=note, cpu_seconds=best[2])


def measure_upload(posts: int, accounts: int, timeout: float) -> Row:
    """The upload job through the local stack (``scripts/large_payload.py``): pairs request + result download."""
    command = [sys.executable, str(LARGE_PAYLOAD), "--posts", str(posts), "--accounts", str(accounts)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return Row("api upload job", accounts, 0.8, None, None, None, note=f"timed out after {timeout:.0f} s")
    report = json.loads(done.stdout)
    note = (
        f"{report['posts_tsv_mib']} MiB posts.tsv ({posts:,} posts) + {accounts:,} accounts uploaded through the "
        f"local stack (uploads {report['upload_posts_s']:.1f} s + {report['upload_accounts_s']:.1f} s, not "
        "counted); seconds: the pairs request with the result download by URL; RSS: the function process"
    )
    return Row(
        "api upload job",
        accounts,
        0.8,
        report["job_and_result_s"],
        report["pair_count"],
        report["function_peak_rss_mib"],
        note=note,
    )


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(rows: list[Row]) -> str:
    engine = {(r.n, r.threshold): r.seconds for r in rows if r.method == "engine" and r.seconds}
    lines = [
        "| method | n | threshold | seconds | CPU seconds | pairs | peak RSS (MiB) | engine faster by | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in sorted(rows, key=lambda r: (r.n, r.threshold, r.method)):
        base = engine.get((r.n, r.threshold))
        ratio = f"{r.seconds / base:,.0f}x" if base and r.seconds and r.method in BASELINES else ""
        pairs = "—" if r.pairs is None else f"{r.pairs:,}"
        lines.append(
            f"| {r.method} | {r.n:,} | {r.threshold} | {_fmt(r.seconds)} | {_fmt(r.cpu_seconds)} | {pairs} "
            f"| {_fmt(r.peak_rss_mib, 0)} "
            f"| {ratio} | {r.note} |"
        )
    return "\n".join(lines)


def check_agreement(rows: list[Row]) -> None:
    """Every method that finished a ``(n, threshold)`` found the same pairs (count and digest)."""
    for key in {(r.n, r.threshold) for r in rows}:
        finished = [r for r in rows if (r.n, r.threshold) == key and r.pairs is not None]
        if len({r.pairs for r in finished}) > 1 or len({r.digest for r in finished if r.digest}) > 1:
            raise SystemExit(f"methods disagree at n={key[0]}, threshold={key[1]}: {finished}")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("model name"))
        cpu = model.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, load average {load}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES), help="numbers of names")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    parser.add_argument("--quick", action="store_true", help="1k/10k/20k names at 0.8, no CLI run")
    parser.add_argument("--reference-max", type=int, default=10_000, help="largest n for the reference loop")
    parser.add_argument("--reference-thresholds", type=float, nargs="+", default=[0.8])
    parser.add_argument("--cdist-max", type=int, default=20_000, help="largest n for the full cdist")
    parser.add_argument("--cli-sizes", type=int, nargs="*", default=[1_000_000], help="sizes run through the CLI")
    parser.add_argument("--cli-threshold", type=float, default=0.8)
    parser.add_argument(
        "--cli-rounds", type=int, default=3, help="CLI runs, each after an engine run on the same names (best kept)"
    )
    parser.add_argument("--small-sizes", type=int, nargs="*", default=list(SMALL_SIZES), help="small-input rows")
    parser.add_argument("--small-thresholds", type=float, nargs="+", default=list(SMALL_THRESHOLDS))
    parser.add_argument("--upload-posts", type=int, default=UPLOAD_POSTS, help="posts of the upload row (0: none)")
    parser.add_argument("--upload-accounts", type=int, default=UPLOAD_ACCOUNTS)
    parser.add_argument(
        "--scale",
        type=float,
        default=float(os.environ.get("BENCH_SCALE", "1")),
        help="multiply every size by this (default: $BENCH_SCALE or 1; 0.1 runs in about a tenth of the time)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child process")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.thresholds, args.cli_sizes, args.upload_posts = [1_000, 10_000, 20_000], [0.8], [], 0
        args.small_sizes = [10, 100, 1_000]
    if args.scale != 1:

        def scaled(n: int) -> int:
            return max(1, round(n * args.scale))

        args.sizes = sorted({scaled(n) for n in args.sizes})
        args.cli_sizes = [scaled(n) for n in args.cli_sizes]
        args.upload_posts, args.upload_accounts = scaled(args.upload_posts), scaled(args.upload_accounts)
        args.cdist_max, args.reference_max = scaled(args.cdist_max), scaled(args.reference_max)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        method, n, *thresholds = args.child
        child_main(method, int(n), [float(t) for t in thresholds])
        return 0
    rows: list[Row] = []
    started = datetime.now(UTC)
    for n in args.sizes:
        for threshold in args.thresholds:
            if n in args.cli_sizes and threshold == args.cli_threshold:
                continue  # measured alternately with the CLI below
            rows += measure("engine", n, [threshold], args.timeout)
        if n <= args.cdist_max:
            rows += measure("cdist", n, args.thresholds, args.timeout)
        wanted = [t for t in args.reference_thresholds if t in args.thresholds]
        if n <= args.reference_max and wanted:
            rows += measure("reference", n, wanted, args.timeout)
        print(f"n={n:,} done", file=sys.stderr)
    measured = [r for r in rows if r.method == "reference" and r.seconds]
    for r in {r.threshold: r for r in sorted(measured, key=lambda r: r.n)}.values():
        for n in args.sizes:
            if n > r.n:
                estimate = r.seconds * (n / r.n) ** 2
                note = f"extrapolated from n={r.n:,} ({r.seconds:.1f} s) as n^2, not run"
                rows.append(Row("reference (est.)", n, r.threshold, estimate, None, None, note=note))
    for n in args.cli_sizes:
        engine, cli = measure_cli(n, args.cli_threshold, args.timeout, args.cli_rounds)
        rows += [engine, cli]  # the engine alone on the same names, measured alternately with the CLI
        print(f"cli n={n:,} done", file=sys.stderr)
    if args.upload_posts:
        rows.append(measure_upload(args.upload_posts, args.upload_accounts, args.timeout))
        print("api upload job done", file=sys.stderr)
    check_agreement([r for r in rows if r.method not in ("cli", "api upload job")])
    for r in rows:
        if r.method == "cli":
            engine = [e for e in rows if e.method == "engine" and (e.n, e.threshold) == (r.n, r.threshold)]
            if engine and r.pairs is not None and engine[0].pairs != r.pairs:
                raise SystemExit(f"CLI found {r.pairs} pairs, engine {engine[0].pairs} at n={r.n}")
            if engine and r.seconds and engine[0].seconds and r.peak_rss_mib and engine[0].peak_rss_mib:
                r.note += (
                    f"; {r.seconds / engine[0].seconds:.2f}x the engine's time, "
                    f"{r.peak_rss_mib / engine[0].peak_rss_mib:.2f}x its peak RSS"
                )
    small = measure_small(args.small_sizes, args.small_thresholds, args.timeout) if args.small_sizes else ""
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    report = (
        f"# Pair search benchmark\n\n`{command.strip()}` — {started:%Y-%m-%d %H:%M} UTC, "
        f"{(datetime.now(UTC) - started).total_seconds():.0f} s\n\nMachine: {machine()}\n\n{table(rows)}\n"
    )
    if small:
        report += (
            "\n## Small inputs: engine vs single-thread cdist + threshold (same child, alternating runs, medians)"
            f"\n\n{small}\n"
        )
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
