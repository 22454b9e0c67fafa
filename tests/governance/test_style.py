"""The built-in style ruleset and per-operation waivers (kept with the version, never dropping a finding)."""

from __future__ import annotations

import copy

import pytest

from governance.diff import Severity, resolve_pointer
from governance.style import RULES, Waiver, WaiverError, lint_openapi
from tests.governance.diff_docs import doc, json_content

PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}


def good_operation(operation_id: str, **fields) -> dict:
    operation = {
        "operationId": operation_id,
        "summary": "Do the thing",
        "tags": ["orders"],
        "responses": {"200": {"description": "ok"}, "404": {"description": "not found", "content": PROBLEM}},
    }
    operation.update(fields)
    return operation


def good_document() -> dict:
    return doc(
        {
            "/v1/sales-orders": {
                "get": good_operation("listSalesOrders", security=[{"api_key": []}]),
                "post": good_operation("createSalesOrder", requestBody={"content": json_content({"type": "object"})}),
            },
            "/v1/sales-orders/{orderId}": {
                "parameters": [{"name": "orderId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "get": good_operation("getSalesOrder", deprecated=True, **{"x-sunset": "2026-01-01"}),
            },
        },
        components={"securitySchemes": {"api_key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
    )


def test_a_document_that_follows_the_rules_has_no_findings():
    assert lint_openapi(good_document()) == []


def _break(mutate):
    document = good_document()
    mutate(document)
    return document


def _rename_path(document, old, new):
    document["paths"][new] = document["paths"].pop(old)




def _op(document, path="/v1/sales-orders", method="get"):
    return document["paths"][path][method]


MUTATIONS = {
    "style-operation-id-missing": lambda d: _op(d).pop("operationId"),
    "style-operation-id-duplicate": lambda d: _op(d, method="post").update(operationId="listSalesOrders"),
    "style-summary-missing": lambda d: _op(d).update(summary=" "),
    "style-tags-missing": lambda d: _op(d).pop("tags"),
    "style-problem-details-missing": lambda d: _op(d)["responses"]["404"].update(content=json_content({"type": "object"})),
    "style-success-response-missing": lambda d: _op(d)["responses"].pop("200"),
    "style-path-not-versioned": lambda d: d["paths"].update({"/orders-export": {"get": good_operation("exportOrders")}}),
    "style-path-not-kebab-case": lambda d: d["paths"].update({"/v1/salesOrders-export": {"get": good_operation("exportOrders")}}),
    "style-path-trailing-slash": lambda d: d["paths"].update({"/v1/exports/": {"get": good_operation("exportOrders")}}),
    "style-request-body-not-object": lambda d: _op(d, method="post").update(
        requestBody={"content": json_content({"type": "array", "items": {"type": "object"}})}),
    "style-path-parameter-mismatch": lambda d: d["paths"]["/v1/sales-orders/{orderId}"].pop("parameters"),
    "style-security-scheme-undefined": lambda d: _op(d).update(security=[{"oauth": ["read"]}]),
    "style-deprecated-without-sunset": lambda d: _op(d, "/v1/sales-orders/{orderId}").pop("x-sunset"),
}


def test_every_rule_has_a_mutation_test():
    assert set(MUTATIONS) == set(RULES)


@pytest.mark.parametrize("check_id", sorted(MUTATIONS))
def test_each_rule_fires_exactly_once_on_its_violation(check_id):
    document = _break(MUTATIONS[check_id])
    findings = lint_openapi(document)
    assert [f.check_id for f in findings] == [check_id], [f.message for f in findings]
    (finding,) = findings
    assert finding.severity == RULES[check_id][0]
    assert finding.location.path and finding.location.method
    assert not finding.waived
    resolve_pointer(document, finding.location.pointer)


def test_near_misses_do_not_fire():
    document = good_document()
    # A version in the server URL is enough, path parameters are not kebab-checked, problem+json may carry parameters.
    document["servers"] = [{"url": "https://api.example.com/api/v2"}]
    document["paths"]["/customers/{customerId}/ship-to"] = {
        "parameters": [{"name": "customerId", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": good_operation("listShipTo", responses={
            "200": {"description": "ok"},
            "default": {"description": "error", "content": {"application/problem+json; charset=utf-8": {}}},
        }),
    }
    _op(document, method="post")["requestBody"] = {"content": {
        "application/json": {"schema": {"allOf": [{"type": "object"}, {"required": ["a"]}]}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    }}
    assert lint_openapi(document) == []


def test_versioned_paths_accept_the_api_prefix_and_unversioned_servers_do_not_excuse():
    document = good_document()
    _rename_path(document, "/v1/sales-orders", "/api/v1/sales-orders")
    assert lint_openapi(document) == []
    document["servers"] = [{"url": "https://api.example.com/api/v2"}, {"url": "https://sandbox.example.com"}]
    document["paths"]["/orders-export"] = {"get": good_operation("exportOrders")}
    assert [f.check_id for f in lint_openapi(document)] == ["style-path-not-versioned"]


def test_waived_findings_are_returned_marked_with_the_reason():
    document = _break(MUTATIONS["style-tags-missing"])
    document["paths"]["/v1/sales-orders"]["post"].pop("tags")
    waivers = [{"check_id": "style-tags-missing", "path": "/v1/sales-orders", "method": "get", "reason": "Tagged by the gateway."}]
    findings = lint_openapi(document, waivers=waivers)
    by_method = {f.location.method: f for f in findings}
    assert by_method["GET"].waived and by_method["GET"].waiver_reason == "Tagged by the gateway."
    assert not by_method["POST"].waived and by_method["POST"].waiver_reason == ""
    assert by_method["GET"].severity == Severity.WARNING  # waiving keeps the severity, the registry shows both


def test_a_waiver_for_every_method_of_a_path():
    document = _break(lambda d: [_op(d, method=m).pop("summary") for m in ("get", "post")])
    findings = lint_openapi(document, waivers=[Waiver("style-summary-missing", "/v1/sales-orders", "*", "Legacy API.")])
    assert [f.waived for f in findings] == [True, True]
    assert not any(f.is_breaking for f in lint_openapi(_break(MUTATIONS["style-operation-id-missing"]),
                                                         waivers=[{"check_id": "style-operation-id-missing", "path": "/v1/sales-orders",
                                                                   "reason": "Generated later."}]))


@pytest.mark.parametrize(("waiver", "problem"), [
    ({"check_id": "style-tags-missing", "path": "/v1/sales-orders", "method": "get"}, "needs a reason"),
    ({"check_id": "style-tags-missing", "path": "/v1/sales-orders", "method": "get", "reason": "   "}, "needs a reason"),
    ({"check_id": "style-no-such-rule", "path": "/v1/sales-orders", "reason": "x"}, "unknown check id"),
    ({"check_id": "response-property-removed", "path": "/v1/sales-orders", "reason": "x"}, "unknown check id"),
    ({"check_id": "style-tags-missing", "reason": "x"}, "'path' must be"),
    ("style-tags-missing", "must be an object"),
])
def test_invalid_waivers_are_refused(waiver, problem):
    with pytest.raises(WaiverError) as caught:
        lint_openapi(good_document(), waivers=[waiver])
    assert problem in str(caught.value)


def test_linting_does_not_change_the_document():
    document = _break(MUTATIONS["style-problem-details-missing"])
    before = copy.deepcopy(document)
    lint_openapi(document)
    assert document == before
