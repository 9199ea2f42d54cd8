"""``PayloadStore`` against moto S3: the presigned POST policy, streaming reads, results, S3 failures."""

from __future__ import annotations

import base64
import gzip
import io
import json
import time
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
import urllib3
from botocore.config import Config
from botocore.response import StreamingBody

from sockpuppet import DeadlineExceeded, InputError
from sockpuppet.loaders import read_records as load_records
from sockpuppet_api.storage import PayloadStore, StorageUnavailable, UploadNotFound, _S3Stream, owner_hash
from tests.api.conftest import TEST_ENV

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
TTL = 900


@pytest.fixture
def store(s3: Any) -> PayloadStore:
    return PayloadStore(
        s3, TEST_ENV["PAYLOAD_BUCKET"], upload_ttl_seconds=TTL, result_ttl_seconds=600, max_upload_bytes=1234
    )


def post_file(ticket: Any, content: bytes) -> None:
    sent = requests.post(ticket.url, data=ticket.fields, files={"file": ("data", content)}, timeout=10)
    assert sent.status_code == 204


def test_upload_policy_pins_key_type_size_and_expiry(store: PayloadStore) -> None:
    # GIVEN a new upload for alice's gzip JSON Lines posts
    before = datetime.now(UTC)
    ticket = store.create_upload(ALICE, kind="posts", fmt="jsonl", content_encoding="gzip")
    # WHEN its policy is decoded
    policy = json.loads(base64.b64decode(ticket.fields["policy"]))
    conditions = policy["conditions"]
    # THEN it pins the exact key under alice's hash, the content type, metadata and the size range, never starts-with
    key = f"uploads/{owner_hash(ALICE)}/{ticket.upload_id}"
    assert {"key": key} in conditions
    assert {"bucket": TEST_ENV["PAYLOAD_BUCKET"]} in conditions
    assert {"Content-Type": "application/x-ndjson"} in conditions
    assert {"x-amz-meta-kind": "posts"} in conditions
    assert {"x-amz-meta-format": "jsonl"} in conditions
    assert {"x-amz-meta-content-encoding": "gzip"} in conditions
    assert ["content-length-range", 1, 1234] in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)
    # AND it expires within the TTL
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert before < expiration <= before + timedelta(seconds=TTL + 1)
    assert abs((ticket.expires_at - expiration).total_seconds()) < 2
    assert ticket.max_bytes == 1234


def test_upload_ids_are_unguessable(store: PayloadStore) -> None:
    # GIVEN many uploads WHEN created THEN ids are distinct, URL-safe and carry at least 128 bits
    ids = {store.create_upload(ALICE, kind="accounts", fmt="json", content_encoding=None).upload_id for _ in range(50)}
    assert len(ids) == 50
    assert all(len(base64.urlsafe_b64decode(i + "=" * (-len(i) % 4))) * 8 >= 128 for i in ids)


@pytest.mark.parametrize(
    ("fmt", "encoding", "content"),
    [
        ("json", None, b'[{"id": 1, "screen_name": "a"}, {"id": "2", "screen_name": null, "extra": 3}]'),
        ("jsonl", "gzip", gzip.compress(b'{"id": 1, "screen_name": "a"}\n\n{"id": "2", "screen_name": null}\n')),
        ("jsonl", None, b'{"id": 1, "screen_name": "a"}\n' + b'{"id": "2", "screen_name": null}\n'),
        ("tsv", "gzip", gzip.compress(b"id\tcreated_at\tscreen_name\n1\t2020\ta\n2\t2021\t\n")),
    ],
    ids=["json", "jsonl-gzip", "jsonl", "tsv-gzip"],
)
def test_read_records_streams_each_format(store: PayloadStore, fmt: str, encoding: str | None, content: bytes) -> None:
    # GIVEN accounts uploaded through the presigned POST in a format/encoding
    ticket = store.create_upload(ALICE, kind="accounts", fmt=fmt, content_encoding=encoding)  # type: ignore[arg-type]
    post_file(ticket, content)
    # WHEN read back THEN the validated records, ids as strings
    records = store.read_records(ALICE, ticket.upload_id, kind="accounts")
    assert [(r["id"], r["screen_name"]) for r in records] == [("1", "a"), ("2", None)]


def test_long_jsonl_upload_is_read_line_by_line(s3: Any) -> None:
    # GIVEN a JSON Lines upload much longer than one network chunk WHEN read THEN every line is one record
    lines = b"".join(b'{"id": %d, "screen_name": "user_%d"}\n' % (i, i) for i in range(5000))
    store = PayloadStore(
        s3, TEST_ENV["PAYLOAD_BUCKET"], upload_ttl_seconds=TTL, result_ttl_seconds=600, max_upload_bytes=len(lines)
    )
    ticket = store.create_upload(ALICE, kind="accounts", fmt="jsonl", content_encoding=None)
    post_file(ticket, lines)
    records = store.read_records(ALICE, ticket.upload_id, kind="accounts")
    assert len(records) == 5000 and records[-1] == {"id": "4999", "screen_name": "user_4999"}


def test_foreign_unknown_and_unfinished_uploads_are_not_found(store: PayloadStore) -> None:
    # GIVEN alice's finished upload and an upload ticket that was never used
    ticket = store.create_upload(ALICE, kind="accounts", fmt="json", content_encoding=None)
    post_file(ticket, b"[]")
    unused = store.create_upload(ALICE, kind="accounts", fmt="json", content_encoding=None)
    # WHEN bob reads alice's id, or anyone reads an unknown or unfinished id THEN UploadNotFound
    for owner, upload_id in ((BOB, ticket.upload_id), (ALICE, "x" * 32), (ALICE, unused.upload_id)):
        with pytest.raises(UploadNotFound):
            store.read_records(owner, upload_id, kind="accounts")
    assert store.read_records(ALICE, ticket.upload_id, kind="accounts") == []


def test_malformed_upload_names_line_and_field(store: PayloadStore) -> None:
    # GIVEN a posts JSON Lines upload whose second record has no author_id WHEN read THEN InputError at that line
    ticket = store.create_upload(ALICE, kind="posts", fmt="jsonl", content_encoding=None)
    post_file(ticket, b'{"author_id": "a", "is_repost": false, "hashtags": null}\n{"is_repost": 0, "hashtags": []}\n')
    with pytest.raises(InputError) as caught:
        store.read_records(ALICE, ticket.upload_id, kind="posts")
    assert caught.value.details[0]["loc"] == ["posts", "line", 2, "author_id"]


def test_put_result_is_one_gzip_json_object_behind_a_presigned_get(store: PayloadStore, s3: Any) -> None:
    # GIVEN a JSON result WHEN stored
    document = {"similar_account_pairs": [["a", "b", 0.9]], "pair_count": 1}
    url, expires_at = store.put_result(ALICE, json.dumps(document).encode())
    # THEN one object under results/<alice hash>/, gzip + application/json, readable through the URL until expiry
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=TEST_ENV["PAYLOAD_BUCKET"], Prefix="results/")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith(f"results/{owner_hash(ALICE)}/") and keys[0].endswith(".json.gz")
    head = s3.head_object(Bucket=TEST_ENV["PAYLOAD_BUCKET"], Key=keys[0])
    assert head["ContentType"] == "application/json" and head["ContentEncoding"] == "gzip"
    assert "X-Amz-Expires=600" in url
    assert timedelta(seconds=590) < expires_at - datetime.now(UTC) <= timedelta(seconds=600)
    assert requests.get(url, timeout=10).json() == document


def test_unreachable_s3_is_storage_unavailable(api: ModuleType) -> None:
    # GIVEN a store whose S3 endpoint refuses connections (a closed local port), one attempt
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        config=Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )
    store = PayloadStore(client, "bucket", upload_ttl_seconds=60, result_ttl_seconds=60, max_upload_bytes=10)
    # WHEN reading an upload or writing a result THEN StorageUnavailable with a retry hint
    with pytest.raises(StorageUnavailable) as caught:
        store.read_records(ALICE, "x" * 32, kind="posts")
    assert caught.value.retry_after > 0
    with pytest.raises(StorageUnavailable):
        store.put_result(ALICE, b"{}")


class _TimingOutSocket(io.RawIOBase):
    """A network stream that delivers its first bytes, then times out (what urllib3 raises mid-download)."""

    def __init__(self, first: bytes) -> None:
        super().__init__()
        self._first = first

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._first:
            chunk, self._first = self._first, b""
            return chunk
        raise urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out.")


def test_timeout_in_the_middle_of_a_download_is_storage_unavailable() -> None:
    # GIVEN botocore's StreamingBody over a connection that times out after the first line of a JSON Lines upload
    body = StreamingBody(_TimingOutSocket(b'{"id": 1, "screen_name": "a"}\n'), content_length=10_000)
    # WHEN the loaders read it through the store's stream adapter
    # THEN StorageUnavailable (a 503), not an InputError blaming the file
    with pytest.raises(StorageUnavailable), io.BufferedReader(_S3Stream(body)) as stream:
        load_records(stream, kind="accounts", format="jsonl")


def test_read_records_stops_at_the_deadline(store: PayloadStore) -> None:
    # GIVEN a posts upload whose last line is malformed, and a deadline that has already passed
    ticket = store.create_upload(ALICE, kind="posts", fmt="jsonl", content_encoding="gzip")
    good = b'{"author_id": "a", "is_repost": false, "hashtags": null}\n' * 1000
    post_file(ticket, gzip.compress(good + b"not json\n"))
    # WHEN read with that deadline THEN DeadlineExceeded (reading stopped), not the InputError of the last line
    with pytest.raises(DeadlineExceeded):
        store.read_records(ALICE, ticket.upload_id, kind="posts", deadline=time.monotonic() - 1)
    # AND without a deadline the same upload is read to its end
    with pytest.raises(InputError) as caught:
        store.read_records(ALICE, ticket.upload_id, kind="posts")
    assert caught.value.details[0]["loc"] == ["posts", "line", 1001]
