"""Admin for shipments, their lines and milestones from warehouses and carriers, shown read-only: the
milestones create and move them (forward only), never these forms."""

from __future__ import annotations

from django.contrib import admin

from canonical.admin.common import (
    BigTableAdmin,
    ExternalRefsMixin,
    OwnedElsewhereMixin,
    ReadOnlyTabularInline,
    UpdatedWithinFilter,
    updated_within_filter,
)
from canonical.models import EntityType, Shipment, ShipmentLine, ShipmentMilestone


class ShipmentLineInline(ReadOnlyTabularInline):
    model = ShipmentLine
    fields = ("order_line", "product", "quantity")
    select_related = ("order_line__product",)

    @admin.display(description="Product")
    def product(self, obj: ShipmentLine) -> str:
        return obj.order_line.product.sku


class ShipmentMilestoneInline(ReadOnlyTabularInline):
    model = ShipmentMilestone
    fields = ("code", "occurred_at", "received_at", "source_system", "location_text", "detail")
    select_related = ("source_system",)


@admin.register(Shipment)
class ShipmentAdmin(ExternalRefsMixin, OwnedElsewhereMixin, BigTableAdmin):
    external_ref_entity = EntityType.SHIPMENT
    list_display = ("number", "order", "status", "location", "carrier", "tracking_number", "dispatched_at",
                    "delivered_at", "updated_at")
    list_select_related = ("order", "location")
    list_filter = ("status", "location", UpdatedWithinFilter)
    search_fields = ("number__exact", "tracking_number__exact", "order__number__exact")
    search_help_text = "Exact shipment number, tracking number or order number."
    autocomplete_fields = ("order", "location")
    readonly_fields = ("status", "history", "external_refs", "created_at", "updated_at")
    ordering = ("-id",)
    inlines = [ShipmentLineInline, ShipmentMilestoneInline]


@admin.register(ShipmentLine)
class ShipmentLineAdmin(OwnedElsewhereMixin, BigTableAdmin):
    list_display = ("shipment", "order_line", "product", "quantity", "updated_at")
    list_select_related = ("shipment", "order_line__order", "order_line__product")
    list_filter = (UpdatedWithinFilter,)
    search_fields = ("shipment__number__exact", "order_line__order__number__exact")
    search_help_text = "Exact shipment or order number."
    autocomplete_fields = ("shipment", "order_line")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-id",)

    @admin.display(description="Product", ordering="order_line__product__sku")
    def product(self, obj: ShipmentLine) -> str:
        return obj.order_line.product.sku


@admin.register(ShipmentMilestone)
class ShipmentMilestoneAdmin(OwnedElsewhereMixin, BigTableAdmin):
    list_display = ("shipment", "code", "occurred_at", "received_at", "reporting_lag", "source_system",
                    "location_text")
    list_select_related = ("shipment", "source_system")
    list_filter = ("code", "source_system", updated_within_filter("received_at", "received"))
    search_fields = ("shipment__number__exact", "shipment__tracking_number__exact")
    search_help_text = "Exact shipment or tracking number."
    autocomplete_fields = ("shipment",)
    # The event is the milestone's link to its deliveries (visibility latency: manage.py shipment_latency).
    readonly_fields = ("received_at", "event")
    ordering = ("-id",)

    @admin.display(description="Heard after")
    def reporting_lag(self, obj: ShipmentMilestone) -> str:
        if obj.received_at is None or obj.occurred_at is None:
            return "–"
        seconds = int((obj.received_at - obj.occurred_at).total_seconds())
        if seconds < 0:
            return "before it happened (clock skew)"
        if seconds < 120:
            return f"{seconds} s"
        if seconds < 7200:
            return f"{seconds // 60} min"
        return f"{seconds // 3600} h"
