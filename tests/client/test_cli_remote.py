"""``sockpuppet remote`` / ``sockpuppet-remote``: wiring of the console scripts to the client (the API side is a
recording server). The command comes from the client package through the ``sockpuppet.commands`` entry point."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import orjson
import pytest

from sockpuppet.cli import SUBCOMMANDS, main
from sockpuppet_client.cli import main as remote_main
from tests.client.conftest import RecordingServer, Reply
from tests.client.test_client import OK_BODY

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
FILES = ["--posts", str(SAMPLE / "posts.tsv"), "--accounts", str(SAMPLE / "accounts.tsv"), "--hashtag", "x"]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials and region from the environment only."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACLI")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_remote_prints_the_pairs_output(
    api: RecordingServer, aws_env: None, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # GIVEN an API answering a 200 body WHEN `sockpuppet remote --format csv` runs THEN the pairs as CSV, signed
    api.replies.append(Reply(200, orjson.dumps(OK_BODY)))
    assert main(["remote", "--url", api.url, *FILES, "--format", "csv"]) == 0
    assert capsysbinary.readouterr().out == b"id1,id2,similarity\na1,a2,0.875\n"
    assert "Credential=AKIACLI/" in api.received[0].headers["Authorization"]
    # AND as JSON: the 200 body
    api.replies.append(Reply(200, orjson.dumps(OK_BODY)))
    assert main(["remote", "--url", api.url, *FILES]) == 0
    assert json.loads(capsysbinary.readouterr().out) == OK_BODY


@pytest.mark.parametrize(("status", "exit_code"), [(422, 2), (503, 1)])
def test_remote_errors_are_one_line(
    api: RecordingServer, aws_env: None, capsys: pytest.CaptureFixture[str], status: int, exit_code: int
) -> None:
    # GIVEN an API error WHEN `sockpuppet remote` runs THEN one line on stderr; exit 2 for 4xx, 1 otherwise
    error = {"error": {"code": "c", "message": "went wrong", "details": []}, "request_id": "r1"}
    api.replies += [Reply(status, orjson.dumps(error), {"Retry-After": "0"})] * 5
    assert main(["remote", "--url", api.url, *FILES]) == exit_code
    assert capsys.readouterr().err == f"sockpuppet: error: {status} c: went wrong [request r1]\n"


def test_remote_without_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN no AWS credentials anywhere WHEN `sockpuppet remote` runs THEN exit 2 with a clear message
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert main(["remote", "--url", "http://127.0.0.1:9", *FILES]) == 2
    assert capsys.readouterr().err.startswith("sockpuppet: error: cannot sign requests: no AWS credentials found")


def test_sockpuppet_remote_script_is_the_remote_command(
    api: RecordingServer, aws_env: None, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # GIVEN an API answering a 200 body WHEN the `sockpuppet-remote` console script runs THEN `remote`'s output
    api.replies.append(Reply(200, orjson.dumps(OK_BODY)))
    assert remote_main(["--url", api.url, *FILES, "--format", "csv"]) == 0
    assert capsysbinary.readouterr().out == b"id1,id2,similarity\na1,a2,0.875\n"


def test_the_library_alone_has_no_remote_command(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN only the library's own commands (what the Lambda layer carries) WHEN `remote` is asked for THEN usage error
    assert main(["remote", "--url", "http://127.0.0.1:9", *FILES], commands=SUBCOMMANDS) == 2
    assert "invalid choice: 'remote'" in capsys.readouterr().err
    # AND the layer's sources never import the client
    layer = Path(__file__).resolve().parents[2] / "layers" / "sockpuppet" / "sockpuppet"
    importing = re.compile(r"^\s*(from|import)\s+sockpuppet_client\b", re.MULTILINE)
    assert not [path for path in layer.rglob("*.py") if importing.search(path.read_text(encoding="utf-8"))]


def test_remote_plugin_that_cannot_import_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the client package cannot be imported at all WHEN `sockpuppet remote` runs THEN exit 2 naming the extra
    monkeypatch.setitem(sys.modules, "sockpuppet_client", None)
    monkeypatch.setitem(sys.modules, "sockpuppet_client.cli", None)
    assert main(["remote", "--url", "http://127.0.0.1:9", *FILES]) == 2
    err = capsys.readouterr().err
    assert "`sockpuppet remote` needs the HTTP client (sockpuppet_client.cli is not installed)" in err
    assert err.rstrip().endswith("pip install 'sockpuppet[cli]'")


def test_remote_without_the_client_package(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the client package is not importable WHEN `sockpuppet remote` runs THEN exit 2 naming the extra
    monkeypatch.setitem(sys.modules, "sockpuppet_client", None)
    assert main(["remote", "--url", "http://127.0.0.1:9", *FILES]) == 2
    err = capsys.readouterr().err
    assert "needs the HTTP client (sockpuppet_client is not installed): pip install 'sockpuppet[cli]'" in err


def test_remote_refuses_graphml(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN --format graphml WHEN parsed THEN a usage error (remote writes json or csv)
    assert main(["remote", "--url", "http://127.0.0.1:9", *FILES, "--format", "graphml"]) == 2
    assert "invalid choice: 'graphml'" in capsys.readouterr().err
