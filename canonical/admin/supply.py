"""Admin for the supplier side: purchase orders, acknowledgements (with revisions) and ship notices,
shown read-only. The order-to-supplier flow sends purchase orders and cancels them with their customer
orders; the supplier's acknowledgements and ship notices (inbound) record what it confirmed and sent."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F

from canonical.admin.common import (
    ExternalRefsMixin,
    OwnedElsewhereMixin,
    ReadOnlyTabularInline,
    UpdatedWithinFilter,
)
from canonical.models import (
    AdvanceShipNotice,
    AdvanceShipNoticeLine,
    EntityType,
    PurchaseOrder,
    PurchaseOrderLine,
    SupplierAcknowledgement,
    SupplierAcknowledgementLine,
)


def po_line_label(line: PurchaseOrderLine) -> str:
    return f"{line.purchase_order.number} / line {line.line_number}"


class PurchaseOrderLineInline(ReadOnlyTabularInline):
    model = PurchaseOrderLine
    fields = ("line_number", "product", "quantity", "unit_cost", "confirmed_quantity", "confirmed_date",
              "received_quantity", "order_line")
    select_related = ("product", "order_line__product")


class AcknowledgementInline(ReadOnlyTabularInline):
    model = SupplierAcknowledgement
    fields = ("revision", "status", "acknowledged_at", "received_at", "note")


class AdvanceShipNoticeInline(ReadOnlyTabularInline):
    model = AdvanceShipNotice
    fields = ("number", "shipped_at", "expected_at", "carrier", "tracking_number")


class SupplierDateFilter(admin.SimpleListFilter):
    title = "supplier dates"
    parameter_name = "supplier_dates"

    def lookups(self, request, model_admin):
        return [
            ("missed", "Confirmed later than requested"),
            ("unconfirmed", "Not confirmed yet"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "missed":
            return queryset.filter(confirmed_date__gt=F("requested_date"))
        if self.value() == "unconfirmed":
            return queryset.filter(confirmed_date__isnull=True)
        return queryset


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ExternalRefsMixin, OwnedElsewhereMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.PURCHASE_ORDER
    list_display = ("number", "supplier", "kind", "status", "ship_to_location", "order", "ordered_at",
                    "requested_date", "confirmed_date")
    list_select_related = ("supplier", "ship_to_location", "order")
    list_filter = ("status", "kind", "supplier", SupplierDateFilter, UpdatedWithinFilter)
    search_fields = ("number", "order__number__exact")
    autocomplete_fields = ("ship_to_location", "order")
    readonly_fields = ("history", "external_refs", "created_at", "updated_at")
    inlines = [PurchaseOrderLineInline, AcknowledgementInline, AdvanceShipNoticeInline]


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(OwnedElsewhereMixin, admin.ModelAdmin):
    list_display = ("purchase_order", "line_number", "product", "quantity", "confirmed_quantity",
                    "confirmed_date", "received_quantity")
    list_select_related = ("purchase_order", "product")
    search_fields = ("purchase_order__number", "product__sku__exact")
    autocomplete_fields = ("purchase_order", "product", "order_line")


class AcknowledgementLineInline(ReadOnlyTabularInline):
    model = SupplierAcknowledgementLine
    fields = ("po_line_number", "product", "confirmed_quantity", "confirmed_date")
    select_related = ("po_line__product",)

    @admin.display(description="PO line")
    def po_line_number(self, obj: SupplierAcknowledgementLine) -> int:
        return obj.po_line.line_number

    @admin.display(description="Product")
    def product(self, obj: SupplierAcknowledgementLine) -> str:
        return obj.po_line.product.sku


@admin.register(SupplierAcknowledgement)
class SupplierAcknowledgementAdmin(OwnedElsewhereMixin, admin.ModelAdmin):
    list_display = ("purchase_order", "revision", "status", "acknowledged_at", "received_at")
    list_select_related = ("purchase_order",)
    list_filter = ("status",)
    search_fields = ("purchase_order__number",)
    autocomplete_fields = ("purchase_order",)
    readonly_fields = ("received_at",)
    inlines = [AcknowledgementLineInline]


@admin.register(SupplierAcknowledgementLine)
class SupplierAcknowledgementLineAdmin(OwnedElsewhereMixin, admin.ModelAdmin):
    list_display = ("id", "acknowledgement_label", "po_line_label", "confirmed_quantity", "confirmed_date")
    list_select_related = ("acknowledgement__purchase_order", "po_line__purchase_order")
    search_fields = ("acknowledgement__purchase_order__number",)
    autocomplete_fields = ("acknowledgement", "po_line")

    @admin.display(description="Acknowledgement", ordering="acknowledgement__purchase_order__number")
    def acknowledgement_label(self, obj: SupplierAcknowledgementLine) -> str:
        return f"{obj.acknowledgement.purchase_order.number} rev {obj.acknowledgement.revision}"

    @admin.display(description="PO line")
    def po_line_label(self, obj: SupplierAcknowledgementLine) -> str:
        return po_line_label(obj.po_line)


class AdvanceShipNoticeLineInline(ReadOnlyTabularInline):
    model = AdvanceShipNoticeLine
    fields = ("po_line_number", "product", "quantity")
    select_related = ("po_line__product",)

    @admin.display(description="PO line")
    def po_line_number(self, obj: AdvanceShipNoticeLine) -> int:
        return obj.po_line.line_number

    @admin.display(description="Product")
    def product(self, obj: AdvanceShipNoticeLine) -> str:
        return obj.po_line.product.sku


@admin.register(AdvanceShipNotice)
class AdvanceShipNoticeAdmin(ExternalRefsMixin, OwnedElsewhereMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.ADVANCE_SHIP_NOTICE
    list_display = ("number", "purchase_order", "shipped_at", "expected_at", "carrier", "tracking_number")
    list_select_related = ("purchase_order",)
    search_fields = ("number", "purchase_order__number", "tracking_number")
    autocomplete_fields = ("purchase_order",)
    readonly_fields = ("history", "external_refs", "created_at", "updated_at")
    inlines = [AdvanceShipNoticeLineInline]


@admin.register(AdvanceShipNoticeLine)
class AdvanceShipNoticeLineAdmin(OwnedElsewhereMixin, admin.ModelAdmin):
    list_display = ("id", "asn", "po_line_label", "quantity")
    list_select_related = ("asn", "po_line__purchase_order")
    search_fields = ("asn__number", "po_line__purchase_order__number")
    autocomplete_fields = ("asn", "po_line")

    @admin.display(description="PO line")
    def po_line_label(self, obj: AdvanceShipNoticeLine) -> str:
        return po_line_label(obj.po_line)
