"""Small OpenAPI document builders for the breaking-change and style tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from governance.diff import resolve_pointer

FIXTURES = Path(__file__).resolve().parents[2] / "governance" / "fixtures" / "openapi"


def doc(paths: dict, *, schemas: dict | None = None, openapi: str = "3.0.3", version: str = "1.0.0", **top: Any) -> dict:
    document: dict[str, Any] = {"openapi": openapi, "info": {"title": "Orders", "version": version}, "paths": paths}
    components = top.pop("components", {})
    if schemas:
        components["schemas"] = schemas
    if components:
        document["components"] = components
    document.update(top)
    return document


def op(operation_id: str = "op", **fields: Any) -> dict:
    operation = {"operationId": operation_id, "responses": {"200": {"description": "ok"}}}
    operation.update(fields)
    return operation


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def request_pair(old_schema: dict, new_schema: dict, **doc_fields: Any) -> tuple[dict, dict]:
    """POST /v1/items whose JSON request body changes from old_schema to new_schema."""

    def build(schema):
        body = {"required": True, "content": json_content(schema)}
        return doc({"/v1/items": {"post": op("createItem", requestBody=body)}}, **copy.deepcopy(doc_fields))

    return build(old_schema), build(new_schema)


def response_pair(old_schema: dict, new_schema: dict, **doc_fields: Any) -> tuple[dict, dict]:
    """GET /v1/items whose 200 JSON response body changes from old_schema to new_schema."""

    def build(schema):
        responses = {"200": {"description": "ok", "content": json_content(schema)}}
        return doc({"/v1/items": {"get": op("listItems", responses=responses)}}, **copy.deepcopy(doc_fields))

    return build(old_schema), build(new_schema)


def params_pair(old_params: list, new_params: list, path: str = "/v1/items") -> tuple[dict, dict]:
    """GET on ``path`` whose parameters change from old_params to new_params."""
    return (
        doc({path: {"get": op("listItems", parameters=old_params)}}),
        doc({path: {"get": op("listItems", parameters=new_params)}}),
    )


def obj(properties: dict, required: list | None = None, **extra: Any) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def assert_pointers_resolve(findings, old: dict, new: dict) -> None:
    """Every finding's JSON pointer names a real node of the document it says it points into."""
    for finding in findings:
        target = new if finding.location.document == "new" else old
        resolve_pointer(target, finding.location.pointer)  # raises PointerError when it does not exist
