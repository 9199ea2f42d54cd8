"""A large job through the local stack against the single-process CLI on the same files.

    python -m benchmarks.job_local --posts posts.tsv --accounts accounts.tsv --hashtag '#diedsuddenly' \\
        --shard-max-names 250000

1. The CLI (``sockpuppet pairs``) on the files, in a child process: wall time and peak RSS.
2. The same job on the local stack (moto's Step Functions interpreter, the real workers in RIEs): the files are put
   where presigned uploads put them (``uploads/{owner}/{id}`` with the upload metadata), then the job is submitted
   as ``POST /v1/jobs`` does it (``request.json``, a ``queued`` record, ``StartExecution``). Wall time from
   ``StartExecution`` to the end of the execution; the peak RSS of every worker's runtime (sampled every 0.2 s
   with psutil over each RIE's process tree).
3. The job's document is checked against the CLI's pairs.

Prints one JSON object (also written to ``--out``). Targets (issue 10): no worker above 3 GB, the whole job within
3x the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import psutil

from sockpuppet_local.stack import LocalStack

OWNER = "benchmark0000000000000000000000"
GIB = 1 << 30


def run_cli(posts: Path, accounts: Path, hashtag: str, min_similarity: float, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "sockpuppet",
        "pairs",
        "--posts",
        str(posts),
        "--accounts",
        str(accounts),
        "--hashtag",
        hashtag,
        "--min-similarity",
        str(min_similarity),
        "--output",
        str(out),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_kib / 1024)}


class RssSampler(threading.Thread):
    """Peak RSS of the process tree under each of ``roots`` (name -> pids), sampled every ``interval`` s."""

    def __init__(self, roots: dict[str, list[int]], interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.interval = interval
        self.peak: dict[str, int] = dict.fromkeys(roots, 0)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            for name, pids in self.roots.items():
                for pid in pids:
                    try:
                        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
                    except psutil.NoSuchProcess:
                        continue
                    for process in tree:
                        with contextlib.suppress(psutil.NoSuchProcess):
                            self.peak[name] = max(self.peak[name], process.memory_info().rss)


def upload(stack: LocalStack, path: Path, kind: str) -> str:
    upload_id = secrets.token_urlsafe(24)
    fmt = "tsv" if path.suffix == ".tsv" else "jsonl" if path.suffix in (".jsonl", ".ndjson") else "json"
    stack.s3_client().upload_file(
        str(path),
        stack.bucket,
        f"uploads/{OWNER}/{upload_id}",
        ExtraArgs={"Metadata": {"kind": kind, "format": fmt, "content-encoding": "identity"}},
    )
    return upload_id


def run_job(stack: LocalStack, request: dict[str, Any]) -> tuple[float, str, dict[str, Any]]:
    s3, dynamodb, sfn = stack.s3_client(), stack.client("dynamodb"), stack.client("stepfunctions")
    job_id = f"{int(time.time() * 1000):013d}{secrets.token_hex(16)}"
    request_key = f"jobs/{OWNER}/{job_id}/request.json"
    s3.put_object(Bucket=stack.bucket, Key=request_key, Body=orjson.dumps(request))
    key = {"owner": {"S": OWNER}, "job_id": {"S": job_id}}
    dynamodb.put_item(TableName=stack.jobs_table, Item={**key, "status": {"S": "queued"}})
    started = time.perf_counter()
    arn = sfn.start_execution(
        stateMachineArn=stack.state_machine_arn,
        name=job_id,
        input=json.dumps({"job_id": job_id, "owner": OWNER, "request_key": request_key}),
    )["executionArn"]
    while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    record = dynamodb.get_item(TableName=stack.jobs_table, Key=key, ConsistentRead=True)["Item"]
    return seconds, status, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=Path, required=True)
    parser.add_argument("--accounts", type=Path, required=True)
    parser.add_argument("--hashtag", default="#diedsuddenly")
    parser.add_argument("--min-similarity", type=float, default=0.8)
    parser.add_argument("--shard-max-names", type=int, required=True, help="JOB_SHARD_MAX_NAMES of the workers")
    parser.add_argument("--job-workers", type=int, default=2, help="search worker RIEs (default 2)")
    parser.add_argument("--out", type=Path, default=None, help="also write the summary here (JSON)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cli_out = Path(tmp) / "cli.json"
        cli = run_cli(args.posts, args.accounts, args.hashtag, args.min_similarity, cli_out)
        cli_pairs = [tuple(pair) for pair in orjson.loads(cli_out.read_bytes())["similar_account_pairs"]]
        log = Path(tmp) / "stack.log"
        with LocalStack(
            workers=1, log=log, job_workers=args.job_workers, job_shard_max_names=args.shard_max_names
        ) as stack:
            request = {
                "posts_upload_id": upload(stack, args.posts, "posts"),
                "accounts_upload_id": upload(stack, args.accounts, "accounts"),
                "hashtag": args.hashtag,
                "min_similarity": args.min_similarity,
            }
            roots = {name: [p.pid for p in processes] for name, processes in stack.job_processes.items()}
            sampler = RssSampler(roots)
            sampler.start()
            seconds, status, record = run_job(stack, request)
            sampler.stopped.set()
            sampler.join()
            document = orjson.loads(
                gzip.decompress(
                    stack.s3_client().get_object(Bucket=stack.bucket, Key=record["result_key"]["S"])["Body"].read()
                )
            )
    job_pairs = [tuple(pair) for pair in document["similar_account_pairs"]]
    progress = record["progress"]["M"]
    summary = {
        "posts_file": str(args.posts),
        "accounts_file": str(args.accounts),
        "posts_bytes": os.path.getsize(args.posts),
        "accounts_bytes": os.path.getsize(args.accounts),
        "accounts_matched": document["accounts_matched"],
        "pair_count": document["pair_count"],
        "job_shard_max_names": args.shard_max_names,
        "shards_total": int(progress["shards_total"]["N"]),
        "search_workers": args.job_workers,
        "cli": cli,
        "job": {
            "status": status,
            "seconds": round(seconds, 2),
            "peak_rss_mb": {
                name.removeprefix("sockpuppet-local-job-"): round(peak / 2**20) for name, peak in sampler.peak.items()
            },
        },
        "job_over_cli": round(seconds / cli["seconds"], 2),
        "largest_worker_under_3_gib": max(sampler.peak.values()) < 3 * GIB,
        "pairs_equal_cli": job_pairs == cli_pairs,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if status == "SUCCEEDED" and summary["pairs_equal_cli"] else 1


if __name__ == "__main__":
    sys.exit(main())
