"""``python -m sockpuppet_local invoke EVENT.json``: one event through one RIE (a Docker-free ``sam local invoke``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from sockpuppet_local.rie import InvokeResult
from sockpuppet_local.stack import LocalStack

__all__ = ["invoke_event"]


def invoke_event(event_path: Path, *, log: Path | IO[bytes] | None = None) -> InvokeResult:
    """Start moto S3 and one RIE, invoke the function once with the event in ``event_path``, stop everything.

    Parameters
    ----------
    event_path
        A JSON Lambda event (e.g. one of ``events/``).
    log
        Where the function's logs go (see :class:`~sockpuppet_local.stack.LocalStack`).

    Returns
    -------
    InvokeResult
        The raw Lambda response payload and whether it is a function error.
    """
    payload = json.dumps(json.loads(event_path.read_bytes())).encode()
    with LocalStack(workers=1, log=log) as stack:
        return stack.invoke(payload)
