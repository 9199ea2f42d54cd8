"""Request-body decoding: base64, gzip (bounded), content type and encoding, size limits."""

from __future__ import annotations

import base64
import gzip

import pytest

from sockpuppet_api.body import BodyLimits, decode_body, gunzip_bounded
from sockpuppet_api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

LIMITS = BodyLimits(max_inline_bytes=1000, max_decoded_bytes=5000)
JSON = {"content-type": "application/json"}
GZIP = {"content-type": "application/json", "content-encoding": "gzip"}


def test_gunzip_reads_concatenated_members_up_to_the_limit() -> None:
    # GIVEN two gzip members whose total is exactly the limit WHEN gunzipped THEN both, concatenated
    data = gzip.compress(b"a" * 2500) + gzip.compress(b"b" * 2500)
    assert gunzip_bounded(data, 5000) == b"a" * 2500 + b"b" * 2500


def test_gunzip_stops_one_byte_past_the_limit() -> None:
    # GIVEN a body one byte over the limit WHEN gunzipped THEN 413 decoded_body_too_large
    with pytest.raises(PayloadTooLarge) as caught:
        gunzip_bounded(gzip.compress(b"x" * 5001), 5000)
    assert caught.value.code == "decoded_body_too_large"


@pytest.mark.parametrize(
    "data", [b"not gzip", gzip.compress(b"x" * 100, mtime=0)[:-8], b""], ids=["not gzip", "truncated", "empty"]
)
def test_gunzip_rejects_invalid_or_truncated_data(data: bytes) -> None:
    # GIVEN bytes that are not complete gzip WHEN gunzipped THEN 400 invalid_gzip
    with pytest.raises(BadRequest) as caught:
        gunzip_bounded(data, 5000)
    assert caught.value.code == "invalid_gzip"


def test_decode_plain_base64_and_gzip_bodies() -> None:
    # GIVEN the same JSON sent plain, base64 and base64 gzip WHEN decoded THEN the same bytes
    text = '{"hashtag": "#x"}'
    assert decode_body(text, is_base64=False, headers=JSON, limits=LIMITS) == text.encode()
    encoded = base64.b64encode(text.encode()).decode()
    assert decode_body(encoded, is_base64=True, headers=JSON, limits=LIMITS) == text.encode()
    zipped = base64.b64encode(gzip.compress(text.encode())).decode()
    assert decode_body(zipped, is_base64=True, headers=GZIP, limits=LIMITS) == text.encode()


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON", ""])
def test_json_media_types_and_missing_type_are_accepted(content_type: str) -> None:
    # GIVEN application/json with parameters, other case, or no Content-Type WHEN decoded THEN accepted
    headers = {"content-type": content_type} if content_type else {}
    assert decode_body("{}", is_base64=False, headers=headers, limits=LIMITS) == b"{}"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"content-type": "text/plain"}, "unsupported_media_type"),
        ({"content-type": "application/jsonx"}, "unsupported_media_type"),
        ({"content-type": "application/json", "content-encoding": "deflate"}, "unsupported_content_encoding"),
    ],
)
def test_other_media_types_and_encodings_are_415(headers: dict[str, str], code: str) -> None:
    # GIVEN a body declared as something else WHEN decoded THEN 415 with a code naming what is wrong
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_body("{}", is_base64=False, headers=headers, limits=LIMITS)
    assert caught.value.code == code


@pytest.mark.parametrize("is_base64", [False, True])
def test_raw_size_limit(is_base64: bool) -> None:
    # GIVEN a body one byte over the inline limit (plain or base64) WHEN decoded THEN 413 body_too_large
    raw = b"x" * 1001
    body = base64.b64encode(raw).decode() if is_base64 else raw.decode()
    with pytest.raises(PayloadTooLarge) as caught:
        decode_body(body, is_base64=is_base64, headers=JSON, limits=LIMITS)
    assert caught.value.code == "body_too_large"
    # AND exactly the limit is fine
    at_limit = base64.b64encode(raw[:1000]).decode() if is_base64 else raw[:1000].decode()
    assert len(decode_body(at_limit, is_base64=is_base64, headers=JSON, limits=LIMITS)) == 1000


def test_non_ascii_plain_body_is_measured_in_bytes() -> None:
    # GIVEN 600 two-byte characters (1200 bytes, 600 characters) WHEN decoded THEN over the 1000-byte limit
    with pytest.raises(PayloadTooLarge):
        decode_body("é" * 600, is_base64=False, headers=JSON, limits=LIMITS)


def test_invalid_base64_is_400() -> None:
    # GIVEN a body flagged base64 that is not WHEN decoded THEN 400 invalid_base64
    with pytest.raises(BadRequest) as caught:
        decode_body("not base64!", is_base64=True, headers=JSON, limits=LIMITS)
    assert caught.value.code == "invalid_base64"
