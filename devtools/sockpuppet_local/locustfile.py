"""Locust scenario of ``make load``: signed 1k-post inline jobs built from the sample data, plus health checks.

Run by :mod:`sockpuppet_local.load` (``locust -f devtools/sockpuppet_local/locustfile.py --headless ...``).
Against the local stack any access key is a caller; against a deployed API (``--host https://...``) requests are
signed with the botocore credential chain. ``--max-requests N`` stops the run after N requests.
"""

from __future__ import annotations

import random
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


@events.init.add_listener
def _stop_after_max_requests(environment: Environment, **_: Any) -> None:
    limit = environment.parsed_options.max_requests if environment.parsed_options else 0
    if not limit:
        return
    done = 0

    def count(**_: Any) -> None:
        nonlocal done
        done += 1
        if done == limit and environment.runner is not None:
            gevent.spawn(environment.runner.quit)

    environment.events.request.add_listener(count)


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
        with self.client.post(
            "/v1/similar-account-pairs",
            data=random.choice(JOBS),
            headers={"Content-Type": "application/json"},
            auth=self.signer,
            name="POST /v1/similar-account-pairs (1k posts)",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            elif not isinstance(response.json().get("pair_count"), int):
                response.failure("200 without pair_count")

    @task(1)
    def health(self) -> None:
        with self.client.get("/health", auth=self.signer, name="GET /health", catch_response=True) as response:
            if response.status_code != 200 or response.json() != {"status": "ok"}:
                response.failure(f"{response.status_code}: {response.text[:200]}")
