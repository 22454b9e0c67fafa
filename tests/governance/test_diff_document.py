"""Reading OpenAPI documents: JSON and YAML, clear errors for bad input, local $refs with loop protection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governance.diff import (
    OpenAPIDocumentError,
    PointerError,
    load_openapi,
    parse_document,
    resolve_pointer,
    validate_openapi,
)
from governance.diff.document import Resolver
from tests.governance.diff_docs import doc, op

YAML_DOC = """
openapi: 3.0.3
info: {title: Orders, version: 1.0.0}
paths:
  /v1/orders:
    get:
      operationId: listOrders
      x-sunset: 2025-01-31
      responses:
        200: {description: ok}
"""


def test_yaml_is_read_as_plain_json_data():
    document = load_openapi(YAML_DOC)
    operation = document["paths"]["/v1/orders"]["get"]
    assert operation["x-sunset"] == "2025-01-31"  # not a datetime.date
    assert list(operation["responses"]) == ["200"]  # int keys become strings
    assert json.loads(json.dumps(document)) == document


def test_json_and_yaml_files_give_the_same_document(tmp_path: Path):
    from_yaml = load_openapi(YAML_DOC)
    json_file = tmp_path / "orders.json"
    json_file.write_text(json.dumps(from_yaml))
    assert load_openapi(json_file) == from_yaml


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty"),
    ("openapi: [3.0\n  bad", "not valid YAML"),
    ('{"openapi": "3.0.0",', "not valid JSON"),
    ("a: 1\na: 2\n", "Duplicate key 'a'"),
    ('{"a": 1, "a": 2}', "Duplicate key 'a'"),
    ("- just\n- a list\n", "top level"),
    ("swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n", "Swagger 2.0"),
    ("openapi: 2.5.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "3.0 or 3.1"),
    ("openapi: 3.0.0\npaths: {}\n", "/info"),
    ("openapi: 3.0.0\ninfo: {title: t, version: '1'}\n", "/paths: required"),
    ("a: &x [*x]\n", "refers to itself"),
])
def test_bad_input_is_refused_with_a_clear_reason(text, message):
    with pytest.raises(OpenAPIDocumentError) as caught:
        load_openapi(text)
    assert message in str(caught.value)


def test_unreadable_file_is_refused(tmp_path: Path):
    with pytest.raises(OpenAPIDocumentError, match="Cannot read"):
        load_openapi(tmp_path / "missing.yaml")


def test_structural_problems_are_listed_with_pointers():
    document = doc({"items": {"get": {"parameters": [{"name": "x"}], "responses": {"200": {"description": "ok"}}},
                              "post": {"operationId": "x"}}})
    problems = validate_openapi(document)
    assert "/paths/items: path 'items' must start with '/'." in problems
    assert any(p.startswith("/paths/items/get/parameters/0: parameter 'x' has no valid 'in'") for p in problems)
    assert any(p.startswith("/paths/items/post/responses:") for p in problems)


def test_dangling_and_looping_refs_are_reported():
    document = doc(
        {"/v1/a": {"get": op("a", responses={"200": {"$ref": "#/components/responses/Missing"}})}},
        schemas={"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}},
    )
    problems = validate_openapi(document)
    assert any("'#/components/responses/Missing' does not resolve" in p for p in problems)
    assert any("reference loop" in p for p in problems)


def test_a_property_named_like_a_keyword_is_still_checked_for_refs():
    document = doc({}, schemas={"A": {"type": "object", "properties": {"default": {"$ref": "#/components/schemas/Nope"}}}})
    assert any("Nope" in p for p in validate_openapi(document))
    document["components"]["schemas"]["A"]["example"] = {"$ref": "not a reference, just example data"}
    assert len(validate_openapi(document)) == 1


def test_resolver_follows_chains_and_stops_on_loops():
    document = {"a": {"$ref": "#/b"}, "b": {"$ref": "#/c~1d"}, "c/d": {"type": "string"}, "x": {"$ref": "#/y"}, "y": {"$ref": "#/x"}}
    resolver = Resolver(document)
    assert resolver.resolve(document["a"], "/a") == ({"type": "string"}, "/c~1d")
    assert resolver.resolve(document["x"], "/x")[0] == {}
    assert resolver.resolve({"$ref": "other.yaml#/A"}, "/p") == ({"$ref": "other.yaml#/A"}, "/p")


def test_json_pointers_follow_rfc_6901():
    document = {"paths": {"/a/{id}": {"get": {"tags": ["x", "y"]}}}, "m~n": 1}
    assert resolve_pointer(document, "/paths/~1a~1{id}/get/tags/1") == "y"
    assert resolve_pointer(document, "/m~0n") == 1
    assert resolve_pointer(document, "") is document
    with pytest.raises(PointerError):
        resolve_pointer(document, "/paths/~1b")


def test_parse_document_accepts_bytes_with_a_bom():
    assert parse_document(b"\xef\xbb\xbf{\"a\": 1}") == {"a": 1}
