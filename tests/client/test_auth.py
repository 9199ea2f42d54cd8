"""SigV4 signing: what goes on the wire verifies with botocore's own signer."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from sockpuppet_client import Client, SigV4Auth
from sockpuppet_client.auth import region_from_url
from tests.client.conftest import Received, RecordingServer, Reply

FIXED = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """botocore signs with this time (its clock function is the only thing replaced)."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FIXED)
    return FIXED


def expected_authorization(received: Received, host: str, credentials: ReadOnlyCredentials, region: str) -> str:
    """Recompute the signature the way API Gateway does: from the received request and its SignedHeaders."""
    signed = received.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    lower = {name.lower(): value for name, value in received.headers.items()}
    headers = {name: lower[name] for name in signed if name != "host"}
    url = f"http://{host}{received.path}"
    request = AWSRequest(method=received.method, url=url, data=received.body, headers=headers)
    botocore.auth.SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return request.headers["Authorization"]


def test_signed_post_verifies_with_botocore(api: RecordingServer, fixed_clock: datetime) -> None:
    # GIVEN a client with (access key, secret) for eu-west-1
    api.replies.append(Reply(200, b'{"status": "ok"}'))
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
    client = Client(api.url, auth=("AKIDEXAMPLE", credentials.secret_key), region="eu-west-1")
    body = gzip.compress(b'{"hashtag": "#x"}')
    # WHEN it posts a gzip body
    client._checked("POST", f"{api.url}/v1/similar-account-pairs?a=1", data=body, headers={"Content-Encoding": "gzip"})
    # THEN the request carries a SigV4 Authorization for execute-api on the fixed date, which botocore reproduces
    received = api.received[0]
    assert received.body == body
    assert received.headers["X-Amz-Date"] == "20260102T030405Z"
    authorization = received.headers["Authorization"]
    scope = "AKIDEXAMPLE/20260102/eu-west-1/execute-api/aws4_request"
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={scope}")
    assert "SignedHeaders=content-encoding;host;x-amz-date," in authorization
    assert authorization == expected_authorization(received, api.url.split("//")[1], credentials, "eu-west-1")


def test_tampered_body_does_not_verify(api: RecordingServer, fixed_clock: datetime) -> None:
    # GIVEN a signed request as received WHEN its body is changed THEN the recomputed signature differs
    api.replies.append(Reply(200, b"{}"))
    credentials = ReadOnlyCredentials("AKID", "SECRET", None)
    Client(api.url, auth=credentials, region="us-east-1")._checked("POST", f"{api.url}/v1/uploads", data=b'{"a":1}')
    received = api.received[0]
    received.body = b'{"a":2}'
    assert received.headers["Authorization"] != expected_authorization(
        received, api.url.split("//")[1], credentials, "us-east-1"
    )


def test_session_token_is_sent_and_signed(api: RecordingServer, fixed_clock: datetime) -> None:
    # GIVEN temporary botocore Credentials WHEN a request is signed THEN the token is a signed header
    api.replies.append(Reply(200, b"{}"))
    credentials = Credentials("ASIAKEY", "SECRET", "TOKEN123")
    Client(api.url, auth=credentials, region="us-east-1")._checked("GET", f"{api.url}/v1/similar-account-pairs")
    received = api.received[0]
    assert received.headers["X-Amz-Security-Token"] == "TOKEN123"
    assert "x-amz-security-token" in received.headers["Authorization"]
    frozen = credentials.get_frozen_credentials()
    assert received.headers["Authorization"] == expected_authorization(
        received, api.url.split("//")[1], frozen, "us-east-1"
    )


def test_presigned_and_health_requests_are_not_signed(api: RecordingServer) -> None:
    # GIVEN a signing client WHEN it calls /health THEN no Authorization header is sent
    api.replies.append(Reply(200, b'{"status": "ok"}'))
    assert Client(api.url, auth=("AKID", "SECRET"), region="us-east-1").health() == {"status": "ok"}
    assert "Authorization" not in api.received[0].headers


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", "eu-west-1"),
        ("https://abc123.execute-api.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("http://127.0.0.1:3000", None),
        ("https://api.example.com/execute-api.eu-west-1.amazonaws.com", None),
    ],
)
def test_region_from_url(url: str, region: str | None) -> None:
    # GIVEN an API URL WHEN its region is inferred THEN only execute-api hosts give one
    assert region_from_url(url) == region


def test_credentials_without_region_fail_early() -> None:
    # GIVEN credentials and a non-execute-api URL without region WHEN the client is built THEN a clear error
    with pytest.raises(ValueError, match="region"):
        Client("http://127.0.0.1:3000", auth=("AKID", "SECRET"))
    with pytest.raises(TypeError, match="access_key"):
        SigV4Auth(("only-one",), "us-east-1")


def test_from_session_uses_the_botocore_chain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # GIVEN credentials and region in the environment (no config files)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRETENV")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    # WHEN a signer is built from the session THEN it uses them
    auth = SigV4Auth.from_session()
    assert auth.region == "ap-south-1"
    assert auth.credentials.get_frozen_credentials().access_key == "AKIAENV"  # type: ignore[union-attr]
    # AND an unknown profile is an error
    with pytest.raises(Exception, match="nope"):
        SigV4Auth.from_session(profile="nope")
