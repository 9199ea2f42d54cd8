"""The pairs request's inline records decoded straight into columns, for the usual request shape.

``POST /v1/similar-account-pairs`` mostly carries posts and accounts of one shape: string ids, boolean
``is_repost``, hashtags as lists of strings or null, and otherwise only the fields of the original TSV files.
:func:`decode_pairs_body` reads such a body with a typed msgspec decoder into
:class:`~sockpuppet.columns.PostColumns` / :class:`~sockpuppet.columns.AccountColumns` (no dict per record; the
values the library does not use are parsed and dropped): about 40 % less work than ``orjson.loads`` followed by
the library's own conversion to columns. It answers ``None`` for anything else, and the caller then parses the body
with orjson as before, so every other shape - and every invalid document - is read, validated and reported exactly
as without this path. The result is the same document either way:

* every value of the document is decoded by msgspec against a type (nothing is skipped, not even a duplicate key's
  earlier value): a value of another type, a field not listed here, a record that is not an object, or ``signals``
  makes it decline;
* what it accepts, orjson accepts, with the same values: strings under the same escape and UTF-8 rules, floats
  correctly rounded by both (a number beyond a double refused by both), integers only within int64 (orjson reads
  integers beyond uint64 as floats);
* the columns are what :meth:`PostColumns.from_records` / :meth:`AccountColumns.from_records` build from the same
  records without ``created_at`` (no signals asked), and records they would refuse (an empty id, an empty list)
  take the orjson path instead, which reports them.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import numpy as np

from sockpuppet import AccountColumns, PostColumns

__all__ = ["FIELDS", "decode_pairs_body"]


Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""Integers of int64, which orjson reads as ``int`` too (it reads integers beyond uint64 as floats; the decoder
declines anything beyond int64)."""


class _Post(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    author_id: str
    is_repost: bool
    hashtags: list[str] | None
    id: str | None = None
    created_at: str | None = None
    text: str | None = None


class _Account(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    id: str
    screen_name: str | None
    created_at: str | None = None


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    """A pairs request without ``signals`` (the parameters typed as the JSON values the request model takes)."""

    posts: list[_Post] | msgspec.UnsetType = msgspec.UNSET
    accounts: list[_Account] | msgspec.UnsetType = msgspec.UNSET
    posts_upload_id: str | msgspec.UnsetType = msgspec.UNSET
    accounts_upload_id: str | msgspec.UnsetType = msgspec.UNSET
    hashtag: str | msgspec.UnsetType = msgspec.UNSET
    min_similarity: Int64 | float | msgspec.UnsetType = msgspec.UNSET
    hashtag_match: str | msgspec.UnsetType = msgspec.UNSET
    max_pairs: Int64 | float | msgspec.UnsetType | None = msgspec.UNSET
    result_delivery: str | msgspec.UnsetType = msgspec.UNSET


FIELDS = {"posts": _Post.__struct_fields__, "accounts": _Account.__struct_fields__, "request": _Body.__struct_fields__}
"""The fields the decoder takes: of a post, of an account and of the request (any other makes it decline)."""
_PARAMETERS = tuple(name for name in _Body.__struct_fields__ if name not in ("posts", "accounts"))
_DECODER = msgspec.json.Decoder(_Body)


def decode_pairs_body(data: bytes) -> dict[str, Any] | None:
    """The pairs request body with its inline records as columns, or ``None`` when the body is not of the usual
    shape (then parse it with orjson: same validation and errors as ever).

    Parameters
    ----------
    data
        The decoded request body (JSON text).

    Returns
    -------
    dict or None
        The document as ``orjson.loads`` gives it, except that ``posts`` / ``accounts`` (when given inline) are
        :class:`~sockpuppet.columns.PostColumns` / :class:`~sockpuppet.columns.AccountColumns`.
    """
    try:
        body = _DECODER.decode(data)
    except msgspec.DecodeError:  # also msgspec.ValidationError: another type, field or shape
        return None
    document: dict[str, Any] = {
        name: value for name in _PARAMETERS if (value := getattr(body, name)) is not msgspec.UNSET
    }
    if body.posts is not msgspec.UNSET:
        posts = _post_columns(body.posts)
        if posts is None:
            return None
        document["posts"] = posts
    if body.accounts is not msgspec.UNSET:
        accounts = _account_columns(body.accounts)
        if accounts is None:
            return None
        document["accounts"] = accounts
    return document


def _post_columns(posts: list[_Post]) -> PostColumns | None:
    """What :meth:`PostColumns.from_records` builds from these records, or ``None`` where it would take its
    record-by-record path (an empty list, an empty author id)."""
    authors = [post.author_id for post in posts]
    if not authors or not all(authors):
        return None
    return PostColumns(
        authors,
        np.array([post.is_repost for post in posts], dtype=bool),
        [post.hashtags or None for post in posts],
    )


def _account_columns(accounts: list[_Account]) -> AccountColumns | None:
    """What :meth:`AccountColumns.from_records` builds from these records, or ``None`` (see :func:`_post_columns`)."""
    ids = [account.id for account in accounts]
    if not ids or not all(ids):
        return None
    return AccountColumns(ids, [account.screen_name for account in accounts])
