"""Fulfilment visibility through the milestone endpoint: a warehouse milestone that carries the shipment
creates and updates it, partial shipments move the order, reservations are consumed, out-of-order
milestones never move anything back, and each milestone keeps its times and its event."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from canonical.models import (
    BusinessEvent,
    InventoryPosition,
    Order,
    OrderLine,
    Reservation,
    Shipment,
    ShipmentMilestone,
)
from tests.factories import (
    ExternalRefFactory,
    InventoryPositionFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    SystemFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wms(partner_client):
    client = partner_client("wms", "wms")
    SystemOfRecordFactory(domain="shipments", system=client.system)
    return client


@pytest.fixture
def order(db):
    erp = SystemFactory(code="erp", kind="erp")
    LocationFactory(code="dallas")
    made = OrderFactory(number="SO-9", status="submitted_to_erp")
    OrderLineFactory(order=made, line_number=1, quantity_ordered=Decimal("10"))
    OrderLineFactory(order=made, line_number=2, quantity_ordered=Decimal("4"))
    ExternalRefFactory(system=erp, entity_type="order", external_id="ERP-9", object_id=made.pk)
    return made


def milestone(code, at, *, lines=None, number="SH-9", **extra):
    body = {"code": code, "occurred_at": at, **extra}
    if lines is not None:
        body["shipment"] = {
            "number": number, "order": {"system": "erp", "external_id": "ERP-9"}, "location": "dallas",
            "carrier": "keystone", "tracking_number": f"TRK-{number}",
            "lines": [{"line_number": n, "quantity": q} for n, q in lines],
        }
    return body


def post(client, external_id, body, system="wms"):
    return client.post(f"/api/v1/systems/{system}/shipments/{external_id}/milestones", body, format="json")


def shipped(order):
    return dict(OrderLine.objects.filter(order=order).values_list("line_number", "quantity_shipped"))


def status_of(order):
    return Order.objects.get(pk=order.pk).status


def test_a_shipment_corrected_down_takes_the_order_back_to_what_its_lines_shipped(wms, order):
    post(wms, "W-1", milestone("dispatched", "2025-03-01T10:00:00Z", lines=[(1, "6")]))
    post(wms, "W-2", milestone("packed", "2025-03-01T11:00:00Z", number="SH-10", lines=[(1, "4"), (2, "4")]))
    assert status_of(order) == "shipped"

    # The warehouse corrects the second shipment: line 2 was not on it after all.
    corrected = post(wms, "W-2", milestone("dispatched", "2025-03-01T12:00:00Z", number="SH-10", lines=[(1, "4")]))
    assert corrected.status_code == 201, corrected.content
    assert shipped(order) == {1: Decimal("10"), 2: Decimal("0")}
    assert status_of(order) == "partially_shipped"
    back = BusinessEvent.objects.filter(event_type="order.status_changed").order_by("-id").first()
    assert (back.payload["from"], back.payload["to"]) == ("shipped", "partially_shipped")
    assert back.payload["reason"] == "shipped quantities corrected by the warehouse"

    # Shipped in full again later: forward once more.
    post(wms, "W-3", milestone("dispatched", "2025-03-02T09:00:00Z", number="SH-11", lines=[(2, "4")]))
    assert status_of(order) == "shipped"


def test_a_milestone_with_the_shipment_creates_it_and_partial_then_full_shipment_moves_the_order(wms, order):
    first = post(wms, "W-1", milestone("packed", "2025-03-01T10:00:00Z", lines=[(1, "6")]))
    assert first.status_code == 201, first.content
    shipment = Shipment.objects.get(number="SH-9")
    assert (first.json()["shipment"]["id"], shipment.status, shipment.location.code) == (shipment.pk, "packed", "dallas")
    assert shipped(order) == {1: Decimal("6"), 2: Decimal("0")}
    assert status_of(order) == "partially_shipped"

    # The same warehouse id later carries more: the shipment is brought up to date, not duplicated.
    more = post(wms, "W-1", milestone("dispatched", "2025-03-01T12:00:00Z", lines=[(1, "6"), (2, "1")]))
    assert more.status_code == 201, more.content
    assert Shipment.objects.count() == 1
    assert shipped(order) == {1: Decimal("6"), 2: Decimal("1")}
    assert status_of(order) == "partially_shipped"

    rest = post(wms, "W-2", milestone("dispatched", "2025-03-02T09:00:00Z", number="SH-10", lines=[(1, "4"), (2, "3")]))
    assert rest.status_code == 201, rest.content
    assert shipped(order) == {1: Decimal("10"), 2: Decimal("4")}
    assert status_of(order) == "shipped"
    moves = [(e.payload["from"], e.payload["to"]) for e in BusinessEvent.objects.filter(
        event_type="order.status_changed").order_by("id")]
    assert moves == [("submitted_to_erp", "partially_shipped"), ("partially_shipped", "shipped")]
    created = BusinessEvent.objects.filter(event_type="shipment.created").count()
    assert created == 2


def test_delivered_before_dispatched_never_moves_shipment_or_order_back(wms, order):
    post(wms, "W-1", milestone("delivered", "2025-03-03T09:00:00Z", lines=[(1, "10"), (2, "4")]))
    assert status_of(order) == "shipped"
    late = post(wms, "W-1", milestone("dispatched", "2025-03-01T12:00:00Z"))
    assert late.status_code == 201
    shipment = Shipment.objects.get()
    assert shipment.status == "delivered" and late.json()["shipment"]["status"] == "delivered"
    assert shipment.dispatched_at.isoformat() == "2025-03-01T12:00:00+00:00"  # learnt late, still recorded
    assert status_of(order) == "shipped"
    assert list(shipment.milestones.values_list("code", flat=True)) == ["dispatched", "delivered"]


def test_each_milestone_keeps_when_it_happened_when_the_hub_heard_and_its_event(wms, order):
    before = timezone.now()
    response = post(wms, "W-1", milestone("picked", "2025-03-01T10:00:00Z", lines=[(1, "2")]))
    recorded = ShipmentMilestone.objects.get()
    assert recorded.occurred_at.isoformat() == "2025-03-01T10:00:00+00:00"
    assert before <= recorded.received_at <= timezone.now()
    assert response.json()["received_at"]
    assert recorded.event.event_type == "shipment.milestone"
    assert recorded.event.payload["milestone"]["id"] == recorded.pk
    assert recorded.event.occurred_at == recorded.occurred_at


def test_a_repeated_milestone_with_its_shipment_changes_nothing(wms, order):
    body = milestone("packed", "2025-03-01T10:00:00Z", lines=[(1, "6")])
    post(wms, "W-1", body)
    events = BusinessEvent.objects.count()
    again = post(wms, "W-1", body)
    assert again.status_code == 200
    assert BusinessEvent.objects.count() == events
    assert (Shipment.objects.count(), ShipmentMilestone.objects.count()) == (1, 1)


def test_a_carrier_cannot_create_or_change_a_shipment(partner_client, wms, order):
    carrier = partner_client("keystone", "carrier")
    post(wms, "W-1", milestone("packed", "2025-03-01T10:00:00Z", lines=[(1, "6")]))
    response = post(carrier, "TRK-SH-9", milestone("in_transit", "2025-03-01T15:00:00Z", lines=[(1, "10")]),
                    system="keystone")
    assert response.status_code == 409, response.content
    assert response.json()["system_of_record"] == "wms"
    assert shipped(order)[1] == Decimal("6")
    plain = post(carrier, "TRK-SH-9", milestone("in_transit", "2025-03-01T15:00:00Z"), system="keystone")
    assert plain.status_code == 201, plain.content


@pytest.mark.parametrize(
    ("shipment", "pointer"),
    [
        ({"lines": [{"line_number": 1, "quantity": "0"}]}, "/shipment/lines/0/quantity"),
        ({"lines": [{"line_number": 7, "quantity": "1"}]}, "/shipment/lines/0/line_number"),
        ({"order": "NOPE"}, "/shipment/order"),
        ({"number": None}, "/shipment/number"),
        ({"pallets": 2}, "/shipment/pallets"),
    ],
)
def test_a_bad_shipment_in_a_milestone_is_400_naming_the_field(wms, order, shipment, pointer):
    body = milestone("packed", "2025-03-01T10:00:00Z", lines=[(1, "6")])
    body["shipment"].update(shipment)
    response = post(wms, "W-1", body)
    assert response.status_code == 400, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert not Shipment.objects.exists() and not ShipmentMilestone.objects.exists()


def test_over_shipping_through_a_milestone_is_refused_and_records_nothing(wms, order):
    response = post(wms, "W-1", milestone("packed", "2025-03-01T10:00:00Z", lines=[(1, "11")]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/shipment/lines/0/quantity"  # the shipment is under "shipment" in the milestone
    assert not Shipment.objects.exists() and not ShipmentMilestone.objects.exists()
    assert not BusinessEvent.objects.exists()


# Reservations


def reserve(line, position, quantity):
    position.reserved += Decimal(quantity)
    position.save()
    return Reservation.objects.create(order_line=line, position=position, quantity=Decimal(quantity))


def test_shipped_quantities_consume_the_lines_reservations(wms, order):
    line1, line2 = order.lines.order_by("line_number")
    dallas = LocationFactory(code="dallas")
    elsewhere = LocationFactory(code="atlanta")
    at_dallas = InventoryPositionFactory(product=line1.product, location=dallas, on_hand=Decimal("20"))
    at_atlanta = InventoryPositionFactory(product=line1.product, location=elsewhere, on_hand=Decimal("20"))
    reserve(line1, at_atlanta, "4")
    reserve(line1, at_dallas, "6")
    other_line = reserve(line2, InventoryPositionFactory(product=line2.product, location=dallas, on_hand=Decimal("9")),
                         "4")

    post(wms, "W-1", milestone("packed", "2025-03-01T10:00:00Z", lines=[(1, "5")]))
    at_dallas.refresh_from_db()
    at_atlanta.refresh_from_db()
    # Consumed where the shipment left from: on hand and reserved both drop, available does not move.
    assert (at_dallas.on_hand, at_dallas.reserved) == (Decimal("15"), Decimal("1"))
    assert (at_atlanta.on_hand, at_atlanta.reserved) == (Decimal("20"), Decimal("4"))
    held = sorted(Reservation.objects.filter(order_line=line1).values_list("status", "quantity", "position__location__code"))
    assert held == [("active", Decimal("1"), "dallas"), ("active", Decimal("4"), "atlanta"),
                    ("consumed", Decimal("5"), "dallas")]
    other_line.refresh_from_db()
    assert other_line.status == "active"
    changed = BusinessEvent.objects.get(event_type="inventory.changed")
    assert changed.payload["reason"] == "shipment"
    assert (changed.payload["before"]["reserved"], changed.payload["after"]["reserved"]) == ("6.000", "1.000")

    # More shipped than the line had left at the shipping location: the rest comes from elsewhere.
    post(wms, "W-1", milestone("dispatched", "2025-03-01T12:00:00Z", lines=[(1, "8")]))
    at_dallas.refresh_from_db()
    at_atlanta.refresh_from_db()
    assert (at_dallas.reserved, at_atlanta.reserved) == (Decimal("0"), Decimal("2"))

    # A shipment corrected downwards gives the stock back.
    post(wms, "W-1", milestone("in_transit", "2025-03-01T15:00:00Z", lines=[(1, "2")]))
    at_dallas.refresh_from_db()
    at_atlanta.refresh_from_db()
    assert at_dallas.reserved + at_atlanta.reserved == Decimal("8")
    assert at_dallas.on_hand + at_atlanta.on_hand == Decimal("38")
    consumed = sum(Reservation.objects.filter(order_line=line1, status="consumed").values_list("quantity", flat=True))
    assert consumed == Decimal("2")
    assert all(p.reserved <= p.on_hand for p in InventoryPosition.objects.all())


def test_an_order_invoiced_in_full_before_its_last_shipment_moves_to_invoiced_when_it_ships(wms, order):
    invoice = InvoiceFactory(customer=order.customer, order=order)
    for line in order.lines.all():
        InvoiceLineFactory(invoice=invoice, order_line=line, product=line.product, quantity=line.quantity_ordered)
    OrderLine.objects.filter(order=order).update(quantity_invoiced=F("quantity_ordered"))
    post(wms, "W-1", milestone("dispatched", "2025-03-01T12:00:00Z", lines=[(1, "10"), (2, "4")]))
    assert status_of(order) == "invoiced"


def test_a_milestone_in_the_future_is_refused_naming_the_field(wms, order):
    post(wms, "W-1", milestone("dispatched", "2025-03-01T10:00:00Z", lines=[(1, "6")]))
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    refused = post(wms, "W-1", milestone("delivered", later))
    assert refused.status_code == 400, refused.content
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/occurred_at"]
    assert "Must not be in the future" in refused.json()["errors"][0]["messages"][0]
    assert Shipment.objects.get().status == "dispatched"
    # Within the clock skew allowed, it is taken.
    soon = (timezone.now() + timedelta(seconds=60)).isoformat()
    assert post(wms, "W-1", milestone("delivered", soon)).status_code == 201


def test_the_shipment_may_name_its_order_by_the_hub_number_and_a_wrong_one_says_how_to_name_it(wms, order):
    body = milestone("packed", "2025-03-01T10:00:00Z", lines=[(1, "2")])
    body["shipment"]["order"] = order.number
    assert post(wms, "W-1", body).status_code == 201
    assert Shipment.objects.get().order == order

    body["shipment"]["order"] = "SO-404"
    refused = post(wms, "W-2", body)
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert error["pointer"] == "/shipment/order"
    assert "No order has the number 'SO-404'" in error["messages"][0] and "your external id" in error["messages"][0]
