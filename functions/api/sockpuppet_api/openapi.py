"""The OpenAPI side of the models: response declarations of the routes and the document as served.

Powertools generates the document from the routes and the Pydantic models (:mod:`sockpuppet_api.models`);
:func:`document` corrects it where Powertools cannot say what the function does. Only ``GET /openapi.json`` (and
the tests) build it, so the import of Powertools' OpenAPI models is deferred to that call.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson

from sockpuppet import __version__
from sockpuppet_api.models import ACCOUNTS_SCHEMA, POSTS_SCHEMA, ErrorResponse, PairsResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

__all__ = ["DATA_ROUTE_ERRORS", "INLINE_QUERY_JSON", "PAIRS_RESPONSES", "SIGV4", "document", "errors", "json_content"]

SIGV4 = [{"sigv4": []}]
"""``security=`` of every route except ``/health``."""


def json_content(model: type) -> dict[str, Any]:
    """``content`` of a JSON response described by a Pydantic model."""
    return {"application/json": {"model": model}}


def errors(*statuses: int) -> dict[int, dict[str, Any]]:
    """``responses=`` entries of error statuses (all with the contract's error body)."""
    return {
        status: {"description": HTTPStatus(status).phrase, "content": json_content(ErrorResponse)}
        for status in statuses
    }


DATA_ROUTE_ERRORS = (400, 403, 404, 413, 415, 422, 500, 503, 504)
PAIRS_RESPONSES = {
    200: {"description": "Pairs (inline or at result_url)", "content": json_content(PairsResponse)}
} | errors(*DATA_ROUTE_ERRORS)

INLINE_QUERY_JSON: dict[str, dict[str, Any]] = {"posts": POSTS_SCHEMA, "accounts": ACCOUNTS_SCHEMA}
"""Query parameters that carry JSON: the document declares them with ``content: application/json``."""


def document(app: APIGatewayHttpResolver) -> bytes:
    """The OpenAPI 3.1 document of ``app``'s routes, as served (JSON bytes)."""
    # Powertools' OpenAPI models cost ~100 ms to import: only the document route pays for them.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    generated = app.get_openapi_json_schema(
        title="sockpuppet",
        version=__version__,
        description="Find likely sock-puppet accounts: accounts posting a hashtag with near-identical screen names.",
        security_schemes={
            "sigv4": APIKey(name="Authorization", in_=APIKeyIn.header, description="AWS Signature Version 4 (IAM)")
        },
    )
    return orjson.dumps(_as_served(orjson.loads(generated)))


def _schema_refs(node: Any) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', orjson.dumps(node).decode()))


def _as_served(generated: dict[str, Any]) -> dict[str, Any]:
    """What Powertools generates, corrected where it cannot say what the function does.

    * Powertools gives every route with validation on a 422 of its own ``HTTPValidationError`` model. Routes that
      can answer 422 declare theirs (the contract's ``ErrorResponse``), which wins; on the others (no input, or
      only a path parameter any string satisfies, such as ``job_id``) Powertools' 422 is never answered: dropped.
    * Query parameters carrying JSON are ``content: application/json`` parameters with the records' schema
      (Powertools can only declare them as plain strings).
    * Component schemas no longer referenced (Powertools' own validation-error models) are dropped.
    """
    for item in generated["paths"].values():
        for operation in item.values():
            parameters = operation.get("parameters", [])
            if "HTTPValidationError" in orjson.dumps(operation["responses"].get("422", {})).decode():
                operation["responses"].pop("422")
            for index, parameter in enumerate(parameters):
                if parameter["in"] == "query" and parameter["name"] in INLINE_QUERY_JSON:
                    parameters[index] = {
                        "name": parameter["name"],
                        "in": "query",
                        "required": False,
                        "description": parameter["description"],
                        "content": {"application/json": {"schema": INLINE_QUERY_JSON[parameter["name"]]}},
                    }
    schemas = generated["components"]["schemas"]
    reachable: set[str] = set()
    pending = _schema_refs({key: value for key, value in generated.items() if key != "components"})
    while pending:
        name = pending.pop()
        if name not in reachable:
            reachable.add(name)
            pending |= _schema_refs(schemas[name])
    generated["components"]["schemas"] = {name: schemas[name] for name in schemas if name in reachable}
    return generated
