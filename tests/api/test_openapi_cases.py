"""Requests generated from the served OpenAPI document (schemathesis), answered in-process by the handler.

Bounded and in-process (the HTTP fuzzing of the local stack lives elsewhere): every generated request, valid or
not, gets a documented status and a body of the documented shape, never a 5xx.
"""

from __future__ import annotations

import base64
import importlib
import json
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from tests.api.conftest import invoke, load_event

pytestmark = pytest.mark.usefixtures("s3")

OPERATIONS = [("POST", "/v1/similar-account-pairs"), ("GET", "/v1/similar-account-pairs"), ("POST", "/v1/uploads")]


def case_event(case: Any) -> dict[str, Any]:
    """The API Gateway event for a generated request (signed, from a committed template)."""
    event = load_event("post_pairs_inline" if case.method.upper() == "POST" else "get_pairs_uploads")
    event["rawPath"] = case.path
    event["requestContext"]["http"].update(method=case.method.upper(), path=case.path)
    query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (case.query or {}).items()}
    event.pop("queryStringParameters", None)
    event["rawQueryString"] = urlencode(query)
    if query:
        event["queryStringParameters"] = query
    event["headers"] = {k: v for k, v in event["headers"].items() if k not in ("content-type", "content-length")}
    event.pop("body", None)
    event["isBase64Encoded"] = False
    if isinstance(case.body, bytes):  # negative cases include raw bytes: API Gateway base64-encodes them
        event["body"] = base64.b64encode(case.body).decode()
        event["isBase64Encoded"] = True
    elif not isinstance(case.body, schemathesis.core.NotSet):
        event["body"] = json.dumps(case.body)
    if "body" in event:
        event["headers"]["content-type"] = "application/json"
    return event


@pytest.fixture(scope="module")
def schema(api: ModuleType) -> Any:
    return schemathesis.openapi.from_dict(json.loads(api.openapi_json()))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_generated_requests_get_documented_answers(
    api: ModuleType, schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = schema[path][method]
    documented = {int(status) for status in operation.definition.raw["responses"]}

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        # GIVEN a request generated from the document WHEN the handler answers
        result = invoke(api, case_event(case))
        # THEN a documented status, no server error, and the documented body shape
        assert result.status < 500, result.raw_body[:300]
        assert result.status in documented, (result.status, result.raw_body[:300])
        models = importlib.import_module("sockpuppet_api.models")  # imported with the app's configuration set
        expected = {200: models.PairsResponse, 201: models.UploadResponse}.get(result.status, models.ErrorResponse)
        expected.model_validate_json(result.raw_body)
        assert result.headers["x-request-id"] == ("req-post-inline" if method == "POST" else "req-get-uploads")

    check()
