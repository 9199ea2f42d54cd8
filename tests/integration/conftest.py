"""The local stack (moto S3 + RIE pool running the real function + HTTP front), started once per test session.

Every test in this directory is marked ``integration`` and put in the ``local_stack`` xdist group, so that with
``pytest -n 2 --dist loadgroup`` one worker starts one stack and runs them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sockpuppet_client.auth import SigV4Auth
from sockpuppet_local.stack import LocalStack

HERE = Path(__file__).resolve().parent
WORKERS = 2
JOB_SHARD_MAX_NAMES = 8
"""The workers' ``JOB_SHARD_MAX_NAMES``: small, so that a few dozen matched accounts fan out over many shards."""


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.xdist_group("local_stack"))


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A running :class:`LocalStack` with ``WORKERS`` RIEs (and the job workers, shards of at most
    ``JOB_SHARD_MAX_NAMES`` names); function logs go to ``<tmp>/local-stack/function.log``."""
    log = tmp_path_factory.mktemp("local-stack") / "function.log"
    with LocalStack(workers=WORKERS, log=log, job_shard_max_names=JOB_SHARD_MAX_NAMES) as stack:
        yield stack


@pytest.fixture(scope="session")
def signer(local_stack: LocalStack) -> SigV4Auth:
    """SigV4 for caller ``AKIDLOCALALICE`` (the local front takes the access key as the caller's identity)."""
    return SigV4Auth(("AKIDLOCALALICE", "alice-secret"), local_stack.region)


@pytest.fixture(scope="session")
def other_signer(local_stack: LocalStack) -> SigV4Auth:
    """SigV4 for a second caller, ``AKIDLOCALBOB``."""
    return SigV4Auth(("AKIDLOCALBOB", "bob-secret"), local_stack.region)
