"""Admin for locations, inventory positions (with available-to-promise, computed) and reservations.

Positions and reservations are shown read-only: the warehouse's stock reports and advance ship notices
set on hand and in transit, and the hub's allocation keeps each position's reserved quantity equal to
its open reservations under the position's row lock. A hand edit would break that sum."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import F

from canonical.admin.common import (
    BigTableAdmin,
    ExternalRefsMixin,
    OwnedElsewhereMixin,
    UpdatedWithinFilter,
    changelist_link,
    updated_within_filter,
)
from canonical.models import EntityType, InventoryPosition, Location, Reservation


@admin.register(Location)
class LocationAdmin(ExternalRefsMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.LOCATION
    list_display = ("code", "name", "kind", "city", "country", "is_active", "inventory")
    list_filter = ("kind", "is_active", "country")
    search_fields = ("code", "name", "city")
    readonly_fields = ("inventory", "history", "external_refs", "created_at", "updated_at")

    @admin.display(description="Inventory")
    def inventory(self, obj: Location) -> str:
        if obj.pk is None:
            return "–"
        return changelist_link(InventoryPosition, "positions", location__id__exact=obj.pk) or "–"


class AvailabilityFilter(admin.SimpleListFilter):
    """Available-to-promise is on hand minus reserved; it is compared, never stored."""

    title = "available to promise"
    parameter_name = "availability"
    low_threshold = Decimal("10")

    def lookups(self, request, model_admin):
        return [
            ("none", "Nothing available (≤ 0)"),
            ("low", f"Low (1 to {self.low_threshold:g})"),
            ("available", f"More than {self.low_threshold:g}"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(on_hand__lte=F("reserved"))
        if self.value() == "low":
            return queryset.filter(on_hand__gt=F("reserved"), on_hand__lte=F("reserved") + self.low_threshold)
        if self.value() == "available":
            return queryset.filter(on_hand__gt=F("reserved") + self.low_threshold)
        return queryset


ReportedWithinFilter = updated_within_filter("last_updated_at", "reported by source system")


@admin.register(InventoryPosition)
class InventoryPositionAdmin(OwnedElsewhereMixin, BigTableAdmin):
    list_display = ("product", "location", "on_hand", "reserved", "available_to_promise", "in_transit",
                    "last_updated_at", "last_updated_by")
    list_select_related = ("product", "location", "last_updated_by")
    list_filter = ("location", AvailabilityFilter, ReportedWithinFilter, "last_updated_by")
    search_fields = ("product__sku__exact", "product__description")
    search_help_text = "Exact SKU or words of the description."
    autocomplete_fields = ("product", "location")
    readonly_fields = ("available_to_promise", "reservations", "created_at", "updated_at")
    ordering = ("-updated_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).with_available()

    @admin.display(description="Available to promise", ordering="available")
    def available_to_promise(self, obj: InventoryPosition):
        return obj.available_to_promise

    @admin.display(description="Reservations")
    def reservations(self, obj: InventoryPosition) -> str:
        if obj.pk is None:
            return "–"
        return changelist_link(Reservation, "reservations on this position", position__id__exact=obj.pk) or "–"


@admin.register(Reservation)
class ReservationAdmin(OwnedElsewhereMixin, BigTableAdmin):
    list_display = ("id", "order", "order_line_number", "position", "quantity", "status", "created_at")
    list_select_related = ("order_line__order", "position__product", "position__location")
    list_filter = ("status", UpdatedWithinFilter)
    search_fields = ("order_line__order__number__exact", "position__product__sku__exact")
    search_help_text = "Exact order number or SKU."
    autocomplete_fields = ("order_line", "position")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-id",)

    @admin.display(description="Order", ordering="order_line__order__number")
    def order(self, obj: Reservation) -> str:
        return obj.order_line.order.number

    @admin.display(description="Line")
    def order_line_number(self, obj: Reservation) -> int:
        return obj.order_line.line_number
