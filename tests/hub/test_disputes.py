"""Invoice disputes: POST /api/v1/invoices/{id}/dispute, the workflow behind it, and the admin action."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import AuditEntry, BusinessEvent, Invoice, InvoiceStatus
from canonical.state import IllegalTransition
from connectors.models import Category, IntegrationException, Severity, Team
from hub.workflows.disputes import DisputeRefused, invoice_dispute
from tests.factories import (
    ExternalRefFactory,
    InvoiceFactory,
    OrderFactory,
    ProductFactory,
    ShipmentFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice():
    order = OrderFactory(number="SO-4242")
    return InvoiceFactory(number="INV-4242", order=order, customer=order.customer, amount=Decimal("1200.00"),
                          shipment=ShipmentFactory(order=order))


def _dispute(client, invoice_id, body):
    return client.post(f"/api/v1/invoices/{invoice_id}/dispute", body, format="json")


def test_a_crm_disputes_an_invoice_and_finance_gets_an_exception(partner_client, invoice):
    crm = partner_client("crm", "crm")
    response = _dispute(crm, invoice.pk, {"reason": "Billed for 12, received 10", "disputed_amount": "200.00"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["invoice"]["status"] == "disputed" and body["invoice"]["dispute_reason"] == "Billed for 12, received 10"
    assert body["dispute"]["disputed_amount"] == "200.00" and body["dispute"]["raised_by"] == "system:crm"
    exception = IntegrationException.objects.get(pk=body["dispute"]["exception_id"])
    assert (exception.category, exception.team, exception.severity) == (
        Category.INVOICE_DISPUTE, Team.FINANCE, Severity.MEDIUM)
    assert (exception.invoice, exception.order, exception.customer, exception.shipment) == (
        invoice, invoice.order, invoice.customer, invoice.shipment)
    assert exception.context["disputed_amount"] == "200.00" and exception.detail == "Billed for 12, received 10"
    assert exception.correlation_id == response["X-Correlation-ID"]
    event = BusinessEvent.objects.get(event_type="invoice.disputed")
    assert (event.aggregate_type, event.aggregate_id) == ("invoice", str(invoice.pk))
    assert event.payload["from"] == "posted" and event.payload["reason"] == "Billed for 12, received 10"
    audit = AuditEntry.objects.get(action="invoice.disputed")
    assert audit.before["status"] == "posted" and audit.after["status"] == "disputed"
    assert audit.actor_system.code == "crm"


def test_the_web_store_may_dispute_a_paid_invoice_in_full(partner_client, invoice):
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.PAID, amount=Decimal("15000.00"))
    response = _dispute(partner_client("shop", "ecommerce"), invoice.pk, {"reason": "Never delivered"})
    assert response.status_code == 200, response.content
    assert response.json()["dispute"]["disputed_amount"] == "15000.00"
    assert IntegrationException.objects.get().severity == Severity.HIGH


@pytest.mark.parametrize("kind", ["erp", "wms", "supplier"])
def test_systems_that_do_not_speak_for_the_customer_may_not_dispute(partner_client, invoice, kind):
    response = _dispute(partner_client(kind, kind), invoice.pk, {"reason": "x"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.POSTED


@pytest.mark.parametrize(("body", "pointer"), [
    ({}, "/reason"),
    ({"reason": "   "}, "/reason"),
    ({"reason": "x" * 2001}, "/reason"),
    ({"reason": "ok", "disputed_amount": "-5"}, "/disputed_amount"),
    ({"reason": "ok", "disputed_amount": "abc"}, "/disputed_amount"),
    # A misspelt field is refused, not ignored: the whole invoice would be disputed instead of the amount.
    ({"reason": "short shipped", "amount": "10.00"}, "/amount"),
])
def test_bad_input_is_a_validation_problem_naming_the_field(partner_client, invoice, body, pointer):
    response = _dispute(partner_client("crm", "crm"), invoice.pk, body)
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert not IntegrationException.objects.exists()


def test_more_than_the_invoice_is_a_business_rule_problem(partner_client, invoice):
    response = _dispute(partner_client("crm", "crm"), invoice.pk, {"reason": "ok", "disputed_amount": "1200.01"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/disputed_amount"


def test_an_invoice_already_disputed_or_credited_is_a_conflict(partner_client, invoice):
    crm = partner_client("crm", "crm")
    first = _dispute(crm, invoice.pk, {"reason": "wrong price"})
    again = _dispute(crm, invoice.pk, {"reason": "wrong price"})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/invoice-dispute-refused")
    assert again.json()["exception"] == first.json()["dispute"]["exception_id"]
    credited = InvoiceFactory(status=InvoiceStatus.CREDITED)
    response = _dispute(crm, credited.pk, {"reason": "x"})
    assert response.status_code == 409 and response.json()["type"].endswith("/illegal-transition")
    assert IntegrationException.objects.count() == 1


def test_unknown_invoice_and_missing_key(partner_client, client):
    response = _dispute(partner_client("crm", "crm"), 987654, {"reason": "x"})
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    anonymous = client.post("/api/v1/invoices/1/dispute", {"reason": "x"}, content_type="application/json")
    assert anonymous.status_code == 401


def test_staff_need_the_change_invoice_permission(invoice, django_user_model):
    from rest_framework.test import APIClient

    user = django_user_model.objects.create_user("sam", password="x-secret-pass-1", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)
    assert _dispute(client, invoice.pk, {"reason": "x"}).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="change_invoice"))
    user = django_user_model.objects.get(pk=user.pk)
    client.force_authenticate(user)
    response = _dispute(client, invoice.pk, {"reason": "Customer called"})
    assert response.status_code == 200 and response.json()["dispute"]["raised_by"] == "user:sam"


def test_the_service_refuses_a_blank_reason_and_a_zero_amount(invoice):
    with pytest.raises(BusinessRuleViolation, match="A reason is required"):
        invoice_dispute(invoice=invoice, reason=" ", actor=Actor.hub())
    with pytest.raises(BusinessRuleViolation, match="more than 0"):
        invoice_dispute(invoice=invoice, reason="x", actor=Actor.hub(), disputed_amount=Decimal("0"))
    invoice_dispute(invoice=invoice.pk, reason="x", actor=Actor.hub())
    with pytest.raises(DisputeRefused):
        invoice_dispute(invoice=invoice, reason="x", actor=Actor.hub())
    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.CREDITED)
    with pytest.raises(IllegalTransition):
        invoice_dispute(invoice=invoice, reason="x", actor=Actor.hub())


# --- admin action ---------------------------------------------------------------------------


@pytest.fixture
def finance_client(client, django_user_model):
    user = django_user_model.objects.create_user("fay", password="x-secret-pass-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_invoice", "change_invoice"]))
    client.force_login(user)
    return client


def test_the_admin_action_asks_for_a_reason_then_disputes_each_invoice(finance_client, invoice):
    credited = InvoiceFactory(number="INV-CREDITED", status=InvoiceStatus.CREDITED)
    url = "/admin/canonical/invoice/"
    selected = {"action": "dispute", "_selected_action": [invoice.pk, credited.pk]}
    asked = finance_client.post(url, selected)
    assert asked.status_code == 200
    assert "Dispute invoices" in asked.content.decode() and "INV-4242" in asked.content.decode()
    blank = finance_client.post(url, {**selected, "apply": "1", "reason": ""})
    assert blank.status_code == 200 and "This field is required" in blank.content.decode()
    done = finance_client.post(url, {**selected, "apply": "1", "reason": "Customer phoned: damaged goods"},
                               follow=True)
    html = done.content.decode()
    assert "1 disputed (INV-4242), 1 skipped (INV-CREDITED: it is credited and cannot be disputed)." in html
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DISPUTED and invoice.dispute_reason == "Customer phoned: damaged goods"
    exception = IntegrationException.objects.get(invoice=invoice)
    assert exception.category == Category.INVOICE_DISPUTE
    assert AuditEntry.objects.get(action="invoice.disputed").actor_user.username == "fay"


def test_the_admin_action_is_not_offered_without_change_permission(client, django_user_model, invoice):
    user = django_user_model.objects.create_user("vic", password="x-secret-pass-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_invoice"))
    client.force_login(user)
    page = client.get("/admin/canonical/invoice/")
    assert page.status_code == 200 and 'value="dispute"' not in page.content.decode()


def _erp_posts(erp, invoice, **fields):
    """The ERP sends the invoice (PUT by its own id), lines as they are, with ``fields`` on top."""
    body = {"number": invoice.number, "customer": invoice.customer_id, "order": invoice.order_id,
            "issued_at": "2026-11-02T09:00:00Z",
            "lines": [{"sku": ProductFactory(sku="VAL-1").sku, "quantity": "12", "unit_price": "100.00"}], **fields}
    return erp.put(f"/api/v1/systems/erp/invoices/AR-{invoice.number}", body, format="json")


@pytest.fixture
def erp(partner_client):
    client = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="invoices", system=client.system)
    return client


def test_a_posting_sent_again_without_a_status_keeps_the_dispute_and_its_exception(partner_client, erp, invoice):
    ExternalRefFactory(system=erp.system, entity_type="invoice", external_id=f"AR-{invoice.number}",
                       object_id=invoice.pk)
    disputed = _dispute(partner_client("crm", "crm"), invoice.pk, {"reason": "Damaged valves"}).json()

    again = _erp_posts(erp, invoice)  # a retry, or a due-date correction: no status, no dispute reason

    assert again.status_code == 200, again.content
    assert (again.json()["status"], again.json()["dispute_reason"]) == ("disputed", "Damaged valves")
    exception = IntegrationException.objects.get(pk=disputed["dispute"]["exception_id"])
    assert exception.status == "open"


@pytest.mark.parametrize("status", ["posted", "paid"])
def test_the_erp_settles_a_dispute_by_naming_another_status_and_the_exception_is_resolved(
        partner_client, erp, invoice, status):
    ExternalRefFactory(system=erp.system, entity_type="invoice", external_id=f"AR-{invoice.number}",
                       object_id=invoice.pk)
    disputed = _dispute(partner_client("crm", "crm"), invoice.pk, {"reason": "Damaged valves"}).json()

    settled = _erp_posts(erp, invoice, status=status, dispute_reason="")

    assert settled.status_code == 200, settled.content
    assert (settled.json()["status"], settled.json()["dispute_reason"]) == (status, "")
    exception = IntegrationException.objects.get(pk=disputed["dispute"]["exception_id"])
    assert exception.status == "resolved"
    assert f"moved from disputed to {status}" in exception.resolution_note
    assert BusinessEvent.objects.filter(aggregate_type="invoice", aggregate_id=str(invoice.pk),
                                        event_type="invoice.updated").exists()


def test_a_new_invoice_without_a_status_is_posted(erp):
    order = OrderFactory(number="SO-77")
    fresh = InvoiceFactory.build(number="INV-NEW", order=order, customer=order.customer)
    response = _erp_posts(erp, fresh)
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["dispute_reason"]) == ("posted", "")


def test_the_invoice_shows_the_amount_in_dispute_until_the_erp_settles_it(partner_client, erp, invoice):
    ExternalRefFactory(system=erp.system, entity_type="invoice", external_id=f"AR-{invoice.number}",
                       object_id=invoice.pk)
    crm = partner_client("crm", "crm")
    _dispute(crm, invoice.pk, {"reason": "Two valves damaged", "disputed_amount": "200.00"})
    assert crm.get(f"/api/v1/invoices/{invoice.pk}").json()["disputed_amount"] == "200.00"

    settled = _erp_posts(erp, invoice, status="posted")
    assert settled.json()["disputed_amount"] is None


def test_the_admin_action_disputes_part_of_an_invoice_when_given_an_amount(finance_client, invoice):
    finance_client.post("/admin/canonical/invoice/", {
        "action": "dispute", "apply": "1", "_selected_action": [invoice.pk], "reason": "Short by two",
        "disputed_amount": "150.00"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.disputed_amount) == ("disputed", Decimal("150.00"))
    assert IntegrationException.objects.get(invoice=invoice).context["disputed_amount"] == "150.00"
