"""``python -m sockpuppet_local serve|invoke``: the local stack's command line (``make run``, ``make invoke``)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from sockpuppet_local.invoke import invoke_event
from sockpuppet_local.stack import LocalStack

logger = logging.getLogger("sockpuppet_local")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sockpuppet_local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API on 127.0.0.1 until Ctrl-C / SIGTERM")
    serve.add_argument("--port", type=int, default=3000, help="port of the HTTP front (default: 3000; 0: any)")
    serve.add_argument("--workers", type=int, default=2, help="RIE processes = concurrent invocations (default: 2)")
    serve.add_argument("--job-workers", type=int, default=2, help="RIE processes of the job search worker (default: 2)")
    serve.add_argument("--quiet", action="store_true", help="no access log line per request")
    invoke = commands.add_parser("invoke", help="invoke the function once with an event; print the raw response")
    invoke.add_argument("event", type=Path, help="JSON event file, e.g. events/health.json")
    return parser


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _stop(signum: int, frame: FrameType | None) -> None:
    """First stop signal: ignore the next ones (so that nothing interrupts the cleanup) and unwind."""
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, signal.SIG_IGN)
    raise KeyboardInterrupt


def serve(port: int, workers: int, job_workers: int = 2) -> int:
    # SIGINT is installed explicitly too: a job started in the background inherits it ignored
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _stop)
    try:
        with LocalStack(workers=workers, port=port, job_workers=job_workers) as stack:
            logger.info(
                "sockpuppet API on %s (%d Lambda RIE workers, moto %s, bucket %s); Ctrl-C stops",
                stack.base_url,
                workers,
                stack.s3_endpoint,
                stack.bucket,
            )
            logger.info(
                "jobs: state machine %s on moto, table %s, %d search workers, JOB_SHARD_MAX_NAMES=%d",
                stack.state_machine_arn,
                stack.jobs_table,
                job_workers,
                stack.job_shard_max_names,
            )
            while True:
                signal.pause()
    except KeyboardInterrupt:
        logger.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    if args.command == "serve":
        if args.quiet:
            logging.getLogger("sockpuppet_local.front").setLevel(logging.WARNING)
        return serve(args.port, args.workers, args.job_workers)
    result = invoke_event(args.event, log=sys.stderr.buffer)  # stdout carries only the response
    sys.stdout.buffer.write(result.payload + b"\n")
    return 1 if result.function_error else 0


if __name__ == "__main__":
    sys.exit(main())
