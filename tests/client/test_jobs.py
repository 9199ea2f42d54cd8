"""Client jobs: ``submit_job`` -> :class:`Job` (status, wait, result, cancel), the 504 switch, ``sockpuppet remote
--async``. The API side is a recording server answering what the contract says (the real function and workers are
exercised in ``tests/client/test_jobs_function.py`` and ``tests/integration/test_jobs_http.py``); S3 is moto's
server with real presigned URLs."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from sockpuppet.cli import main
from sockpuppet_client import Client, JobCancelled, JobFailed, SockpuppetError, SyncTimeout
from tests.client.conftest import BUCKET, RecordingServer, Reply, s3_client
from tests.client.test_client import OK_BODY, request_json

JOB_ID = "01kdvw3k8a7v2c9m4x6q0r5t1yb8n3e2hfg4"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
FILES = ["--posts", str(SAMPLE / "posts.tsv"), "--accounts", str(SAMPLE / "accounts.tsv"), "--hashtag", "x"]
TIMEOUT_BODY = {
    "error": {"code": "deadline_exceeded", "message": "too slow; use POST /v1/jobs", "details": []},
    "request_id": "r-504",
}


def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, orjson.dumps(body), headers or {})


def created(job_id: str = JOB_ID) -> Reply:
    return reply(
        {
            "job_id": job_id,
            "status": "queued",
            "status_url": f"x/v1/jobs/{job_id}",
            "created_at": "2026-01-01T00:00:00Z",
        },
        202,
    )


def job_document(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "job_id": JOB_ID,
        "status": status,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:01Z",
        "progress": {"phase": None, "shards_done": 0, "shards_total": None},
        "result_url": None,
        "result_expires_at": None,
        "pair_count": None,
        "error": None,
    } | fields


@pytest.fixture
def result_url(s3_endpoint: str) -> Iterator[str]:
    """A presigned GET of OK_BODY stored gzip in moto's S3, as the merge step stores a job's result."""
    s3 = s3_client(s3_endpoint)
    s3.put_object(Bucket=BUCKET, Key="jobs/o/j/result.json", Body=gzip.compress(orjson.dumps(OK_BODY)))
    yield s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "jobs/o/j/result.json"})


def succeeded(url: str) -> Reply:
    return reply(
        job_document(
            "succeeded",
            progress={"phase": "merging", "shards_done": 3, "shards_total": 3},
            result_url=url,
            result_expires_at="2099-01-01T00:00:00Z",
            pair_count=OK_BODY["pair_count"],
        )
    )


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_submit_job_sends_the_sync_body_with_an_idempotency_key(api: RecordingServer) -> None:
    # GIVEN the API accepting the job
    api.replies.append(created())
    client = Client(api.url)
    # WHEN a job is submitted (records inline)
    job = client.submit_job(posts=[], accounts=[], hashtag="x", max_pairs=5)
    # THEN one gzip JSON POST /v1/jobs with the synchronous body's fields and a fresh Idempotency-Key
    assert job.job_id == JOB_ID
    [received] = api.received
    assert (received.method, received.path) == ("POST", "/v1/jobs")
    assert request_json(api, 0) == {
        "hashtag": "x",
        "min_similarity": 0.8,
        "hashtag_match": "exact",
        "max_pairs": 5,
        "posts": [],
        "accounts": [],
    }
    assert len(received.headers["Idempotency-Key"]) == 32
    # AND a given key is sent as it is; a second call without a key gets another one
    api.replies += [created(), created()]
    client.submit_job(posts=[], accounts=[], hashtag="x", idempotency_key="mine")
    client.submit_job(posts=[], accounts=[], hashtag="x")
    keys = [request.headers["Idempotency-Key"] for request in api.received]
    assert keys[1] == "mine" and len(set(keys)) == 3


def test_submit_retries_while_the_same_key_is_in_progress(api: RecordingServer) -> None:
    # GIVEN a 409 idempotency_key_in_progress, then the answer
    busy = {"error": {"code": "idempotency_key_in_progress", "message": "retry", "details": []}, "request_id": "r"}
    api.replies += [reply(busy, 409, {"Retry-After": "0"}), created()]
    # WHEN submitted THEN the same request (same key) is sent again and the job is returned
    job = Client(api.url).submit_job(posts=[], accounts=[], hashtag="x", idempotency_key="k")
    assert job.job_id == JOB_ID
    assert [request.headers["Idempotency-Key"] for request in api.received] == ["k", "k"]


def test_wait_polls_until_final_and_draws_progress_on_a_terminal(api: RecordingServer, result_url: str) -> None:
    # GIVEN a job that is queued, then searching 1 of 3 shards, then 3 of 3, then succeeded
    api.replies += [
        reply(job_document("queued")),
        reply(job_document("running", progress={"phase": "searching", "shards_done": 1, "shards_total": 3})),
        reply(job_document("running", progress={"phase": "searching", "shards_done": 3, "shards_total": 3})),
        succeeded(result_url),
    ]
    job = Client(api.url).job(JOB_ID)
    stream = Tty()
    # WHEN waited for on a terminal
    final = job.wait(poll_interval=0.001, stream=stream)
    # THEN four GETs of the job, the final document, and a tqdm bar that showed the phase and the shard counts
    assert final["status"] == "succeeded"
    assert [(r.method, r.path) for r in api.received] == [("GET", f"/v1/jobs/{JOB_ID}")] * 4
    drawn = stream.getvalue()
    assert "searching" in drawn and "1/3" in drawn
    # AND result() follows the result URL (gunzipped) without asking the API again
    assert job.result() == OK_BODY | {"result_url": result_url, "result_expires_at": "2099-01-01T00:00:00Z"}
    assert len(api.received) == 4


def test_wait_draws_nothing_off_a_terminal_and_times_out(api: RecordingServer) -> None:
    api.replies += [reply(job_document("running"))] * 50
    stream = io.StringIO()
    with pytest.raises(TimeoutError):
        Client(api.url).job(JOB_ID).wait(timeout=0.05, poll_interval=0.01, stream=stream)
    assert stream.getvalue() == ""


def test_result_of_a_failed_job_raises_its_error_object(api: RecordingServer) -> None:
    # GIVEN a job that failed on a line of its upload
    error = {
        "code": "validation_error",
        "message": "invalid accounts: line 3",
        "details": [{"loc": ["body", "accounts_upload_id", "line", 3], "msg": "expected 3 fields"}],
    }
    api.replies.append(reply(job_document("failed", error=error)))
    # WHEN its result is asked for THEN JobFailed carries the error object (and a 4xx status: the caller's input)
    with pytest.raises(JobFailed) as failed:
        Client(api.url).job(JOB_ID).result(progress=False)
    assert (failed.value.status, failed.value.code, failed.value.details) == (422, "validation_error", error["details"])
    assert failed.value.job["error"] == error


def test_result_of_a_cancelled_job_raises(api: RecordingServer) -> None:
    api.replies.append(reply(job_document("cancelled")))
    with pytest.raises(JobCancelled):
        Client(api.url).job(JOB_ID).result(progress=False)


def test_cancel_is_a_delete_of_the_job(api: RecordingServer) -> None:
    api.replies.append(reply(job_document("cancelled")))
    assert Client(api.url).job(JOB_ID).cancel()["status"] == "cancelled"
    assert (api.received[0].method, api.received[0].path) == ("DELETE", f"/v1/jobs/{JOB_ID}")


def test_jobs_follows_next_token(api: RecordingServer) -> None:
    # GIVEN two pages of jobs
    summary = {"job_id": "j", "status": "queued", "created_at": "t", "updated_at": "t", "status_url": "u"}
    api.replies += [
        reply({"jobs": [summary | {"job_id": "j2"}, summary | {"job_id": "j1"}], "next_token": "t/1+="}),
        reply({"jobs": [summary | {"job_id": "j0"}], "next_token": None}),
    ]
    # WHEN iterated THEN every job in order, the token passed back URL-encoded
    assert [job["job_id"] for job in Client(api.url).jobs(page_size=2)] == ["j2", "j1", "j0"]
    assert [r.path for r in api.received] == ["/v1/jobs?limit=2", "/v1/jobs?limit=2&next_token=t%2F1%2B%3D"]


def test_a_504_raises_sync_timeout_that_submits_the_same_request_as_a_job(api: RecordingServer) -> None:
    # GIVEN the synchronous route answering 504, then the job route accepting the job
    api.replies += [reply(TIMEOUT_BODY, 504), created()]
    client = Client(api.url)
    # WHEN the pairs are asked for THEN SyncTimeout (a SockpuppetError with the 504's code)
    with pytest.raises(SyncTimeout) as timeout:
        client.similar_account_pairs(posts=[{"author_id": 1}], accounts=[], hashtag="x")
    assert (timeout.value.status, timeout.value.code) == (504, "deadline_exceeded")
    assert isinstance(timeout.value, SockpuppetError)
    # AND its submit_job() posts the very same body to /v1/jobs
    job = timeout.value.submit_job()
    assert job.job_id == JOB_ID
    assert [r.path for r in api.received] == ["/v1/similar-account-pairs", "/v1/jobs"]
    assert api.received[1].body == api.received[0].body


def test_on_timeout_job_switches_by_itself(api: RecordingServer, result_url: str) -> None:
    # GIVEN the synchronous route answering 504, the job accepted, running, then succeeded
    api.replies += [reply(TIMEOUT_BODY, 504), created(), succeeded(result_url)]
    # WHEN the pairs are asked for with on_timeout="job"
    body = Client(api.url).similar_account_pairs(posts=[], accounts=[], hashtag="x", on_timeout="job", progress=False)
    # THEN the job's result document is returned
    assert body["similar_account_pairs"] == OK_BODY["similar_account_pairs"]
    assert [r.path for r in api.received] == ["/v1/similar-account-pairs", "/v1/jobs", f"/v1/jobs/{JOB_ID}"]


def test_other_errors_do_not_switch(api: RecordingServer) -> None:
    error = {"error": {"code": "validation_error", "message": "bad", "details": []}, "request_id": "r"}
    api.replies.append(reply(error, 422))
    with pytest.raises(SockpuppetError) as raised:
        Client(api.url).similar_account_pairs(posts=[], accounts=[], hashtag="x", on_timeout="job")
    assert not isinstance(raised.value, SyncTimeout)
    assert len(api.received) == 1


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACLI")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_remote_async_runs_a_job_and_prints_its_result(
    api: RecordingServer, aws_env: None, result_url: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # GIVEN an API accepting the job, then reporting it succeeded
    api.replies += [created(), succeeded(result_url)]
    # WHEN `sockpuppet remote --async --format csv` runs
    assert main(["remote", "--url", api.url, *FILES, "--async", "--idempotency-key", "k1", "--format", "csv"]) == 0
    # THEN the job was submitted (signed, with the key) and its result printed like `sockpuppet pairs`
    captured = capsysbinary.readouterr()
    assert captured.out == b"id1,id2,similarity\na1,a2,0.875\n"
    assert f"job {JOB_ID}".encode() in captured.err
    assert [r.path for r in api.received] == ["/v1/jobs", f"/v1/jobs/{JOB_ID}"]
    assert api.received[0].headers["Idempotency-Key"] == "k1"
    assert "Credential=AKIACLI/" in api.received[0].headers["Authorization"]


def test_remote_504_hints_at_async_or_switches_with_on_timeout_job(
    api: RecordingServer, aws_env: None, result_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the synchronous route answering 504 WHEN `sockpuppet remote` runs THEN exit 1 with the hint
    api.replies.append(reply(TIMEOUT_BODY, 504))
    assert main(["remote", "--url", api.url, *FILES]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sockpuppet: error: 504 deadline_exceeded")
    assert "--async" in err
    # AND with --on-timeout job it switches to a job and prints its result
    api.replies += [reply(TIMEOUT_BODY, 504), created(), succeeded(result_url)]
    assert main(["remote", "--url", api.url, *FILES, "--on-timeout", "job"]) == 0
    assert json.loads(capsys.readouterr().out)["similar_account_pairs"] == OK_BODY["similar_account_pairs"]


def test_remote_async_failed_job_exits_2_with_its_error(
    api: RecordingServer, aws_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    error = {"code": "validation_error", "message": "invalid posts: line 2", "details": []}
    api.replies += [created(), reply(job_document("failed", error=error))]
    assert main(["remote", "--url", api.url, *FILES, "--async"]) == 2
    assert "422 validation_error: invalid posts: line 2" in capsys.readouterr().err
