"""The admin site's branding, and the hub's own operational records."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.utils import timezone

# The hub's extensions of other apps' admins (they call hub workflows, which those apps cannot import).
from hub import invoice_admin, order_admin  # noqa: F401
from hub.models import IdempotencyRecord, WorkerHeartbeat

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


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    """The Idempotency-Keys partners sent to the process APIs and the answers kept for them; read-only."""

    list_display = ("key", "scope", "method", "path", "status", "response_status", "created_at", "expires_at")
    list_filter = ("status", "method")
    search_fields = ("=key", "=scope", "correlation_id")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
