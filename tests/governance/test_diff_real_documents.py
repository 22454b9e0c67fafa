"""The checks on real public OpenAPI documents (governance/fixtures/openapi, Apache-2.0, see its README)."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from governance.diff import Severity, compare_openapi, load_openapi, render_json, render_text
from governance.style import lint_openapi
from tests.governance.diff_docs import FIXTURES, assert_pointers_resolve

PETSTORE_EXPANDED = FIXTURES / "oai-petstore-expanded-3.0.yaml"
WEBHOOK_EXAMPLE = FIXTURES / "oai-webhook-example-3.1.yaml"
PETSTORE3_OLD = FIXTURES / "swagger-petstore3-1.0.26-SNAPSHOT.yaml"
PETSTORE3_NEW = FIXTURES / "swagger-petstore3-1.0.27.yaml"
ALL = [PETSTORE_EXPANDED, WEBHOOK_EXAMPLE, PETSTORE3_OLD, PETSTORE3_NEW]


def _summary(report, severity=None):
    return sorted(
        (f.check_id, f.location.method, f.location.path) for f in report.findings if severity is None or f.severity == severity
    )


def test_fixtures_carry_their_licence_and_attribution():
    readme = (FIXTURES / "README.md").read_text()
    licence = (FIXTURES / "LICENSE-Apache-2.0.txt").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    for path in ALL:
        assert path.name in readme
    assert "529c97102b55ffc106c15b1d55e32d8eb6da8233" in readme and "552df961a3619146577c2c9f9a480774f5c4fb97" in readme


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_real_documents_load_and_have_no_changes_against_themselves(path):
    document = load_openapi(path)
    assert compare_openapi(document, copy.deepcopy(document)).findings == []
    findings = lint_openapi(document)
    assert_pointers_resolve(findings, document, document)


def test_two_published_petstore_versions_differ_by_three_breaking_changes():
    old, new = load_openapi(PETSTORE3_OLD), load_openapi(PETSTORE3_NEW)
    report = compare_openapi(old, new)
    assert _summary(report, Severity.ERROR) == [
        ("parameter-became-required", "GET", "/pet/findByStatus"),
        ("parameter-became-required", "GET", "/pet/findByTags"),
        ("response-body-removed", "POST", "/user"),
    ]
    assert report.warnings == []
    added = [(f.location.method, f.location.path) for f in report.by_check("operation-added")]
    assert sorted(added) == [("GET", "/pets/available"), ("GET", "/pets/recent"), ("GET", "/store/orders/pending"), ("GET", "/users/count")]
    assert {f.check_id for f in report.infos} == {"operation-added", "response-status-added"}
    assert len(report.by_check("response-status-added")) == 29
    # The new 200 of POST /user is where the old default body went.
    assert ("response-status-added", "POST", "/user") in _summary(report, Severity.INFO)
    status = next(f for f in report.findings if f.location.path == "/pet/findByStatus")
    assert status.location.pointer == "/paths/~1pet~1findByStatus/get/parameters/0/required"
    assert_pointers_resolve(report.findings, old, new)


def test_publishing_that_petstore_change_as_a_patch_is_refused_and_as_a_major_allowed():
    report = compare_openapi(load_openapi(PETSTORE3_OLD), load_openapi(PETSTORE3_NEW))
    refused = report.verdict()
    assert (refused.allowed, refused.old_version, refused.new_version, refused.bump) == (False, "1.0.26-SNAPSHOT", "1.0.27", "patch")
    assert len(refused.reasons) == 3 and "[parameter-became-required] GET /pet/findByStatus:" in refused.reasons[0]
    assert report.verdict("1.0.26", "2.0.0").allowed


def test_derived_next_version_of_the_oai_petstore_reports_exactly_its_changes():
    old = load_openapi(PETSTORE_EXPANDED)
    new = copy.deepcopy(old)
    del new["paths"]["/pets/{id}"]["delete"]
    new_pet = new["components"]["schemas"]["NewPet"]
    new_pet["properties"]["owner"] = {"type": "string"}
    new_pet["required"].append("owner")
    new["paths"]["/pets"]["get"]["parameters"][1]["schema"]["format"] = "int64"
    report = compare_openapi(old, new)
    assert _summary(report) == [
        ("operation-removed", "DELETE", "/pets/{id}"),
        ("request-format-widened", "GET", "/pets"),
        ("request-required-property-added", "POST", "/pets"),
        # Pet is allOf [NewPet, {id}], so the new property is also returned by every read.
        ("response-property-added", "GET", "/pets"),
        ("response-property-added", "GET", "/pets/{id}"),
        ("response-property-added", "POST", "/pets"),
    ]
    required = report.by_check("request-required-property-added")[0]
    assert required.location.pointer == "/components/schemas/NewPet/properties/owner"
    assert required.message == (
        "POST /pets now requires request property 'owner'; requests from existing clients that do not send it will be rejected."
    )
    removed = report.by_check("operation-removed")[0]
    assert (removed.severity, removed.location.document, removed.location.pointer) == (Severity.ERROR, "old", "/paths/~1pets~1{id}/delete")
    assert report.counts == {"error": 2, "warning": 1, "info": 3}
    assert_pointers_resolve(report.findings, old, new)
    assert not report.verdict("1.0.0", "1.1.0").allowed


def test_oai_petstore_delete_removed_after_its_sunset_is_info():
    old = load_openapi(PETSTORE_EXPANDED)
    old["paths"]["/pets/{id}"]["delete"].update({"deprecated": True, "x-sunset": "2025-01-31"})
    new = copy.deepcopy(old)
    del new["paths"]["/pets/{id}"]["delete"]
    (finding,) = compare_openapi(old, new, today=date(2025, 2, 1)).findings
    assert (finding.check_id, finding.severity) == ("operation-removed", Severity.INFO)
    assert compare_openapi(old, new, today=date(2025, 1, 30)).has_breaking


def test_oai_3_1_example_response_property_removed_and_nullable_added():
    old = load_openapi(WEBHOOK_EXAMPLE)
    new = copy.deepcopy(old)
    del new["components"]["schemas"]["Pet"]["properties"]["tag"]
    new["components"]["schemas"]["Pet"]["properties"]["name"]["type"] = ["string", "null"]
    report = compare_openapi(old, new)
    assert _summary(report) == [("response-nullable-added", "GET", "/pets"), ("response-property-removed", "GET", "/pets")]
    removed = report.by_check("response-property-removed")[0]
    assert "'[].tag'" in removed.message and removed.location.pointer == "/components/schemas/Pet/properties/tag"
    assert_pointers_resolve(report.findings, old, new)


def test_renderers_on_a_real_report():
    report = compare_openapi(load_openapi(PETSTORE3_OLD), load_openapi(PETSTORE3_NEW))
    text = render_text(report, verdict=report.verdict())
    assert text.index("Breaking changes (error): 3") < text.index("Other changes (info): 33")
    assert "at /paths/~1pet~1findByTags/get/parameters/0/required (new document)" in text
    assert "Version check: Refused" in text
    assert '"has_breaking": true' in render_json(report)
