"""Purchase orders, supplier acknowledgements and advance ship notices as partners read them."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import serializers

from canonical.models import (
    AdvanceShipNotice,
    AdvanceShipNoticeLine,
    EntityType,
    PurchaseOrder,
    PurchaseOrderLine,
    SupplierAcknowledgement,
    SupplierAcknowledgementLine,
)
from canonical.serializers.base import CanonicalSerializer, _RefsPrefetchingListSerializer


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    order_line = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = PurchaseOrderLine
        fields = [
            "id", "line_number", "sku", "quantity", "unit_cost", "confirmed_quantity", "confirmed_date",
            "received_quantity", "order_line",
        ]


class PurchaseOrderSerializer(CanonicalSerializer):
    supplier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    ship_to_location = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    order = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    lines = PurchaseOrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseOrder
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.PURCHASE_ORDER
        fields = [
            "id", "number", "supplier", "kind", "status", "ship_to_location", "order", "currency", "ordered_at",
            "requested_date", "confirmed_date", "lines", "external_refs", "created_at", "updated_at",
        ]


class AcknowledgementLineSerializer(serializers.ModelSerializer):
    line_number = serializers.IntegerField(source="po_line.line_number", read_only=True)

    class Meta:
        model = SupplierAcknowledgementLine
        fields = ["line_number", "confirmed_quantity", "confirmed_date"]


class AcknowledgementSerializer(serializers.ModelSerializer):
    purchase_order = serializers.PrimaryKeyRelatedField(read_only=True)
    lines = AcknowledgementLineSerializer(many=True, read_only=True)

    class Meta:
        model = SupplierAcknowledgement
        fields = ["id", "purchase_order", "revision", "status", "acknowledged_at", "received_at", "note", "lines"]


class AdvanceShipNoticeLineSerializer(serializers.ModelSerializer):
    line_number = serializers.IntegerField(source="po_line.line_number", read_only=True)
    sku = serializers.CharField(source="po_line.product.sku", read_only=True)

    class Meta:
        model = AdvanceShipNoticeLine
        fields = ["line_number", "sku", "quantity"]


class AdvanceShipNoticeSerializer(serializers.ModelSerializer):
    purchase_order = serializers.PrimaryKeyRelatedField(read_only=True)
    lines = AdvanceShipNoticeLineSerializer(many=True, read_only=True)

    class Meta:
        model = AdvanceShipNotice
        fields = [
            "id", "number", "purchase_order", "shipped_at", "expected_at", "carrier", "tracking_number", "lines",
            "created_at", "updated_at",
        ]


def purchase_order_queryset():
    return PurchaseOrder.objects.select_related("supplier", "ship_to_location").prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("product").order_by("line_number"))
    )


def acknowledgement_queryset():
    return SupplierAcknowledgement.objects.prefetch_related(
        Prefetch(
            "lines",
            queryset=SupplierAcknowledgementLine.objects.select_related("po_line").order_by("po_line__line_number"),
        )
    ).order_by("revision")


def advance_ship_notice_queryset():
    return AdvanceShipNotice.objects.prefetch_related(
        Prefetch(
            "lines",
            queryset=AdvanceShipNoticeLine.objects.select_related("po_line__product").order_by("po_line__line_number"),
        )
    ).order_by("shipped_at", "id")
