"""The optional ``signals`` of the synchronous route: the library's results, 422 located for bad times."""

from __future__ import annotations

from types import ModuleType

import pytest
import requests

from sockpuppet import find_similar_accounts
from tests.api.conftest import event_body, invoke, load_event, with_body

pytestmark = pytest.mark.usefixtures("s3")


def library_document(body: dict) -> dict:
    result = find_similar_accounts(
        body["posts"],
        body["accounts"],
        hashtag=body["hashtag"],
        min_similarity=body.get("min_similarity", 0.8),
        signals=body["signals"],
    )
    return result.to_dict()


def test_signals_equal_the_library(api: ModuleType) -> None:
    # GIVEN the committed signals event (all three signals) WHEN invoked
    event = load_event("post_pairs_signals")
    body = event_body(event)
    result = invoke(api, event)
    assert result.status == 200, result.raw_body
    answer = result.json()
    # THEN the document (inline or at result_url) holds exactly the library's signals, original fields unchanged
    document = answer if answer["result_url"] is None else requests.get(answer["result_url"], timeout=10).json()
    expected = library_document(body)
    for key in ("co_hashtag_pairs", "creation_bursts", "clusters", "similar_account_pairs", "pair_count"):
        assert document[key] == expected[key], key
    assert document["clusters"] and document["co_hashtag_pairs"]
    if answer["result_url"] is not None:  # the signals travel with the pairs, not in the pointer body
        assert answer["clusters"] is None and answer["co_hashtag_pairs"] is None


def test_only_the_asked_signals_appear(api: ModuleType) -> None:
    # GIVEN only creation_bursts asked, inline delivery WHEN invoked THEN only that field is added
    event = load_event("post_pairs_signals")
    body = {**event_body(event), "signals": {"creation_bursts": {"min_accounts": 2}}, "result_delivery": "inline"}
    answer = invoke(api, with_body(event, body))
    assert answer.status == 200, answer.raw_body
    document = answer.json()
    assert "creation_bursts" in document and "clusters" not in document and "co_hashtag_pairs" not in document
    assert document["creation_bursts"] == library_document(body)["creation_bursts"]
    # AND without signals the body is the plain one
    plain = invoke(api, with_body(event, {k: v for k, v in body.items() if k != "signals"})).json()
    assert not {"creation_bursts", "clusters", "co_hashtag_pairs"} & plain.keys()


def test_unparseable_created_at_is_422_at_its_location(api: ModuleType) -> None:
    # GIVEN a needed post time that is not a time WHEN invoked THEN 422 naming body.posts.<i>.created_at
    event = load_event("error_signals_created_at")
    body = event_body(event)
    bad = next(i for i, p in enumerate(body["posts"]) if p.get("created_at") == "yesterday")
    answer = invoke(api, event)
    assert answer.status == 422, answer.raw_body
    details = answer.json()["error"]["details"]
    assert details[0]["loc"] == ["body", "posts", bad, "created_at"]
    # AND the same records without signals are fine (nothing needs the time)
    plain = invoke(api, with_body(event, {k: v for k, v in body.items() if k != "signals"}))
    assert plain.status == 200


@pytest.mark.parametrize(
    ("signals", "loc"),
    [
        ({"co_hashtag": {"window_seconds": -1}}, ["body", "signals", "co_hashtag", "window_seconds"]),
        ({"co_hashtag": {"min_shared": 0}}, ["body", "signals", "co_hashtag", "min_shared"]),
        ({"creation_bursts": {"window_seconds": 0}}, ["body", "signals", "creation_bursts", "window_seconds"]),
        ({"creation_bursts": {"min_accounts": 1}}, ["body", "signals", "creation_bursts", "min_accounts"]),
        ({"clusters": "yes"}, ["body", "signals", "clusters"]),
        ({"other": True}, ["body", "signals", "other"]),
    ],
)
def test_invalid_signals_are_422(api: ModuleType, signals: dict, loc: list) -> None:
    event = load_event("post_pairs_signals")
    answer = invoke(api, with_body(event, {**event_body(event), "signals": signals}))
    assert answer.status == 422, answer.raw_body
    assert answer.json()["error"]["details"][0]["loc"] == loc


def test_openapi_documents_signals(api: ModuleType) -> None:
    document = invoke(api, load_event("get_openapi")).json()
    schemas = document["components"]["schemas"]
    assert "signals" in schemas["PairsRequest"]["properties"]
    assert {"co_hashtag_pairs", "creation_bursts", "clusters"} <= schemas["PairsResponse"]["properties"].keys()
