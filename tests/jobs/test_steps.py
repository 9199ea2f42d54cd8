"""The job steps on moto's S3 and DynamoDB (``mock_aws``): what each step writes, errors, cancel, clean-up."""

from __future__ import annotations

import json

import orjson
import pytest

from sockpuppet import find_similar_accounts
from sockpuppet_jobs import steps
from sockpuppet_jobs.records import JobNotActive
from sockpuppet_jobs.storage import JobStore
from tests.jobs.conftest import BUCKET, OWNER, Aws

HASHTAG = "#diedsuddenly"
NAMES = ["anna_smith", "anna_smith1", "anna_smyth", "jo_brown", "jo_br0wn", "mike", "mikey", "truth_seeker"]


def request_body(**extra: object) -> dict:
    accounts = [{"id": f"a{i}", "screen_name": name} for i, name in enumerate(NAMES * 2)]
    accounts = [{"id": f"a{i}", "screen_name": a["screen_name"] + str(i // len(NAMES))} for i, a in enumerate(accounts)]
    posts = [{"author_id": a["id"], "is_repost": False, "hashtags": [HASHTAG]} for a in accounts]
    return {"posts": posts, "accounts": accounts, "hashtag": HASHTAG, "min_similarity": 0.7, **extra}


def run_all(aws: Aws, execution: dict, max_names: int) -> dict:
    """prepare -> every shard -> merge -> finish, as the state machine orders them."""
    prepared = steps.prepare(execution, store=aws.store, records=aws.records, max_names=max_names, max_pairs=1000)
    for item in aws.store.get_json(prepared["plan_key"]):
        steps.search(item, store=aws.store, records=aws.records)
    merged = steps.merge({**execution, "shards_total": prepared["shards_total"]}, store=aws.store, records=aws.records)
    return steps.finish({**execution, **merged}, store=aws.store, records=aws.records) | {"prepared": prepared}


@pytest.mark.parametrize("max_names", [2, 4, 100])
def test_steps_produce_the_library_document_for_every_shard_size(aws: Aws, max_names: int) -> None:
    # GIVEN a queued job
    body = request_body()
    execution = aws.queue(f"job-{max_names}", body)
    # WHEN every step runs
    outcome = run_all(aws, execution, max_names)
    # THEN the job succeeded with the library's document (max_pairs defaulting to MAX_PAIRS), whatever the shards
    assert outcome["status"] == "succeeded"
    record = aws.record(execution["job_id"])
    assert record["status"] == {"S": "succeeded"}
    expected = find_similar_accounts(
        body["posts"], body["accounts"], hashtag=HASHTAG, min_similarity=0.7, max_pairs=1000
    )
    result = aws.store.get_bytes(record["result_key"]["S"])
    assert result == orjson.dumps(expected.to_dict())
    assert int(record["pair_count"]["N"]) == expected.pair_count > 0
    total = outcome["prepared"]["shards_total"]
    assert (total == 1) == (max_names == 100)
    assert record["progress"]["M"]["shards_done"] == record["progress"]["M"]["shards_total"] == {"N": str(total)}


def test_invalid_records_fail_prepare_with_the_sync_error_object_and_nothing_written(aws: Aws) -> None:
    # GIVEN a job whose third account has no screen_name
    body = request_body()
    del body["accounts"][2]["screen_name"]
    execution = aws.queue("bad", body)
    # WHEN prepare runs
    with pytest.raises(steps.InvalidInput) as caught:
        steps.prepare(execution, store=aws.store, records=aws.records, max_names=4, max_pairs=1000)
    # THEN its error object locates the field as the synchronous route does, and the message carries it as JSON
    error = caught.value.error
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["body", "accounts", 2, "screen_name"]
    assert json.loads(str(caught.value)) == error
    # AND prepare wrote nothing but left the record running (the failure branch records the error)
    assert aws.names("bad") == {"request.json"}


def test_an_upload_is_read_by_its_key_and_its_errors_name_the_line(aws: Aws) -> None:
    # GIVEN an accounts upload (JSON Lines) whose line 2 is not JSON
    key = f"uploads/{OWNER}/upload-1"
    aws.s3.put_object(
        Bucket=BUCKET,
        Key=key,
        Body=b'{"id": "a1", "screen_name": "anna"}\n{not json\n',
        Metadata={"kind": "accounts", "format": "jsonl", "content-encoding": "identity"},
    )
    body = request_body()
    del body["accounts"]
    execution = aws.queue("upload", {**body, "accounts_upload_key": key})
    # WHEN prepare reads it THEN the error is at the upload's line 2, under accounts_upload_id
    with pytest.raises(steps.InvalidInput) as caught:
        steps.prepare(execution, store=aws.store, records=aws.records, max_names=4, max_pairs=1000)
    assert caught.value.error["details"][0]["loc"][:4] == ["body", "accounts_upload_id", "line", 2]


def test_a_missing_upload_is_upload_not_found(aws: Aws) -> None:
    # GIVEN a job naming an upload id that is not in the bucket (expired)
    body = request_body()
    del body["posts"]
    execution = aws.queue("gone", {**body, "posts_upload_id": "expired-upload"})
    # WHEN prepare runs THEN the job fails with upload_not_found at posts_upload_id
    with pytest.raises(steps.InvalidInput) as caught:
        steps.prepare(execution, store=aws.store, records=aws.records, max_names=4, max_pairs=1000)
    assert caught.value.error["code"] == "upload_not_found"
    assert caught.value.error["details"] == [{"loc": ["body", "posts_upload_id"], "msg": "upload not found"}]


def test_merge_fails_when_a_shard_has_no_output(aws: Aws) -> None:
    # GIVEN a fanned-out job whose shard 1 never wrote its output (its worker failed for good)
    execution = aws.queue("lost", request_body())
    prepared = steps.prepare(execution, store=aws.store, records=aws.records, max_names=4, max_pairs=1000)
    for item in aws.store.get_json(prepared["plan_key"]):
        if item["index"] != 1:
            steps.search(item, store=aws.store, records=aws.records)
    # WHEN merge runs THEN it refuses to build a result
    with pytest.raises(steps.ShardMissing, match="shard 1 of"):
        steps.merge({**execution, "shards_total": prepared["shards_total"]}, store=aws.store, records=aws.records)
    assert "result.json" not in aws.names("lost")


def test_workers_never_move_a_job_out_of_cancelled(aws: Aws) -> None:
    # GIVEN a job that ran to its merge and was cancelled just before its outcome was recorded
    execution = aws.queue("cancel", request_body())
    prepared = steps.prepare(execution, store=aws.store, records=aws.records, max_names=100, max_pairs=1000)
    steps.search(prepared["first"], store=aws.store, records=aws.records)
    merged = steps.merge({**execution, "shards_total": 1}, store=aws.store, records=aws.records)
    aws.set_status("cancel", "cancelled")
    # WHEN the outcome steps run
    outcome = steps.finish({**execution, **merged}, store=aws.store, records=aws.records)
    failed = steps.fail({**execution, "failure": {"Error": "States.TaskFailed"}}, store=aws.store, records=aws.records)
    # THEN the record stays cancelled, and the result written meanwhile is gone
    assert outcome == {"status": "cancelled"}
    assert failed["status"] == "cancelled"
    assert aws.record("cancel")["status"] == {"S": "cancelled"}
    assert "result_key" not in aws.record("cancel")
    assert "result.json" not in aws.names("cancel")
    # AND every other worker write refuses too
    with pytest.raises(JobNotActive):
        aws.records.start(OWNER, "cancel")
    with pytest.raises(JobNotActive):
        aws.records.shard_done(OWNER, "cancel")


def test_fail_records_the_error_object_and_deletes_all_but_the_request(aws: Aws) -> None:
    # GIVEN a job that prepared and searched, then failed with an input error (as the Catch hands it over)
    execution = aws.queue("failing", request_body())
    prepared = steps.prepare(execution, store=aws.store, records=aws.records, max_names=4, max_pairs=1000)
    steps.search(aws.store.get_json(prepared["plan_key"])[0], store=aws.store, records=aws.records)
    error = {"code": "validation_error", "message": "posts.3.author_id: required", "details": [{"loc": [], "msg": "x"}]}
    cause = json.dumps({"errorMessage": json.dumps(error), "errorType": "InvalidInput", "stackTrace": ["..."]})
    # WHEN the failure is recorded
    failure = {"Error": "InvalidInput", "Cause": cause}
    outcome = steps.fail({**execution, "failure": failure}, store=aws.store, records=aws.records)
    # THEN the record is failed with exactly that error object and only the request is left
    assert outcome == {"status": "failed", "error": error}
    record = aws.record("failing")
    assert record["status"] == {"S": "failed"}
    assert record["error"]["M"]["code"] == {"S": "validation_error"}
    assert aws.names("failing") == {"request.json"}


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ({"Error": "States.Timeout", "Cause": ""}, "job_timeout"),
        ({"Error": "DeadlineExceeded", "Cause": "{}"}, "job_timeout"),
        ({"Error": "ShardMissing", "Cause": '{"errorMessage": "shard 3", "stackTrace": ["secret"]}'}, "internal_error"),
        ({"Error": "InvalidInput", "Cause": "not json"}, "internal_error"),
        ({"Error": "States.ExceedToleratedFailureThreshold", "Cause": "..."}, "internal_error"),
        (None, "internal_error"),
    ],
)
def test_error_object_never_shows_internals(failure: dict | None, code: str) -> None:
    # GIVEN a caught Step Functions error WHEN it becomes the record's error object
    error = steps.error_object(failure)
    # THEN it has the contract's shape, a stable code and no stack trace or cause text
    assert error is not None and set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert "secret" not in json.dumps(error) and "shard 3" not in json.dumps(error)


def test_a_cancelled_job_has_no_error_object() -> None:
    assert steps.error_object({"Error": "JobNotActive", "Cause": "{}"}) is None


def test_job_keys_live_under_the_owner_and_job() -> None:
    assert JobStore.key(OWNER, "j1", "shards/3.bin") == f"jobs/{OWNER}/j1/shards/3.bin"
