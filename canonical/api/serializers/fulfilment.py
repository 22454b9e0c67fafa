"""What the shipments' system of record sends to upsert a shipment, and what a milestone post carries."""

from __future__ import annotations

from rest_framework import serializers

from canonical.api.fields import HappenedAtField, RecordRefField, StrictFieldsMixin
from canonical.api.serializers.orders import LocationCodeField, positive_quantity, unique_line_numbers
from canonical.models import EntityType, MilestoneCode, Order


class MilestoneInput(StrictFieldsMixin, serializers.Serializer):
    code = serializers.ChoiceField(choices=MilestoneCode.choices)
    occurred_at = HappenedAtField(help_text="When it happened, by the sender's clock (with offset); not in the future.")
    location_text = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    detail = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ShipmentLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, help_text="The order line this shipment carries.")
    quantity = positive_quantity()


class ShipmentContentInput(StrictFieldsMixin, serializers.Serializer):
    """What a shipment holds: its number, order, location, carrier and the order lines it carries."""

    number = serializers.CharField(max_length=40)
    order = RecordRefField(model=Order, entity_type=EntityType.ORDER, by_number="number",
                           help_text="The order shipped: its hub number (HUB-0001234), your id for it, or the hub id.")
    location = LocationCodeField(help_text="Code of the location shipping it.")
    carrier = serializers.CharField(
        max_length=80, required=False, allow_blank=True, default="",
        help_text="Code of the carrier system carrying it (lets that carrier post milestones).",
    )
    tracking_number = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    lines = ShipmentLineInput(
        many=True, allow_empty=False,
        help_text="Every order line the shipment carries, with its quantity (lines left out are taken off it).",
    )

    def validate_lines(self, value):
        return unique_line_numbers(value)

    def validate(self, attrs):
        order = attrs["order"]
        line_ids = dict(order.lines.values_list("line_number", "pk"))
        errors = []
        for item in attrs["lines"]:
            item["order_line_id"] = line_ids.get(item["line_number"])
            errors.append(
                {"line_number": [f"Order {order.number} has no line {item['line_number']}."]}
                if item["order_line_id"] is None
                else {}
            )
        if any(errors):
            raise serializers.ValidationError({"lines": errors})
        return attrs


class ShipmentUpsertInput(ShipmentContentInput):
    milestones = MilestoneInput(
        many=True, required=False, help_text="Recorded once each per (code, occurred_at); repeats are ignored."
    )


class MilestoneReportInput(MilestoneInput):
    """A milestone, optionally with the shipment's content: the warehouse may create or update the
    shipment (its lines, per order line) in the same call."""

    shipment = ShipmentContentInput(
        required=False,
        help_text=(
            "The shipment as it stands (number, order, lines with quantities per order line). Only the shipments' "
            "system of record may send it; it is applied before the milestone, creating the shipment when the "
            "id is new. Carriers leave it out."
        ),
    )
