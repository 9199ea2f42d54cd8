"""``created_at`` parsing: the numpy fast paths (:func:`parse_times`, :func:`parse_spans`, :func:`format_times`)
against the one-value parser and an independent oracle (``datetime.fromisoformat`` / ``Fraction``)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sockpuppet.times import MICROS, format_time, format_times, parse_spans, parse_time, parse_times
from tests.signals_oracle import oracle_time

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LOW = datetime(1, 1, 2, tzinfo=UTC)
HIGH = datetime(9999, 12, 30, tzinfo=UTC)

instants = st.one_of(
    st.datetimes(min_value=LOW.replace(tzinfo=None), max_value=HIGH.replace(tzinfo=None)),
    # near the edges the fast path's calendar arithmetic has to get right: leap days, month and year ends
    st.builds(
        lambda year, month, day, second: datetime(year, month, 1) + timedelta(days=day - 1, seconds=second),
        st.sampled_from([2, 4, 100, 1600, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 9998]),
        st.integers(1, 12),
        st.sampled_from([1, 28, 29, 30, 31]),
        st.sampled_from([0, 1, 59, 86399]),
    ),
)


def micros_of(moment: datetime) -> int:
    return (moment.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)


@st.composite
def renderings(draw: st.DrawFn) -> tuple[Any, int]:
    """One instant in one of the accepted spellings, with its microseconds (the spelling's own resolution)."""
    moment = draw(instants)
    style = draw(st.sampled_from(["iso", "iso", "iso", "epoch_int", "epoch_str", "epoch_decimal"]))
    if style == "iso":
        sep = draw(st.sampled_from(["T", " "]))
        seconds = draw(st.booleans()) or moment.second or moment.microsecond
        digits = draw(st.integers(0, 9)) if seconds else 0
        offset = draw(st.sampled_from(["", "Z", "+00:00", "+02:00", "-05:30", "+0130", "-07", "+23:59", "-23:59"]))
        sign = -1 if offset.startswith("-") else 1
        hours = int(offset[1:3]) if offset[1:3].isdigit() else 0
        minutes = int(offset[-2:]) if len(offset) > 3 else 0
        local = moment + sign * timedelta(hours=hours, minutes=minutes)
        if not LOW.replace(tzinfo=None) <= local <= HIGH.replace(tzinfo=None):
            local, offset, sign, hours, minutes = moment, "", 1, 0, 0
        text = f"{local.year:04d}-{local.month:02d}-{local.day:02d}{sep}{local.hour:02d}:{local.minute:02d}"
        if seconds:
            text += f":{local.second:02d}"
        fraction = f"{local.microsecond:06d}{draw(st.sampled_from(['', '000', '999']))}"[:digits]
        if digits:
            text += "." + fraction
        text += offset
        truncated = local.replace(microsecond=int(fraction[:6].ljust(6, "0")) if digits else 0)
        if not seconds:
            truncated = truncated.replace(second=0)
        return text, micros_of(truncated) - sign * (hours * 3600 + minutes * 60) * MICROS
    whole = micros_of(moment) // MICROS
    if style == "epoch_int":
        return whole, whole * MICROS
    if style == "epoch_str":
        return str(whole), whole * MICROS
    digits = draw(st.text("0123456789", min_size=1, max_size=9))
    text = f"{whole}.{digits}"
    return text, math.floor(Fraction(text) * MICROS)  # extra digits truncated towards minus infinity


def corrupt(text: str, data: st.DataObject) -> str:
    """A spelling with one character replaced, dropped or added (mostly no longer a time, sometimes another one)."""
    where = data.draw(st.integers(0, max(0, len(text) - 1)))
    char = data.draw(st.sampled_from(list("0123456789-: T.Z+xé٣")))
    action = data.draw(st.sampled_from(["replace", "drop", "insert"]))
    if action == "replace":
        return text[:where] + char + text[where + 1 :]
    if action == "drop":
        return text[:where] + text[where + 1 :]
    return text[:where] + char + text[where:]


def expected(value: Any) -> int | str | None:
    """The one-value parser's answer: microseconds, None, or its error message."""
    try:
        return parse_time(value)
    except ValueError as exc:
        return str(exc)


def column_answers(values: list[Any]) -> list[int | str | None]:
    micros, present, errors = parse_times(values)
    answers: list[int | str | None] = [int(m) if p else None for m, p in zip(micros, present, strict=True)]
    for index, message in errors:
        assert answers[index] is None
        answers[index] = message
    return answers


@settings(max_examples=300, deadline=None)
@given(st.lists(renderings(), min_size=1, max_size=30))
def test_every_accepted_spelling_is_its_instant(values: list[tuple[Any, int]]) -> None:
    # GIVEN instants written in every accepted spelling WHEN the column is parsed THEN each is its exact microsecond
    texts = [text for text, _ in values]
    assert column_answers(texts) == [micros for _, micros in values]
    # and the independent oracle (datetime.fromisoformat, Fraction) agrees with the spelling's instant
    assert [oracle_time(text) * MICROS for text in texts] == [micros for _, micros in values]


@settings(max_examples=300, deadline=None)
@given(st.data(), st.lists(renderings(), min_size=1, max_size=30))
def test_the_column_parser_equals_the_one_value_parser(data: st.DataObject, values: list[tuple[Any, int]]) -> None:
    # GIVEN a column mixing valid spellings, corrupted ones, missing values and other types
    column: list[Any] = []
    for text, _ in values:
        kind = data.draw(st.sampled_from(["keep", "keep", "corrupt", "none", "empty", "other"]))
        if kind == "corrupt" and type(text) is str:
            column.append(corrupt(text, data))
        elif kind == "none":
            column.append(None)
        elif kind == "empty":
            column.append("")
        elif kind == "other":
            column.append(data.draw(st.sampled_from([True, 1.5, float("nan"), 2**70, -(2**70), [], "1e3"])))
        else:
            column.append(text)
    # WHEN it is parsed as a column THEN every value, time, absence and error message equals parse_time's
    assert column_answers(column) == [expected(value) for value in column]


@settings(max_examples=200, deadline=None)
@given(st.data(), st.lists(renderings(), min_size=1, max_size=30))
def test_byte_spans_equal_the_one_value_parser(data: st.DataObject, values: list[tuple[Any, int]]) -> None:
    # GIVEN the values as UTF-8 bytes in one buffer with junk between them (as a TSV block holds them)
    texts = [str(text) for text, _ in values]
    texts = [corrupt(text, data) if data.draw(st.booleans()) else text for text in texts]
    buffer, begin, end = bytearray(), [], []
    for text in texts:
        buffer += b"\t\t"
        begin.append(len(buffer))
        buffer += text.encode()
        end.append(len(buffer))
    # WHEN the spans are parsed
    micros, present, taken = parse_spans(np.frombuffer(bytes(buffer), dtype=np.uint8), begin, end)
    # THEN what the fast path took equals parse_time, and it takes every plain ASCII time it is built for
    for text, got, there, took in zip(texts, micros.tolist(), present.tolist(), taken.tolist(), strict=True):
        if took:
            assert expected(text) == (got if there else None)
        fast_shape = text.isascii() and len(text) >= 19 and text[19:20] in ("", ".", "Z", "+", "-")
        if fast_shape and isinstance(expected(text), int) and text[16:17] == ":" and text[-3:-2] in (":", ".", "Z"):
            assert took


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            instants,
            st.sampled_from("T "),
            st.integers(0, 18),
            st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("é٣"),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_plain_iso_spans_with_any_one_character_replaced(values: list[tuple[datetime, str, int, str]]) -> None:
    # GIVEN YYYY-MM-DD[T ]HH:MM:SS values (the shape read as 8-byte words), each with one character replaced by any
    # printable one (often no longer a time, sometimes another one: a digit for a digit), in one buffer
    texts = [
        (text := instant.strftime(f"%Y-%m-%d{gap}%H:%M:%S").rjust(19, "0"))[:where] + char + text[where + 1 :]
        for instant, gap, where, char in values
    ]
    buffer = "\t".join(texts).encode()
    begin = np.cumsum([0] + [len(text.encode()) + 1 for text in texts[:-1]])
    end = begin + [len(text.encode()) for text in texts]
    # WHEN the spans are parsed
    micros, present, taken = parse_spans(np.frombuffer(buffer, dtype=np.uint8), begin, end)
    # THEN every value is taken exactly when it is a time, with parse_time's answer
    for text, got, there, took in zip(texts, micros.tolist(), present.tolist(), taken.tolist(), strict=True):
        answer = expected(text)
        if isinstance(answer, int) and text.isascii():
            assert took and there and got == answer
        elif took:
            assert answer == (got if there else None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(micros_of(LOW), micros_of(HIGH)), max_size=50))
def test_format_times_equals_format_time(values: list[int]) -> None:
    # GIVEN microsecond times, some whole seconds WHEN formatted in numpy THEN equal to the one-value formatter
    values += [v - v % MICROS for v in values]
    assert format_times(np.array(values, dtype=np.int64)) == [format_time(v) for v in values]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(micros_of(LOW), micros_of(HIGH)), min_size=1, max_size=20),
    st.integers(0, 2**32 - 1),
    st.integers(4096, 9000),
)
def test_format_times_of_many_repeated_values(distinct: list[int], seed: int, size: int) -> None:
    # GIVEN thousands of times drawn from a few distinct ones (with and without fractions), in random order
    distinct += [v - v % MICROS for v in distinct]
    values = np.random.default_rng(seed).choice(np.array(distinct, dtype=np.int64), size)
    # WHEN formatted (each distinct value once) THEN equal to the one-value formatter, value by value
    expected = {v: format_time(v) for v in distinct}
    assert format_times(values) == [expected[v] for v in values.tolist()]


def test_fixed_examples() -> None:
    # GIVEN the contract's spellings and the edges the fast path refuses WHEN parsed as a column THEN exact answers
    column = [
        "2023-12-01 12:34:56",
        "2023-12-01T12:34:56.123456789Z",
        "2023-12-01T12:34:56+02:00",
        "2023-12-01T12:34:56.5-01:30",
        "1701434096",
        "1701434096.25",
        1701434096,
        ".5",
        "5.",
        "2024-02-29T00:00:00",
        "0001-01-02T00:00:00",
    ]
    micros, present, errors = parse_times(column)
    assert errors == [] and present.all()
    assert micros.tolist() == [
        1701434096000000,
        1701434096123456,
        1701426896000000,
        1701439496500000,
        1701434096000000,
        1701434096250000,
        1701434096000000,
        500000,
        5000000,
        1709164800000000,
        -62135510400000000,
    ]
    bad = ["2023-02-29T00:00:00", "0000-01-01T00:00:00", "2023-12-01T12:34:60", "2023-12-01T12:34:56+24:00", "."]
    _, present, errors = parse_times(bad)
    assert not present.any() and [index for index, _ in errors] == [0, 1, 2, 3, 4]
    assert errors[0][1] == "is not a valid date and time (day is out of range for month)"
