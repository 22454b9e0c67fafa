"""Admin for customer accounts, their groups, addresses and contacts."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets

from canonical.admin.common import (
    ExternalRefsMixin,
    UpdatedWithinFilter,
    change_link,
    changelist_link,
    join_links,
    request_actor,
)
from canonical.models import Address, Contact, Customer, CustomerGroup, DuplicateDismissal, EntityType, Order
from canonical.services.customers import (
    CREDIT_TERMS_FIELDS,
    CREDIT_TERMS_PERMISSION,
    customer_credit_terms_change,
)


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ("kind", "line1", "line2", "city", "region", "postal_code", "country", "is_default")


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("name", "email", "phone", "role", "is_primary")


class HierarchyFilter(admin.SimpleListFilter):
    title = "hierarchy"
    parameter_name = "hierarchy"

    def lookups(self, request, model_admin):
        return [("top", "Top-level accounts"), ("child", "Child accounts (ship-tos, branches)")]

    def queryset(self, request, queryset):
        if self.value() == "top":
            return queryset.filter(parent__isnull=True)
        if self.value() == "child":
            return queryset.filter(parent__isnull=False)
        return queryset


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("sold_to", "Sold-to"), ("bill_to", "Bill-to"), ("ship_to", "Ship-to")]

    def queryset(self, request, queryset):
        if self.value() in {"sold_to", "bill_to", "ship_to"}:
            return queryset.filter(**{f"is_{self.value()}": True})
        return queryset


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "customers", "updated_at")
    search_fields = ("code", "name")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="Customers")
    def customers(self, obj: CustomerGroup) -> str:
        return changelist_link(Customer, "accounts in this group", group__id__exact=obj.pk) or "–"


@admin.register(Customer)
class CustomerAdmin(ExternalRefsMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.CUSTOMER
    list_display = (
        "account_number", "name", "roles", "status", "credit_status", "credit_limit", "currency",
        "payment_terms", "parent", "group", "updated_at",
    )
    list_select_related = ("parent", "group")
    list_filter = ("status", "onboarding", "credit_status", RoleFilter, HierarchyFilter, "payment_terms", "group",
                   UpdatedWithinFilter)
    search_fields = ("account_number", "name", "normalised_name", "=tax_id")
    search_help_text = "Account number, name or exact tax id."
    autocomplete_fields = ("parent",)
    # Merging and onboarding go through their services (the data stewards' review, ERP activation).
    readonly_fields = ("normalised_name", "merged_into", "onboarding", "activation_requested_at", "activated_at",
                       "related", "history", "external_refs", "created_at", "updated_at")
    inlines = [AddressInline, ContactInline]
    fieldsets = (
        (None, {"fields": ("account_number", "name", "normalised_name", "status", "tax_id")}),
        ("Hierarchy and roles", {"fields": ("parent", "group", "is_sold_to", "is_bill_to", "is_ship_to",
                                            "merged_into")}),
        ("Credit and terms", {"fields": ("currency", "payment_terms", "credit_limit", "credit_status")}),
        ("Onboarding", {"fields": ("onboarding", "activation_requested_at", "activated_at")}),
        ("Links", {"fields": ("related", "history", "external_refs", "created_at", "updated_at")}),
    )

    # Who changes what: the account itself needs change_customer (data stewards); its credit terms
    # are finance's decision and need change_credit_terms. Either lets the user open the form; the
    # fields the user may not change are shown read-only.

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or request.user.has_perm(CREDIT_TERMS_PERMISSION)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm(CREDIT_TERMS_PERMISSION):
            readonly += CREDIT_TERMS_FIELDS
        if not super().has_change_permission(request, obj):
            readonly += [name for name in flatten_fieldsets(self.fieldsets)
                         if name not in readonly and name not in CREDIT_TERMS_FIELDS]
        return readonly

    def save_model(self, request, obj, form, change):
        terms = {name: getattr(obj, name) for name in CREDIT_TERMS_FIELDS if change and name in form.changed_data}
        # The rest of the form is saved as usual; the credit terms go through finance's service,
        # which audits them and emits customer.updated.
        for name in terms:
            setattr(obj, name, form.initial[name])
        super().save_model(request, obj, form, change)
        if terms:
            customer_credit_terms_change(customer=obj, terms=terms, actor=request_actor(request),
                                         note="changed in the admin")

    @admin.display(description="Roles")
    def roles(self, obj: Customer) -> str:
        names = [("sold-to", obj.is_sold_to), ("bill-to", obj.is_bill_to), ("ship-to", obj.is_ship_to)]
        return ", ".join(name for name, on in names if on)

    @admin.display(description="Related")
    def related(self, obj: Customer) -> str:
        if obj.pk is None:
            return "–"
        links = [
            changelist_link(Customer, "child accounts", parent__id__exact=obj.pk),
            changelist_link(Order, "orders", customer__id__exact=obj.pk),
        ]
        if obj.parent_id:
            links.insert(0, change_link(obj.parent, f"parent: {obj.parent}"))
        return join_links(links)


@admin.register(Address)
class AddressAdmin(ExternalRefsMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.ADDRESS
    list_display = ("customer", "kind", "line1", "city", "region", "postal_code", "country", "is_default")
    list_select_related = ("customer",)
    list_filter = ("kind", "is_default", "country")
    search_fields = ("customer__account_number", "customer__name", "line1", "city", "postal_code")
    autocomplete_fields = ("customer",)
    readonly_fields = ("history", "external_refs", "created_at", "updated_at")


@admin.register(Contact)
class ContactAdmin(ExternalRefsMixin, admin.ModelAdmin):
    external_ref_entity = EntityType.CONTACT
    list_display = ("name", "customer", "role", "email", "phone", "is_primary")
    list_select_related = ("customer",)
    list_filter = ("is_primary",)
    search_fields = ("name", "email", "customer__account_number", "customer__name")
    autocomplete_fields = ("customer",)
    readonly_fields = ("history", "external_refs", "created_at", "updated_at")


@admin.register(DuplicateDismissal)
class DuplicateDismissalAdmin(admin.ModelAdmin):
    """The data stewards' "not duplicates" decisions: a record of what was decided, not edited here."""

    list_display = ("customer_low", "customer_high", "reason", "decided_by", "decided_at")
    list_select_related = ("customer_low", "customer_high", "decided_by")
    search_fields = ("customer_low__account_number", "customer_high__account_number", "reason")
    readonly_fields = ("customer_low", "customer_high", "reason", "decided_by", "decided_at", "correlation_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
