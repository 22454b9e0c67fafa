"""Products, price lists with their quantity breaks, contract prices and customer groups."""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import serializers

from canonical.models import ContractPrice, CustomerGroup, EntityType, PriceList, PriceListItem, Product
from canonical.serializers.base import CanonicalSerializer, _RefsPrefetchingListSerializer


class ProductSerializer(CanonicalSerializer):
    class Meta:
        model = Product
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.PRODUCT
        fields = [
            "id", "sku", "description", "unit_of_measure", "status", "drop_ship", "weight_kg", "external_refs",
            "created_at", "updated_at",
        ]


class PriceListItemSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = PriceListItem
        fields = ["sku", "product", "min_quantity", "unit_price"]
        read_only_fields = fields


class PriceListSerializer(CanonicalSerializer):
    items = PriceListItemSerializer(many=True, read_only=True)

    class Meta:
        model = PriceList
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.PRICE_LIST
        fields = [
            "id", "code", "name", "currency", "valid_from", "valid_to", "is_default", "items", "external_refs",
            "created_at", "updated_at",
        ]


def price_list_items_prefetch() -> Prefetch:
    """The items of many price lists in one query, products joined, in break order."""
    return Prefetch(
        "items",
        queryset=PriceListItem.objects.select_related("product").order_by("product__sku", "min_quantity"),
    )


class ContractPriceSerializer(CanonicalSerializer):
    customer = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Hub id of the customer account; null for a group price."
    )
    customer_group = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="Customer group code; null for an account price."
    )
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = ContractPrice
        list_serializer_class = _RefsPrefetchingListSerializer
        entity_type = EntityType.CONTRACT_PRICE
        fields = [
            "id", "customer", "customer_group", "sku", "product", "contract_reference", "currency", "min_quantity",
            "unit_price", "valid_from", "valid_to", "external_refs", "created_at", "updated_at",
        ]
        read_only_fields = fields


class CustomerGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerGroup
        fields = ["id", "code", "name", "created_at", "updated_at"]
