"""Asynchronous jobs from Python: :class:`Job` (status, wait with a progress bar, result, cancel) and their errors."""

from __future__ import annotations

import sys
import time
from typing import IO, TYPE_CHECKING, Any

from sockpuppet_client.errors import SockpuppetError

if TYPE_CHECKING:
    from sockpuppet_client.client import Client

__all__ = ["FINAL_STATUSES", "Job", "JobCancelled", "JobFailed", "SyncTimeout"]

FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
_FAILURE_STATUS = {"validation_error": 422, "invalid_records": 422, "upload_not_found": 404, "result_too_large": 413}
"""HTTP status the synchronous route answers for an error code (a failed job has the code, not the status)."""


class JobFailed(SockpuppetError):
    """The job ended ``failed``: ``code``, ``message`` and ``details`` are its ``error`` object.

    ``status`` is what the synchronous route would have answered for that error (422 for invalid records, 404 for
    a vanished upload, else 500); ``job`` is the job's last status document.
    """

    def __init__(self, job: dict[str, Any]) -> None:
        error = job.get("error") or {}
        code = str(error.get("code") or "job_failed")
        details = error.get("details")
        super().__init__(
            _FAILURE_STATUS.get(code, 500),
            code,
            str(error.get("message") or "the job failed"),
            details if isinstance(details, list) else [],
        )
        self.job = job


class JobCancelled(SockpuppetError):
    """The job was cancelled before it finished (it has no result)."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(409, "job_cancelled", f"job {job.get('job_id')} was cancelled")
        self.job = job


class SyncTimeout(SockpuppetError):
    """The synchronous route answered 504: the work does not fit its time limit; :meth:`submit_job` runs it as a job.

    Raised by :meth:`Client.similar_account_pairs <sockpuppet_client.Client.similar_account_pairs>` (unless it was
    asked to switch by itself with ``on_timeout="job"``). The inputs that were uploaded are reused as they are.
    """

    def __init__(self, error: SockpuppetError, client: Client, body: bytes) -> None:
        super().__init__(error.status, error.code, error.message, error.details, error.request_id)
        self._client = client
        self._body = body

    def submit_job(self, *, idempotency_key: str | None = None) -> Job:
        """Submit the same request to ``POST /v1/jobs`` and return the :class:`Job`."""
        return self._client._submit_body(self._body, idempotency_key=idempotency_key)


class Job:
    """A job of the API (``POST /v1/jobs``), read through its client.

    Parameters
    ----------
    client
        The :class:`~sockpuppet_client.Client` that submitted it (or any client of the same caller).
    job_id
        The job's id.
    """

    def __init__(self, client: Client, job_id: str) -> None:
        self.client = client
        self.job_id = job_id
        self.last: dict[str, Any] | None = None
        """The last status document read (``None`` before the first read)."""

    def __repr__(self) -> str:
        status = self.last["status"] if self.last else "?"
        return f"Job({self.job_id!r}, status={status!r})"

    @property
    def url(self) -> str:
        """``GET`` / ``DELETE`` URL of the job (under the client's base URL)."""
        return f"{self.client.base_url}/v1/jobs/{self.job_id}"

    def status(self) -> dict[str, Any]:
        """``GET /v1/jobs/{job_id}``: ``status``, ``progress``, and ``result_url`` / ``error`` once finished.

        Raises
        ------
        SockpuppetError
            404 ``job_not_found`` for an unknown, expired or another caller's job; other non-2xx answers.
        """
        self.last = self.client._json(self.client._checked("GET", self.url))
        return self.last

    def cancel(self) -> dict[str, Any]:
        """``DELETE /v1/jobs/{job_id}``: cancel the job if it is still queued or running (idempotent).

        Returns
        -------
        dict
            The job's status document after the call (``cancelled``, or its final status if it had finished).
        """
        self.last = self.client._json(self.client._checked("DELETE", self.url))
        return self.last

    def wait(
        self,
        *,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        max_poll_interval: float = 10.0,
        progress: bool | None = None,
        stream: IO[str] | None = None,
    ) -> dict[str, Any]:
        """Poll the job until it has succeeded, failed or been cancelled.

        Parameters
        ----------
        timeout
            Seconds to wait at most (``None``: no limit).
        poll_interval
            Seconds between the first polls; the interval grows by half each poll, up to ``max_poll_interval``.
        max_poll_interval
            Longest interval between two polls.
        progress
            Draw a progress bar (tqdm: phase, shards done / total) on ``stream``; default: when ``stream`` is a
            terminal and tqdm is installed.
        stream
            Where the bar goes (default: ``sys.stderr``).

        Returns
        -------
        dict
            The final status document (``status`` in ``succeeded``, ``failed``, ``cancelled``).

        Raises
        ------
        TimeoutError
            ``timeout`` passed first (the job keeps running; wait again or :meth:`cancel` it).
        SockpuppetError
            A non-2xx answer (after the client's retries of 429 / 503).
        """
        stream = sys.stderr if stream is None else stream
        bar = _ProgressBar(stream) if (progress if progress is not None else _is_terminal(stream)) else None
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = poll_interval
        try:
            while True:
                document = self.status()
                if bar is not None:
                    bar.update(document)
                if document["status"] in FINAL_STATUSES:
                    return document
                if deadline is not None and time.monotonic() + interval > deadline:
                    raise TimeoutError(f"job {self.job_id} still {document['status']} after {timeout} s")
                time.sleep(interval)
                interval = min(interval * 1.5, max_poll_interval)
        finally:
            if bar is not None:
                bar.close()

    def result(self, *, timeout: float | None = None, progress: bool | None = None) -> dict[str, Any]:
        """Wait for the job, then download its result (the synchronous route's 200 document, pairs included).

        Parameters
        ----------
        timeout, progress
            As for :meth:`wait`.

        Returns
        -------
        dict
            The result document; ``result_url`` / ``result_expires_at`` are the job's (fresh) URL and expiry.

        Raises
        ------
        JobFailed
            The job failed (its error object as ``code`` / ``message`` / ``details``).
        JobCancelled
            The job was cancelled.
        TimeoutError
            ``timeout`` passed first.
        """
        document = self.last if self.last and self.last["status"] in FINAL_STATUSES else None
        if document is None or (document["status"] == "succeeded" and _expired(document)):
            document = self.wait(timeout=timeout, progress=progress)
        if document["status"] == "failed":
            raise JobFailed(document)
        if document["status"] == "cancelled":
            raise JobCancelled(document)
        result = self.client.fetch_result(document["result_url"])
        result["result_url"] = document["result_url"]
        result["result_expires_at"] = document["result_expires_at"]
        return result


def _expired(document: dict[str, Any], margin_seconds: float = 30.0) -> bool:
    """Whether a succeeded document's ``result_url`` expires within ``margin_seconds`` (then it is read again)."""
    from datetime import UTC, datetime

    expires_at = document.get("result_expires_at")
    if not expires_at:
        return True
    moment = datetime.strptime(expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds() < margin_seconds


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _ProgressBar:
    """A tqdm bar of a job's shards (phase as its description); nothing if tqdm is not installed."""

    def __init__(self, stream: IO[str]) -> None:
        try:
            from tqdm import tqdm
        except ImportError:
            self._bar = None
            return
        self._bar = tqdm(total=None, desc="queued", unit="shard", file=stream, leave=False)

    def update(self, document: dict[str, Any]) -> None:
        if self._bar is None:
            return
        progress = document.get("progress") or {}
        total = progress.get("shards_total")
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.set_description(progress.get("phase") or document["status"], refresh=False)
        self._bar.n = progress.get("shards_done") or 0
        self._bar.refresh()  # one poll per draw: tqdm's own rate limit would drop quick ones

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
