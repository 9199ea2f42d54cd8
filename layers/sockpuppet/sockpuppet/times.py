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

Columns are converted in numpy (:func:`parse_spans` on byte spans: the TSV loader's blocks, or joined strings):
ASCII ``YYYY-MM-DD[T ]HH:MM:SS`` with an optional ``.fraction`` and an optional ``Z`` / ``+HH:MM`` / ``-HH:MM``,
unsigned decimal epoch seconds, and JSON integers; every other value goes through :func:`parse_time`, so results
and messages are exactly its own (:class:`ParsedTimes` keeps a column parsed at load time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "MICROS",
    "ParsedTimes",
    "TimeColumn",
    "format_time",
    "format_times",
    "parse_spans",
    "parse_time",
    "parse_times",
    "seconds_to_micros",
]

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
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])

Int64Array = npt.NDArray[np.int64]
TimeColumn = tuple[Int64Array, npt.NDArray[np.bool_], list[tuple[int, str]]]


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


_POW10 = 10 ** np.arange(19, dtype=np.int64)
_KIND = {str: 1, int: 2, type(None): 3}
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
"""Days of each month (index 1-12) in a common year."""
_CHUNK = 1 << 14
"""Values converted in one numpy step (bounds the temporary digit grids to a few MiB)."""
_WIDEST = 40
"""Longest value the fast path looks at (longer ones go to :func:`parse_time`)."""
_NUMBER_DIGITS = 12
"""Longest integer part taken by the fast path (years 1-9999 need at most 12 digits of epoch seconds)."""


def _days_from_civil(year: Int64Array, month: Int64Array, day: Int64Array) -> Int64Array:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's ``days_from_civil``, vectorized)."""
    year = year - (month <= 2)
    era = np.floor_divide(year, 400)
    year_of_era = year - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


_YEARS = np.arange(10_000, dtype=np.int64)
_LEAP = (_YEARS % 4 == 0) & ((_YEARS % 100 != 0) | (_YEARS % 400 == 0))
"""Whether each year 0-9999 is a leap year (proleptic Gregorian)."""
_YEAR_START = _days_from_civil(_YEARS, np.ones_like(_YEARS), np.ones_like(_YEARS))
"""Days since 1970-01-01 of January 1st of each year 0-9999."""
_MONTH_START = np.array([0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], dtype=np.int64)
"""Days before each month (index 1-12) in a common year."""


def _civil_days(year: Int64Array, month: Int64Array, day: Int64Array) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
    """Days since 1970-01-01 of the dates with years 1-9999, and which are dates: table lookups, no division (any
    year from four digit positions, month from two: out-of-range values are refused, and clipped for the lookups)."""
    ok = (year >= 1) & (year <= 9999) & (month >= 1) & (month <= 12) & (day >= 1)
    year, month = np.clip(year, 0, 9999), np.clip(month, 0, 12)
    leap = _LEAP[year]
    ok &= day <= _MONTH_DAYS[month] + (leap & (month == 2))
    return _YEAR_START[year] + _MONTH_START[month] + (leap & (month > 2)) + day - 1, ok


def _number(
    grid: npt.NDArray[np.uint8], digits: Int64Array, is_digit: npt.NDArray[np.bool_]
) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
    """Unsigned decimal numbers (``123``, ``123.45``, ``.5``, ``5.``) of one width as microseconds; which rows are."""
    width = grid.shape[1]
    dots = grid == ord(".")
    others = ~is_digit & ~dots
    dot_count = dots.sum(axis=1)
    point = np.where(dot_count == 1, dots.argmax(axis=1), width)
    ok = ~others.any(axis=1) & (dot_count <= 1) & (point <= _NUMBER_DIGITS) & (is_digit.sum(axis=1) >= 1)
    column = np.arange(width)
    whole_exp = point[:, None] - 1 - column
    frac_exp = 6 - (column - point[:, None])
    whole = np.where((whole_exp >= 0) & is_digit, digits * _POW10[np.clip(whole_exp, 0, 18)], 0).sum(axis=1)
    frac = np.where((frac_exp >= 0) & (frac_exp <= 5) & is_digit, digits * _POW10[np.clip(frac_exp, 0, 18)], 0)
    return whole * MICROS + frac.sum(axis=1), ok


def _iso(
    grid: npt.NDArray[np.uint8], digits: Int64Array, is_digit: npt.NDArray[np.bool_]
) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
    """``YYYY-MM-DD[T ]HH:MM:SS[.f+][Z|+HH:MM|-HH:MM]`` of one width as microseconds, and which rows are."""
    rows, width = grid.shape
    ok = (
        is_digit[:, _DIGITS].all(axis=1)
        & (grid[:, 4] == ord("-"))
        & (grid[:, 7] == ord("-"))
        & ((grid[:, 10] == ord("T")) | (grid[:, 10] == ord(" ")))
        & (grid[:, 13] == ord(":"))
        & (grid[:, 16] == ord(":"))
    )
    d = digits[:, :19].T.astype(np.int32)  # one contiguous row per character position (all fit in int32)
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[5] * 10 + d[6]
    day = d[8] * 10 + d[9]
    hour, minute, second = (d[i] * 10 + d[i + 1] for i in (11, 14, 17))
    days, date_ok = _civil_days(year, month, day)
    ok &= date_ok & (hour <= 23) & (minute <= 59) & (second <= 59)
    micros = (days * 86400 + (hour * 3600 + minute * 60 + second)) * MICROS
    # the tail after the seconds: one of nothing, Z or +HH:MM/-HH:MM, after an optional .fraction
    tail_ok = np.zeros(rows, dtype=np.bool_)
    tail_us = np.zeros(rows, dtype=np.int64)
    for suffix in (0, 1, 6):
        fraction = width - 19 - suffix
        if fraction == 1 or fraction < 0:
            continue
        shape = np.ones(rows, dtype=np.bool_)
        value = np.zeros(rows, dtype=np.int64)
        if fraction:
            shape &= (grid[:, 19] == ord(".")) & is_digit[:, 20 : 20 + fraction - 1].all(axis=1)
            places = min(fraction - 1, 6)
            value += digits[:, 20 : 20 + places] @ _POW10[5::-1][:places]
        if suffix == 1:
            shape &= grid[:, width - 1] == ord("Z")
        elif suffix == 6:
            sign = grid[:, width - 6]
            off = digits[:, width - 5 :].astype(np.int64)
            hours, minutes = off[:, 0] * 10 + off[:, 1], off[:, 3] * 10 + off[:, 4]
            shape &= ((sign == ord("+")) | (sign == ord("-"))) & (grid[:, width - 3] == ord(":"))
            shape &= is_digit[:, [width - 5, width - 4, width - 2, width - 1]].all(axis=1)
            shape &= (hours <= 23) & (minutes <= 59)
            value -= np.where(sign == ord("+"), 1, -1) * (hours * 3600 + minutes * 60) * MICROS
        tail_ok |= shape
        tail_us = np.where(shape, value, tail_us)
    return micros + tail_us, ok & tail_ok


def parse_spans(
    data: npt.NDArray[np.uint8], begin: npt.ArrayLike, end: npt.ArrayLike
) -> tuple[Int64Array, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Parse ``created_at`` values stored as byte spans (``data[begin[i]:end[i]]``, UTF-8) without a string each.

    The common shapes are converted in numpy: ASCII ``YYYY-MM-DD[T ]HH:MM:SS``, with an optional ``.fraction`` and
    an optional ``Z`` or ``+HH:MM`` / ``-HH:MM``, and unsigned decimal epoch seconds. The rest is left to
    :func:`parse_time` by the caller (the ``taken`` mask says which).

    Parameters
    ----------
    data
        The bytes (a ``uint8`` array).
    begin, end
        Start and end offset of each value; an empty span is a missing time.

    Returns
    -------
    tuple
        ``(micros, present, taken)``: microseconds (0 where absent or not taken), which values are times, and which
        values the fast path decided (present or empty); the others need :func:`parse_time` on their text.
    """
    begin = np.asarray(begin, dtype=np.int64)
    length = np.asarray(end, dtype=np.int64) - begin
    n = begin.size
    micros = np.zeros(n, dtype=np.int64)
    present = np.zeros(n, dtype=np.bool_)
    taken = length == 0
    widths = np.bincount(np.clip(length, 0, _WIDEST + 1), minlength=_WIDEST + 2)
    for width in (np.flatnonzero(widths[1 : _WIDEST + 1]) + 1).tolist():
        same = np.flatnonzero(length == width)
        first = int(begin[0])
        block = None  # all the values back to back (joined strings): the grid is a view
        if same.size == n and data.size >= first + width * n and np.array_equal(begin, first + width * same):
            block = data[first : first + width * n].reshape(n, width)
        windows = sliding_window_view(data, width)  # row i: the width bytes from offset i (a view)
        words = _word_view(data) if width == _PLAIN_ISO and data.flags.c_contiguous else None
        for start in range(0, same.size, _CHUNK):
            rows = same[start : start + _CHUNK]
            value = np.zeros(rows.size, dtype=np.int64)
            ok = np.zeros(rows.size, dtype=np.bool_)
            if words is not None:  # the usual YYYY-MM-DD[T ]HH:MM:SS from three 8-byte words a value
                value, ok = _plain_iso(words, begin[rows])
            other = np.flatnonzero(~ok)
            if other.size:
                grid = block[rows[other]] if block is not None else windows[begin[rows[other]]]
                value[other], ok[other] = _grid_times(grid, width)
            ok &= (value >= _MIN_US) & (value <= _MAX_US)
            micros[rows[ok]] = value[ok]
            present[rows[ok]] = True
            taken[rows[ok]] = True
    return micros, present, taken


def _grid_times(grid: npt.NDArray[np.uint8], width: int) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
    """The values of one width (one row of bytes each) as microseconds, and which rows are times."""
    digits = grid - np.uint8(ord("0"))  # wraps around below "0": only 0-9 are digits
    is_digit = digits <= 9
    value = np.zeros(grid.shape[0], dtype=np.int64)
    ok = np.zeros(grid.shape[0], dtype=np.bool_)
    if width >= 19:
        value, ok = _iso(grid, digits, is_digit)
    rest = np.flatnonzero(~ok) if width <= 20 else np.zeros(0, dtype=np.intp)
    if rest.size:
        value[rest], ok[rest] = _number(grid[rest], digits[rest], is_digit[rest])
    return value, ok


_PLAIN_ISO = 19
"""Width of ``YYYY-MM-DD[T ]HH:MM:SS``, the shape :func:`_plain_iso` reads as words."""


def _lanes(pattern: bytes, wanted: str) -> tuple[np.uint64, np.uint64]:
    """For an 8-byte ``pattern`` and the positions to check (``wanted[i] != "."``): the mask of those bytes and
    ``pattern``'s bytes there, as little-endian words."""
    mask = sum(0xFF << (8 * i) for i, c in enumerate(wanted) if c != ".")
    return np.uint64(mask), np.uint64(int.from_bytes(pattern, "little") & mask)


# "YYYY-MM-" / "DDTHH:MM" / "HH:MM:SS" (bytes 0-7, 8-15, 11-18): digit positions (high nibble 3, low 0-9) and
# separators
_DIGIT_LANES = tuple(_lanes(b"\x30" * 8, wanted)[0] for wanted in ("dddd.dd.", "dd.dd.dd", "......dd"))
_SEPARATORS = tuple(
    _lanes(pattern, wanted)
    for pattern, wanted in ((b"0000-00-", "....x..x"), (b"00T00:00", ".....x.."), (b"00:00:00", ".....x.."))
)
_DATE_TIME_GAP = _lanes(b"00T00000", "..x.....")
_SPACE_GAP = _lanes(b"00 00000", "..x.....")
_HIGH, _LOW, _SIX = np.uint64(0xF0F0F0F0F0F0F0F0), np.uint64(0x0F0F0F0F0F0F0F0F), np.uint64(0x0606060606060606)
_THIRTY = np.uint64(0x3030303030303030)


def _word_view(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """Every little-endian 8-byte word of ``data``, one per offset (overlapping; a view)."""
    return np.ndarray(shape=(max(data.size - 7, 0),), dtype="<u8", buffer=data, offset=0, strides=(1,))


def _plain_iso(words: npt.NDArray[np.uint64], at: Int64Array) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
    """``YYYY-MM-DD[T ]HH:MM:SS`` at the offsets ``at`` as microseconds, and which are (the rest: other shapes, or
    not dates); three word reads a value, the checks and the digit pairs done on all eight bytes at once."""
    parts = (words[at], words[at + 8], words[at + 11])
    ok = np.ones(at.size, dtype=np.bool_)
    pairs = []
    for word, lanes, (separator_mask, separators) in zip(parts, _DIGIT_LANES, _SEPARATORS, strict=True):
        digits = word & lanes
        ok &= (digits & _HIGH) == (_THIRTY & lanes)  # "0"-"?" ...
        ok &= ((digits + (_SIX & lanes)) & _HIGH) == (_THIRTY & lanes)  # ... and below ":" (no carry: 0x3F + 6)
        ok &= (word & separator_mask) == separators
        low = word & _LOW
        pairs.append(low * np.uint64(10) + (low >> np.uint64(8)))  # byte i: 10 * digit i + digit i + 1
    gap = parts[1] & _DATE_TIME_GAP[0]
    ok &= (gap == _DATE_TIME_GAP[1]) | (gap == _SPACE_GAP[1])
    date, clock, seconds = (pair.astype(np.int64) for pair in pairs)
    year = (date & 0xFF) * 100 + ((date >> 16) & 0xFF)
    month = (date >> 40) & 0xFF
    day = clock & 0xFF
    hour, minute, second = (clock >> 24) & 0xFF, (clock >> 48) & 0xFF, (seconds >> 48) & 0xFF
    days, date_ok = _civil_days(year, month, day)
    ok &= date_ok & (hour <= 23) & (minute <= 59) & (second <= 59)
    return (days * 86400 + hour * 3600 + minute * 60 + second) * MICROS, ok


def _string_spans(values: Sequence[str]) -> tuple[npt.NDArray[np.uint8], Int64Array, Int64Array] | None:
    """The ASCII strings ``values`` as one byte buffer and spans, or ``None`` when one is not ASCII."""
    joined = "".join(values)
    if not joined.isascii():
        return None
    length = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    end = np.cumsum(length)
    return np.frombuffer(joined.encode("ascii"), dtype=np.uint8), end - length, end


def parse_times(values: Sequence[Any]) -> TimeColumn:
    """Parse a column of ``created_at`` values.

    Strings and integers in the common shapes are converted in numpy (:func:`parse_spans`); every other value goes
    through :func:`parse_time`, so the result and the messages are exactly those of :func:`parse_time`.

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
    taken = np.zeros(n, dtype=np.bool_)
    kinds = set(map(type, values))
    if kinds == {str}:
        _take_strings(values, np.arange(n), micros, present, taken)
    elif kinds:
        kind = np.fromiter(map(_KIND.get, map(type, values), repeat(0)), dtype=np.int8, count=n)
        strings = np.flatnonzero(kind == _KIND[str])
        if strings.size:
            _take_strings([values[i] for i in strings.tolist()], strings, micros, present, taken)
        taken[kind == _KIND[type(None)]] = True
        ints = np.flatnonzero(kind == _KIND[int])
        if ints.size:  # epoch seconds as JSON integers (Python ints of any size: compared before the cast)
            picked = [values[i] for i in ints.tolist()]
            try:
                seconds = np.array(picked, dtype=np.int64)
            except OverflowError:  # some beyond int64: those stay for parse_time (out of range)
                seconds = np.array([x if -(1 << 62) < x < 1 << 62 else 1 << 62 for x in picked], dtype=np.int64)
            fits = (seconds >= _MIN_US // MICROS) & (seconds <= _MAX_US // MICROS)
            rows = ints[fits]
            micros[rows] = seconds[fits] * MICROS
            present[rows] = taken[rows] = True
    errors: list[tuple[int, str]] = []
    for index in np.flatnonzero(~taken).tolist():
        try:
            parsed = parse_time(values[index])
        except _Unparseable as exc:
            errors.append((index, str(exc)))
            continue
        if parsed is not None:
            micros[index] = parsed
            present[index] = True
    return micros, present, errors


def _take_strings(
    strings: Sequence[str],
    rows: npt.NDArray[np.intp],
    micros: Int64Array,
    present: npt.NDArray[np.bool_],
    taken: npt.NDArray[np.bool_],
) -> None:
    """Fill ``micros``/``present``/``taken`` at ``rows`` for the strings the fast path decides."""
    spans = _string_spans(strings)
    if spans is None:  # a non-ASCII string somewhere: take the ASCII ones
        ascii_rows = np.flatnonzero(np.fromiter(map(str.isascii, strings), dtype=np.bool_, count=len(strings)))
        spans = _string_spans([strings[i] for i in ascii_rows.tolist()])
        assert spans is not None
        rows = rows[ascii_rows]
    got, there, decided = parse_spans(*spans)
    micros[rows] = got
    present[rows] = there
    taken[rows] = decided


@dataclass(frozen=True, slots=True)
class ParsedTimes:
    """A ``created_at`` column parsed once, when it is read (:mod:`sockpuppet.loaders`): no string per value.

    Unparseable values are kept with :func:`parse_time`'s message, not raised: only a signal that needs the record
    makes them an error (with its location).

    Attributes
    ----------
    micros
        ``int64`` microseconds (0 where absent or unparseable).
    present
        Which values are times.
    invalid
        Row -> ``(raw value, message)`` of each unparseable value.
    """

    micros: Int64Array
    present: npt.NDArray[np.bool_]
    invalid: dict[int, tuple[Any, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.micros.size)

    @classmethod
    def parse(cls, values: Sequence[Any]) -> ParsedTimes:
        """Parse raw values (:func:`parse_times`)."""
        micros, present, errors = parse_times(values)
        return cls(micros, present, {row: (values[row], message) for row, message in errors})

    @classmethod
    def from_spans(
        cls,
        data: npt.NDArray[np.uint8],
        begin: Int64Array,
        end: Int64Array,
        texts: Callable[[npt.NDArray[np.intp]], list[Any]],
    ) -> ParsedTimes:
        """Parse values held as byte spans (:func:`parse_spans`); ``texts(rows)`` gives the decoded values of the
        rows the fast path leaves (``None`` for an empty one) for :func:`parse_time`."""
        micros, present, taken = parse_spans(data, begin, end)
        invalid: dict[int, tuple[Any, str]] = {}
        rest = np.flatnonzero(~taken)
        if rest.size:
            for row, text in zip(rest.tolist(), texts(rest), strict=True):
                try:
                    parsed = parse_time(text)
                except _Unparseable as exc:
                    invalid[row] = (text, str(exc))
                    continue
                if parsed is not None:
                    micros[row] = parsed
                    present[row] = True
        return cls(micros, present, invalid)

    @classmethod
    def concat(cls, parts: Sequence[ParsedTimes]) -> ParsedTimes:
        """The parts one after the other."""
        invalid: dict[int, tuple[Any, str]] = {}
        offset = 0
        for part in parts:
            invalid.update((row + offset, problem) for row, problem in part.invalid.items())
            offset += len(part)
        if not parts:
            return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_), invalid)
        return cls(
            np.concatenate([part.micros for part in parts]), np.concatenate([part.present for part in parts]), invalid
        )

    def take(self, rows: npt.ArrayLike) -> TimeColumn:
        """``(micros, present, errors)`` of ``rows``, as :func:`parse_times` gives them for those values."""
        rows = np.asarray(rows, dtype=np.intp)
        errors: list[tuple[int, str]] = []
        if self.invalid:
            hit = np.flatnonzero(np.isin(rows, np.fromiter(self.invalid, dtype=np.intp, count=len(self.invalid))))
            errors = [(i, self.invalid[row][1]) for i, row in zip(hit.tolist(), rows[hit].tolist(), strict=True)]
        return self.micros[rows], self.present[rows], errors

    def values(self) -> list[Any]:
        """The values as ISO 8601 UTC strings (:func:`format_time`), ``None`` where absent, the raw unparseable ones."""
        out = np.full(len(self), None, dtype=object)
        rows = np.flatnonzero(self.present)
        out[rows] = format_times(self.micros[rows])
        for row, (raw, _) in self.invalid.items():
            out[row] = raw
        return out.tolist()


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


_DISTINCT_FROM = 4096
"""From this many values on, :func:`format_times` formats each distinct value once when values repeat."""


def format_times(micros: npt.ArrayLike) -> list[str]:
    """:func:`format_time` of every value, in numpy (each distinct value formatted once when many repeat)."""
    values = np.asarray(micros, dtype=np.int64)
    if values.size >= _DISTINCT_FROM:
        ordered = np.sort(values)
        first = np.ones(ordered.size, dtype=np.bool_)
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
        distinct = ordered[first]
        if 2 * distinct.size <= values.size:
            texts = np.empty(distinct.size, dtype=object)
            texts[:] = _format_times(distinct)
            return texts[np.searchsorted(distinct, values)].tolist()
    return _format_times(values)


def _format_times(values: npt.NDArray[np.int64]) -> list[str]:
    moments = values.astype("datetime64[us]")
    whole = np.char.add(np.datetime_as_string(moments, unit="s"), "Z")
    fraction = np.flatnonzero(moments.astype(np.int64) % MICROS)
    if fraction.size == 0:
        return whole.tolist()
    whole = whole.astype(object)
    whole[fraction] = np.char.add(np.datetime_as_string(moments[fraction], unit="us"), "Z")
    return whole.tolist()
