"""The deadline after the search: result building, serialisation, gzip and S3 calls check it at bounded steps.

No wall clock here: a fake clock (one tick per reading) shows *where* each loop checks the deadline and that it
stops at the first check past it; the S3 time budget is driven through the Lambda context's remaining time with
faults injected at the wire (an attempt that fails at once), so the number of attempts is exact. The bounds in
seconds (a hung S3, a million pairs through the local stack) are in ``tests/integration/test_deadline_bounds.py``.
"""

from __future__ import annotations

import gzip
import importlib
from dataclasses import replace
from types import ModuleType
from typing import Any

import orjson
import pytest
from botocore.exceptions import ReadTimeoutError

from sockpuppet import DeadlineExceeded, SimilarAccountsResult
from sockpuppet import job as job_module
from sockpuppet.engine import PairArrays
from sockpuppet.job import MatchedAccounts, build_result
from tests.api.conftest import TEST_ENV, FakeLambdaContext, invoke, load_event, upload_file, with_body
from tests.api.test_faults import assert_unavailable, by_upload, raising, result_keys, s3_fault

MARGIN_S = int(TEST_ENV["DEADLINE_MARGIN_MS"]) / 1000


class TickingClock:
    """``time`` stand-in whose ``monotonic()`` advances by one second at every reading."""

    def __init__(self) -> None:
        self.now = 0.0
        self.readings = 0

    def monotonic(self) -> float:
        self.readings += 1
        self.now += 1.0
        return self.now


@pytest.fixture
def service(api: ModuleType) -> ModuleType:
    return importlib.import_module("sockpuppet_api.service")


def result_with(pairs: int, *, id_length: int = 19, **extra: Any) -> SimilarAccountsResult:
    ids = [str(10 ** (id_length - 1) + i) for i in range(2 * pairs + 2)]
    return SimilarAccountsResult(
        similar_account_pairs=[(ids[2 * i], ids[2 * i + 1], 1 - i / (pairs + 1)) for i in range(pairs)],
        pair_count=pairs,
        hashtag="#diedsuddenly",
        min_similarity=0.0,
        accounts_matched=len(ids),
        authors_without_account=0,
        truncated=False,
        **extra,
    )


@pytest.mark.parametrize("pairs", [0, 1, 1023, 1024, 1025, 70_000])
def test_result_document_is_the_result_as_json_byte_for_byte(service: ModuleType, pairs: int) -> None:
    # GIVEN a result of `pairs` pairs (chunk boundaries around the first chunk of 1024) WHEN it becomes a document
    result = result_with(pairs)
    # THEN exactly orjson.dumps(result.to_dict()) (what the job's merge step stores)
    assert service.result_document(result, deadline=None) == orjson.dumps(result.to_dict())


def test_result_document_keeps_groups_and_a_hashtag_that_looks_like_the_pairs_member(service: ModuleType) -> None:
    # GIVEN groups and a hashtag whose text is the pairs member WHEN serialised THEN still byte for byte
    result = replace(result_with(3, groups=[["a", "b"]]), hashtag='#"similar_account_pairs":[]')
    assert service.result_document(result) == orjson.dumps(result.to_dict())


def test_result_document_checks_the_deadline_per_chunk(service: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 70k pairs of 60-character ids (several chunks of DOCUMENT_CHUNK_BYTES) and a clock ticking 1 s a reading
    clock = TickingClock()
    monkeypatch.setattr(service, "time", clock)
    # WHEN serialised with a deadline 2.5 ticks away THEN it stops at the third check, without finishing
    with pytest.raises(DeadlineExceeded, match="serialising the result"):
        service.result_document(result_with(70_000, id_length=60), deadline=2.5)
    assert clock.readings == 3
    # AND chunks hold about DOCUMENT_CHUNK_BYTES of JSON, whatever the id length (so a check is never far)
    clock = TickingClock()
    monkeypatch.setattr(service, "time", clock)
    document = service.result_document(result_with(70_000, id_length=60), deadline=1e9)
    assert clock.readings <= len(document) // service.DOCUMENT_CHUNK_BYTES + 4


def test_gzip_of_a_result_checks_the_deadline_per_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = importlib.import_module("sockpuppet_api.storage")
    data = orjson.dumps(result_with(200_000).to_dict())  # ~11 MB: several GZIP_PIECE_BYTES
    # GIVEN no deadline THEN gzip that decompresses to the data
    assert gzip.decompress(storage.gzip_by_pieces(data, None)) == data
    # GIVEN a clock ticking 1 s a reading and a deadline 3.5 ticks away THEN it stops at the fourth piece
    clock = TickingClock()
    monkeypatch.setattr(storage, "time", clock)
    with pytest.raises(DeadlineExceeded, match="compressing the result"):
        storage.gzip_by_pieces(data, deadline=3.5)
    assert clock.readings == 4 < len(data) // storage.GZIP_PIECE_BYTES


def test_building_a_result_checks_the_deadline_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 300k found pairs among 1000 accounts and a clock ticking 1 s a reading
    ids = [str(i) for i in range(1000)]
    matched = MatchedAccounts(
        ids=ids, names=ids, hashtag="#x", min_similarity=0.0, authors_without_account=0, signal_inputs=None
    )
    found = PairArrays([i % 999 for i in range(300_000)], [999] * 300_000, [0.5] * 300_000)
    clock = TickingClock()
    monkeypatch.setattr(job_module, "time", clock)
    # WHEN the result is built with a deadline 1.5 ticks away THEN it stops at the second chunk
    with pytest.raises(DeadlineExceeded, match="result was built"):
        build_result(matched, found, deadline=1.5)
    assert clock.readings == 2 < 300_000 // job_module.RESULT_CHUNK_PAIRS
    # AND without a deadline the pairs are the ids of the index pairs, in order
    built = build_result(matched, found)
    assert built.similar_account_pairs[:2] == [("0", "999", 0.5), ("1", "999", 0.5)]
    assert len(built.similar_account_pairs) == 300_000


def context_with(seconds_past_margin: float) -> FakeLambdaContext:
    """A Lambda context whose work deadline (remaining time minus DEADLINE_MARGIN_MS) is this many seconds away."""
    return FakeLambdaContext(remaining_ms=int((MARGIN_S + seconds_past_margin) * 1000))


@pytest.mark.parametrize(
    ("seconds", "attempts"),
    [
        (29.0, 3),  # room for botocore's two retries
        (2.0, 1),  # room for one attempt (deadline + grace - 3 s worst case), not for a retry after its backoff
    ],
)
def test_s3_retries_stop_when_the_time_budget_cannot_hold_another_attempt(
    api: ModuleType, uploads: dict[str, str], seconds: float, attempts: int
) -> None:
    # GIVEN every GetObject attempt timing out at once, and a work deadline `seconds` away
    timeout = ReadTimeoutError(endpoint_url="https://s3.amazonaws.com")
    with s3_fault(api, "GetObject", raising(timeout)) as sent:
        result = invoke(api, by_upload(uploads), context_with(seconds))
    # THEN the attempts that fit in the budget, then 503 + Retry-After (an S3 fault stays an S3 fault)
    assert_unavailable(result)
    assert len(sent) == attempts


def test_no_time_for_even_one_s3_attempt_is_504_pointing_at_jobs(api: ModuleType, uploads: dict[str, str]) -> None:
    # GIVEN a work deadline 1 s away: deadline + grace leaves less than one attempt's worst case
    with s3_fault(api, "GetObject", raising(ReadTimeoutError(endpoint_url="https://s3.amazonaws.com"))) as sent:
        result = invoke(api, by_upload(uploads), context_with(1.0))
    # THEN the contract's 504 without any attempt, its message pointing at POST /v1/jobs
    assert result.status == 504 and sent == []
    error = result.json()["error"]
    assert error["code"] == "deadline_exceeded" and "POST /v1/jobs" in error["message"]


def test_result_write_without_time_left_is_504_and_stores_nothing(
    api: ModuleType, s3: Any, inline: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    # GIVEN a URL delivery of a small job with its work deadline 1 s away: the job fits, a PutObject attempt does not
    event, body = inline
    # WHEN invoked THEN 504 and nothing under results/
    result = invoke(api, with_body(event, {**body, "result_delivery": "url"}), context_with(1.0))
    assert result.status == 504 and result.json()["error"]["code"] == "deadline_exceeded"
    assert result_keys(s3) == []


def test_a_result_document_over_the_memory_cap_is_413(service: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a cap of 64 kB on the document (400 MB in the function) WHEN 10k pairs are serialised THEN 413
    monkeypatch.setattr(service, "MAX_DOCUMENT_BYTES", 64_000)
    with pytest.raises(service.PayloadTooLarge) as too_large:
        service.result_document(result_with(10_000))
    assert too_large.value.code == "result_too_large"
    # AND a document under the cap is built
    assert service.result_document(result_with(100)) == orjson.dumps(result_with(100).to_dict())


def test_a_json_array_upload_decompressing_past_the_parse_limit_is_413(api: ModuleType, s3: Any) -> None:
    # GIVEN a gzip JSON-array posts upload (parsed whole) of more than MAX_DECODED_BODY_BYTES once decompressed
    post = {"author_id": "1", "is_repost": False, "hashtags": ["#diedsuddenly"], "text": "x" * 200}
    content = orjson.dumps([post] * (int(TEST_ENV["MAX_DECODED_BODY_BYTES"]) // 250 + 1))
    create = with_body(load_event("create_upload"), {"kind": "posts", "format": "json", "content_encoding": "gzip"})
    upload_id = upload_file(api, create, gzip.compress(content))
    request = {"posts_upload_id": upload_id, "accounts": [], "hashtag": "#diedsuddenly"}
    # WHEN a job reads it THEN 413 upload_too_large at the upload id, pointing at the streamed formats
    result = invoke(api, with_body(load_event("post_pairs_uploads"), request))
    assert result.status == 413
    error = result.json()["error"]
    assert error["code"] == "upload_too_large" and "JSON Lines or TSV" in error["message"]
    assert error["details"][0]["loc"] == ["body", "posts_upload_id"]
