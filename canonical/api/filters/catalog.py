"""Filters for products, price lists, contract prices and customer groups."""

import django_filters
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from canonical.api.filters.base import CanonicalFilterSet, HubIdFilter, IsoDateTimeFilter
from canonical.models import (
    ContractPrice,
    CustomerGroup,
    EntityType,
    PriceList,
    PriceListItem,
    Product,
    ProductStatus,
)


@extend_schema_field(OpenApiTypes.INT)
def _valid_on(queryset, name, value):
    return queryset.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=value)).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=value)
    )


class ProductFilter(CanonicalFilterSet):
    entity_type = EntityType.PRODUCT
    status = django_filters.ChoiceFilter(choices=ProductStatus.choices)
    sku = django_filters.CharFilter(help_text="Exact SKU.")
    q = django_filters.CharFilter(method="filter_q", help_text="SKU or description contains this (any case).")
    drop_ship = django_filters.BooleanFilter()

    class Meta:
        model = Product
        fields = ["status", "sku", "q", "drop_ship", "updated_since", "external_system"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(sku__icontains=value) | Q(description__icontains=value))


class PriceListFilter(CanonicalFilterSet):
    entity_type = EntityType.PRICE_LIST
    code = django_filters.CharFilter()
    currency = django_filters.CharFilter()
    is_default = django_filters.BooleanFilter()
    sku = django_filters.CharFilter(method="filter_sku", help_text="Only lists with a price for this SKU.")
    valid_on = django_filters.DateFilter(method="filter_valid_on", help_text="Only lists valid on this date.")

    class Meta:
        model = PriceList
        fields = ["code", "currency", "is_default", "sku", "valid_on", "updated_since", "external_system"]

    def filter_sku(self, queryset, name, value):
        return queryset.filter(pk__in=PriceListItem.objects.filter(product__sku=value).values("price_list_id"))

    def filter_valid_on(self, queryset, name, value):
        return _valid_on(queryset, name, value)


class ContractPriceFilter(CanonicalFilterSet):
    entity_type = EntityType.CONTRACT_PRICE
    customer = HubIdFilter(field_name="customer_id", help_text="Hub id of the customer account.")
    customer_group = django_filters.CharFilter(field_name="customer_group__code", help_text="Customer group code.")
    sku = django_filters.CharFilter(field_name="product__sku")
    product = HubIdFilter(field_name="product_id", help_text="Hub id of the product.")
    currency = django_filters.CharFilter()
    valid_on = django_filters.DateFilter(method="filter_valid_on", help_text="Only prices valid on this date.")

    class Meta:
        model = ContractPrice
        fields = [
            "customer", "customer_group", "sku", "product", "currency", "valid_on", "updated_since", "external_system",
        ]

    def filter_valid_on(self, queryset, name, value):
        return _valid_on(queryset, name, value)


class CustomerGroupFilter(django_filters.FilterSet):
    updated_since = IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Only records changed at or after this ISO 8601 time."
    )
    code = django_filters.CharFilter()

    class Meta:
        model = CustomerGroup
        fields = ["code", "updated_since"]
