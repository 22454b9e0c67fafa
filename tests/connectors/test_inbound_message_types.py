"""Each inbound message type, end to end through the endpoint into its canonical service."""

from __future__ import annotations

from decimal import Decimal

import pytest

from canonical.models import (
    BusinessEvent,
    ExternalRef,
    Invoice,
    OrderStatus,
    PurchaseOrderStatus,
    ShipmentMilestone,
)
from connectors.inbound.registry import message_types, schema_errors
from connectors.models import Category, IntegrationException
from tests.connectors.inbound_support import assert_failed_with_exception, send
from tests.factories import (
    CustomerFactory,
    ExternalRefFactory,
    OrderFactory,
    OrderLineFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    ShipmentFactory,
    SystemFactory,
    SystemOfRecordFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inbound_urls")]


@pytest.fixture
def erp(partner_client):
    client = partner_client("erp", "erp")
    for domain in ("orders", "invoices"):
        SystemOfRecordFactory(domain=domain, system=client.system)
    return client


def events(event_type: str):
    return BusinessEvent.objects.filter(event_type=event_type)


def test_every_message_type_has_a_schema_description_and_a_valid_example():
    names = [t.name for t in message_types()]
    assert names == [
        "credit_memo.posted", "customer.activated", "customer.upsert", "invoice.posted", "order.acknowledgement",
        "order.status", "return.receipt", "shipment.milestone", "supplier.acknowledgement", "supplier.asn",
    ]
    for message_type in message_types():
        assert message_type.description and message_type.senders
        assert schema_errors(message_type.validator, message_type.example) == [], message_type.name


# order.status -------------------------------------------------------------------------------------


def test_order_status_by_hub_number_moves_the_order_and_records_the_erp_number(erp):
    order = OrderFactory(status=OrderStatus.SUBMITTED_TO_ERP)
    response = send(erp, "erp", "order.status",
                    {"order": {"number": order.number}, "status": "in_fulfilment", "erp_order_number": "100234"})
    assert response.status_code == 200, response.content
    assert response.json()["result"] == {
        "order": {"id": order.pk, "number": order.number, "status": "in_fulfilment"},
        "changed": True, "reference_recorded": True,
    }
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_FULFILMENT
    assert ExternalRef.objects.get(system=erp.system, entity_type="order").external_id == "100234"
    event = events("order.status_changed").get()
    assert event.payload["from"] == "submitted_to_erp" and event.source_system == erp.system


def test_order_status_by_the_erps_own_id(erp):
    order = OrderFactory(status=OrderStatus.SHIPPED)
    ExternalRefFactory(system=erp.system, entity_type="order", external_id="100234", object_id=order.pk)
    response = send(erp, "erp", "order.status", {"order": {"external_id": "100234"}, "status": "invoiced"})
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.INVOICED


def test_illegal_order_transition_is_409_and_the_exception_links_the_order(erp):
    order = OrderFactory(status=OrderStatus.RECEIVED)
    response = send(erp, "erp", "order.status", {"order": {"number": order.number}, "status": "shipped",
                                                 "erp_order_number": "100234"})
    problem, exception = assert_failed_with_exception(
        response, status=409, slug="illegal-transition", category=Category.BUSINESS_RULE
    )
    assert (problem["current_status"], problem["requested_status"]) == ("received", "shipped")
    assert (problem["from"], problem["to"]) == ("received", "shipped")  # as every API's illegal transition
    assert (exception.order, exception.customer) == (order, order.customer)
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED
    assert not ExternalRef.objects.filter(system=erp.system).exists()  # rolled back with the refusal


def test_unknown_order_is_404(erp):
    response = send(erp, "erp", "order.status", {"order": {"external_id": "NOPE"}, "status": "shipped"})
    problem, exception = assert_failed_with_exception(
        response, status=404, slug="unknown-reference", category=Category.VALIDATION
    )
    assert problem["external_id"] == "NOPE" and exception.order is None


def test_order_named_two_ways_that_disagree_is_a_business_rule_422(erp):
    first, second = OrderFactory(), OrderFactory()
    ExternalRefFactory(system=erp.system, entity_type="order", external_id="E1", object_id=first.pk)
    response = send(erp, "erp", "order.status",
                    {"order": {"external_id": "E1", "number": second.number}, "status": "validated"})
    problem, _ = assert_failed_with_exception(response, status=422, slug="business-rule",
                                              category=Category.BUSINESS_RULE)
    assert problem["errors"][0]["pointer"] == "/order/number"


def test_order_status_from_a_system_that_does_not_own_orders_is_409(partner_client, erp):
    wms = partner_client("wms", "wms")
    order = OrderFactory(status=OrderStatus.SUBMITTED_TO_ERP)
    response = send(wms, "wms", "order.status", {"order": {"number": order.number}, "status": "in_fulfilment"})
    assert_failed_with_exception(response, status=409, slug="not-system-of-record", category=Category.BUSINESS_RULE)


# order.acknowledgement ------------------------------------------------------------------------------


def test_acknowledgement_records_the_erp_number_and_marks_the_order_submitted(erp):
    order = OrderFactory(status=OrderStatus.ALLOCATED)
    response = send(erp, "erp", "order.acknowledgement",
                    {"order": {"number": order.number}, "erp_order_number": "100777"})
    assert response.status_code == 200, response.content
    assert response.json()["result"]["status_changed"] is True
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED_TO_ERP
    assert events("order.updated").get().payload["erp_order_number"] == "100777"
    again = send(erp, "erp", "order.acknowledgement", {"order": {"number": order.number}, "erp_order_number": "100777"})
    assert again.json()["result"] == {"order": {"id": order.pk, "number": order.number, "status": "submitted_to_erp"},
                                      "reference_recorded": False, "status_changed": False}
    assert events("order.updated").count() == 1


def test_an_order_shipped_before_the_erp_acknowledged_it_moves_on_to_partially_shipped(erp):
    # The warehouse shipped part of a backordered order (from which the status cannot move to
    # partially shipped); the acknowledgement lets it, so the order catches up.
    order = OrderFactory(status=OrderStatus.BACKORDERED)
    OrderLineFactory(order=order, line_number=1, quantity_ordered=Decimal("10"), quantity_shipped=Decimal("4"))
    response = send(erp, "erp", "order.acknowledgement",
                    {"order": {"number": order.number}, "erp_order_number": "100778"})
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    moves = [(e.payload["from"], e.payload["to"]) for e in events("order.status_changed").order_by("id")]
    assert moves == [("backordered", "submitted_to_erp"), ("submitted_to_erp", "partially_shipped")]


def test_acknowledgement_with_a_second_erp_number_is_409(erp):
    order = OrderFactory(status=OrderStatus.SUBMITTED_TO_ERP)
    ExternalRefFactory(system=erp.system, entity_type="order", external_id="100777", object_id=order.pk)
    response = send(erp, "erp", "order.acknowledgement", {"order": {"number": order.number}, "erp_order_number": "9"})
    assert_failed_with_exception(response, status=409, slug="duplicate-reference", category=Category.BUSINESS_RULE)


# shipment.milestone -----------------------------------------------------------------------------------


def test_wms_milestone_updates_the_shipment_once(partner_client):
    wms = partner_client("wms", "wms")
    SystemOfRecordFactory(domain="shipments", system=wms.system)
    shipment = ShipmentFactory()
    ExternalRefFactory(system=wms.system, entity_type="shipment", external_id="WMS-1", object_id=shipment.pk)
    body = {"shipment_id": "WMS-1", "code": "dispatched", "occurred_at": "2024-03-05T14:02:00Z",
            "location_text": "Dallas DC"}
    first = send(wms, "wms", "shipment.milestone", body, message_id="w-1")
    assert first.status_code == 201, first.content
    assert first.json()["result"]["shipment"] == {"id": shipment.pk, "number": shipment.number, "status": "dispatched"}
    second = send(wms, "wms", "shipment.milestone", body, message_id="w-2")  # new message, same milestone
    assert (second.status_code, second.json()["result"]["created"]) == (200, False)
    assert ShipmentMilestone.objects.count() == 1 and events("shipment.dispatched").count() == 1


def test_a_failed_milestone_for_a_known_shipment_links_the_shipment_and_its_order(partner_client):
    wms = partner_client("wms", "wms")
    SystemOfRecordFactory(domain="shipments", system=SystemFactory(code="tms", kind="tms"))  # not the WMS
    shipment = ShipmentFactory()
    ExternalRefFactory(system=wms.system, entity_type="shipment", external_id="WMS-9", object_id=shipment.pk)
    response = send(wms, "wms", "shipment.milestone",
                    {"shipment_id": "WMS-9", "code": "dispatched", "occurred_at": "2024-03-05T14:02:00Z"})
    assert response.status_code == 409, response.content
    exception = IntegrationException.objects.get(inbound_message=response.stored)
    assert (exception.shipment, exception.order) == (shipment, shipment.order)


def test_milestone_with_an_unknown_code_is_refused_by_the_schema(partner_client):
    wms = partner_client("wms", "wms")
    response = send(wms, "wms", "shipment.milestone",
                    {"shipment_id": "WMS-1", "code": "teleported", "occurred_at": "2024-03-05T14:02:00Z"})
    problem, _ = assert_failed_with_exception(response, status=400, slug="validation-error",
                                              category=Category.VALIDATION)
    assert [e["pointer"] for e in problem["errors"]] == ["/code"]


def test_carrier_milestone_by_tracking_number(partner_client):
    carrier = partner_client("keystone", "carrier")
    shipment = ShipmentFactory(carrier="keystone", tracking_number="1Z999")
    response = send(carrier, "keystone", "shipment.milestone",
                    {"shipment_id": "1Z999", "code": "delivered", "occurred_at": "2024-03-07T10:00:00+01:00"})
    assert response.status_code == 201, response.content
    shipment.refresh_from_db()
    assert shipment.status == "delivered" and shipment.delivered_at is not None


# invoice.posted -------------------------------------------------------------------------------------------


def test_invoice_posting_creates_the_invoice_with_its_computed_amount(erp):
    customer = CustomerFactory()
    line = OrderLineFactory(order=OrderFactory(customer=customer), quantity_ordered=Decimal("10"))
    body = {"external_id": "AR-1", "invoice": {
        "number": "INV-1", "customer": customer.pk, "order": line.order.pk, "issued_at": "2024-03-06T08:00:00Z",
        "lines": [{"line_number": line.line_number, "sku": line.product.sku, "quantity": "10", "unit_price": "12.50"}],
    }}
    response = send(erp, "erp", "invoice.posted", body)
    assert response.status_code == 201, response.content
    invoice = Invoice.objects.get(number="INV-1")
    assert invoice.amount == Decimal("125.00")
    assert response.json()["result"]["invoice"] == {"id": invoice.pk, "number": "INV-1", "status": "posted",
                                                    "amount": "125.00"}
    assert events("invoice.posted").count() == 1


def test_invoice_for_another_customers_order_is_400_and_links_the_records(erp):
    order = OrderFactory()
    stranger = CustomerFactory()
    body = {"external_id": "AR-2", "invoice": {
        "number": "INV-2", "customer": stranger.pk, "order": order.pk, "issued_at": "2024-03-06T08:00:00Z",
        "lines": [{"sku": OrderLineFactory(order=order).product.sku, "quantity": "1", "unit_price": "1"}],
    }}
    response = send(erp, "erp", "invoice.posted", body)
    problem, _ = assert_failed_with_exception(response, status=400, slug="validation-error",
                                              category=Category.VALIDATION)
    assert [e["pointer"] for e in problem["errors"]] == ["/invoice/customer"]
    assert not Invoice.objects.exists()


# supplier.acknowledgement and supplier.asn -----------------------------------------------------------------


@pytest.fixture
def supplier(partner_client):
    return partner_client("northwind", "supplier")


@pytest.fixture
def purchase_order(supplier):
    po = PurchaseOrderFactory(supplier=supplier.system, status=PurchaseOrderStatus.SENT)
    PurchaseOrderLineFactory(purchase_order=po, line_number=1, quantity=Decimal("40"))
    return po


def test_supplier_acknowledgement_confirms_the_purchase_order(supplier, purchase_order):
    body = {"purchase_order": purchase_order.number, "status": "changed", "acknowledged_at": "2024-03-05T11:00:00Z",
            "supplier_reference": "NW-1", "lines": [{"line_number": 1, "confirmed_quantity": "30",
                                                    "confirmed_date": "2024-03-12"}]}
    response = send(supplier, "northwind", "supplier.acknowledgement", body)
    assert response.status_code == 201, response.content
    purchase_order.refresh_from_db()
    assert purchase_order.status == PurchaseOrderStatus.ACKNOWLEDGED
    assert purchase_order.lines.get().confirmed_quantity == Decimal("30")
    assert events("supplier.ack_received").count() == 1


def test_acknowledgement_of_another_suppliers_po_is_404_linked_to_the_supplier(partner_client, purchase_order):
    other = partner_client("acme", "supplier")
    response = send(other, "acme", "supplier.acknowledgement",
                    {"purchase_order": purchase_order.number, "acknowledged_at": "2024-03-05T11:00:00Z"})
    _, exception = assert_failed_with_exception(response, status=404, slug="unknown-reference",
                                                category=Category.VALIDATION)
    assert exception.supplier == other.system and exception.purchase_order is None


def test_supplier_asn_is_recorded_once_per_number(supplier, purchase_order):
    body = {"purchase_order": purchase_order.number, "asn_number": "ASN-1", "shipped_at": "2024-03-11T17:30:00Z",
            "lines": [{"line_number": 1, "quantity": "40"}]}
    assert send(supplier, "northwind", "supplier.asn", body).status_code == 201
    again = send(supplier, "northwind", "supplier.asn", body)
    assert (again.status_code, again.json()["result"]["changed"]) == (200, [])
    assert events("supplier.asn_received").count() == 1


def test_asn_for_a_line_the_po_does_not_have_is_400_naming_it(supplier, purchase_order):
    body = {"purchase_order": purchase_order.number, "asn_number": "ASN-2", "shipped_at": "2024-03-11T17:30:00Z",
            "lines": [{"line_number": 7, "quantity": "1"}]}
    response = send(supplier, "northwind", "supplier.asn", body)
    problem, exception = assert_failed_with_exception(response, status=400, slug="validation-error",
                                                      category=Category.VALIDATION)
    assert [e["pointer"] for e in problem["errors"]] == ["/lines/0/line_number"]
    assert exception.purchase_order == purchase_order
    assert IntegrationException.objects.count() == 1
