"""Subscriptions of consumers to API versions, and rate plans."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.services.events import audit_record
from governance.models import (
    ApiSubscription,
    ApiVersion,
    Consumer,
    Lifecycle,
    RatePlan,
    SubscriptionStatus,
)
from governance.services.registry import GovernanceError, _user

_LIVE = [SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE]


def subscription_request(
    *, consumer: Consumer, version: ApiVersion, actor: Actor, rate_plan: RatePlan | None = None, note: str = ""
) -> ApiSubscription:
    """Subscribe a consumer to a published version: active at once, or pending when the product asks for
    the board's approval. Asking again returns the live subscription there is."""
    with transaction.atomic():
        version = ApiVersion.objects.select_for_update().select_related("product").get(pk=version.pk)
        existing = ApiSubscription.objects.filter(consumer=consumer, version=version, status__in=_LIVE).first()
        if existing is not None:
            return existing
        if version.status != Lifecycle.PUBLISHED:
            state = version.get_status_display().lower()
            if version.status == Lifecycle.DEPRECATED:
                successor = version.replacement.label if version.replacement else "a newer version"
                message = f"{version} is deprecated: it takes no new subscriptions; subscribe to {successor} instead."
            else:
                message = f"{version} is {state}: only published versions take new subscriptions."
            raise GovernanceError(message)
        needs_approval = version.product.requires_subscription_approval
        now = timezone.now()
        subscription = ApiSubscription.objects.create(
            consumer=consumer, version=version, rate_plan=rate_plan, note=note,
            status=SubscriptionStatus.PENDING if needs_approval else SubscriptionStatus.ACTIVE,
            decided_at=None if needs_approval else now,
        )
        audit_record(actor=actor, action="subscription.requested", object_type="api_subscription",
                     object_id=subscription.pk,
                     after={"consumer": consumer.name, "version": version.label, "status": subscription.status,
                            "rate_plan": rate_plan.name if rate_plan else None})
    return subscription


def subscription_approve(*, subscription: ApiSubscription, actor: Actor, note: str = "") -> ApiSubscription:
    with transaction.atomic():
        subscription = ApiSubscription.objects.select_for_update().select_related("version").get(pk=subscription.pk)
        if subscription.status != SubscriptionStatus.PENDING:
            raise GovernanceError(f"The subscription is {subscription.status}, not pending.")
        if subscription.version.status != Lifecycle.PUBLISHED:
            raise GovernanceError(f"{subscription.version} is no longer published; the request cannot be approved.")
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.decided_at = timezone.now()
        subscription.decided_by = _user(actor)
        subscription.save(update_fields=["status", "decided_at", "decided_by"])
        audit_record(actor=actor, action="subscription.approved", object_type="api_subscription",
                     object_id=subscription.pk, after={"status": subscription.status}, note=note)
    return subscription


def subscription_revoke(*, subscription: ApiSubscription, actor: Actor, note: str = "") -> ApiSubscription:
    with transaction.atomic():
        subscription = ApiSubscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.status == SubscriptionStatus.REVOKED:
            return subscription
        before = subscription.status
        subscription.status = SubscriptionStatus.REVOKED
        subscription.revoked_at = timezone.now()
        subscription.decided_by = _user(actor) or subscription.decided_by
        subscription.save(update_fields=["status", "revoked_at", "decided_by"])
        audit_record(actor=actor, action="subscription.revoked", object_type="api_subscription",
                     object_id=subscription.pk, before={"status": before}, after={"status": "revoked"}, note=note)
    return subscription


def consumer_subscribe_all(
    *, consumer: Consumer, actor: Actor, product_slugs: Iterable[str] | None = None
) -> list[ApiSubscription]:
    """Subscribe a consumer to every published version (for demos and tests), or to those of some products."""
    versions = ApiVersion.objects.filter(status=Lifecycle.PUBLISHED).select_related("product").order_by("pk")
    if product_slugs is not None:
        versions = versions.filter(product__slug__in=list(product_slugs))
    return [subscription_request(consumer=consumer, version=v, actor=actor) for v in versions]


def rate_plan_assign(
    *, plan: RatePlan | None, actor: Actor, consumer: Consumer | None = None,
    subscription: ApiSubscription | None = None,
) -> None:
    """Give a consumer (all its calls) or one subscription a rate plan; ``None`` removes it."""
    if (consumer is None) == (subscription is None):
        raise GovernanceError("Assign a rate plan to either a consumer or a subscription.")
    target = consumer or subscription
    with transaction.atomic():
        before = target.rate_plan.name if target.rate_plan_id else None
        target.rate_plan = plan
        target.save(update_fields=["rate_plan"])
        audit_record(actor=actor, action="rate_plan.assigned", object_type=target._meta.model_name,
                     object_id=target.pk, before={"rate_plan": before}, after={"rate_plan": plan.name if plan else None})
