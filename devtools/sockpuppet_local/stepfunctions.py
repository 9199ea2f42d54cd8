"""Jobs locally: moto's Step Functions interpreter runs the repository's state machine; its Lambda calls reach the
real worker code in RIE processes (see ``docs/jobs.md``, "Locally").

* :class:`MotoProcess` - a moto server in its own process (S3, DynamoDB, Step Functions), started with
  ``MOTO_PORT`` set to the router's port: moto's interpreter sends every AWS call it makes (``lambda:invoke``, the
  Distributed Map's ``s3:getObject``) to ``http://localhost:$MOTO_PORT``.
* :class:`LambdaRouter` - that port. ``POST /2015-03-31/functions/<name or ARN>/invocations`` goes to an idle RIE
  of that function (queued while all are busy: one RIE takes one invocation at a time) and comes back with
  ``X-Amz-Function-Error`` when the payload is an error document (the RIE never sets the header, and moto would
  take the error for a result). Everything else is proxied to moto. :class:`Faults` crashes chosen invocations
  for real (their runtime is killed) or holds them, for the worker-fault tests.
* :func:`create_job_resources` - the job table, the state machine from ``statemachine/jobs.asl.json`` (its
  ``${...}`` substitutions resolved to the local names) and moto's ``execute_state_machine`` switch.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

import boto3
import psutil

from sockpuppet_local.front import RiePool
from sockpuppet_local.rie import REPO_ROOT, InvokeResult, RieProcess, free_port

__all__ = [
    "DEFINITION",
    "JOBS_TABLE",
    "STATE_MACHINE_NAME",
    "WORKER_FUNCTIONS",
    "Faults",
    "LambdaRouter",
    "MotoProcess",
    "WorkerFunction",
    "create_job_resources",
    "resolve_definition",
]

logger = logging.getLogger(__name__)

DEFINITION = REPO_ROOT / "statemachine" / "jobs.asl.json"
JOBS_TABLE = "sockpuppet-local-jobs"
STATE_MACHINE_NAME = "sockpuppet-local-jobs"
ROLE_ARN = "arn:aws:iam::123456789012:role/sockpuppet-local-jobs"
"""moto does not check the execution role; any well-formed ARN will do."""
HOLD_SECONDS = 600
"""The longest a held invocation waits for its release."""
_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations$")


@dataclass(frozen=True, slots=True)
class WorkerFunction:
    """One worker function of ``template.yaml`` as it runs locally."""

    name: str
    """Its local function name (what the definition's substitution resolves to)."""
    handler: str
    substitution: str
    """The ``DefinitionSubstitutions`` key of its ARN."""
    timeout_seconds: int


_HANDLERS = "sockpuppet_jobs.handlers"
WORKER_FUNCTIONS: tuple[WorkerFunction, ...] = (
    WorkerFunction(
        "sockpuppet-local-job-prepare", "sockpuppet_jobs.handlers.prepare_handler", "PrepareFunctionArn", 900
    ),
    WorkerFunction("sockpuppet-local-job-search", "sockpuppet_jobs.handlers.search_handler", "SearchFunctionArn", 900),
    WorkerFunction("sockpuppet-local-job-merge", "sockpuppet_jobs.handlers.merge_handler", "MergeFunctionArn", 900),
    WorkerFunction("sockpuppet-local-job-finish", "sockpuppet_jobs.handlers.finish_handler", "FinishFunctionArn", 60),
    WorkerFunction("sockpuppet-local-job-fail", "sockpuppet_jobs.handlers.fail_handler", "FailFunctionArn", 60),
)


def resolve_definition(substitutions: Mapping[str, str], path: Path = DEFINITION) -> str:
    """The state machine definition with its ``${Name}`` substitutions resolved, as CloudFormation does.

    Raises
    ------
    KeyError
        When the definition uses a substitution that ``substitutions`` lacks.
    """
    text = path.read_text()
    return re.sub(r"\$\{(\w+)\}", lambda match: substitutions[match.group(1)], text)


class MotoProcess:
    """``python -m moto.server`` on a free port of 127.0.0.1, with ``MOTO_PORT`` pointing at ``router_port``.

    Parameters
    ----------
    router_port
        Where moto's Step Functions interpreter sends its AWS calls.
    output
        Where moto's log goes (``None``: this process's stdout/stderr).
    """

    def __init__(self, router_port: int, *, output: IO[bytes] | None = None) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "MOTO_PORT": str(router_port),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        setpriv = shutil.which("setpriv")  # moto stops with this process, even when it is killed (as the RIEs do)
        self.process = subprocess.Popen(
            [
                *([setpriv, "--pdeathsig", "TERM"] if setpriv else []),
                sys.executable,
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with status {self.process.returncode} while starting")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", "/moto-api/data.json")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within {timeout:.0f} s")

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()


@dataclass
class _Fault:
    function: str
    matches: Callable[[dict[str, Any]], bool]
    times: int | None
    release: threading.Event | None = None
    """``None``: a crash (the runtime is killed); else a hold until the event is set."""
    hits: int = 0


@dataclass
class Faults:
    """Real faults for chosen invocations of a worker.

    * :meth:`add` - a crash: the worker's runtime process is killed (SIGKILL) while the invocation is in flight, as
      the Lambda service kills a runtime that runs out of memory; the RIE then answers what Lambda answers
      (``Runtime.ExitError``, "Runtime exited with error: signal: killed") and starts a fresh runtime for the next
      invocation.
    * :meth:`hold` - a slow worker: the invocation waits until released, so that a test can look at a job in the
      middle of a step, or cancel it.
    """

    _faults: list[_Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, function: str, matches: Callable[[dict[str, Any]], bool], *, times: int | None = 1) -> None:
        """Crash the next ``times`` invocations (``None``: all) of ``function`` whose event ``matches``."""
        with self._lock:
            self._faults.append(_Fault(function, matches, times))

    def hold(self, function: str, matches: Callable[[dict[str, Any]], bool]) -> threading.Event:
        """Hold the next invocation of ``function`` whose event ``matches`` until the returned event is set."""
        release = threading.Event()
        with self._lock:
            self._faults.append(_Fault(function, matches, 1, release))
        return release

    def hits(self, function: str) -> int:
        """How many invocations of ``function`` were crashed so far."""
        with self._lock:
            return sum(f.hits for f in self._faults if f.function == function and f.release is None)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, function: str, payload: bytes) -> bool:
        """Whether to crash this invocation (a hold waits here until it is released, then says no)."""
        with self._lock:
            candidates = [fault for fault in self._faults if fault.function == function]
            if not candidates:
                return False
        try:
            event = json.loads(payload)
        except ValueError:
            return False
        with self._lock:
            chosen = next((f for f in candidates if (f.times is None or f.hits < f.times) and f.matches(event)), None)
            if chosen is None:
                return False
            chosen.hits += 1
        if chosen.release is not None:
            chosen.release.wait(HOLD_SECONDS)
            return False
        return True


KILLED = {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited with error: signal: killed"}
"""What Lambda answers for a runtime killed during its initialisation (the RIE answers with an empty body)."""


def invoke_and_kill(process: RieProcess, payload: bytes) -> InvokeResult:
    """Invoke ``process`` and kill its runtime before the handler can answer.

    A warm runtime is stopped (SIGSTOP) before the invocation is sent, so it cannot take the event, then killed; a
    cold one (the RIE starts it on the first invocation) is killed as soon as it appears.
    """
    runtime = psutil.Process(process.pid).children(recursive=True)
    for child in runtime:
        child.suspend()
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["result"] = process.invoke(payload)
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=call, name="sockpuppet-fault-invoke")
    caller.start()
    if runtime:
        time.sleep(0.2)  # the RIE hands the event to the stopped runtime's pending /next
    deadline = time.monotonic() + 30
    while not runtime and caller.is_alive() and time.monotonic() < deadline:
        runtime = psutil.Process(process.pid).children(recursive=True)
        time.sleep(0.005)
    for child in runtime:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    caller.join()
    if "error" in outcome:
        raise outcome["error"]
    result: InvokeResult = outcome["result"]
    if not result.payload:
        return InvokeResult(payload=json.dumps(KILLED).encode(), function_error=True)
    return result


class _RouterHandler(BaseHTTPRequestHandler):
    server: LambdaRouter
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        match = _INVOKE.match(self.path.split("?", 1)[0])
        if self.command == "POST" and match:
            status, headers, payload = self.server.invoke(unquote(match.group("function")), body)
        else:
            status, headers, payload = self.server.proxy(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


class LambdaRouter(ThreadingHTTPServer):
    """The port moto's interpreter calls: Lambda invocations to RIE pools, everything else to moto.

    Parameters
    ----------
    pools
        RIE pools by local function name.
    upstream_port
        moto's port (set with :meth:`set_upstream` once moto runs).
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, pools: dict[str, RiePool] | None = None, port: int = 0) -> None:
        self.pools: dict[str, RiePool] = dict(pools or {})
        self.upstream_port: int | None = None
        self.faults = Faults()
        super().__init__(("127.0.0.1", port), _RouterHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def invoke(self, function: str, payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        name = function.rsplit(":function:", 1)[-1].split(":", 1)[0]
        pool = self.pools.get(name)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if pool is None:
            body = json.dumps({"Type": "User", "Message": f"Function not found: {function}"}).encode()
            return 404, [*headers, ("x-amzn-ErrorType", "ResourceNotFoundException")], body
        crash = self.faults.take(name, payload)
        try:
            with pool.checkout(timeout=24 * 3600) as process:
                if crash:
                    logger.info("killing the runtime of %s during an invocation (fault injection)", name)
                    result = invoke_and_kill(process, payload)
                else:
                    result = process.invoke(payload)
        except (OSError, http.client.HTTPException) as exc:
            logger.error("invocation of %s failed: %r", name, exc)
            body = json.dumps({"Type": "Service", "Message": f"the local RIE failed: {exc!r}"}).encode()
            return 500, [*headers, ("x-amzn-ErrorType", "ServiceException")], body
        if result.function_error:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        return 200, headers, result.payload

    def proxy(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.upstream_port is None:
            return 503, [], b""
        connection = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=300)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def create_job_resources(
    endpoint: str,
    *,
    region: str,
    bucket: str,
    credentials: Mapping[str, str],
    functions: tuple[WorkerFunction, ...] = WORKER_FUNCTIONS,
) -> str:
    """Create the job table and the state machine in moto and turn its execution on.

    Returns
    -------
    str
        The state machine's ARN.
    """
    session = boto3.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    session.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=JOBS_TABLE,
        KeySchema=[{"AttributeName": "owner", "KeyType": "HASH"}, {"AttributeName": "job_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "owner", "AttributeType": "S"},
            {"AttributeName": "job_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    connection = http.client.HTTPConnection(*endpoint.removeprefix("http://").split(":"), timeout=10)
    connection.request(
        "POST",
        "/moto-api/config",
        body=json.dumps({"stepfunctions": {"execute_state_machine": True}}),
        headers={"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 201 and response.status != 200:
        raise RuntimeError(f"moto refused the config change: HTTP {response.status}")
    substitutions = {function.substitution: function.name for function in functions} | {"PayloadBucket": bucket}
    created = session.client("stepfunctions", endpoint_url=endpoint).create_state_machine(
        name=STATE_MACHINE_NAME, definition=resolve_definition(substitutions), roleArn=ROLE_ARN, type="STANDARD"
    )
    return created["stateMachineArn"]


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Block until something listens on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")
