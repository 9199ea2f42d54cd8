"""Schemathesis against the OpenAPI document the local stack serves (front + RIE running the function + moto S3).

Every operation of the served document is fuzzed in both generation modes (positive: requests the document allows;
negative: requests it forbids), signed with SigV4 like a real caller, for a bounded number of cases (``BUDGET``,
at least 2000 requests in total; ``FUZZ_SCALE=5 make fuzz`` digs deeper). Each response must pass schemathesis'
checks: no 5xx, a documented status code, the documented content type, a body matching the documented schema,
and negative data rejected with a 4xx. Generation is derandomized, so a failure reproduces on the next run.
Positive cases are completed to give each input exactly once (:func:`complete_inputs`), so the job itself runs on
generated records instead of stopping at the "posts or posts_upload_id is required" 422.

The cases come from ``APIOperation.as_strategy`` under a plain ``@given``: the lazy ``schemathesis.pytest.
from_fixture`` loader (needed because the stack starts in a fixture) fails on pytest 9 in schemathesis 4.32
(it reads ``request.node._nodeid``, which pytest 9 removed).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from sockpuppet_client.auth import SigV4Auth
from sockpuppet_local.stack import LocalStack

pytestmark = pytest.mark.fuzz

PAIRS_PATH = "/v1/similar-account-pairs"
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
BUDGET: dict[tuple[str, str], int] = {
    ("POST", "/v1/similar-account-pairs"): 450,
    ("GET", "/v1/similar-account-pairs"): 400,
    ("POST", "/v1/uploads"): 300,
    ("GET", "/health"): 20,
}
"""Most cases per operation and generation mode (fewer when hypothesis exhausts a small input space)."""
MIN_TOTAL_CASES = 2000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
NOTHING_TO_VIOLATE = {("GET", "/health")}
"""Operations without parameters or body: there is no negative case to generate."""

RUN: dict[str, Counter] = {"calls": Counter(), "statuses": Counter(), "seconds": Counter()}
"""What the fuzz tests did (checked and reported by the last test of this module)."""


@pytest.fixture(scope="session")
def fuzz_session(signer: SigV4Auth) -> requests.Session:
    """A session that signs every request (SigV4), as a real caller of the IAM-protected API would."""
    session = requests.Session()
    session.auth = signer
    return session


@pytest.fixture(scope="session")
def served_schema(local_stack: LocalStack, signer: SigV4Auth) -> schemathesis.BaseSchema:
    """The OpenAPI document the running function serves (fetched signed: the route is IAM-protected).

    The document models SigV4 as an ``Authorization`` header (``apiKey``); the session signs every request for
    real, so schemathesis must not generate (or "violate") that header itself.
    """
    response = requests.get(f"{local_stack.base_url}/openapi.json", auth=signer, timeout=30)
    response.raise_for_status()
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    document = without_constraints_on_ignored_fields(without_prefix_items(response.json()))
    return schemathesis.openapi.from_dict(document, config=config)


IGNORED_RECORD_FIELDS = {"posts": ("id", "created_at", "text"), "accounts": ("created_at",)}
"""Record fields the API ignores (contract: "extra fields are ignored"; the library needs only author_id,
is_repost, hashtags of a post and id, screen_name of an account)."""


def without_constraints_on_ignored_fields(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` without the type constraints it declares on record fields the API ignores.

    The served document constrains e.g. a post's ``id`` (non-empty string or int64), but the API never reads it,
    so a negative case that only breaks such a field is (rightly) accepted, and ``negative_data_rejection`` would
    fail on the document, not the API. Reported as a document gap; this keeps every other constraint checked.
    """
    request = document["components"]["schemas"]["PairsRequest"]["properties"]
    for kind, fields in IGNORED_RECORD_FIELDS.items():
        records = request[kind]
        array = next(member for member in [records, *records.get("anyOf", ())] if member.get("type") == "array")
        properties = array["items"]["properties"]
        for name in fields:
            properties.pop(name, None)
    return document


def without_prefix_items(node: Any) -> Any:
    """``node`` with every tuple schema (``prefixItems``) relaxed to "exactly N items, each one of these types".

    schemathesis 4.32 rejects the (valid OpenAPI 3.1) ``prefixItems`` of the ``[id1, id2, similarity]`` pairs as an
    "Invalid Schema Object in response definition", which would stop response validation of every 200. The
    relaxed schema keeps the length and the member types; the order of the types is checked by
    :func:`assert_pairs_shape` on every 200 instead.
    """
    if isinstance(node, list):
        return [without_prefix_items(item) for item in node]
    if not isinstance(node, dict):
        return node
    relaxed = {key: without_prefix_items(value) for key, value in node.items()}
    if "prefixItems" in relaxed:
        members = relaxed.pop("prefixItems")
        relaxed["items"] = {"anyOf": members}
        relaxed["minItems"] = relaxed["maxItems"] = len(members)
    return relaxed


def complete_inputs(case: schemathesis.Case) -> None:
    """Make a positive case satisfy the rule the document does not express: each of posts / accounts is given
    exactly once, inline or by upload id (otherwise nearly every positive case is a 422 and the job never runs).

    Inline records stay what was generated; a missing input becomes an empty inline list, a duplicate upload id
    is dropped, and a GET's inline JSON that is not JSON becomes ``[]``.
    """
    is_get = case.method.upper() == "GET"
    inputs = case.query if is_get else case.body
    if not isinstance(inputs, dict):
        return
    for kind in ("posts", "accounts"):
        upload = f"{kind}_upload_id"
        inline = inputs.get(kind)
        if is_get and inline is not None and not _is_json(inline):
            inputs[kind] = inline = "[]"
        if inline is None and inputs.get(upload) is None:
            inputs[kind] = "[]" if is_get else []
        elif inline is not None and inputs.get(upload) is not None:
            del inputs[upload]


def _is_json(text: Any) -> bool:
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def assert_pairs_shape(response: requests.Response) -> None:
    """A 200 of the pairs routes lists pairs as ``[str, str, float]`` (the order the relaxed schema drops)."""
    pairs = response.json().get("similar_account_pairs") or []
    assert all(isinstance(a, str) and isinstance(b, str) and isinstance(score, float) for a, b, score in pairs), pairs[
        :5
    ]


def test_served_document_has_exactly_the_fuzzed_operations(served_schema: schemathesis.BaseSchema) -> None:
    """GIVEN the served document WHEN its operations are listed THEN they are the API's routes, all fuzzed below."""
    operations = {(result.ok().method.upper(), result.ok().path) for result in served_schema.get_all_operations()}

    assert operations == set(BUDGET)


@pytest.mark.parametrize("mode", MODES, ids=[mode.value for mode in MODES])
@pytest.mark.parametrize(("method", "path"), list(BUDGET), ids=[f"{m} {p}" for m, p in BUDGET])
def test_operation_conforms_to_the_document(
    served_schema: schemathesis.BaseSchema,
    local_stack: LocalStack,
    fuzz_session: requests.Session,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    """GIVEN generated requests for one operation WHEN sent signed THEN no 5xx and responses are as documented."""
    if mode is GenerationMode.NEGATIVE and (method, path) in NOTHING_TO_VIOLATE:
        pytest.skip("no parameters or body: nothing to violate")
    operation = served_schema[path][method]
    label = f"{method} {path} {mode.value}"
    started = time.monotonic()

    @settings(
        max_examples=max(1, int(BUDGET[method, path] * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case) -> None:
        if mode is GenerationMode.POSITIVE and path == PAIRS_PATH:
            complete_inputs(case)
        response = case.call_and_validate(base_url=local_stack.base_url, session=fuzz_session, checks=CHECKS)
        if response.status_code == 200 and path == PAIRS_PATH:
            assert_pairs_shape(response)
        RUN["calls"][label] += 1
        RUN["statuses"][f"{label} {response.status_code}"] += 1

    fuzz()
    RUN["seconds"][label] += time.monotonic() - started


def test_fuzz_budget_was_spent(record_property: pytest.RecordProperty) -> None:
    """GIVEN the fuzz tests above WHEN they are over THEN they sent at least 2000 requests, on every operation."""
    total = sum(RUN["calls"].values())
    seconds = sum(RUN["seconds"].values())
    record_property("fuzz_cases", total)
    record_property("fuzz_seconds", round(seconds, 1))
    print(f"\nfuzz: {total} requests in {seconds:.1f} s")
    for label, count in sorted(RUN["calls"].items()):
        statuses = {key.rsplit(" ", 1)[1]: n for key, n in RUN["statuses"].items() if key.startswith(f"{label} ")}
        print(f"  {label}: {count} in {RUN['seconds'][label]:.1f} s, statuses {statuses}")

    assert total >= MIN_TOTAL_CASES * min(SCALE, 1), dict(RUN["calls"])
    expected = {f"{m} {p} {mode.value}" for m, p in BUDGET for mode in MODES}
    assert set(RUN["calls"]) == expected - {f"{m} {p} negative" for m, p in NOTHING_TO_VIOLATE}
