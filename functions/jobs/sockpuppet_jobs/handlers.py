"""Lambda handlers of the job's steps: wiring only (``sockpuppet_jobs.steps`` does the work).

One module, one handler per step; ``template.yaml`` deploys each handler as its own function (its own memory,
timeout and least-privilege role).
"""

from __future__ import annotations

from typing import Any

import botocore.session
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from sockpuppet_jobs import steps
from sockpuppet_jobs.config import settings
from sockpuppet_jobs.records import JobRecords
from sockpuppet_jobs.storage import JobStore

logger = Logger()
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
# botocore directly (pinned in requirements.txt, like the API function's): no boto3 of the runtime mixed with it
_session = botocore.session.get_session()
_retries = Config(retries={"mode": "standard"})
store = JobStore(_session.create_client("s3", config=_retries), settings.payload_bucket)
records = JobRecords(_session.create_client("dynamodb", config=_retries), settings.jobs_table)


def _observe(event: dict[str, Any]) -> None:
    """Log keys of the job, and the job's age: its maximum over all steps alarms on jobs running too long."""
    logger.append_keys(job_id=event.get("job_id"), shard=event.get("index"))
    age = steps.job_age_seconds(event)
    if age is not None:
        metrics.add_metric(name="JobAgeSeconds", unit=MetricUnit.Seconds, value=age)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def prepare_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _observe(event)
    prepared = steps.prepare(
        event, store=store, records=records, max_names=settings.job_shard_max_names, max_pairs=settings.max_pairs
    )
    metrics.add_metric(name="JobShards", unit=MetricUnit.Count, value=prepared["shards_total"])
    logger.info("prepared", extra={"shards_total": prepared["shards_total"]})
    return prepared


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def search_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _observe(event)
    deadline = steps.lambda_deadline(context.get_remaining_time_in_millis)
    searched = steps.search(event, store=store, records=records, deadline=deadline)
    metrics.add_metric(name="ShardPairs", unit=MetricUnit.Count, value=searched["pairs"])
    return searched


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def merge_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _observe(event)
    merged = steps.merge(event, store=store, records=records)
    metrics.add_metric(name="JobPairs", unit=MetricUnit.Count, value=merged["pair_count"])
    return merged


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def finish_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _observe(event)
    outcome = steps.finish(event, store=store, records=records)
    metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=int(outcome["status"] == "succeeded"))
    return outcome


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def fail_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _observe(event)
    outcome = steps.fail(event, store=store, records=records)
    logger.warning("job failed", extra={"failure": event.get("failure"), "error": outcome["error"]})
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=int(outcome["status"] == "failed"))
    return outcome
