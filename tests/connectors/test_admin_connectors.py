"""Admin of connector configuration and the delivery / inbound logs: every page renders, logs are
read-only, secrets are never shown, test connection and pause/resume go through the services.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse

from canonical.models import AuditEntry
from connectors.models import (
    Connector,
    Delivery,
    DeliveryAttempt,
    InboundMessage,
    InboundMessageRevision,
    IntegrationException,
    Mapping,
    RateWindow,
    Subscription,
)
from connectors.secrets import secret_encrypt, secret_resolve
from connectors.services.exceptions import exception_reprocess_with_edit
from tests.connectors.inbound_support import URLCONF, send
from tests.connectors.outbound_support import deliver_all, record_event
from tests.connectors.receiver import Reply, receiver_fixture  # noqa: F401
from tests.factories import OutboundConnectorFactory, SubscriptionFactory, SystemOfRecordFactory

pytestmark = pytest.mark.django_db

PLAIN_SECRET = "s3cr3t-token-do-not-show"


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "x"))
    return client


@pytest.fixture
def populated(receiver, partner_client):
    """One of everything: a connector with an encrypted secret, a mapping, a subscription, a dead
    delivery with attempts and its exception, an inbound message with a revision, a rate window.
    """
    from django.contrib.auth import get_user_model

    from canonical.context import Actor

    receiver.default = Reply(status=500)
    connector = OutboundConnectorFactory(base_url=receiver.url, max_attempts=1, rate_limit_per_second=100,
                                         secret_ref=secret_encrypt(PLAIN_SECRET), auth_type="bearer")
    Mapping.objects.create(name="erp-order", version=1, direction="outbound", spec={"fields": []})
    SubscriptionFactory(connector=connector)
    record_event("order.created")
    deliver_all()
    crm = partner_client("crm", "crm")
    SystemOfRecordFactory(domain="customers", system=crm.system)
    with override_settings(ROOT_URLCONF=URLCONF):
        send(crm, "crm", "customer.upsert", {"external_id": "X", "customer": {"account_number": "A"}},
             message_id="m-1")
    failed = IntegrationException.objects.get(inbound_message__isnull=False)
    editor = get_user_model().objects.create_user("ed")
    exception_reprocess_with_edit(exception=failed, actor=Actor(user=editor),
                                  body='{"external_id": "X", "customer": {"account_number": "A", "name": "N"}}')
    return connector


MODELS = [Connector, Mapping, Subscription, Delivery, DeliveryAttempt, InboundMessage, InboundMessageRevision,
          IntegrationException, RateWindow]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_connectors_changelist_and_change_page_renders(admin_client, populated, model):
    opts = model._meta
    assert model.objects.exists(), f"the fixture should create a {opts.model_name}"
    changelist = admin_client.get(reverse(f"admin:connectors_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    query = "?status=all" if model is IntegrationException else ""
    assert admin_client.get(reverse(f"admin:connectors_{opts.model_name}_changelist") + query).status_code == 200
    row = model.objects.first()
    page = admin_client.get(reverse(f"admin:connectors_{opts.model_name}_change", args=[row.pk]))
    assert page.status_code == 200
    assert PLAIN_SECRET.encode() not in changelist.content + page.content


@pytest.mark.parametrize("model", [Delivery, DeliveryAttempt, InboundMessage, InboundMessageRevision, RateWindow],
                         ids=lambda m: m.__name__)
def test_logs_are_read_only(admin_client, populated, model):
    opts = model._meta
    row = model.objects.first()
    assert admin_client.get(reverse(f"admin:connectors_{opts.model_name}_add")).status_code == 403
    assert admin_client.get(reverse(f"admin:connectors_{opts.model_name}_delete", args=[row.pk])).status_code == 403
    page = admin_client.get(reverse(f"admin:connectors_{opts.model_name}_change", args=[row.pk]))
    assert b'name="_save"' not in page.content


def test_delivery_page_lists_its_attempts_and_links_its_exception(admin_client, populated):
    delivery = Delivery.objects.get()
    page = admin_client.get(reverse("admin:connectors_delivery_change", args=[delivery.pk])).content.decode()
    assert "Failed, dead" in page
    assert f"delivery__id__exact={delivery.pk}" in page


def test_inbound_page_shows_the_body_and_the_revision_diff(admin_client, populated):
    message = InboundMessage.objects.get()
    page = admin_client.get(reverse("admin:connectors_inboundmessage_change", args=[message.pk])).content.decode()
    assert "account_number" in page and "Processed" in page
    assert 'class="diff"' in page and "+" in page


def test_inbound_page_shows_a_body_too_deep_to_decode_as_it_came(admin_client, populated):
    message = InboundMessage.objects.get()
    InboundMessage.objects.filter(pk=message.pk).update(body="[" * 5000 + "]" * 5000)
    page = admin_client.get(reverse("admin:connectors_inboundmessage_change", args=[message.pk]))
    assert page.status_code == 200 and "[" * 5000 in page.content.decode()


def test_connector_page_masks_the_secret_and_shows_the_breaker(admin_client, populated):
    page = admin_client.get(reverse("admin:connectors_connector_change", args=[populated.pk])).content.decode()
    assert "•••• (encrypted)" in page
    assert "enc:" not in page and PLAIN_SECRET not in page
    assert 'class="breaker breaker-closed"' in page


def connector_form(connector: Connector, **changes) -> dict:
    data = {
        "code": connector.code, "name": connector.name, "system": connector.system_id, "kind": connector.kind,
        "direction": connector.direction, "base_url": connector.base_url, "settings": "{}",
        "auth_type": connector.auth_type, "auth_username": "", "auth_header_name": "",
        "timeout_seconds": connector.timeout_seconds, "max_attempts": connector.max_attempts,
        "backoff_base_seconds": connector.backoff_base_seconds, "backoff_cap_seconds": connector.backoff_cap_seconds,
        "backoff_jitter": "on", "rate_limit_per_second": "", "breaker_failure_threshold": 5,
        "breaker_cooldown_seconds": 60, "signature_tolerance_seconds": 300, "message_id_header": "X-Message-ID",
        "message_id_field": "", "enabled": "on",
        "subscriptions-TOTAL_FORMS": 0, "subscriptions-INITIAL_FORMS": 0,
    }
    data.update(changes)
    return data


def test_a_typed_secret_is_stored_encrypted_and_an_env_reference_as_is(admin_client):
    connector = OutboundConnectorFactory()
    url = reverse("admin:connectors_connector_change", args=[connector.pk])
    response = admin_client.post(url, connector_form(connector, new_secret="typed-value-123"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    connector.refresh_from_db()
    assert connector.secret_ref.startswith("enc:") and "typed-value-123" not in connector.secret_ref
    assert secret_resolve(connector.secret_ref) == "typed-value-123"
    entry = AuditEntry.objects.get(action="connector.changed", object_id=str(connector.pk))
    assert entry.after["secret_ref"] == "•••• (encrypted)" and "typed-value-123" not in str(entry.after)
    admin_client.post(url, connector_form(connector, new_signing_secret="env:PARTNER_SIGNING_KEY"))
    connector.refresh_from_db()
    assert connector.signing_secret_ref == "env:PARTNER_SIGNING_KEY"
    bad = admin_client.post(url, connector_form(connector, new_signing_secret="env:not a name"))
    assert "does not name an environment variable" in str(bad.context["adminform"].form.errors)
    admin_client.post(url, connector_form(connector, clear_secret="on"))
    connector.refresh_from_db()
    assert connector.secret_ref == "" and connector.signing_secret_ref == "env:PARTNER_SIGNING_KEY"


def test_test_connection_action_reports_the_partners_answer(admin_client, receiver):
    healthy = OutboundConnectorFactory(base_url=receiver.url, settings={"test_path": "/ping"})
    receiver.script(Reply(status=200))
    response = admin_client.post(reverse("admin:connectors_connector_changelist"),
                                 {"action": "test_connection", ACTION_CHECKBOX_NAME: [healthy.pk]}, follow=True)
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith(f"{healthy.code}: OK (HTTP 200, ")
    assert receiver.requests[-1].path == "/ping"
    receiver.script(Reply(status=401))
    response = admin_client.post(reverse("admin:connectors_connector_changelist"),
                                 {"action": "test_connection", ACTION_CHECKBOX_NAME: [healthy.pk]}, follow=True)
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith(f"{healthy.code}: failed (HTTP 401, ") and "401" in message


def test_pause_and_resume_actions(admin_client):
    running, paused = OutboundConnectorFactory(), OutboundConnectorFactory(paused=True)
    changelist = reverse("admin:connectors_connector_changelist")
    response = admin_client.post(changelist, {"action": "pause", ACTION_CHECKBOX_NAME: [running.pk, paused.pk]},
                                 follow=True)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"1 paused: {running.code}; 1 were paused already."]
    assert set(Connector.objects.values_list("paused", flat=True)) == {True}
    admin_client.post(changelist, {"action": "resume", ACTION_CHECKBOX_NAME: [running.pk]})
    running.refresh_from_db()
    assert running.paused is False
    assert list(AuditEntry.objects.filter(object_type="connector").values_list("action", flat=True)) == [
        "connector.resumed", "connector.paused"]


def test_replay_page_counts_on_a_dry_run_then_requeues(admin_client, receiver):
    receiver.default = Reply(status=200)
    subscription = SubscriptionFactory(connector=OutboundConnectorFactory(base_url=receiver.url))
    first, second = record_event("order.created"), record_event("order.updated")
    deliver_all()
    url = reverse("admin:connectors_delivery_replay")
    assert admin_client.get(reverse("admin:connectors_delivery_changelist")).content.count(url.encode()) == 1
    form = {"event_types": "order.*", "subscription": subscription.pk}
    response = admin_client.post(url, {**form, "dry_run": "on"}, follow=True)
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["2 event(s) match; 2 deliveries would be queued."]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    response = admin_client.post(url, {**form, "aggregate": f"order:{first.aggregate_id}"}, follow=True)
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["1 event(s) match; 1 deliveries queued again."]
    assert Delivery.objects.get(event=first).status == "pending"
    assert Delivery.objects.get(event=second).status == "delivered"
    refused = admin_client.post(url, {"event_types": "nothing.*"})
    assert b"No event type matches" in refused.content


def test_replay_page_needs_the_integration_queue(client, django_user_model):
    from django.contrib.auth.models import Permission

    reader = django_user_model.objects.create_user("reader", is_staff=True)
    reader.user_permissions.add(*Permission.objects.filter(codename__in=["view_delivery", "work_finance_queue"]))
    client.force_login(reader)
    assert client.get(reverse("admin:connectors_delivery_changelist")).status_code == 200
    assert client.get(reverse("admin:connectors_delivery_replay")).status_code == 403
