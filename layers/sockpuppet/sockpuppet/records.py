"""Normalisation and validation of post and account records.

Records are dicts (JSON objects or TSV rows). Only the fields the job needs are required; everything else is
passed through untouched and ignored:

* posts need ``author_id``, ``is_repost`` and ``hashtags`` (``id``, ``created_at`` and ``text`` are optional);
* accounts need ``id`` and ``screen_name`` (``created_at`` is optional).

Accepted values (the contract's):

* ids: strings; integers are accepted and turned into strings; ``bool``, ``float`` and anything else are errors;
* ``is_repost``: ``True``/``False``, ``1``/``0`` (int), or the strings ``"true"``/``"false"`` (any case),
  ``"1"``/``"0"``;
* ``hashtags``: a list of strings, a pipe-separated string (``"#a|#b"``, as in the original ``posts.tsv``), or
  ``None`` / ``""`` / ``[]`` for none;
* ``screen_name``: a string or ``None``.

Error locations
---------------
Every problem is reported as ``{"loc": [...], "msg": ...}`` in :attr:`InputError.details` (at most
:data:`MAX_DETAILS` of them). In-memory lists use ``[kind, index, field]`` with a 0-based index, e.g.
``["posts", 3, "author_id"]``. The file loaders pass their own prefix: ``[kind, "line", n, field]`` with a
1-based physical line number for TSV and JSON Lines, and ``[kind, index, field]`` for JSON arrays.

The happy path takes each field of every record in one comprehension and checks the types of a whole column at
once (:func:`post_columns`, :func:`account_columns`: string ids, boolean ``is_repost``, the usual hashtag forms);
records of the other accepted forms go through one comprehension of per-value coercions, and only when that fails
are the records walked again slowly to collect every problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from sockpuppet.errors import InputError, Loc

__all__ = [
    "ACCOUNT_FIELDS",
    "MAX_DETAILS",
    "POST_FIELDS",
    "InvalidValue",
    "account_columns",
    "account_rows",
    "coerce_hashtags",
    "coerce_id",
    "coerce_is_repost",
    "coerce_screen_name",
    "normalize_accounts",
    "normalize_posts",
    "post_columns",
    "post_rows",
    "problems_error",
    "record_problems",
]

MAX_DETAILS = 20
"""Most problems reported in one :class:`InputError`."""

PostRow = tuple[str, bool, list[str] | None]
AccountRow = tuple[str, str | None]
LocOf = Callable[[int], Loc]

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
"""Integer ids are accepted in the signed 64-bit range the OpenAPI document declares (``format: int64``)."""
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class InvalidValue(ValueError):
    """A single field value that cannot be accepted (internal; turned into :class:`InputError` details)."""


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def coerce_id(value: Any) -> str:
    """Return an id as a string.

    Parameters
    ----------
    value
        A ``str`` (returned as is) or an ``int`` in the signed 64-bit range (stringified). ``bool`` and other types
        are rejected.

    Returns
    -------
    str
        The id.

    Raises
    ------
    InvalidValue
        If the value is not a non-empty string or a signed 64-bit integer.
    """
    if type(value) is str:
        if value:
            return value
        raise InvalidValue("must be a non-empty string")
    if type(value) is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            return str(value)
        raise InvalidValue("an integer id must fit in a signed 64-bit integer (send larger ids as strings)")
    raise InvalidValue(f"must be a string or an integer, got {_type_name(value)}")


def coerce_is_repost(value: Any) -> bool:
    """Return ``is_repost`` as a bool (accepts bools, 0/1 and ``"true"``/``"false"``/``"1"``/``"0"``)."""
    if value is True or value is False:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if type(value) is str:
        folded = value.strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise InvalidValue(f"must be a boolean (true/false/1/0), got {value!r}")
    raise InvalidValue(f"must be a boolean, got {_type_name(value)}")


def coerce_hashtags(value: Any) -> list[str] | None:
    """Return the hashtags as a list of strings, or ``None`` when there are none.

    A string is split on ``|`` exactly like the original exercise (``str.split('|')``), so ``"#a|#b"`` gives
    ``["#a", "#b"]``; ``None``, ``""`` and ``[]`` give ``None``.
    """
    if value is None:
        return None
    if type(value) is str:
        return value.split("|") if value else None
    if type(value) is list:
        if all(type(tag) is str for tag in value):
            return value or None
        raise InvalidValue("must be a list of strings")
    raise InvalidValue(f"must be a list of strings, a pipe-separated string or null, got {_type_name(value)}")


def coerce_screen_name(value: Any) -> str | None:
    """Return the screen name (a string or ``None``)."""
    if value is None or type(value) is str:
        return value
    raise InvalidValue(f"must be a string or null, got {_type_name(value)}")


POST_FIELDS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("author_id", coerce_id),
    ("is_repost", coerce_is_repost),
    ("hashtags", coerce_hashtags),
)
ACCOUNT_FIELDS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("id", coerce_id),
    ("screen_name", coerce_screen_name),
)


def _default_loc(kind: str) -> LocOf:
    return lambda index: (kind, index)


def _collect_errors(
    records: Sequence[Any],
    fields: tuple[tuple[str, Callable[[Any], Any]], ...],
    loc_of: LocOf,
    kind: str,
) -> InputError:
    """Walk the records slowly and describe up to :data:`MAX_DETAILS` problems."""
    details: list[dict[str, Any]] = []
    total = 0
    for index, record in enumerate(records):
        for loc, msg in record_problems(record, fields, loc_of(index)):
            total += 1
            if len(details) < MAX_DETAILS:
                details.append({"loc": loc, "msg": msg})
    if not details:  # pragma: no cover - the fast path only fails on a real problem
        return InputError(f"invalid {kind}", [{"loc": [kind], "msg": "invalid records"}])
    return problems_error(kind, details, total)


def problems_error(kind: str, details: list[dict[str, Any]], total: int) -> InputError:
    """The :class:`InputError` for ``total`` record problems of which ``details`` (at most :data:`MAX_DETAILS`) are
    described: its message names the first one and counts the others."""
    first = details[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {total - 1} more problem{'s' if total > 2 else ''})" if total > 1 else ""
    return InputError(f"invalid {kind}: {where}: {first['msg']}{more}", details)


def record_problems(
    record: Any, fields: tuple[tuple[str, Callable[[Any], Any]], ...], prefix: Loc
) -> Iterator[tuple[list[Any], str]]:
    """``(loc, msg)`` of every problem of one record (not an object, a field missing, a value refused)."""
    if not isinstance(record, dict):
        yield list(prefix), f"must be an object, got {_type_name(record)}"
        return
    for field, coerce in fields:
        if field not in record:
            yield [*prefix, field], "field required"
            continue
        try:
            coerce(record[field])
        except InvalidValue as exc:
            yield [*prefix, field], str(exc)


def _check_list(records: Any, kind: str) -> Sequence[Any]:
    if isinstance(records, (str, bytes, dict)) or not isinstance(records, Iterable):
        raise InputError.at((kind,), f"must be a list of objects, got {_type_name(records)}")
    return records if isinstance(records, Sequence) else list(records)


_NONE_TYPE = type(None)
_HASHTAG_TYPES = frozenset({list, str, _NONE_TYPE})


def post_columns(records: Sequence[Any]) -> tuple[list[str], list[bool], list[list[str] | None]] | None:
    """The ``author_id``, ``is_repost`` and ``hashtags`` columns of posts of the common forms, or ``None``.

    Each field is taken from every record in one comprehension and a column's types are checked at once: string
    ids (non-empty), boolean ``is_repost``, hashtags as lists of strings, strings or ``None``. The values are
    exactly what :func:`post_rows` gives for these records (hashtags coerced by :func:`coerce_hashtags`). ``None``
    when the list is empty or any record is of another form (integer ids, ``0``/``1`` or word ``is_repost``, a
    missing field, a non-object, an invalid value): :func:`post_rows` then coerces them one by one.
    """
    try:
        authors = [record["author_id"] for record in records]
        reposts = [record["is_repost"] for record in records]
        hashtags = [record["hashtags"] for record in records]
    except (KeyError, TypeError, AttributeError):
        return None
    if set(map(type, authors)) != {str} or not all(authors) or set(map(type, reposts)) != {bool}:
        return None
    kinds = set(map(type, hashtags))
    if not kinds <= _HASHTAG_TYPES:
        return None
    if list in kinds:
        lists = hashtags if len(kinds) == 1 else [tags for tags in hashtags if type(tags) is list]
        if not set(map(type, chain.from_iterable(lists))) <= {str}:
            return None
    if str in kinds:
        return authors, reposts, [tags.split("|") if type(tags) is str and tags else tags or None for tags in hashtags]
    return authors, reposts, [tags or None for tags in hashtags]


def account_columns(records: Sequence[Any]) -> tuple[list[str], list[str | None]] | None:
    """The ``id`` and ``screen_name`` columns of accounts with non-empty string ids and string or ``None`` names
    (exactly what :func:`account_rows` gives for them), or ``None`` for an empty list or any other record (see
    :func:`post_columns`)."""
    try:
        ids = [record["id"] for record in records]
        names = [record["screen_name"] for record in records]
    except (KeyError, TypeError, AttributeError):
        return None
    if set(map(type, ids)) != {str} or not all(ids) or not set(map(type, names)) <= {str, _NONE_TYPE}:
        return None
    return ids, names


def post_rows(records: Iterable[dict[str, Any]], *, kind: str = "posts", loc_of: LocOf | None = None) -> list[PostRow]:
    """Validate posts and return compact ``(author_id, is_repost, hashtags)`` rows.

    Parameters
    ----------
    records
        Post records (dicts).
    kind
        First element of error locations.
    loc_of
        Maps a record's position to its location prefix; default ``(kind, index)``.

    Returns
    -------
    list of tuple
        One ``(author_id: str, is_repost: bool, hashtags: list[str] | None)`` per record, in input order.

    Raises
    ------
    InputError
        Naming every problem (up to :data:`MAX_DETAILS`) by record location and field.
    """
    seq = _check_list(records, kind)
    columns = post_columns(seq)
    if columns is not None:
        return list(zip(*columns, strict=True))
    try:
        return [
            (coerce_id(p["author_id"]), coerce_is_repost(p["is_repost"]), coerce_hashtags(p["hashtags"])) for p in seq
        ]
    except (InvalidValue, KeyError, TypeError, AttributeError):
        raise _collect_errors(seq, POST_FIELDS, loc_of or _default_loc(kind), kind) from None


def account_rows(
    records: Iterable[dict[str, Any]], *, kind: str = "accounts", loc_of: LocOf | None = None
) -> list[AccountRow]:
    """Validate accounts and return compact ``(id, screen_name)`` rows.

    Parameters
    ----------
    records
        Account records (dicts).
    kind
        First element of error locations.
    loc_of
        Maps a record's position to its location prefix; default ``(kind, index)``.

    Returns
    -------
    list of tuple
        One ``(id: str, screen_name: str | None)`` per record, in input order (duplicates kept).

    Raises
    ------
    InputError
        Naming every problem (up to :data:`MAX_DETAILS`) by record location and field.
    """
    seq = _check_list(records, kind)
    columns = account_columns(seq)
    if columns is not None:
        return list(zip(*columns, strict=True))
    try:
        return [(coerce_id(a["id"]), coerce_screen_name(a["screen_name"])) for a in seq]
    except (InvalidValue, KeyError, TypeError, AttributeError):
        raise _collect_errors(seq, ACCOUNT_FIELDS, loc_of or _default_loc(kind), kind) from None


def normalize_posts(
    records: Iterable[dict[str, Any]], *, kind: str = "posts", loc_of: LocOf | None = None
) -> list[dict[str, Any]]:
    """Validate posts and return copies with ``author_id``, ``is_repost`` and ``hashtags`` normalised.

    Other fields are kept unchanged. See :func:`post_rows` for the parameters and errors.
    """
    seq = _check_list(records, kind)
    rows = post_rows(seq, kind=kind, loc_of=loc_of)
    return [
        {**record, "author_id": author, "is_repost": repost, "hashtags": tags}
        for record, (author, repost, tags) in zip(seq, rows, strict=True)
    ]


def normalize_accounts(
    records: Iterable[dict[str, Any]], *, kind: str = "accounts", loc_of: LocOf | None = None
) -> list[dict[str, Any]]:
    """Validate accounts and return copies with ``id`` and ``screen_name`` normalised.

    Other fields are kept unchanged. See :func:`account_rows` for the parameters and errors.
    """
    seq = _check_list(records, kind)
    rows = account_rows(seq, kind=kind, loc_of=loc_of)
    return [{**record, "id": ident, "screen_name": name} for record, (ident, name) in zip(seq, rows, strict=True)]
