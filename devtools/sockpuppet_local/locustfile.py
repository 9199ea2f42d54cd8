"""Locust scenario of ``make load``: signed 1k-post inline jobs built from the sample data, plus health checks.

Run by :mod:`sockpuppet_local.load` (``locust -f devtools/sockpuppet_local/locustfile.py --headless ...``).
Against the local stack any access key is a caller; against a deployed API (``--host https://...``) requests are
signed with the botocore credential chain. ``--max-requests N`` stops the run after N requests; ``--samples-file``
records every request (name, latency in ms, error message or null, end time) for the report.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, constant, events, task
from locust.env import Environment

from sockpuppet_client.auth import SigV4Auth, region_from_url
from sockpuppet_local.jobs import sample_jobs

JOBS = sample_jobs(8)
LOCAL_HOSTS = ("http://127.0.0.1", "http://localhost")


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many requests (0: no limit)")
    parser.add_argument("--samples-file", default="", help="write every request's name, latency and outcome here")


class _Run:
    """Request budget (``--max-requests``: each task takes a ticket first; the run quits when the last request is
    done) and the raw samples (``--samples-file``: exact percentiles instead of locust's rounded ones)."""

    def __init__(self) -> None:
        self.limit = 0
        self.issued = 0
        self.samples: list[tuple[str, float, str | None, float]] = []
        self.environment: Environment | None = None

    def take(self) -> None:
        """Return when this task may send its request; past the limit, park until the run quits."""
        if self.limit and self.issued >= self.limit:
            gevent.sleep(3600)
        self.issued += 1

    def on_request(self, name: str, response_time: float, exception: BaseException | None, **_: Any) -> None:
        error = None if exception is None else str(exception)[:300] or type(exception).__name__
        self.samples.append((name, response_time, error, time.time()))
        if len(self.samples) == self.limit and self.environment is not None and self.environment.runner is not None:
            gevent.spawn(self.environment.runner.quit)


RUN = _Run()


@events.init.add_listener
def _init_run(environment: Environment, **_: Any) -> None:
    RUN.limit = environment.parsed_options.max_requests if environment.parsed_options else 0
    RUN.environment = environment
    environment.events.request.add_listener(RUN.on_request)


@events.quitting.add_listener
def _write_samples(environment: Environment, **_: Any) -> None:
    path = environment.parsed_options.samples_file if environment.parsed_options else ""
    if path:
        Path(path).write_text(json.dumps(RUN.samples))


def _problem(response: Any) -> str:
    if not response.status_code:
        return f"no response: {response.error}"
    return f"{response.status_code}: {response.text[:200]}"


class ApiUser(HttpUser):
    """A caller that runs jobs back to back (closed loop: the number of users is the concurrency)."""

    wait_time = constant(0)

    def on_start(self) -> None:
        if self.host.startswith(LOCAL_HOSTS):
            self.signer = SigV4Auth(("AKIDLOCALLOAD", "local-secret"), "us-east-1")
        else:
            self.signer = SigV4Auth.from_session(region=region_from_url(self.host))

    @task(5)
    def similar_account_pairs(self) -> None:
        RUN.take()
        with self.client.post(
            "/v1/similar-account-pairs",
            data=random.choice(JOBS),
            headers={"Content-Type": "application/json"},
            auth=self.signer,
            name="POST /v1/similar-account-pairs (1k posts)",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(_problem(response))
            elif not isinstance(response.json().get("pair_count"), int):
                response.failure("200 without pair_count")

    @task(1)
    def health(self) -> None:
        RUN.take()
        with self.client.get("/health", auth=self.signer, name="GET /health", catch_response=True) as response:
            if response.status_code != 200 or response.json() != {"status": "ok"}:
                response.failure(_problem(response))
