"""Filters of the shipment list."""

from __future__ import annotations

import django_filters

from canonical.api.filters.base import CanonicalFilterSet, HubIdFilter, IsoDateTimeFilter
from canonical.api.filters.orders import status_filter
from canonical.models import EntityType, MilestoneCode, Shipment


class ShipmentFilter(CanonicalFilterSet):
    entity_type = EntityType.SHIPMENT
    status = status_filter(MilestoneCode.choices, "shipments")
    order = HubIdFilter(field_name="order_id", help_text="Hub id of the order shipped.")
    customer = HubIdFilter(field_name="order__customer_id", help_text="Hub id of the customer.")
    location = django_filters.CharFilter(field_name="location__code", help_text="Code of the shipping location.")
    carrier = django_filters.CharFilter(field_name="carrier", lookup_expr="iexact")
    tracking_number = django_filters.CharFilter()
    number = django_filters.CharFilter(help_text="The shipment number.")
    dispatched_since = IsoDateTimeFilter(field_name="dispatched_at", lookup_expr="gte")

    class Meta:
        model = Shipment
        fields = ["updated_since", "status", "order", "customer", "number"]
