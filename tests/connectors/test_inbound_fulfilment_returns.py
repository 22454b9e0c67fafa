"""What comes back from the warehouse, carrier and ERP through the inbound pipeline: milestones that
create shipments, return receipts and credit memos; every failure kept with an exception."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from canonical.models import (
    BusinessEvent,
    CreditMemo,
    Order,
    OrderLine,
    ReturnAuthorization,
    ReturnLine,
    Shipment,
    ShipmentMilestone,
)
from connectors.inbound.tasks import inbound_process_task
from connectors.models import Category, InboundMessage
from tests.connectors.inbound_support import (
    assert_failed_with_exception,
    inbound_connector,
    send,
)
from tests.factories import (
    ExternalRefFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    ReturnAuthorizationFactory,
    SystemFactory,
    SystemOfRecordFactory,
)
from tests.plans import generic_plans, prepared_statements, table_scans

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inbound_urls")]


@pytest.fixture
def wms(partner_client):
    client = partner_client("wms", "wms")
    SystemOfRecordFactory(domain="shipments", system=client.system)
    SystemOfRecordFactory(domain="inventory", system=client.system)
    return client


@pytest.fixture
def erp(partner_client):
    client = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="returns", system=client.system)
    return client


@pytest.fixture
def order(db):
    erp_system = SystemFactory(code="erp", kind="erp")
    LocationFactory(code="dallas")
    made = OrderFactory(number="SO-3", status="submitted_to_erp")
    OrderLineFactory(order=made, line_number=1, quantity_ordered=Decimal("10"))
    OrderLineFactory(order=made, line_number=2, quantity_ordered=Decimal("2"))
    ExternalRefFactory(system=erp_system, entity_type="order", external_id="ERP-3", object_id=made.pk)
    return made


def milestone(code, at, lines=None, shipment_id="W-1", number="SH-3"):
    body = {"shipment_id": shipment_id, "code": code, "occurred_at": at}
    if lines is not None:
        body["shipment"] = {"number": number, "order": {"system": "erp", "external_id": "ERP-3"},
                            "location": "dallas", "carrier": "keystone", "tracking_number": f"T-{number}",
                            "lines": [{"line_number": n, "quantity": q} for n, q in lines]}
    return body


def status_of(order):
    return Order.objects.get(pk=order.pk).status


# shipment.milestone with the shipment ----------------------------------------------------------------


def test_warehouse_milestones_create_the_shipments_and_move_the_order(wms, order):
    first = send(wms, "wms", "shipment.milestone", milestone("packed", "2025-03-01T10:00:00Z", [(1, "4")]))
    assert first.status_code == 201, first.content
    shipment = Shipment.objects.get()
    assert first.json()["result"]["shipment"] == {"id": shipment.pk, "number": "SH-3", "status": "packed"}
    assert status_of(order) == "partially_shipped"
    rest = send(wms, "wms", "shipment.milestone",
                milestone("dispatched", "2025-03-02T10:00:00Z", [(1, "6"), (2, "2")], shipment_id="W-2", number="SH-4"))
    assert rest.status_code == 201, rest.content
    assert status_of(order) == "shipped"
    assert dict(OrderLine.objects.filter(order=order).values_list("line_number", "quantity_shipped")) == {
        1: Decimal("10"), 2: Decimal("2")}


def test_carrier_reports_out_of_order_without_moving_anything_back(partner_client, wms, order):
    send(wms, "wms", "shipment.milestone", milestone("packed", "2025-03-01T10:00:00Z", [(1, "10"), (2, "2")]))
    carrier = partner_client("keystone", "carrier")
    delivered = send(carrier, "keystone", "shipment.milestone",
                     {"shipment_id": "T-SH-3", "code": "delivered", "occurred_at": "2025-03-03T10:00:00Z"})
    assert delivered.status_code == 201, delivered.content
    dispatched = send(carrier, "keystone", "shipment.milestone",
                      {"shipment_id": "T-SH-3", "code": "dispatched", "occurred_at": "2025-03-01T16:00:00Z"})
    assert dispatched.json()["result"]["shipment"]["status"] == "delivered"
    assert status_of(order) == "shipped"
    assert list(Shipment.objects.get().milestones.values_list("code", flat=True)) == ["packed", "dispatched",
                                                                                     "delivered"]


def test_a_carrier_sending_the_shipment_is_refused_and_kept(partner_client, wms, order):
    send(wms, "wms", "shipment.milestone", milestone("packed", "2025-03-01T10:00:00Z", [(1, "4")]))
    carrier = partner_client("keystone", "carrier")
    body = milestone("in_transit", "2025-03-01T15:00:00Z", [(1, "10")], shipment_id="T-SH-3")
    response = send(carrier, "keystone", "shipment.milestone", body)
    problem, exception = assert_failed_with_exception(response, status=409, slug="not-system-of-record",
                                                      category=Category.BUSINESS_RULE)
    assert problem["system_of_record"] == "wms"
    assert exception.order == order
    assert OrderLine.objects.get(order=order, line_number=1).quantity_shipped == Decimal("4")


def test_a_bad_shipment_is_400_naming_the_field_kept_with_an_exception(wms, order):
    body = milestone("packed", "2025-03-01T10:00:00Z", [(1, "0")])
    response = send(wms, "wms", "shipment.milestone", body)
    problem, exception = assert_failed_with_exception(response, status=400, slug="validation-error",
                                                      category=Category.VALIDATION)
    assert [e["pointer"] for e in problem["errors"]] == ["/shipment/lines/0/quantity"]
    assert not Shipment.objects.exists() and not ShipmentMilestone.objects.exists()
    schema = send(wms, "wms", "shipment.milestone", {**body, "shipment": {"number": "SH-3"}})
    problem, _ = assert_failed_with_exception(schema, status=400, slug="validation-error",
                                              category=Category.VALIDATION)
    assert {e["pointer"] for e in problem["errors"]} == {"/shipment/order", "/shipment/lines"}


def test_received_at_is_when_the_message_arrived_not_when_a_worker_took_it(wms, order):
    inbound_connector(wms.system, process_inbound_async=True)
    response = send(wms, "wms", "shipment.milestone", milestone("packed", "2025-03-01T10:00:00Z", [(1, "4")]))
    assert response.status_code == 202
    arrived = timezone.now() - timedelta(minutes=7)
    InboundMessage.objects.filter(pk=response.stored.pk).update(received_at=arrived)
    assert inbound_process_task(response.stored.pk) == "answered 201"
    recorded = ShipmentMilestone.objects.get()
    assert recorded.received_at == arrived
    assert recorded.event.occurred_at == recorded.occurred_at


# return.receipt --------------------------------------------------------------------------------------


@pytest.fixture
def rma(order):
    Order.objects.filter(pk=order.pk).update(status="shipped")
    OrderLine.objects.filter(order=order).update(quantity_shipped=Decimal("2"))
    made = ReturnAuthorizationFactory(order=order, number="RMA-H000001", status="authorised")
    for line in order.lines.all():
        ReturnLine.objects.create(rma=made, order_line=line, quantity_requested=Decimal("2"))
    return made


def receipt(lines=((1, "2"),), rma="RMA-H000001"):
    return {"rma": rma, "received_at": "2025-03-20T15:00:00Z",
            "lines": [{"line_number": n, "quantity_received": q} for n, q in lines]}


def returned(order):
    return dict(OrderLine.objects.filter(order=order).values_list("line_number", "quantity_returned"))


def test_a_receipt_moves_the_return_to_received_and_rolls_up_returned(wms, rma, order):
    response = send(wms, "wms", "return.receipt", receipt(), message_id="r-1")
    assert response.status_code == 201, response.content
    result = response.json()["result"]
    assert result["return"] == {"id": rma.pk, "number": rma.number, "status": "received"}
    assert result["lines"] == [{"line_number": 1, "quantity_received": "2.000"},
                               {"line_number": 2, "quantity_received": "0.000"}]
    assert returned(order) == {1: Decimal("2"), 2: Decimal("0")}
    rma.refresh_from_db()
    assert rma.received_at.isoformat() == "2025-03-20T15:00:00+00:00"
    assert BusinessEvent.objects.filter(event_type="return.received").count() == 1
    # The same totals again change nothing; a later count corrects them.
    again = send(wms, "wms", "return.receipt", receipt(), message_id="r-2")
    assert (again.status_code, again.json()["result"]["changed"]) == (200, [])
    corrected = send(wms, "wms", "return.receipt", receipt(((1, "2"), (2, "1"))), message_id="r-3")
    assert corrected.json()["result"]["changed"] == ["lines"]
    assert returned(order) == {1: Decimal("2"), 2: Decimal("1")}
    assert BusinessEvent.objects.filter(event_type="return.updated").get().payload["lines"] == [2]


def test_receiving_more_than_authorised_is_422_at_the_line(wms, rma):
    response = send(wms, "wms", "return.receipt", receipt(((2, "1"), (1, "3"))))
    problem, exception = assert_failed_with_exception(response, status=422, slug="business-rule",
                                                      category=Category.BUSINESS_RULE)
    assert problem["errors"][0]["pointer"] == "/lines/1/quantity_received"
    assert exception.order == rma.order
    assert ReturnAuthorization.objects.get().status == "authorised"


@pytest.mark.parametrize(
    ("body", "status", "slug", "pointers"),
    [
        (receipt(rma="RMA-NOPE"), 404, "unknown-reference", None),
        (receipt(((9, "1"),)), 400, "validation-error", ["/lines/0/line_number"]),
        (receipt(((1, "-1"),)), 400, "validation-error", ["/lines/0/quantity_received"]),
        ({"rma": "RMA-H000001", "lines": [{"line_number": 1, "quantity_received": "1"}]}, 400, "validation-error",
         ["/received_at"]),
    ],
)
def test_bad_receipts_are_refused_naming_what_is_wrong(wms, rma, body, status, slug, pointers):
    response = send(wms, "wms", "return.receipt", body)
    category = Category.VALIDATION
    problem, _ = assert_failed_with_exception(response, status=status, slug=slug, category=category)
    if pointers:
        assert [e["pointer"] for e in problem["errors"]] == pointers
    assert ReturnAuthorization.objects.get().status == "authorised"


def test_a_return_not_yet_authorised_or_already_credited_cannot_be_received(wms, rma):
    for state in ("requested", "credited"):
        ReturnAuthorization.objects.filter(pk=rma.pk).update(status=state)
        response = send(wms, "wms", "return.receipt", receipt())
        problem, _ = assert_failed_with_exception(response, status=409, slug="return-not-receivable",
                                                  category=Category.BUSINESS_RULE)
        assert problem["return_status"] == state


def test_only_the_warehouse_sends_receipts(partner_client, wms, rma):
    crm = partner_client("crm", "crm")
    response = send(crm, "crm", "return.receipt", receipt())
    problem, _ = assert_failed_with_exception(response, status=409, slug="not-return-receiver",
                                              category=Category.BUSINESS_RULE)
    assert problem["warehouse"] == "wms"


# credit_memo.posted ---------------------------------------------------------------------------------------


def memo(rma, **overrides):
    body = {"number": "CM-1", "customer": rma.customer_id, "rma": {"id": rma.pk}, "amount": "19.80",
            "issued_at": "2025-03-21T09:00:00Z"}
    body.update(overrides)
    return {"external_id": "ERP-CM-1", "credit_memo": body}


def test_a_credit_memo_credits_a_received_return(wms, erp, rma):
    send(wms, "wms", "return.receipt", receipt())
    response = send(erp, "erp", "credit_memo.posted", memo(rma))
    assert response.status_code == 201, response.content
    assert response.json()["result"]["return"] == {"id": rma.pk, "number": rma.number, "status": "credited"}
    credited = BusinessEvent.objects.get(event_type="return.credited")
    assert credited.payload["credit_memos"] == ["CM-1"]
    types = list(BusinessEvent.objects.filter(aggregate_type__in=["return", "credit_memo"]).order_by("id")
                 .values_list("event_type", flat=True))
    assert types == ["return.received", "credit_memo.issued", "return.credited"]
    again = send(erp, "erp", "credit_memo.posted", memo(rma))
    assert again.status_code == 200 and CreditMemo.objects.count() == 1


def test_a_memo_before_the_goods_credits_the_return_when_they_arrive(wms, erp, rma):
    early = send(erp, "erp", "credit_memo.posted", memo(rma))
    assert early.json()["result"]["return"]["status"] == "authorised"
    arrived = send(wms, "wms", "return.receipt", receipt())
    assert arrived.json()["result"]["return"]["status"] == "credited"
    assert ReturnAuthorization.objects.get().status == "credited"


def test_a_memo_for_more_than_the_return_is_worth_is_refused_at_its_amount(erp, rma):
    assert send(erp, "erp", "credit_memo.posted", memo(rma)).status_code == 201
    second = {"external_id": "ERP-CM-2", "credit_memo": {**memo(rma)["credit_memo"], "number": "CM-2",
                                                          "amount": "99999"}}
    response = send(erp, "erp", "credit_memo.posted", second)
    problem, _ = assert_failed_with_exception(response, status=422, slug="business-rule",
                                              category=Category.BUSINESS_RULE)
    assert [e["pointer"] for e in problem["errors"]] == ["/credit_memo/amount"]
    assert "is credited against it already" in problem["detail"]
    assert CreditMemo.objects.count() == 1


def test_a_credit_memo_may_name_the_return_by_its_rma_number(erp, rma):
    by_number = memo(rma)
    by_number["credit_memo"]["rma"] = rma.number
    response = send(erp, "erp", "credit_memo.posted", by_number)
    assert response.status_code == 201, response.content
    assert CreditMemo.objects.get().rma == rma
    unknown = memo(rma, number="CM-2")
    unknown["external_id"], unknown["credit_memo"]["rma"] = "ERP-CM-2", "RMA-NOPE"
    unknown = send(erp, "erp", "credit_memo.posted", unknown)
    problem, _ = assert_failed_with_exception(unknown, status=400, slug="validation-error",
                                              category=Category.VALIDATION)
    assert [e["pointer"] for e in problem["errors"]] == ["/credit_memo/rma"]


def test_a_rejected_return_cannot_be_credited(erp, rma):
    ReturnAuthorization.objects.filter(pk=rma.pk).update(status="rejected")
    response = send(erp, "erp", "credit_memo.posted", memo(rma))
    problem, exception = assert_failed_with_exception(response, status=400, slug="validation-error",
                                                      category=Category.VALIDATION)
    assert [e["pointer"] for e in problem["errors"]] == ["/credit_memo/rma"]
    assert not CreditMemo.objects.exists()
    assert exception.inbound_message == response.stored


def test_a_credit_memo_from_a_system_that_does_not_own_returns_is_409(partner_client, erp, rma):
    wms = partner_client("wms", "wms")
    response = send(wms, "wms", "credit_memo.posted", memo(rma))
    assert_failed_with_exception(response, status=409, slug="not-system-of-record", category=Category.BUSINESS_RULE)


# invoice.posted -------------------------------------------------------------------------------------------


def test_an_invoice_posting_links_order_and_shipment_and_completes_the_order(wms, partner_client, order):
    erp = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="invoices", system=erp.system)
    send(wms, "wms", "shipment.milestone", milestone("dispatched", "2025-03-01T10:00:00Z", [(1, "10"), (2, "2")]))
    shipment = Shipment.objects.get()
    ExternalRefFactory(system=erp.system, entity_type="shipment", external_id="ERP-DEL-1", object_id=shipment.pk)
    lines = [{"line_number": line.line_number, "sku": line.product.sku, "quantity": str(line.quantity_ordered),
              "unit_price": "3.00"} for line in order.lines.order_by("line_number")]
    body = {"external_id": "AR-1", "invoice": {"number": "INV-1", "customer": order.customer_id,
                                               "shipment": "ERP-DEL-1", "issued_at": "2025-03-02T08:00:00Z",
                                               "lines": lines}}
    response = send(erp, "erp", "invoice.posted", body)
    assert response.status_code == 201, response.content
    invoice = shipment.invoices.get()
    assert (invoice.order, invoice.amount) == (order, Decimal("36.00"))  # the order comes from the shipment
    assert status_of(order) == "invoiced"
    assert dict(OrderLine.objects.filter(order=order).values_list("line_number", "quantity_invoiced")) == {
        1: Decimal("10"), 2: Decimal("2")}


def test_refusals_of_nested_content_point_into_the_message(wms, partner_client, order):
    # The shipment's lines are under /shipment, the invoice's under /invoice: the pointers say so.
    over = send(wms, "wms", "shipment.milestone", milestone("dispatched", "2025-03-01T10:00:00Z", [(1, "11")]))
    problem, _ = assert_failed_with_exception(over, status=422, slug="business-rule",
                                              category=Category.BUSINESS_RULE)
    assert [e["pointer"] for e in problem["errors"]] == ["/shipment/lines/0/quantity"]

    erp = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="invoices", system=erp.system)
    line = order.lines.get(line_number=1)
    body = {"external_id": "AR-9", "invoice": {
        "number": "INV-9", "customer": order.customer_id, "order": order.pk, "issued_at": "2025-03-02T08:00:00Z",
        "lines": [{"line_number": 1, "sku": line.product.sku, "quantity": "11", "unit_price": "3.00"}]}}
    billed = send(erp, "erp", "invoice.posted", body)
    problem, _ = assert_failed_with_exception(billed, status=422, slug="business-rule",
                                              category=Category.BUSINESS_RULE)
    assert [e["pointer"] for e in problem["errors"]] == ["/invoice/lines/0/quantity"]


@pytest.mark.postgres_only
def test_every_statement_of_an_inbound_milestone_finds_its_rows_by_index(wms, order):
    """As for an order's submission (tests/hub/test_orders_plans.py): the plans the inbound path's
    prepared statements keep for the connection's life read the growing tables by index."""
    for number, code in enumerate(("packed", "dispatched")):  # the first prepares the statements
        with prepared_statements() as executed:
            response = send(wms, "wms", "shipment.milestone",
                            milestone(code, f"2025-03-0{number + 1}T10:00:00Z", [(1, "4")]), message_id=f"m-{code}")
        assert response.status_code == 201, response.content
    assert len(executed) >= 5, executed
    growing = ("connectors_inboundmessage", "canonical_shipment", "canonical_shipmentmilestone",
               "canonical_businessevent", "canonical_externalref", "canonical_order", "canonical_orderline",
               "canonical_shipmentline")
    assert table_scans(generic_plans(executed), growing) == {}
