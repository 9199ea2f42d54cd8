"""The job routes (``/v1/jobs``) through ``lambda_handler``, on moto's S3, DynamoDB and Step Functions.

moto records the executions without running them, so the tests play the workers' part by writing the job record
as they do (status, progress, result_key, error).
"""

from __future__ import annotations

import gzip
import json
import time
from types import ModuleType
from typing import Any

import boto3
import boto3.dynamodb.types
import pytest
import requests

from sockpuppet_api.storage import owner_hash
from tests.api.conftest import (
    TEST_ENV,
    HttpResult,
    as_user,
    event_body,
    invoke,
    load_event,
    upload_file,
    with_body,
)
from tests.api.jobs_backend import REGION, TABLE, create_jobs_backend

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
BUCKET = TEST_ENV["PAYLOAD_BUCKET"]


pytestmark = pytest.mark.usefixtures("s3")  # moto with the payload bucket, the jobs table and state machine


def at(event: dict[str, Any], path: str) -> dict[str, Any]:
    """``event`` sent to another path."""
    changed = json.loads(json.dumps(event))
    changed["rawPath"] = changed["requestContext"]["http"]["path"] = path
    return changed


def job_event(name: str, job_id: str) -> dict[str, Any]:
    """The ``get_job`` / ``cancel_job`` event for ``job_id``."""
    return at(load_event(name), f"/v1/jobs/{job_id}")


def submit(api: ModuleType, event: dict[str, Any] | None = None) -> dict[str, Any]:
    result = invoke(api, event or load_event("post_job_inline"))
    assert result.status == 202, result.raw_body
    return result.json()


def record(job_id: str, owner: str = ALICE) -> dict[str, Any]:
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"owner": {"S": owner_hash(owner)}, "job_id": {"S": job_id}}
    )["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def work(job_id: str, **attributes: Any) -> None:
    """Write the record as a worker would (``SET name = value`` for each attribute)."""
    serializer = boto3.dynamodb.types.TypeSerializer()
    names = {f"#{name}": name for name in attributes}
    values = {f":{name}": serializer.serialize(value) for name, value in attributes.items()}
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=TABLE,
        Key={"owner": {"S": owner_hash(ALICE)}, "job_id": {"S": job_id}},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in attributes),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def executions() -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.list_executions(stateMachineArn=TEST_ENV["JOBS_STATE_MACHINE_ARN"])["executions"]


def s3_json(key: str) -> Any:
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)


def assert_same_error(job: HttpResult, sync: HttpResult) -> None:
    assert (job.status, job.json()["error"]) == (sync.status, sync.json()["error"])


# --- POST /v1/jobs -----------------------------------------------------------------------------------------------


def test_post_queues_the_job_and_starts_its_execution(api: ModuleType) -> None:
    # GIVEN the inline sample job WHEN posted to /v1/jobs
    event = load_event("post_job_inline")
    result = invoke(api, event)
    # THEN 202 queued, with the status URL in the body and in Location
    assert result.status == 202, result.raw_body
    created = result.json()
    assert set(created) == {"job_id", "status", "status_url", "created_at"}
    assert created["status"] == "queued"
    assert created["status_url"] == f"https://{event['headers']['host']}/v1/jobs/{created['job_id']}"
    assert result.headers["location"] == created["status_url"]
    assert result.headers["x-request-id"] == "req-post-job-inline"
    # AND the record is queued, request.json is the validated body with max_pairs resolved, the execution started
    stored = record(created["job_id"])
    assert stored["status"] == "queued" and stored["created_at"] == created["created_at"]
    body = event_body(event)
    assert s3_json(stored["request_key"]) == {
        **body,
        "max_pairs": int(TEST_ENV["MAX_PAIRS"]),
        "hashtag_match": "exact",
        "result_delivery": "auto",
    }
    [execution] = executions()
    assert execution["name"] == created["job_id"]


def test_post_with_uploads_resolves_them_to_their_keys(api: ModuleType) -> None:
    # GIVEN alice's uploads of the sample slice
    posts_id = upload_file(api, with_body(load_event("create_upload"), {"kind": "posts", "format": "json"}), b"[]")
    accounts_id = upload_file(
        api, with_body(load_event("create_upload"), {"kind": "accounts", "format": "json"}), b"[]"
    )
    event = load_event("post_job_uploads")
    body = {**event_body(event), "posts_upload_id": posts_id, "accounts_upload_id": accounts_id}
    # WHEN a job names them
    created = submit(api, with_body(event, body))
    # THEN request.json names their S3 keys (the uploads are not read before the job runs)
    request = s3_json(record(created["job_id"])["request_key"])
    assert request["posts_upload_key"] == f"uploads/{owner_hash(ALICE)}/{posts_id}"
    assert request["accounts_upload_key"] == f"uploads/{owner_hash(ALICE)}/{accounts_id}"


@pytest.mark.parametrize(
    "name",
    [
        "error_bad_json",
        "error_bad_gzip",
        "error_body_too_large",
        "error_wrong_content_type",
        "error_validation",
        "error_invalid_records",
        "error_unknown_upload",
    ],
)
def test_post_rejects_bad_requests_exactly_like_the_sync_route(api: ModuleType, name: str) -> None:
    # GIVEN a bad request of the synchronous route WHEN sent to /v1/jobs instead
    event = load_event(name)
    sync = invoke(api, event)
    job = invoke(api, at(event, "/v1/jobs"))
    # THEN the same status and error body, and no job
    assert 400 <= sync.status < 500
    assert_same_error(job, sync)
    assert executions() == []


def test_post_rejects_another_callers_upload_like_the_sync_route(api: ModuleType) -> None:
    # GIVEN alice's upload WHEN bob names it in a job THEN 404 upload_not_found, as on the synchronous route
    upload_id = upload_file(api, load_event("create_upload"), gzip.compress(b"id\tauthor_id\n"))
    event = as_user(load_event("post_job_uploads"), BOB)
    body = {**event_body(event), "posts_upload_id": upload_id}
    sync = invoke(api, at(with_body(event, body), "/v1/similar-account-pairs"))
    job = invoke(api, with_body(event, body))
    assert job.status == 404
    assert_same_error(job, sync)


def test_post_without_identity_is_forbidden(api: ModuleType) -> None:
    event = load_event("post_job_inline")
    del event["requestContext"]["authorizer"]
    assert invoke(api, event).status == 403


# --- idempotency ---------------------------------------------------------------------------------------------------


def test_same_key_same_caller_gets_the_same_job(api: ModuleType) -> None:
    # GIVEN the inline job with an Idempotency-Key
    event = load_event("post_job_inline")
    event["headers"]["idempotency-key"] = "key-1"
    # WHEN sent twice
    first = submit(api, event)
    second = submit(api, event)
    # THEN one job: the same answer, one execution
    assert second == first
    assert len(executions()) == 1
    # AND bob with the same key, or alice without a key, start jobs of their own
    other = submit(api, as_user(event, BOB))
    del event["headers"]["idempotency-key"]
    fresh = submit(api, event)
    assert len({first["job_id"], other["job_id"], fresh["job_id"]}) == 3
    assert len(executions()) == 3


def test_same_key_with_another_body_is_refused(api: ModuleType) -> None:
    # GIVEN a job submitted with a key
    event = load_event("post_job_inline")
    event["headers"]["idempotency-key"] = "key-2"
    submit(api, event)
    # WHEN the same key comes with another threshold THEN 422 idempotency_key_reused, no second job
    changed = with_body(event, {**event_body(event), "min_similarity": 0.9})
    result = invoke(api, changed)
    assert result.status == 422
    assert result.json()["error"]["code"] == "idempotency_key_reused"
    assert result.json()["error"]["details"][0]["loc"] == ["header", "idempotency-key"]
    assert len(executions()) == 1


def test_a_failed_submission_can_be_retried_with_the_same_key(api: ModuleType) -> None:
    # GIVEN a submission whose execution cannot start (the state machine is missing)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    sfn.delete_state_machine(stateMachineArn=TEST_ENV["JOBS_STATE_MACHINE_ARN"])
    event = load_event("post_job_inline")
    event["headers"]["idempotency-key"] = "key-3"
    failed = invoke(api, event)
    assert failed.status == 500
    # WHEN the state machine is back and the same key is sent again THEN the job is accepted this time
    create_jobs_backend(bucket=False, table=False)
    created = submit(api, event)
    assert record(created["job_id"])["status"] == "queued"


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "é"])
def test_malformed_idempotency_keys_are_422(api: ModuleType, key: str) -> None:
    event = load_event("post_job_inline")
    event["headers"]["idempotency-key"] = key
    result = invoke(api, event)
    assert result.status == 422
    assert result.json()["error"]["details"][0]["loc"] == ["header", "idempotency-key"]


# --- GET /v1/jobs/{job_id} ---------------------------------------------------------------------------------------


def test_get_reports_status_and_progress(api: ModuleType) -> None:
    # GIVEN a queued job
    job_id = submit(api)["job_id"]
    # WHEN read before and while the workers run
    queued = invoke(api, job_event("get_job", job_id)).json()
    work(job_id, status="running", progress={"phase": "searching", "shards_done": 3, "shards_total": 8})
    running = invoke(api, job_event("get_job", job_id)).json()
    # THEN the status and progress, and no result or error fields yet
    assert queued["status"] == "queued"
    assert queued["progress"] == {"phase": None, "shards_done": 0, "shards_total": None}
    assert running["status"] == "running"
    assert running["progress"] == {"phase": "searching", "shards_done": 3, "shards_total": 8}
    for document in (queued, running):
        assert document["result_url"] is None and document["pair_count"] is None and document["error"] is None
        assert set(document) == {
            "job_id",
            "status",
            "created_at",
            "updated_at",
            "progress",
            "result_url",
            "result_expires_at",
            "pair_count",
            "error",
        }


def test_succeeded_job_has_a_fresh_result_url_of_the_sync_document(api: ModuleType) -> None:
    # GIVEN a job whose merge step stored the synchronous 200 document (gzip) and marked it succeeded
    event = load_event("post_job_inline")
    job_id = submit(api, event)["job_id"]
    sync = invoke(api, at(event, "/v1/similar-account-pairs")).json()
    key = f"jobs/{owner_hash(ALICE)}/{job_id}/result.json"
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=key, Body=gzip.compress(json.dumps(sync).encode()), ContentEncoding="gzip"
    )
    work(job_id, status="succeeded", result_key=key, pair_count=sync["pair_count"])
    # WHEN read
    document = invoke(api, job_event("get_job", job_id)).json()
    # THEN the pair count, and a URL (expiring within RESULT_URL_TTL_SECONDS) serving that document
    assert document["status"] == "succeeded"
    assert document["pair_count"] == sync["pair_count"] > 0
    assert document["error"] is None
    fetched = requests.get(document["result_url"], timeout=10)
    assert fetched.status_code == 200
    content = fetched.content
    assert json.loads(gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content) == sync
    expires = time.mktime(time.strptime(document["result_expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 0 < expires - time.time() <= int(TEST_ENV["RESULT_URL_TTL_SECONDS"]) + 5


def test_failed_job_has_its_error_object(api: ModuleType) -> None:
    # GIVEN a job that failed on a record of its upload
    job_id = submit(api)["job_id"]
    error = {
        "code": "validation_error",
        "message": "invalid posts: line 12: author_id is required",
        "details": [{"loc": ["body", "posts_upload_id", "line", 12, "author_id"], "msg": "field required"}],
    }
    work(job_id, status="failed", error=error)
    # WHEN read THEN the error object and no result
    document = invoke(api, job_event("get_job", job_id)).json()
    assert document["status"] == "failed"
    assert document["error"] == error
    assert document["result_url"] is None and document["pair_count"] is None


@pytest.mark.parametrize("who", ["bob", "unknown", "malformed", "expired"])
def test_foreign_unknown_and_expired_jobs_are_404_like_uploads(api: ModuleType, who: str) -> None:
    # GIVEN alice's job
    job_id = submit(api)["job_id"]
    event = job_event("get_job", job_id)
    if who == "bob":
        event = as_user(event, BOB)
    elif who == "unknown":
        event = job_event("get_job", job_id[:10] + "0" * 26)
    elif who == "malformed":
        event = job_event("get_job", "not-a-job")
    else:
        work(job_id, expires_at=int(time.time()) - 1)
    cancel = json.loads(json.dumps(event))
    cancel["requestContext"]["http"]["method"] = "DELETE"
    # WHEN read or cancelled THEN 404 job_not_found, the same answer either way, and the job is untouched
    for result in (invoke(api, event), invoke(api, cancel)):
        assert result.status == 404
        assert result.json()["error"] == {
            "code": "job_not_found",
            "message": result.json()["error"]["message"],
            "details": [{"loc": ["path", "job_id"], "msg": "job not found"}],
        }
    assert record(job_id)["status"] == "queued"


# --- GET /v1/jobs ----------------------------------------------------------------------------------------------


def test_list_pages_through_the_callers_jobs_newest_first(api: ModuleType) -> None:
    # GIVEN 5 jobs of alice and one of bob
    mine = [submit(api)["job_id"] for _ in range(5)]
    submit(api, as_user(load_event("post_job_inline"), BOB))
    # WHEN alice lists them 2 at a time (the list_jobs event), following next_token
    seen: list[str] = []
    event = load_event("list_jobs")
    while True:
        result = invoke(api, event)
        assert result.status == 200, result.raw_body
        page = result.json()
        assert len(page["jobs"]) <= 2
        seen += [job["job_id"] for job in page["jobs"]]
        if page["next_token"] is None:
            break
        event = json.loads(json.dumps(event))
        event["queryStringParameters"]["next_token"] = page["next_token"]
    # THEN all of hers, newest first, each with its status URL
    assert seen == sorted(mine, reverse=True)
    assert page["jobs"] == [] or page["jobs"][-1]["status_url"].endswith(f"/v1/jobs/{seen[-1]}")


@pytest.mark.parametrize(("name", "value"), [("limit", "0"), ("limit", "101"), ("limit", "x"), ("next_token", "bad")])
def test_list_rejects_bad_query_parameters(api: ModuleType, name: str, value: str) -> None:
    event = load_event("list_jobs")
    event["queryStringParameters"][name] = value
    result = invoke(api, event)
    assert result.status == 422
    assert result.json()["error"]["details"][0]["loc"][:2] == ["query", name]


# --- DELETE /v1/jobs/{job_id} --------------------------------------------------------------------------------------


def test_delete_cancels_and_stops_the_execution_idempotently(api: ModuleType) -> None:
    # GIVEN a running job
    job_id = submit(api)["job_id"]
    work(job_id, status="running")
    # WHEN cancelled twice
    first = invoke(api, job_event("cancel_job", job_id))
    second = invoke(api, job_event("cancel_job", job_id))
    # THEN 200 cancelled both times, the execution is aborted, and reading says cancelled without a result
    assert first.status == second.status == 200
    assert first.json()["status"] == second.json()["status"] == "cancelled"
    [execution] = executions()
    assert execution["status"] == "ABORTED"
    document = invoke(api, job_event("get_job", job_id)).json()
    assert document["status"] == "cancelled" and document["result_url"] is None


def test_delete_leaves_a_finished_job(api: ModuleType) -> None:
    job_id = submit(api)["job_id"]
    work(job_id, status="failed", error={"code": "validation_error", "message": "bad", "details": []})
    result = invoke(api, job_event("cancel_job", job_id))
    assert result.status == 200
    assert result.json()["status"] == "failed"


# --- the routes in the document and the 405s -------------------------------------------------------------------


def test_openapi_document_has_the_job_routes(api: ModuleType) -> None:
    document = invoke(api, load_event("get_openapi")).json()
    paths = document["paths"]
    assert set(paths["/v1/jobs"]) == {"get", "post"}
    assert set(paths["/v1/jobs/{job_id}"]) == {"get", "delete"}
    post = paths["/v1/jobs"]["post"]
    assert "202" in post["responses"] and "200" not in post["responses"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PairsRequest")
    assert any(p["name"] == "idempotency-key" and p["in"] == "header" for p in post["parameters"])
    assert paths["/v1/jobs/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"
    ].endswith("/JobResponse")


@pytest.mark.parametrize(
    ("method", "path", "allow"), [("PUT", "/v1/jobs", "GET, POST"), ("POST", "/v1/jobs/x", "GET, DELETE")]
)
def test_other_methods_are_405_with_allow(api: ModuleType, method: str, path: str, allow: str) -> None:
    event = at(load_event("list_jobs"), path)
    event["requestContext"]["http"]["method"] = method
    result = invoke(api, event)
    assert result.status == 405
    assert result.headers["allow"] == allow


def test_post_with_signals_stores_them_and_rejects_bad_times_like_the_sync_route(api: ModuleType) -> None:
    # GIVEN the job with all signals WHEN posted THEN request.json carries the signals as validated
    created = submit(api, load_event("post_job_signals"))
    stored = s3_json(record(created["job_id"])["request_key"])
    assert stored["signals"] == {
        "co_hashtag": {"window_seconds": 60, "min_shared": 2},
        "creation_bursts": {"window_seconds": 3600, "min_accounts": 3},
        "clusters": True,
    }
    # AND an unparseable created_at a signal needs is the sync route's 422, before anything runs
    sync = load_event("error_signals_created_at")
    job = at(sync, "/v1/jobs")
    assert_same_error(invoke(api, job), invoke(api, sync))
    assert len(executions()) == 1
