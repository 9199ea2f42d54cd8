"""Exceptions raised by the sockpuppet library.

The HTTP layer maps these onto the contract's status codes: :class:`InputError` -> 422,
:class:`DeadlineExceeded` -> 504. The library itself knows nothing about HTTP.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DeadlineExceeded", "InputError", "Loc", "RecordLimitExceeded"]

Loc = tuple[str | int, ...]


class InputError(ValueError):
    """Input records or parameters the library cannot accept.

    Parameters
    ----------
    message
        One-line summary for humans.
    details
        One entry per problem: ``{"loc": [...], "msg": "..."}`` where ``loc`` is the path to the offending
        value (e.g. ``["posts", 12, "author_id"]`` or ``["line", 7, "is_repost"]``).
    """

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = details or []

    @classmethod
    def at(cls, loc: Loc, msg: str) -> InputError:
        """Build an error for a single location, its message naming the location."""
        where = ".".join(str(part) for part in loc)
        return cls(f"{where}: {msg}", [{"loc": list(loc), "msg": msg}])


class RecordLimitExceeded(InputError):
    """An input has more records than the caller allows; reading stopped at the first record over the limit.

    Parameters
    ----------
    kind
        ``"posts"`` or ``"accounts"`` (or the ``kind`` the loader was given).
    limit
        The largest number of records accepted.
    loc
        Location of the first record over the limit (e.g. ``("posts", "line", 1002)`` or ``("posts", 1000)``).
    """

    def __init__(self, kind: str, limit: int, loc: Loc) -> None:
        msg = f"more than {limit} {kind}: reading stopped at the first record over the limit of {limit}"
        where = ".".join(str(part) for part in loc)
        super().__init__(f"{where}: {msg}", [{"loc": list(loc), "msg": msg}])
        self.kind = kind
        self.limit = limit


class DeadlineExceeded(TimeoutError):
    """The work could not finish before the caller's deadline (``time.monotonic()`` based)."""
