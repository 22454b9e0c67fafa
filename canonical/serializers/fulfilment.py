"""Shipments, their lines and milestones as partners read them (and as shipment events carry them)."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import serializers

from canonical.models import EntityType, Shipment, ShipmentLine, ShipmentMilestone
from canonical.serializers.base import CanonicalSerializer, FieldsBuiltOnce, _RefsPrefetchingListSerializer


class ShipmentLineSerializer(serializers.ModelSerializer):
    order_line = serializers.PrimaryKeyRelatedField(read_only=True)
    line_number = serializers.IntegerField(source="order_line.line_number", read_only=True)
    sku = serializers.CharField(source="order_line.product.sku", read_only=True)

    class Meta:
        model = ShipmentLine
        fields = ["id", "order_line", "line_number", "sku", "quantity"]


class ShipmentMilestoneSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    source_system = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = ShipmentMilestone
        fields = ["id", "code", "occurred_at", "received_at", "source_system", "location_text", "detail"]
        read_only_fields = fields


class ShipmentSummarySerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """The shipment header alone: what milestone events and responses carry, at no extra query."""

    class Meta:
        model = Shipment
        fields = [
            "id", "number", "order", "status", "carrier", "tracking_number", "dispatched_at", "delivered_at",
            "updated_at",
        ]


class MilestoneRecordedSerializer(ShipmentMilestoneSerializer):
    """Answer to a milestone post: the milestone and the shipment status it left behind."""

    shipment = ShipmentSummarySerializer(read_only=True)

    class Meta(ShipmentMilestoneSerializer.Meta):
        fields = [*ShipmentMilestoneSerializer.Meta.fields, "shipment"]


class ShipmentSerializer(CanonicalSerializer):
    order = serializers.PrimaryKeyRelatedField(read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    location = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    lines = ShipmentLineSerializer(many=True, read_only=True)
    milestones = ShipmentMilestoneSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.SHIPMENT
        fields = [
            "id", "number", "order", "order_number", "location", "status", "carrier", "tracking_number",
            "dispatched_at", "delivered_at", "lines", "milestones", "external_refs", "created_at", "updated_at",
        ]


def shipment_queryset():
    return Shipment.objects.select_related("order", "location").prefetch_related(
        Prefetch(
            "lines",
            queryset=ShipmentLine.objects.select_related("order_line__product").order_by("order_line__line_number"),
        ),
        Prefetch("milestones", queryset=ShipmentMilestone.objects.select_related("source_system")),
    )
