"""Metrics of the function as a fresh Lambda execution environment publishes them (a separate interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.api.conftest import TEST_ENV

ROOT = Path(__file__).resolve().parents[2]
# Imports the app once (the Lambda init) and invokes it on /health twice (cold, then warm), printing the EMF lines.
INVOKE_HEALTH_TWICE = """
from sockpuppet_api.app import lambda_handler
from tests.api.conftest import FakeLambdaContext, load_event
for _ in range(2):
    assert lambda_handler(load_event("health"), FakeLambdaContext())["statusCode"] == 200
"""


def test_health_publishes_the_cold_start_metric_without_an_empty_metrics_warning() -> None:
    # GIVEN a fresh interpreter with the function's environment, where any UserWarning is an error
    env = {**os.environ, **TEST_ENV, "PYTHONPATH": str(ROOT)}
    # WHEN /health is invoked cold then warm
    run = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", INVOKE_HEALTH_TWICE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN no "No application metrics to publish" warning (it would have been raised), and exactly one EMF
    # document: the cold-start metric of the first invocation
    assert run.returncode == 0, run.stderr[-2000:]
    emf = [json.loads(line) for line in run.stdout.splitlines() if line.startswith('{"_aws"')]
    names = [metric["Name"] for doc in emf for metric in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == ["ColdStart"], run.stdout[-2000:]


def test_the_init_is_frozen_out_of_the_garbage_collector() -> None:
    # GIVEN a fresh interpreter with the function's environment WHEN the function module is imported
    code = "import gc, sockpuppet_api.app; print(gc.get_freeze_count())"
    env = {**os.environ, **TEST_ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # THEN the objects its init created are frozen (the collector no longer rescans them on every request)
    assert int(done.stdout.strip()) > 10_000
