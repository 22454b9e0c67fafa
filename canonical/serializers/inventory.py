"""Locations and inventory positions, with available-to-promise and freshness."""

from __future__ import annotations

from rest_framework import serializers

from canonical.models import EntityType, InventoryPosition, Location
from canonical.serializers.base import CanonicalSerializer, _RefsPrefetchingListSerializer
from canonical.services.inventory import ReportOutcome


class LocationSerializer(CanonicalSerializer):
    class Meta:
        model = Location
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.LOCATION
        fields = [
            "id", "code", "name", "kind", "city", "country", "is_active", "external_refs", "created_at", "updated_at",
        ]


class QuantitiesSerializer(serializers.Serializer):
    """The numbers of one position at one moment (the before and after of an inventory.changed event)."""

    on_hand = serializers.DecimalField(max_digits=14, decimal_places=3)
    reserved = serializers.DecimalField(max_digits=14, decimal_places=3)
    in_transit = serializers.DecimalField(max_digits=14, decimal_places=3)
    available_to_promise = serializers.DecimalField(max_digits=15, decimal_places=3)


class InventoryPositionSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    location = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="Hub code of the location.")
    available_to_promise = serializers.DecimalField(
        max_digits=15, decimal_places=3, read_only=True, help_text="on_hand − reserved; derived, never stored."
    )
    last_updated_by = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True,
        help_text="Code of the system that last reported this position.",
    )

    class Meta:
        model = InventoryPosition
        fields = [
            "id", "product", "sku", "location", "on_hand", "reserved", "in_transit", "available_to_promise",
            "last_updated_at", "last_updated_by", "created_at", "updated_at",
        ]
        read_only_fields = fields


INVENTORY_SELECT = ("product", "location", "last_updated_by")


REPORT_OUTCOMES = [
    (ReportOutcome.CREATED, "A new position was recorded."),
    (ReportOutcome.UPDATED, "The quantities changed; inventory.changed was emitted."),
    (ReportOutcome.UNCHANGED, "Same quantities; only the freshness (last_updated_at/by) moved forward."),
    (ReportOutcome.STALE, "as_of is older than the position's last update: the report was ignored."),
]


class InventoryReportResultSerializer(InventoryPositionSerializer):
    """The position as the hub holds it after a report, and what the report did to it."""

    outcome = serializers.ChoiceField(choices=REPORT_OUTCOMES, read_only=True)

    class Meta(InventoryPositionSerializer.Meta):
        fields = [*InventoryPositionSerializer.Meta.fields, "outcome"]
        read_only_fields = fields
