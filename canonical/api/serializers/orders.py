"""What the orders' system of record sends to upsert an order and its lines."""

from __future__ import annotations

from rest_framework import serializers

from canonical.api.fields import RecordRefField, StrictFieldsMixin
from canonical.models import Customer, EntityType, Location, OrderStatus, Product

KEPT_WHEN_OMITTED = "Left out: the stored value is kept (0 when new)."


def non_negative_quantity(**kwargs) -> serializers.DecimalField:
    kwargs.setdefault("min_value", 0)
    return serializers.DecimalField(max_digits=14, decimal_places=3, **kwargs)


def positive_quantity(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=3, validators=[_more_than_zero], **kwargs)


def _more_than_zero(value) -> None:
    if value <= 0:
        raise serializers.ValidationError("Must be more than 0.")


def money(**kwargs) -> serializers.DecimalField:
    kwargs.setdefault("min_value", 0)
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class SkuField(serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "No product with SKU '{value}'.", "invalid": "Give the SKU as a string."}

    def __init__(self, **kwargs):
        super().__init__(slug_field="sku", queryset=Product.objects.all(), **kwargs)


class LocationCodeField(serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "No location with code '{value}'.", "invalid": "Give the code as a string."}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        super().__init__(slug_field="code", queryset=Location.objects.all(), **kwargs)


def unique_line_numbers(lines: list[dict], key: str = "line_number") -> list[dict]:
    """Refuse a line number given twice, pointing at the second one."""
    seen: set[int] = set()
    errors: list[dict] = []
    for item in lines:
        number = item[key]
        errors.append({key: [f"Line number {number} is given more than once."]} if number in seen else {})
        seen.add(number)
    if any(errors):
        raise serializers.ValidationError(errors)
    return lines


class OrderLineInput(StrictFieldsMixin, serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1)
    sku = SkuField()
    quantity_ordered = positive_quantity()
    unit_price = money()
    quantity_allocated = non_negative_quantity(required=False, help_text=KEPT_WHEN_OMITTED)
    quantity_backordered = non_negative_quantity(required=False, help_text=KEPT_WHEN_OMITTED)
    quantity_shipped = non_negative_quantity(
        required=False,
        help_text="At most quantity_ordered. Left out: the value rolled up from shipments is kept.",
    )
    quantity_invoiced = non_negative_quantity(required=False, help_text=KEPT_WHEN_OMITTED)
    requested_date = serializers.DateField(required=False, allow_null=True, default=None)
    promised_date = serializers.DateField(required=False, allow_null=True, default=None)
    location = LocationCodeField(help_text="Code of the shipping location.")

    def validate(self, attrs):
        shipped = attrs.get("quantity_shipped")
        if shipped is not None and shipped > attrs["quantity_ordered"]:
            raise serializers.ValidationError(
                {"quantity_shipped": [f"{shipped} shipped is more than the {attrs['quantity_ordered']} ordered."]}
            )
        return attrs


class OrderUpsertInput(StrictFieldsMixin, serializers.Serializer):
    number = serializers.CharField(max_length=40)
    customer = RecordRefField(model=Customer, entity_type=EntityType.CUSTOMER, help_text="The sold-to account.")
    ship_to = RecordRefField(
        model=Customer, entity_type=EntityType.CUSTOMER, required=False, allow_null=True, default=None,
        help_text="The customer itself or an account in its hierarchy; defaults to the customer.",
    )
    bill_to = RecordRefField(
        model=Customer, entity_type=EntityType.CUSTOMER, required=False, allow_null=True, default=None,
        help_text="Defaults to the customer.",
    )
    status = serializers.ChoiceField(
        choices=OrderStatus.choices, default=OrderStatus.RECEIVED,
        help_text="Any status when the order is new; a change must be an allowed transition.",
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, default=None, help_text="ISO 4217 code; defaults to the customer's currency."
    )
    customer_po = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    placed_at = serializers.DateTimeField()
    requested_date = serializers.DateField(required=False, allow_null=True, default=None)
    promised_date = serializers.DateField(required=False, allow_null=True, default=None)
    lines = OrderLineInput(many=True, allow_empty=False)

    def validate_lines(self, value):
        return unique_line_numbers(value)

    def validate(self, attrs):
        customer = attrs["customer"]
        attrs["ship_to"] = attrs["ship_to"] or customer
        attrs["bill_to"] = attrs["bill_to"] or customer
        if attrs["ship_to"].pk != customer.pk and _root_id(attrs["ship_to"]) != _root_id(customer):
            raise serializers.ValidationError(
                {"ship_to": [f"Account {attrs['ship_to'].account_number} is not in the hierarchy of customer "
                             f"{customer.account_number}."]}
            )
        attrs["currency"] = attrs["currency"] or customer.currency
        return attrs


def _root_id(customer: Customer) -> int:
    """The top of an account's hierarchy, walked by id so each step costs one small query at most."""
    seen = {customer.pk}
    node_id, parent_id = customer.pk, customer.parent_id
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        node_id = parent_id
        parent_id = Customer.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return node_id
