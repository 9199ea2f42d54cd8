"""The Lambda artifacts install the versions the tests ran against: every ``requirements.txt`` that ``sam build``
reads pins exactly the versions of ``uv.lock`` (``make requirements`` exports them), and covers its ``.in``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ["layers/sockpuppet", "functions/api", "functions/jobs"]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {canonical(package["name"]): package["version"] for package in lock["package"] if "version" in package}


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_requirements_are_the_locked_versions(artifact: str) -> None:
    # GIVEN an artifact's requirements.txt (generated) and requirements.in (what it asks for)
    pins = {}
    for line in (ROOT / artifact / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonical(name.strip())] = version.strip()
    wanted = [
        canonical(re.split(r"[\[<>=!~;\s]", line.strip(), maxsplit=1)[0])
        for line in (ROOT / artifact / "requirements.in").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    versions = locked()
    # THEN every requirement is pinned, to the version of uv.lock
    assert pins and set(wanted) <= set(pins)
    assert {name: version for name, version in pins.items() if versions.get(name) != version} == {}
