"""Subscriptions: who may subscribe to what, approvals, revocation, and create_consumer's options."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from canonical.context import Actor
from canonical.models import AuditEntry
from governance.models import ApiSubscription, Consumer, Lifecycle, SubscriptionStatus
from governance.services import (
    GovernanceError,
    rate_plan_assign,
    subscription_approve,
    subscription_request,
    subscription_revoke,
)
from tests.factories import ApiProductFactory, ApiVersionFactory, RatePlanFactory, SystemFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [Lifecycle.DRAFT, Lifecycle.IN_REVIEW, Lifecycle.RETIRED, Lifecycle.BLOCKED])
def test_only_published_versions_take_subscriptions(consumer_with_key, status):
    consumer, _ = consumer_with_key()
    version = ApiVersionFactory(version="1.2.0", status=status)
    with pytest.raises(GovernanceError, match="only published versions take new subscriptions"):
        subscription_request(consumer=consumer, version=version, actor=Actor.hub())
    assert not ApiSubscription.objects.exists()


def test_asking_twice_returns_the_live_subscription(consumer_with_key):
    consumer, _ = consumer_with_key()
    version = ApiVersionFactory()
    first = subscription_request(consumer=consumer, version=version, actor=Actor.hub())
    assert subscription_request(consumer=consumer, version=version, actor=Actor.hub()) == first
    assert first.status == SubscriptionStatus.ACTIVE
    assert AuditEntry.objects.filter(action="subscription.requested").count() == 1


def test_approval_when_the_product_requires_it_and_revocation(consumer_with_key, board_actor):
    consumer, _ = consumer_with_key()
    version = ApiVersionFactory(product=ApiProductFactory(requires_subscription_approval=True))
    pending = subscription_request(consumer=consumer, version=version, actor=Actor.hub())
    assert pending.status == SubscriptionStatus.PENDING
    approved = subscription_approve(subscription=pending, actor=board_actor)
    assert approved.status == SubscriptionStatus.ACTIVE and approved.decided_by == board_actor.user
    with pytest.raises(GovernanceError, match="not pending"):
        subscription_approve(subscription=approved, actor=board_actor)
    revoked = subscription_revoke(subscription=approved, actor=board_actor, note="contract ended")
    assert revoked.status == SubscriptionStatus.REVOKED and revoked.revoked_at is not None
    # A revoked subscription does not block a new request.
    again = subscription_request(consumer=consumer, version=version, actor=Actor.hub())
    assert again.pk != revoked.pk and again.status == SubscriptionStatus.PENDING
    assert AuditEntry.objects.get(action="subscription.revoked").note == "contract ended"


def test_rate_plan_goes_to_a_consumer_or_a_subscription(consumer_with_key, board_actor):
    consumer, _ = consumer_with_key()
    plan = RatePlanFactory(name="gold", per_minute=600)
    rate_plan_assign(plan=plan, consumer=consumer, actor=board_actor)
    assert Consumer.objects.get(pk=consumer.pk).rate_plan == plan
    with pytest.raises(GovernanceError):
        rate_plan_assign(plan=plan, actor=board_actor)
    assert AuditEntry.objects.get(action="rate_plan.assigned").after == {"rate_plan": "gold"}


@pytest.fixture
def hub_like_products(db):
    canonical = ApiProductFactory(slug="hub-canonical", name="Canonical data API", path_prefixes=[""])
    ApiVersionFactory(product=canonical, version="1.0.0")
    ApiVersionFactory(product=canonical, version="1.1.0")
    inbound = ApiProductFactory(slug="hub-inbound", name="Inbound messages API", path_prefixes=["inbound/"])
    ApiVersionFactory(product=inbound, version="1.0.0")
    ApiVersionFactory(product=inbound, version="0.9.0", status=Lifecycle.DEPRECATED,
                      deprecated_at=timezone.now(), sunset_at=timezone.now() + timedelta(days=90))
    return canonical, inbound


def test_create_consumer_subscribe_options(hub_like_products):
    SystemFactory(code="crm", kind="crm")
    out = StringIO()
    call_command("create_consumer", "--system", "crm", "--name", "Salesforce", "--subscribe", "hub-canonical@1",
                 "--subscribe", "hub-inbound@1.0.0", stdout=out)
    labels = set(ApiSubscription.objects.filter(consumer__name="Salesforce").values_list(
        "version__product__slug", "version__version"))
    assert labels == {("hub-canonical", "1.1.0"), ("hub-inbound", "1.0.0")}
    assert "Subscribed to hub-canonical@1.1.0: active" in out.getvalue()


def test_create_consumer_subscribe_all_gives_a_key_that_works_under_the_policy(hub_like_products, policy):
    SystemFactory(code="crm", kind="crm")
    out = StringIO()
    call_command("create_consumer", "--system", "crm", "--name", "Demo", "--subscribe-all", "--key-only", stdout=out)
    subscribed = ApiSubscription.objects.filter(consumer__name="Demo")
    assert subscribed.count() == 3  # every published version, not the deprecated 0.9.0
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    assert client.get("/api/v1/customers").status_code == 200


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("hub-canonical", "PRODUCT@VERSION"),
        ("nope@1.0.0", "No API product 'nope'. Known products: hub-canonical, hub-inbound"),
        ("hub-canonical@3.0.0", "has no version '3.0.0'. Published: 1.1.0, 1.0.0"),
        ("hub-inbound@0.9.0", "deprecated: it takes no new subscriptions"),
    ],
)
def test_create_consumer_refuses_bad_subscriptions_and_creates_nothing(hub_like_products, label, message):
    SystemFactory(code="crm", kind="crm")
    with pytest.raises(CommandError, match=message):
        call_command("create_consumer", "--system", "crm", "--name", "Broken", "--subscribe", label)
    assert not Consumer.objects.filter(name="Broken").exists()


def test_admin_approves_pending_subscriptions(admin_client, consumer_with_key):
    from django.urls import reverse

    consumer, _ = consumer_with_key()
    version = ApiVersionFactory(product=ApiProductFactory(requires_subscription_approval=True))
    pending = subscription_request(consumer=consumer, version=version, actor=Actor.hub())
    response = admin_client.post(reverse("admin:governance_apisubscription_changelist"),
                                 {"action": "approve", "_selected_action": [pending.pk]}, follow=True)
    assert "Approved 1 subscription." in [str(m) for m in response.context["messages"]]
    assert ApiSubscription.objects.get(pk=pending.pk).status == SubscriptionStatus.ACTIVE
