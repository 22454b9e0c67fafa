"""The finance queue page: orders on credit hold, and the release/reject decisions on them.

Staff who may view orders see the queue; only users with ``canonical.release_credit_hold`` see
the decision forms, and only they may post them (anyone else gets 403). Every decision goes
through hub.workflows.credit (note required, audited) and ends with a message per order. A
rejection cancels the orders, so it is carried out only once confirmed on a page listing them.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from connectors.admin.exceptions import request_actor
from connectors.models import Category, IntegrationException
from hub.selectors.credit import (
    AGE_FILTERS,
    DEFAULT_SORT,
    SORTS,
    credit_by_customer,
    customers_on_hold,
    held_orders,
    hold_reason_of,
    hold_summary,
    recent_decisions,
    rejection_preview,
)
from hub.workflows.credit import (
    NOTE_MAX_LENGTH,
    RELEASE_PERMISSION,
    credit_holds_reject,
    credit_holds_release,
)

VIEW_PERMISSION = "canonical.view_order"
PAGE_SIZE = 25
MAX_ORDERS_PER_DECISION = 200


def _allowed(user) -> bool:
    return user.is_active and user.is_staff and (user.has_perm(VIEW_PERMISSION) or user.has_perm(RELEASE_PERMISSION))


def _staff_only(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not _allowed(request.user):
            raise PermissionDenied("The credit hold queue needs the 'canonical.view_order' permission.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


class QueueFilters(forms.Form):
    customer = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    order = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)  # one order's link
    age = forms.ChoiceField(required=False, choices=[("", "Any age"), *[(k, v[0]) for k, v in AGE_FILTERS.items()]])
    sort = forms.ChoiceField(required=False, choices=[(k, v[0]) for k, v in SORTS.items()])

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", "All customers"),
                                           *[(pk, f"{label} · {n}") for pk, label, n in customers]]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("release", "Release"), ("reject", "Reject")])
    orders = forms.TypedMultipleChoiceField(coerce=int, error_messages={"required": "Select at least one order."})
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, error_messages={
        "required": "A note is required: say why the orders are released or rejected."})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any ids: the service refuses, per order, those not on hold (someone may have decided them).
        self.fields["orders"].valid_value = lambda value: True

    def clean_orders(self):
        orders = self.cleaned_data["orders"]
        if len(orders) > MAX_ORDERS_PER_DECISION:
            raise forms.ValidationError(f"Decide at most {MAX_ORDERS_PER_DECISION} orders at a time.")
        return orders


@require_GET
@_staff_only
def credit_holds(request):
    customers = customers_on_hold()
    filters = QueueFilters(request.GET or None, customers=customers)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    sort = chosen.get("sort") or DEFAULT_SORT
    queryset = held_orders(customer=chosen.get("customer"), order=chosen.get("order"), age=chosen.get("age") or "",
                           sort=sort)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    orders = list(page.object_list)
    credit = credit_by_customer([order.customer for order in orders])
    now = timezone.now()
    rows = [{"order": order, "credit": credit[order.customer_id], "held_for": now - order.held_since,
             "held_because": hold_reason_of(order.hold_payload)}
            for order in orders]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "filtered": any(chosen.get(name) for name in ("customer", "order", "age")),
        "rows": rows,
        "page": page,
        "query": query.urlencode(),
        "summary": hold_summary(queryset),
        "decisions": recent_decisions(),
        "can_decide": request.user.has_perm(RELEASE_PERMISSION),
        "note_max_length": NOTE_MAX_LENGTH,
        "back": request.get_full_path(),
    }
    return render(request, "hub/credit_holds.html", context)


def credit_hold_queue_url(order_id: int) -> str:
    """The credit-hold queue showing one held order, scrolled to it."""
    return f"{reverse('credit-holds')}?{urlencode({'order': order_id})}#order-{order_id}"


@require_GET
@_staff_only
def credit_hold_for_exception(request, exception_id: int):
    """The credit-hold exception's work page (HUB_EXCEPTION_WORK_PAGES): the queue showing its order."""
    exception = get_object_or_404(IntegrationException, pk=exception_id, category=Category.CREDIT_HOLD)
    if exception.order_id is None:
        return redirect(reverse("credit-holds"))
    return redirect(credit_hold_queue_url(exception.order_id))


@require_POST
@_staff_only
def credit_holds_decide(request):
    if not request.user.has_perm(RELEASE_PERMISSION):
        raise PermissionDenied("Releasing or rejecting credit holds needs the 'canonical.release_credit_hold' "
                               "permission.")
    back = request.POST.get("next", "")
    queue = reverse("credit-holds")
    if not (back.startswith(queue) and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})):
        back = queue
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    if form.cleaned_data["decision"] == "reject" and request.POST.get("confirmed") != "yes":
        # Rejecting cancels the orders: show what would be cancelled and ask before doing it.
        return render(request, "hub/credit_holds_reject.html", {
            "preview": rejection_preview(order_ids=form.cleaned_data["orders"]),
            "note": form.cleaned_data["note"],
            "back": back,
        })
    decide = credit_holds_release if form.cleaned_data["decision"] == "release" else credit_holds_reject
    result = decide(orders=form.cleaned_data["orders"], actor=request_actor(request), note=form.cleaned_data["note"])
    level = messages.SUCCESS if not result.skipped else (messages.WARNING if result.done else messages.ERROR)
    messages.add_message(request, level, result.summary())
    return redirect(back)
