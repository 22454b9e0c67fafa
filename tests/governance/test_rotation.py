"""API key rotation: a successor key at once, the old one living on only for the overlap window."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed

from canonical.context import Actor
from canonical.models import AuditEntry
from governance.authentication import ApiKeyAuthentication
from governance.models import ApiKey
from governance.services import KeyNotRotatable, api_key_revoke, api_key_rotate

pytestmark = pytest.mark.django_db
RAW_KEY = re.compile(r"hub_[0-9a-f]{8}_[A-Za-z0-9_-]+")


def _status(raw: str) -> int:
    """200 when the key authenticates, 401 when it is refused (what the API would answer for the key alone)."""
    request = RequestFactory().get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {raw}")
    try:
        ApiKeyAuthentication().authenticate(request)
    except AuthenticationFailed:
        return 401
    return 200


def test_both_keys_work_during_the_overlap_and_the_old_one_expires_after(consumer_with_key):
    consumer, old_raw = consumer_with_key()
    old = ApiKey.objects.get(consumer=consumer)
    issued = api_key_rotate(key=old, overlap=timedelta(hours=2), actor=Actor.hub())
    old.refresh_from_db()
    assert issued.key.rotated_from == old and issued.key.name == old.name
    assert timedelta(hours=1, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=2)
    assert _status(old_raw) == 200 and _status(issued.raw_key) == 200
    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _status(old_raw) == 401
    assert _status(issued.raw_key) == 200
    entry = AuditEntry.objects.get(action="api_key.rotated")
    assert entry.after["old_prefix"] == old.prefix and entry.after["new_prefix"] == issued.key.prefix
    assert issued.raw_key not in str(entry.after)


def test_an_earlier_expiry_is_kept(consumer_with_key):
    consumer, _ = consumer_with_key()
    old = ApiKey.objects.get(consumer=consumer)
    soon = timezone.now() + timedelta(hours=1)
    ApiKey.objects.filter(pk=old.pk).update(expires_at=soon)
    api_key_rotate(key=old, overlap=timedelta(days=7), actor=Actor.hub())
    old.refresh_from_db()
    assert old.expires_at == soon


def test_revoked_or_already_rotated_keys_cannot_be_rotated(consumer_with_key):
    consumer, _ = consumer_with_key()
    key = ApiKey.objects.get(consumer=consumer)
    api_key_rotate(key=key, actor=Actor.hub())
    with pytest.raises(KeyNotRotatable, match="already been rotated"):
        api_key_rotate(key=key, actor=Actor.hub())
    successor = ApiKey.objects.get(rotated_from=key)
    api_key_revoke(key=successor, actor=Actor.hub())
    with pytest.raises(KeyNotRotatable, match="is revoked"):
        api_key_rotate(key=successor, actor=Actor.hub())
    with pytest.raises(KeyNotRotatable, match="negative"):
        api_key_rotate(key=key, overlap=timedelta(seconds=-1), actor=Actor.hub())


def test_admin_rotate_action_shows_the_new_key_once(admin_client, consumer_with_key):
    consumer, _ = consumer_with_key()
    key = ApiKey.objects.get(consumer=consumer)
    response = admin_client.post(reverse("admin:governance_apikey_changelist"),
                                 {"action": "rotate_keys", "_selected_action": [key.pk]}, follow=True)
    [message] = [str(m) for m in response.context["messages"]]
    raw = RAW_KEY.search(message).group(0)
    assert f"hub_{key.prefix}_… keeps working until" in message
    new = ApiKey.objects.get(rotated_from=key)
    assert raw.split("_")[1] == new.prefix and _status(raw) == 200
    page = admin_client.get(reverse("admin:governance_apikey_change", args=[new.pk])).content.decode()
    assert raw not in page
