"""``created_at`` parsing for the coordination signals: ISO 8601 or epoch seconds -> integer microseconds (UTC).

Accepted values (the contract's, section 5):

* ISO 8601 date and time: ``YYYY-MM-DD``, then ``T`` or a space, ``HH:MM`` with optional ``:SS`` and an optional
  fraction of any length after ``.`` (resolved to the microsecond, extra digits truncated, as
  :meth:`datetime.datetime.fromisoformat` does), then an optional ``Z`` or offset ``+HH``, ``+HHMM``, ``+HH:MM``
  (or ``-``). No offset means UTC. A date without a time is not accepted (midnight would be a guess).
* Epoch seconds: a JSON number (not a boolean), or a string holding a decimal number (TSV columns are text), e.g.
  ``1701434096`` or ``"1701434096.25"``. A decimal string is exact (extra digits past the microsecond truncated
  towards minus infinity); a binary float is rounded to the nearest microsecond.
* ``None`` and the empty string mean "no time".

Times are ``int`` microseconds since 1970-01-01T00:00:00Z (``int64`` in arrays), so differences and window tests
are exact integer arithmetic. Years 1-9999 only.

Columns of strings in the common ``YYYY-MM-DDTHH:MM:SS`` shape are checked and converted by numpy in one pass
(:func:`parse_times`); every other value goes through :func:`parse_time`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MICROS", "TimeColumn", "format_time", "parse_time", "parse_times", "seconds_to_micros"]

MICROS = 1_000_000
"""Microseconds in a second."""

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(?:Z|([+-])(\d{2})(?::?(\d{2}))?)?"
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_US = (datetime(1, 1, 2, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_MAX_US = (datetime(9999, 12, 30, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_FAST_LEN = 19
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])

TimeColumn = tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], list[tuple[int, str]]]


class _Unparseable(ValueError):
    pass


def _check_range(micros: int) -> int:
    if not _MIN_US <= micros <= _MAX_US:
        raise _Unparseable("is outside the years 1-9999")
    return micros


def _parse_iso(text: str) -> int | None:
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
    except ValueError as exc:
        raise _Unparseable(f"is not a valid date and time ({exc})") from None
    micros = (moment - _EPOCH) // timedelta(microseconds=1) + int((fraction or "")[:6].ljust(6, "0"))
    if sign is not None:
        hours, minutes = int(off_h), int(off_m or 0)
        if hours > 23 or minutes > 59:
            raise _Unparseable(f"has an invalid UTC offset {sign}{off_h}:{off_m or '00'}")
        offset = (hours * 3600 + minutes * 60) * MICROS
        micros += -offset if sign == "+" else offset
    return _check_range(micros)


def parse_time(value: Any) -> int | None:
    """Parse one ``created_at`` value.

    Parameters
    ----------
    value
        An ISO 8601 date-time string, epoch seconds (number or decimal string), ``None`` or ``""``.

    Returns
    -------
    int or None
        Microseconds since the epoch (UTC); ``None`` for a missing time (``None`` / ``""``).

    Raises
    ------
    ValueError
        If the value is present but not a time; the message says why (no location: callers add it).
    """
    if value is None:
        return None
    if type(value) is str:
        if value == "":
            return None
        iso = _parse_iso(value)
        if iso is not None:
            return iso
        if _NUMBER.fullmatch(value):
            try:
                return _check_range(int((Decimal(value) * MICROS).to_integral_value(ROUND_FLOOR)))
            except InvalidOperation:  # pragma: no cover - the pattern only admits decimal numbers
                pass
        raise _Unparseable(
            f"is not an ISO 8601 date-time (YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|+HH:MM]) or epoch seconds: {value!r}"
        )
    if type(value) is int:
        return _check_range(value * MICROS)
    if type(value) is float:
        if not math.isfinite(value):
            raise _Unparseable(f"is not a finite number: {value!r}")
        return _check_range(int((Decimal(value) * MICROS).to_integral_value(ROUND_HALF_EVEN)))
    raise _Unparseable(f"must be an ISO 8601 string or epoch seconds, got {type(value).__name__}")


def _fast_rows(values: Sequence[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]] | None:
    """Indices and times of the values in the plain ``YYYY-MM-DD[T ]HH:MM:SS`` shape, converted by numpy."""
    if set(map(type, values)) != {str}:
        return None
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    rows = np.flatnonzero(lengths == _FAST_LEN)
    if rows.size == 0:
        return None
    chosen = values if rows.size == len(values) else [values[i] for i in rows.tolist()]
    try:
        raw = np.array(chosen, dtype=f"S{_FAST_LEN}")
    except UnicodeEncodeError:
        return None
    grid = raw.view(np.uint8).reshape(-1, _FAST_LEN)
    digits = grid[:, _DIGITS]
    shaped = (
        ((digits >= ord("0")) & (digits <= ord("9"))).all(axis=1)
        & (grid[:, 4] == ord("-"))
        & (grid[:, 7] == ord("-"))
        & ((grid[:, 10] == ord("T")) | (grid[:, 10] == ord(" ")))
        & (grid[:, 13] == ord(":"))
        & (grid[:, 16] == ord(":"))
    )
    rows, raw = rows[shaped], raw[shaped]
    try:
        micros = raw.astype("datetime64[us]").astype(np.int64)
    except ValueError:  # an out-of-range field somewhere (e.g. month 13): let the slow path name it
        return None
    if micros.size and (micros.min() < _MIN_US or micros.max() > _MAX_US):
        return None
    return rows, micros


def parse_times(values: Sequence[Any]) -> TimeColumn:
    """Parse a column of ``created_at`` values.

    Parameters
    ----------
    values
        The values, one per record (see :func:`parse_time`).

    Returns
    -------
    tuple
        ``(micros, present, errors)``: ``int64`` microseconds (0 where absent or unparseable), a boolean mask of
        the values that are times, and ``(index, message)`` for each unparseable value, in index order.
    """
    n = len(values)
    micros = np.zeros(n, dtype=np.int64)
    present = np.zeros(n, dtype=np.bool_)
    fast = _fast_rows(values) if n else None
    slow: Any = range(n)
    if fast is not None:
        rows, converted = fast
        micros[rows] = converted
        present[rows] = True
        slow = np.flatnonzero(~present).tolist()
    errors: list[tuple[int, str]] = []
    for index in slow:
        try:
            parsed = parse_time(values[index])
        except _Unparseable as exc:
            errors.append((index, str(exc)))
            continue
        if parsed is not None:
            micros[index] = parsed
            present[index] = True
    return micros, present, errors


def seconds_to_micros(seconds: int | float) -> int:
    """A window in seconds as whole microseconds, rounded down (``diff_us <= result`` iff ``diff_us <= seconds``
    for integer microsecond differences)."""
    return int((Decimal(seconds) * MICROS).to_integral_value(ROUND_FLOOR))


def format_time(micros: int) -> str:
    """ISO 8601 UTC with ``Z``: ``2023-12-01T12:34:56Z``, with ``.ffffff`` only when the microseconds are not 0."""
    moment = _EPOCH + timedelta(microseconds=int(micros))
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"
