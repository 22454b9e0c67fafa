"""Partner API keys: hashed, shown once, revocable, expiring; create_consumer prints one."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from canonical.context import Actor
from governance.models import ApiKey, Consumer
from governance.services import api_key_issue, api_key_revoke
from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db


def test_key_is_stored_hashed_with_visible_prefix(partner_client):
    client = partner_client("crm", "crm")
    key = ApiKey.objects.get(consumer=client.consumer)
    assert client.raw_key.startswith(f"hub_{key.prefix}_")
    assert client.raw_key not in key.hashed_key
    assert key.matches(client.raw_key)


def test_x_api_key_header_works_and_last_used_is_recorded(partner_client):
    client = partner_client("crm", "crm", header="x-api-key")
    assert client.get("/api/v1/customers").status_code == 200
    assert ApiKey.objects.get(consumer=client.consumer).last_used_at is not None


def test_revoked_key_is_refused(partner_client):
    client = partner_client("crm", "crm")
    api_key_revoke(key=ApiKey.objects.get(consumer=client.consumer), actor=Actor.hub())
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has been revoked."


def test_expired_key_is_refused(partner_client):
    client = partner_client("crm", "crm")
    ApiKey.objects.filter(consumer=client.consumer).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_disabled_consumer_is_refused(partner_client):
    client = partner_client("crm", "crm")
    Consumer.objects.filter(pk=client.consumer.pk).update(is_active=False)
    assert client.get("/api/v1/customers").status_code == 401


def test_key_with_right_prefix_but_wrong_secret_is_refused(partner_client):
    client = partner_client("crm", "crm")
    prefix = ApiKey.objects.get(consumer=client.consumer).prefix
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer hub_{prefix}_not-the-secret")
    assert forged.get("/api/v1/customers").status_code == 401


def test_create_consumer_prints_a_working_key_once():
    SystemFactory(code="crm", kind="crm")
    out = StringIO()
    call_command("create_consumer", "--system", "crm", "--name", "Salesforce", "--key-only", stdout=out)
    raw = out.getvalue().strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/customers").status_code == 200
    assert Consumer.objects.get(name="Salesforce").system.code == "crm"


def test_create_consumer_names_known_systems_for_a_typo():
    SystemFactory(code="crm", kind="crm")
    with pytest.raises(CommandError, match="No system with code 'crn'. Known systems: crm"):
        call_command("create_consumer", "--system", "crn", "--name", "X")


def test_issuing_writes_an_audit_entry():
    from canonical.models import AuditEntry

    consumer = Consumer.objects.create(name="Shop", system=SystemFactory(code="shop", kind="ecommerce"))
    issued = api_key_issue(consumer=consumer, actor=Actor.hub())
    entry = AuditEntry.objects.get(action="api_key.issued")
    assert entry.after["prefix"] == issued.key.prefix
    assert issued.raw_key not in str(entry.after)
