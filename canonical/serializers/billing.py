"""Invoices, returns (RMA) and credit memos as partners read them (and as their events carry them)."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import serializers

from canonical.models import CreditMemo, EntityType, Invoice, InvoiceLine, ReturnAuthorization, ReturnLine
from canonical.serializers.base import CanonicalSerializer, _RefsPrefetchingListSerializer


class InvoiceLineSerializer(serializers.ModelSerializer):
    order_line = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = InvoiceLine
        fields = ["id", "order_line", "sku", "quantity", "unit_price", "amount"]


class InvoiceSerializer(CanonicalSerializer):
    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    order = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    shipment = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.INVOICE
        fields = [
            "id", "number", "customer", "order", "shipment", "status", "currency", "amount", "amount_paid",
            "issued_at", "due_date", "paid_at", "dispute_reason", "disputed_amount", "lines", "external_refs", "created_at",
            "updated_at",
        ]


class ReturnLineSerializer(serializers.ModelSerializer):
    order_line = serializers.PrimaryKeyRelatedField(read_only=True)
    line_number = serializers.IntegerField(source="order_line.line_number", read_only=True)
    sku = serializers.CharField(source="order_line.product.sku", read_only=True)

    class Meta:
        model = ReturnLine
        fields = ["id", "order_line", "line_number", "sku", "quantity_requested", "quantity_received", "refusal_reason"]


class ReturnSerializer(CanonicalSerializer):
    order = serializers.PrimaryKeyRelatedField(read_only=True)
    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    lines = ReturnLineSerializer(many=True, read_only=True)

    class Meta:
        model = ReturnAuthorization
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.RETURN
        fields = [
            "id", "number", "order", "customer", "status", "reason", "decision_reason", "requested_at",
            "received_at", "lines", "external_refs", "created_at", "updated_at",
        ]


class CreditMemoSerializer(CanonicalSerializer):
    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    rma = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    invoice = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = CreditMemo
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.CREDIT_MEMO
        fields = [
            "id", "number", "customer", "rma", "invoice", "currency", "amount", "issued_at", "external_refs",
            "created_at", "updated_at",
        ]


def invoice_queryset():
    return Invoice.objects.prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.select_related("product").order_by("id"))
    )


def return_queryset():
    return ReturnAuthorization.objects.prefetch_related(
        Prefetch(
            "lines",
            queryset=ReturnLine.objects.select_related("order_line__product").order_by("order_line__line_number"),
        )
    )


def credit_memo_queryset():
    return CreditMemo.objects.all()
