"""Cold init of the function module: import ``sockpuppet_api.app`` (imports + S3 client) in fresh interpreters.

Each run is a new Python process with the function's environment at the template's defaults (as the local stack
sets it) plus the variables that make Powertools behave as inside Lambda (X-Ray on), and reports the milliseconds
the import took. Prints the best, median and worst of ``--runs``.

Usage: ``.venv/bin/python scripts/cold_init.py [--runs 15]``
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys

from sockpuppet_local.stack import function_env

MEASURE = (
    "import importlib, time; started = time.perf_counter(); importlib.import_module('sockpuppet_api.app'); "
    "print((time.perf_counter() - started) * 1000)"
)

logger = logging.getLogger("cold_init")


def measure(runs: int) -> list[float]:
    """Import times in milliseconds, one fresh interpreter each."""
    env = {
        **os.environ,
        **function_env("http://127.0.0.1:9"),
        "LAMBDA_TASK_ROOT": os.getcwd(),
        "AWS_LAMBDA_FUNCTION_NAME": "sockpuppet",
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    return [
        float(subprocess.run([sys.executable, "-c", MEASURE], env=env, check=True, capture_output=True).stdout)
        for _ in range(runs)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    times = sorted(measure(args.runs))
    logger.info(
        "cold init of sockpuppet_api.app over %d fresh interpreters: best %.0f ms, median %.0f ms, worst %.0f ms",
        len(times),
        times[0],
        statistics.median(times),
        times[-1],
    )


if __name__ == "__main__":
    main()
