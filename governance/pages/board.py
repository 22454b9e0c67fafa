"""The board's decisions: the review queue and the deprecation planner."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from canonical.state import IllegalTransition
from governance.models import Lifecycle
from governance.pages.access import CHANGE, REVIEW, SUBSCRIPTIONS, acting, board_required, can
from governance.pages.forms import DeprecationForm, ReviewForm, back_url, form_errors
from governance.pages.versions import _version, offer_deprecation, version_url
from governance.selectors import (
    days_until,
    pending_subscriptions,
    review_queue,
    subscribers_of_major,
    successor_of,
    usage_of_consumers,
)
from governance.services import GovernanceError, affected_consumers, api_version_deprecate, api_version_review
from governance.services.registry import approvals_of


@board_required(REVIEW)
def reviews(request):
    queue = list(review_queue())
    for version in queue:
        version.approval_count = approvals_of(version)
        counts = ((version.compatibility_report or {}).get("report") or {}).get("counts", {})
        version.breaking = counts.get("error", 0)
        version.warnings = counts.get("warning", 0)
        version.round_reviews = list(version.reviews.filter(round=version.review_round).select_related("reviewer"))
        version.reviewed_by_me = any(r.reviewer_id == request.user.pk for r in version.round_reviews)
        version.authored_by_me = version.created_by_id == request.user.pk
    context = {"queue": queue, "form": ReviewForm(), "requests": list(pending_subscriptions()),
               "can_decide_subscriptions": can(request, SUBSCRIPTIONS)}
    return render(request, "governance/reviews.html", context)


@require_POST
@board_required(REVIEW)
def review(request, slug: str, version: str):
    found = _version(slug, version)
    form = ReviewForm(request.POST)
    back = back_url(request, reverse("governance:reviews"))
    if not form.is_valid():
        messages.error(request, f"{found}: {form_errors(form, '; ')}")
        return redirect(back)
    try:
        result = api_version_review(version=found, decision=form.cleaned_data["decision"],
                                    comment=form.cleaned_data["comment"], actor=acting(request))
    except (GovernanceError, IllegalTransition) as exc:
        messages.error(request, " ".join([str(exc), *getattr(exc, "reasons", [])]))
        return redirect(back)
    if result.published is not None:
        messages.success(request, f"{found} has {result.approvals} of {result.required} approvals and is published.")
        offer_deprecation(request, result.published)
        return redirect(reverse("governance:product", args=[found.product.slug]))
    if form.cleaned_data["decision"] == "reject":
        messages.warning(request, f"{found} is rejected and back in draft with your comment.")
    else:
        messages.success(request, f"Approved: {found} has {result.approvals} of {result.required} approvals.")
    return redirect(back)


@board_required(CHANGE)
def deprecate(request, slug: str, version: str):
    found = _version(slug, version)
    form = DeprecationForm(request.POST or None, version=found)
    consumers = affected_consumers(found)
    usage = usage_of_consumers(found, consumers)
    successor = found.replacement or successor_of(found)
    moved = subscribers_of_major(successor) if successor else set()
    rows = sorted(
        ({"consumer": c, "calls": (usage.get(c.pk) or {}).get("calls") or 0,
          "last_call": (usage.get(c.pk) or {}).get("last_call"), "moved": c.pk in moved} for c in consumers),
        key=lambda row: (-row["calls"], row["consumer"].name),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notice = api_version_deprecate(
                version=found, deprecated_at=data["deprecated_at"], sunset_at=data["sunset_at"],
                replacement=data["replacement"], notify=data["notify"], note=data["note"], actor=acting(request),
            )
        except (GovernanceError, IllegalTransition) as exc:
            for reason in getattr(exc, "reasons", []) or [str(exc)]:
                form.add_error(None, reason)
        else:
            verb = "rescheduled" if notice.rescheduled else "deprecated"
            messages.success(
                request,
                f"{found} is {verb}: sunset {notice.version.sunset_at:%Y-%m-%d}. {len(notice.consumers)} consumer(s) "
                f"affected, {len(notice.emailed)} e-mailed.",
            )
            return redirect(version_url(found))
    context = {"version": found, "product": found.product, "form": form, "rows": rows, "successor": successor,
               "sunset_days": days_until(found.sunset_at),
               "can_plan": found.status in (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED)}
    return render(request, "governance/deprecate.html", context)
