"""The workers' Lambda handlers (wiring: configuration, Powertools, the steps) on moto's S3 and DynamoDB."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

import pytest

from tests.jobs.conftest import BUCKET, TABLE, Aws
from tests.jobs.test_steps import request_body

WORKER_ENV = {
    "PAYLOAD_BUCKET": BUCKET,
    "JOBS_TABLE": TABLE,
    "JOB_SHARD_MAX_NAMES": "4",
    "MAX_PAIRS": "1000",
    "POWERTOOLS_SERVICE_NAME": "sockpuppet-jobs",
    "POWERTOOLS_METRICS_NAMESPACE": "SockpuppetTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@dataclass
class FakeLambdaContext:
    """The parts of ``LambdaContext`` the handlers use (the Powertools testing pattern)."""

    function_name: str = "sockpuppet-job-search"
    memory_limit_in_mb: int = 3538
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sockpuppet-job-search"
    aws_request_id: str = "3f0b3b1e-0000-4000-8000-000000000002"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture
def handlers(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for name, value in WORKER_ENV.items():
        monkeypatch.setenv(name, value)
    return importlib.import_module("sockpuppet_jobs.handlers")


def test_handlers_run_a_job_and_publish_the_job_age(
    aws: Aws, handlers: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a queued job and the execution input the state machine passes (with the execution's start time)
    execution = aws.queue("via-handlers", request_body())
    context = FakeLambdaContext()
    # WHEN each step's handler runs as the state machine calls them
    prepared = handlers.prepare_handler(execution, context)
    plan = aws.store.get_json(prepared["plan_key"])
    searched = [handlers.search_handler(item, context) for item in plan]
    merged = handlers.merge_handler({**execution, "shards_total": prepared["shards_total"]}, context)
    outcome = handlers.finish_handler({**execution, **merged}, context)
    # THEN the job succeeded over JOB_SHARD_MAX_NAMES-sized shards, and only small pointers came back
    assert outcome == {"status": "succeeded"}
    assert prepared["shards_total"] == len(plan) == len(searched) > 1
    assert set(prepared) == {"owner", "job_id", "shards_total", "plan_key", "first"}
    assert all(set(result) == {"index", "pairs"} for result in searched)
    # AND the steps published the job's age (the metric the oldest-job alarm watches)
    assert '"JobAgeSeconds"' in capsys.readouterr().out


def test_config_names_every_missing_or_bad_variable(handlers: ModuleType) -> None:
    # GIVEN an environment missing the table and with a shard size of 1 WHEN the settings load THEN both are named
    config = importlib.import_module("sockpuppet_jobs.config")  # its import reads the (fixture's) environment
    with pytest.raises(config.ConfigError) as caught:
        config.load_settings({"PAYLOAD_BUCKET": "b", "JOB_SHARD_MAX_NAMES": "1", "MAX_PAIRS": "10"})
    assert "JOBS_TABLE is not set" in str(caught.value)
    assert "JOB_SHARD_MAX_NAMES must be at least 2" in str(caught.value)
