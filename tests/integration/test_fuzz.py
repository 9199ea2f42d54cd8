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
    ("GET", "/openapi.json"): 20,
    # Every accepted job runs the state machine on the stack's workers: fewer cases than the synchronous route.
    ("POST", "/v1/jobs"): 150,
    ("GET", "/v1/jobs"): 60,
    ("GET", "/v1/jobs/{job_id}"): 40,
    ("DELETE", "/v1/jobs/{job_id}"): 40,
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
NOTHING_TO_VIOLATE = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/v1/jobs/{job_id}"),
    ("DELETE", "/v1/jobs/{job_id}"),
}
"""Operations without parameters or body, or whose only parameter is any string (a job id: unknown ones are 404):
there is no negative case to generate."""
TAKES_INPUTS = {("POST", PAIRS_PATH), ("GET", PAIRS_PATH), ("POST", "/v1/jobs")}
"""Operations taking a job's inputs (completed by :func:`complete_inputs` in positive cases)."""


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
    document = without_prefix_items(response.json())
    return schemathesis.openapi.from_dict(document, config=config)


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

    Inline records stay what was generated (a GET's are JSON text: the document declares them
    ``content: application/json``); a missing input becomes an empty inline list, a duplicate upload id is dropped.
    """
    is_get = case.method.upper() == "GET"
    inputs = case.query if is_get else case.body
    if not isinstance(inputs, dict):
        return
    for kind in ("posts", "accounts"):
        upload = f"{kind}_upload_id"
        inline = inputs.get(kind)
        if inline is None and inputs.get(upload) is None:
            inputs[kind] = "[]" if is_get else []
        elif inline is not None and inputs.get(upload) is not None:
            del inputs[upload]


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


def fuzz_operation(
    operation: schemathesis.APIOperation, mode: GenerationMode, base_url: str, session: requests.Session
) -> Counter:
    """Send up to the operation's budget of generated cases; return the response statuses (raises on a failure)."""
    method, path = operation.method.upper(), operation.path
    statuses: Counter = Counter()

    @settings(
        max_examples=max(1, int(BUDGET[method, path] * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case) -> None:
        if mode is GenerationMode.POSITIVE and (method, path) in TAKES_INPUTS:
            complete_inputs(case)
        response = case.call_and_validate(base_url=base_url, session=session, checks=CHECKS)
        if response.status_code == 200 and path == PAIRS_PATH:
            assert_pairs_shape(response)
        statuses[response.status_code] += 1

    fuzz()
    return statuses


def test_every_operation_conforms_to_the_document(
    served_schema: schemathesis.BaseSchema,
    local_stack: LocalStack,
    fuzz_session: requests.Session,
    record_property: pytest.RecordProperty,
) -> None:
    """GIVEN generated requests for every operation and mode WHEN sent signed THEN no 5xx, responses as documented,
    and at least 2000 requests sent.

    One test (not one per operation) so that the request count is known in one process whatever the xdist
    distribution; a failing operation does not stop the others, all failures are raised together at the end.
    """
    started = time.monotonic()
    report, failures = [], []
    total = 0
    for method, path in BUDGET:
        for mode in MODES:
            if mode is GenerationMode.NEGATIVE and (method, path) in NOTHING_TO_VIOLATE:
                continue
            label = f"{method} {path} {mode.value}"
            begun = time.monotonic()
            try:
                statuses = fuzz_operation(served_schema[path][method], mode, local_stack.base_url, fuzz_session)
            except Exception as exc:
                exc.add_note(f"fuzzing {label}")
                failures.append(exc)
                continue
            count = sum(statuses.values())
            total += count
            report.append(f"  {label}: {count} in {time.monotonic() - begun:.1f} s, statuses {dict(statuses)}")
    seconds = time.monotonic() - started
    record_property("fuzz_requests", total)
    record_property("fuzz_seconds", round(seconds, 1))
    print(f"\nfuzz: {total} requests in {seconds:.1f} s", *report, sep="\n")

    if failures:
        raise ExceptionGroup(f"schemathesis found failures in {len(failures)} operation(s)", failures)
    assert total >= MIN_TOTAL_CASES * min(SCALE, 1), report
