"""``collector_paused``: the cyclic collector is off inside the block and back as it was after it."""

from __future__ import annotations

import gc

import pytest

from sockpuppet.collector import collector_paused


@pytest.fixture
def collector_state():
    enabled = gc.isenabled()
    yield
    _set(enabled)


def _set(enabled: bool) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector_state")
@pytest.mark.parametrize("enabled_before", [True, False])
def test_paused_inside_and_restored_after(enabled_before: bool) -> None:
    # GIVEN the collector enabled or disabled
    _set(enabled_before)
    # WHEN a block runs under collector_paused
    with collector_paused():
        inside = gc.isenabled()
    # THEN it is off inside and as before after
    assert inside is False
    assert gc.isenabled() is enabled_before


@pytest.mark.usefixtures("collector_state")
def test_restored_when_the_block_raises() -> None:
    # GIVEN the collector enabled
    gc.enable()
    # WHEN the block raises
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    # THEN the collector is enabled again
    assert gc.isenabled()
