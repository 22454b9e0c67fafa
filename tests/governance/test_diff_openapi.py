"""compare_openapi: every check fires exactly once on a minimal pair, and stays silent on a near miss."""

from __future__ import annotations

import copy

import pytest

from governance.diff import Direction, Severity, compare_openapi
from tests.governance.diff_docs import (
    assert_pointers_resolve,
    doc,
    json_content,
    obj,
    op,
    params_pair,
    request_pair,
    response_pair,
)

STR, INT, NUM = {"type": "string"}, {"type": "integer"}, {"type": "number"}
Q = {"name": "limit", "in": "query", "schema": INT}


def _two_ops(second: bool = True, other_path: bool = False) -> dict:
    paths = {"/v1/items": {"get": op("listItems")}}
    if second:
        paths["/v1/items"]["post"] = op("createItem")
    if other_path:
        paths["/v1/other"] = {"get": op("listOther")}
    return doc(paths)


def _responses(*codes: str) -> dict:
    return doc({"/v1/items": {"get": op("listItems", responses={c: {"description": c} for c in codes})}})


def _secured(security, schemes=None) -> dict:
    operation = op("listItems") if security is None else op("listItems", security=security)
    components = {"securitySchemes": schemes or {
        "api_key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://t/x", "scopes": {"read": "", "write": ""}}}},
    }}
    return doc({"/v1/items": {"get": operation}}, components=components)


def _body(body) -> dict:
    operation = op("createItem") if body is None else op("createItem", requestBody=body)
    return doc({"/v1/items": {"post": operation}})


def _response_content(content) -> dict:
    response = {"description": "ok"} if content is None else {"description": "ok", "content": content}
    return doc({"/v1/items": {"get": op("listItems", responses={"200": response})}})


def _response_header(headers) -> dict:
    return doc({"/v1/items": {"get": op("listItems", responses={"200": {"description": "ok", "headers": headers}})}})


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
REQ, RESP, BOTH = Direction.REQUEST, Direction.RESPONSE, Direction.BOTH

# (check_id, severity, direction, (old, new) that triggers it once, (old, new) near miss that must not)
CASES = [
    ("operation-removed", E, BOTH, (_two_ops(), _two_ops(second=False)), (_two_ops(), _two_ops())),
    ("path-removed", E, BOTH, (_two_ops(other_path=True), _two_ops()), (_two_ops(), _two_ops(second=False))),
    ("operation-added", INFO, BOTH, (_two_ops(second=False), _two_ops()), (_two_ops(), _two_ops())),
    ("response-status-removed", E, RESP, (_responses("200", "404"), _responses("200")), (_responses("200", "404"), _responses("200", "4XX"))),
    ("response-status-added", INFO, RESP, (_responses("200"), _responses("200", "404")), (_responses("200"), _responses("200"))),
    ("required-parameter-added", E, REQ, params_pair([], [{**Q, "required": True}]), params_pair([], [Q])),
    ("required-parameter-added", E, REQ,
     params_pair([], [{"name": "X-Tenant", "in": "header", "required": True, "schema": STR}]),
     params_pair([], [{"name": "Authorization", "in": "header", "required": True, "schema": STR}])),
    ("optional-parameter-added", INFO, REQ, params_pair([], [Q]), params_pair([], [{**Q, "required": True}])),
    ("parameter-became-required", E, REQ, params_pair([Q], [{**Q, "required": True}]), params_pair([Q], [{**Q, "required": False}])),
    ("parameter-became-optional", INFO, REQ, params_pair([{**Q, "required": True}], [Q]), params_pair([Q], [Q])),
    ("parameter-removed", W, REQ, params_pair([Q], []), params_pair([Q], [{**Q, "description": "max"}])),
    ("parameter-location-changed", E, REQ, params_pair([Q], [{**Q, "in": "header"}]), params_pair([Q], [Q])),
    ("parameter-style-changed", E, REQ, params_pair([Q], [{**Q, "explode": False}]), params_pair([Q], [{**Q, "style": "form", "explode": True}])),
    ("path-parameter-renamed", INFO, REQ,
     (params_pair([{"name": "id", "in": "path", "required": True, "schema": STR}], [], path="/v1/items/{id}")[0],
      params_pair([], [{"name": "itemId", "in": "path", "required": True, "schema": STR}], path="/v1/items/{itemId}")[1]),
     params_pair([{"name": "id", "in": "path", "required": True, "schema": STR}], [{"name": "id", "in": "path", "required": True, "schema": STR}], path="/v1/items/{id}")),
    ("request-required-property-added", E, REQ,
     request_pair(obj({"name": STR}), obj({"name": STR, "owner": STR}, ["owner"])),
     request_pair(obj({"name": STR}), obj({"name": STR, "id": {**STR, "readOnly": True}}, ["id"]))),
    ("request-optional-property-added", INFO, REQ, request_pair(obj({"name": STR}), obj({"name": STR, "note": STR})),
     request_pair(obj({"name": STR}), obj({"name": STR, "note": STR}, ["note"]))),
    ("request-property-became-required", E, REQ, request_pair(obj({"name": STR}), obj({"name": STR}, ["name"])),
     request_pair(obj({"name": STR}, ["name"]), obj({"name": STR}, ["name"]))),
    ("request-property-removed", W, REQ, request_pair(obj({"name": STR, "note": STR}), obj({"name": STR})),
     request_pair(obj({"name": STR, "note": STR}), obj({"name": STR, "note": {**STR, "description": "x"}}))),
    ("request-property-removed", E, REQ,
     request_pair(obj({"name": STR, "note": STR}), obj({"name": STR}, additionalProperties=False)),
     request_pair(obj({"name": STR, "note": {**STR, "readOnly": True}}), obj({"name": STR}))),
    ("request-type-changed", E, REQ, request_pair(obj({"qty": STR}), obj({"qty": INT})), request_pair(obj({"qty": INT}), obj({"qty": INT}))),
    ("request-type-widened", W, REQ, request_pair(obj({"qty": INT}), obj({"qty": NUM})), request_pair(obj({"qty": NUM}), obj({"qty": NUM}))),
    ("request-type-changed", E, REQ, params_pair([Q], [{**Q, "schema": STR}]), params_pair([Q], [{**Q, "schema": {**INT, "description": "how many"}}])),
    ("response-type-changed", E, RESP, response_pair(obj({"qty": INT}), obj({"qty": NUM})), response_pair(obj({"qty": NUM}), obj({"qty": INT}))),
    ("response-type-narrowed", W, RESP, response_pair(obj({"qty": NUM}), obj({"qty": INT})), response_pair(obj({"qty": INT}), obj({"qty": INT}))),
    ("request-format-changed", E, REQ, request_pair(obj({"at": {**STR, "format": "date-time"}}), obj({"at": {**STR, "format": "date"}})),
     request_pair(obj({"at": {**STR, "format": "date"}}), obj({"at": {**STR, "format": "date"}}))),
    ("request-format-widened", W, REQ, request_pair(obj({"n": {**INT, "format": "int32"}}), obj({"n": {**INT, "format": "int64"}})),
     request_pair(obj({"n": {**INT, "format": "int64"}}), obj({"n": {**INT, "format": "int64"}}))),
    ("response-format-changed", E, RESP, response_pair(obj({"n": {**INT, "format": "int32"}}), obj({"n": {**INT, "format": "int64"}})),
     response_pair(obj({"n": {**INT, "format": "int64"}}), obj({"n": {**INT, "format": "int32"}}))),
    ("response-format-narrowed", W, RESP, response_pair(obj({"n": {**INT, "format": "int64"}}), obj({"n": {**INT, "format": "int32"}})),
     response_pair(obj({"n": {**INT, "format": "int32"}}), obj({"n": {**INT, "format": "int32"}}))),
    ("request-enum-value-removed", E, REQ, request_pair(obj({"s": {**STR, "enum": ["a", "b"]}}), obj({"s": {**STR, "enum": ["a"]}})),
     request_pair(obj({"s": {**STR, "enum": ["a", "b"]}}), obj({"s": {**STR, "enum": ["b", "a"]}}))),
    ("request-enum-value-added", W, REQ, request_pair(obj({"s": {**STR, "enum": ["a"]}}), obj({"s": {**STR, "enum": ["a", "b"]}})),
     request_pair(obj({"s": {**STR, "enum": ["a", "b"]}}), obj({"s": {**STR, "enum": ["b", "a"]}}))),
    ("response-enum-value-added", E, RESP, response_pair(obj({"s": {**STR, "enum": ["a"]}}), obj({"s": {**STR, "enum": ["a", "b"]}})),
     response_pair(obj({"s": {**STR, "enum": ["a", "b"]}}), obj({"s": {**STR, "enum": ["b", "a"]}}))),
    ("response-enum-value-removed", W, RESP, response_pair(obj({"s": {**STR, "enum": ["a", "b"]}}), obj({"s": {**STR, "enum": ["a"]}})),
     response_pair(obj({"s": {**STR, "enum": ["a"]}}), obj({"s": {**STR, "enum": ["a"]}}))),
    ("request-enum-added", E, REQ, request_pair(obj({"s": STR}), obj({"s": {**STR, "enum": ["a"]}})), request_pair(obj({"s": STR}), obj({"s": STR}))),
    ("response-enum-removed", E, RESP, response_pair(obj({"s": {**STR, "enum": ["a"]}}), obj({"s": STR})),
     response_pair(obj({"s": STR}), obj({"s": {**STR, "enum": ["a"]}}))),
    ("response-property-removed", E, RESP, response_pair(obj({"id": STR, "name": STR}), obj({"id": STR})),
     response_pair(obj({"id": STR, "secret": {**STR, "writeOnly": True}}), obj({"id": STR}))),
    ("response-property-added", INFO, RESP, response_pair(obj({"id": STR}), obj({"id": STR, "name": STR})),
     response_pair(obj({"id": STR}), obj({"id": STR}))),
    ("response-property-became-optional", E, RESP, response_pair(obj({"id": STR}, ["id"]), obj({"id": STR})),
     response_pair(obj({"id": STR}), obj({"id": STR}, ["id"]))),
    ("request-constraint-tightened", E, REQ, request_pair(obj({"n": {**STR, "maxLength": 10}}), obj({"n": {**STR, "maxLength": 5}})),
     request_pair(obj({"n": {**STR, "maxLength": 5}}), obj({"n": {**STR, "maxLength": 10}}))),
    ("request-constraint-tightened", E, REQ, request_pair(obj({"n": {**INT, "minimum": 0}}), obj({"n": {**INT, "minimum": 0, "exclusiveMinimum": True}})),
     request_pair(obj({"n": {**INT, "minimum": 1}}), obj({"n": {**INT, "minimum": 0}}))),
    ("request-constraint-loosened", INFO, REQ, request_pair(obj({"n": {**STR, "maxLength": 5}}), obj({"n": {**STR, "maxLength": 10}})),
     request_pair(obj({"n": {**STR, "maxLength": 5}}), obj({"n": {**STR, "maxLength": 5}}))),
    ("response-constraint-tightened", INFO, RESP, response_pair(obj({"n": {**INT, "maximum": 100}}), obj({"n": {**INT, "maximum": 50}})),
     response_pair(obj({"n": {**INT, "maximum": 100}}), obj({"n": {**INT, "maximum": 100}}))),
    ("response-constraint-loosened", W, RESP, response_pair(obj({"n": {**INT, "maximum": 50}}), obj({"n": {**INT, "maximum": 100}})),
     response_pair(obj({"n": {**INT, "maximum": 100}}), obj({"n": {**INT, "maximum": 50}}))),
    ("response-nullable-added", E, RESP, response_pair(obj({"n": STR}), obj({"n": {**STR, "nullable": True}})),
     response_pair(obj({"n": {**STR, "nullable": True}}), obj({"n": STR}))),
    ("response-nullable-removed", INFO, RESP, response_pair(obj({"n": {**STR, "nullable": True}}), obj({"n": STR})),
     response_pair(obj({"n": STR}), obj({"n": STR}))),
    ("request-nullable-removed", E, REQ, request_pair(obj({"n": {**STR, "nullable": True}}), obj({"n": STR})),
     request_pair(obj({"n": STR}), obj({"n": {**STR, "nullable": True}}))),
    ("request-nullable-added", INFO, REQ, request_pair(obj({"n": STR}), obj({"n": {**STR, "nullable": True}})),
     request_pair(obj({"n": STR}), obj({"n": STR}))),
    ("request-additional-properties-disallowed", E, REQ, request_pair(obj({"n": STR}), obj({"n": STR}, additionalProperties=False)),
     request_pair(obj({"n": STR}), obj({"n": STR}, additionalProperties=True))),
    ("response-additional-properties-allowed", W, RESP, response_pair(obj({"n": STR}, additionalProperties=False), obj({"n": STR})),
     response_pair(obj({"n": STR}), obj({"n": STR}, additionalProperties=False))),
    ("request-alternative-removed", E, REQ, request_pair({"oneOf": [obj({"a": STR}, title="A"), obj({"b": STR}, title="B")]}, {"oneOf": [obj({"a": STR}, title="A")]}),
     request_pair({"oneOf": [obj({"a": STR}, title="A")]}, {"oneOf": [obj({"a": STR}, title="A"), obj({"b": STR}, title="B")]})),
    ("response-alternative-added", E, RESP, response_pair({"oneOf": [obj({"a": STR}, title="A")]}, {"oneOf": [obj({"a": STR}, title="A"), obj({"b": STR}, title="B")]}),
     response_pair({"oneOf": [obj({"a": STR}, title="A"), obj({"b": STR}, title="B")]}, {"oneOf": [obj({"b": STR}, title="B"), obj({"a": STR}, title="A")]})),
    ("security-requirement-added", E, REQ, (_secured(None), _secured([{"api_key": []}])), (_secured([{"api_key": []}]), _secured([{"api_key": []}, {"oauth": ["read"]}]))),
    ("security-requirement-added", E, REQ, (_secured([{"oauth": ["read"]}]), _secured([{"oauth": ["read", "write"]}])),
     (_secured([{"oauth": ["read", "write"]}]), _secured([{"oauth": ["read"]}]))),
    ("security-requirement-relaxed", INFO, REQ, (_secured([{"api_key": []}]), _secured([{"api_key": []}, {}])), (_secured([{"api_key": []}]), _secured([{"api_key": []}]))),
    ("security-scheme-changed", E, REQ,
     (_secured([{"api_key": []}]), _secured([{"api_key": []}], {"api_key": {"type": "apiKey", "in": "query", "name": "key"}})),
     (_secured([{"api_key": []}]), _secured([{"api_key": []}], {"api_key": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "d"}}))),
    ("request-media-type-removed", E, REQ,
     (_body({"content": {**json_content(STR), "application/xml": {"schema": STR}}}), _body({"content": json_content(STR)})),
     (_body({"content": {"application/json": {"schema": STR}}}), _body({"content": {"application/json; charset=utf-8": {"schema": STR}}}))),
    ("request-media-type-added", INFO, REQ, (_body({"content": json_content(STR)}), _body({"content": {**json_content(STR), "text/csv": {}}})),
     (_body({"content": json_content(STR)}), _body({"content": json_content(STR)}))),
    ("response-media-type-removed", E, RESP,
     (_response_content({**json_content(STR), "text/csv": {}}), _response_content(json_content(STR))),
     (_response_content({**json_content(STR), "text/csv": {}}), _response_content({**json_content(STR), "text/*": {}}))),
    ("response-body-removed", E, RESP, (_response_content(json_content(STR)), _response_content(None)),
     (_response_content(None), _response_content(json_content(STR)))),
    ("required-request-body-added", E, REQ, (_body(None), _body({"required": True, "content": json_content(STR)})),
     (_body(None), _body({"content": json_content(STR)}))),
    ("request-body-became-required", E, REQ, (_body({"content": json_content(STR)}), _body({"required": True, "content": json_content(STR)})),
     (_body({"required": True, "content": json_content(STR)}), _body({"content": json_content(STR)}))),
    ("request-body-removed", W, REQ, (_body({"content": json_content(STR)}), _body(None)), (_body(None), _body(None))),
    ("response-header-removed", W, RESP, (_response_header({"X-Rate": {"schema": INT}}), _response_header({})),
     (_response_header({"X-Rate": {"schema": INT}}), _response_header({"x-rate": {"schema": INT}}))),
    ("response-header-removed", E, RESP, (_response_header({"X-Rate": {"required": True, "schema": INT}}), _response_header({})),
     (_response_header({"X-Rate": {"schema": INT}}), _response_header({"X-Rate": {"schema": INT}, "X-New": {"schema": INT}}))),
    ("operation-deprecated", INFO, BOTH, (_two_ops(), doc({"/v1/items": {"get": op("listItems", deprecated=True), "post": op("createItem")}})),
     (_two_ops(), _two_ops())),
]


def _case_id(case) -> str:
    return f"{case[0]}-{case[1]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_check_fires_exactly_once_on_its_minimal_pair(case):
    check_id, severity, direction, (old, new), _ = case
    report = compare_openapi(old, new)
    hits = report.by_check(check_id)
    assert len(hits) == 1, [f"{f.check_id}: {f.message}" for f in report.findings]
    assert hits[0].severity == severity
    assert hits[0].direction == direction
    assert hits[0].message.endswith(".") and len(hits[0].message) > 25
    assert report.has_breaking == any(f.severity == Severity.ERROR for f in report.findings)
    assert_pointers_resolve(report.findings, old, new)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_check_stays_silent_on_its_near_miss(case):
    check_id, severity, _, _, (old, new) = case
    report = compare_openapi(old, new)
    assert not [f for f in report.findings if f.check_id == check_id and f.severity == severity], report.findings
    assert_pointers_resolve(report.findings, old, new)


def test_identical_documents_have_no_findings():
    old, new = request_pair(obj({"name": STR}), obj({"name": STR}))
    assert compare_openapi(old, new).findings == []


def test_schema_moved_into_a_component_and_an_allof_is_not_a_change():
    inline = obj({"name": STR, "qty": INT}, ["name"])
    old, _ = request_pair(inline, inline)
    schemas = {"Base": obj({"name": STR}, ["name"]), "Item": {"allOf": [{"$ref": "#/components/schemas/Base"}, obj({"qty": INT})]}}
    _, new = request_pair(inline, {"$ref": "#/components/schemas/Item"}, schemas=schemas)
    assert compare_openapi(old, new).findings == []


def test_required_property_added_inside_an_allof_part_points_at_the_component():
    schemas_old = {"Base": obj({"name": STR}), "Item": {"allOf": [{"$ref": "#/components/schemas/Base"}]}}
    schemas_new = copy.deepcopy(schemas_old)
    schemas_new["Base"] = obj({"name": STR, "owner": STR}, ["owner"])
    ref = {"$ref": "#/components/schemas/Item"}
    old, _ = request_pair(ref, ref, schemas=schemas_old)
    _, new = request_pair(ref, ref, schemas=schemas_new)
    (finding,) = compare_openapi(old, new).by_check("request-required-property-added")
    assert finding.location.pointer == "/components/schemas/Base/properties/owner"
    assert finding.location.document == "new"
    assert "'owner'" in finding.message and "POST /v1/items" in finding.message


def test_nullable_in_3_0_equals_a_null_type_in_3_1():
    old, _ = response_pair(obj({"n": {**STR, "nullable": True}}), obj({}))
    _, new = response_pair(obj({}), obj({"n": {"type": ["string", "null"]}}), openapi="3.1.0")
    assert compare_openapi(old, new).findings == []


def test_recursive_schemas_terminate_and_report_deep_changes():
    def tree(extra):
        node = obj({"name": STR, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}, **extra})
        return {"Node": node}

    ref = {"$ref": "#/components/schemas/Node"}
    old, _ = response_pair(ref, ref, schemas=tree({"size": INT}))
    _, new = response_pair(ref, ref, schemas=tree({}))
    (finding,) = compare_openapi(old, new).by_check("response-property-removed")
    assert finding.location.pointer == "/components/schemas/Node/properties/size"
    assert finding.location.document == "old"


def test_nested_array_items_are_compared_with_a_readable_field_path():
    old, new = response_pair(
        obj({"lines": {"type": "array", "items": obj({"sku": STR, "qty": INT})}}),
        obj({"lines": {"type": "array", "items": obj({"sku": STR})}}),
    )
    (finding,) = compare_openapi(old, new).by_check("response-property-removed")
    assert "'lines[].qty'" in finding.message


def test_oneof_alternatives_are_matched_by_component_name_whatever_their_order():
    schemas = {"Cat": obj({"meow": STR}), "Dog": obj({"bark": STR})}
    old, _ = response_pair({"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]}, {}, schemas=schemas)
    changed = copy.deepcopy(schemas)
    changed["Dog"] = obj({"bark": INT})
    _, new = response_pair({}, {"oneOf": [{"$ref": "#/components/schemas/Dog"}, {"$ref": "#/components/schemas/Cat"}]}, schemas=changed)
    report = compare_openapi(old, new)
    assert [f.check_id for f in report.findings] == ["response-type-changed"]
    assert report.findings[0].location.pointer == "/components/schemas/Dog/properties/bark"


def test_the_same_shared_schema_under_several_media_types_is_reported_once():
    old_schema, new_schema = obj({"id": STR, "name": STR}), obj({"id": STR})
    old = doc({"/v1/items": {"get": op("listItems", responses={"200": {"description": "ok", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Item"}},
        "application/xml": {"schema": {"$ref": "#/components/schemas/Item"}}}}})}}, schemas={"Item": old_schema})
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Item"] = new_schema
    assert len(compare_openapi(old, new).by_check("response-property-removed")) == 1


def test_enum_direction_is_explained_in_the_message():
    old, new = response_pair(obj({"s": {**STR, "enum": ["open"]}}), obj({"s": {**STR, "enum": ["open", "held"]}}))
    (added,) = compare_openapi(old, new).by_check("response-enum-value-added")
    assert "'held'" in added.message and "switch" in added.message
    old, new = request_pair(obj({"s": {**STR, "enum": ["open", "held"]}}), obj({"s": {**STR, "enum": ["open"]}}))
    (removed,) = compare_openapi(old, new).by_check("request-enum-value-removed")
    assert "'held'" in removed.message and "rejected" in removed.message


def test_removed_property_points_into_the_old_document_and_changed_one_into_the_new():
    old, new = response_pair(obj({"a": STR, "b": INT}), obj({"b": NUM}))
    report = compare_openapi(old, new)
    (removed,) = report.by_check("response-property-removed")
    (changed,) = report.by_check("response-type-changed")
    assert (removed.location.document, removed.location.pointer) == ("old", "/paths/~1v1~1items/get/responses/200/content/application~1json/schema/properties/a")
    assert (changed.location.document, changed.location.pointer) == ("new", "/paths/~1v1~1items/get/responses/200/content/application~1json/schema/properties/b")
    assert (changed.old, changed.new) == (["integer"], ["number"])
    assert (changed.location.path, changed.location.method) == ("/v1/items", "GET")


def test_report_counts_by_severity():
    old, new = response_pair(obj({"a": STR, "b": INT}, ["a"]), obj({"b": INT, "c": STR}))
    report = compare_openapi(old, new)
    assert report.counts == {"error": 1, "warning": 0, "info": 1}
    assert report.has_breaking
    assert [f.severity for f in report.findings] == [Severity.ERROR, Severity.INFO]
