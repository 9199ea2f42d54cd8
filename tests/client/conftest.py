"""Real servers for the client's unit tests: moto's S3 server, and a recording HTTP server for protocol checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

BUCKET = "client-tests"


@dataclass
class Reply:
    """One scripted HTTP answer."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    """One request as it arrived on the wire."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class RecordingServer:
    """A local HTTP server that records each request and answers with the next scripted :class:`Reply`."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
                reply = server.replies.pop(0) if server.replies else Reply(500, b'{"message": "no reply scripted"}')
                self.send_response(reply.status)
                for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def api() -> Iterator[RecordingServer]:
    """A recording HTTP server standing in for protocol corner cases (errors, throttling) of the API."""
    with RecordingServer() as server:
        yield server


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server on a free local port (its endpoint URL)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_endpoint(moto_server: str) -> str:
    """moto's S3 server with the test bucket. The server shares moto's in-process state, which every ``mock_aws``
    block resets when it ends (``test_jobs_function``): the bucket is made sure of for each test."""
    client = s3_client(moto_server)
    if not any(bucket["Name"] == BUCKET for bucket in client.list_buckets()["Buckets"]):
        client.create_bucket(Bucket=BUCKET)
    return moto_server


def s3_client(endpoint: str) -> Any:
    """A SigV4 S3 client for moto's server."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(signature_version="s3v4"),
    )
