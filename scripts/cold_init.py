"""Cold init of the function module against a minimal baseline, both measured in fresh interpreters in one run.

* **function**: ``import sockpuppet_api.app`` (everything its module level does).
* **baseline**: a minimal Powertools ``APIGatewayHttpResolver`` handler (Logger, Tracer, Metrics, one route, the
  handler) plus the imports of numpy, rapidfuzz and pydantic - what any function of this shape pays.

Each run is a new Python process with the function's environment at the template's defaults (as the local stack
sets it) plus the variables that make Powertools behave as inside Lambda (X-Ray on); the two kinds alternate so
that a busy machine slows both alike. Prints best / median / worst of each and the ratio of the medians (the
target is at most 1.5).

Usage: ``.venv/bin/python scripts/cold_init.py [--runs 15]``
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys

from sockpuppet_local.stack import JOB_TTL_DAYS, JOBS_TABLE, function_env

FUNCTION = "import sockpuppet_api.app"
BASELINE = """
import numpy, rapidfuzz, pydantic
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()
@app.get("/health")
def health():
    return {"status": "ok"}
def lambda_handler(event, context):
    return app.resolve(event, context)
"""
TIMED = "import time; started = time.perf_counter()\n{code}\nprint((time.perf_counter() - started) * 1000)"

logger = logging.getLogger("cold_init")


def measure(runs: int) -> dict[str, list[float]]:
    """Init times in milliseconds of the function and the baseline, one fresh interpreter each, alternating."""
    env = {
        **os.environ,
        **function_env("http://127.0.0.1:9"),
        "JOBS_TABLE": JOBS_TABLE,
        "JOBS_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:sockpuppet-jobs",
        "JOB_TTL_DAYS": JOB_TTL_DAYS,
        "LAMBDA_TASK_ROOT": os.getcwd(),
        "AWS_LAMBDA_FUNCTION_NAME": "sockpuppet",
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    times: dict[str, list[float]] = {"function": [], "baseline": []}
    for _ in range(runs):
        for name, code in (("function", FUNCTION), ("baseline", BASELINE)):
            script = TIMED.format(code=code)
            run = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True)
            times[name].append(float(run.stdout.splitlines()[-1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    times = measure(args.runs)
    for name, label in (("function", "sockpuppet_api.app"), ("baseline", "minimal Powertools handler + imports")):
        runs = sorted(times[name])
        logger.info(
            "%-8s %-38s best %4.0f ms, median %4.0f ms, worst %4.0f ms (%d fresh interpreters)",
            name,
            label,
            runs[0],
            statistics.median(runs),
            runs[-1],
            len(runs),
        )
    ratio = statistics.median(times["function"]) / statistics.median(times["baseline"])
    logger.info("ratio of the medians (function / baseline): %.2f (target <= 1.5)", ratio)


if __name__ == "__main__":
    main()
