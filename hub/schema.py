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
            for code, response in responses.items():
                # An error the operation documents by its description alone is a problem detail too.
                if code[:1] in "45" and "content" not in response and "$ref" not in response:
                    response.update(_problem(response.get("description") or codes.get(code, "")))
    return result


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INTEGER_TYPES = ("SmallIntegerField", "IntegerField", "BigIntegerField", "PositiveSmallIntegerField",
                  "PositiveIntegerField", "PositiveBigIntegerField", "SmallAutoField", "AutoField", "BigAutoField")


def portable_integer_bounds(result, generator, request, public):
    """The same integer bounds on every database.

    Django gives a model integer field the range of its database column (64-bit on SQLite, 32- or
    16-bit on PostgreSQL), and DRF passes it on as ``minimum``/``maximum``; the schema, and so the
    catalog's breaking-change check against the published hub API, would then depend on where it
    was generated. Column-only bounds are written as the 64-bit range (what SQLite already gives).
    """
    from django.db import connection

    ranges = [connection.ops.integer_field_range(name) for name in _INTEGER_TYPES]
    narrow_max = {high for _, high in ranges if high is not None and high != _INT64_MAX}
    narrow_min = {low for low, _ in ranges if low is not None and low not in (0, _INT64_MIN)}
    if not narrow_max and not narrow_min:
        return result
    stack = [result]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "integer":
                if node.get("maximum") in narrow_max:
                    node["maximum"], node["format"] = _INT64_MAX, "int64"
                if node.get("minimum") in narrow_min:
                    node["minimum"], node["format"] = _INT64_MIN, "int64"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return result
