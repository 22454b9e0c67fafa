"""Admin for partner applications (consumers) and their API keys.

Keys are issued and revoked only through governance.services, from the actions here;
the raw key is shown once, in the message after issuing, and never stored.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Max, Q
from django.utils import timezone

from canonical.context import Actor, new_correlation_id
from governance.models import ApiKey, Consumer
from governance.services import api_key_issue, api_key_revoke, consumer_create


def acting(request) -> Actor:
    return Actor(user=request.user, correlation_id=getattr(request, "correlation_id", None) or new_correlation_id())


class KeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now, revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class KeyDisplayMixin:
    @admin.display(description="Key")
    def key_label(self, obj: ApiKey) -> str:
        return f"hub_{obj.prefix}_…" if obj.prefix else "–"

    @admin.display(description="State")
    def state(self, obj: ApiKey) -> str:
        return obj.state


class ApiKeyInline(KeyDisplayMixin, admin.TabularInline):
    model = ApiKey
    fields = ("key_label", "name", "state", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "API keys (issue new ones with the “Issue a new API key” action)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Consumer)
class ConsumerAdmin(admin.ModelAdmin):
    list_display = ("name", "system", "is_active", "contact_email", "active_keys", "last_used", "created_at")
    list_select_related = ("system",)
    list_filter = ("is_active", "system")
    search_fields = ("name", "system__code", "contact_email")
    readonly_fields = ("created_at",)
    inlines = [ApiKeyInline]
    actions = ["issue_api_key"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            active_key_count=Count("keys", filter=Q(keys__revoked_at__isnull=True)),
            last_key_use=Max("keys__last_used_at"),
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            # What consumer_create takes; the rest is edited once the consumer exists.
            return ("name", "system", "contact_email")
        return ("name", "system", "contact_email", "description", "is_active", "created_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = consumer_create(
            name=obj.name, system=obj.system, contact_email=obj.contact_email, actor=acting(request)
        )
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding, obj._state.db = False, created._state.db

    @admin.display(description="Active keys", ordering="active_key_count")
    def active_keys(self, obj: Consumer) -> int:
        return obj.active_key_count

    @admin.display(description="Last API call", ordering="last_key_use")
    def last_used(self, obj: Consumer):
        return obj.last_key_use

    @admin.action(description="Issue a new API key", permissions=["change"])
    def issue_api_key(self, request, queryset):
        actor = acting(request)
        for consumer in queryset.select_related("system"):
            if not consumer.is_active:
                self.message_user(request, f"{consumer.name} is disabled: enable it before issuing a key.",
                                  level=messages.ERROR)
                continue
            issued = api_key_issue(consumer=consumer, actor=actor)
            self.message_user(
                request,
                f"New API key for {consumer.name}: {issued.raw_key} — copy it now, it is not shown again.",
                level=messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(KeyDisplayMixin, admin.ModelAdmin):
    list_display = ("key_label", "consumer", "name", "state", "created_at", "expires_at", "last_used_at",
                    "revoked_at")
    list_select_related = ("consumer__system",)
    list_filter = (KeyStateFilter, "consumer__system")
    search_fields = ("prefix__exact", "consumer__name", "name")
    search_help_text = "Key prefix (the 8 characters after hub_), consumer or key name."
    fields = ("key_label", "consumer", "name", "state", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        # A key must be generated and hashed by api_key_issue: use the action on consumers.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: a key changes only by being revoked.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        actor = acting(request)
        revoked = already = 0
        for key in queryset:
            if key.revoked_at is not None:
                already += 1
                continue
            api_key_revoke(key=key, actor=actor, note="revoked in the admin")
            revoked += 1
        text = f"Revoked {revoked} key{'s' if revoked != 1 else ''}."
        if already:
            text += f" {already} already revoked, left as they were."
        self.message_user(request, text, level=messages.SUCCESS if revoked else messages.WARNING)
