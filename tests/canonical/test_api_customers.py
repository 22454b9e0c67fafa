"""The customer endpoints: the pattern every canonical entity follows."""

import json

import pytest

from canonical.models import BusinessEvent, Customer, ExternalRef
from tests.factories import CustomerFactory, SystemFactory, SystemOfRecordFactory

pytestmark = pytest.mark.django_db

BODY = {
    "account_number": "A-1001",
    "name": "Acme Plumbing Inc.",
    "tax_id": "12-3456789",
    "credit_limit": "25000.00",
    "addresses": [{"kind": "billing", "line1": "1 Main St", "city": "Springfield", "is_default": True}],
    "contacts": [{"name": "Pat Buyer", "email": "pat@acme.test", "role": "buyer", "is_primary": True}],
}


@pytest.fixture
def crm(partner_client):
    client = partner_client("crm", "crm")
    SystemOfRecordFactory(domain="customers", system=client.system)
    return client


def put(client, external_id, body, system="crm"):
    return client.put(f"/api/v1/systems/{system}/customers/{external_id}", body, format="json")


def test_owner_creates_customer_with_ref_and_event(crm):
    response = put(crm, "0015g00000AbC", BODY)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["account_number"] == "A-1001"
    assert data["external_refs"] == [{"system": "crm", "external_id": "0015g00000AbC"}]
    assert data["addresses"][0]["city"] == "Springfield"
    customer = Customer.objects.get(pk=data["id"])
    assert customer.normalised_name == "acme plumbing"
    event = BusinessEvent.objects.get(aggregate_type="customer", aggregate_id=str(customer.pk), sequence=1)
    assert event.event_type == "customer.created"
    # A new account is onboarded: pending until ERP activates it (tests/hub/test_onboarding.py).
    assert (data["status"], data["onboarding"]) == ("pending", "activation_requested")
    assert event.source_system == crm.system
    assert event.payload["customer"]["account_number"] == "A-1001"
    assert event.correlation_id == response["X-Correlation-ID"]


def test_same_body_twice_changes_nothing_and_emits_no_second_event(crm):
    assert put(crm, "X1", BODY).status_code == 201
    second = put(crm, "X1", BODY)
    assert second.status_code == 200
    assert list(BusinessEvent.objects.order_by("id").values_list("event_type", flat=True)) == [
        "customer.created", "customer.activation_requested"]
    assert Customer.objects.count() == 1


def test_a_partial_sync_changes_only_what_it_sends(crm):
    parent = CustomerFactory(account_number="A-1000")
    created = put(crm, "X1", {**BODY, "parent": parent.pk, "roles": ["ship_to"], "payment_terms": "net60",
                              "credit_status": "hold", "currency": "CAD"})
    assert created.status_code == 201, created.content
    Customer.objects.filter(pk=created.json()["id"]).update(status="inactive")  # as the CRM later set it

    renamed = put(crm, "X1", {"account_number": "A-1001", "name": "Acme Plumbing & Heating Inc."})

    assert renamed.status_code == 200, renamed.content
    data = renamed.json()
    assert data["name"] == "Acme Plumbing & Heating Inc."
    assert (data["status"], data["credit_status"], data["credit_limit"], data["tax_id"], data["currency"],
            data["payment_terms"], data["parent"], data["roles"]) == (
        "inactive", "hold", "25000.00", "12-3456789", "CAD", "net60", parent.pk, ["ship_to"])
    assert data["addresses"][0]["city"] == "Springfield"
    assert BusinessEvent.objects.order_by("-id").first().payload["changed"] == ["name"]
    # A field sent as null is cleared.
    assert put(crm, "X1", {"account_number": "A-1001", "name": "Acme Plumbing & Heating Inc.",
                           "parent": None}).json()["parent"] is None


def test_change_emits_update_with_next_sequence_and_changed_fields(crm):
    put(crm, "X1", BODY)
    response = put(crm, "X1", {**BODY, "credit_limit": "30000.00"})
    assert response.status_code == 200
    event = BusinessEvent.objects.order_by("-id").first()
    assert (event.event_type, event.sequence) == ("customer.updated", 3)  # after created, activation_requested
    assert event.payload["changed"] == ["credit_limit"]


def test_write_from_non_owner_is_refused_with_owner_named(partner_client, crm):
    erp = partner_client("erp", "erp")
    response = put(erp, "E1", BODY, system="erp")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/not-system-of-record")
    assert problem["system_of_record"] == "crm"
    assert "'crm'" in problem["detail"]
    assert not Customer.objects.exists() and not BusinessEvent.objects.exists()


def test_consumer_cannot_write_as_another_system(partner_client, crm):
    shop = partner_client("shop", "ecommerce")
    response = put(shop, "X1", BODY, system="crm")
    assert response.status_code == 403
    assert "cannot write records of system 'crm'" in response.json()["detail"]
    assert not Customer.objects.exists()


def test_unknown_and_missing_fields_are_named(crm):
    response = put(crm, "X1", {"name": "No Number", "colour": "blue"})
    assert response.status_code == 400
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/colour", "/account_number"}
    assert not Customer.objects.exists()


def test_wrong_types_are_refused(crm):
    response = put(crm, "X1", {**BODY, "credit_limit": "lots", "addresses": "1 Main St"})
    assert response.status_code == 400
    assert {e["pointer"] for e in response.json()["errors"]} == {"/credit_limit", "/addresses"}


def test_parent_by_own_external_id_and_unknown_parent(crm):
    put(crm, "PARENT", BODY)
    child = put(crm, "CHILD", {**BODY, "account_number": "A-1002", "parent": "PARENT", "roles": ["ship_to"]})
    assert child.status_code == 201, child.content
    assert child.json()["parent"] == Customer.objects.get(account_number="A-1001").pk
    assert child.json()["roles"] == ["ship_to"]
    missing = put(crm, "CHILD2", {**BODY, "account_number": "A-1003", "parent": "NOPE"})
    assert missing.status_code == 400
    assert "has no customer with external id 'NOPE'" in json.dumps(missing.json())


def test_get_by_external_id_and_unknown_external_id(crm):
    put(crm, "X1", BODY)
    assert crm.get("/api/v1/systems/crm/customers/X1").json()["account_number"] == "A-1001"
    missing = crm.get("/api/v1/systems/crm/customers/NOPE")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/unknown-reference")
    assert crm.get("/api/v1/systems/nosuch/customers/X1").status_code == 404


def test_list_filters_and_cursor_pagination(crm):
    for i in range(3):
        CustomerFactory(status="active", name=f"Active {i}")
    CustomerFactory(status="inactive")
    response = crm.get("/api/v1/customers", {"status": "active", "page_size": 2})
    assert response.status_code == 200
    page = response.json()
    assert len(page["results"]) == 2 and page["next"]
    rest = crm.get(page["next"]).json()
    assert len(rest["results"]) == 1
    ids = {c["id"] for c in page["results"] + rest["results"]}
    assert ids == set(Customer.objects.filter(status="active").values_list("pk", flat=True))


def test_missing_or_bad_key_is_401_with_challenge(client):
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == "application/problem+json"
    bad = client.get("/api/v1/customers", HTTP_AUTHORIZATION="Bearer hub_deadbeef_nope")
    assert bad.status_code == 401


def test_malformed_json_non_json_and_oversized_bodies(crm, settings):
    malformed = crm.generic("PUT", "/api/v1/systems/crm/customers/X1", "{not json", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.json()["type"].endswith("/malformed-json")
    xml = crm.generic("PUT", "/api/v1/systems/crm/customers/X1", "<customer/>", content_type="application/xml")
    assert xml.status_code == 415
    settings.HUB_MAX_BODY_BYTES = 2048
    big = crm.put("/api/v1/systems/crm/customers/X1", {**BODY, "name": "x" * 5000}, format="json")
    assert big.status_code == 413
    assert not Customer.objects.exists()


def test_supplier_may_not_read_customers(partner_client):
    supplier = partner_client("acme-supply", "supplier")
    response = supplier.get("/api/v1/customers")
    assert response.status_code == 403
    assert "may not read customers" in response.json()["detail"]


def test_account_number_known_from_another_system_links_instead_of_duplicating(crm):
    existing = CustomerFactory(account_number="A-1001")
    ExternalRef.objects.create(system=SystemFactory(code="erp"), entity_type="customer", external_id="E1",
                               object_id=existing.pk)
    response = put(crm, "C1", BODY)
    assert response.status_code == 200
    assert response.json()["id"] == existing.pk
    assert {r["system"] for r in response.json()["external_refs"]} == {"crm", "erp"}


def test_changing_account_number_to_one_another_account_holds_is_refused(crm):
    put(crm, "X1", BODY)
    put(crm, "X2", {**BODY, "account_number": "A-2002"})
    response = put(crm, "X2", BODY)
    assert response.status_code == 409
    assert response.json()["type"].endswith("/natural-key-conflict")
    assert Customer.objects.get(account_number="A-2002")


def test_bad_reference_shapes_are_400_not_500(crm):
    for parent in (True, [], {}, {"id": 1, "external_id": "x"}, "bad\x00id"):
        response = put(crm, "X1", {**BODY, "parent": parent})
        assert response.status_code == 400, (parent, response.content)
        assert response.json()["errors"][0]["pointer"] == "/parent"
    assert crm.get("/api/v1/systems/crm/customers/a%00b").status_code == 404
