"""The data stewards' duplicate reviews: the open ones, one review (the account beside its likely
duplicates, with the score and reasons of each), the merge (confirmed on a page that says what
moves) and the dismissal. Only users who work the data stewardship queue see or use them.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from canonical.admin.common import viewable_change_url
from canonical.errors import CanonicalError
from canonical.models import Customer
from canonical.services.customer_merge import describe_counts
from connectors.admin.exceptions import request_actor
from connectors.models import ACTIVE_EXCEPTION_STATUSES, Category, IntegrationException, Team
from connectors.selectors import exception_audit_trail
from connectors.services.exceptions import user_can_work
from hub.selectors.duplicates import (
    REVIEWS_SHOWN,
    duplicate_review,
    duplicate_reviews_open,
    merge_preview,
)
from hub.workflows.onboarding import (
    NOTE_MAX_LENGTH,
    account_under_review,
    duplicate_review_dismiss,
    duplicate_review_merge,
    duplicate_review_merge_check,
)


class MergePairForm(forms.Form):
    """The pair a merge confirmation page is about (the GET's query string)."""

    survivor = forms.IntegerField(widget=forms.HiddenInput)
    merged = forms.IntegerField(widget=forms.HiddenInput)


class MergeForm(MergePairForm):
    # A merge cannot be undone: like a dismissal's reason, the note is required.
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3, "required": True}),
                           error_messages={"required": "Say why these are the same company."},
                           help_text="Why these are the same company (kept with the merge in the audit trail).")


class DismissForm(forms.Form):
    candidates = forms.TypedMultipleChoiceField(
        coerce=int, choices=[], widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose the accounts that are not duplicates."},
    )
    reason = forms.CharField(max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": "Say why they are not duplicates."},
                             help_text="Why they are different companies; the pair is never raised again.")

    def __init__(self, *args, candidate_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidates"].choices = [(pk, str(pk)) for pk in candidate_ids]


def steward_required(view):
    """Staff who work the data stewardship queue; everyone else gets 403."""

    @staff_member_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not user_can_work(request.user, Team.DATA_STEWARDSHIP):
            raise PermissionDenied("Only data stewards review duplicate accounts.")
        return view(request, *args, **kwargs)

    return wrapped


def _exception(pk: int) -> IntegrationException:
    found = (IntegrationException.objects.select_related("customer", "customer__merged_into", "assignee",
                                                        "resolved_by")
             .filter(pk=pk, category=Category.DUPLICATE_CUSTOMER).first())
    if found is None:
        raise Http404("No duplicate-customer review with that number.")
    return found


def _review_url(exception: IntegrationException) -> str:
    return reverse("stewardship:duplicate-review", args=[exception.pk])


@steward_required
def reviews(request):
    queue = list(duplicate_reviews_open()[:REVIEWS_SHOWN])
    for exception in queue:
        listed = (exception.context or {}).get("candidates") or [{}]
        exception.best = listed[0]
        exception.others = max(0, len(listed) - 1)
    return render(request, "hub/stewardship/reviews.html", {
        "queue": queue, "shown": REVIEWS_SHOWN, "total": duplicate_reviews_open().count(),
    })


@steward_required
def review(request, pk: int):
    exception = _exception(pk)
    found = duplicate_review(exception)
    rows = []
    for candidate, footprint in found.candidates:
        survivor = found.suggested_survivor(footprint)
        rows.append({
            "candidate": candidate, "footprint": footprint, "suggested": survivor,
            "keep_candidate": f"{reverse('stewardship:duplicate-merge', args=[pk])}?survivor={candidate.customer.pk}"
                              f"&merged={found.account.customer.pk}",
            "keep_account": f"{reverse('stewardship:duplicate-merge', args=[pk])}?survivor={found.account.customer.pk}"
                            f"&merged={candidate.customer.pk}",
        })
    return render(request, "hub/stewardship/review.html", {
        "exception": exception,
        "review": found,
        "rows": rows,
        "active": exception.status in ACTIVE_EXCEPTION_STATUSES,
        "dismiss_form": DismissForm(candidate_ids=[c.customer.pk for c, _ in found.candidates],
                                    initial={"candidates": [c.customer.pk for c, _ in found.candidates]}),
        "exception_url": viewable_change_url(exception),
        "audit": exception_audit_trail(exception=exception),
    })


@require_http_methods(["GET", "POST"])
@steward_required
def merge(request, pk: int):
    exception = _exception(pk)
    pair = MergePairForm(request.POST if request.method == "POST" else request.GET)
    if not pair.is_valid():
        messages.error(request, "Choose which account to keep and which to merge into it.")
        return redirect(_review_url(exception))
    accounts = {c.pk: c for c in Customer.objects.filter(pk__in=[pair.cleaned_data["survivor"],
                                                                 pair.cleaned_data["merged"]])}
    survivor = accounts.get(pair.cleaned_data["survivor"])
    merged = accounts.get(pair.cleaned_data["merged"])
    if survivor is None or merged is None or survivor.pk == merged.pk:
        messages.error(request, "Those accounts cannot be merged: choose two different accounts of this review.")
        return redirect(_review_url(exception))
    form = MergeForm(request.POST) if request.method == "POST" else MergeForm(initial=pair.cleaned_data)
    if request.method == "GET" or not form.is_valid():  # a POST without a note asks again, with the error
        try:  # the page offers only a merge the review allows (the merge checks again, under its locks)
            duplicate_review_merge_check(exception=exception, survivor=survivor, merged=merged)
        except CanonicalError as exc:
            messages.error(request, exc.detail)
            return redirect(_review_url(exception))
        preview = merge_preview(survivor=survivor, merged=merged)
        return render(request, "hub/stewardship/merge.html", {
            "exception": exception, "form": form, "preview": preview,
            "survivor": preview.survivor, "merged": preview.merged,
        })
    try:
        outcome = duplicate_review_merge(exception=exception, survivor=survivor, merged=merged,
                                         actor=request_actor(request), note=form.cleaned_data["note"])
    except CanonicalError as exc:
        messages.error(request, exc.detail)
        return redirect(_review_url(exception))
    moved = describe_counts(outcome.merge.counts())
    messages.success(request, f"{merged.account_number} was merged into {survivor.account_number} ({moved} moved).")
    if outcome.resolved:
        messages.info(request, _carried_on(outcome.account))
    else:
        messages.warning(request, f"{len(outcome.remaining)} likely duplicate(s) of {outcome.account.account_number} "
                                  "remain: merge or dismiss them too.")
    return redirect(_review_url(exception))


@require_POST
@steward_required
def dismiss(request, pk: int):
    exception = _exception(pk)
    account = account_under_review(exception)
    posted = [value for value in request.POST.getlist("candidates") if value.isdigit()]
    form = DismissForm(request.POST, candidate_ids=[int(v) for v in posted])
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_review_url(exception))
    try:
        outcome = duplicate_review_dismiss(exception=exception, candidate_ids=form.cleaned_data["candidates"],
                                           reason=form.cleaned_data["reason"], actor=request_actor(request))
    except CanonicalError as exc:
        messages.error(request, exc.detail)
        return redirect(_review_url(exception))
    messages.success(request, f"Recorded: {len(outcome.dismissed)} account(s) are not duplicates of "
                              f"{account.account_number if account else 'the account'}.")
    if outcome.resolved:
        messages.info(request, _carried_on(outcome.account))
    else:
        messages.warning(request, f"{len(outcome.remaining)} likely duplicate(s) remain.")
    return redirect(_review_url(exception))


def _carried_on(account: Customer) -> str:
    account.refresh_from_db()
    state = account.get_status_display().lower()
    if account.onboarding:
        state += f", {account.get_onboarding_display().lower()}"
    return f"The review is resolved; account {account.account_number} is {state}."
