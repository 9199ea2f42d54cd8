"""The whole local stack as a context manager: moto S3 + a pool of RIEs running the function + the HTTP front.

>>> with LocalStack(workers=2) as stack:          # doctest: +SKIP
...     requests.get(f"{stack.base_url}/health")

Every port is picked free at start, so several stacks (e.g. one per pytest-xdist worker) can run side by side.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from sockpuppet_local.front import INTEGRATION_TIMEOUT_SECONDS, FrontServer, RiePool, build_event, gateway_response
from sockpuppet_local.rie import InvokeResult, RieError, RieProcess

__all__ = ["FUNCTION_MEMORY_MB", "FUNCTION_TIMEOUT_SECONDS", "LocalStack", "function_env"]

logger = logging.getLogger(__name__)

REGION = "us-east-1"
BUCKET = "sockpuppet-local-payloads"
FUNCTION_TIMEOUT_SECONDS = 29
"""``FunctionTimeoutSeconds`` default of ``template.yaml``."""
FUNCTION_MEMORY_MB = 3538
"""``FunctionMemorySize`` default of ``template.yaml`` (reported to the function, not enforced)."""
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # moto accepts any


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
        "MAX_RECORDS": "5000000",
        "MAX_SCREEN_NAME_LENGTH": "256",
        "MAX_PAIRS": "1000000",
        "DEADLINE_MARGIN_MS": "2000",
        "POWERTOOLS_SERVICE_NAME": "sockpuppet",
        "POWERTOOLS_METRICS_NAMESPACE": "Sockpuppet",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **DUMMY_CREDENTIALS,
    }


class LocalStack:
    """moto S3 (with the payload bucket), ``workers`` RIEs running ``sockpuppet_api.app.lambda_handler`` and the
    HTTP front, all on 127.0.0.1; stopped (processes included) when the ``with`` block ends.

    Parameters
    ----------
    workers
        Number of RIE processes = the most concurrent invocations.
    port
        Port of the HTTP front (``0``: a free one).
    log
        Where the RIE and function logs go: a file path (appended to), an open binary stream with a file
        descriptor, or ``None`` for this process's stdout/stderr.
    """

    def __init__(self, workers: int = 2, port: int = 0, *, log: Path | IO[bytes] | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.port = port
        self.log = log
        self.bucket = BUCKET
        self.region = REGION
        self.env: dict[str, str] = {}
        self.processes: list[RieProcess] = []
        self._moto: ThreadedMotoServer | None = None
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

    def s3_client(self):
        """A boto3 S3 client for the stack's moto server."""
        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name=self.region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(signature_version="s3v4"),
        )

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, moto_port = self._moto.get_host_and_port()
        self.env = function_env(f"http://{host}:{moto_port}", self.bucket, self.region)
        self.s3_client().create_bucket(Bucket=self.bucket)
        output = self.log
        if isinstance(self.log, Path):
            output = self._log = self.log.open("ab")
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
        """Process ids of the RIEs."""
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
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
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
