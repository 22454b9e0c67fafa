"""Cancelling an order (POST /api/v1/orders/{id}/cancel, or the ERP's own cancel): stock back, unacknowledged
supplier POs withdrawn, backorders cleared, events; not after shipping."""

from __future__ import annotations

import pytest
from django.utils import timezone

from canonical.models import (
    BusinessEvent,
    Customer,
    InventoryPosition,
    Order,
    PurchaseOrder,
    SupplierAcknowledgement,
)
from connectors.models import IntegrationException
from tests.hub.ordering_support import new_key

pytestmark = pytest.mark.django_db


def place(client, lines):
    response = client.post(
        "/api/v1/orders", {"customer": "CRM-100", "ship_to": "CRM-100-1", "lines": lines}, format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=response.json()["order"]["id"])


def test_cancel_gives_the_stock_back_and_withdraws_the_purchase_orders(crm, shop):
    order = place(crm, [{"sku": "WID-1", "quantity": "4"}, {"sku": "BOLT-1", "quantity": "50"},
                        {"sku": "CRATE-1", "quantity": "1"}])
    drop = PurchaseOrder.objects.get(kind="drop_ship")
    SupplierAcknowledgement.objects.create(purchase_order=drop, acknowledged_at=timezone.now())
    PurchaseOrder.objects.filter(pk=drop.pk).update(status="acknowledged")

    response = crm.post(f"/api/v1/orders/{order.pk}/cancel", {"reason": "customer changed plans"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["order"]["status"] == "cancelled" and body["changed"] is True
    assert body["reservations_released"] == 1
    # Nothing is owed to a cancelled order: no line stays backordered (BOLT-1 was short).
    assert [(line["sku"], line["quantity_allocated"], line["quantity_backordered"]) for line in body["order"]["lines"]] \
        == [("WID-1", "0.000", "0.000"), ("BOLT-1", "0.000", "0.000"), ("CRATE-1", "0.000", "0.000")]
    replenishment = PurchaseOrder.objects.get(kind="replenishment")
    assert body["purchase_orders_cancelled"] == [replenishment.number]
    assert body["purchase_orders_kept"] == [{"number": drop.number, "reason": "the supplier has it as acknowledged"}]
    replenishment.refresh_from_db()
    assert replenishment.status == "cancelled"
    assert InventoryPosition.objects.get(product=shop.widget, location=shop.east).reserved == 0
    types = list(BusinessEvent.objects.filter(aggregate_type="order", aggregate_id=str(order.pk))
                 .order_by("sequence").values_list("event_type", flat=True))
    assert types[-3:] == ["order.reservations_released", "order.status_changed", "order.cancelled"]
    withdrawn = BusinessEvent.objects.get(aggregate_type="purchase_order", aggregate_id=str(replenishment.pk),
                                          event_type="purchase_order.updated")
    assert (withdrawn.payload["from"], withdrawn.payload["to"]) == ("sent", "cancelled")
    assert withdrawn.payload["purchase_order"]["supplier"] == "acme-supply"

    again = crm.post(f"/api/v1/orders/{order.pk}/cancel", format="json")
    assert again.status_code == 200 and again.json()["changed"] is False


@pytest.mark.parametrize("status", ["partially_shipped", "shipped", "invoiced", "closed"])
def test_an_order_past_shipping_cannot_be_cancelled(crm, shop, status):
    order = place(crm, [{"sku": "WID-1", "quantity": "1"}])
    Order.objects.filter(pk=order.pk).update(status=status)
    response = crm.post(f"/api/v1/orders/{order.pk}/cancel", format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("/illegal-transition")
    assert (body["from"], body["to"]) == (status, "cancelled")
    assert (body["current_status"], body["requested_status"]) == (status, "cancelled")
    assert InventoryPosition.objects.get(product=shop.widget, location=shop.east).reserved == 1  # untouched


def test_only_the_placing_system_the_system_of_record_or_staff_may_cancel(partner_client, crm, shop, admin_client):
    order = place(crm, [{"sku": "WID-1", "quantity": "1"}])
    shop_client = partner_client("shop", "ecommerce")
    refused = shop_client.post(f"/api/v1/orders/{order.pk}/cancel", format="json")
    assert refused.status_code == 403 and "did not place" in refused.json()["detail"]
    erp = partner_client("erp", "erp")
    assert erp.post(f"/api/v1/orders/{order.pk}/cancel", format="json").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status", "pointer"),
    [
        ("/api/v1/orders/999999/cancel", {}, 404, None),
        ("/api/v1/orders/99999999999999999999/cancel", {}, 404, None),
        ("{order}", {"reason": "x" * 501}, 400, "/reason"),
        ("{order}", {"why": "x"}, 400, "/why"),
        ("{order}", ["x"], 400, None),
    ],
)
def test_bad_cancel_requests_are_problems(crm, shop, path, body, status, pointer):
    order = place(crm, [{"sku": "WID-1", "quantity": "1"}])
    path = path.replace("{order}", f"/api/v1/orders/{order.pk}/cancel")
    response = crm.post(path, body, format="json")
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    if pointer:
        assert pointer in [e["pointer"] for e in response.json()["errors"]]


# The orders' system of record cancels -------------------------------------------------------------


@pytest.fixture
def erp(partner_client, shop):
    return partner_client("erp", "erp")


def _holdings(order, shop):
    """What the order holds: widgets reserved at east, its lines' (allocated, backordered), its open POs."""
    order.refresh_from_db()
    lines = [(line.quantity_allocated, line.quantity_backordered) for line in order.lines.order_by("line_number")]
    open_pos = PurchaseOrder.objects.filter(lines__order_line__order=order).exclude(status="cancelled").count()
    return InventoryPosition.objects.get(product=shop.widget, location=shop.east).reserved, lines, open_pos


def _erp_cancels_by_message(erp, order):
    response = erp.post("/api/v1/inbound/erp/order.status",
                        {"order": {"number": order.number}, "status": "cancelled", "reason": "customer rang the ERP"},
                        format="json")
    assert response.status_code == 200, response.content
    assert response.json()["result"]["changed"] is True
    assert response.json()["result"]["order"]["status"] == "cancelled"


def _erp_writes_the_order(erp, order, erp_number, **changes):
    """The ERP acknowledges the order as ``erp_number``, then writes it back with ``changes``; the answer."""
    bound = erp.post("/api/v1/inbound/erp/order.acknowledgement",
                     {"order": {"number": order.number}, "erp_order_number": erp_number}, format="json")
    assert bound.status_code == 200, bound.content
    current = erp.get(f"/api/v1/orders/{order.pk}").json()
    body = {
        "number": current["number"], "customer": current["customer"], "ship_to": current["ship_to"],
        "status": current["status"], "placed_at": current["placed_at"],
        "lines": [{"line_number": line["line_number"], "sku": line["sku"], "quantity_ordered": line["quantity_ordered"],
                   "unit_price": line["unit_price"]} for line in current["lines"]],
        **changes,
    }
    response = erp.put(f"/api/v1/systems/erp/orders/{erp_number}", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _erp_cancels_by_writing_the_order(erp, order):
    assert _erp_writes_the_order(erp, order, "ERP-77", status="cancelled")["status"] == "cancelled"


@pytest.mark.parametrize("cancel", [_erp_cancels_by_message, _erp_cancels_by_writing_the_order],
                         ids=["order.status message", "order written with status cancelled"])
def test_the_erps_cancel_gives_back_what_the_order_held(crm, erp, shop, cancel):
    order = place(crm, [{"sku": "WID-1", "quantity": "4"}, {"sku": "BOLT-1", "quantity": "50"}])
    assert _holdings(order, shop) == (4, [(4, 0), (0, 50)], 1)  # BOLT-1 short: backordered and ordered from Acme

    cancel(erp, order)

    assert _holdings(order, shop) == (0, [(0, 0), (0, 0)], 0)
    assert order.status == "cancelled"
    replenishment = PurchaseOrder.objects.get(kind="replenishment")
    assert replenishment.status == "cancelled"
    types = list(BusinessEvent.objects.filter(aggregate_type="order", aggregate_id=str(order.pk))
                 .order_by("sequence").values_list("event_type", flat=True))
    assert types[-3:] == ["order.reservations_released", "order.status_changed", "order.cancelled"]
    cancelled = BusinessEvent.objects.filter(aggregate_id=str(order.pk), event_type="order.cancelled").get()
    assert cancelled.source_system.code == "erp"


@pytest.mark.parametrize("cancel", [_erp_cancels_by_message, _erp_cancels_by_writing_the_order],
                         ids=["order.status message", "order written with status cancelled"])
def test_the_erps_cancel_of_a_held_order_closes_finances_exception(crm, erp, shop, cancel):
    Customer.objects.filter(pk=shop.customer.pk).update(credit_limit=10)
    order = place(crm, [{"sku": "WID-1", "quantity": "4"}])
    assert order.status == "credit_hold"
    exception = IntegrationException.objects.get(category="credit_hold", order=order)
    assert exception.status == "open"

    cancel(erp, order)

    exception.refresh_from_db()
    assert exception.status == "resolved"
    assert f"Order {order.number} cancelled by erp" in exception.resolution_note


def test_the_erp_writing_a_held_order_without_cancelling_it_leaves_finances_exception_open(crm, erp, shop):
    Customer.objects.filter(pk=shop.customer.pk).update(credit_limit=10)
    order = place(crm, [{"sku": "WID-1", "quantity": "4"}])
    written = _erp_writes_the_order(erp, order, "ERP-78", customer_po="PO-NEW")
    assert (written["status"], written["customer_po"]) == ("credit_hold", "PO-NEW")
    assert IntegrationException.objects.get(category="credit_hold", order=order).status == "open"


def test_the_erps_cancel_after_shipping_is_refused_and_changes_nothing(crm, erp, shop):
    order = place(crm, [{"sku": "WID-1", "quantity": "4"}])
    Order.objects.filter(pk=order.pk).update(status="shipped")
    response = erp.post("/api/v1/inbound/erp/order.status",
                        {"order": {"number": order.number}, "status": "cancelled"}, format="json")
    assert response.status_code == 409, response.content
    assert _holdings(order, shop)[0] == 4
