"""Building blocks shared by the canonical admins: list filters, big-table defaults, external refs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.http import urlencode

from canonical.admin.paginators import EstimatedCountPaginator
from canonical.context import Actor, new_correlation_id
from canonical.models import AuditEntry, BusinessEvent, EntityType, ExternalRef

# Which admin page shows the canonical record behind an ExternalRef of each entity type.
ENTITY_ADMIN = {
    EntityType.CUSTOMER: "canonical_customer",
    EntityType.CONTACT: "canonical_contact",
    EntityType.ADDRESS: "canonical_address",
    EntityType.PRODUCT: "canonical_product",
    EntityType.PRICE_LIST: "canonical_pricelist",
    EntityType.CONTRACT_PRICE: "canonical_contractprice",
    EntityType.LOCATION: "canonical_location",
    EntityType.ORDER: "canonical_order",
    EntityType.SHIPMENT: "canonical_shipment",
    EntityType.INVOICE: "canonical_invoice",
    EntityType.RETURN: "canonical_returnauthorization",
    EntityType.CREDIT_MEMO: "canonical_creditmemo",
    EntityType.PURCHASE_ORDER: "canonical_purchaseorder",
    EntityType.ADVANCE_SHIP_NOTICE: "canonical_advanceshipnotice",
}

EXTERNAL_REFS_SHOWN = 20

# The request a page is being rendered for. Display methods get only the object, and admin pages are
# rendered after the view returns, so hub.middleware.LinkPermissionsMiddleware sets it per request.
_viewer: ContextVar[HttpRequest | None] = ContextVar("admin_viewer", default=None)


@contextmanager
def links_for(request: HttpRequest) -> Iterator[None]:
    """Build the links rendered inside this block for the user of ``request``."""
    token = _viewer.set(request)
    try:
        yield
    finally:
        _viewer.reset(token)


def may_view(model: type[Model]) -> bool:
    """Whether the user the page is for may open the model's admin pages (the admin's own check).

    The user's permissions are loaded once and cached on it, so asking for every link costs no query.
    Outside a request (shell, a test calling a display method) there is nobody to ask for: links stay.
    """
    request = _viewer.get()
    if request is None:
        return True
    model_admin = admin.site._registry.get(model)
    return model_admin is not None and model_admin.has_view_or_change_permission(request)


def may_view_record(record: Model) -> bool:
    """Whether the user the page is for may open this record's admin page: as may_view, and the admin's
    check of the record itself (a queue scoped to teams lets each user open only its own team's rows)."""
    request = _viewer.get()
    if request is None:
        return True
    model_admin = admin.site._registry.get(type(record))
    return model_admin is not None and model_admin.has_view_or_change_permission(request, record)


def viewer_has_perm(permission: str) -> bool:
    """Whether the user the page is for holds ``permission`` (True outside a request, as may_view)."""
    request = _viewer.get()
    return request is None or request.user.has_perm(permission)


def request_actor(request) -> Actor:
    """The staff user behind an admin request, under the request's correlation id."""
    return Actor(user=request.user, correlation_id=getattr(request, "correlation_id", "") or new_correlation_id())


def admin_change_url(record: Model) -> str:
    opts = record._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])


def admin_changelist_url(model: type[Model], **params) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def entity_model(entity_type: str) -> type[Model] | None:
    """The model an entity type names, when it has an admin page (ENTITY_ADMIN)."""
    admin_name = ENTITY_ADMIN.get(entity_type)
    return None if admin_name is None else apps.get_model(*admin_name.split("_", 1))


def entity_change_url(entity_type: str, object_id) -> str | None:
    """The admin page of the record behind an entity type and id, if there is one the user may open."""
    model = entity_model(entity_type)
    if model is None or not may_view(model):
        return None
    admin_name = ENTITY_ADMIN[entity_type]
    try:
        return reverse(f"admin:{admin_name}_change", args=[object_id])
    except NoReverseMatch:
        return None


def viewable_change_url(record: Model | None) -> str:
    """The record's admin page for a template's link, or "" when there is no record or the user may
    not open its page (may_view_record): the template then shows the text without a link."""
    return admin_change_url(record) if record is not None and may_view_record(record) else ""


# What an entity's str() reads besides its own row, loaded with it when a page names many at once.
ENTITY_LABEL_RELATED = {EntityType.CONTRACT_PRICE: ("product", "customer", "customer_group")}


def entity_labels(references) -> dict[tuple[str, str], str]:
    """{(entity type, object id): the record's name} for (entity type, object id) pairs, as the admin
    names records ("SO-1001", "Acme Supply (C-100)"): one query per entity type, whatever the number
    of pairs. Types without an admin page or whose pages the user may not open (may_view), ids that
    are not numbers and records that no longer exist are left out."""
    wanted: dict[str, set[int]] = {}
    for entity_type, object_id in references:
        if entity_type in ENTITY_ADMIN and str(object_id).isdigit():
            wanted.setdefault(entity_type, set()).add(int(object_id))
    labels = {}
    for entity_type, ids in wanted.items():
        model = entity_model(entity_type)
        if not may_view(model):
            continue
        rows = model._default_manager.filter(pk__in=ids).select_related(*ENTITY_LABEL_RELATED.get(entity_type, ()))
        labels.update({(entity_type, str(row.pk)): str(row) for row in rows})
    return labels


# The most rows an intermediate page lists (the action still applies to every selected row).
LISTED_ON_CONFIRMATION = 100


def action_page(model_admin, request, queryset, *, form, action: str, title: str, intro: str, template: str,
                **extra) -> TemplateResponse:
    """An admin action's intermediate page (a template extending admin/hub/action_form.html): the
    selection, ``form`` and the way back, posting to the action again with ``apply``; ``extra`` goes
    to the template (what it lists of the selection)."""
    return TemplateResponse(request, template, {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "opts": model_admin.model._meta,
        "form": form,
        "action_name": action,
        "count": queryset.count(),
        "selected_ids": list(queryset.values_list("pk", flat=True)),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "form_url": request.get_full_path(),
        "media": model_admin.media + form.media,
        **extra,
    })


def action_confirmed(model_admin, request, queryset, *, form_class, action: str, title: str, intro: str,
                     describe, submit_label: str, back_url: str = ""):
    """An action that asks first: it shows what was selected (each row as ``describe`` puts it) with
    ``form_class``'s form. Returns (the valid form, None) once sent back with it, else (None, the page).
    ``back_url``: where "No, go back" leads (the model's list by default)."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        return form, None
    return None, action_page(model_admin, request, queryset, form=form, action=action, title=title, intro=intro,
                             template="admin/hub/action_confirm.html", submit_label=submit_label, back_url=back_url,
                             rows=[describe(row) for row in queryset[:LISTED_ON_CONFIRMATION]])


def done_and_skipped(done: list[str], skipped: list[str], *, verb: str, skipped_as: str = "skipped"):
    """The message after an action applied record by record: "2 cancelled (SO-1, SO-2), 1 skipped
    (SO-3: why)." and its level (success, warning when some were skipped, error when none was done)."""
    text = f"{len(done)} {verb}" + (f" ({', '.join(done)})" if done else "")
    if skipped:
        text += f", {len(skipped)} {skipped_as} ({'; '.join(skipped)})"
    level = messages.SUCCESS if not skipped else (messages.WARNING if done else messages.ERROR)
    return text + ".", level


def link(url: str, text) -> str:
    return format_html('<a href="{}">{}</a>', url, text)


def change_link(record: Model, text) -> str:
    """A link to the record's admin page, or its text alone when the user may not open that page."""
    return link(admin_change_url(record), text) if may_view(type(record)) else conditional_escape(text)


def changelist_link(model: type[Model], text, **params) -> str | None:
    """A link to the model's (filtered) admin list, or None when the user may not open it."""
    return link(admin_changelist_url(model, **params), text) if may_view(model) else None


def join_links(links) -> str:
    """The links joined by dots; None (a link the user may not follow) is left out."""
    shown = [item for item in links if item is not None]
    return format_html_join(" · ", "{}", ((item,) for item in shown)) if shown else "–"


class BigTableAdmin(admin.ModelAdmin):
    """Defaults for tables that grow to millions of rows: no COUNT(*) of the whole table, no facets."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50


class OwnedElsewhereMixin:
    """Records owned by a partner system or a workflow, not by a form: orders, invoices and credit
    memos (the ERP), shipments and their milestones (warehouses and carriers), purchase orders,
    acknowledgements and ship notices (the order-to-supplier flow and the supplier), returns (the
    return workflow), stock positions and reservations (the warehouse and the hub's allocation), and
    their lines. They change through the process APIs, the partners' messages and the workflows,
    which check the transitions, emit the events and write the audit trail. Their pages show them and
    never add, save or delete them, for any role. List actions that call those workflows (the
    invoices' "Dispute") still need, and keep, the model's change permission.
    """

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(admin.TabularInline):
    """Child rows shown on their parent's page. They change through services, not by hand here."""

    extra = 0
    can_delete = False
    show_change_link = True
    select_related: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.fields and not cls.readonly_fields:
            cls.readonly_fields = tuple(cls.fields)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.select_related) if self.select_related else queryset

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields or [f.name for f in self.model._meta.fields if f.name != "id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ExternalRefsMixin:
    """Read-only blocks for a canonical record's change page: its external references, and links to
    its business events and audit trail (the entity type doubles as aggregate and audit object type).
    """

    external_ref_entity: str

    @admin.display(description="History")
    def history(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "–"
        entity = str(self.external_ref_entity)
        return join_links([
            changelist_link(BusinessEvent, "business events", aggregate_type=entity, aggregate_id=obj.pk),
            changelist_link(AuditEntry, "audit trail", object_type=entity, object_id=obj.pk),
        ])

    @admin.display(description="External references")
    def external_refs(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "–"
        refs = list(
            ExternalRef.objects.filter(entity_type=self.external_ref_entity, object_id=obj.pk)
            .select_related("system")
            .order_by("system__code", "external_id")[: EXTERNAL_REFS_SHOWN + 1]
        )
        all_url = admin_changelist_url(ExternalRef, entity_type=self.external_ref_entity, object_id=obj.pk)
        if not may_view(ExternalRef):
            all_url = None
        if not refs:
            return format_html('None yet. <a href="{}">Search external references</a>', all_url) if all_url else "None yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            (
                (ref.system.code, ref.external_id, timezone.localtime(ref.updated_at).strftime("%Y-%m-%d %H:%M"))
                for ref in refs[:EXTERNAL_REFS_SHOWN]
            ),
        )
        table = format_html(
            '<table class="external-refs"><thead><tr><th>System</th><th>External id</th><th>Updated</th></tr>'
            '</thead><tbody>{}</tbody></table>',
            rows,
        )
        if all_url is None:
            return table
        more = "all of them" if len(refs) > EXTERNAL_REFS_SHOWN else "open the list"
        return format_html('{}<p><a href="{}">{}</a></p>', table, all_url, more)


class UpdatedWithinFilter(admin.SimpleListFilter):
    """"Updated: last hour / day / week" on an indexed timestamp. Subclass to use another field."""

    title = "updated"
    parameter_name = "updated_within"
    field_name = "updated_at"
    _windows = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}

    def lookups(self, request, model_admin):
        return [("hour", "Last hour"), ("day", "Last 24 hours"), ("week", "Last 7 days"), ("older", "Older than 7 days")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == "older":
            return queryset.filter(**{f"{self.field_name}__lt": timezone.now() - self._windows["week"]})
        window = self._windows.get(value)
        if window is None:
            return queryset
        return queryset.filter(**{f"{self.field_name}__gte": timezone.now() - window})


def updated_within_filter(field_name: str, title: str) -> type[UpdatedWithinFilter]:
    return type(
        f"{field_name.title().replace('_', '')}WithinFilter",
        (UpdatedWithinFilter,),
        {"field_name": field_name, "title": title, "parameter_name": f"{field_name}_within"},
    )
