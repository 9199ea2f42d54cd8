"""One Lambda execution environment: an ``aws-lambda-rie`` process running the function with ``awslambdaric``.

The Runtime Interface Emulator (shipped in the aws-sam-cli wheel, the binary ``sam local`` puts in its containers)
serves the Lambda Invoke API on one port and the Runtime API for ``awslambdaric`` on another. Like a Lambda
execution environment it runs one invocation at a time; the caller (:class:`sockpuppet_local.front.RiePool`)
guarantees that.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FUNCTION_HANDLER",
    "INVOKE_PATH",
    "LAMBDA_PAYLOAD_LIMIT",
    "LAMBDA_RESPONSE_LIMIT",
    "InvokeResult",
    "RieError",
    "RieProcess",
    "find_rie",
    "free_port",
]

logger = logging.getLogger(__name__)

FUNCTION_HANDLER = "sockpuppet_api.app.lambda_handler"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
"""Largest event of a synchronous Lambda invocation (the RIE does not enforce it; the front does)."""
LAMBDA_RESPONSE_LIMIT = LAMBDA_PAYLOAD_LIMIT + 100
"""Largest response of a synchronous invocation (Lambda: "Exceeded maximum allowed payload size (6291556 bytes)")."""

REPO_ROOT = Path(__file__).resolve().parents[2]
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


class RieError(RuntimeError):
    """The RIE could not be found, did not start, or its function failed to initialise."""


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """What one invocation returned: the raw response payload and whether it is a function error."""

    payload: bytes
    function_error: bool

    def json(self) -> Any:
        return json.loads(self.payload)


def find_rie() -> Path:
    """Path of the ``aws-lambda-rie`` binary for this machine.

    ``SOCKPUPPET_RIE`` wins; otherwise the binary bundled with aws-sam-cli in the repository's ``.venv-sam``.

    Returns
    -------
    Path
        An executable file.

    Raises
    ------
    RieError
        When neither exists (run ``make sam-venv``).
    """
    override = os.environ.get("SOCKPUPPET_RIE")
    if override:
        path = Path(override)
        if not os.access(path, os.X_OK):
            raise RieError(f"SOCKPUPPET_RIE={override} is not an executable file")
        return path
    arch = _ARCH.get(platform.machine().lower())
    if arch is None:
        raise RieError(f"no aws-lambda-rie build for machine type {platform.machine()!r}")
    pattern = str(REPO_ROOT / ".venv-sam/lib/python3.*/site-packages/samcli/local/rapid" / f"aws-lambda-rie-{arch}")
    for candidate in sorted(glob.glob(pattern)):
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise RieError(f"aws-lambda-rie not found at {pattern}; run `make sam-venv` or set SOCKPUPPET_RIE")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RieProcess:
    """An ``aws-lambda-rie`` process (in its own process group) running ``python -m awslambdaric <handler>``.

    Parameters
    ----------
    env
        The function's environment (merged over nothing: the process sees exactly these variables plus ``PATH``).
    output
        Where the RIE and function logs go (``None``: inherit this process's stdout/stderr).
    handler
        The Lambda handler.
    timeout_seconds
        ``AWS_LAMBDA_FUNCTION_TIMEOUT``; the function's remaining time counts down from it.
    memory_mb
        ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` as the function sees it (not enforced locally).
    """

    def __init__(
        self,
        env: dict[str, str],
        *,
        output: IO[bytes] | None = None,
        handler: str = FUNCTION_HANDLER,
        timeout_seconds: int,
        memory_mb: int,
        function_name: str = "sockpuppet-local",
    ) -> None:
        self.port = free_port()
        self.runtime_api_port = free_port()
        self.timeout_seconds = timeout_seconds
        # if this process dies without stopping us (SIGKILL, a crashed test worker), the kernel sends the RIE
        # SIGTERM and it stops its runtime: no orphans (Linux; the RIE only exists for Linux anyway). The signal
        # follows the *thread* that started the RIE: start stacks from a thread that outlives them (e.g. the main one)
        setpriv = shutil.which("setpriv")
        command = [
            *([setpriv, "--pdeathsig", "TERM"] if setpriv else []),
            str(find_rie()),
            "--log-level",
            "error",
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{self.runtime_api_port}",
            sys.executable,
            "-m",
            "awslambdaric",
            handler,
        ]
        process_env = {
            "PATH": os.environ.get("PATH", os.defpath),
            **env,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_seconds),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        }
        self.process = subprocess.Popen(
            command,
            env=process_env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True,  # its own process group: Ctrl-C reaches us only, and stop() reaps the runtime
        )
        self._connection: http.client.HTTPConnection | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the RIE accepts connections.

        Raises
        ------
        RieError
            When the process exits or the port stays closed for ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RieError(f"aws-lambda-rie exited with status {self.process.returncode} while starting")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RieError(f"aws-lambda-rie did not listen on 127.0.0.1:{self.port} within {timeout:.0f} s")

    def invoke(self, payload: bytes) -> InvokeResult:
        """Invoke the function once with a JSON event (one call at a time per process).

        Raises
        ------
        OSError, http.client.HTTPException
            When the RIE does not answer (it died, or the invocation outlived the function timeout by far); the
            connection is dropped, so the next call starts afresh.
        """
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_seconds + 10)
            try:
                self._connection.request(
                    "POST", INVOKE_PATH, body=payload, headers={"Content-Type": "application/json"}
                )
                response = self._connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._connection.close()  # never reuse a connection in an unknown state
                self._connection = None
                # a kept-alive connection the RIE closed meanwhile: reconnect once
                stale = isinstance(exc, ConnectionError | http.client.RemoteDisconnected)
                if attempt == 1 and stale:
                    continue
                raise
            return InvokeResult(payload=body, function_error=_is_function_error(response, body))
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the RIE and its runtime (SIGTERM to the process group, SIGKILL after ``timeout``)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        pid = self.process.pid
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            # wait for the exit without reaping: while the RIE is a zombie its process group id cannot be reused,
            # so the SIGKILL below reaches only what is left of this group (normally nothing: the RIE stops its
            # runtime itself)
            deadline = time.monotonic() + timeout
            while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                if time.monotonic() > deadline:
                    logger.warning("aws-lambda-rie %d ignored SIGTERM; killing its process group", pid)
                    break
                time.sleep(0.02)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.process.wait()


def _is_function_error(response: http.client.HTTPResponse, body: bytes) -> bool:
    """Whether an RIE response is a function error (Lambda's ``X-Amz-Function-Error``; the RIE omits the header
    but always answers errors as ``{"errorMessage", "errorType", ...}``)."""
    if response.status != 200 or response.getheader("X-Amz-Function-Error"):
        return True
    if not body.startswith(b"{"):
        return False
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and "errorType" in document and "statusCode" not in document
