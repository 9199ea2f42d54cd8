"""Write the API Gateway HTTP API (payload format 2.0) events of ``events/`` (deterministic).

The inline-data events carry a slice of ``data/sample`` (about 50 posts and 30 accounts that posted
``#diedsuddenly``, including planted sock-puppet pairs); the upload events name fixed upload ids that the tests (or a
local stack) put in S3 first. Same sample -> byte-identical files.

Usage::

    python scripts/generate_events.py            # writes events/*.json
    python scripts/generate_events.py --check    # exit 1 if a committed event differs
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sockpuppet import find_similar_accounts, read_accounts, read_posts

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
EVENTS = ROOT / "events"
HASHTAG = "#diedsuddenly"
USER_ARN = "arn:aws:iam::123456789012:user/alice"
POSTS_UPLOAD_ID = "sample-posts-upload-0000000000001"
ACCOUNTS_UPLOAD_ID = "sample-accounts-upload-000000000001"
MISSING_UPLOAD_ID = "no-such-upload-000000000000000000001"
SAMPLE_JOB_ID = "01kdvsvw00sampqejbeventsxyz000000001"  # the form of a job id (36 of [0-9a-z]); tests put real ids
IDEMPOTENCY_KEY = "sample-job-2026-01-01-0001"
EPOCH_MS = 1767225600000  # 2026-01-01T00:00:00Z
N_ACCOUNTS = 30
N_POSTS = 50


def sample_slice() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """About 50 posts / 30 accounts from the sample: pair members first, then other posters, in file order."""
    posts = read_posts(SAMPLE / "posts.tsv")
    accounts = read_accounts(SAMPLE / "accounts.tsv")
    result = find_similar_accounts(posts, accounts, hashtag=HASHTAG)
    in_pairs = {ident for pair in result.similar_account_pairs[:6] for ident in pair[:2]}
    posters = {p["author_id"] for p in posts if not p["is_repost"] and p["hashtags"] and HASHTAG in p["hashtags"]}
    wanted = in_pairs | set(sorted(posters - in_pairs)[: N_ACCOUNTS - len(in_pairs)])
    chosen_accounts = [a for a in accounts if a["id"] in wanted][:N_ACCOUNTS]
    ids = {a["id"] for a in chosen_accounts}
    first_posts = []
    seen: set[str] = set()
    for post in posts:
        tagged = bool(post["hashtags"]) and HASHTAG in post["hashtags"]
        if tagged and post["author_id"] in ids and post["author_id"] not in seen:
            seen.add(post["author_id"])
            first_posts.append(post)
    others = [p for p in posts if p not in first_posts][: N_POSTS - len(first_posts)]
    chosen_posts = [p for p in posts if p in first_posts or p in others]
    return chosen_posts, chosen_accounts


def small_slice(posts: list[dict[str, Any]], accounts: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """A few records (one planted pair and its posts, plus one other poster) small enough for a query string."""
    result = find_similar_accounts(posts, accounts, hashtag=HASHTAG)
    first, second, _ = result.similar_account_pairs[0]
    other = next(a["id"] for a in accounts if a["id"] not in (first, second))
    ids = {first, second, other}
    keep = ("id", "author_id", "is_repost", "hashtags")
    small_posts = [{k: p[k] for k in keep} for p in posts if p["author_id"] in ids]
    small_accounts = [{"id": a["id"], "screen_name": a["screen_name"]} for a in accounts if a["id"] in ids]
    return small_posts, small_accounts


def event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    base64_encoded: bool = False,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    signed: bool = True,
    request_id: str,
    route_key: str = "$default",
) -> dict[str, Any]:
    """One HTTP API v2 event as API Gateway sends it to Lambda."""
    all_headers = {
        "accept": "application/json",
        "accept-encoding": "identity",
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "user-agent": "sockpuppet-events/1.0",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **(headers or {}),
    }
    if body is not None:
        all_headers["content-length"] = str(len(base64.b64decode(body)) if base64_encoded else len(body.encode()))
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": "sockpuppet-events/1.0",
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": EPOCH_MS,
    }
    if signed:
        all_headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/execute-api/..."
        context["authorizer"] = {
            "iam": {
                "accessKey": "AKIAEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDAEXAMPLE",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": USER_ARN,
                "userId": "AIDAEXAMPLE",
            }
        }
    result: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": all_headers,
        "requestContext": context,
        "isBase64Encoded": base64_encoded,
    }
    if query:
        result["queryStringParameters"] = query
    if body is not None:
        result["body"] = body
    return result


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _gzip_b64(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data, mtime=0)).decode()


def build() -> dict[str, dict[str, Any]]:
    """All events by file name."""
    posts, accounts = sample_slice()
    few_posts, few_accounts = small_slice(posts, accounts)
    job = {"posts": posts, "accounts": accounts, "hashtag": HASHTAG, "min_similarity": 0.8}
    json_headers = {"content-type": "application/json"}
    gzip_headers = {"content-type": "application/json", "content-encoding": "gzip"}
    uploads = {"posts_upload_id": POSTS_UPLOAD_ID, "accounts_upload_id": ACCOUNTS_UPLOAD_ID, "hashtag": HASHTAG}
    bad_posts = [dict(p) for p in posts[:3]]
    del bad_posts[1]["author_id"]
    signals = {"co_hashtag": {"window_seconds": 60, "min_shared": 2}, "creation_bursts": {}, "clusters": True}
    account_ids = {a["id"] for a in accounts}
    untimed = next(i for i, p in enumerate(posts) if p["author_id"] in account_ids and HASHTAG in (p["hashtags"] or ()))
    bad_times = [dict(p) for p in posts]
    bad_times[untimed]["created_at"] = "yesterday"
    events = {
        "health": event("GET", "/health", signed=False, request_id="req-health", route_key="GET /health"),
        "get_openapi": event("GET", "/openapi.json", signed=False, request_id="req-openapi"),
        "post_pairs_inline": event(
            "POST", "/v1/similar-account-pairs", body=_json(job), headers=json_headers, request_id="req-post-inline"
        ),
        "get_pairs_query": event(
            "GET",
            "/v1/similar-account-pairs",
            query={
                "hashtag": "diedsuddenly",
                "min_similarity": "0.8",
                "posts": _json(few_posts),
                "accounts": _json(few_accounts),
            },
            request_id="req-get-query",
        ),
        "get_pairs_uploads": event(
            "GET",
            "/v1/similar-account-pairs",
            query={**uploads, "min_similarity": "0.8"},
            request_id="req-get-uploads",
        ),
        "post_pairs_gzip": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_gzip_b64(_json(job).encode()),
            base64_encoded=True,
            headers=gzip_headers,
            request_id="req-post-gzip",
        ),
        "create_upload": event(
            "POST",
            "/v1/uploads",
            body=_json({"kind": "posts", "format": "tsv", "content_encoding": "gzip"}),
            headers=json_headers,
            request_id="req-create-upload",
        ),
        "post_pairs_uploads": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_json(uploads),
            headers=json_headers,
            request_id="req-post-uploads",
        ),
        "error_bad_json": event(
            "POST",
            "/v1/similar-account-pairs",
            body='{"hashtag": "#diedsuddenly", "posts": [',
            headers=json_headers,
            request_id="req-bad-json",
        ),
        "error_bad_gzip": event(
            "POST",
            "/v1/similar-account-pairs",
            body=base64.b64encode(b"this is not gzip").decode(),
            base64_encoded=True,
            headers=gzip_headers,
            request_id="req-bad-gzip",
        ),
        "error_body_too_large": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_gzip_b64(b" " * 60_000_000),
            base64_encoded=True,
            headers=gzip_headers,
            request_id="req-too-large",
        ),
        "error_wrong_content_type": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_json(job),
            headers={"content-type": "text/plain"},
            request_id="req-content-type",
        ),
        "error_validation": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_json({"posts": bad_posts, "accounts": accounts[:3], "hashtag": HASHTAG, "min_similiarity": 0.9}),
            headers=json_headers,
            request_id="req-validation",
        ),
        "error_invalid_records": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_json({"posts": bad_posts, "accounts": accounts[:3], "hashtag": HASHTAG}),
            headers=json_headers,
            request_id="req-invalid-records",
        ),
        "error_unknown_upload": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_json({"posts_upload_id": MISSING_UPLOAD_ID, "accounts": accounts, "hashtag": HASHTAG}),
            headers=json_headers,
            request_id="req-unknown-upload",
        ),
        "post_pairs_signals": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_json({**job, "signals": signals}),
            headers=json_headers,
            request_id="req-post-signals",
        ),
        "error_signals_created_at": event(
            "POST",
            "/v1/similar-account-pairs",
            body=_json({**job, "posts": bad_times, "signals": {"co_hashtag": {}}}),
            headers=json_headers,
            request_id="req-signals-created-at",
        ),
        "post_job_signals": event(
            "POST",
            "/v1/jobs",
            body=_json({**job, "signals": signals}),
            headers=json_headers,
            request_id="req-job-signals",
        ),
        "post_job_inline": event(
            "POST", "/v1/jobs", body=_json(job), headers=json_headers, request_id="req-post-job-inline"
        ),
        "post_job_uploads": event(
            "POST",
            "/v1/jobs",
            body=_json(uploads),
            headers={**json_headers, "idempotency-key": IDEMPOTENCY_KEY},
            request_id="req-post-job-uploads",
        ),
        "get_job": event("GET", f"/v1/jobs/{SAMPLE_JOB_ID}", request_id="req-get-job"),
        "list_jobs": event("GET", "/v1/jobs", query={"limit": "2"}, request_id="req-list-jobs"),
        "cancel_job": event("DELETE", f"/v1/jobs/{SAMPLE_JOB_ID}", request_id="req-cancel-job"),
        "error_unknown_route": event("GET", "/v1/nothing-here", request_id="req-unknown-route"),
        "error_method_not_allowed": event("DELETE", "/v1/uploads", request_id="req-method"),
        "error_missing_identity": event(
            "POST",
            "/v1/uploads",
            body=_json({"kind": "accounts", "format": "json"}),
            headers=json_headers,
            signed=False,
            request_id="req-no-identity",
        ),
    }
    return {f"{name}.json": value for name, value in events.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed files")
    args = parser.parse_args(argv)
    stale = []
    for name, value in build().items():
        text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
        path = EVENTS / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale events: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
