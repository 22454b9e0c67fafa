"""Admin for the governance registry: consumers and keys, the API catalog, subscriptions, rate plans, usage.

Keys are issued, rotated and revoked only through governance.services, from the actions here;
the raw key is shown once, in the message after issuing, and never stored. API versions move
through their lifecycle on the board's pages (/governance/), which call the same services; here
their documents and reports are read-only.
"""

from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.db import models
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from canonical.admin.common import BigTableAdmin, ReadOnlyTabularInline, action_confirmed, request_actor
from governance.models import (
    ApiKey,
    ApiProduct,
    ApiSubscription,
    ApiVersion,
    Consumer,
    EventContract,
    EventContractVersion,
    RatePlan,
    Review,
    SubscriptionStatus,
    Team,
    UsageCounter,
)
from governance.services import (
    GovernanceError,
    KeyNotRotatable,
    api_key_issue,
    api_key_revoke,
    api_key_rotate,
    consumer_create,
    subscription_approve,
    subscription_revoke,
)


class RevokeForm(forms.Form):
    note = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                           help_text="Kept in the audit trail with each revocation.")


class IssueKeyForm(forms.Form):
    name = forms.CharField(label="Key name", max_length=80, initial="default",
                           help_text="Tells this consumer's keys apart, e.g. 'production' or 'staging'.")
    expires_on = forms.DateField(label="Expires on", required=False, widget=AdminDateWidget,
                                 help_text="The key works until the start of this day (the hub's time zone). "
                                           "Empty: until it is revoked.")

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Choose a day after today: the key would not work at all.")
        return day

    def expires_at(self):
        day = self.cleaned_data["expires_on"]
        return None if day is None else timezone.make_aware(datetime.combine(day, time.min))


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "never"


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
    list_display = ("name", "system", "is_active", "contact_email", "rate_plan", "active_keys", "last_used",
                    "created_at")
    list_select_related = ("system", "rate_plan")
    list_filter = ("is_active", "system", "rate_plan")
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
        return ("name", "system", "contact_email", "description", "is_active", "rate_plan", "created_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = consumer_create(
            name=obj.name, system=obj.system, contact_email=obj.contact_email, actor=request_actor(request)
        )
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding, obj._state.db = False, created._state.db

    @admin.display(description="Active keys", ordering="active_key_count")
    def active_keys(self, obj: Consumer) -> int:
        return obj.active_key_count

    @admin.display(description="Last API call", ordering="last_key_use")
    def last_used(self, obj: Consumer):
        return obj.last_key_use

    @admin.action(description="Issue a new API key…", permissions=["change"])
    def issue_api_key(self, request, queryset):
        queryset = queryset.select_related("system")
        form, page = action_confirmed(
            self, request, queryset, form_class=IssueKeyForm, action="issue_api_key", title="Issue API keys",
            intro="Each consumer gets a new key, shown once on the next page. Its other keys keep working.",
            describe=lambda consumer: f"{consumer.name} ({consumer.system.code})"
                                      + ("" if consumer.is_active else ": disabled, it gets no key"),
            submit_label="Issue",
        )
        if page is not None:
            return page
        actor = request_actor(request)
        for consumer in queryset:
            if not consumer.is_active:
                self.message_user(request, f"{consumer.name} is disabled: enable it before issuing a key.",
                                  level=messages.ERROR)
                continue
            issued = api_key_issue(consumer=consumer, name=form.cleaned_data["name"], expires_at=form.expires_at(),
                                   actor=actor)
            self.message_user(
                request,
                f"New API key for {consumer.name}: {issued.raw_key} — copy it now, it is not shown again.",
                level=messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(KeyDisplayMixin, admin.ModelAdmin):
    list_display = ("key_label", "consumer", "name", "state", "created_at", "expires_at", "last_used_at",
                    "revoked_at", "rotated_from")
    list_select_related = ("consumer__system",)
    list_filter = (KeyStateFilter, "consumer__system")
    search_fields = ("prefix__exact", "consumer__name", "name")
    search_help_text = "Key prefix (the 8 characters after hub_), consumer or key name."
    fields = ("key_label", "consumer", "name", "state", "created_at", "expires_at", "last_used_at", "revoked_at",
              "rotated_from")
    readonly_fields = fields
    actions = ["rotate_keys", "revoke_keys"]

    def has_add_permission(self, request):
        # A key must be generated and hashed by api_key_issue: use the action on consumers.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: a key changes only by being revoked.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Revoke selected keys…", permissions=["change"])
    def revoke_keys(self, request, queryset):
        queryset = queryset.select_related("consumer")
        form, page = action_confirmed(
            self, request, queryset, form_class=RevokeForm, action="revoke_keys", title="Revoke API keys",
            submit_label="Revoke",
            intro="Each key stops working at once: its next call gets 401. A consumer with no other key is "
                  "cut off until it is issued a new one.",
            describe=lambda key: f"{self.key_label(key)} ({key.name}) of {key.consumer.name}: {key.state}, "
                                 f"last used {_when(key.last_used_at)}",
        )
        if page is not None:
            return page
        note = form.cleaned_data["note"].strip()
        actor = request_actor(request)
        revoked = already = 0
        for key in queryset:
            if key.revoked_at is not None:
                already += 1
                continue
            api_key_revoke(key=key, actor=actor, note=note)
            revoked += 1
        text = f"Revoked {revoked} key{'s' if revoked != 1 else ''}."
        if already:
            text += f" {already} already revoked, left as they were."
        self.message_user(request, text, level=messages.SUCCESS if revoked else messages.WARNING)

    @admin.action(description="Rotate selected keys (new key now, old key expires after 7 days)",
                  permissions=["change"])
    def rotate_keys(self, request, queryset):
        actor = request_actor(request)
        for key in queryset.select_related("consumer"):
            try:
                issued = api_key_rotate(key=key, actor=actor)
            except KeyNotRotatable as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
                continue
            old = ApiKey.objects.get(pk=key.pk)
            self.message_user(
                request,
                f"New API key for {key.consumer.name}: {issued.raw_key} — copy it now, it is not shown again. "
                f"The old key hub_{key.prefix}_… keeps working until {old.expires_at:%Y-%m-%d %H:%M %Z}.",
                level=messages.WARNING,
            )


# --- the API catalog ---------------------------------------------------------------------------


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "owner", "contact_name", "contact_email", "product_count")
    list_select_related = ("owner",)
    search_fields = ("name", "slug", "contact_email")
    prepopulated_fields = {"slug": ("name",)}
    raw_id_fields = ("owner",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(products_n=Count("products"))

    @admin.display(description="Products", ordering="products_n")
    def product_count(self, obj: Team) -> int:
        return obj.products_n


class ApiVersionInline(ReadOnlyTabularInline):
    model = ApiVersion
    fields = ("version", "status", "published_at", "deprecated_at", "sunset_at", "retired_at")
    ordering = ("-major", "-minor", "-patch")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("openapi", "compatibility_report", "style_findings")


@admin.register(ApiProduct)
class ApiProductAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "domain", "layer", "owner_team", "required_approvals",
                    "minimum_deprecation_notice_days", "requires_subscription_approval", "page")
    list_select_related = ("owner_team",)
    list_filter = ("layer", "domain", "owner_team", "requires_subscription_approval")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    search_fields = ("name", "slug", "description", "domain")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("owner_team",)
    raw_id_fields = ("system_of_record",)
    inlines = [ApiVersionInline]

    @admin.display(description="Board page")
    def page(self, obj: ApiProduct) -> str:
        return format_html('<a href="{}">open</a>', reverse("governance:product", args=[obj.slug]))


class ReviewInline(ReadOnlyTabularInline):
    model = Review
    fields = ("round", "reviewer", "decision", "comment", "at")
    select_related = ("reviewer",)


@admin.register(ApiVersion)
class ApiVersionAdmin(admin.ModelAdmin):
    list_display = ("product", "version", "status", "published_at", "deprecated_at", "sunset_at", "retired_at",
                    "page")
    list_select_related = ("product",)
    list_filter = ("status", "product")
    search_fields = ("product__name", "product__slug", "version")
    readonly_fields = ("product", "version", "major", "minor", "patch", "prerelease", "status", "compared_with",
                       "review_round", "blocked_from", "block_reason", "replacement", "created_by", "created_at",
                       "submitted_at", "published_at", "deprecated_at", "sunset_at", "retired_at",
                       "compatibility_report", "style_findings", "style_waivers", "openapi")
    fields = ("changelog", *readonly_fields)
    inlines = [ReviewInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer("openapi", "compatibility_report", "style_findings")
        return queryset

    def has_add_permission(self, request):
        # Versions arrive through the upload page, which checks them first.
        return False

    @admin.display(description="Board page")
    def page(self, obj: ApiVersion) -> str:
        return format_html('<a href="{}">open</a>', reverse("governance:version", args=[obj.product.slug,
                                                                                       obj.version]))


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("version", "round", "reviewer", "decision", "at")
    list_select_related = ("version__product", "reviewer")
    list_filter = ("decision",)
    search_fields = ("version__product__name", "version__version", "reviewer__username", "comment")
    readonly_fields = ("version", "round", "reviewer", "decision", "comment", "at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventContractVersionInline(ReadOnlyTabularInline):
    model = EventContractVersion
    fields = ("version", "created_at", "created_by", "changelog")
    select_related = ("created_by",)


@admin.register(EventContract)
class EventContractAdmin(admin.ModelAdmin):
    list_display = ("event_type", "aggregate_type", "compatibility", "transitive", "owner_team", "latest_version")
    list_select_related = ("owner_team",)
    list_filter = ("compatibility", "transitive", "owner_team")
    search_fields = ("event_type", "description")
    autocomplete_fields = ("owner_team",)
    inlines = [EventContractVersionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest=Max("versions__version"))

    @admin.display(description="Latest schema", ordering="latest")
    def latest_version(self, obj: EventContract):
        return obj.latest


# --- access: subscriptions, rate plans, usage --------------------------------------------------


@admin.register(RatePlan)
class RatePlanAdmin(admin.ModelAdmin):
    list_display = ("name", "burst", "per_minute", "per_day", "is_default")
    search_fields = ("name",)


@admin.register(ApiSubscription)
class ApiSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("consumer", "version", "status", "rate_plan", "requested_at", "decided_at", "decided_by")
    list_select_related = ("consumer", "version__product", "rate_plan", "decided_by")
    list_filter = ("status", "version__product")
    search_fields = ("consumer__name", "version__product__slug", "version__version")
    fields = ("consumer", "version", "status", "rate_plan", "note", "requested_at", "decided_at", "decided_by",
              "revoked_at")
    readonly_fields = ("consumer", "version", "status", "requested_at", "decided_at", "decided_by", "revoked_at")
    actions = ["approve", "revoke"]

    def has_add_permission(self, request):
        # Subscriptions are requested through the service (create_consumer --subscribe), which checks the lifecycle.
        return False

    @admin.action(description="Approve selected pending subscriptions", permissions=["change"])
    def approve(self, request, queryset):
        actor = request_actor(request)
        done = 0
        for subscription in queryset.filter(status=SubscriptionStatus.PENDING):
            try:
                subscription_approve(subscription=subscription, actor=actor)
                done += 1
            except GovernanceError as exc:
                self.message_user(request, f"{subscription}: {exc}", level=messages.ERROR)
        self.message_user(request, f"Approved {done} subscription{'s' if done != 1 else ''}.",
                          level=messages.SUCCESS if done else messages.WARNING)

    @admin.action(description="Revoke selected subscriptions…", permissions=["change"])
    def revoke(self, request, queryset):
        queryset = queryset.select_related("consumer", "version__product")
        form, page = action_confirmed(
            self, request, queryset, form_class=RevokeForm, action="revoke", title="Revoke subscriptions",
            submit_label="Revoke",
            intro="Each consumer's next call to that version gets 403 subscription-required.",
            describe=lambda subscription: f"{subscription.consumer.name} to {subscription.version}: "
                                          f"{subscription.get_status_display().lower()}",
        )
        if page is not None:
            return page
        note = form.cleaned_data["note"].strip()
        actor = request_actor(request)
        done = 0
        for subscription in queryset.exclude(status=SubscriptionStatus.REVOKED):
            subscription_revoke(subscription=subscription, actor=actor, note=note)
            done += 1
        self.message_user(request, f"Revoked {done} subscription{'s' if done != 1 else ''}.",
                          level=messages.SUCCESS if done else messages.WARNING)


@admin.register(UsageCounter)
class UsageCounterAdmin(BigTableAdmin):
    list_display = ("day", "consumer", "version", "status_class", "count", "last_called_at")
    list_select_related = ("consumer", "version__product")
    list_filter = ("status_class", "version__product")
    search_fields = ("consumer__name",)
    date_hierarchy = "day"
    readonly_fields = ("consumer", "version", "day", "status_class", "count", "last_called_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
