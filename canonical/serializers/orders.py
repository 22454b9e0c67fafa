"""Orders and their lines as partners read them (and as order events carry them)."""

from __future__ import annotations

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
