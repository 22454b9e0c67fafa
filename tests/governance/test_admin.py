"""Consumers and API keys in the admin: keys are issued and revoked through the services, shown once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed

from canonical.context import Actor
from canonical.models import AuditEntry
from governance.authentication import ApiKeyAuthentication
from governance.models import ApiKey, Consumer
from governance.models.consumers import hash_key
from governance.services import (
    api_key_issue,
    api_key_revoke,
    consumer_create,
    subscription_request,
)
from tests.factories import ApiVersionFactory, SystemFactory

RAW_KEY = re.compile(r"hub_[0-9a-f]{8}_[A-Za-z0-9_-]+")


@pytest.fixture
def consumer(db):
    return consumer_create(name="Storefront", system=SystemFactory(code="shop", kind="ecommerce"), actor=Actor.hub())


def _messages(response) -> list[str]:
    """Messages shown on the page the action redirected to (post with follow=True)."""
    return [str(m) for m in response.context["messages"]]


def test_issue_action_shows_the_raw_key_once_and_stores_only_its_hash(admin_client, admin_user, consumer):
    response = admin_client.post(
        reverse("admin:governance_consumer_changelist"),
        {"action": "issue_api_key", "_selected_action": [consumer.pk], "apply": "1", "name": "default"},
        follow=True,
    )
    assert response.redirect_chain[-1][1] == 302
    [message] = _messages(response)
    raw = RAW_KEY.search(message).group(0)
    key = ApiKey.objects.get(consumer=consumer)
    assert key.prefix == raw.split("_")[1]
    assert key.hashed_key == hash_key(raw) and raw not in key.hashed_key
    audit = AuditEntry.objects.get(action="api_key.issued", object_id=str(key.pk))
    assert audit.actor_user == admin_user

    # Shown once: neither the consumer page nor the key page shows the raw key or its hash.
    for url in (reverse("admin:governance_consumer_change", args=[consumer.pk]),
                reverse("admin:governance_apikey_change", args=[key.pk])):
        page = admin_client.get(url).content.decode()
        assert f"hub_{key.prefix}_…" in page
        assert raw not in page and key.hashed_key not in page


def test_issued_key_authenticates(admin_client, consumer):
    response = admin_client.post(
        reverse("admin:governance_consumer_changelist"),
        {"action": "issue_api_key", "_selected_action": [consumer.pk], "apply": "1", "name": "default"},
        follow=True,
    )
    raw = RAW_KEY.search(_messages(response)[0]).group(0)
    request = type("Request", (), {"META": {"HTTP_AUTHORIZATION": f"Bearer {raw}"}})()
    principal, key = ApiKeyAuthentication().authenticate(request)
    assert principal.consumer == consumer and key.consumer == consumer


def test_issuing_asks_for_the_keys_name_and_expiry_first(admin_client, consumer, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # the hub's zone, not UTC: the key stops at Berlin's midnight
    changelist = reverse("admin:governance_consumer_changelist")
    selected = {"action": "issue_api_key", "_selected_action": [consumer.pk]}
    page = admin_client.post(changelist, selected)
    assert page.status_code == 200 and page.templates[0].name == "admin/hub/action_confirm.html"
    assert f"{consumer.name} (shop)" in page.content.decode()
    assert not ApiKey.objects.filter(consumer=consumer).exists()

    today = timezone.localdate()
    refused = admin_client.post(changelist, {**selected, "apply": "1", "name": "staging",
                                             "expires_on": today.isoformat()})
    assert "Choose a day after today" in refused.content.decode()
    assert not ApiKey.objects.filter(consumer=consumer).exists()

    expires_on = today + timedelta(days=30)
    response = admin_client.post(changelist, {**selected, "apply": "1", "name": "staging",
                                              "expires_on": expires_on.isoformat()}, follow=True)
    raw = RAW_KEY.search(_messages(response)[0]).group(0)
    key = ApiKey.objects.get(consumer=consumer)
    assert key.name == "staging" and key.prefix == raw.split("_")[1]
    # Midnight in Berlin is 23:00 (winter) or 22:00 (summer) UTC the day before.
    berlin = datetime.combine(expires_on, time.min, tzinfo=ZoneInfo("Europe/Berlin"))
    assert key.expires_at == berlin and key.expires_at.astimezone(UTC).hour in (22, 23)
    assert key.expires_at.astimezone(UTC).date() == expires_on - timedelta(days=1)
    issued = AuditEntry.objects.get(action="api_key.issued")
    assert datetime.fromisoformat(issued.after["expires_at"]) == key.expires_at
    # It works until then; the day it expires the hub answers 401 (unknown, revoked or expired).
    request = type("Request", (), {"META": {"HTTP_AUTHORIZATION": f"Bearer {raw}"}})()
    assert ApiKeyAuthentication().authenticate(request)[1] == key
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed):
        ApiKeyAuthentication().authenticate(request)


def test_issue_action_skips_disabled_consumers(admin_client, consumer):
    Consumer.objects.filter(pk=consumer.pk).update(is_active=False)
    response = admin_client.post(
        reverse("admin:governance_consumer_changelist"),
        {"action": "issue_api_key", "_selected_action": [consumer.pk], "apply": "1", "name": "default"},
        follow=True,
    )
    assert not ApiKey.objects.filter(consumer=consumer).exists()
    assert "disabled" in _messages(response)[0]


def test_revoke_action_asks_for_a_reason_then_revokes_through_the_service(admin_client, admin_user, consumer):
    first = api_key_issue(consumer=consumer, actor=Actor.hub()).key
    second = api_key_issue(consumer=consumer, name="spare", actor=Actor.hub()).key
    changelist = reverse("admin:governance_apikey_changelist")
    selected = {"action": "revoke_keys", "_selected_action": [first.pk, second.pk]}

    # The action first shows what it would revoke and asks why; nothing is revoked yet.
    page = admin_client.post(changelist, selected)
    assert page.status_code == 200 and page.templates[0].name == "admin/hub/action_confirm.html"
    listed = page.content.decode()
    assert f"hub_{first.prefix}_… (default) of {consumer.name}: active, last used never" in listed
    assert f"hub_{second.prefix}_… (spare) of {consumer.name}" in listed
    refused = admin_client.post(changelist, {**selected, "apply": "1", "note": "  "})
    assert refused.status_code == 200 and refused.context["form"].errors["note"]
    for key in (first, second):
        key.refresh_from_db()
        assert key.state == "active"
    assert not AuditEntry.objects.filter(action="api_key.revoked").exists()

    response = admin_client.post(changelist, {**selected, "apply": "1", "note": "contract ended"}, follow=True)
    assert response.redirect_chain[-1][1] == 302
    assert _messages(response) == ["Revoked 2 keys."]
    for key in (first, second):
        key.refresh_from_db()
        assert key.state == "revoked"
        audit = AuditEntry.objects.get(action="api_key.revoked", object_id=str(key.pk))
        assert audit.actor_user == admin_user and audit.note == "contract ended"

    again = admin_client.post(
        changelist, {"action": "revoke_keys", "_selected_action": [first.pk], "apply": "1", "note": "again"},
        follow=True,
    )
    assert _messages(again) == ["Revoked 0 keys. 1 already revoked, left as they were."]
    assert AuditEntry.objects.filter(action="api_key.revoked", object_id=str(first.pk)).count() == 1


def test_revoking_subscriptions_in_the_admin_asks_for_a_reason(admin_client, admin_user, consumer):
    version = ApiVersionFactory(status="published")
    subscription = subscription_request(consumer=consumer, version=version, actor=Actor.hub())  # active at once
    changelist = reverse("admin:governance_apisubscription_changelist")
    selected = {"action": "revoke", "_selected_action": [subscription.pk]}
    page = admin_client.post(changelist, selected)
    assert page.templates[0].name == "admin/hub/action_confirm.html"
    assert f"{consumer.name} to {version}: active" in page.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "active"

    response = admin_client.post(changelist, {**selected, "apply": "1", "note": "partner left"}, follow=True)
    assert _messages(response) == ["Revoked 1 subscription."]
    subscription.refresh_from_db()
    assert subscription.status == "revoked"
    assert AuditEntry.objects.get(action="subscription.revoked", object_id=str(subscription.pk)).note == "partner left"


def test_keys_cannot_be_added_or_edited_by_hand(admin_client, consumer):
    key = api_key_issue(consumer=consumer, actor=Actor.hub()).key
    assert admin_client.get(reverse("admin:governance_apikey_add")).status_code == 403
    page = admin_client.get(reverse("admin:governance_apikey_change", args=[key.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    admin_client.post(reverse("admin:governance_apikey_change", args=[key.pk]), {"name": "renamed"})
    key.refresh_from_db()
    assert key.name == "default"


def test_adding_a_consumer_in_the_admin_goes_through_the_service(admin_client, admin_user, db):
    system = SystemFactory(code="wms", kind="wms")
    response = admin_client.post(
        reverse("admin:governance_consumer_add"),
        {"name": "Warehouse feed", "system": system.pk, "contact_email": "ops@example.com",
         "keys-TOTAL_FORMS": 0, "keys-INITIAL_FORMS": 0},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    consumer = Consumer.objects.get(name="Warehouse feed")
    assert consumer.system == system
    audit = AuditEntry.objects.get(action="consumer.created", object_id=str(consumer.pk))
    assert audit.actor_user == admin_user


def test_consumer_changelist_counts_active_keys(admin_client, consumer):
    other = consumer_create(name="CRM sync", system=SystemFactory(code="crm", kind="crm"), actor=Actor.hub())
    for c in (consumer, consumer, other):
        api_key_issue(consumer=c, actor=Actor.hub())
    revoked = api_key_issue(consumer=other, actor=Actor.hub()).key
    api_key_revoke(key=revoked, actor=Actor.hub())
    response = admin_client.get(reverse("admin:governance_consumer_changelist"))
    counts = {c.name: c.active_key_count for c in response.context["cl"].result_list}
    assert counts == {"Storefront": 2, "CRM sync": 1}
