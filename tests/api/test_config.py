"""Function configuration from the environment: every variable required, errors name them all."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from tests.api.conftest import TEST_ENV


@pytest.fixture
def config(api_env: dict[str, str]) -> ModuleType:
    """``sockpuppet_api.config`` (it reads the environment when imported, so only with the test environment)."""
    return importlib.import_module("sockpuppet_api.config")


def test_reads_every_variable(config: ModuleType) -> None:
    # GIVEN the test environment WHEN loaded THEN each setting has its variable's value
    settings = config.load_settings(TEST_ENV)
    assert settings.payload_bucket == TEST_ENV["PAYLOAD_BUCKET"]
    assert settings.max_pairs == int(TEST_ENV["MAX_PAIRS"])
    assert settings.deadline_margin_ms == int(TEST_ENV["DEADLINE_MARGIN_MS"])
    assert config.settings == settings


def test_missing_and_malformed_variables_fail_loudly(config: ModuleType) -> None:
    # GIVEN one variable missing, one not an integer and one not positive
    env = {k: v for k, v in TEST_ENV.items() if k != "PAYLOAD_BUCKET"}
    env.update(MAX_PAIRS="lots", MAX_RECORDS="0")
    # WHEN loaded THEN one ConfigError names all three
    with pytest.raises(config.ConfigError) as caught:
        config.load_settings(env)
    message = str(caught.value)
    assert "PAYLOAD_BUCKET is not set" in message
    assert "MAX_PAIRS must be an integer" in message
    assert "MAX_RECORDS must be positive" in message
