"""order_as_dict (the order placement path's representation) says exactly what OrderSerializer says."""

from __future__ import annotations

import datetime
import decimal
from decimal import Decimal

import pytest
from django.db import transaction

from canonical.models import EntityType, Order, OrderLine
from canonical.serializers.orders import OrderSerializer, order_as_dict, order_queryset
from canonical.services.refs import external_refs_for
from tests.factories import (
    ExternalRefFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db


def both(order: Order) -> tuple[dict, dict]:
    order = order_queryset().get(pk=order.pk)
    lines = list(order.lines.all())
    refs = external_refs_for(entity_type=EntityType.ORDER, object_ids=[order.pk]).get(order.pk, [])
    return order_as_dict(order, lines, refs), dict(OrderSerializer(order).data)


def test_a_plain_order_is_represented_alike():
    order = OrderFactory(total_amount=Decimal("0"))
    OrderLineFactory(order=order, line_number=1)
    fast, slow = both(order)
    assert fast == slow
    assert list(fast) == list(slow)  # the same keys in the same order
    assert list(fast["lines"][0]) == list(slow["lines"][0])


def test_every_kind_of_value_is_represented_alike():
    system = SystemFactory(code="crm-x")
    order = OrderFactory(
        source_system=system, status="allocated", currency="EUR", total_amount=Decimal("1234.5"), customer_po="PO-9",
        requested_date=datetime.date(2030, 1, 2), promised_date=datetime.date(2030, 1, 9), correlation_id="abc",
        placed_at=datetime.datetime(2030, 1, 1, 8, 30, 15, 123456, tzinfo=datetime.UTC),
    )
    ExternalRefFactory(system=system, entity_type=EntityType.ORDER, external_id="ext-1", object_id=order.pk)
    location = LocationFactory(code="wh-east")
    OrderLineFactory(order=order, line_number=1, location=location, quantity_ordered=Decimal("3.5"),
                     quantity_allocated=Decimal("2"), quantity_backordered=Decimal("1.5"),
                     unit_price=Decimal("19.99"), price_rule="contract_customer",
                     requested_date=datetime.date(2030, 1, 5), promised_date=datetime.date(2030, 1, 7))
    OrderLineFactory(order=order, line_number=2, product=ProductFactory(drop_ship=True), is_drop_ship=True,
                     quantity_ordered=Decimal("0.125"), unit_price=Decimal("0.07"))
    fast, slow = both(order)
    assert fast == slow
    assert fast["external_refs"] == [{"system": "crm-x", "external_id": "ext-1"}]
    assert fast["lines"][1]["amount"] == "0.01" and fast["lines"][0]["location"] == "wh-east"


def test_an_order_in_memory_is_represented_as_it_will_be_read_back():
    order = OrderFactory()
    line = OrderLine(order=order, line_number=1, product=ProductFactory(), quantity_ordered=Decimal("2"),
                     unit_price=Decimal("4.5"))
    line.save()
    fast = order_as_dict(order, [line], [])
    _, slow = both(order)
    assert fast == slow


def test_an_orders_ids_are_taken_before_it_is_written_and_numbered_past_seven_digits():
    from django.db import connection

    from canonical.services.inserts import writes_batched
    from canonical.services.order_entry import order_ids_read, order_number
    from canonical.services.prepared import reads_together

    customer = OrderFactory().customer
    line = OrderLine(order=OrderFactory(customer=customer), line_number=1, product=ProductFactory(),
                     quantity_ordered=Decimal("1"), unit_price=Decimal("1"))
    line.save()
    with transaction.atomic(), writes_batched():
        [(order_id, line_ids)] = reads_together(order_ids_read(3))
    assert order_id > max(Order.objects.values_list("pk", flat=True))
    assert line_ids == [line.pk + 1, line.pk + 2, line.pk + 3]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), 12345677)", [Order._meta.db_table])
    else:
        OrderFactory(customer=customer, id=12345677)
    with transaction.atomic(), writes_batched():
        [(order_id, _)] = reads_together(order_ids_read(1))
    assert order_id == 12345678
    assert order_number(order_id) == "HUB-12345678"
    assert order_number(42) == "HUB-0000042"


def test_orders_placed_in_one_batch_take_ids_of_their_own():
    """Placed orders are written when their batch is sent; a second order in the same batch must not
    take the first one's ids (SQLite counts the ones the batch holds; PostgreSQL's sequences do)."""
    from canonical.context import Actor
    from canonical.services.inserts import writes_batched
    from canonical.services.order_entry import LineRequest, order_request_check
    from hub.workflows.orders import order_submit
    from tests.hub.ordering_support import shop_build

    shop = shop_build(credit_limit=Decimal("100000.00"))
    checked = [order_request_check(customer=shop.customer, ship_to=shop.site,
                                   lines=[LineRequest(sku=sku, quantity=Decimal("1")) for sku in skus])
               for skus in (["WID-1", "GAD-1"], ["WID-1"], ["BOLT-1", "WID-1", "GAD-1"])]
    with transaction.atomic(), writes_batched():
        placed = [order_submit(checked=order, source_system=shop.crm, actor=Actor.hub()) for order in checked]
    ids = [submission.order.pk for submission in placed]
    line_ids = [line.pk for submission in placed for line in submission.lines]
    assert len(set(ids)) == 3 and len(set(line_ids)) == 6
    assert sorted(Order.objects.filter(pk__in=ids).values_list("pk", flat=True)) == sorted(ids)
    assert sorted(OrderLine.objects.filter(order_id__in=ids).values_list("pk", flat=True)) == sorted(line_ids)
    assert all(not submission.order._state.adding for submission in placed)


@pytest.mark.parametrize("places", [2, 3])
def test_the_order_decimals_are_written_as_drfs_decimal_field_writes_them(places):
    from rest_framework import serializers

    from canonical.serializers.orders import _decimal_text

    field, text = serializers.DecimalField(max_digits=14, decimal_places=places), _decimal_text(places)
    values = [None, 0, 7, "12.5", Decimal("0"), Decimal("-0.0005"), Decimal("0.005"), Decimal("0.025"), Decimal("0.015"),
              Decimal("0.0125"), Decimal("2.675"), Decimal("-3.14159"), Decimal("99999999999.994"),
              Decimal("1E+3"), Decimal("1.10000"), Decimal("123456789012.3456")]
    def outcome(write, value):
        try:
            return write(value)
        except decimal.InvalidOperation:  # more digits than max_digits: both refuse
            return "InvalidOperation"

    for value in values:
        assert outcome(text, value) == outcome(field.to_representation, value), value
