"""Admin for products, price lists with their quantity breaks, and contract prices."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from canonical.admin.common import (
    ExternalRefsMixin,
    ReadOnlyTabularInline,
    UpdatedWithinFilter,
    changelist_link,
    join_links,
)
from canonical.models import (
    ContractPrice,
    EntityType,
    InventoryPosition,
    OrderLine,
    PriceList,
    PriceListItem,
    Product,
)


class InventoryInline(ReadOnlyTabularInline):
    model = InventoryPosition
    fields = ("location", "on_hand", "reserved", "available_to_promise", "in_transit", "last_updated_at",
              "last_updated_by")
    select_related = ("location", "last_updated_by")
    verbose_name_plural = "inventory by location"

    @admin.display(description="Available to promise")
    def available_to_promise(self, obj: InventoryPosition):
        return obj.available_to_promise


@admin.register(Product)
class ProductAdmin(ExternalRefsMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.PRODUCT
    list_display = ("sku", "description", "unit_of_measure", "status", "drop_ship", "weight_kg", "updated_at")
    list_filter = ("status", "drop_ship", UpdatedWithinFilter)
    search_fields = ("sku", "description")
    readonly_fields = ("related", "history", "external_refs", "created_at", "updated_at")
    inlines = [InventoryInline]

    @admin.display(description="Related")
    def related(self, obj: Product) -> str:
        if obj.pk is None:
            return "–"
        return join_links([
            changelist_link(PriceListItem, "list prices", product__id__exact=obj.pk),
            changelist_link(ContractPrice, "contract prices", product__id__exact=obj.pk),
            changelist_link(OrderLine, "order lines", product__id__exact=obj.pk),
        ])


@admin.register(PriceList)
class PriceListAdmin(ExternalRefsMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.PRICE_LIST
    list_display = ("code", "name", "currency", "valid_from", "valid_to", "is_default", "items", "updated_at")
    list_filter = ("currency", "is_default")
    search_fields = ("code", "name")
    readonly_fields = ("items", "history", "external_refs", "created_at", "updated_at")

    @admin.display(description="Prices")
    def items(self, obj: PriceList) -> str:
        if obj.pk is None:
            return "–"
        # A list holds a price for every product: too many rows for an inline.
        return changelist_link(PriceListItem, "prices on this list", price_list__id__exact=obj.pk) or "–"


@admin.register(PriceListItem)
class PriceListItemAdmin(admin.ModelAdmin):
    list_display = ("product", "price_list", "min_quantity", "unit_price", "currency", "updated_at")
    list_select_related = ("product", "price_list")
    list_filter = ("price_list", UpdatedWithinFilter)
    search_fields = ("product__sku", "product__description")
    autocomplete_fields = ("product",)
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="Currency", ordering="price_list__currency")
    def currency(self, obj: PriceListItem) -> str:
        return obj.price_list.currency


class ValidityFilter(admin.SimpleListFilter):
    title = "validity"
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [("current", "Valid today"), ("future", "Starts later"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "current":
            return queryset.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today), valid_from__lte=today)
        if self.value() == "future":
            return queryset.filter(valid_from__gt=today)
        if self.value() == "expired":
            return queryset.filter(valid_to__lt=today)
        return queryset


@admin.register(ContractPrice)
class ContractPriceAdmin(ExternalRefsMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.CONTRACT_PRICE
    list_display = ("product", "applies_to", "contract_reference", "min_quantity", "unit_price", "currency",
                    "valid_from", "valid_to")
    list_select_related = ("product", "customer", "customer_group")
    list_filter = (ValidityFilter, "currency", "customer_group", UpdatedWithinFilter)
    search_fields = ("product__sku", "customer__account_number", "customer__name", "customer_group__code",
                     "contract_reference")
    autocomplete_fields = ("customer", "product")
    readonly_fields = ("history", "external_refs", "created_at", "updated_at")

    @admin.display(description="For")
    def applies_to(self, obj: ContractPrice) -> str:
        if obj.customer_id:
            return str(obj.customer)
        return f"group: {obj.customer_group}" if obj.customer_group_id else "–"
