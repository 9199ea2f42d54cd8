"""Bad-input corpus: raw request bodies in ``files/``, ``manifest.json`` saying what each must get back.

Large cases (MBs, deep nesting, 100k-element arrays) are not committed: the manifest names a seeded generator
here and the body is built at test time, identically on every run. The in-process tests
(``tests/api/test_bad_inputs.py``) and the HTTP tests (``tests/integration/test_bad_inputs_http.py``) share the
cases and the response checks below.
"""

from __future__ import annotations

import base64
import copy
import gzip
import io
import json
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

CORPUS_DIR = Path(__file__).parent
MANIFEST = CORPUS_DIR / "manifest.json"

MAX_ERROR_BODY_BYTES = 16_384
"""An error body is small whatever the input: it may quote a bounded prefix of a value, never the input."""

MAX_ECHOED_RUN = 512
"""Longest run of a generated filler character an error body may contain: quoting the first few hundred
characters of a bad value is useful, echoing the value is not."""

ERROR_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PAIRS_PATH = "/v1/similar-account-pairs"
UPLOADS_PATH = "/v1/uploads"
_REQUEST_HEADERS = ("content-type", "content-encoding", "content-length")

_BASE_POST = {"id": "p1", "author_id": "a1", "is_repost": False, "hashtags": ["#x"]}
_BASE_ACCOUNT = {"id": "a1", "screen_name": "alice"}


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def huge_screen_name(size: int) -> bytes:
    """A valid body whose only account has a ``size``-character screen name."""
    return _json({"hashtag": "#x", "posts": [_BASE_POST], "accounts": [{"id": "a1", "screen_name": "n" * size}]})


def oversized_body(size: int, seed: int) -> bytes:
    """Well-formed posts (seeded ids and hashtags) until the body is at least ``size`` bytes."""
    rng = random.Random(seed)
    posts = []
    length = 0
    while length < size:
        post = {
            "id": f"p{len(posts)}",
            "author_id": f"a{rng.randrange(10_000)}",
            "is_repost": rng.random() < 0.2,
            "text": "x" * rng.randrange(50, 200),
            "hashtags": [f"#t{rng.randrange(100)}" for _ in range(rng.randrange(1, 4))],
        }
        posts.append(post)
        length += len(_json(post)) + 1
    return _json({"hashtag": "#t1", "posts": posts, "accounts": [_BASE_ACCOUNT]})


def gzip_bomb(decoded_size: int) -> bytes:
    """A small gzip stream that inflates to a valid JSON body of ``decoded_size`` bytes (whitespace padding)."""
    head = _json({"hashtag": "#x", "posts": [_BASE_POST], "accounts": [_BASE_ACCOUNT]})[:-1] + b","
    tail = b'"padding":0}'
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as stream:
        stream.write(head)
        remaining = decoded_size - len(head) - len(tail)
        chunk = b" " * 1_048_576
        while remaining > 0:
            stream.write(chunk[: min(remaining, len(chunk))])
            remaining -= len(chunk)
        stream.write(tail)
    return out.getvalue()


def deep_open_brackets(depth: int) -> bytes:
    """``depth`` opening brackets and nothing else."""
    return b"[" * depth


def deep_balanced_posts(depth: int) -> bytes:
    """A body whose ``posts`` is ``depth`` nested empty arrays (grammatically valid JSON)."""
    return b'{"hashtag":"#x","accounts":[],"posts":' + b"[" * depth + b"]" * depth + b"}"


def long_is_repost(size: int) -> bytes:
    """A post whose ``is_repost`` is a ``size``-character string (the error must not echo it)."""
    return _json({"hashtag": "#x", "posts": [{**_BASE_POST, "is_repost": "y" * size}], "accounts": [_BASE_ACCOUNT]})


def garbage_posts(count: int, seed: int) -> bytes:
    """``count`` seeded short garbage values as posts (about 6 bytes each, so the body stays under 1 MB)."""
    rng = random.Random(seed)
    makers: list[Callable[[], Any]] = [
        lambda: rng.randrange(-999, 999),
        lambda: round(rng.random(), 2),
        lambda: None,
        lambda: bool(rng.randrange(2)),
        lambda: "".join(rng.choice('ab#|\\"{[ \u00e9\u4e2d') for _ in range(rng.randrange(4))),
        lambda: [rng.randrange(10)] * rng.randrange(3),
        lambda: {},
        lambda: {"id": []},
    ]
    return _json({"hashtag": "#x", "posts": [rng.choice(makers)() for _ in range(count)], "accounts": []})


GENERATORS: dict[str, Callable[..., bytes]] = {
    "huge_screen_name": huge_screen_name,
    "oversized_body": oversized_body,
    "gzip_bomb": gzip_bomb,
    "deep_open_brackets": deep_open_brackets,
    "deep_balanced_posts": deep_balanced_posts,
    "long_is_repost": long_is_repost,
    "garbage_posts": garbage_posts,
}

FILLER_RUNS: dict[str, str] = {"huge_screen_name": "n", "long_is_repost": "y"}
"""Generators whose body holds one long run of a character: error bodies must not echo more than a prefix."""


@dataclass(frozen=True)
class BadUpload:
    """An uploaded file the job cannot read: the pairs request that names it gets a 422 at its upload id."""

    name: str
    kind: str
    format: str
    content_encoding: str | None
    content: bytes
    message_contains: str


_POSTS_JSON = b'[{"author_id":"a1","is_repost":false,"hashtags":["#x"]}]'
_TSV_HEADER = b"id\tcreated_at\tauthor_id\tis_repost\ttext\thashtags\n"
BAD_UPLOADS = [
    BadUpload("gzip_declared_plain_file", "posts", "json", "gzip", _POSTS_JSON, "gzip"),
    BadUpload("gzip_truncated", "posts", "json", "gzip", gzip.compress(_POSTS_JSON, mtime=0)[:15], "cannot read"),
    BadUpload("json_truncated", "posts", "json", None, _POSTS_JSON[:14], "invalid JSON"),
    BadUpload("json_nan", "posts", "json", None, _POSTS_JSON.replace(b"false", b"NaN"), "invalid JSON"),
    BadUpload("json_deep_nesting", "posts", "json", None, b"[" * 100_000, "invalid JSON"),
    BadUpload("json_object_not_array", "posts", "json", None, b'{"author_id":"a1"}', "array"),
    BadUpload("jsonl_invalid_utf8", "posts", "jsonl", None, b'{"author_id":"a\xff","is_repost":false}\n', "line"),
    BadUpload("tsv_invalid_utf8", "posts", "tsv", None, _TSV_HEADER + b"1\tx\ta\xff\tfalse\tt\t#x\n", "line"),
    BadUpload("tsv_binary", "posts", "tsv", None, bytes(range(256)) * 16, "cannot read"),
    BadUpload("tsv_bad_is_repost", "posts", "tsv", None, _TSV_HEADER + b"1\tx\ta1\tmaybe\tt\t#x\n", "is_repost"),
    BadUpload(
        "accounts_upload_used_as_posts", "accounts", "json", None, b'[{"id":"a1","screen_name":"x"}]', "accounts"
    ),
]
"""Uploaded files the job cannot use (uploaded as ``kind``, always named as ``posts_upload_id``)."""


@dataclass(frozen=True)
class CorpusCase:
    """One request of the corpus and the contract's answer to it."""

    name: str
    description: str
    method: str
    path: str
    content_type: str | None
    expected_status: int
    expected_code: str | None
    message_contains: str | None
    query: Mapping[str, str] | None = None
    content_encoding: str | None = None
    file: str | None = None
    generator: Mapping[str, Any] | None = None
    known_issue: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.expected_status >= 400

    def body(self) -> bytes | None:
        """The raw request body (bytes as sent on the wire, possibly gzip), or ``None`` for no body."""
        if self.file is not None:
            return _file_bytes(self.file)
        if self.generator is not None:
            return _generated(self.generator["name"], json.dumps(self.generator.get("args", {}), sort_keys=True))
        return None

    def headers(self) -> dict[str, str]:
        """Request headers the case sends (content type and encoding)."""
        headers = {}
        if self.content_type is not None:
            headers["content-type"] = self.content_type
        if self.content_encoding is not None:
            headers["content-encoding"] = self.content_encoding
        return headers

    def filler(self) -> str | None:
        """The character of a long generated run the response must not echo, if any."""
        return FILLER_RUNS.get(self.generator["name"]) if self.generator else None


@cache
def _file_bytes(relative: str) -> bytes:
    return (CORPUS_DIR / relative).read_bytes()


@cache
def _generated(name: str, args_json: str) -> bytes:
    return GENERATORS[name](**json.loads(args_json))


_FIELDS = {
    "name",
    "description",
    "method",
    "path",
    "content_type",
    "expected_status",
    "expected_code",
    "message_contains",
    "query",
    "content_encoding",
    "file",
    "generator",
    "known_issue",
}


def load_corpus() -> list[CorpusCase]:
    """Read ``manifest.json`` into cases (unknown keys go to ``extra``)."""
    cases = []
    for entry in json.loads(MANIFEST.read_text()):
        known = {k: v for k, v in entry.items() if k in _FIELDS}
        extra = {k: v for k, v in entry.items() if k not in _FIELDS}
        cases.append(CorpusCase(**known, extra=extra))
    return cases


def template_name(case: CorpusCase) -> str:
    """The ``events/`` template a case's event is built on (same route, so the same headers and identity)."""
    if case.method == "GET" and case.path == PAIRS_PATH:
        return "get_pairs_uploads"
    if case.path == UPLOADS_PATH:
        return "create_upload"
    return "post_pairs_inline"


def case_event(case: CorpusCase, template: dict[str, Any]) -> dict[str, Any]:
    """An HTTP API v2 event for ``case``: ``template`` with the case's method, path, query, headers and body."""
    event = copy.deepcopy(template)
    event["rawPath"] = case.path
    event["requestContext"]["http"].update(method=case.method, path=case.path)
    event["requestContext"]["requestId"] = f"corpus-{case.name}"
    headers = {k: v for k, v in event["headers"].items() if k not in _REQUEST_HEADERS}
    headers.update(case.headers())
    event["headers"] = headers
    event.pop("queryStringParameters", None)
    event["rawQueryString"] = urlencode(case.query or {})
    if case.query:
        event["queryStringParameters"] = dict(case.query)
    body = case.body()
    event.pop("body", None)
    event["isBase64Encoded"] = False
    if body is not None:
        headers["content-length"] = str(len(body))
        text = None if case.content_encoding else _utf8(body)
        if text is None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def _utf8(body: bytes) -> str | None:
    """The body as text when API Gateway would pass it as text (valid UTF-8), else ``None`` (base64)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def corpus_params(cases: list[CorpusCase]) -> list[Any]:
    """``pytest.param`` per case; a case with a ``known_issue`` is a strict xfail (it fails loudly once fixed)."""
    return [
        pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=case.known_issue)])
        if case.known_issue
        else pytest.param(case, id=case.name)
        for case in cases
    ]


def check_response(case: CorpusCase, status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any] | None:
    """Assert a response is the contract's answer to ``case``; return the parsed JSON body (``None`` if empty).

    Error answers: the case's status and error code, a body matching the error schema with a ``request_id``, a
    message naming the field, a bounded size, and no long echo of the input.
    """
    assert status != 500 and status < 500, f"{case.name}: server error {status}: {body[:500]!r}"
    assert status == case.expected_status, f"{case.name}: expected {case.expected_status}, got {status}: {body[:500]!r}"
    if not case.is_error:
        return json.loads(body) if body else None
    assert len(body) <= MAX_ERROR_BODY_BYTES, f"{case.name}: error body of {len(body)} bytes"
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "")
    assert content_type.startswith("application/json"), f"{case.name}: content type {content_type!r}"
    if status == 405:
        assert lowered.get("allow"), f"{case.name}: 405 without Allow"
    document = json.loads(body)
    error = check_error_body(document)
    if case.expected_code is not None:
        assert error["code"] == case.expected_code, f"{case.name}: code {error['code']!r}"
    if case.message_contains:
        assert case.message_contains.lower() in error["message"].lower(), (
            f"{case.name}: message {error['message']!r} does not mention {case.message_contains!r}"
        )
    if filler := case.filler():
        assert filler * (MAX_ECHOED_RUN + 1) not in body.decode(), f"{case.name}: the error echoes the input"
    return document


def check_error_body(document: Any) -> dict[str, Any]:
    """Assert ``document`` is the contract's error body; return its ``error`` object."""
    assert isinstance(document, dict), document
    assert set(document) == {"error", "request_id"}, sorted(document)
    assert isinstance(document["request_id"], str) and document["request_id"], document
    error = document["error"]
    assert isinstance(error, dict) and {"code", "message"} <= set(error) <= {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and ERROR_CODE_RE.match(error["code"]), error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    for detail in error.get("details") or []:
        assert isinstance(detail, dict) and set(detail) == {"loc", "msg"}, detail
        assert isinstance(detail["loc"], list) and all(isinstance(p, str | int) for p in detail["loc"]), detail
        assert isinstance(detail["msg"], str), detail
    return error
