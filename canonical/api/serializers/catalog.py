"""What the products' and prices' systems of record send to upsert catalogue records."""

from __future__ import annotations

from rest_framework import serializers

from canonical.api.fields import RecordRefField, StrictFieldsMixin
from canonical.models import Customer, CustomerGroup, EntityType, Product, ProductStatus

_CURRENCY_HELP = "ISO 4217 code"


def _quantity(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0, **kwargs)


def _price(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, **kwargs)


class _ValidityMixin:
    def validate(self, attrs):
        attrs = super().validate(attrs)
        valid_from, valid_to = attrs.get("valid_from"), attrs.get("valid_to")
        if valid_from is not None and valid_to is not None and valid_to < valid_from:
            raise serializers.ValidationError({"valid_to": [f"valid_to ({valid_to}) is before valid_from ({valid_from})."]})
        return attrs


class ProductUpsertInput(StrictFieldsMixin, serializers.Serializer):
    sku = serializers.CharField(max_length=60)
    description = serializers.CharField(max_length=300)
    unit_of_measure = serializers.CharField(max_length=10, default="EA")
    status = serializers.ChoiceField(choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    drop_ship = serializers.BooleanField(default=False, help_text="Shipped by the supplier straight to the customer.")
    weight_kg = serializers.DecimalField(
        max_digits=10, decimal_places=3, min_value=0, required=False, allow_null=True, default=None
    )


class PriceListItemInput(StrictFieldsMixin, serializers.Serializer):
    sku = serializers.CharField(max_length=60)
    min_quantity = _quantity(default=0, help_text="The break: this price applies from this quantity up.")
    unit_price = _price()


class PriceListUpsertInput(_ValidityMixin, StrictFieldsMixin, serializers.Serializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=120)
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="USD", help_text=_CURRENCY_HELP)
    valid_from = serializers.DateField(required=False, allow_null=True, default=None)
    valid_to = serializers.DateField(required=False, allow_null=True, default=None)
    is_default = serializers.BooleanField(default=False)
    items = PriceListItemInput(
        many=True, required=False,
        help_text="The list's quantity breaks, unique per (sku, min_quantity). When given they replace the "
        "list's breaks; left out, the breaks stay as they are.",
    )

    def validate_items(self, items: list[dict]) -> list[dict]:
        """Resolve every SKU in one query; name each unknown SKU and duplicate break by its position."""
        products = {p.sku: p for p in Product.objects.filter(sku__in={item["sku"] for item in items})}
        errors: list[dict] = [{} for _ in items]
        first_seen: dict[tuple, int] = {}
        for index, item in enumerate(items):
            if item["sku"] not in products:
                errors[index]["sku"] = [f"No product with SKU '{item['sku']}'."]
                continue
            key = (item["sku"], item["min_quantity"])
            if key in first_seen:
                errors[index]["min_quantity"] = [
                    f"Duplicate quantity break: SKU '{item['sku']}' from {item['min_quantity']} is already "
                    f"given at /items/{first_seen[key]}."
                ]
            else:
                first_seen[key] = index
        if any(errors):
            raise serializers.ValidationError(errors)
        return [
            {"product": products[item["sku"]], "min_quantity": item["min_quantity"], "unit_price": item["unit_price"]}
            for item in items
        ]


class ContractPriceUpsertInput(_ValidityMixin, StrictFieldsMixin, serializers.Serializer):
    customer = RecordRefField(
        model=Customer, entity_type=EntityType.CUSTOMER, required=False, allow_null=True, default=None,
        help_text="The customer account the price is for. Give this or customer_group, not both.",
    )
    # Plain CharFields resolved below rather than SlugRelatedFields: a CharField refuses NUL characters,
    # which PostgreSQL would otherwise reject mid-lookup as a server error.
    customer_group = serializers.CharField(
        max_length=40, required=False, allow_null=True, default=None,
        help_text="Code of the customer group the price is for. Give this or customer, not both.",
    )
    sku = serializers.CharField(max_length=60, source="product")
    contract_reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    currency = serializers.RegexField(r"^[A-Z]{3}$", default="USD", help_text=_CURRENCY_HELP)
    min_quantity = _quantity(default=0, help_text="The break: this price applies from this quantity up.")
    unit_price = _price()
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(required=False, allow_null=True, default=None, help_text="Open-ended when null.")

    def validate_customer_group(self, code: str | None) -> CustomerGroup | None:
        if code is None:
            return None
        group = CustomerGroup.objects.filter(code=code).first()
        if group is None:
            raise serializers.ValidationError(f"No customer group with code '{code}'.")
        return group

    def validate_sku(self, sku: str) -> Product:
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise serializers.ValidationError(f"No product with SKU '{sku}'.")
        return product

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if (attrs["customer"] is None) == (attrs["customer_group"] is None):
            raise serializers.ValidationError(
                "Give exactly one of customer or customer_group: a contract price is for one account or one group."
            )
        return attrs
