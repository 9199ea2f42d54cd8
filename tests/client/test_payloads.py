"""Payload encoding and the streamed multipart POST, checked against moto's S3 server with a real presigned POST."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import requests

from sockpuppet_client.payloads import FilePayload, MultipartBody, detect_format, encode_records, inline_body
from tests.client.conftest import BUCKET, s3_client

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture
def big_tsv(tmp_path: Path) -> Path:
    """A multi-MB posts.tsv: the sample's rows repeated."""
    header, *rows = (SAMPLE / "posts.tsv").read_bytes().splitlines(keepends=True)
    path = tmp_path / "posts.tsv"
    path.write_bytes(header + b"".join(rows) * 8)
    return path


def test_multipart_body_streams_a_file_into_a_presigned_post(s3_endpoint: str, big_tsv: Path) -> None:
    # GIVEN a presigned POST with a content-length-range and a content type
    size = big_tsv.stat().st_size
    assert size > 3_000_000
    post = s3_client(s3_endpoint).generate_presigned_post(
        BUCKET,
        "uploads/streamed.tsv",
        Fields={"Content-Type": "text/tab-separated-values"},
        Conditions=[["content-length-range", 1, 10_000_000], {"Content-Type": "text/tab-separated-values"}],
        ExpiresIn=300,
    )
    with big_tsv.open("rb") as stream:
        body = MultipartBody(post["fields"], stream, size, filename="posts.tsv")
        request = requests.Request("POST", post["url"], data=body, headers={"Content-Type": body.content_type})
        prepared = request.prepare()
        # WHEN requests prepares it THEN the body stays the lazy stream, with its exact length announced
        assert prepared.body is body
        assert prepared.headers["Content-Length"] == str(len(body))
        # AND WHEN it is sent THEN S3 accepts it and stores the file byte for byte
        with requests.Session() as session:
            response = session.send(prepared, timeout=60)
    assert response.status_code == 204, response.text
    stored = s3_client(s3_endpoint).get_object(Bucket=BUCKET, Key="uploads/streamed.tsv")
    assert stored["ContentType"] == "text/tab-separated-values"
    assert stored["Body"].read() == big_tsv.read_bytes()


def test_multipart_body_rewinds_for_a_retry(tmp_path: Path) -> None:
    # GIVEN a body read to the end WHEN rewound THEN it yields the same bytes again
    path = tmp_path / "a.tsv"
    path.write_bytes(b"id\tscreen_name\n1\tx\n")
    with path.open("rb") as stream:
        body = MultipartBody({"key": "k", "policy": "p"}, stream, path.stat().st_size)
        first = b"".join(body)
        body.rewind()
        assert b"".join(body) == first
    assert len(first) == len(body)
    assert b'name="key"\r\n\r\nk\r\n' in first
    assert first.index(b'name="policy"') < first.index(b'name="file"; filename="data"')
    assert b"\r\n\r\nid\tscreen_name\n1\tx\n\r\n--" in first


def test_multipart_body_notices_a_file_that_shrank(tmp_path: Path) -> None:
    # GIVEN a body announced for more bytes than the file has WHEN read THEN an error, not a short upload
    path = tmp_path / "a.tsv"
    path.write_bytes(b"abc")
    with path.open("rb") as stream:
        body = MultipartBody({}, stream, 10)
        with pytest.raises(OSError, match="changed while sending"):
            b"".join(body)


def test_encode_records_is_gzip_json_lines() -> None:
    # GIVEN records (integer ids, a list, None) WHEN encoded THEN gzip JSON Lines with exact sizes
    records = [{"id": i, "screen_name": f"name_{i}", "tags": ["#a"], "x": None} for i in range(5000)]
    encoded = encode_records(records, spool_bytes=1 << 20)
    try:
        data = gzip.decompress(encoded.open().read())
        assert [json.loads(line) for line in data.splitlines()] == records
        assert (encoded.count, encoded.raw_bytes, encoded.size) == (5000, len(data), encoded.spool.seek(0, 2))
        assert [json.loads(line) for line in encoded.lines()] == records
    finally:
        encoded.close()


def test_encode_records_rejects_non_mappings() -> None:
    # GIVEN a list with a non-dict WHEN encoded THEN a TypeError naming the record
    with pytest.raises(TypeError, match="record 1 is a list"):
        encode_records([{"id": 1}, [1, 2]], spool_bytes=1024)


def test_inline_body_is_one_gzip_json_document() -> None:
    # GIVEN params and two encoded inputs WHEN the inline body is built THEN it decodes to the whole request
    posts = [{"author_id": "1", "is_repost": False, "hashtags": ["#x"]}, {"author_id": "2", "is_repost": True}]
    accounts = [{"id": "1", "screen_name": "a"}]
    parts = {"posts": encode_records(posts, spool_bytes=1024), "accounts": encode_records(accounts, spool_bytes=1024)}
    body, raw = inline_body({"hashtag": "#x", "accounts_upload_id": None}, parts)
    decoded = gzip.decompress(body)
    assert json.loads(decoded) == {"hashtag": "#x", "accounts_upload_id": None, "posts": posts, "accounts": accounts}
    assert raw == len(decoded)
    # AND an empty input is an empty array
    empty, _ = inline_body({"hashtag": "#x"}, {"posts": encode_records([], spool_bytes=1024)})
    assert json.loads(gzip.decompress(empty)) == {"hashtag": "#x", "posts": []}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("posts.tsv", ("tsv", None)),
        ("POSTS.TSV.GZ", ("tsv", "gzip")),
        ("a.json", ("json", None)),
        ("a.ndjson.gz", ("jsonl", "gzip")),
        ("a.jsonl", ("jsonl", None)),
    ],
)
def test_detect_format(name: str, expected: tuple[str, str | None]) -> None:
    # GIVEN a file name WHEN its format is detected THEN as the library's loaders do
    assert detect_format(name) == expected


def test_unknown_extension_is_an_error(tmp_path: Path) -> None:
    # GIVEN a .csv file WHEN described THEN a ValueError naming the accepted extensions
    path = tmp_path / "posts.csv"
    path.write_text("x")
    with pytest.raises(ValueError, match=r"\.tsv, \.json"):
        FilePayload.of(path)
