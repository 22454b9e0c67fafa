"""The diff page shows both documents at each finding, also when a schema moved behind a $ref."""

from __future__ import annotations

import copy

from governance.diff import compare_openapi
from governance.pages.diffview import finding_rows
from tests.governance.conftest import orders_doc


def _money_total() -> tuple[dict, dict]:
    old = orders_doc("1.0.0")
    old["components"]["schemas"]["Order"]["properties"]["total"] = {"type": "number"}
    new = copy.deepcopy(old)
    new["info"]["version"] = "2.0.0"
    new["components"]["schemas"]["Money"] = {"type": "object", "properties": {"amount": {"type": "string"}}}
    new["components"]["schemas"]["Order"]["properties"]["total"] = {"$ref": "#/components/schemas/Money"}
    return old, new


def test_a_finding_behind_a_new_ref_knows_where_the_node_was_in_the_old_document():
    old, new = _money_total()
    finding = next(f for f in compare_openapi(old, new).findings if f.check_id == "response-type-changed")
    assert finding.location.pointer == "/components/schemas/Money"
    assert finding.location.old_pointer == "/components/schemas/Order/properties/total"
    assert finding.location.to_dict()["old_pointer"] == "/components/schemas/Order/properties/total"


def test_findings_in_place_keep_the_location_as_it_was():
    old = orders_doc("1.0.0")
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Order"]["properties"]["status"]["enum"] = ["open"]
    finding = compare_openapi(old, new).findings[0]
    assert "old_pointer" not in finding.location.to_dict()


def test_the_rows_show_the_old_node_and_the_new_one_side_by_side():
    old, new = _money_total()
    findings = [f.to_dict() for f in compare_openapi(old, new).findings if f.check_id == "response-type-changed"]
    row = finding_rows(findings, old, new)[0]
    assert row.old.exact and row.old.pointer == "/components/schemas/Order/properties/total"
    assert '"type": "number"' in row.old.text
    assert row.new.exact and '"amount"' in row.new.text
