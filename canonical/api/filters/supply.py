"""Filters of the purchase order list."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef

from canonical.api.filters.base import CanonicalFilterSet, HubIdFilter, IsoDateTimeFilter
from canonical.api.filters.orders import id_of, status_filter
from canonical.models import (
    EntityType,
    Product,
    PurchaseOrder,
    PurchaseOrderKind,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)


class PurchaseOrderFilter(CanonicalFilterSet):
    entity_type = EntityType.PURCHASE_ORDER
    status = status_filter(PurchaseOrderStatus.choices, "purchase orders")
    supplier = django_filters.CharFilter(field_name="supplier__code", help_text="Code of the supplier system.")
    kind = django_filters.ChoiceFilter(choices=PurchaseOrderKind.choices)
    order = HubIdFilter(field_name="order_id", help_text="Hub id of the customer order (drop-ship).")
    location = django_filters.CharFilter(field_name="ship_to_location__code", help_text="Code of the receiving location.")
    sku = django_filters.CharFilter(method="filter_sku", help_text="Only purchase orders with a line for this SKU.")
    number = django_filters.CharFilter(help_text="The purchase order number.")
    ordered_since = IsoDateTimeFilter(field_name="ordered_at", lookup_expr="gte")

    class Meta:
        model = PurchaseOrder
        fields = ["updated_since", "status", "supplier", "kind", "order", "number"]

    def filter_sku(self, queryset, name, value):
        product_id = id_of(Product.objects.filter(sku=value))
        if product_id is None:
            return queryset.none()
        lines = PurchaseOrderLine.objects.filter(purchase_order=OuterRef("pk"), product_id=product_id)
        return queryset.filter(Exists(lines))
