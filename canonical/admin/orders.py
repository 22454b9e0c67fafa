"""Admin for orders and order lines, shown read-only: the ERP owns them, and they change through the
process APIs and workflows (status through the transition table), never through these forms."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F

from canonical.admin.common import (
    BigTableAdmin,
    ExternalRefsMixin,
    OwnedElsewhereMixin,
    ReadOnlyTabularInline,
    UpdatedWithinFilter,
    changelist_link,
    join_links,
)
from canonical.models import (
    EntityType,
    Invoice,
    Order,
    OrderLine,
    PurchaseOrder,
    ReturnAuthorization,
    Shipment,
)


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = ("line_number", "product", "location", "quantity_ordered", "quantity_allocated",
              "quantity_backordered", "quantity_shipped", "quantity_invoiced", "quantity_returned",
              "unit_price", "promised_date", "is_drop_ship")
    select_related = ("product", "location")


class LineProgressFilter(admin.SimpleListFilter):
    title = "line progress"
    parameter_name = "progress"

    def lookups(self, request, model_admin):
        return [
            ("backordered", "Has a backorder"),
            ("open", "Not fully shipped"),
            ("shipped", "Fully shipped"),
            ("returned", "Has returns"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "backordered":
            return queryset.filter(quantity_backordered__gt=0)
        if self.value() == "open":
            return queryset.filter(quantity_shipped__lt=F("quantity_ordered"))
        if self.value() == "shipped":
            return queryset.filter(quantity_shipped=F("quantity_ordered"))
        if self.value() == "returned":
            return queryset.filter(quantity_returned__gt=0)
        return queryset


@admin.register(Order)
class OrderAdmin(ExternalRefsMixin, OwnedElsewhereMixin, BigTableAdmin):
    external_ref_entity = EntityType.ORDER
    list_display = ("number", "customer", "status", "total_amount", "currency", "placed_at", "promised_date",
                    "source_system", "updated_at")
    list_select_related = ("customer", "source_system")
    list_filter = ("status", "source_system", UpdatedWithinFilter)
    # Exact matches only: a substring search would scan millions of orders.
    search_fields = ("number__exact", "customer_po__exact", "customer__account_number__exact",
                     "correlation_id__exact")
    search_help_text = "Exact order number, customer PO, customer account number or correlation id."
    readonly_fields = ("status", "correlation_id", "related", "history", "external_refs", "created_at",
                       "updated_at")
    ordering = ("-id",)
    inlines = [OrderLineInline]
    fieldsets = (
        (None, {"fields": ("number", "status", "customer", "ship_to", "bill_to", "customer_po")}),
        ("Amounts and dates", {"fields": ("currency", "total_amount", "placed_at", "requested_date",
                                          "promised_date")}),
        ("Origin", {"fields": ("source_system", "correlation_id", "created_at", "updated_at")}),
        ("Links", {"fields": ("related", "history", "external_refs")}),
    )

    @admin.display(description="Related")
    def related(self, obj: Order) -> str:
        if obj.pk is None:
            return "–"
        return join_links(self.related_links(obj))

    def related_links(self, obj: Order) -> list[str | None]:
        """The lists of the order's records; apps above canonical (the hub) add their own."""
        return [
            changelist_link(Shipment, "shipments", order__id__exact=obj.pk),
            changelist_link(Invoice, "invoices", order__id__exact=obj.pk),
            changelist_link(ReturnAuthorization, "returns", order__id__exact=obj.pk),
            changelist_link(PurchaseOrder, "purchase orders", order__id__exact=obj.pk),
        ]


@admin.register(OrderLine)
class OrderLineAdmin(OwnedElsewhereMixin, BigTableAdmin):
    list_display = ("order", "line_number", "product", "location", "quantity_ordered", "quantity_allocated",
                    "quantity_backordered", "quantity_shipped", "quantity_invoiced", "quantity_returned",
                    "unit_price", "amount")
    list_select_related = ("order", "product", "location")
    list_filter = (LineProgressFilter, "is_drop_ship", "location", UpdatedWithinFilter)
    search_fields = ("order__number__exact", "product__sku__exact")
    search_help_text = "Exact order number or SKU."
    readonly_fields = ("amount", "created_at", "updated_at")
    ordering = ("-id",)

    def get_queryset(self, request):
        # A line is named by its product's SKU (OrderLine.__str__), as in the return lines' autocomplete.
        return super().get_queryset(request).select_related("product")

    @admin.display(description="Amount")
    def amount(self, obj: OrderLine):
        return obj.amount
