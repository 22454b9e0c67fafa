"""Allocation: reserve per line at the best location, backorder the rest, release on demand."""

from decimal import Decimal

import pytest
from django.db import transaction

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import BusinessEvent, InventoryPosition, Reservation
from canonical.services.allocation import order_allocate, order_reservations_release
from tests.factories import (
    InventoryPositionFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def _position(product, code, on_hand, **kwargs):
    return InventoryPositionFactory(product=product, location=LocationFactory(code=code), on_hand=Decimal(on_hand),
                                    **kwargs)


def _events(order):
    return list(BusinessEvent.objects.filter(aggregate_type="order", aggregate_id=str(order.pk))
                .order_by("sequence").values_list("event_type", flat=True))


def test_a_line_takes_the_one_location_that_covers_it_and_the_order_is_allocated():
    widget = ProductFactory(sku="WID")
    small = _position(widget, "wh-small", "4")
    big = _position(widget, "wh-big", "20")
    order = OrderFactory(status="validated")
    line = OrderLineFactory(order=order, product=widget, quantity_ordered=Decimal("5"))

    result = order_allocate(order=order, actor=Actor.hub())

    assert result.status == "allocated" and result.fully_allocated and result.changed
    assert order.status == "allocated"  # the caller's instance follows
    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_backordered, line.location.code) == (5, 0, "wh-big")
    big.refresh_from_db()
    small.refresh_from_db()
    assert (big.reserved, small.reserved) == (5, 0)
    [reservation] = Reservation.objects.filter(order_line=line)
    assert (reservation.position, reservation.quantity, reservation.status) == (big, 5, "active")
    assert _events(order) == ["order.allocated", "order.status_changed"]
    payload = BusinessEvent.objects.get(event_type="order.allocated").payload
    assert payload["lines"][0]["reserved"] == [{"location": "wh-big", "quantity": "5.000"}]


def test_short_stock_is_split_over_locations_and_the_rest_backordered():
    widget = ProductFactory(sku="WID")
    a = _position(widget, "wh-a", "3")
    _position(widget, "wh-b", "2", reserved=Decimal("1"))
    closed = _position(widget, "wh-closed", "50")
    closed.location.is_active = False
    closed.location.save()
    order = OrderFactory(status="released")
    line = OrderLineFactory(order=order, product=widget, quantity_ordered=Decimal("10"))

    result = order_allocate(order=order, actor=Actor.hub())

    assert result.status == "backordered"
    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_backordered, line.location.code) == (4, 6, "wh-a")
    assert [(p.location.code, p.reserved) for p in InventoryPosition.objects.order_by("id")] == [
        ("wh-a", 3), ("wh-b", 2), ("wh-closed", 0)]
    assert [line.as_dict()["reserved"] for line in result.lines] == [
        [{"location": "wh-a", "quantity": "3.000"}, {"location": "wh-b", "quantity": "1.000"}]]

    # Stock arrives: a second run tops the backorder up and the order becomes allocated.
    a.on_hand = Decimal("20")
    a.save()
    again = order_allocate(order=order, actor=Actor.hub())
    line.refresh_from_db()
    assert again.status == "allocated"
    assert (line.quantity_allocated, line.quantity_backordered) == (10, 0)
    assert Reservation.objects.filter(order_line=line).count() == 3


def test_a_line_with_a_location_only_takes_from_it_and_drop_ship_lines_take_nothing():
    widget, crate = ProductFactory(sku="WID"), ProductFactory(sku="CRATE", drop_ship=True)
    _position(widget, "wh-a", "1")
    _position(widget, "wh-b", "100")
    _position(crate, "wh-b", "100")
    order = OrderFactory(status="validated")
    pinned = OrderLineFactory(order=order, product=widget, quantity_ordered=Decimal("3"),
                              location=LocationFactory(code="wh-a"))
    drop = OrderLineFactory(order=order, product=crate, quantity_ordered=Decimal("2"), is_drop_ship=True)

    result = order_allocate(order=order, actor=Actor.hub())

    pinned.refresh_from_db()
    drop.refresh_from_db()
    assert (pinned.quantity_allocated, pinned.quantity_backordered) == (1, 2)
    assert (drop.quantity_allocated, drop.quantity_backordered) == (0, 0)
    assert result.status == "backordered"
    assert [line.drop_ship for line in result.lines] == [False, True]


def test_an_order_on_credit_hold_cannot_be_allocated():
    order = OrderFactory(status="credit_hold")
    OrderLineFactory(order=order)
    with pytest.raises(BusinessRuleViolation, match="credit_hold"):
        order_allocate(order=order, actor=Actor.hub())


def test_an_order_with_nothing_to_reserve_and_nothing_changed_writes_no_allocation_event():
    widget = ProductFactory(sku="WID")
    _position(widget, "wh-a", "5")
    order = OrderFactory(status="validated")
    OrderLineFactory(order=order, product=widget, quantity_ordered=Decimal("5"))
    order_allocate(order=order, actor=Actor.hub())
    again = order_allocate(order=order, actor=Actor.hub())
    assert again.changed is False and again.status == "allocated"
    assert _events(order).count("order.allocated") == 1


def test_release_gives_the_stock_back_and_is_a_no_op_the_second_time():
    widget, gadget = ProductFactory(sku="WID"), ProductFactory(sku="GAD")
    w = _position(widget, "wh-a", "5")
    g = _position(gadget, "wh-a", "5")
    order = OrderFactory(status="validated")
    first = OrderLineFactory(order=order, product=widget, quantity_ordered=Decimal("2"))
    second = OrderLineFactory(order=order, product=gadget, quantity_ordered=Decimal("7"))
    order_allocate(order=order, actor=Actor.hub())

    assert order_reservations_release(order=order, actor=Actor.hub(), reason="cancelled") == 2

    w.refresh_from_db()
    g.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (w.reserved, g.reserved) == (0, 0)
    assert (first.quantity_allocated, second.quantity_allocated) == (0, 0)
    assert set(Reservation.objects.values_list("status", flat=True)) == {"released"}
    released = BusinessEvent.objects.get(event_type="order.reservations_released").payload
    assert released["reason"] == "cancelled"
    assert sorted((r["sku"], r["quantity"]) for r in released["released"]) == [("GAD", "5.000"), ("WID", "2.000")]
    assert order_reservations_release(order=order, actor=Actor.hub()) == 0


def test_stocked_positions_are_found_by_sku_without_drop_ship_products_or_inactive_locations():
    """What an order's credit decision locks before its products are read (stocked_positions_read)."""
    from canonical.services.allocation import stocked_positions_read
    from canonical.services.prepared import reads_together

    stocked, shipped_by_supplier = ProductFactory(sku="ST-1"), ProductFactory(sku="DS-1", drop_ship=True)
    east, west = LocationFactory(code="st-east"), LocationFactory(code="st-west")
    closed = LocationFactory(code="st-closed", is_active=False)
    first = InventoryPositionFactory(product=stocked, location=west)
    second = InventoryPositionFactory(product=stocked, location=east)
    InventoryPositionFactory(product=stocked, location=closed)
    InventoryPositionFactory(product=shipped_by_supplier, location=east)
    InventoryPositionFactory(product=ProductFactory(sku="OTHER-1"), location=east)

    with transaction.atomic():
        [by_product] = reads_together(stocked_positions_read(["ST-1", "DS-1", "NOPE"]))
    assert list(by_product) == [stocked.pk]
    assert [p.pk for p in by_product[stocked.pk]] == sorted([first.pk, second.pk])  # locked in id order
    assert {p.location.code for p in by_product[stocked.pk]} == {"st-east", "st-west"}
