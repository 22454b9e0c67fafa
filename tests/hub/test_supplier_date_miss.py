"""A supplier's confirmed date outside the promise window opens a supplier-management exception that
lists the customer orders at risk, by REST and by inbound message; a revision back inside resolves it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from canonical.models import BusinessEvent, OrderLine, PurchaseOrderStatus
from connectors.models import Category, IntegrationException, Team
from tests.connectors.inbound_support import inbound_routes, send
from tests.factories import (
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(partner_client):
    return partner_client("acme", "supplier")


@pytest.fixture
def world(acme):
    """PO-1 to acme for the Dallas DC: line 1 feeds SO-1 line 1 (promised 20 March), line 2 replenishes
    gadgets that SO-2 (needed 22 March) and SO-3 (needed 30 April) wait for."""
    dallas = LocationFactory(code="dallas")
    widget, gadget = ProductFactory(sku="WID-1"), ProductFactory(sku="GAD-2")
    so1 = OrderFactory(number="SO-1", status="backordered")
    fed = OrderLineFactory(order=so1, line_number=1, product=widget, quantity_ordered=10, quantity_backordered=10,
                           promised_date=date(2025, 3, 20))
    so2 = OrderFactory(number="SO-2", status="backordered", requested_date=date(2025, 3, 22))
    OrderLineFactory(order=so2, line_number=1, product=gadget, quantity_ordered=3, quantity_backordered=3,
                     location=dallas)
    so3 = OrderFactory(number="SO-3", status="backordered")
    OrderLineFactory(order=so3, line_number=1, product=gadget, quantity_ordered=3, quantity_backordered=3,
                     promised_date=date(2025, 4, 30))
    shipped = OrderFactory(number="SO-4", status="shipped")
    OrderLineFactory(order=shipped, line_number=1, product=gadget, quantity_ordered=1, quantity_shipped=1)
    po = PurchaseOrderFactory(number="PO-1", supplier=acme.system, status=PurchaseOrderStatus.SENT,
                              ship_to_location=dallas, requested_date=date(2025, 3, 18))
    PurchaseOrderLineFactory(purchase_order=po, line_number=1, product=widget, quantity=Decimal("10"), order_line=fed)
    PurchaseOrderLineFactory(purchase_order=po, line_number=2, product=gadget, quantity=Decimal("50"))
    return po


def ack(lines, **extra):
    return {"acknowledged_at": "2025-03-02T10:00:00Z", "status": "accepted",
            "lines": [{"line_number": n, "confirmed_quantity": q, "confirmed_date": d} for n, q, d in lines], **extra}


def post_ack(client, body):
    return client.post("/api/v1/systems/acme/purchase-orders/PO-1/acknowledgements", body, format="json")


def date_misses():
    return IntegrationException.objects.filter(category=Category.SUPPLIER_DATE_MISS)


def test_confirmed_dates_inside_the_window_open_nothing(acme, world):
    response = post_ack(acme, ack([(1, "10", "2025-03-20"), (2, "50", "2025-03-18")]))
    assert response.status_code == 201, response.content
    assert not date_misses().exists()


def test_a_late_date_opens_a_supplier_management_exception_listing_the_orders_at_risk(acme, world):
    response = post_ack(acme, ack([(1, "10", "2025-03-24"), (2, "50", "2025-03-25")]))
    assert response.status_code == 201, response.content
    exception = date_misses().get()
    assert (exception.team, exception.severity, exception.status) == (Team.SUPPLIER_MANAGEMENT, "high", "open")
    assert (exception.purchase_order, exception.supplier) == (world, acme.system)
    assert exception.order.number == "SO-1" and exception.customer == exception.order.customer
    assert exception.title == "Supplier date miss: acme on PO PO-1, 2 customer order(s) at risk"
    context = exception.context
    late = {line["line_number"]: line for line in context["late_lines"]}
    assert (late[1]["needed_by"], late[1]["window_ends"], late[1]["days_late"]) == ("2025-03-20", "2025-03-20", 4)
    assert late[1]["needed_for"] == "order SO-1 line 1"
    assert (late[2]["needed_by"], late[2]["days_late"]) == ("2025-03-18", 7)
    at_risk = {entry["number"]: entry for entry in context["orders_at_risk"]}
    # SO-3 is needed after the new date and SO-4 has shipped: neither is at risk.
    assert sorted(at_risk) == ["SO-1", "SO-2"] and context["orders_at_risk_count"] == 2
    assert at_risk["SO-1"]["waits_as"] == ["linked"] and at_risk["SO-2"]["waits_as"] == ["backordered"]
    so2 = at_risk["SO-2"]
    assert so2["links"] == {"admin": f"/admin/canonical/order/{so2['id']}/change/", "api": f"/api/v1/orders/{so2['id']}"}
    assert so2["lines"][0]["needed_by"] == "2025-03-22" and so2["lines"][0]["supply_confirmed_for"] == "2025-03-25"
    assert context["purchase_order"]["links"]["api"] == f"/api/v1/purchase-orders/{world.pk}"
    assert "SO-1, SO-2" in exception.detail


def test_a_repeat_counts_nothing_a_late_revision_updates_and_a_good_one_resolves(acme, world):
    late = ack([(1, "10", "2025-03-24")])
    post_ack(acme, late)
    assert post_ack(acme, late).status_code == 200  # the same revision again
    assert date_misses().get().occurrences == 1

    revised = post_ack(acme, ack([(1, "10", "2025-03-21")], acknowledged_at="2025-03-03T10:00:00Z"))
    assert revised.json()["revision"] == 2
    exception = date_misses().get()
    assert exception.occurrences == 2
    assert exception.context["acknowledgement"]["revision"] == 2
    assert exception.context["late_lines"][0]["confirmed_date"] == "2025-03-21"

    post_ack(acme, ack([(1, "10", "2025-03-19")], acknowledged_at="2025-03-04T10:00:00Z"))
    exception.refresh_from_db()
    assert exception.status == "resolved"
    assert exception.resolution_note == "Resolved by the hub: revision 3 confirms every line within the promise window."


@override_settings(HUB_SUPPLIER_DATE_TOLERANCE_DAYS=5)
def test_the_tolerance_widens_the_window(acme, world):
    post_ack(acme, ack([(1, "10", "2025-03-25"), (2, "50", "2025-03-23")]))
    assert not date_misses().exists()
    post_ack(acme, ack([(1, "10", "2025-03-26")], acknowledged_at="2025-03-03T10:00:00Z"))
    assert date_misses().get().context["late_lines"][0]["days_late"] == 1


def test_a_short_confirmation_or_a_rejection_puts_orders_at_risk_too(acme, world):
    post_ack(acme, ack([(1, "6", "2025-03-19")]))
    exception = date_misses().get()
    assert exception.context["late_lines"][0]["reasons"] == ["Confirmed 6 of 10."]
    post_ack(acme, ack([], status="rejected", acknowledged_at="2025-03-03T10:00:00Z"))
    exception.refresh_from_db()
    reasons = {line["line_number"]: line["reasons"] for line in exception.context["late_lines"]}
    assert reasons == {1: ["The supplier rejected the purchase order."], 2: ["The supplier rejected the purchase order."]}


def test_the_inbound_acknowledgement_opens_the_same_exception(acme, world):
    with inbound_routes():
        response = send(acme, "acme", "supplier.acknowledgement",
                        {"purchase_order": "PO-1", **ack([(1, "10", "2025-03-24")])})
    assert response.status_code == 201, response.content
    exception = date_misses().get()
    assert response.json()["result"]["date_miss_exception"] == exception.pk
    assert [entry["number"] for entry in exception.context["orders_at_risk"]] == ["SO-1"]
    assert exception.inbound_message is None  # the message went through; nothing to retry


def test_staff_re_promise_the_orders_at_risk_to_the_suppliers_dates(acme, world, admin_client, settings):
    settings.HUB_SUPPLY_HANDLING_DAYS = 1
    post_ack(acme, ack([(1, "10", "2025-03-24"), (2, "50", "2025-03-25")]))
    exception = date_misses().get()
    act = reverse("admin:connectors_integrationexception_act", args=[exception.pk])
    page = admin_client.get(reverse("admin:connectors_integrationexception_change", args=[exception.pk]))
    assert "Re-promise the customers to the supplier&#x27;s dates" in page.content.decode()

    asked = admin_client.post(act, {"action": "repromise"})
    assert asked.status_code == 200 and b"handling days" in asked.content  # the confirmation, nothing done yet
    assert OrderLine.objects.get(order__number="SO-1").promised_date == date(2025, 3, 20)

    done = admin_client.post(act, {"action": "repromise", "apply": "1", "note": "Customers told by phone."},
                             follow=True)

    assert done.status_code == 200
    promised = dict(OrderLine.objects.filter(order__number__in=["SO-1", "SO-2", "SO-3"])
                    .values_list("order__number", "promised_date"))
    # SO-1's line is fed by line 1 (24 March), SO-2 waits for line 2's gadgets (25 March); SO-3 is
    # needed after both and keeps its promise. Handling adds a day.
    assert promised == {"SO-1": date(2025, 3, 25), "SO-2": date(2025, 3, 26), "SO-3": date(2025, 4, 30)}
    exception.refresh_from_db()
    assert exception.status == "resolved"
    assert "SO-1 line 1 2025-03-20 -> 2025-03-25" in exception.resolution_note
    assert exception.resolution_note.endswith("Customers told by phone.")
    updated = BusinessEvent.objects.filter(event_type="order.updated", payload__reason="supplier acknowledgement")
    assert sorted(e.payload["order"]["number"] for e in updated) == ["SO-1", "SO-2"]
