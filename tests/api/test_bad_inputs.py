"""The bad-input corpus (``tests/corpus``) through the Lambda handler, in-process.

Every case is an HTTP API v2 event built from a template in ``events/`` with the corpus body and headers swapped
in, answered by ``sockpuppet_api.app.lambda_handler`` with S3 in moto. The expected answers are the contract's
(manifest); see ``tests/corpus/README.md`` for the list.
"""

from __future__ import annotations

import json
import re
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.api.conftest import invoke, load_event, with_body
from tests.corpus import (
    BAD_UPLOADS,
    CORPUS_DIR,
    BadUpload,
    CorpusCase,
    case_event,
    check_response,
    corpus_params,
    load_corpus,
    template_name,
)

CASES = load_corpus()


def corpus_event(case: CorpusCase) -> dict[str, Any]:
    """The event API Gateway would hand the function for ``case``, built on its template from ``events/``."""
    return case_event(case, load_event(template_name(case)))


@pytest.mark.parametrize("case", corpus_params(CASES))
def test_corpus_case_gets_its_contract_answer(api: ModuleType, s3: Any, case: CorpusCase) -> None:
    """GIVEN a corpus request WHEN the handler answers THEN status, code, message and body shape are the contract's."""
    event = corpus_event(case)

    result = invoke(api, event)

    document = check_response(case, result.status, result.headers, result.raw_body)
    assert result.headers.get("x-request-id") == f"corpus-{case.name}"
    if case.is_error:
        assert document is not None and document["request_id"] == f"corpus-{case.name}"


def _case(name: str) -> CorpusCase:
    return next(case for case in CASES if case.name == name)


def test_field_errors_point_at_the_record_and_field(api: ModuleType, s3: Any) -> None:
    """GIVEN a wrongly typed field in one record WHEN answered THEN details locate it as body.<kind>.<index>.<field>."""
    expectations = {
        "account_id_list": ["body", "accounts", 0, "id"],
        "is_repost_yes": ["body", "posts", 0, "is_repost"],
        "hashtags_number": ["body", "posts", 0, "hashtags"],
        "screen_name_object": ["body", "accounts", 0, "screen_name"],
        "post_missing_author_id": ["body", "posts", 0, "author_id"],
        "screen_name_too_long": ["body", "accounts", 0, "screen_name"],
    }
    for name, loc in expectations.items():
        result = invoke(api, corpus_event(_case(name)))

        locs = [detail["loc"] for detail in result.json()["error"]["details"]]
        assert loc in locs, (name, locs)


def test_garbage_array_reports_a_bounded_number_of_problems(api: ModuleType, s3: Any) -> None:
    """GIVEN 100k garbage posts WHEN answered THEN at most 20 details, all about posts (count limit or records)."""
    result = invoke(api, corpus_event(_case("garbage_array_100k")))

    details = result.json()["error"]["details"]
    assert 1 <= len(details) <= 20
    assert all(detail["loc"][:2] == ["body", "posts"] for detail in details)


def test_duplicate_keys_last_one_wins(api: ModuleType, s3: Any) -> None:
    """GIVEN a body with "hashtag" twice WHEN answered THEN the job ran for the last value (as every JSON parser)."""
    result = invoke(api, corpus_event(_case("duplicate_json_keys")))

    assert result.status == 200
    assert result.json()["hashtag"] == "#y"


def test_hashtag_without_hash_is_normalised(api: ModuleType, s3: Any) -> None:
    """GIVEN hashtag "x" WHEN answered THEN the job ran for "#x" and found the base body's pair."""
    control = invoke(api, corpus_event(_case("valid_baseline"))).json()

    result = invoke(api, corpus_event(_case("hashtag_without_hash"))).json()

    assert result["hashtag"] == "#x"
    assert result["similar_account_pairs"] == control["similar_account_pairs"]
    assert control["pair_count"] == 1


def test_post_hashtags_without_hash_do_not_match(api: ModuleType, s3: Any) -> None:
    """GIVEN the only post tagged "x" (no '#') WHEN searching "#x" THEN no account matches (reference semantics)."""
    result = invoke(api, corpus_event(_case("post_hashtags_without_hash"))).json()

    assert result["accounts_matched"] == 0
    assert result["similar_account_pairs"] == []


def test_readme_lists_every_case_and_every_file_is_used() -> None:
    """GIVEN the manifest WHEN compared with the README and files/ THEN nothing is undocumented or orphaned."""
    readme = (CORPUS_DIR / "README.md").read_text().split("## Cases", 1)[1]
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", readme, flags=re.MULTILINE))
    used = {case.file for case in CASES if case.file}
    on_disk = {f"files/{path.name}" for path in (CORPUS_DIR / "files").iterdir()}

    assert listed == {case.name for case in CASES}
    assert used == on_disk
    assert len({case.name for case in CASES}) == len(CASES)


def upload(api: ModuleType, kind: str, fmt: str, content_encoding: str | None, content: bytes) -> str:
    """``content`` uploaded through a presigned POST created by the handler; the upload id."""
    body = {"kind": kind, "format": fmt, "content_encoding": content_encoding}
    ticket = invoke(api, with_body(load_event("create_upload"), body)).json()
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("data", content)}, timeout=10)
    assert sent.status_code == 204
    return ticket["upload_id"]


@pytest.mark.parametrize("bad", BAD_UPLOADS, ids=[bad.name for bad in BAD_UPLOADS])
def test_unreadable_upload_is_422_at_its_upload_id(api: ModuleType, s3: Any, bad: BadUpload) -> None:
    """GIVEN an uploaded file the job cannot read WHEN a job names it THEN 422 located at posts_upload_id."""
    accounts = upload(api, "accounts", "json", None, json.dumps([{"id": "a1", "screen_name": "x"}]).encode())
    posts = upload(api, bad.kind, bad.format, bad.content_encoding, bad.content)
    body = {"posts_upload_id": posts, "accounts_upload_id": accounts, "hashtag": "#x"}

    result = invoke(api, with_body(load_event("post_pairs_uploads"), body))

    assert result.status == 422, result.raw_body
    error = result.json()["error"]
    assert error["code"] == "validation_error"
    assert bad.message_contains.lower() in error["message"].lower(), error["message"]
    assert all(detail["loc"][:2] == ["body", "posts_upload_id"] for detail in error["details"]), error["details"]
