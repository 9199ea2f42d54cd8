"""The whole local stack as a context manager: moto (S3, DynamoDB, Step Functions) + a pool of RIEs running the
function + the HTTP front + the job workers' RIEs behind a Lambda router (:mod:`sockpuppet_local.stepfunctions`).

>>> with LocalStack(workers=2) as stack:          # doctest: +SKIP
...     requests.get(f"{stack.base_url}/health")

Every port is picked free at start, so several stacks (e.g. one per pytest-xdist worker) can run side by side.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import boto3
from botocore.config import Config

from sockpuppet_local.front import INTEGRATION_TIMEOUT_SECONDS, FrontServer, RiePool, build_event, gateway_response
from sockpuppet_local.rie import InvokeResult, RieError, RieProcess
from sockpuppet_local.stepfunctions import (
    JOBS_TABLE,
    WORKER_FUNCTIONS,
    Faults,
    LambdaRouter,
    MotoProcess,
    WorkerFunction,
    create_job_resources,
)

__all__ = [
    "DEFAULT_JOB_SHARD_MAX_NAMES",
    "FUNCTION_MEMORY_MB",
    "FUNCTION_TIMEOUT_SECONDS",
    "LocalStack",
    "function_env",
    "worker_env",
]

logger = logging.getLogger(__name__)

REGION = "us-east-1"
BUCKET = "sockpuppet-local-payloads"
FUNCTION_TIMEOUT_SECONDS = 29
"""``FunctionTimeoutSeconds`` default of ``template.yaml``."""
FUNCTION_MEMORY_MB = 3538
"""``FunctionMemorySize`` default of ``template.yaml`` (reported to the function, not enforced)."""
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # moto accepts any
DEFAULT_JOB_SHARD_MAX_NAMES = 200000
"""``JobShardMaxNames`` default of ``template.yaml`` (``make run`` passes ``JOB_SHARD_MAX_NAMES`` through)."""
WORKER_MEMORY_MB = 3538
"""``JobWorkerMemorySize`` default of ``template.yaml`` (reported to the workers, not enforced)."""
JOB_TTL_DAYS = "7"


def function_env(s3_endpoint: str, bucket: str = BUCKET, region: str = REGION) -> dict[str, str]:
    """The function's environment: every variable of ``docs/design.md`` at the template's default value, plus the
    moto endpoint, dummy credentials and Powertools settings for running outside AWS."""
    return {
        "PAYLOAD_BUCKET": bucket,
        "MAX_INLINE_BODY_BYTES": "6000000",
        "MAX_DECODED_BODY_BYTES": "50000000",
        "MAX_INLINE_RESULT_BYTES": "5500000",
        "MAX_UPLOAD_BYTES": "1073741824",
        "UPLOAD_URL_TTL_SECONDS": "900",
        "RESULT_URL_TTL_SECONDS": "900",
        "MAX_RECORDS": "2500000",
        "MAX_SCREEN_NAME_LENGTH": "256",
        "MAX_PAIRS": "1000000",
        "DEADLINE_MARGIN_MS": "2000",
        "POWERTOOLS_SERVICE_NAME": "sockpuppet",
        "POWERTOOLS_METRICS_NAMESPACE": "Sockpuppet",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **DUMMY_CREDENTIALS,
    }


def worker_env(endpoint: str, *, bucket: str, table: str, shard_max_names: int, region: str = REGION) -> dict[str, str]:
    """The job workers' environment (``template.yaml``'s worker ``Environment``) pointing at moto."""
    return {
        "PAYLOAD_BUCKET": bucket,
        "JOBS_TABLE": table,
        "JOB_SHARD_MAX_NAMES": str(shard_max_names),
        "MAX_PAIRS": "1000000",
        "POWERTOOLS_SERVICE_NAME": "sockpuppet-jobs",
        "POWERTOOLS_METRICS_NAMESPACE": "Sockpuppet",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **DUMMY_CREDENTIALS,
    }


class LocalStack:
    """moto (the payload bucket, the job table, the job state machine executed by moto), ``workers`` RIEs running
    ``sockpuppet_api.app.lambda_handler``, the HTTP front, and RIEs of the job workers behind the Lambda router, all
    on 127.0.0.1; stopped (processes included) when the ``with`` block ends.

    Parameters
    ----------
    workers
        Number of RIE processes = the most concurrent invocations.
    port
        Port of the HTTP front (``0``: a free one).
    log
        Where the RIE and function logs go: a file path (appended to), an open binary stream with a file
        descriptor, or ``None`` for this process's stdout/stderr (moto's own log is then dropped).
    job_workers
        RIE processes of the search worker (the Distributed Map's concurrency here); the other steps have one.
    job_shard_max_names
        ``JOB_SHARD_MAX_NAMES`` of the workers (``None``: the environment's ``JOB_SHARD_MAX_NAMES``, else
        :data:`DEFAULT_JOB_SHARD_MAX_NAMES`).
    """

    def __init__(
        self,
        workers: int = 2,
        port: int = 0,
        *,
        log: Path | IO[bytes] | None = None,
        job_workers: int = 2,
        job_shard_max_names: int | None = None,
    ) -> None:
        if workers < 1 or job_workers < 1:
            raise ValueError("workers and job_workers must be at least 1")
        self.workers = workers
        self.port = port
        self.log = log
        self.bucket = BUCKET
        self.region = REGION
        self.jobs_table = JOBS_TABLE
        self.job_workers = job_workers
        if job_shard_max_names is None:
            job_shard_max_names = int(os.environ.get("JOB_SHARD_MAX_NAMES") or DEFAULT_JOB_SHARD_MAX_NAMES)
        self.job_shard_max_names = job_shard_max_names
        self.state_machine_arn = ""
        self.env: dict[str, str] = {}
        self.processes: list[RieProcess] = []
        self.job_processes: dict[str, list[RieProcess]] = {}
        self._moto: MotoProcess | None = None
        self._router: LambdaRouter | None = None
        self._router_thread: threading.Thread | None = None
        self._pool: RiePool | None = None
        self._front: FrontServer | None = None
        self._front_thread: threading.Thread | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self._front is None:
            raise RuntimeError("the stack is not started")
        return self._front.url

    @property
    def s3_endpoint(self) -> str:
        return self.env["AWS_ENDPOINT_URL_S3"]

    @property
    def faults(self) -> Faults:
        """Faults to inject into job worker invocations (see :class:`~sockpuppet_local.stepfunctions.Faults`)."""
        if self._router is None:
            raise RuntimeError("the stack is not started")
        return self._router.faults

    def client(self, service: str):
        """A boto3 client of ``service`` (``s3``, ``dynamodb``, ``stepfunctions``) for the stack's moto server."""
        return boto3.client(
            service,
            endpoint_url=self.s3_endpoint,
            region_name=self.region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(signature_version="s3v4"),
        )

    def s3_client(self):
        """A boto3 S3 client for the stack's moto server."""
        return self.client("s3")

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        output = self.log
        if isinstance(self.log, Path):
            output = self._log = self.log.open("ab")
        self._router = LambdaRouter()
        self._router_thread = threading.Thread(
            target=self._router.serve_forever, name="sockpuppet-lambda-router", daemon=True
        )
        self._router_thread.start()
        self._moto = MotoProcess(self._router.port, output=output if output is not None else subprocess.DEVNULL)
        endpoint = self._moto.endpoint
        worker = worker_env(
            endpoint, bucket=self.bucket, table=self.jobs_table, shard_max_names=self.job_shard_max_names
        )
        for function in WORKER_FUNCTIONS:  # they start while moto imports
            count = self.job_workers if function.handler.endswith(".search_handler") else 1
            self.job_processes[function.name] = [self._spawn_worker(function, worker, output) for _ in range(count)]
        self._moto.wait_ready()
        self._router.upstream_port = self._moto.port
        self.env = function_env(endpoint, self.bucket, self.region)
        self.s3_client().create_bucket(Bucket=self.bucket)
        self.state_machine_arn = create_job_resources(
            endpoint, region=self.region, bucket=self.bucket, credentials=DUMMY_CREDENTIALS
        )
        self.env |= {
            "JOBS_TABLE": self.jobs_table,
            "JOBS_STATE_MACHINE_ARN": self.state_machine_arn,
            "JOB_TTL_DAYS": JOB_TTL_DAYS,
            "JOB_SHARD_MAX_NAMES": str(self.job_shard_max_names),
        }
        for name, processes in self.job_processes.items():
            for process in processes:
                process.wait_ready()
            self._router.pools[name] = RiePool(processes)
        self.processes.extend(self._spawn(output) for _ in range(self.workers))  # they start in parallel
        for index in range(self.workers):
            self._make_ready(index, output)
        self._pool = RiePool(self.processes)
        self._front = FrontServer(self._pool, self.port)
        self._front_thread = threading.Thread(target=self._front.serve_forever, name="sockpuppet-front", daemon=True)
        self._front_thread.start()
        logger.debug("local stack up: %s (S3 %s, RIE pids %s)", self.base_url, self.s3_endpoint, self.pids)

    def _spawn(self, output: IO[bytes] | None) -> RieProcess:
        return RieProcess(
            self.env, output=output, timeout_seconds=FUNCTION_TIMEOUT_SECONDS, memory_mb=FUNCTION_MEMORY_MB
        )

    def _spawn_worker(self, function: WorkerFunction, env: dict[str, str], output: IO[bytes] | None) -> RieProcess:
        return RieProcess(
            env,
            output=output,
            handler=function.handler,
            function_name=function.name,
            timeout_seconds=function.timeout_seconds,
            memory_mb=WORKER_MEMORY_MB,
        )

    def _make_ready(self, index: int, output: IO[bytes] | None, attempts: int = 3) -> None:
        """Wait for RIE ``index`` and warm it up; if it exited at start (another process took one of its ports
        between the pick and the bind, e.g. a parallel test worker), replace it with one on new ports."""
        for attempt in range(1, attempts + 1):
            process = self.processes[index]
            try:
                process.wait_ready()
                _warm_up(process)
                return
            except (RieError, OSError, http.client.HTTPException):
                if process.process.poll() is None or attempt == attempts:
                    raise
                logger.warning("aws-lambda-rie exited at start (port taken?); retrying on new ports")
                process.stop()
                self.processes[index] = self._spawn(output)

    def invoke(self, payload: bytes) -> InvokeResult:
        """Invoke the function directly (no gateway in between) with a raw JSON event, through an idle RIE."""
        if self._pool is None:
            raise RuntimeError("the stack is not started")
        with self._pool.checkout(timeout=INTEGRATION_TIMEOUT_SECONDS) as process:
            return process.invoke(payload)

    @property
    def pids(self) -> list[int]:
        """Process ids of the API function's RIEs."""
        return [process.pid for process in self.processes]

    def stop(self) -> None:
        """Stop the front, the RIEs (and their runtimes) and moto; safe to call twice."""
        if self._front is not None:
            self._front.shutdown()
            self._front.server_close()
            self._front = None
        if self._front_thread is not None:
            self._front_thread.join()
            self._front_thread = None
        self._pool = None
        for process in self.processes:
            process.stop()
        for processes in self.job_processes.values():
            for process in processes:
                process.stop()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._router is not None:
            self._router.shutdown()
            self._router.server_close()
            self._router = None
        if self._router_thread is not None:
            self._router_thread.join()
            self._router_thread = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _warm_up(process: RieProcess) -> None:
    """Initialise the function in ``process`` (the RIE starts the runtime at the first invocation) with a
    ``GET /health`` event, so that a broken configuration or import fails the start and no request pays the cold
    start."""
    event = build_event(method="GET", target="/health", headers={"host": "127.0.0.1"}, body=b"", source_ip="127.0.0.1")
    result = process.invoke(json.dumps(event).encode())
    if result.function_error or gateway_response(result).status != 200:
        raise RieError(f"the function failed to start: {result.payload[:2000].decode('utf-8', 'replace')}")
