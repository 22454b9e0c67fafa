"""OpenAPI post-processing: every operation documents the problem details it can answer with."""

from __future__ import annotations

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "Stable identifier of the problem type."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong, for a person."},
        "errors": {
            "type": "array",
            "description": "Field errors, for validation problems.",
            "items": {
                "type": "object",
                "properties": {
                    "pointer": {"type": "string", "description": "JSON pointer into the request body."},
                    "field": {"type": "string", "nullable": True},
                    "messages": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["pointer", "messages"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}

_ALWAYS = {
    "400": "The request (body, query or headers) is not valid.",
    "401": "No API key, or an unknown, revoked or expired one.",
    "403": "The key may not do this.",
    "404": "No such resource.",
    "406": "The Accept header asks for a representation the API does not offer.",
    "429": "Too many requests; retry after the Retry-After header's seconds.",
    "500": "The hub failed; quote the X-Correlation-ID to support.",
}
_WRITES = {
    "409": "Conflicts with the current state (not the system of record, illegal status change, key in use).",
    "413": "The request body is over the size limit.",
    "415": "The body is not application/json.",
    "422": "The request is well-formed but breaks a business rule.",
}


def _problem(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def add_problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v"):
            continue
        for method, operation in operations.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            codes = dict(_ALWAYS)
            if method != "get":
                codes.update(_WRITES)
            for code, description in codes.items():
                responses.setdefault(code, _problem(description))
    return result
