"""Hashtag normalisation and the "which accounts posted this hashtag" filter (question 1 of the exercise)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from sockpuppet.errors import InputError
from sockpuppet.records import PostRow

__all__ = ["HashtagMatch", "authors_with_hashtag", "get_hashtag_accounts", "normalize_hashtag"]

HashtagMatch = Literal["exact", "case_insensitive"]
_MATCHES = ("exact", "case_insensitive")


def normalize_hashtag(tag: Any) -> str:
    """Return ``tag`` with a leading ``#`` (``"diedsuddenly"`` -> ``"#diedsuddenly"``).

    Parameters
    ----------
    tag
        The hashtag, with or without its ``#``. Surrounding whitespace is removed.

    Returns
    -------
    str
        The hashtag starting with exactly the ``#`` the caller gave or one added.

    Raises
    ------
    InputError
        If ``tag`` is not a string, or is empty / whitespace / a lone ``#`` (loc ``["hashtag"]``).
    """
    if not isinstance(tag, str):
        raise InputError.at(("hashtag",), f"must be a string, got {type(tag).__name__}")
    tag = tag.strip()
    if not tag or tag == "#":
        raise InputError.at(("hashtag",), "must not be empty")
    if any(ch.isspace() for ch in tag):
        raise InputError.at(("hashtag",), "must not contain whitespace")
    return tag if tag.startswith("#") else f"#{tag}"


def authors_with_hashtag(rows: Iterable[PostRow], hashtag: str, *, match: HashtagMatch = "exact") -> list[str]:
    """Authors of non-repost posts carrying ``hashtag``, in first-seen order, each once.

    Parameters
    ----------
    rows
        Validated ``(author_id, is_repost, hashtags)`` rows (see :func:`sockpuppet.records.post_rows`).
    hashtag
        An already normalised hashtag (see :func:`normalize_hashtag`).
    match
        ``"exact"`` (the reference's case-sensitive membership test) or ``"case_insensitive"`` (``str.casefold``
        on both sides).

    Returns
    -------
    list of str
        Author ids.
    """
    if match == "exact":
        return list(dict.fromkeys(author for author, repost, tags in rows if not repost and tags and hashtag in tags))
    if match == "case_insensitive":
        folded = hashtag.casefold()
        return list(
            dict.fromkeys(
                author
                for author, repost, tags in rows
                if not repost and tags and any(tag.casefold() == folded for tag in tags)
            )
        )
    raise InputError.at(("hashtag_match",), f"must be one of {', '.join(_MATCHES)}, got {match!r}")


def get_hashtag_accounts(posts: list[dict], hashtag: str) -> list[str]:
    """From a set of posts, return the ids of all accounts that posted a hashtag (excluding reposts).

    A drop-in for the reference function of the original exercise: the same test on every post
    (``not post["is_repost"] and post["hashtags"] and hashtag in post["hashtags"]``, so the hashtag is taken
    literally: no ``#`` is added, an empty hashtag is not an error, and a string ``hashtags`` is tested with
    ``in`` as the reference does) and the same ids, each once as the reference's set keeps them. Only the order
    differs: first-seen order here (the reference returns a set's arbitrary order). The conveniences of the job
    (a ``#`` added, case folding, record validation, pipe-separated strings split) are in
    :func:`sockpuppet.find_similar_accounts`, the CLI and the API.

    Parameters
    ----------
    posts
        Post records: dicts with at least ``author_id``, ``is_repost`` and ``hashtags``.
    hashtag
        The hashtag by which to filter, exactly as it appears in the posts' hashtags.

    Returns
    -------
    list
        The ids (as given) of all accounts that posted ``hashtag`` in a non-repost post.
    """
    return list(
        dict.fromkeys(
            post["author_id"]
            for post in posts
            if not post["is_repost"] and post["hashtags"] and hashtag in post["hashtags"]
        )
    )
