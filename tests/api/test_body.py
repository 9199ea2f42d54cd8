"""Request-body decoding: base64, gzip (bounded), content type and encoding, size limits."""

from __future__ import annotations

import base64
import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def zlib_gunzip(data: bytes, limit: int) -> tuple[str, bytes | str]:
    """The oracle: the same member loop with the standard library's zlib, as ``("ok", bytes)`` or
    ``("error", code: message)``."""
    out = b""
    try:
        while True:
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                return "error", "decoded_body_too_large"
            if not inflater.eof:
                return "error", "invalid_gzip: truncated gzip data"
            data = inflater.unused_data
            if not data.strip(b"\x00"):
                return "ok", out
    except zlib.error as exc:
        return "error", f"invalid_gzip: {exc}"


@st.composite
def damaged_gzip(draw: st.DrawFn) -> bytes:
    """gzip members (some concatenated, some zero-padded) with bytes overwritten, cut or appended."""
    members = draw(st.lists(st.binary(max_size=300) | st.sampled_from([b"ab" * 400, b"{}"]), min_size=1, max_size=3))
    data = bytearray(b"".join(gzip.compress(member, mtime=0) for member in members))
    data += b"\x00" * draw(st.integers(0, 3))
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["set", "cut", "append"]))
        if action == "set" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[draw(st.integers(0, len(data))) :]
        else:
            data += draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@settings(max_examples=1500, deadline=None)
@given(data=damaged_gzip(), limit=st.sampled_from([50, 5000]))
def test_gunzip_accepts_refuses_and_reports_as_zlib(data: bytes, limit: int) -> None:
    # GIVEN valid, concatenated, padded and damaged gzip (header flags, deflate blocks, CRC, length, truncation)
    # WHEN gunzipped (zlib-ng) THEN exactly the standard zlib's outcome: the same bytes, or the same error and message
    try:
        outcome: tuple[str, bytes | str] = ("ok", gunzip_bounded(data, limit))
    except PayloadTooLarge as exc:
        outcome = ("error", exc.code)
    except BadRequest as exc:
        outcome = ("error", f"{exc.code}: {exc.details[0]['msg']}")
    assert outcome == zlib_gunzip(data, limit)


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
