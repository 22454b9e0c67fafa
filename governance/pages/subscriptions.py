"""The board's decisions on subscriptions: subscribe a consumer to a version, approve, decline or revoke."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from governance.models import ApiSubscription, SubscriptionStatus
from governance.pages.access import SUBSCRIPTIONS, acting, board_required
from governance.pages.forms import SubscribeForm, SubscriptionDecisionForm, back_url, form_errors
from governance.pages.versions import _version, version_url
from governance.selectors import subscribable_consumers
from governance.services import (
    GovernanceError,
    subscription_approve,
    subscription_request,
    subscription_revoke,
)


@require_POST
@board_required(SUBSCRIPTIONS)
def subscribe(request, slug: str, version: str):
    found = _version(slug, version)
    form = SubscribeForm(request.POST, consumers=subscribable_consumers(found))
    if not form.is_valid():
        messages.error(request, f"Not subscribed: {form_errors(form)}")
        return redirect(version_url(found) + "#subscriptions")
    data = form.cleaned_data
    try:
        subscription = subscription_request(consumer=data["consumer"], version=found, rate_plan=data["rate_plan"],
                                            note=data["note"], actor=acting(request))
    except GovernanceError as exc:
        messages.error(request, " ".join([str(exc), *exc.reasons]))
    else:
        if subscription.status == SubscriptionStatus.PENDING:
            messages.info(request, f"{subscription.consumer.name} asked for {found.label}; "
                                   "the request waits for approval in the review queue.")
        else:
            messages.success(request, f"{subscription.consumer.name} is subscribed to {found.label}.")
    return redirect(version_url(found) + "#subscriptions")


@require_POST
@board_required(SUBSCRIPTIONS)
def decide(request, pk: int):
    subscription = get_object_or_404(ApiSubscription.objects.select_related("consumer", "version__product"), pk=pk)
    back = back_url(request, version_url(subscription.version) + "#subscriptions")
    form = SubscriptionDecisionForm(request.POST)
    label = f"{subscription.consumer.name} → {subscription.version.label}"
    if not form.is_valid():
        messages.error(request, f"{label}: {form_errors(form)}")
        return redirect(back)
    note, actor = form.cleaned_data["note"], acting(request)
    try:
        if form.cleaned_data["decision"] == "approve":
            subscription_approve(subscription=subscription, note=note, actor=actor)
            messages.success(request, f"Approved: {label} is active.")
        else:
            was = subscription.status
            subscription_revoke(subscription=subscription, note=note, actor=actor)
            verb = "Declined" if was == SubscriptionStatus.PENDING else "Revoked"
            messages.warning(request, f"{verb}: {label}; its calls now get 403.")
    except GovernanceError as exc:
        messages.error(request, " ".join([str(exc), *exc.reasons]))
    return redirect(back)
