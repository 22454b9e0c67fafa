"""Filters for locations and inventory positions (low stock, freshness)."""

import django_filters

from canonical.api.filters.base import CanonicalFilterSet, HubIdFilter, IsoDateTimeFilter
from canonical.models import EntityType, InventoryPosition, Location, LocationKind


class LocationFilter(CanonicalFilterSet):
    entity_type = EntityType.LOCATION
    code = django_filters.CharFilter()
    kind = django_filters.ChoiceFilter(choices=LocationKind.choices)
    country = django_filters.CharFilter()
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Location
        fields = ["code", "kind", "country", "is_active", "updated_since", "external_system"]


class InventoryPositionFilter(django_filters.FilterSet):
    updated_since = IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Only positions changed at or after this ISO 8601 time."
    )
    sku = django_filters.CharFilter(field_name="product__sku")
    product = HubIdFilter(field_name="product_id", help_text="Hub id of the product.")
    location = django_filters.CharFilter(field_name="location__code", help_text="Location code.")
    available_lte = django_filters.NumberFilter(
        method="filter_available_lte", help_text="Low stock: available to promise (on hand − reserved) at most this."
    )
    reported_before = IsoDateTimeFilter(
        field_name="last_updated_at", lookup_expr="lt",
        help_text="Stale positions: last reported before this ISO 8601 time.",
    )
    reported_by = django_filters.CharFilter(
        field_name="last_updated_by__code", help_text="Code of the system that last reported the position."
    )

    class Meta:
        model = InventoryPosition
        fields = ["sku", "product", "location", "available_lte", "reported_before", "reported_by", "updated_since"]

    def filter_available_lte(self, queryset, name, value):
        return queryset.with_available().filter(available__lte=value)
