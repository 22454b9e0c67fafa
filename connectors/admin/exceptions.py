"""The exception queues staff work in: one changelist, scoped to the teams a user works, with
actions one by one (buttons on the change page) and in bulk (the changelist's action bar).

Each action calls a service in connectors.services.exceptions and ends with message_user saying
how many were done and how many were skipped and why. Nothing here edits a row directly.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from canonical.admin.common import (
    LISTED_ON_CONFIRMATION,
    BigTableAdmin,
    action_page,
    admin_change_url,
    change_link,
    request_actor,
    viewable_change_url,
)
from canonical.admin.events import pretty_json
from connectors.models import ACTIVE_EXCEPTION_STATUSES, Category, IntegrationException, Team
from connectors.selectors import (
    delivery_attempts,
    exception_audit_trail,
    exception_customers,
    exceptions_search,
    exceptions_visible_to,
    teams_worked_by,
)
from connectors.services import exceptions as services
from connectors.services.inbound import inbound_current_body
from connectors.services.supply_exceptions import supplier_date_misses_repromise

# Titles longer than this are cut in the list (the full title is the cell's tooltip and on the page).
TITLE_SHOWN = 140
# The most inbound bodies one "edit and reprocess" page offers for editing.
EDITABLE_AT_ONCE = 20


def _duration(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _work_page(exception: IntegrationException) -> tuple[str, str] | None:
    """(label, url) of the page where exceptions of this category are worked, if one is configured
    (settings.HUB_EXCEPTION_WORK_PAGES; such pages live in the hub, which this app cannot import)."""
    configured = getattr(settings, "HUB_EXCEPTION_WORK_PAGES", {}).get(exception.category)
    if not configured:
        return None
    label, url_name = configured
    try:
        return label, reverse(url_name, args=[exception.pk])
    except NoReverseMatch:
        return None


# --- list filters ---------------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    """Defaults to the work still to do (open or in progress)."""

    title = "status"
    parameter_name = "status"
    default = "active"

    def lookups(self, request, model_admin):
        return [
            ("active", "Open or in progress"), ("open", "Open"), ("in_progress", "In progress"),
            ("resolved", "Resolved"), ("ignored", "Ignored"), ("all", "All"),
        ]

    def choices(self, changelist):
        current = self.value() or self.default
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or self.default
        if value == "active":
            return queryset.filter(status__in=ACTIVE_EXCEPTION_STATUSES)
        if value == "all":
            return queryset
        return queryset.filter(status=value)


class TeamFilter(admin.SimpleListFilter):
    """Only the queues the user works."""

    title = "team queue"
    parameter_name = "team"

    def lookups(self, request, model_admin):
        labels = dict(Team.choices)
        return [(team, labels[team]) for team in teams_worked_by(request.user)]

    def queryset(self, request, queryset):
        return queryset.filter(team=self.value()) if self.value() else queryset


class CategoryFilter(admin.SimpleListFilter):
    """Only the categories the user's queues hold (one query), not every category of every team."""

    title = "category"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        labels = dict(Category.choices)
        present = set(exceptions_visible_to(request.user).order_by().values_list("category", flat=True).distinct())
        return [(value, label) for value, label in labels.items() if value in present]

    def queryset(self, request, queryset):
        return queryset.filter(category=self.value()) if self.value() else queryset


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    _windows = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}

    def lookups(self, request, model_admin):
        return [("hour", "Less than an hour"), ("day", "Less than a day"), ("week", "Less than a week"),
                ("older", "Older than a week")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "older":
            return queryset.filter(first_seen_at__lt=now - self._windows["week"])
        if self.value() in self._windows:
            return queryset.filter(first_seen_at__gte=now - self._windows[self.value()])
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Within SLA")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(status__in=ACTIVE_EXCEPTION_STATUSES, sla_due_at__lt=now)
        if self.value() == "no":
            return queryset.exclude(status__in=ACTIVE_EXCEPTION_STATUSES, sla_due_at__lt=now)
        return queryset


class CustomerFilter(admin.SimpleListFilter):
    """The customers with most exceptions in the user's queues, plus the one asked for by id
    (links from a customer's page), so a long customer table is never listed.
    """

    title = "customer"
    parameter_name = "customer"

    def lookups(self, request, model_admin):
        choices = exception_customers(queryset=exceptions_visible_to(request.user))
        value = self.value()
        if value and value.isdigit() and int(value) not in {pk for pk, _ in choices}:
            choices.append((int(value), f"customer #{value}"))
        return [(str(pk), label) for pk, label in choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(customer_id=int(value))
        return queryset


# --- intermediate forms ---------------------------------------------------------------------


class ResolveForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
                           help_text="What was done, so the next person understands it.")


class RepromiseForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), required=False,
                           help_text="Optional: what the customers were told, or anything else to keep.")


class IgnoreForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
                             help_text="Why nothing needs to be done.")


class AssignTeamForm(forms.Form):
    team = forms.ChoiceField(choices=Team.choices, help_text="The exceptions leave your queue, unassigned.")


def _editable_body(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to decode: edited as it came
        return body


def edit_payload_form(exceptions: list[IntegrationException], data=None) -> forms.Form:
    fields: dict[str, forms.Field] = {}
    for exception in exceptions:
        fields[f"body_{exception.pk}"] = forms.CharField(
            label=f"#{exception.pk} {exception.inbound_message.message_type} "
                  f"(message {exception.inbound_message_id})",
            initial=_editable_body(inbound_current_body(exception.inbound_message)),
            strip=False,
            widget=forms.Textarea(attrs={"rows": 18, "cols": 100, "class": "vLargeTextField json-body",
                                         "spellcheck": "false"}),
        )
    fields["note"] = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 100}),
                                     help_text="Why the body was changed (kept with the diff).")
    return type("EditPayloadForm", (forms.Form,), fields)(data)


# --- the queue ------------------------------------------------------------------------------


@admin.register(IntegrationException)
class IntegrationExceptionAdmin(BigTableAdmin):
    # Most telling first. Eight columns: the team queue and connector sit under the title, the occurrences under the age, so
    # the list fits a 1,280 px window without scrolling sideways (the team and connector filters stay).
    list_display = ("id", "severity_badge", "sla_due", "summary", "status", "assignee", "age", "records")
    list_display_links = ("id", "summary")
    list_select_related = ("assignee", "connector", "customer", "order", "shipment", "invoice",
                           "purchase_order", "supplier")
    list_filter = (StatusFilter, TeamFilter, CategoryFilter, "severity", AgeFilter, OverdueFilter,
                   ("connector", admin.RelatedOnlyFieldListFilter), CustomerFilter)
    search_fields = ("title",)
    search_help_text = ("Order, invoice, shipment or PO number, customer account or name, a partner's external "
                        "id, correlation id, exception number, or words of the title.")
    actions = ["retry", "replay", "edit_and_reprocess", "repromise", "resolve", "ignore", "assign_to_me",
               "assign_to_team", "reopen"]
    fieldsets = (
        ("Exception", {"fields": (
            "title", ("status", "severity", "category"), ("team", "assignee"), "occurrences",
            ("first_seen_at", "last_seen_at"), "sla_due", "connector", "correlation_id", "workflow_step",
        )}),
        ("Business records", {"fields": ("records",)}),
        ("What happened", {"fields": ("detail", "context_json")}),
        ("Source", {"fields": ("source",)}),
        ("Resolution", {"fields": ("resolved_at", "resolved_by", "resolution_note")}),
        ("Audit trail", {"fields": ("audit_trail",)}),
    )
    readonly_fields = ("title", "status", "severity", "category", "team", "assignee", "occurrences",
                       "first_seen_at", "last_seen_at", "sla_due", "connector", "correlation_id",
                       "workflow_step", "records", "detail", "context_json", "source", "resolved_at",
                       "resolved_by", "resolution_note", "audit_trail")
    action_template = "admin/connectors/integrationexception/action_form.html"

    # Scoping: a user sees and works only the team queues they hold work_<team>_queue for.

    def get_queryset(self, request):
        return exceptions_visible_to(request.user, super().get_queryset(request))

    def has_view_permission(self, request, obj=None):
        teams = teams_worked_by(request.user)
        return obj.team in teams if obj is not None else bool(teams)

    def has_work_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Changes go through the actions (services, audit), never through the form.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # Retry, replay and edit act on a delivery or an inbound message, whose failures are the
    # integration team's (connectors.services.deliveries, .inbound): offered to those who work its
    # queue; finance, operations, the stewards and supplier management never get such an exception.
    _SOURCE_ACTIONS = ("retry", "replay", "edit_and_reprocess")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if Team.INTEGRATION not in teams_worked_by(request.user):
            for name in self._SOURCE_ACTIONS:
                actions.pop(name, None)
        return actions

    def get_search_results(self, request, queryset, search_term):
        return exceptions_search(queryset=queryset, term=search_term), False

    # Columns.

    def changelist_view(self, request, extra_context=None):
        # The queue is a work list: it takes the width the app list would (Home and the breadcrumbs remain).
        return super().changelist_view(request, {**(extra_context or {}), "is_nav_sidebar_enabled": False})

    @admin.display(description="Age", ordering="-first_seen_at")
    def age(self, obj: IntegrationException) -> str:
        age = _duration(timezone.now() - obj.first_seen_at)
        if obj.occurrences <= 1:
            return age
        return format_html('{}<span class="seen" title="seen {} times, last at {}">seen {}×</span>', age,
                           obj.occurrences, timezone.localtime(obj.last_seen_at).strftime("%Y-%m-%d %H:%M"),
                           obj.occurrences)

    @admin.display(description="SLA due", ordering="sla_due_at")
    def sla_due(self, obj: IntegrationException) -> str:
        local = timezone.localtime(obj.sla_due_at).strftime("%Y-%m-%d %H:%M")
        if obj.status not in ACTIVE_EXCEPTION_STATUSES:
            return local
        left = obj.sla_due_at - timezone.now()
        if left.total_seconds() < 0:
            return format_html('<span class="sla-overdue" title="{}">overdue {}</span>', local, _duration(left))
        return format_html('<span class="sla-ok" title="{}">in {}</span>', local, _duration(left))

    @admin.display(description="Severity", ordering="severity")
    def severity_badge(self, obj: IntegrationException) -> str:
        return format_html('<span class="severity severity-{}">{}</span>', obj.severity, obj.get_severity_display())

    @admin.display(description="Exception", ordering="category")
    def summary(self, obj: IntegrationException) -> str:
        title = obj.title if len(obj.title) <= TITLE_SHOWN else obj.title[: TITLE_SHOWN - 1] + "…"
        where = f"{obj.get_team_display()} queue" + (f" · {obj.connector.code}" if obj.connector_id else "")
        return format_html('<span class="category">{}</span><span class="title" title="{}">{}</span>'
                           '<span class="where">{}</span>', obj.get_category_display(), obj.title, title, where)

    @admin.display(description="Business records")
    def records(self, obj: IntegrationException) -> str:
        links = []
        for attribute, label in (("order", "order"), ("customer", "customer"), ("shipment", "shipment"),
                                 ("invoice", "invoice"), ("purchase_order", "PO"), ("supplier", "supplier")):
            if getattr(obj, f"{attribute}_id"):
                record = getattr(obj, attribute)
                text = getattr(record, "number", None) or getattr(record, "account_number", None) or record
                links.append(change_link(record, f"{label} {text}"))
        return format_html_join(mark_safe("<br>"), "{}", ((item,) for item in links)) if links else "–"

    @admin.display(description="Context")
    def context_json(self, obj: IntegrationException) -> str:
        return pretty_json(obj.context) if obj.context else "–"

    @admin.display(description="Source")
    def source(self, obj: IntegrationException) -> str:
        if not (obj.delivery_id or obj.inbound_message_id or obj.workflow_step):
            return "–"
        delivery = obj.delivery
        message = obj.inbound_message
        return render_to_string("admin/connectors/integrationexception/_source.html", {
            "exception": obj,
            "delivery": delivery,
            "delivery_url": viewable_change_url(delivery),
            "event_url": viewable_change_url(delivery.event) if delivery else "",
            "attempts": delivery_attempts(delivery=delivery) if delivery else [],
            "message": message,
            "message_url": viewable_change_url(message),
            "message_body": _editable_body(message.body) if message else "",
            "message_errors": json.dumps(message.errors, indent=2, default=str) if message and message.errors
            else "",
            "revisions": list(message.revisions.select_related("edited_by")) if message else [],
        })

    @admin.display(description="Who did what")
    def audit_trail(self, obj: IntegrationException) -> str:
        return render_to_string("admin/connectors/integrationexception/_audit.html",
                                {"entries": exception_audit_trail(exception=obj)})

    # One by one: the change page's buttons post here and come back to the page.

    def get_urls(self):
        opts = self.model._meta
        return [
            path("<path:object_id>/act/", self.admin_site.admin_view(self.object_action_view),
                 name=f"{opts.app_label}_{opts.model_name}_act"),
            *super().get_urls(),
        ]

    def object_action_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        exception = self.get_object(request, unquote(object_id))
        if exception is None:
            raise Http404("No such exception in your queues.")
        if not self.has_work_permission(request, exception):
            raise PermissionDenied
        name = request.POST.get("action", "")
        actions = self.get_actions(request)
        if name not in actions:
            self.message_user(request, f"Unknown action '{name}'.", messages.ERROR)
        else:
            response = actions[name][0](self, request, self.get_queryset(request).filter(pk=exception.pk))
            if response is not None:
                return response
        return HttpResponseRedirect(admin_change_url(exception))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        exception = self.get_object(request, unquote(object_id))
        if exception is not None and self.has_work_permission(request, exception):
            extra_context["exception_actions"] = self._applicable_actions(request, exception)
            opts = self.model._meta
            extra_context["act_url"] = reverse(f"admin:{opts.app_label}_{opts.model_name}_act",
                                               args=[exception.pk])
            extra_context["work_page"] = _work_page(exception)
            extra_context["decided_elsewhere"] = services.DECIDED_ELSEWHERE.get(exception.category, "")
        return super().change_view(request, object_id, form_url, extra_context)

    def _applicable_actions(self, request, exception: IntegrationException) -> list[tuple[str, str]]:
        active = exception.status in ACTIVE_EXCEPTION_STATUSES
        applicable = {
            "retry": active and bool(exception.delivery_id or exception.inbound_message_id),
            "replay": bool(exception.delivery_id),
            "edit_and_reprocess": active and bool(exception.inbound_message_id),
            "repromise": active and exception.category == Category.SUPPLIER_DATE_MISS,
            # Closing by hand would skip the decision these categories have; their work page makes it.
            "resolve": active and exception.category not in services.DECIDED_ELSEWHERE,
            "ignore": active and exception.category not in services.DECIDED_ELSEWHERE,
            "assign_to_me": active and exception.assignee_id != request.user.pk,
            "assign_to_team": active,
            "reopen": not active,
        }
        actions = self.get_actions(request)
        return [(name, actions[name][2]) for name, ok in applicable.items() if ok and name in actions]

    # Helpers shared by the actions.

    def _report(self, request, result: services.BulkResult, verb: str, hidden: list[int] | None = None) -> None:
        result.skipped.extend((pk, "not in your queues") for pk in hidden or [])
        level = messages.SUCCESS if not result.skipped else (messages.WARNING if result.done else messages.ERROR)
        self.message_user(request, result.summary(verb), level)

    def _hidden(self, request, queryset) -> list[int]:
        """Selected ids the user may not work (or that are gone): reported, never acted on."""
        requested = {int(value) for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME) if value.isdigit()}
        return sorted(requested - set(queryset.values_list("pk", flat=True)))

    def _scoped(self, request, queryset):
        if not self.has_work_permission(request):
            raise PermissionDenied
        return exceptions_visible_to(request.user, queryset)

    def _confirm(self, request, queryset, *, action: str, title: str, intro: str, form: forms.Form):
        return action_page(
            self, request, queryset, form=form, action=action, title=title, intro=intro, template=self.action_template,
            exceptions=list(queryset.select_related("order", "customer")[:LISTED_ON_CONFIRMATION]),
            hidden=self._hidden(request, queryset),
        )

    def _nothing_visible(self, request, queryset, verb: str) -> bool:
        if queryset.exists():
            return False
        self._report(request, services.BulkResult(), verb, self._hidden(request, queryset))
        return True

    def _decided_elsewhere(self, request, queryset, verb: str) -> bool:
        """True (and reported) when every selected exception has its decision on a page of its own:
        there is nothing to ask a note for."""
        if queryset.exclude(category__in=services.DECIDED_ELSEWHERE).exists():
            return False
        result = services.BulkResult(skipped=[(pk, services.DECIDED_ELSEWHERE[category]) for pk, category
                                              in queryset.order_by("pk").values_list("pk", "category")])
        self._report(request, result, verb, self._hidden(request, queryset))
        return True

    def _asking(self, request) -> bool:
        """True on the first post (show the form); False when the intermediate page was submitted."""
        return "apply" not in request.POST

    # The actions.

    @admin.action(description="Retry (deliver or process again)", permissions=["work"])
    def retry(self, request, queryset):
        hidden = self._hidden(request, queryset)
        result = services.exceptions_retry(exceptions=self._scoped(request, queryset), actor=request_actor(request))
        self._report(request, result, "queued for retry", hidden)

    @admin.action(description="Replay the events to the subscriber", permissions=["work"])
    def replay(self, request, queryset):
        hidden = self._hidden(request, queryset)
        result = services.exceptions_replay(exceptions=self._scoped(request, queryset), actor=request_actor(request))
        self._report(request, result, "replayed", hidden)

    @admin.action(description="Edit the inbound payload and reprocess", permissions=["work"])
    def edit_and_reprocess(self, request, queryset):
        queryset = self._scoped(request, queryset)
        editable = list(
            queryset.filter(inbound_message__isnull=False, status__in=ACTIVE_EXCEPTION_STATUSES)
            .select_related("inbound_message").order_by("pk")[:EDITABLE_AT_ONCE]
        )
        if not editable:
            self.message_user(request, "None of the selected exceptions is an open one about an inbound message.",
                              messages.ERROR)
            return None
        form = edit_payload_form(editable, None if self._asking(request) else request.POST)
        if self._asking(request) or not form.is_valid():
            return self._confirm(
                request, queryset.filter(pk__in=[e.pk for e in editable]), action="edit_and_reprocess",
                title="Edit the inbound payload and reprocess",
                intro="Correct the body as the partner should have sent it. The original is kept; the change "
                      "is stored as a revision with its diff, and the message is processed again.",
                form=form,
            )
        actor = request_actor(request)
        note = form.cleaned_data["note"]
        result = services.exceptions_bulk(
            exceptions=[e.pk for e in editable],
            action=lambda pk: services.exception_reprocess_with_edit(
                exception=pk, actor=actor, body=form.cleaned_data[f"body_{pk}"], note=note),
        )
        self._report(request, result, "reprocessed")
        return None

    @admin.action(description="Re-promise the customers to the supplier's dates", permissions=["work"])
    def repromise(self, request, queryset):
        queryset = self._scoped(request, queryset)
        if self._nothing_visible(request, queryset, "re-promised"):
            return None
        form = RepromiseForm(None if self._asking(request) else request.POST)
        if self._asking(request) or not form.is_valid():
            return self._confirm(
                request, queryset, action="repromise", title="Re-promise the customers to the supplier's dates",
                intro="The open customer order lines each supplier date miss puts at risk are promised for the "
                "supplier's confirmed date plus handling days (only ever later; each order changed tells its "
                "subscribers, order.updated), and the exception is resolved with a note listing what moved.",
                form=form,
            )
        result = supplier_date_misses_repromise(exceptions=queryset, actor=request_actor(request),
                                                note=form.cleaned_data["note"])
        self._report(request, result, "re-promised and resolved")
        return None

    @admin.action(description="Resolve with a note", permissions=["work"])
    def resolve(self, request, queryset):
        queryset = self._scoped(request, queryset)
        if self._nothing_visible(request, queryset, "resolved") or self._decided_elsewhere(request, queryset,
                                                                                           "resolved"):
            return None
        form = ResolveForm(None if self._asking(request) else request.POST)
        if self._asking(request) or not form.is_valid():
            return self._confirm(request, queryset, action="resolve", title="Resolve exceptions",
                                 intro="Say what was done; the note is kept with each exception.", form=form)
        result = services.exceptions_resolve(exceptions=queryset, actor=request_actor(request),
                                             note=form.cleaned_data["note"])
        self._report(request, result, "resolved")
        return None

    @admin.action(description="Ignore with a reason", permissions=["work"])
    def ignore(self, request, queryset):
        queryset = self._scoped(request, queryset)
        if self._nothing_visible(request, queryset, "ignored") or self._decided_elsewhere(request, queryset,
                                                                                          "ignored"):
            return None
        form = IgnoreForm(None if self._asking(request) else request.POST)
        if self._asking(request) or not form.is_valid():
            return self._confirm(request, queryset, action="ignore", title="Ignore exceptions",
                                 intro="Say why nothing needs to be done; the reason is kept with each exception.",
                                 form=form)
        result = services.exceptions_ignore(exceptions=queryset, actor=request_actor(request),
                                            reason=form.cleaned_data["reason"])
        self._report(request, result, "ignored")
        return None

    @admin.action(description="Assign to me", permissions=["work"])
    def assign_to_me(self, request, queryset):
        hidden = self._hidden(request, queryset)
        result = services.exceptions_assign(exceptions=self._scoped(request, queryset),
                                            actor=request_actor(request), user=request.user)
        self._report(request, result, "assigned to you", hidden)

    @admin.action(description="Assign to a team", permissions=["work"])
    def assign_to_team(self, request, queryset):
        queryset = self._scoped(request, queryset)
        if self._nothing_visible(request, queryset, "moved"):
            return None
        form = AssignTeamForm(None if self._asking(request) else request.POST)
        if self._asking(request) or not form.is_valid():
            return self._confirm(request, queryset, action="assign_to_team", title="Assign to a team",
                                 intro="Hand the exceptions to another team's queue.", form=form)
        result = services.exceptions_assign(exceptions=queryset, actor=request_actor(request),
                                            team=form.cleaned_data["team"])
        self._report(request, result, f"moved to the {dict(Team.choices)[form.cleaned_data['team']]} queue")
        return None

    @admin.action(description="Reopen", permissions=["work"])
    def reopen(self, request, queryset):
        hidden = self._hidden(request, queryset)
        result = services.exceptions_reopen(exceptions=self._scoped(request, queryset),
                                            actor=request_actor(request))
        self._report(request, result, "reopened", hidden)
