"""``sockpuppet_api.service`` without HTTP: what the jobs routes use to validate a request like the sync route."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

from sockpuppet import InputError
from sockpuppet_api.storage import UploadNotFound
from tests.api.conftest import TEST_ENV, event_body, load_event
from tests.api.test_security import ALICE, BOB, upload


@pytest.fixture
def service(api: ModuleType, s3: Any) -> ModuleType:
    """The service module of the imported app, its store backed by moto."""
    return importlib.import_module("sockpuppet_api.service")


def pairs_request(body: dict[str, Any]) -> Any:
    """A validated ``PairsRequest`` (the models module is imported with the app's configuration set)."""
    return importlib.import_module("sockpuppet_api.models").PairsRequest.model_validate(body)


def inline_body() -> dict[str, Any]:
    return event_body(load_event("post_pairs_inline"))


def test_job_request_resolves_uploads_to_keys_and_keeps_inline_records(service: ModuleType, api: ModuleType) -> None:
    # GIVEN Alice's posts upload and inline accounts
    body = inline_body()
    posts_id = upload(api, ALICE, "posts", body["posts"])
    request = pairs_request({"posts_upload_id": posts_id, "accounts": body["accounts"], "hashtag": body["hashtag"]})
    # WHEN the job request is made for Alice
    document = service.job_request(request, owner=ALICE)
    # THEN the upload id became its S3 key, the accounts stay inline, every parameter is filled in
    assert document == {
        "posts_upload_key": service.store.upload_key(ALICE, posts_id),
        "accounts": body["accounts"],
        "hashtag": body["hashtag"],
        "min_similarity": 0.8,
        "hashtag_match": "exact",
        "max_pairs": int(TEST_ENV["MAX_PAIRS"]),
        "result_delivery": "auto",
    }


def test_job_request_checks_owner_and_kind(service: ModuleType, api: ModuleType) -> None:
    # GIVEN Alice's posts upload
    body = inline_body()
    posts_id = upload(api, ALICE, "posts", body["posts"])
    as_posts = pairs_request({"posts_upload_id": posts_id, "accounts": body["accounts"], "hashtag": "x"})
    as_accounts = pairs_request({"posts": body["posts"], "accounts_upload_id": posts_id, "hashtag": "x"})
    # WHEN Bob names it THEN not found, located where he named it
    with pytest.raises(UploadNotFound) as missing:
        service.job_request(as_posts, owner=BOB)
    assert missing.value.loc == ["body", "posts_upload_id"]
    # AND naming it as accounts is a located input error
    with pytest.raises(InputError) as wrong_kind:
        service.job_request(as_accounts, owner=ALICE)
    assert wrong_kind.value.details[0]["loc"] == ["body", "accounts_upload_id"]
    assert "created for posts records" in wrong_kind.value.message
