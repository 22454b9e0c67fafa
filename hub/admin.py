"""The admin site's branding, and the hub's own operational records."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.utils import timezone

from hub.models import WorkerHeartbeat

HUB_NAME = "Distribution Integration Hub"

admin.site.site_header = HUB_NAME
admin.site.site_title = HUB_NAME
admin.site.index_title = "Canonical data, partners and operations"
admin.site.site_url = "/"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """Written every minute by each django-q2 worker (hub.tasks.worker_heartbeat); read-only here."""

    list_display = ("name", "beat_at", "age", "is_fresh")
    search_fields = ("name",)
    ordering = ("-beat_at",)
    fields = ("name", "beat_at", "age", "is_fresh")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Age")
    def age(self, obj: WorkerHeartbeat) -> str:
        seconds = max(0, int((timezone.now() - obj.beat_at).total_seconds()))
        return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"

    @admin.display(description="Within the readiness window", boolean=True)
    def is_fresh(self, obj: WorkerHeartbeat) -> bool:
        return timezone.now() - obj.beat_at <= timedelta(seconds=settings.HUB_WORKER_HEARTBEAT_MAX_AGE)
