"""An advance ship notice puts stock in transit at the receiving location and pushes back the promised
dates of the customer order lines waiting on it; receipts recorded by the ERP take it out of transit."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings

from canonical.models import BusinessEvent, InventoryPosition, Order, OrderLine, PurchaseOrder
from canonical.services.supply_promises import NEVER_REPORTED
from tests.factories import (
    ExternalRefFactory,
    InventoryPositionFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(partner_client):
    client = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="supplier_commitments", system=client.system)
    return client


@pytest.fixture
def acme(partner_client):
    return partner_client("acme", "supplier")


@pytest.fixture
def customer_order(db):
    widget, gadget = ProductFactory(sku="WID-1"), ProductFactory(sku="GAD-2")
    order = OrderFactory(number="SO-1", status="backordered", promised_date=date(2025, 3, 18))
    OrderLineFactory(order=order, line_number=1, product=widget, quantity_ordered=30, quantity_backordered=30,
                     promised_date=date(2025, 3, 18))
    OrderLineFactory(order=order, line_number=2, product=gadget, quantity_ordered=5, promised_date=date(2025, 4, 30))
    return order


def po_body(**overrides):
    data = {
        "number": "PO-1", "supplier": "acme", "ship_to_location": "wh-east", "status": "sent",
        "ordered_at": "2025-03-01T08:00:00Z", "requested_date": "2025-03-15",
        "order": "SO-1-ERP",
        "lines": [
            {"line_number": 1, "sku": "WID-1", "quantity": "100", "order_line": 1},
            {"line_number": 2, "sku": "GAD-2", "quantity": "20", "order_line": 2},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def po(erp, acme, customer_order):
    LocationFactory(code="wh-east")
    ExternalRefFactory(system=erp.system, entity_type="order", external_id="SO-1-ERP", object_id=customer_order.pk)
    response = erp.put("/api/v1/systems/erp/purchase-orders/ERP-PO-1", po_body(), format="json")
    assert response.status_code == 201, response.content
    return PurchaseOrder.objects.get(number="PO-1")


def asn(acme, lines, number="ASN-1", expected="2025-03-19T12:00:00Z"):
    body = {"shipped_at": "2025-03-17T16:00:00Z", "expected_at": expected,
            "lines": [{"line_number": n, "quantity": q} for n, q in lines]}
    return acme.put(f"/api/v1/systems/acme/purchase-orders/PO-1/advance-ship-notices/{number}", body, format="json")


def in_transit(sku, location="wh-east"):
    position = InventoryPosition.objects.filter(product__sku=sku, location__code=location).first()
    return position.in_transit if position else None


def promised(order):
    return dict(OrderLine.objects.filter(order=order).values_list("line_number", "promised_date"))


def test_an_asn_puts_its_goods_in_transit_and_pushes_back_the_waiting_promise(acme, po, customer_order):
    response = asn(acme, [(1, "60")])
    assert response.status_code == 201, response.content
    assert in_transit("WID-1") == Decimal("60")
    position = InventoryPosition.objects.get(product__sku="WID-1")
    assert (position.on_hand, position.last_updated_at, position.last_updated_by) == (Decimal("0"), NEVER_REPORTED,
                                                                                       None)
    # Expected 19 March, plus one handling day: the line promised for the 18th is now promised for the 20th.
    assert promised(customer_order) == {1: date(2025, 3, 20), 2: date(2025, 4, 30)}
    assert Order.objects.get(pk=customer_order.pk).promised_date == date(2025, 3, 20)
    types = list(BusinessEvent.objects.filter(event_type__in=["order.updated", "inventory.changed",
                                                              "supplier.asn_received"])
                 .order_by("id").values_list("event_type", flat=True))
    assert types[-3:] == ["order.updated", "inventory.changed", "supplier.asn_received"]
    notice = BusinessEvent.objects.filter(event_type="supplier.asn_received").last()
    assert notice.payload["in_transit"] == [{"sku": "WID-1", "location": "wh-east", "from": "0.000", "to": "60.000"}]
    assert notice.payload["promised_dates"] == [{"order": "SO-1", "line_number": 1, "from": "2025-03-18",
                                                 "to": "2025-03-20"}]
    order_event = BusinessEvent.objects.filter(event_type="order.updated").last()
    assert order_event.payload["reason"] == "advance ship notice"
    assert sorted(order_event.payload["changed"]) == ["lines", "promised_date"]


def test_an_earlier_arrival_keeps_the_promise_made(acme, po, customer_order):
    asn(acme, [(2, "20")], expected="2025-03-25T12:00:00Z")
    assert promised(customer_order)[2] == date(2025, 4, 30)
    assert in_transit("GAD-2") == Decimal("20")
    assert not BusinessEvent.objects.filter(event_type="order.updated", payload__reason="advance ship notice").exists()


def test_corrections_and_receipts_move_in_transit(erp, acme, po):
    existing = InventoryPositionFactory(product=po.lines.get(line_number=1).product,
                                        location=LocationFactory(code="wh-east"), on_hand=Decimal("7"))
    asn(acme, [(1, "60")])
    asn(acme, [(1, "40")], number="ASN-2")
    assert in_transit("WID-1") == Decimal("100")
    asn(acme, [(1, "55")])  # ASN-1 corrected
    assert in_transit("WID-1") == Decimal("95")
    existing.refresh_from_db()
    assert existing.on_hand == Decimal("7")  # only what is in transit moves

    received = po_body(lines=[{**po_body()["lines"][0], "received_quantity": "70"}, po_body()["lines"][1]])
    response = erp.put("/api/v1/systems/erp/purchase-orders/ERP-PO-1", received, format="json")
    assert response.status_code == 200, response.content
    assert in_transit("WID-1") == Decimal("25")
    assert BusinessEvent.objects.filter(event_type="purchase_order.updated").last().payload["in_transit"] == [
        {"sku": "WID-1", "location": "wh-east", "from": "95.000", "to": "25.000"}]

    # The warehouse's own count replaces the hub's: later changes never take it below zero.
    InventoryPosition.objects.filter(pk=existing.pk).update(in_transit=Decimal("10"))
    all_in = po_body(lines=[{**po_body()["lines"][0], "received_quantity": "100"}, po_body()["lines"][1]])
    erp.put("/api/v1/systems/erp/purchase-orders/ERP-PO-1", all_in, format="json")
    assert in_transit("WID-1") == Decimal("0")


def test_a_new_receiving_location_moves_what_is_in_transit(erp, acme, po):
    LocationFactory(code="wh-west")
    asn(acme, [(1, "60")])
    response = erp.put("/api/v1/systems/erp/purchase-orders/ERP-PO-1", po_body(ship_to_location="wh-west"),
                       format="json")
    assert response.status_code == 200, response.content
    assert (in_transit("WID-1"), in_transit("WID-1", "wh-west")) == (Decimal("0"), Decimal("60"))


@override_settings(HUB_SUPPLY_HANDLING_DAYS=3)
def test_drop_ship_goes_to_the_customer_no_stock_in_transit_no_handling_days(erp, acme, customer_order):
    LocationFactory(code="wh-east")
    ExternalRefFactory(system=erp.system, entity_type="order", external_id="SO-1-ERP", object_id=customer_order.pk)
    body = po_body(kind="drop_ship", ship_to_location=None,
                   lines=[{"line_number": 1, "sku": "WID-1", "quantity": "30"}])
    assert erp.put("/api/v1/systems/erp/purchase-orders/ERP-PO-1", body, format="json").status_code == 201
    response = asn(acme, [(1, "30")], expected="2025-03-21T12:00:00Z")
    assert response.status_code == 201, response.content
    assert not InventoryPosition.objects.exists()
    assert promised(customer_order)[1] == date(2025, 3, 21)
