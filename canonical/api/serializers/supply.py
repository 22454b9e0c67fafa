"""What the ERP sends to upsert a purchase order, and what a supplier sends back about it."""

from __future__ import annotations

from rest_framework import serializers

from canonical.api.fields import HappenedAtField, RecordRefField, StrictFieldsMixin
from canonical.api.serializers.orders import (
    KEPT_WHEN_OMITTED,
    LocationCodeField,
    SkuField,
    money,
    non_negative_quantity,
    positive_quantity,
    unique_line_numbers,
)
from canonical.models import EntityType, Order, PurchaseOrderKind, PurchaseOrderStatus, System, SystemKind
from canonical.models.supply import AcknowledgementStatus


class SupplierField(serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "No supplier system with code '{value}'."}

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=System.objects.filter(kind=SystemKind.SUPPLIER), **kwargs)


class PurchaseOrderLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1)
    sku = SkuField()
    quantity = positive_quantity()
    unit_cost = money(default=0)
    received_quantity = non_negative_quantity(required=False, help_text=KEPT_WHEN_OMITTED)
    order_line = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None,
        help_text="Line number of the customer order line waiting on this supply (needs the PO's order).",
    )


class PurchaseOrderUpsertInput(StrictFieldsMixin, serializers.Serializer):
    number = serializers.CharField(max_length=40)
    supplier = SupplierField(help_text="Code of the supplier system the PO is addressed to.")
    kind = serializers.ChoiceField(choices=PurchaseOrderKind.choices, default=PurchaseOrderKind.REPLENISHMENT)
    status = serializers.ChoiceField(
        choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT,
        help_text="Any status when the PO is new; a change must be an allowed transition.",
    )
    ship_to_location = LocationCodeField(help_text="Code of the receiving location (replenishment).")
    order = RecordRefField(
        model=Order, entity_type=EntityType.ORDER, required=False, allow_null=True, default=None,
        help_text="The customer order a drop-ship PO fulfils.",
    )
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="USD", help_text="ISO 4217 code")
    ordered_at = serializers.DateTimeField()
    requested_date = serializers.DateField(required=False, allow_null=True, default=None)
    lines = PurchaseOrderLineInput(many=True, allow_empty=False)

    def validate_lines(self, value):
        return unique_line_numbers(value)

    def validate(self, attrs):
        order = attrs["order"]
        if attrs["kind"] == PurchaseOrderKind.DROP_SHIP and order is None:
            raise serializers.ValidationError({"order": ["A drop-ship purchase order names the customer order."]})
        order_lines = dict(order.lines.values_list("line_number", "pk")) if order is not None else {}
        errors = []
        for item in attrs["lines"]:
            number, error = item["order_line"], {}
            item["order_line_id"] = order_lines.get(number) if number is not None else None
            if number is not None and order is None:
                error = {"order_line": ["An order line needs the purchase order's order."]}
            elif number is not None and item["order_line_id"] is None:
                error = {"order_line": [f"Order {order.number} has no line {number}."]}
            errors.append(error)
        if any(errors):
            raise serializers.ValidationError({"lines": errors})
        return attrs


class _PurchaseOrderLinesMixin:
    """Resolves ``line_number`` against the lines of the purchase order in the context."""

    def _po_lines(self, items: list[dict]) -> list[dict]:
        purchase_order = self.context["purchase_order"]
        known = dict(purchase_order.lines.values_list("line_number", "pk"))
        errors = []
        for item in items:
            item["po_line_id"] = known.get(item["line_number"])
            errors.append(
                {} if item["po_line_id"] else
                {"line_number": [f"Purchase order {purchase_order.number} has no line {item['line_number']}."]}
            )
        if any(errors):
            raise serializers.ValidationError(errors)
        return items


class AcknowledgementLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1)
    confirmed_quantity = non_negative_quantity()
    confirmed_date = serializers.DateField(required=False, allow_null=True, default=None)


class AcknowledgementInput(_PurchaseOrderLinesMixin, StrictFieldsMixin, serializers.Serializer):
    revision = serializers.IntegerField(
        min_value=1, required=False, default=None,
        help_text="The supplier's revision number; left out, the next one (or the latest, if this is a repeat).",
    )
    status = serializers.ChoiceField(choices=AcknowledgementStatus.choices, default=AcknowledgementStatus.ACCEPTED)
    acknowledged_at = HappenedAtField(help_text="When the supplier sent it; not in the future.")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    supplier_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="The supplier's own id for this PO; it may address the PO by it afterwards.",
    )
    lines = AcknowledgementLineInput(many=True, required=False, default=list)

    def validate_lines(self, value):
        return self._po_lines(unique_line_numbers(value))


class AdvanceShipNoticeLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, help_text="The purchase order line shipped.")
    quantity = positive_quantity()


class AdvanceShipNoticeInput(_PurchaseOrderLinesMixin, StrictFieldsMixin, serializers.Serializer):
    shipped_at = HappenedAtField(help_text="When the goods left the supplier; not in the future.")
    expected_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    carrier = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    lines = AdvanceShipNoticeLineInput(many=True, allow_empty=False)

    def validate_lines(self, value):
        return self._po_lines(unique_line_numbers(value))

    def validate(self, attrs):
        if attrs.get("expected_at") and attrs["expected_at"] < attrs["shipped_at"]:
            raise serializers.ValidationError(
                {"expected_at": ["The expected arrival is before the time it shipped (shipped_at)."]})
        return attrs
