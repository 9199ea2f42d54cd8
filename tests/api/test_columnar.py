"""The pairs route's columnar decoder (``sockpuppet_api.columnar``) against orjson plus the library's columns."""

from __future__ import annotations

import base64
import importlib
import json
from types import ModuleType
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from sockpuppet import AccountColumns, PostColumns
from tests.api.conftest import invoke, load_event, with_body

characters = st.characters(exclude_categories=["Cs"])  # no lone surrogates: they are not UTF-8 at all
ids = st.text(characters, min_size=1, max_size=6) | st.sampled_from(["1", "2", "3", "007", "\U0001f600", "a\\b"])
texts = st.text(characters, max_size=8) | st.sampled_from(["é", "\U0001f600", "tab\there", '"quoted"', "\x7f", "\x00"])
hashtags = st.sampled_from(["#a", "#b", "#A", "#mrna", "a"]) | st.text(characters, max_size=4)
usual_post = st.fixed_dictionaries(
    {
        "author_id": ids,
        "is_repost": st.booleans(),
        "hashtags": st.none() | st.lists(hashtags, max_size=3),
    },
    optional={"id": st.none() | ids, "created_at": st.none() | texts, "text": st.none() | texts},
)
usual_account = st.fixed_dictionaries(
    {"id": ids, "screen_name": st.none() | st.sampled_from(["anna", "anna1", "ben", "bne"]) | texts},
    optional={"created_at": st.none() | texts},
)
odd_values = st.sampled_from(
    [0, 1, 12345678901234567890, 1.5, 1e300, "", "0", "#a|#b", [], ["#a", 1], None, {}, True, "x" * 3]
)
odd_post = usual_post.flatmap(
    lambda post: st.sampled_from(["author_id", "is_repost", "hashtags", "id", "created_at", "text", "lang"]).flatmap(
        lambda field: odd_values.map(lambda value: {**post, field: value})
    )
)
odd_account = usual_account.flatmap(
    lambda account: st.sampled_from(["id", "screen_name", "created_at", "lang"]).flatmap(
        lambda field: odd_values.map(lambda value: {**account, field: value})
    )
)
others = st.fixed_dictionaries(
    {"hashtag": st.sampled_from(["#a", "a", "#mrna", "", "# x"]) | odd_values},
    optional={
        "min_similarity": st.sampled_from([0.0, 0.5, 0.8, 1, 2, "0.8"]),
        "hashtag_match": st.sampled_from(["exact", "case_insensitive", "other"]),
        "max_pairs": st.sampled_from([0, 1, 3.0, None, -1]),
        "result_delivery": st.sampled_from(["auto", "inline"]),
        "signals": st.sampled_from([None, {}, {"clusters": True}, {"co_hashtag": {}}, [], {"x": 1}]),
        "posts_upload_id": st.sampled_from(["a" * 22, "short"]),
        "min_similiarity": st.just(0.5),
    },
)


@st.composite
def usual_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies of the shape the decoder takes."""
    body = {
        "posts": draw(st.lists(usual_post, min_size=1, max_size=8)),
        "accounts": draw(st.lists(usual_account, min_size=1, max_size=8)),
        "hashtag": draw(st.sampled_from(["#a", "a", "#b", "#mrna"])),
    }
    if draw(st.booleans()):
        body["min_similarity"] = draw(st.sampled_from([0.0, 0.5, 0.8]))
    return body


@st.composite
def any_bodies(draw: st.DrawFn) -> Any:
    """Usual bodies, bodies with odd records or fields, and documents that are not a request at all."""
    body: dict[str, Any] = draw(others)
    for kind, usual, odd in (("posts", usual_post, odd_post), ("accounts", usual_account, odd_account)):
        choice = draw(st.sampled_from(["usual", "odd", "empty", "absent", "null", "not a list"]))
        if choice == "usual":
            body[kind] = draw(st.lists(usual, min_size=1, max_size=6))
        elif choice == "odd":
            body[kind] = draw(st.lists(usual | odd | odd_values, min_size=1, max_size=6))
        elif choice != "absent":
            body[kind] = {"empty": [], "null": None, "not a list": {"a": 1}}[choice]
    return draw(st.sampled_from([body, body, body, [body], "text", 1, None]))


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """JSON texts of any body, with duplicate keys, escapes, deep nesting or damage now and then."""
    body = draw(any_bodies())
    text = json.dumps(body, ensure_ascii=draw(st.booleans())).encode()
    action = draw(
        st.sampled_from(["none", "none", "none", "set", "cut", "insert", "duplicate", "deep", "huge", "utf8"])
    )
    if action == "set" and text:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1 :]
    elif action == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif action == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([b",", b" ", b"\\", b'"', b"\xff", b"\x0c", b"1e400"])) + text[at:]
    elif action == "duplicate" and text.startswith(b"{") and len(text) > 2:
        text = b'{"hashtag": "#first", "posts": [{"author_id": "9", "is_repost": false, "hashtags": []}], ' + text[1:]
    elif action in ("deep", "huge", "utf8") and text.startswith(b"{") and len(text) > 2:
        value = {"deep": b"[" * 1023 + b"]" * 1023, "huge": b"1e400", "utf8": b'"\xed\xa0\x80"'}[action]
        text = b'{"signals": ' + value + b", " + text[1:]
    return text


@pytest.fixture(scope="module")
def columnar(api: ModuleType) -> ModuleType:
    """``sockpuppet_api.columnar`` (it reads the function's settings: imported once the test environment is set)."""
    return importlib.import_module("sockpuppet_api.columnar")


def plain(document: Any) -> Any:
    """Columns as comparable tuples (numpy arrays as lists)."""
    if not isinstance(document, dict):
        return document
    out = dict(document)
    for kind, columns in (("posts", PostColumns), ("accounts", AccountColumns)):
        value = document.get(kind)
        if isinstance(value, columns):
            out[kind] = tuple(
                v.tolist() if hasattr(v, "tolist") else v for v in (getattr(value, f) for f in FIELDS[kind])
            )
    return out


FIELDS = {
    "posts": ("author_id", "is_repost", "hashtags", "created_at"),
    "accounts": ("id", "screen_name", "created_at"),
}


def expected(data: bytes) -> dict[str, Any]:
    """The oracle: orjson's document with the inline records as the library's columns (no signals: no times)."""
    document = orjson.loads(data)
    if "posts" in document:
        document["posts"] = PostColumns.from_records(document["posts"], created_at=False)
    if "accounts" in document:
        document["accounts"] = AccountColumns.from_records(document["accounts"], created_at=False)
    return document


@settings(max_examples=1500, deadline=None)
@given(data=documents())
def test_decoder_declines_or_equals_orjson_then_columns(columnar: ModuleType, data: bytes) -> None:
    # GIVEN any JSON text (usual and odd records, odd fields, non-objects, duplicate keys, damage, a deep value, a
    # number orjson cannot hold, a surrogate in UTF-8) WHEN decoded by the columnar decoder
    # THEN it declines, or orjson accepts the same text and the library builds the same columns from its records
    decoded = columnar.decode_pairs_body(data)
    note(repr(data))
    if decoded is not None:
        assert plain(decoded) == plain(expected(data))


@settings(max_examples=300, deadline=None)
@given(body=usual_bodies(), ensure_ascii=st.booleans())
def test_decoder_takes_the_usual_bodies(columnar: ModuleType, body: dict[str, Any], ensure_ascii: bool) -> None:
    # GIVEN a body of the usual shape WHEN decoded THEN columns (the decoder does not decline), equal to the oracle's
    data = json.dumps(body, ensure_ascii=ensure_ascii).encode()
    decoded = columnar.decode_pairs_body(data)
    assert decoded is not None
    assert isinstance(decoded["posts"], PostColumns)
    assert plain(decoded) == plain(expected(data))


def test_decoder_knows_every_request_field_but_signals(api: ModuleType, columnar: ModuleType) -> None:
    # GIVEN the request model WHEN compared with the decoder's fields THEN the same, but signals (which it declines)
    assert set(columnar.FIELDS["request"]) == set(api.PairsRequest.model_fields) - {"signals"}
    # GIVEN a body with every one of them WHEN decoded THEN all kept
    body = {
        "posts": [{"author_id": "1", "is_repost": False, "hashtags": None}],
        "accounts": [{"id": "1", "screen_name": "a"}],
        "posts_upload_id": "a" * 22,
        "accounts_upload_id": "b" * 22,
        "hashtag": "#a",
        "min_similarity": 0.5,
        "hashtag_match": "exact",
        "max_pairs": None,
        "result_delivery": "auto",
    }
    decoded = columnar.decode_pairs_body(orjson.dumps(body))
    assert decoded is not None
    assert set(decoded) == set(columnar.FIELDS["request"])
    # GIVEN signals, an empty list of records or an empty id WHEN decoded THEN declined (the orjson path reads them)
    for changed in (
        {"signals": None},
        {"accounts": []},
        {"posts": [{"author_id": "", "is_repost": False, "hashtags": None}]},
    ):
        assert columnar.decode_pairs_body(orjson.dumps(body | changed)) is None


@pytest.mark.usefixtures("s3")
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=documents() | usual_bodies().map(lambda body: json.dumps(body).encode()))
def test_route_answers_as_without_the_decoder(api: ModuleType, data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN any body sent to POST /v1/similar-account-pairs WHEN handled with and without the columnar decoder
    # THEN the same status and the same body (200 results, 400/413/415/422 errors alike)
    event = with_body(load_event("post_pairs_inline"), None)
    event["body"], event["isBase64Encoded"] = base64.b64encode(data).decode(), True
    fast = invoke(api, event)
    with monkeypatch.context() as patch:
        patch.setattr(api.app, "fast_decoders", {})
        slow = invoke(api, event)
    assert fast.status == slow.status
    assert comparable(fast.json()) == comparable(slow.json())


def comparable(document: Any) -> Any:
    """A response body without what differs between two calls (the result URL of an offloaded result)."""
    if isinstance(document, dict):
        return {key: value for key, value in document.items() if key not in ("result_url", "result_expires_at")}
    return document
