"""Admin for connector configuration (connectors, mappings, subscriptions) and the read-only logs
of what the hub sent and received (deliveries, attempts, inbound messages and their revisions).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from canonical.admin.common import (
    ReadOnlyTabularInline,
    change_link,
    changelist_link,
    updated_within_filter,
)
from canonical.admin.events import ReadOnlyAdmin, pretty_json
from canonical.errors import CanonicalError
from connectors.admin.exceptions import request_actor
from connectors.config.schema import CONNECTOR_FIELDS
from connectors.kinds import connection_test, kind_choices
from connectors.models import (
    Connector,
    Delivery,
    DeliveryAttempt,
    InboundMessage,
    InboundMessageRevision,
    IntegrationException,
    Mapping,
    RateWindow,
    Subscription,
    Team,
)
from connectors.secrets import ENV_PREFIX, SecretError, secret_encrypt, secret_mask, secret_validate
from connectors.services.connectors import (
    connector_changes_record,
    connector_pause,
    connector_resume,
    connector_snapshot,
)
from connectors.services.deliveries import deliveries_replay
from connectors.services.exceptions import user_can_work

SECRET_FIELDS = ("secret_ref", "signing_secret_ref")


class SecretInput(forms.PasswordInput):
    def __init__(self):
        super().__init__(render_value=False, attrs={"autocomplete": "new-password", "size": 60})


SECRET_HELP = ("Type the credential to store it encrypted, or env:VARIABLE_NAME to read it from the environment. "
               "Leave empty to keep the current one.")


class ConnectorForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=kind_choices, help_text="The registered connector kind.")
    base_url = forms.URLField(required=False, max_length=500, assume_scheme="https",
                              help_text="The partner's endpoint; a subscription's path is appended to it.")
    new_secret = forms.CharField(required=False, strip=True, widget=SecretInput(), help_text=SECRET_HELP)
    clear_secret = forms.BooleanField(required=False, help_text="Remove the credential.")
    new_signing_secret = forms.CharField(required=False, strip=True, widget=SecretInput(), help_text=SECRET_HELP)
    clear_signing_secret = forms.BooleanField(required=False, help_text="Remove the signing secret.")

    class Meta:
        model = Connector
        fields = (*(name for name in CONNECTOR_FIELDS if name not in SECRET_FIELDS), "paused")

    def clean(self):
        cleaned = super().clean()
        for typed, clear, target in (("new_secret", "clear_secret", "secret_ref"),
                                     ("new_signing_secret", "clear_signing_secret", "signing_secret_ref")):
            value = cleaned.get(typed)
            if value and cleaned.get(clear):
                self.add_error(clear, "Either type a new value or clear it, not both.")
            elif value:
                try:
                    if value.startswith(ENV_PREFIX):
                        secret_validate(value)
                        setattr(self.instance, target, value)
                    else:
                        setattr(self.instance, target, secret_encrypt(value))
                except SecretError as exc:
                    self.add_error(typed, str(exc))
            elif cleaned.get(clear):
                setattr(self.instance, target, "")
        return cleaned


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ("name", "event_types", "ordered", "payload_format", "mapping", "path", "is_active")
    show_change_link = True


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    form = ConnectorForm
    list_display = ("code", "name", "system", "kind", "direction", "base_url", "enabled", "paused", "breaker",
                    "breaker_failures", "secret_masked")
    list_filter = ("kind", "direction", "enabled", "paused", "breaker_state", "system")
    list_select_related = ("system",)
    search_fields = ("code", "name", "base_url", "system__code")
    readonly_fields = ("secret_masked", "signing_secret_masked", "breaker", "breaker_failures",
                       "breaker_opened_at", "created_at", "updated_at")
    inlines = [SubscriptionInline]
    actions = ["test_connection", "pause", "resume"]
    fieldsets = (
        (None, {"fields": ("code", "name", "system", "kind", "direction", "base_url", "settings",
                           ("enabled", "paused"))}),
        ("Authentication", {"fields": (
            "auth_type", "auth_username", "auth_header_name", "secret_masked", "new_secret", "clear_secret",
            "signing_secret_masked", "new_signing_secret", "clear_signing_secret")}),
        ("Resilience", {"fields": (
            "timeout_seconds", ("max_attempts", "backoff_base_seconds", "backoff_cap_seconds", "backoff_jitter"),
            "rate_limit_per_second", ("breaker_failure_threshold", "breaker_cooldown_seconds"))}),
        ("Circuit breaker now", {"fields": ("breaker", "breaker_failures", "breaker_opened_at")}),
        ("Inbound", {"fields": ("verify_inbound_signature", "signature_tolerance_seconds", "message_id_header",
                                "message_id_field", "process_inbound_async")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Credential")
    def secret_masked(self, obj: Connector) -> str:
        return format_html('<span class="secret-masked">{}</span>', secret_mask(obj.secret_ref) or "none")

    @admin.display(description="Signing secret")
    def signing_secret_masked(self, obj: Connector) -> str:
        return format_html('<span class="secret-masked">{}</span>', secret_mask(obj.signing_secret_ref) or "none")

    @admin.display(description="Circuit breaker", ordering="breaker_state")
    def breaker(self, obj: Connector) -> str:
        return format_html('<span class="breaker breaker-{}">{}</span>', obj.breaker_state,
                           obj.get_breaker_state_display())

    def save_model(self, request, obj, form, change):
        before = connector_snapshot(Connector.objects.get(pk=obj.pk)) if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            connector_changes_record(connector=obj, actor=request_actor(request), before=before)

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request, queryset):
        for connector in queryset:
            result = connection_test(connector)
            status = f"HTTP {result.status_code}, " if result.status_code else ""
            self.message_user(request, f"{connector.code}: {'OK' if result.ok else 'failed'} ({status}"
                                       f"{result.duration_ms} ms): {result.detail}",
                              messages.SUCCESS if result.ok else messages.ERROR)

    @admin.action(description="Pause (deliveries wait)", permissions=["change"])
    def pause(self, request, queryset):
        actor = request_actor(request)
        changed = [c.code for c in queryset if connector_pause(connector=c, actor=actor)]
        self.message_user(request, f"{len(changed)} paused: {', '.join(changed) or 'none'}; "
                                   f"{queryset.count() - len(changed)} were paused already.")

    @admin.action(description="Resume", permissions=["change"])
    def resume(self, request, queryset):
        actor = request_actor(request)
        changed = [c.code for c in queryset if connector_resume(connector=c, actor=actor)]
        self.message_user(request, f"{len(changed)} resumed: {', '.join(changed) or 'none'}; "
                                   f"{queryset.count() - len(changed)} were not paused.")


@admin.register(Mapping)
class MappingAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "direction", "connector", "message_type", "is_active", "description",
                    "created_at")
    list_filter = ("direction", "is_active", "connector")
    list_select_related = ("connector",)
    search_fields = ("name", "description", "message_type")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("connector",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("name", "connector", "patterns", "ordered", "payload_format", "mapping", "is_active",
                    "deliveries_link")
    list_filter = ("is_active", "ordered", "payload_format", "connector")
    list_select_related = ("connector", "mapping")
    search_fields = ("name", "connector__code")
    autocomplete_fields = ("connector",)
    readonly_fields = ("created_at",)

    @admin.display(description="Event types")
    def patterns(self, obj: Subscription) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj: Subscription) -> str:
        return changelist_link(Delivery, "deliveries", subscription__id__exact=obj.pk) or "–"


class DeliveryAttemptInline(ReadOnlyTabularInline):
    model = DeliveryAttempt
    fields = ("number", "started_at", "duration_ms", "status_code", "outcome", "error", "worker",
              "correlation_id")
    show_change_link = False


class ReplayForm(forms.Form):
    since = forms.DateTimeField(required=False, help_text="Events recorded at or after (YYYY-MM-DD HH:MM).")
    until = forms.DateTimeField(required=False, help_text="Events recorded before.")
    event_types = forms.CharField(required=False, help_text="Comma-separated types or patterns, e.g. order.*")
    aggregate = forms.CharField(required=False, help_text="One record as type:id, e.g. order:1042.")
    subscription = forms.ModelChoiceField(queryset=Subscription.objects.select_related("connector"),
                                          required=False, help_text="Only this subscriber (else every match).")
    dry_run = forms.BooleanField(required=False, initial=True, help_text="Count only; send nothing.")

    def criteria(self) -> dict:
        data = self.cleaned_data
        types = [t.strip() for t in (data["event_types"] or "").split(",") if t.strip()]
        return {"since": data["since"], "until": data["until"], "event_types": types or None,
                "aggregate": data["aggregate"].strip() or None, "subscription": data["subscription"],
                "dry_run": data["dry_run"]}


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "event_type", "aggregate", "subscription", "status", "attempts", "next_attempt_at",
                    "last_status_code", "updated_at")
    list_select_related = ("event", "subscription__connector")
    list_filter = ("status", "subscription__connector", updated_within_filter("updated_at", "updated"))
    search_fields = ("event__aggregate_id__exact", "event__correlation_id__exact", "ordering_key__exact")
    search_help_text = "Exact aggregate id, correlation id or ordering key (type:id)."
    fields = ("subscription", "event_link", "status", "ordering_key", "attempts", "next_attempt_at", "lease_until",
              "leased_by", "last_status_code", "last_error", "delivered_at", "created_at", "updated_at",
              "exceptions")
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]

    def get_urls(self):
        return [
            path("replay/", self.admin_site.admin_view(self.replay_view), name="connectors_delivery_replay"),
            *super().get_urls(),
        ]

    def has_replay_permission(self, request) -> bool:
        # Replaying re-sends to partners: the integration queue's work, not every reader of the log.
        return user_can_work(request.user, Team.INTEGRATION)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_replay": self.has_replay_permission(request)}
        return super().changelist_view(request, extra_context)

    def replay_view(self, request):
        if not self.has_replay_permission(request):
            raise PermissionDenied
        form = ReplayForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = deliveries_replay(actor=request_actor(request), **form.criteria())
            except CanonicalError as exc:
                form.add_error(None, exc.detail)
            else:
                what = f"{result.events} event(s) match; {result.queued} deliveries "
                what += "would be queued" if result.dry_run else "queued again"
                if result.skipped_in_flight:
                    what += f"; {result.skipped_in_flight} in flight left alone"
                self.message_user(request, what + ".", messages.INFO if result.dry_run else messages.SUCCESS)
                if result.dry_run:
                    return HttpResponseRedirect(f"{request.path}?{request.POST.urlencode()}")
                return HttpResponseRedirect(reverse("admin:connectors_delivery_changelist"))
        elif request.method == "GET" and request.GET:
            form = ReplayForm(initial={**request.GET.dict(), "dry_run": False})
        context = {**self.admin_site.each_context(request), "title": "Replay events", "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/connectors/delivery/replay.html", context)

    @admin.display(description="Event type", ordering="event__event_type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.event_type

    @admin.display(description="Aggregate")
    def aggregate(self, obj: Delivery) -> str:
        return f"{obj.event.aggregate_type}:{obj.event.aggregate_id}#{obj.event.sequence}"

    @admin.display(description="Event")
    def event_link(self, obj: Delivery) -> str:
        return change_link(obj.event, f"{obj.event} ({obj.event.event_id})")

    @admin.display(description="Exceptions")
    def exceptions(self, obj: Delivery) -> str:
        return changelist_link(IntegrationException, "exceptions raised by this delivery",
                               delivery__id__exact=obj.pk, status="all") or "–"


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ("id", "delivery", "number", "started_at", "duration_ms", "status_code", "outcome", "worker")
    list_filter = ("outcome", updated_within_filter("started_at", "started"))
    search_fields = ("delivery__id__exact", "correlation_id__exact")
    search_help_text = "Exact delivery id or correlation id."
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]


class RevisionInline(ReadOnlyTabularInline):
    model = InboundMessageRevision
    fields = ("edited_at", "edited_by", "note", "diff_text")
    show_change_link = False

    @admin.display(description="Diff")
    def diff_text(self, obj: InboundMessageRevision) -> str:
        return format_html('<pre class="diff">{}</pre>', obj.diff)


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "received_at", "system", "message_type", "sender_message_id", "status",
                    "response_status", "authenticated", "correlation_id")
    list_select_related = ("system",)
    list_filter = ("status", "system", "authenticated", updated_within_filter("received_at", "received"))
    search_fields = ("sender_message_id__exact", "correlation_id__exact", "message_type__exact")
    search_help_text = "Exact sender's message id, correlation id or message type."
    fields = ("system", "connector", "message_type", "sender_message_id", "sender", "authenticated",
              "received_at", "content_type", "correlation_id", "status", "processed_at", "processing_attempts",
              "headers_json", "body_pretty", "errors_json", "response_status", "response_json", "duplicate_of",
              "exceptions")
    readonly_fields = fields
    inlines = [RevisionInline]

    @admin.display(description="Headers")
    def headers_json(self, obj: InboundMessage) -> str:
        return pretty_json(obj.headers)

    @admin.display(description="Body as received")
    def body_pretty(self, obj: InboundMessage) -> str:
        try:
            text = json.dumps(json.loads(obj.body), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to decode: shown as it came
            text = obj.body
        return format_html('<pre class="body">{}</pre>', text)

    @admin.display(description="Errors")
    def errors_json(self, obj: InboundMessage) -> str:
        return pretty_json(obj.errors) if obj.errors else "–"

    @admin.display(description="First response")
    def response_json(self, obj: InboundMessage) -> str:
        return pretty_json(obj.response_body)

    @admin.display(description="Exceptions")
    def exceptions(self, obj: InboundMessage) -> str:
        return changelist_link(IntegrationException, "exceptions raised by this message",
                               inbound_message__id__exact=obj.pk, status="all") or "–"


@admin.register(InboundMessageRevision)
class InboundMessageRevisionAdmin(ReadOnlyAdmin):
    list_display = ("id", "message", "edited_by", "edited_at", "note")
    list_select_related = ("edited_by",)
    readonly_fields = ("message", "edited_by", "edited_at", "note", "body", "diff")


@admin.register(RateWindow)
class RateWindowAdmin(ReadOnlyAdmin):
    list_display = ("connector", "slot", "count")
    list_filter = ("connector",)
    readonly_fields = ("connector", "slot", "count")
