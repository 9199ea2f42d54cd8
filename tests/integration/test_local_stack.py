"""The function behind the local API Gateway, over real HTTP: auth, events, S3 uploads, concurrency, shutdown."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from sockpuppet import find_similar_accounts, read_accounts, read_posts
from sockpuppet_client.auth import SigV4Auth
from sockpuppet_local.front import MAX_REQUEST_BYTES, build_event, gateway_response
from sockpuppet_local.stack import LocalStack

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
HASHTAG = "#diedsuddenly"
PAIRS = "/v1/similar-account-pairs"


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    return {"posts": read_posts(SAMPLE / "posts.tsv"), "accounts": read_accounts(SAMPLE / "accounts.tsv")}


@pytest.fixture(scope="module")
def expected(sample: dict[str, Any]) -> dict[str, Any]:
    """The library's answer for the sample, as JSON would carry it."""
    result = find_similar_accounts(sample["posts"], sample["accounts"], hashtag=HASHTAG)
    return json.loads(json.dumps(result.to_dict()))


def test_health_needs_no_signature_and_carries_the_request_id(local_stack: LocalStack) -> None:
    # GIVEN no credentials
    # WHEN /health is called
    response = requests.get(f"{local_stack.base_url}/health", timeout=30)
    # THEN the function answers, with the request id API Gateway generated
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-Id"] == response.headers["apigw-requestid"]


@pytest.mark.parametrize(
    ("method", "path"), [("POST", PAIRS), ("GET", PAIRS), ("POST", "/v1/uploads"), ("GET", "/openapi.json")]
)
def test_every_other_route_is_forbidden_without_a_signature(local_stack: LocalStack, method: str, path: str) -> None:
    # GIVEN a request without an Authorization header
    # WHEN it reaches the gateway
    response = requests.request(method, f"{local_stack.base_url}{path}", json={}, timeout=30)
    # THEN API Gateway's own 403 comes back
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_signed_post_returns_the_library_pairs(
    local_stack: LocalStack, signer: SigV4Auth, sample: dict[str, Any], expected: dict[str, Any]
) -> None:
    # GIVEN the sample posts and accounts inline
    body = {**sample, "hashtag": HASHTAG}
    # WHEN a signed caller posts them
    response = requests.post(f"{local_stack.base_url}{PAIRS}", json=body, auth=signer, timeout=60)
    # THEN the pairs (and every count) are the library's
    assert response.status_code == 200, response.text
    assert expected["pair_count"] > 0
    assert response.json() == expected


def test_gzip_body_reaches_the_function_base64_encoded(
    local_stack: LocalStack, signer: SigV4Auth, sample: dict[str, Any], expected: dict[str, Any]
) -> None:
    # GIVEN a gzip-compressed JSON body
    body = gzip.compress(json.dumps({**sample, "hashtag": HASHTAG}).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    # WHEN it is posted
    response = requests.post(f"{local_stack.base_url}{PAIRS}", data=body, headers=headers, auth=signer, timeout=60)
    # THEN the function decoded it to the same job
    assert response.status_code == 200, response.text
    assert response.json() == expected


def _upload(local_stack: LocalStack, signer: SigV4Auth, kind: str) -> str:
    ticket = requests.post(
        f"{local_stack.base_url}/v1/uploads", json={"kind": kind, "format": "tsv"}, auth=signer, timeout=30
    )
    assert ticket.status_code == 201, ticket.text
    document = ticket.json()
    with (SAMPLE / f"{kind}.tsv").open("rb") as file:
        stored = requests.post(document["url"], data=document["fields"], files={"file": file}, timeout=30)
    assert stored.status_code in (200, 201, 204), stored.text
    return document["upload_id"]


def test_uploads_go_through_moto_and_belong_to_their_caller(
    local_stack: LocalStack, signer: SigV4Auth, other_signer: SigV4Auth, expected: dict[str, Any]
) -> None:
    # GIVEN the sample TSV files uploaded by one caller through presigned POSTs to the stack's S3
    query = {
        "hashtag": HASHTAG,
        "posts_upload_id": _upload(local_stack, signer, "posts"),
        "accounts_upload_id": _upload(local_stack, signer, "accounts"),
    }
    url = f"{local_stack.base_url}{PAIRS}"
    # WHEN the same caller runs the job by GET with the upload ids, and another caller tries the same
    own = requests.get(url, params=query, auth=signer, timeout=60)
    foreign = requests.get(url, params=query, auth=other_signer, timeout=60)
    # THEN the owner gets the library's pairs and the other access key is another identity that cannot see them
    assert own.status_code == 200, own.text
    assert own.json() == expected
    assert foreign.status_code == 404, foreign.text
    assert foreign.json()["error"]["code"]


def test_concurrent_requests_all_succeed(
    local_stack: LocalStack, signer: SigV4Auth, sample: dict[str, Any], expected: dict[str, Any]
) -> None:
    # GIVEN 8 clients and a pool of fewer RIEs
    body = json.dumps({**sample, "hashtag": HASHTAG}).encode()

    def call(_: int) -> tuple[int, Any]:
        response = requests.post(
            f"{local_stack.base_url}{PAIRS}",
            data=body,
            headers={"Content-Type": "application/json"},
            auth=signer,
            timeout=120,
        )
        return response.status_code, response.json()

    # WHEN they send 24 requests at once
    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(call, range(24)))
    # THEN every request waited for a free RIE and got the same answer
    assert [status for status, _ in results] == [200] * 24
    assert all(document == expected for _, document in results)


def test_the_pool_is_one_warm_runtime_per_worker(local_stack: LocalStack) -> None:
    # GIVEN the running stack
    # WHEN its processes are inspected
    rie = [psutil.Process(pid) for pid in local_stack.pids]
    runtimes = [child for process in rie for child in process.children()]
    # THEN there is one RIE per worker, each running its own (already initialised) awslambdaric runtime
    assert local_stack.workers == 2
    assert len(set(local_stack.pids)) == local_stack.workers
    assert all(process.is_running() and "aws-lambda-rie" in process.name() for process in rie)
    assert len(runtimes) == local_stack.workers
    assert all("awslambdaric" in runtime.cmdline() for runtime in runtimes)


def test_oversized_request_is_rejected_by_the_gateway(local_stack: LocalStack, signer: SigV4Auth) -> None:
    # GIVEN a body over API Gateway's 10 MB limit
    body = b"{" + b" " * MAX_REQUEST_BYTES + b"}"
    # WHEN it is posted
    response = requests.post(
        f"{local_stack.base_url}{PAIRS}",
        data=body,
        headers={"Content-Type": "application/json"},
        auth=signer,
        timeout=60,
    )
    # THEN the gateway answers 413 itself
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_events_are_valid_http_api_v2_events_with_the_iam_caller() -> None:
    # GIVEN a gzip request with cookies and a repeated query parameter, signed with access key AKIDLOCALCAROL
    body = gzip.compress(b'{"hashtag": "#x"}')
    headers = {"Host": "127.0.0.1:3000", "Cookie": "a=1; b=2", "Content-Encoding": "gzip", "User-Agent": "t/1"}
    # WHEN the gateway turns it into an event
    event = build_event(
        method="POST",
        target=f"{PAIRS}?x=1&x=2&y=",
        headers=headers,
        body=body,
        source_ip="127.0.0.1",
        access_key="AKIDLOCALCAROL",
    )
    # THEN it is a payload 2.0 event (Powertools' own model accepts it) carrying the body, query and caller
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    assert parsed.isBase64Encoded and base64.b64decode(event["body"]) == body
    assert parsed.cookies == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert parsed.queryStringParameters == {"x": "1,2", "y": ""}
    assert parsed.requestContext.http.method == "POST" and parsed.rawPath == PAIRS
    assert parsed.requestContext.authorizer.iam.userArn == "arn:aws:iam::000000000000:user/AKIDLOCALCAROL"


@pytest.mark.parametrize("event", [b"{}", b'"not an event"'], ids=["empty object", "string"])
def test_a_function_error_is_a_502_without_internals(local_stack: LocalStack, event: bytes) -> None:
    # GIVEN an event the function cannot handle at all (it raises before any route runs)
    # WHEN the real runtime runs it and the gateway maps the result
    result = local_stack.invoke(event)
    response = gateway_response(result)
    # THEN the RIE reported a function error with a stack trace, and the caller sees only API Gateway's 502
    assert result.function_error and "stackTrace" in result.json()
    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal Server Error"}


def test_stopping_a_stack_leaves_no_process_and_no_listener() -> None:
    # GIVEN a second, independent stack (its own ports) with its RIEs and their runtimes
    with LocalStack(workers=2, log=Path("/dev/null")) as stack:
        processes = [psutil.Process(pid) for pid in stack.pids]
        processes += [child for process in processes[:] for child in process.children(recursive=True)]
        url = stack.base_url
        assert requests.get(f"{url}/health", timeout=30).status_code == 200
    # WHEN it is stopped (end of the with block)
    # THEN none of its processes is alive and its port is closed
    assert len(processes) == 4
    assert not [process for process in processes if process.is_running() and process.status() != "zombie"]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=5)


def test_load_run_stops_after_its_request_budget_and_reports(local_stack: LocalStack, tmp_path: Path) -> None:
    # GIVEN a load run of 3 users with a budget of 12 requests against the running stack
    command = [sys.executable, "-m", "sockpuppet_local.load", "--host", local_stack.base_url]
    command += ["--users", "3", "--requests", "12", "--out", str(tmp_path)]
    # WHEN it runs
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    # THEN exactly 12 requests were sent, none failed, and the summary line says so
    assert run.returncode == 0, run.stdout + run.stderr
    samples = json.loads((tmp_path / "samples.json").read_text())
    assert len(samples) == 12
    assert not [sample for sample in samples if sample[2]]
    summary = next(line for line in run.stdout.splitlines() if line.startswith("all requests"))
    assert summary.split()[2:4] == ["12", "0.00%"]
