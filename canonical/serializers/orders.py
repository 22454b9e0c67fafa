"""Orders and their lines as partners read them (and as order events carry them)."""

from __future__ import annotations

import decimal
from decimal import Decimal

from django.db.models import Prefetch
from rest_framework import serializers

from canonical.models import EntityType, Order, OrderLine
from canonical.serializers.base import CanonicalSerializer, _RefsPrefetchingListSerializer


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    location = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id", "line_number", "sku", "location", "quantity_ordered", "quantity_allocated",
            "quantity_backordered", "quantity_shipped", "quantity_invoiced", "quantity_returned", "unit_price",
            "amount", "price_rule", "requested_date", "promised_date", "is_drop_ship",
        ]


class OrderSerializer(CanonicalSerializer):
    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    ship_to = serializers.PrimaryKeyRelatedField(read_only=True)
    bill_to = serializers.PrimaryKeyRelatedField(read_only=True)
    source_system = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.ORDER
        fields = [
            "id", "number", "customer", "ship_to", "bill_to", "status", "currency", "total_amount", "customer_po",
            "placed_at", "requested_date", "promised_date", "source_system", "correlation_id", "lines",
            "external_refs", "created_at", "updated_at",
        ]


def order_queryset():
    """Orders with everything the representation reads, in a fixed number of queries per page."""
    return Order.objects.select_related("source_system").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product", "location").order_by("line_number"))
    )


# The order placement path represents every order it writes twice (order.created, the answer);
# OrderSerializer's generic machinery costs more than the data. order_as_dict says the same
# with plain code, using DRF's own fields for the values whose format they decide.
# tests/canonical/test_order_representation.py holds it to OrderSerializer's output.
_STAMP = serializers.DateTimeField()


def _decimal_text(decimal_places: int, max_digits: int = 14):
    """DecimalField(max_digits, decimal_places).to_representation, without its per-call set-up.

    DRF copies the decimal context and raises 0.1 to the power of the places on every value; an
    order has some 40 of them, rendered twice. The context is the default one DRF would copy.
    """
    exponent = Decimal(1).scaleb(-decimal_places)
    context = decimal.getcontext().copy()
    context.prec = max_digits

    def text(value) -> str:
        if value is None:
            return ""
        if not isinstance(value, Decimal):
            value = Decimal(str(value).strip())
        return f"{value.quantize(exponent, context=context):f}"

    return text


_MONEY_TEXT, _QUANTITY_TEXT = _decimal_text(2), _decimal_text(3)
_QUANTITIES = ("quantity_ordered", "quantity_allocated", "quantity_backordered", "quantity_shipped",
               "quantity_invoiced", "quantity_returned")


def _day(value):
    return value.isoformat() if value else None


def order_as_dict(order: Order, lines: list[OrderLine], external_refs: list[dict]) -> dict:
    """What OrderSerializer gives for ``order`` with these lines (product and location loaded) and refs."""
    money, quantity = _MONEY_TEXT, _QUANTITY_TEXT
    return {
        "id": order.pk,
        "number": order.number,
        "customer": order.customer_id,
        "ship_to": order.ship_to_id,
        "bill_to": order.bill_to_id,
        "status": order.status,
        "currency": order.currency,
        "total_amount": money(order.total_amount),
        "customer_po": order.customer_po,
        "placed_at": _STAMP.to_representation(order.placed_at),
        "requested_date": _day(order.requested_date),
        "promised_date": _day(order.promised_date),
        "source_system": order.source_system.code if order.source_system_id else None,
        "correlation_id": order.correlation_id,
        "lines": [
            {
                "id": line.pk,
                "line_number": line.line_number,
                "sku": line.product.sku,
                "location": line.location.code if line.location_id else None,
                **{name: quantity(getattr(line, name)) for name in _QUANTITIES},
                "unit_price": money(line.unit_price),
                "amount": money(line.amount),
                "price_rule": line.price_rule,
                "requested_date": _day(line.requested_date),
                "promised_date": _day(line.promised_date),
                "is_drop_ship": line.is_drop_ship,
            }
            for line in lines
        ],
        "external_refs": list(external_refs),
        "created_at": _STAMP.to_representation(order.created_at),
        "updated_at": _STAMP.to_representation(order.updated_at),
    }
