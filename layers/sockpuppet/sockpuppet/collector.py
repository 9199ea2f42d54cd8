"""Pause Python's cyclic garbage collector while many small acyclic objects are built.

Each collection the collector starts on the way re-scans every live container (the inputs' columns included), which
costs more than the building itself at a million pairs or cluster members. Nothing the library builds for a result
forms a reference cycle, so reference counting alone frees it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block (it is re-enabled after, if it was enabled before)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
