"""Admin for invoices, returns (RMA) and credit memos, all shown read-only. The ERP owns invoices and
credit memos (its postings and the dispute workflow change them); returns move through the return
workflow (request, authorisation by rule, the warehouse's receipt, the ERP's credit). None of them
changes through these forms."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import DecimalField, F, Sum
from django.utils import timezone

from canonical.admin.common import (
    BigTableAdmin,
    ExternalRefsMixin,
    OwnedElsewhereMixin,
    ReadOnlyTabularInline,
    UpdatedWithinFilter,
)
from canonical.models import (
    OPEN_INVOICE_STATUSES,
    CreditMemo,
    EntityType,
    Invoice,
    InvoiceLine,
    ReturnAuthorization,
    ReturnLine,
)


class InvoiceLineInline(ReadOnlyTabularInline):
    model = InvoiceLine
    fields = ("product", "order_line", "quantity", "unit_price", "amount")
    select_related = ("product", "order_line__product")


class DueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue (open, past due date)"), ("open", "Open (posted or disputed)")]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(status__in=OPEN_INVOICE_STATUSES, due_date__lt=timezone.localdate())
        if self.value() == "open":
            return queryset.filter(status__in=OPEN_INVOICE_STATUSES)
        return queryset


@admin.register(Invoice)
class InvoiceAdmin(ExternalRefsMixin, OwnedElsewhereMixin, BigTableAdmin):
    external_ref_entity = EntityType.INVOICE
    list_display = ("number", "customer", "order", "status", "amount", "amount_paid", "balance", "currency",
                    "issued_at", "due_date")
    list_select_related = ("customer", "order")
    list_filter = ("status", DueFilter, "currency", UpdatedWithinFilter)
    search_fields = ("number__exact", "order__number__exact", "customer__account_number__exact")
    search_help_text = "Exact invoice number, order number or customer account number."
    readonly_fields = ("status", "balance", "history", "external_refs", "created_at", "updated_at")
    ordering = ("-id",)
    inlines = [InvoiceLineInline]

    @admin.display(description="Balance")
    def balance(self, obj: Invoice):
        if obj.amount is None or obj.amount_paid is None:
            return "–"
        return obj.amount - obj.amount_paid


@admin.register(InvoiceLine)
class InvoiceLineAdmin(OwnedElsewhereMixin, BigTableAdmin):
    list_display = ("invoice", "product", "quantity", "unit_price", "amount")
    list_select_related = ("invoice", "product")
    search_fields = ("invoice__number__exact", "product__sku__exact")
    search_help_text = "Exact invoice number or SKU."
    ordering = ("-id",)


class ReturnLineInline(ReadOnlyTabularInline):
    model = ReturnLine
    fields = ("order_line", "product", "quantity_requested", "unit_price", "value", "quantity_received",
              "refusal_reason")
    select_related = ("order_line__product",)

    @admin.display(description="Unit price")
    def unit_price(self, obj: ReturnLine):
        return obj.order_line.unit_price

    @admin.display(description="Value")
    def value(self, obj: ReturnLine):
        return (obj.quantity_requested * obj.order_line.unit_price).quantize(Decimal("0.01"))

    @admin.display(description="Product")
    def product(self, obj: ReturnLine) -> str:
        return obj.order_line.product.sku


@admin.register(ReturnAuthorization)
class ReturnAuthorizationAdmin(ExternalRefsMixin, OwnedElsewhereMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.RETURN
    list_display = ("number", "order", "customer", "status", "value", "reason", "requested_at", "received_at")
    list_select_related = ("order", "customer")
    list_filter = ("status", UpdatedWithinFilter)
    search_fields = ("number", "order__number__exact", "customer__account_number__exact")
    autocomplete_fields = ("order", "customer")
    readonly_fields = ("status", "value", "history", "external_refs", "created_at", "updated_at")
    inlines = [ReturnLineInline]

    def get_queryset(self, request):
        # What the return is worth: each line's requested quantity at the price it was sold for.
        worth = Sum(F("lines__quantity_requested") * F("lines__order_line__unit_price"),
                    output_field=DecimalField(max_digits=18, decimal_places=2))
        return super().get_queryset(request).annotate(requested_value=worth)

    @admin.display(description="Value", ordering="requested_value")
    def value(self, obj: ReturnAuthorization) -> str:
        worth = getattr(obj, "requested_value", None)
        if worth is None:
            return "–"
        return f"{worth.quantize(Decimal('0.01')):,} {obj.order.currency}"


@admin.register(ReturnLine)
class ReturnLineAdmin(OwnedElsewhereMixin, admin.ModelAdmin):
    list_display = ("rma", "order_line", "quantity_requested", "quantity_received", "refusal_reason")
    list_select_related = ("rma", "order_line__product")
    search_fields = ("rma__number", "order_line__order__number__exact")
    autocomplete_fields = ("rma", "order_line")


@admin.register(CreditMemo)
class CreditMemoAdmin(ExternalRefsMixin, OwnedElsewhereMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.CREDIT_MEMO
    list_display = ("number", "customer", "rma", "invoice", "amount", "currency", "issued_at")
    list_select_related = ("customer", "rma", "invoice")
    list_filter = ("currency", UpdatedWithinFilter)
    search_fields = ("number", "customer__account_number__exact", "rma__number", "invoice__number__exact")
    autocomplete_fields = ("customer", "rma", "invoice")
    readonly_fields = ("history", "external_refs", "created_at", "updated_at")
