"""ERP invoices roll up into the order lines' invoiced quantities and move a shipped order to invoiced."""

from decimal import Decimal

import pytest

from canonical.models import BusinessEvent, Invoice, Order, OrderLine
from tests.factories import (
    ExternalRefFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    ShipmentFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(partner_client):
    client = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="invoices", system=client.system)
    return client


@pytest.fixture
def order(erp):
    made = OrderFactory(number="SO-5", status="shipped")
    OrderLineFactory(order=made, line_number=1, product=ProductFactory(sku="WID-1"), quantity_ordered=10,
                     quantity_shipped=10)
    OrderLineFactory(order=made, line_number=2, product=ProductFactory(sku="GAD-2"), quantity_ordered=4,
                     quantity_shipped=4)
    ExternalRefFactory(system=erp.system, entity_type="order", external_id="ERP-SO-5", object_id=made.pk)
    return made


def invoice(number, lines, **extra):
    return {"number": number, "customer": extra.pop("customer", None), "order": "ERP-SO-5",
            "issued_at": "2025-03-05T00:00:00Z",
            "lines": [{"line_number": n, "sku": sku, "quantity": q, "unit_price": "2.00"} for n, sku, q in lines],
            **extra}


def put(client, external_id, body):
    return client.put(f"/api/v1/systems/erp/invoices/{external_id}", body, format="json")


def invoiced(order):
    return dict(OrderLine.objects.filter(order=order).values_list("line_number", "quantity_invoiced"))


def status_of(order):
    return Order.objects.get(pk=order.pk).status


def test_partial_invoices_roll_up_and_the_last_one_moves_the_order_to_invoiced(erp, order):
    first = put(erp, "AR-1", {**invoice("INV-1", [(1, "WID-1", "10")]), "customer": order.customer_id})
    assert first.status_code == 201, first.content
    assert invoiced(order) == {1: Decimal("10"), 2: Decimal("0")}
    assert status_of(order) == "shipped"
    shipment = ShipmentFactory(order=order)
    second = put(erp, "AR-2", {**invoice("INV-2", [(2, "GAD-2", "4")]), "customer": order.customer_id,
                               "shipment": shipment.pk})
    assert second.status_code == 201, second.content
    assert Invoice.objects.get(number="INV-2").shipment == shipment
    assert status_of(order) == "invoiced"
    change = BusinessEvent.objects.filter(event_type="order.status_changed").get()
    assert (change.payload["from"], change.payload["to"], change.payload["reason"]) == ("shipped", "invoiced",
                                                                                       "fully invoiced")


def test_an_order_not_yet_shipped_stays_where_it_is_when_invoiced(erp, order):
    Order.objects.filter(pk=order.pk).update(status="partially_shipped")
    response = put(erp, "AR-1", {**invoice("INV-1", [(1, "WID-1", "10"), (2, "GAD-2", "4")]),
                                 "customer": order.customer_id})
    assert response.status_code == 201
    assert status_of(order) == "partially_shipped"
    assert invoiced(order) == {1: Decimal("10"), 2: Decimal("4")}


def test_invoicing_more_than_ordered_is_refused_at_the_line(erp, order):
    put(erp, "AR-1", {**invoice("INV-1", [(1, "WID-1", "8")]), "customer": order.customer_id})
    response = put(erp, "AR-2", {**invoice("INV-2", [(2, "GAD-2", "1"), (1, "WID-1", "3")]),
                                 "customer": order.customer_id})
    assert response.status_code == 422, response.content
    problem = response.json()
    assert problem["errors"][0]["pointer"] == "/lines/1/quantity"
    assert "only 10.000 is ordered" in problem["detail"]
    assert not Invoice.objects.filter(number="INV-2").exists()
    assert invoiced(order) == {1: Decimal("8"), 2: Decimal("0")}


def test_a_credited_invoice_no_longer_counts_and_a_corrected_one_can_replace_it(erp, order):
    body = {**invoice("INV-1", [(1, "WID-1", "10"), (2, "GAD-2", "4")]), "customer": order.customer_id}
    put(erp, "AR-1", body)
    assert status_of(order) == "invoiced"
    credited = put(erp, "AR-1", {**body, "status": "credited"})
    assert credited.status_code == 200
    assert invoiced(order) == {1: Decimal("0"), 2: Decimal("0")}
    assert status_of(order) == "invoiced"  # never back
    again = put(erp, "AR-3", {**invoice("INV-3", [(1, "WID-1", "10"), (2, "GAD-2", "4")]),
                              "customer": order.customer_id})
    assert again.status_code == 201, again.content
    assert invoiced(order) == {1: Decimal("10"), 2: Decimal("4")}
