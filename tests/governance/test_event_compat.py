"""Event-contract JSON Schema compatibility: BACKWARD, FORWARD, FULL, NONE, each optionally transitive."""

from __future__ import annotations

import pytest

from governance.diff import (
    CompatibilityMode,
    Severity,
    check_against_history,
    check_schema_compatibility,
    is_compatible,
    resolve_pointer,
)

STR, INT, NUM = {"type": "string"}, {"type": "integer"}, {"type": "number"}


def event(properties: dict, required: list | None = None, closed: bool = False, **extra) -> dict:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    schema.update(extra)
    return schema


def errors(findings) -> list[str]:
    return sorted(f.check_id for f in findings if f.severity == Severity.ERROR)


def only(findings, check_id):
    hits = [f for f in findings if f.check_id == check_id]
    assert len(hits) == 1, [(f.check_id, f.severity) for f in findings]
    return hits[0]


# (name, old, new, check_id, breaks BACKWARD, breaks FORWARD)
CHANGES = [
    ("required field added without default", event({"id": STR}, ["id"]), event({"id": STR, "sku": STR}, ["id", "sku"]),
     "required-field-added-without-default", True, False),
    ("required field removed", event({"id": STR, "sku": STR}, ["id", "sku"]), event({"id": STR}, ["id"]), "field-removed", False, True),
    ("field became required", event({"id": STR, "sku": STR}, ["id"]), event({"id": STR, "sku": STR}, ["id", "sku"]),
     "field-became-required", True, False),
    ("field became optional", event({"id": STR, "sku": STR}, ["id", "sku"]), event({"id": STR, "sku": STR}, ["id"]),
     "field-became-optional", False, True),
    ("type changed", event({"qty": STR}), event({"qty": INT}), "type-changed", True, True),
    ("type widened", event({"qty": INT}), event({"qty": NUM}), "type-widened", False, True),
    ("type narrowed", event({"qty": NUM}), event({"qty": INT}), "type-narrowed", True, False),
    ("enum narrowed", event({"s": {**STR, "enum": ["a", "b"]}}), event({"s": {**STR, "enum": ["a"]}}), "enum-value-removed", True, False),
    ("enum widened", event({"s": {**STR, "enum": ["a"]}}), event({"s": {**STR, "enum": ["a", "b"]}}), "enum-value-added", False, True),
    ("null allowed", event({"s": STR}), event({"s": {"type": ["string", "null"]}}), "null-allowed", False, True),
    ("null disallowed", event({"s": {"type": ["string", "null"]}}), event({"s": STR}), "null-disallowed", True, False),
    ("maxLength tightened", event({"s": {**STR, "maxLength": 9}}), event({"s": {**STR, "maxLength": 3}}), "constraint-tightened", True, False),
    ("maximum loosened", event({"n": {**INT, "maximum": 3}}), event({"n": {**INT, "maximum": 9}}), "constraint-loosened", False, True),
    ("content model closed", event({"id": STR}), event({"id": STR}, closed=True), "content-model-closed", True, False),
    ("content model opened", event({"id": STR}, closed=True), event({"id": STR}), "content-model-opened", False, True),
    ("optional field added to closed model", event({"id": STR}, closed=True), event({"id": STR, "note": STR}, closed=True),
     "field-added", False, True),
    ("optional field removed from closed model", event({"id": STR, "note": STR}, closed=True), event({"id": STR}, closed=True),
     "field-removed", True, False),
    ("alternative removed", {"oneOf": [{**STR, "title": "code"}, {**INT, "title": "number"}]}, {"oneOf": [{**STR, "title": "code"}]},
     "alternative-removed", True, False),
    ("alternative added", {"oneOf": [{**STR, "title": "code"}]}, {"oneOf": [{**STR, "title": "code"}, {**INT, "title": "number"}]},
     "alternative-added", False, True),
]


@pytest.mark.parametrize(("name", "old", "new", "check_id", "backward", "forward"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_change_breaks_exactly_the_modes_it_should(name, old, new, check_id, backward, forward):
    results = {mode: check_schema_compatibility(old, new, mode) for mode in CompatibilityMode}
    assert (only(results["BACKWARD"], check_id).severity == Severity.ERROR) is backward
    assert (only(results["FORWARD"], check_id).severity == Severity.ERROR) is forward
    assert (only(results["FULL"], check_id).severity == Severity.ERROR) is (backward or forward)
    assert only(results["NONE"], check_id).severity == Severity.INFO
    assert is_compatible(results["NONE"])
    full = only(results["FULL"], check_id)
    expected = "+".join(m for m, on in (("BACKWARD", backward), ("FORWARD", forward)) if on) or None
    assert full.compatibility == expected
    for finding in results["FULL"]:
        resolve_pointer(new if finding.location.document == "new" else old, finding.location.pointer)


def test_required_field_with_default_is_only_a_warning_backward():
    findings = check_schema_compatibility(event({"id": STR}), event({"id": STR, "ccy": {**STR, "default": "EUR"}}, ["ccy"]), "BACKWARD")
    finding = only(findings, "required-field-added-with-default")
    assert finding.severity == Severity.WARNING and is_compatible(findings)


def test_field_added_to_an_open_model_is_a_warning_or_an_error_when_strict():
    old, new = event({"id": STR}), event({"id": STR, "note": STR})
    lenient = only(check_schema_compatibility(old, new, "BACKWARD"), "field-added-to-open-content-model")
    strict = only(check_schema_compatibility(old, new, "BACKWARD", strict_open_content_model=True), "field-added-to-open-content-model")
    assert (lenient.severity, strict.severity) == (Severity.WARNING, Severity.ERROR)
    assert "any undeclared field" in lenient.message
    assert only(check_schema_compatibility(old, new, "FORWARD"), "field-added-to-open-content-model").severity == Severity.INFO


def test_optional_field_removed_from_an_open_model_warns_forward():
    findings = check_schema_compatibility(event({"id": STR, "note": STR}), event({"id": STR}), "FORWARD")
    assert only(findings, "field-removed-from-open-content-model").severity == Severity.WARNING
    assert errors(check_schema_compatibility(event({"id": STR, "note": STR}), event({"id": STR}), "BACKWARD")) == []


def test_nested_fields_items_and_defs_refs_are_followed():
    defs = {"line": {"type": "object", "properties": {"sku": STR, "qty": INT}, "required": ["sku"]}}
    old = event({"lines": {"type": "array", "items": {"$ref": "#/$defs/line"}}}, **{"$defs": defs})
    changed = {"line": {"type": "object", "properties": {"sku": STR, "qty": NUM}, "required": ["sku", "qty"]}}
    new = event({"lines": {"type": "array", "items": {"$ref": "#/$defs/line"}}}, **{"$defs": changed})
    findings = check_schema_compatibility(old, new, "FULL")
    assert errors(findings) == ["field-became-required", "type-widened"]
    widened = only(findings, "type-widened")
    assert widened.location.pointer == "/$defs/line/properties/qty" and "'lines[].qty'" in widened.message


def test_transitive_checks_every_earlier_version():
    v1 = event({"id": STR, "code": STR})
    v2 = event({"id": STR})  # optional code dropped: fine for BACKWARD
    v3 = event({"id": STR, "code": INT})  # code comes back as an integer
    latest_only = check_against_history([v1, v2], v3, "BACKWARD", transitive=False)
    assert errors(latest_only) == [] and {f.against for f in latest_only} == {"2"}
    transitive = check_against_history([v1, v2], v3, "BACKWARD", transitive=True, labels=["1.0", "1.1"])
    (error,) = [f for f in transitive if f.severity == Severity.ERROR]
    assert (error.check_id, error.against, error.compatibility) == ("type-changed", "1.0", "BACKWARD")
    assert "against version 1.0" in error.message
    assert errors(check_against_history([v1, v2], v3, "BACKWARD_TRANSITIVE")) == ["type-changed"]


def test_full_transitive_and_forward_transitive_modes():
    v1 = event({"id": STR, "n": {**INT, "maximum": 10}})
    v2 = event({"id": STR, "n": {**INT, "maximum": 20}})
    v3 = event({"id": STR, "n": {**INT, "maximum": 20}, "note": STR})
    assert errors(check_against_history([v1, v2], v3, "FORWARD")) == []
    assert errors(check_against_history([v1, v2], v3, "FORWARD", transitive=True)) == ["constraint-loosened"]
    assert errors(check_against_history([v1, v2], v3, CompatibilityMode.FULL, transitive=True)) == ["constraint-loosened"]


def test_history_edge_cases():
    assert check_against_history([], event({}), "FULL", transitive=True) == []
    with pytest.raises(ValueError, match="labels"):
        check_against_history([event({})], event({}), "FULL", labels=["a", "b"])
    with pytest.raises(ValueError, match="Unknown compatibility mode"):
        check_schema_compatibility(event({}), event({}), "SIDEWAYS")


def test_identical_schemas_have_no_findings():
    schema = event({"id": STR, "lines": {"type": "array", "items": event({"sku": STR})}}, ["id"], closed=True)
    assert check_schema_compatibility(schema, schema, "FULL") == []
