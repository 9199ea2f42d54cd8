"""The committed events are what ``scripts/generate_events.py`` writes, and look like API Gateway's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.api.conftest import EVENTS, load_event

NAMES = sorted(path.stem for path in EVENTS.glob("*.json"))


def test_committed_events_are_up_to_date() -> None:
    # GIVEN the generator WHEN run in check mode THEN no committed event differs from what it produces
    done = subprocess.run(
        [sys.executable, "scripts/generate_events.py", "--check"], cwd=EVENTS.parent, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_events_are_http_api_v2(name: str) -> None:
    # GIVEN a committed event WHEN read THEN it has the payload 2.0 shape the resolver relies on
    event = load_event(name)
    assert event["version"] == "2.0"
    assert event["rawPath"] == event["requestContext"]["http"]["path"]
    assert event["requestContext"]["requestId"].startswith("req-")
    assert isinstance(event["isBase64Encoded"], bool)
    signed = "authorizer" in event["requestContext"]
    assert signed == (event["rawPath"] not in ("/health", "/openapi.json") and name != "error_missing_identity")
