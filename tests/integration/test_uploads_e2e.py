"""Uploads and URL results end to end: real HTTP against the local stack (RIE + HTTP front + moto S3).

Presigned POSTs are checked on their decoded policy (moto does not enforce policies); results are compared with
the library run in-process on the same files.
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sockpuppet import find_similar_accounts, read_accounts, read_posts
from sockpuppet.cli import main as cli_main
from sockpuppet_client import Client, SigV4Auth
from sockpuppet_local.stack import LocalStack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
NOT_RESULT = ("result_url", "result_expires_at")


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A multi-MB posts.tsv and accounts.tsv in the original format (the seeded sample generator, scaled up)."""
    out = tmp_path_factory.mktemp("big")
    generator = ROOT / "scripts" / "generate_sample.py"
    command = [sys.executable, str(generator), "--posts", "30000", "--accounts", "15000", "--seed", "11"]
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    posts, accounts = out / "posts.tsv", out / "accounts.tsv"
    assert posts.stat().st_size > 4_000_000
    return posts, accounts


@pytest.fixture
def api(local_stack: LocalStack) -> Iterator[requests.Session]:
    """A plain requests session; each call passes its signer."""
    with requests.Session() as session:
        yield session


def expected_body(posts: Path, accounts: Path, hashtag: str, **options: Any) -> dict[str, Any]:
    result = find_similar_accounts(read_posts(posts), read_accounts(accounts), hashtag=hashtag, **options)
    return {key: value for key, value in result.to_dict().items() if key not in NOT_RESULT}


def without_url(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in NOT_RESULT}


def create_upload(api: requests.Session, base_url: str, auth: SigV4Auth, **request: Any) -> dict[str, Any]:
    response = api.post(f"{base_url}/v1/uploads", json=request, auth=auth, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def post_file(ticket: dict[str, Any], path: Path) -> requests.Response:
    """The presigned POST with plain requests: policy fields, then the file."""
    with path.open("rb") as stream:
        return requests.post(ticket["url"], data=ticket["fields"], files={"file": stream}, timeout=60)


def test_upload_ticket_policy(api: requests.Session, local_stack: LocalStack, signer: SigV4Auth) -> None:
    # GIVEN a signed request for a TSV posts upload
    before = datetime.now(UTC)
    ticket = create_upload(api, local_stack.base_url, signer, kind="posts", format="tsv", content_encoding=None)
    # WHEN its presigned POST policy is decoded
    policy = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    conditions: dict[str, Any] = {}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            conditions.update({name.lower(): value for name, value in condition.items()})
        else:
            conditions[condition[0].lower().lstrip("$")] = condition[1:]
    # THEN it binds the key, the bucket, the size range, the content type and expires within minutes
    assert conditions["key"] == ticket["fields"]["key"]
    assert ticket["upload_id"] in ticket["fields"]["key"]
    assert conditions["bucket"] == local_stack.bucket
    assert conditions["content-length-range"] == [1, ticket["max_bytes"]]
    assert conditions["content-type"] == ticket["fields"]["Content-Type"] == "text/tab-separated-values"
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert before < expiration <= before + timedelta(minutes=16)
    assert abs(expiration - datetime.fromisoformat(ticket["expires_at"].replace("Z", "+00:00"))) < timedelta(seconds=5)
    # AND two tickets never share an id
    other = create_upload(api, local_stack.base_url, signer, kind="posts", format="tsv", content_encoding=None)
    assert other["upload_id"] != ticket["upload_id"]


def test_uploads_with_url_result_match_the_library(
    api: requests.Session, local_stack: LocalStack, signer: SigV4Auth, big_files: tuple[Path, Path]
) -> None:
    # GIVEN multi-MB posts.tsv / accounts.tsv uploaded as they are through presigned POSTs
    posts, accounts = big_files
    ids = {}
    for kind, path in (("posts", posts), ("accounts", accounts)):
        ticket = create_upload(api, local_stack.base_url, signer, kind=kind, format="tsv", content_encoding=None)
        assert post_file(ticket, path).status_code in (200, 201, 204)
        ids[f"{kind}_upload_id"] = ticket["upload_id"]
    # WHEN the job runs on both upload ids with result_delivery="url"
    request = {**ids, "hashtag": "#diedsuddenly", "min_similarity": 0.8, "result_delivery": "url"}
    response = api.post(f"{local_stack.base_url}/v1/similar-account-pairs", json=request, auth=signer, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    # THEN the pairs are behind a presigned GET that plain HTTP can fetch, and they equal the library's result
    assert body["similar_account_pairs"] is None
    assert body["result_url"].startswith(local_stack.s3_endpoint)
    download = requests.get(body["result_url"], timeout=60)
    assert download.status_code == 200
    data = download.content
    document = json.loads(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    expected = expected_body(posts, accounts, "#diedsuddenly")
    assert expected["pair_count"] > 0
    assert without_url(document) == expected
    assert without_url(body) == expected | {"similar_account_pairs": None}


def test_foreign_and_unknown_upload_ids_are_404(
    api: requests.Session, local_stack: LocalStack, signer: SigV4Auth, other_signer: SigV4Auth
) -> None:
    # GIVEN accounts uploaded by one caller
    ticket = create_upload(api, local_stack.base_url, signer, kind="accounts", format="tsv", content_encoding=None)
    assert post_file(ticket, SAMPLE / "accounts.tsv").status_code in (200, 201, 204)
    url = f"{local_stack.base_url}/v1/similar-account-pairs"
    posts = read_posts(SAMPLE / "posts.tsv")[:50]
    # WHEN another caller (another access key) uses that upload id THEN 404, the answer for an id nobody created
    codes = []
    for auth, upload_id in ((other_signer, ticket["upload_id"]), (signer, secrets.token_urlsafe(24))):
        request = {"posts": posts, "accounts_upload_id": upload_id, "hashtag": "#diedsuddenly"}
        response = api.post(url, json=request, auth=auth, timeout=30)
        assert response.status_code == 404, response.text
        error = response.json()
        assert error["request_id"] == response.headers["X-Request-Id"]
        codes.append(error["error"]["code"])
    assert codes[0] == codes[1]
    # AND its owner can use it
    request = {"posts": posts, "accounts_upload_id": ticket["upload_id"], "hashtag": "#diedsuddenly"}
    assert api.post(url, json=request, auth=signer, timeout=30).status_code == 200


def test_malformed_tsv_upload_is_422_naming_the_line(
    api: requests.Session, local_stack: LocalStack, signer: SigV4Auth, tmp_path: Path
) -> None:
    # GIVEN a posts.tsv whose line 4 has an unreadable is_repost, uploaded as it is
    lines = (SAMPLE / "posts.tsv").read_text().splitlines(keepends=True)[:10]
    fields = lines[3].split("\t")
    fields[3] = "maybe"
    lines[3] = "\t".join(fields)
    bad = tmp_path / "posts.tsv"
    bad.write_text("".join(lines))
    ticket = create_upload(api, local_stack.base_url, signer, kind="posts", format="tsv", content_encoding=None)
    assert post_file(ticket, bad).status_code in (200, 201, 204)
    # WHEN the job uses it
    request = {"posts_upload_id": ticket["upload_id"], "accounts": [], "hashtag": "#diedsuddenly"}
    response = api.post(f"{local_stack.base_url}/v1/similar-account-pairs", json=request, auth=signer, timeout=30)
    # THEN 422 with the line and the field in the details
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert any(detail["loc"][-3:] == ["line", 4, "is_repost"] for detail in details), details


@pytest.mark.parametrize("delivery", ["auto", "url"])
def test_client_inline_and_upload_paths_equal_the_library(
    local_stack: LocalStack, big_files: tuple[Path, Path], delivery: str
) -> None:
    # GIVEN the client with SigV4 credentials
    posts, accounts = big_files
    expected_sample = expected_body(SAMPLE / "posts.tsv", SAMPLE / "accounts.tsv", "#diedsuddenly", max_pairs=20)
    expected_big = expected_body(posts, accounts, "diedsuddenly", min_similarity=0.85)
    credentials = ("AKIDLOCALALICE", "alice-secret")
    # WHEN small files go inline
    with Client(local_stack.base_url, auth=credentials, region=local_stack.region) as client:
        small = client.similar_account_pairs(
            posts=SAMPLE / "posts.tsv",
            accounts=SAMPLE / "accounts.tsv",
            hashtag="#diedsuddenly",
            max_pairs=20,
            result_delivery=delivery,  # type: ignore[arg-type]
        )
    # AND multi-MB files go through uploads (inline limit below their size)
    with Client(
        local_stack.base_url, auth=credentials, region=local_stack.region, inline_limit_bytes=1_000_000
    ) as client:
        big = client.similar_account_pairs(
            posts=posts,
            accounts=accounts,
            hashtag="diedsuddenly",
            min_similarity=0.85,
            result_delivery=delivery,  # type: ignore[arg-type]
        )
    # THEN both equal the library
    assert without_url(small) == expected_sample
    assert without_url(big) == expected_big
    assert (big["result_url"] is not None) == (delivery == "url")


def test_client_records_through_uploads(local_stack: LocalStack) -> None:
    # GIVEN records and an inline limit of 0 (everything is uploaded as gzip JSON Lines)
    posts, accounts = read_posts(SAMPLE / "posts.tsv"), read_accounts(SAMPLE / "accounts.tsv")
    with Client(
        local_stack.base_url, auth=("AKIDLOCALALICE", "alice-secret"), region=local_stack.region, inline_limit_bytes=0
    ) as client:
        body = client.similar_account_pairs(posts=posts, accounts=accounts, hashtag="#diedsuddenly")
    # THEN the result equals the library's
    assert without_url(body) == expected_body(SAMPLE / "posts.tsv", SAMPLE / "accounts.tsv", "#diedsuddenly")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_remote_command_prints_what_pairs_prints(
    local_stack: LocalStack,
    big_files: tuple[Path, Path],
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # GIVEN credentials in the environment and the multi-MB files
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALCAROL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "carol-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    posts, accounts = big_files
    files = ["--posts", str(posts), "--accounts", str(accounts), "--hashtag", "diedsuddenly", "--format", fmt]
    # WHEN `sockpuppet remote` and `sockpuppet pairs` run on them
    assert cli_main(["remote", "--url", local_stack.base_url, "--region", local_stack.region, *files]) == 0
    remote = capsysbinary.readouterr().out
    assert cli_main(["pairs", *files]) == 0
    # THEN the outputs are identical
    assert remote == capsysbinary.readouterr().out
