"""Removing an operation is only info once it was deprecated and its sunset date has passed."""

from __future__ import annotations

from datetime import date

import pytest

from governance.diff import Severity, compare_openapi
from tests.governance.diff_docs import doc, op

TODAY = date(2025, 6, 1)


def _pair(old_get: dict, *, keep_path: bool = True) -> tuple[dict, dict]:
    old = doc({"/v1/items": {"get": old_get, "post": op("createItem")}, "/v1/legacy": {"get": op("legacy")}})
    new_paths = {"/v1/legacy": {"get": op("legacy")}}
    if keep_path:
        new_paths["/v1/items"] = {"post": op("createItem")}
    return old, doc(new_paths)


@pytest.mark.parametrize(
    ("operation", "severity", "phrase"),
    [
        (op("listItems", deprecated=True, **{"x-sunset": "2025-05-31"}), Severity.INFO, "after its deprecation and its sunset on 2025-05-31"),
        (op("listItems", deprecated=True, **{"x-sunset": "2025-06-01"}), Severity.INFO, "sunset on 2025-06-01"),
        (op("listItems", deprecated=True, **{"x-sunset": "Sat, 31 May 2025 00:00:00 GMT"}), Severity.INFO, "2025-05-31"),
        (op("listItems", deprecated=True, **{"x-sunset": "2025-06-02"}), Severity.ERROR, "2025-06-02 has not passed"),
        (op("listItems", deprecated=True), Severity.ERROR, "has no sunset date"),
        (op("listItems", **{"x-sunset": "2025-01-01"}), Severity.ERROR, "without being deprecated"),
    ],
)
def test_operation_removal_severity_follows_deprecation_and_sunset(operation, severity, phrase):
    old, new = _pair(operation)
    (finding,) = compare_openapi(old, new, today=TODAY).by_check("operation-removed")
    assert finding.severity == severity
    assert phrase in finding.message
    assert (finding.location.method, finding.location.path, finding.location.document) == ("GET", "/v1/items", "old")


def test_path_removal_after_sunset_is_info_and_before_is_error():
    old = doc({"/v1/items": {"get": op("listItems", deprecated=True, **{"x-sunset": "2025-03-01"})}, "/v1/other": {"get": op("o")}})
    new = doc({"/v1/other": {"get": op("o")}})
    (after,) = compare_openapi(old, new, today=TODAY).by_check("path-removed")
    (before,) = compare_openapi(old, new, today=date(2025, 2, 28)).by_check("path-removed")
    assert (after.severity, before.severity) == (Severity.INFO, Severity.ERROR)
    assert "path /v1/items" in after.message


@pytest.mark.parametrize("key", ["GET /v1/items", "get /v1/items", "/v1/items"])
def test_registry_deprecations_supply_the_sunset_and_count_as_deprecated(key):
    old, new = _pair(op("listItems"))
    (finding,) = compare_openapi(old, new, today=TODAY, deprecations={key: date(2025, 5, 1)}).by_check("operation-removed")
    assert finding.severity == Severity.INFO


def test_registry_deprecation_with_a_future_sunset_still_refuses():
    old, new = _pair(op("listItems"))
    (finding,) = compare_openapi(old, new, today=TODAY, deprecations={"GET /v1/items": "2025-12-31"}).by_check("operation-removed")
    assert finding.severity == Severity.ERROR
    assert "2025-12-31" in finding.message


def test_deprecation_for_another_operation_does_not_apply():
    old, new = _pair(op("listItems"))
    (finding,) = compare_openapi(old, new, today=TODAY, deprecations={"POST /v1/items": date(2025, 1, 1)}).by_check("operation-removed")
    assert finding.severity == Severity.ERROR


def test_path_parameter_names_do_not_matter_for_deprecation_keys():
    old = doc({"/v1/items/{id}": {"get": op("getItem", parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]),
                                  "delete": op("deleteItem", parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}])}})
    new = doc({"/v1/items/{id}": {"get": old["paths"]["/v1/items/{id}"]["get"], "parameters": []}})
    (finding,) = compare_openapi(old, new, today=TODAY, deprecations={"DELETE /v1/items/{itemId}": "2025-01-01"}).by_check("operation-removed")
    assert finding.severity == Severity.INFO
