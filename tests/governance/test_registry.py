"""The registry: uploading versions with the dry run, the breaking-change refusal, event contracts."""

from __future__ import annotations

import pytest
import yaml

from canonical.context import Actor
from canonical.models import AuditEntry, BusinessEvent
from governance.models import ApiVersion, CompatibilityMode, EventContract, Lifecycle
from governance.services import (
    ContractRefused,
    VersionRefused,
    api_version_check,
    api_version_upload,
    event_contract_register,
    event_contracts_register_canonical,
)
from tests.factories import ApiProductFactory
from tests.governance.conftest import list_op, orders_doc
from tests.governance.diff_docs import FIXTURES

pytestmark = pytest.mark.django_db

PETSTORE_OLD = FIXTURES / "swagger-petstore3-1.0.26-SNAPSHOT.yaml"
PETSTORE_NEW = FIXTURES / "swagger-petstore3-1.0.27.yaml"


def test_dry_run_reports_the_breaking_change_and_stores_nothing(product, publish):
    publish(product, orders_doc("1.0.0"))
    check = api_version_check(product=product, source=orders_doc("1.1.0", drop=("/v1/orders/{id}",)))
    assert not check.accepted
    assert check.previous.version == "1.0.0"
    assert [f.check_id for f in check.report.errors] == ["path-removed"]
    assert any("GET /v1/orders/{id}" in reason for reason in check.reasons)
    assert "major" in check.verdict.summary
    assert ApiVersion.objects.filter(product=product).count() == 1


def test_breaking_change_without_major_bump_is_refused_with_reasons_and_audited(product, publish, board_actor):
    publish(product, orders_doc("1.0.0"))
    with pytest.raises(VersionRefused) as refused:
        api_version_upload(product=product, source=orders_doc("1.1.0", drop=("/v1/orders/{id}",)),
                           actor=board_actor)
    reasons = refused.value.reasons
    assert reasons[0].startswith("Refused: 1.1.0 is a minor release after 1.0.0")
    assert any("/v1/orders/{id}" in r for r in reasons[1:])
    assert not ApiVersion.objects.filter(product=product, version="1.1.0").exists()
    entry = AuditEntry.objects.get(action="api_version.refused")
    assert entry.after["version"] == "1.1.0" and entry.actor_user == board_actor.user


def test_the_same_change_as_a_major_version_is_accepted_with_its_report(product, publish, board_actor):
    publish(product, orders_doc("1.0.0"))
    created = api_version_upload(product=product, source=orders_doc("2.0.0", drop=("/v1/orders/{id}",)),
                                 actor=board_actor, changelog="Drop single-order reads")
    assert created.status == Lifecycle.DRAFT
    assert (created.major, created.minor, created.patch) == (2, 0, 0)
    assert created.compared_with.version == "1.0.0"
    assert created.compatibility_report["verdict"]["allowed"] is True
    assert created.compatibility_report["report"]["counts"]["error"] >= 1
    assert created.created_by == board_actor.user


def test_additive_minor_version_is_accepted(product, publish, board_actor):
    publish(product, orders_doc("1.0.0"))
    extra = {"/v1/orders/{id}/lines": list_op("listLines", parameters=[
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}])}
    created = api_version_upload(product=product, source=orders_doc("1.1.0", extra_paths=extra), actor=board_actor)
    assert created.compatibility_report["verdict"]["required_bump"] == "minor"


def test_real_public_documents_petstore_1_0_27_needs_a_major_version(board_actor):
    product = ApiProductFactory(slug="petstore", name="Swagger Petstore")
    first = api_version_upload(product=product, source=PETSTORE_OLD.read_bytes(), version="1.0.26",
                               actor=board_actor)
    # Published as fixture data; the comparison is what is under test here.
    ApiVersion.objects.filter(pk=first.pk).update(status=Lifecycle.PUBLISHED)
    with pytest.raises(VersionRefused) as refused:
        api_version_upload(product=product, source=PETSTORE_NEW.read_bytes(), version="1.0.27", actor=board_actor)
    text = "\n".join(refused.value.reasons)
    assert "GET /pet/findByStatus" in text and "POST /user" in text
    assert len(refused.value.check.verdict.blocking) == 3
    accepted = api_version_upload(product=product, source=PETSTORE_NEW.read_bytes(), version="2.0.0",
                                  actor=board_actor)
    assert accepted.compatibility_report["report"]["counts"]["error"] == 3


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n", "Swagger 2.0"),
        ('{"openapi": "3.0.3", "info": {"title": "x"}, "paths": {}}', "/info/version"),
    ],
)
def test_invalid_documents_are_refused_with_the_problem(product, board_actor, source, expected):
    with pytest.raises(VersionRefused) as refused:
        api_version_upload(product=product, source=source, version="1.0.0", actor=board_actor)
    assert any(expected in reason for reason in refused.value.reasons), refused.value.reasons


def test_yaml_upload_and_version_from_info(product, board_actor):
    created = api_version_upload(product=product, source=yaml.safe_dump(orders_doc("3.2.1")), actor=board_actor)
    assert created.version == "3.2.1" and created.openapi["info"]["title"] == "Orders"


def test_a_version_number_cannot_be_reused_or_be_lower(product, publish, board_actor):
    publish(product, orders_doc("1.2.0"))
    with pytest.raises(VersionRefused, match="refused") as same:
        api_version_upload(product=product, source=orders_doc("1.2.0"), actor=board_actor)
    assert any("already has a version 1.2.0" in r for r in same.value.reasons)
    bad = api_version_check(product=product, source=orders_doc("banana"))
    assert any("not a semantic version" in r for r in bad.reasons)


def test_style_findings_and_waivers_are_kept_with_the_version(product, board_actor):
    document = orders_doc("1.0.0")
    document["paths"]["/v1/orders"]["get"].pop("operationId")
    waiver = {"check_id": "style-operation-id-missing", "path": "/v1/orders", "method": "GET",
              "reason": "generated by a legacy tool"}
    check = api_version_check(product=product, source=document)
    missing = [f for f in check.style if f.location.path == "/v1/orders" and f.severity == "error"]
    assert missing, [f.check_id for f in check.style]
    waiver["check_id"] = missing[0].check_id
    created = api_version_upload(product=product, source=document, actor=board_actor, waivers=[waiver])
    stored = next(f for f in created.style_findings if f["check_id"] == waiver["check_id"])
    assert stored["waived"] is True and stored["waiver_reason"] == "generated by a legacy tool"
    assert created.style_waivers[0]["reason"] == "generated by a legacy tool"
    assert created.style_waivers[0]["by"] == "board"


def test_invalid_waiver_is_refused(product, board_actor):
    with pytest.raises(VersionRefused) as refused:
        api_version_upload(product=product, source=orders_doc(), actor=board_actor,
                           waivers=[{"check_id": "no-such-check", "path": "/v1/orders", "reason": ""}])
    assert any("unknown check id" in r for r in refused.value.reasons)


ORDER_V1 = {"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "integer"}}}


def test_event_contract_versions_follow_their_compatibility_mode():
    actor = Actor.hub()
    first = event_contract_register(event_type="order.created", schema=ORDER_V1, actor=actor)
    assert first.version == 1
    added = {**ORDER_V1, "properties": {**ORDER_V1["properties"], "note": {"type": "string"}}}
    assert event_contract_register(event_type="order.created", schema=added, actor=actor).version == 2
    # BACKWARD: new readers must read old events; a new required field breaks that.
    breaking = {**added, "required": ["order_id", "note"]}
    with pytest.raises(ContractRefused) as refused:
        event_contract_register(event_type="order.created", schema=breaking, actor=actor)
    assert "BACKWARD" in str(refused.value) and refused.value.reasons
    assert EventContract.objects.get(event_type="order.created").versions.count() == 2


def test_transitive_mode_checks_every_earlier_version():
    actor = Actor.hub()
    v1 = {"type": "object", "properties": {"status": {"type": "string", "enum": ["a", "b"]}}}
    event_contract_register(event_type="shipment.created", schema=v1, actor=actor,
                            compatibility=CompatibilityMode.FORWARD, transitive=True)
    v2 = {"type": "object", "properties": {"status": {"type": "string", "enum": ["a"]}}}
    event_contract_register(event_type="shipment.created", schema=v2, actor=actor)
    # FORWARD: readers of every earlier version must read new events; neither v1 nor v2 readers know 'c'.
    v3 = {"type": "object", "properties": {"status": {"type": "string", "enum": ["a", "c"]}}}
    with pytest.raises(ContractRefused) as refused:
        event_contract_register(event_type="shipment.created", schema=v3, actor=actor)
    against = {f.against for f in refused.value.findings if f.is_breaking}
    assert against == {"1", "2"}


def test_invalid_json_schema_is_refused():
    with pytest.raises(ContractRefused, match="not valid"):
        event_contract_register(event_type="order.created", schema={"type": "no-such-type"}, actor=Actor.hub())


def test_canonical_events_are_registered_with_a_schema_generated_from_their_payloads():
    BusinessEvent.objects.create(event_type="order.created", schema_version=1, aggregate_type="order",
                                 aggregate_id="1", sequence=1, payload={"order_id": 1, "number": "SO-1"},
                                 actor="hub", occurred_at="2030-01-01T00:00:00Z")
    BusinessEvent.objects.create(event_type="order.created", schema_version=1, aggregate_type="order",
                                 aggregate_id="2", sequence=1, payload={"order_id": 2, "number": "SO-2", "po": None},
                                 actor="hub", occurred_at="2030-01-01T00:00:00Z")
    result = event_contracts_register_canonical(actor=Actor.hub())
    [registered] = result.registered
    schema = registered.schema
    assert registered.contract.event_type == "order.created"
    assert schema["required"] == ["number", "order_id"]
    assert schema["properties"]["order_id"] == {"type": "integer"}
    assert schema["properties"]["po"] == {"type": "null"}
    assert "shipment.dispatched" in result.without_samples
    assert EventContract.objects.filter(event_type="shipment.dispatched").exists()
    # Running it again changes nothing.
    again = event_contracts_register_canonical(actor=Actor.hub())
    assert again.registered == [] and "order.created" in again.unchanged


def test_register_event_contracts_command_reports_what_it_did():
    from io import StringIO

    from django.core.management import call_command

    BusinessEvent.objects.create(event_type="invoice.posted", schema_version=1, aggregate_type="invoice",
                                 aggregate_id="7", sequence=1, payload={"invoice_id": 7, "total": "10.00"},
                                 actor="hub", occurred_at="2030-01-01T00:00:00Z")
    out = StringIO()
    call_command("register_event_contracts", stdout=out)
    assert "invoice.posted: registered version 1" in out.getvalue()
    assert "no events recorded yet" in out.getvalue()
    call_command("register_event_contracts", stdout=out)
    assert "unchanged: invoice.posted" in out.getvalue()
