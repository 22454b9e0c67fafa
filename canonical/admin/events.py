"""Read-only admin for the outbox of business events and the audit log: they are history, never edited."""

from __future__ import annotations

import json
import uuid

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q
from django.utils.html import format_html

from canonical.admin.common import (
    BigTableAdmin,
    entity_change_url,
    entity_labels,
    link,
    updated_within_filter,
)
from canonical.events import EVENT_TYPES
from canonical.models import AuditEntry, BusinessEvent


class ReadOnlyAdmin(BigTableAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def pretty_json(value) -> str:
    if value is None:
        return "–"
    return format_html('<pre class="json">{}</pre>', json.dumps(value, indent=2, sort_keys=True, default=str))


class EventFamilyFilter(admin.SimpleListFilter):
    """The part before the dot (order, shipment, …), from the event catalogue, not a DISTINCT scan."""

    title = "event family"
    parameter_name = "family"

    def lookups(self, request, model_admin):
        families = sorted({event_type.split(".", 1)[0] for event_type in EVENT_TYPES})
        return [(family, family.replace("_", " ")) for family in families]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(event_type__startswith=f"{self.value()}.")
        return queryset


class RelayFilter(admin.SimpleListFilter):
    title = "relay"
    parameter_name = "relay"

    def lookups(self, request, model_admin):
        return [("waiting", "Waiting for the relay"), ("relayed", "Relayed to deliveries")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(relayed_at__isnull=True)
        if self.value() == "relayed":
            return queryset.filter(relayed_at__isnull=False)
        return queryset


class EventTypeFilter(admin.SimpleListFilter):
    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        family = request.GET.get(EventFamilyFilter.parameter_name)
        types = sorted(t for t in EVENT_TYPES if not family or t.startswith(f"{family}."))
        return [(t, t) for t in types]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(event_type=self.value())
        return queryset


@admin.register(BusinessEvent)
class BusinessEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "event_type", "aggregate", "sequence", "source_system", "actor", "occurred_at",
                    "recorded_at", "relayed_at", "correlation_id")
    list_select_related = ("source_system",)
    list_filter = (EventFamilyFilter, EventTypeFilter, "source_system", RelayFilter,
                   updated_within_filter("recorded_at", "recorded"))
    search_fields = ("aggregate_id__exact", "correlation_id__exact", "causation_id__exact")
    search_help_text = "Exact aggregate id, correlation id, causation id or event id (UUID)."
    ordering = ("-id",)
    fields = ("event_id", "event_type", "schema_version", "aggregate", "sequence", "payload_json",
              "correlation_id", "causation_id", "source_system", "actor", "occurred_at", "recorded_at", "relayed_at")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        # An event id is a UUID: match it on its unique index instead of casting every row to text.
        try:
            event_id = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(Q(event_id=event_id)), False

    @admin.display(description="Aggregate", ordering="aggregate_type")
    def aggregate(self, obj: BusinessEvent) -> str:
        label = f"{obj.aggregate_type}:{obj.aggregate_id}"
        url = entity_change_url(obj.aggregate_type, obj.aggregate_id) if obj.aggregate_id.isdigit() else None
        return link(url, label) if url else label

    @admin.display(description="Payload")
    def payload_json(self, obj: BusinessEvent) -> str:
        return pretty_json(obj.payload)


class ActorKindFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor_kind"

    def lookups(self, request, model_admin):
        return [("user", "A person"), ("system", "A partner system"), ("hub", "The hub itself")]

    def queryset(self, request, queryset):
        if self.value() == "user":
            return queryset.filter(actor_user__isnull=False)
        if self.value() == "system":
            return queryset.filter(actor_user__isnull=True, actor_system__isnull=False)
        if self.value() == "hub":
            return queryset.filter(actor_user__isnull=True, actor_system__isnull=True)
        return queryset


class AuditChangeList(ChangeList):
    """The audit list's page, with the name of each record an entry is about, one query per type."""

    def get_results(self, request):
        super().get_results(request)
        labels = entity_labels((entry.object_type, entry.object_id) for entry in self.result_list)
        for entry in self.result_list:
            entry.object_label = labels.get((entry.object_type, entry.object_id))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "object_link", "note", "correlation_id")
    list_select_related = ("actor_user", "actor_system")
    list_filter = (ActorKindFilter, "actor_system", updated_within_filter("at", "when"))
    search_fields = ("action__exact", "object_id__exact", "correlation_id__exact", "actor_user__username__exact")
    search_help_text = "Exact action (e.g. api_key.revoked), object id, correlation id or username."
    fields = ("at", "actor", "action", "object_type", "object_id", "before_json", "after_json", "note",
              "correlation_id")
    readonly_fields = fields

    @admin.display(description="Actor")
    def actor(self, obj: AuditEntry) -> str:
        if obj.actor_user_id:
            return f"user:{obj.actor_user.get_username()}"
        if obj.actor_system_id:
            return f"system:{obj.actor_system.code}"
        return "hub"

    def get_changelist(self, request, **kwargs):
        return AuditChangeList

    @admin.display(description="Object", ordering="object_type")
    def object_link(self, obj: AuditEntry) -> str:
        # The list names each record ("order SO-1001") and links its page; a record the reader may
        # not open, one that is gone or a type without a page shows the type and id, unlinked.
        name = getattr(obj, "object_label", None)
        if not name:
            return f"{obj.object_type}:{obj.object_id}"
        url = entity_change_url(obj.object_type, obj.object_id)
        return link(url, f"{obj.object_type} {name}") if url else f"{obj.object_type} {name}"

    @admin.display(description="Before")
    def before_json(self, obj: AuditEntry) -> str:
        return pretty_json(obj.before)

    @admin.display(description="After")
    def after_json(self, obj: AuditEntry) -> str:
        return pretty_json(obj.after)
