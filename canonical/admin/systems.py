"""Admin for connected systems, the system-of-record table and external references."""

from __future__ import annotations

from django.contrib import admin

from canonical.admin.common import BigTableAdmin, UpdatedWithinFilter, entity_change_url, link
from canonical.models import ExternalRef, System, SystemOfRecord


class SystemOfRecordInline(admin.TabularInline):
    model = SystemOfRecord
    extra = 0
    fields = ("domain", "notes")
    verbose_name = "domain this system is the system of record for"
    verbose_name_plural = "system of record for"


@admin.register(System)
class SystemAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "is_active", "owned_domains", "updated_at")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("created_at", "updated_at")
    inlines = [SystemOfRecordInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("owned_domains")

    @admin.display(description="System of record for")
    def owned_domains(self, obj: System) -> str:
        return ", ".join(sorted(sor.get_domain_display() for sor in obj.owned_domains.all())) or "–"


@admin.register(SystemOfRecord)
class SystemOfRecordAdmin(admin.ModelAdmin):
    list_display = ("domain", "system", "notes", "updated_at")
    list_select_related = ("system",)
    list_filter = ("system",)
    search_fields = ("domain", "system__code", "system__name")
    readonly_fields = ("created_at", "updated_at")


@admin.register(ExternalRef)
class ExternalRefAdmin(BigTableAdmin):
    list_display = ("external_id", "system", "entity_type", "record", "updated_at")
    list_select_related = ("system",)
    list_filter = ("system", "entity_type", UpdatedWithinFilter)
    # Exact match: people paste whole ids, and a substring search would scan every reference.
    search_fields = ("external_id__exact",)
    search_help_text = "Exact external id."
    readonly_fields = ("record", "created_at", "updated_at")
    ordering = ("-id",)

    @admin.display(description="Canonical record")
    def record(self, obj: ExternalRef) -> str:
        if obj.pk is None:
            return "–"
        label = f"{obj.get_entity_type_display()} #{obj.object_id}"
        url = entity_change_url(obj.entity_type, obj.object_id)
        return link(url, label) if url else label
