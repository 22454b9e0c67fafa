"""Acting on an exception's source for real: a dead delivery to a loopback receiver retried and
replayed, a failed inbound message reprocessed as it is and with an edited body.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings

from canonical.context import Actor
from canonical.models import AuditEntry, Customer
from connectors.models import DeliveryStatus, ExceptionStatus, InboundStatus, IntegrationException
from connectors.services.exceptions import (
    ExceptionActionRefused,
    exception_replay,
    exception_reprocess_with_edit,
    exception_retry,
    exceptions_retry,
)
from tests.connectors.inbound_support import URLCONF, send
from tests.connectors.outbound_support import deliver_all, record_event
from tests.connectors.receiver import Reply, receiver_fixture  # noqa: F401
from tests.factories import OutboundConnectorFactory, SubscriptionFactory, SystemOfRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(django_user_model):
    user = django_user_model.objects.create_user("ivy", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="work_integration_queue"))
    return Actor(user=django_user_model.objects.get(pk=user.pk))


@pytest.fixture
def dead(receiver):
    """Two events whose deliveries went dead against a receiver answering 500, with their exceptions."""
    receiver.default = Reply(status=500, body=b'{"error": "database down"}')
    connector = OutboundConnectorFactory(base_url=receiver.url, max_attempts=2)
    SubscriptionFactory(connector=connector, path="/hook")
    events = [record_event("order.created"), record_event("order.created")]
    deliver_all()
    # Unordered deliveries retry with jitter, so either may go dead first: take them in event order.
    exceptions = sorted(IntegrationException.objects.select_related("delivery"), key=lambda e: e.delivery.event_id)
    assert [e.delivery.status for e in exceptions] == [DeliveryStatus.DEAD] * 2
    assert [e.delivery.event_id for e in exceptions] == [e.pk for e in events]
    return exceptions


def test_retry_queues_the_dead_delivery_and_success_resolves_the_exception(receiver, dead, worker):
    result = exceptions_retry(exceptions=[e.pk for e in dead], actor=worker)
    assert sorted(result.done) == sorted(e.pk for e in dead) and result.skipped == []
    for exception in dead:
        exception.refresh_from_db()
        assert exception.status == ExceptionStatus.IN_PROGRESS
        assert exception.delivery.status == DeliveryStatus.PENDING and exception.delivery.attempts == 0
    receiver.default = Reply(status=200)
    sent_before = len(receiver.requests)
    deliver_all()
    assert len(receiver.requests) == sent_before + 2
    for exception in dead:
        exception.refresh_from_db()
        assert exception.status == ExceptionStatus.RESOLVED
        assert exception.delivery.status == DeliveryStatus.DELIVERED
    actions = set(AuditEntry.objects.filter(object_type="exception").values_list("action", flat=True))
    assert {"exception.retried", "exception.resolved"} <= actions


def test_a_retry_that_fails_again_counts_another_occurrence(receiver, dead, worker):
    exception = dead[0]
    exception_retry(exception=exception, actor=worker)
    deliver_all()
    exception.refresh_from_db()
    assert exception.occurrences == 2
    assert exception.status == ExceptionStatus.IN_PROGRESS
    assert exception.delivery.status == DeliveryStatus.DEAD
    assert IntegrationException.objects.count() == 2


def test_retrying_twice_skips_the_delivery_that_is_no_longer_dead(dead, worker):
    exception_retry(exception=dead[0], actor=worker)
    result = exceptions_retry(exceptions=[dead[0].pk], actor=worker)
    assert result.done == []
    assert result.skipped == [(dead[0].pk, f"Delivery {dead[0].delivery_id} is pending; only a dead delivery "
                                          "can be retried.")]


def test_replay_sends_the_events_of_the_aggregate_again(receiver, dead, worker):
    queued = exception_replay(exception=dead[0], actor=worker)
    assert queued == 1
    receiver.default = Reply(status=200)
    deliver_all()
    dead[0].refresh_from_db()
    assert dead[0].status == ExceptionStatus.RESOLVED
    assert receiver.requests[-1].event_id == str(dead[0].delivery.event.event_id)
    assert AuditEntry.objects.filter(action="exception.replayed", object_id=str(dead[0].pk)).exists()


def test_replay_of_an_exception_without_a_delivery_is_refused(worker):
    from tests.factories import IntegrationExceptionFactory

    with pytest.raises(ExceptionActionRefused, match="Only an exception about a delivery"):
        exception_replay(exception=IntegrationExceptionFactory(), actor=worker)


BAD_CUSTOMER = {"external_id": "0015g00000BAD", "customer": {"account_number": "A-2002"}}


@pytest.fixture
def failed_message(partner_client):
    """A customer.upsert from the CRM that failed validation (no name) and opened an exception."""
    crm = partner_client("crm", "crm")
    SystemOfRecordFactory(domain="customers", system=crm.system)
    with override_settings(ROOT_URLCONF=URLCONF):
        response = send(crm, "crm", "customer.upsert", BAD_CUSTOMER, message_id="bad-1")
    assert response.status_code == 400, response.content
    return IntegrationException.objects.get(inbound_message=response.stored)


def test_reprocessing_an_unchanged_failed_message_counts_the_failure_again(failed_message, worker):
    exception_retry(exception=failed_message, actor=worker)
    failed_message.refresh_from_db()
    assert failed_message.status == ExceptionStatus.OPEN and failed_message.occurrences == 2
    assert failed_message.inbound_message.processing_attempts == 2


def test_edited_body_is_reprocessed_with_the_diff_kept_and_resolves_the_exception(failed_message, worker):
    fixed = json.dumps({**BAD_CUSTOMER, "customer": {"account_number": "A-2002", "name": "Acme Plumbing"}},
                       indent=2)
    exception_reprocess_with_edit(exception=failed_message, actor=worker, body=fixed, note="name was missing")
    failed_message.refresh_from_db()
    message = failed_message.inbound_message
    assert message.status == InboundStatus.PROCESSED
    assert message.body == json.dumps(BAD_CUSTOMER), "the body as received is never changed"
    revision = message.revisions.get()
    assert revision.edited_by == worker.user and revision.note == "name was missing"
    assert '+    "name": "Acme Plumbing"' in revision.diff
    assert Customer.objects.filter(account_number="A-2002", name="Acme Plumbing").exists()
    assert failed_message.status == ExceptionStatus.RESOLVED and failed_message.resolved_by == worker.user
    entry = AuditEntry.objects.get(action="exception.reprocessed_with_edit", object_id=str(failed_message.pk))
    assert entry.before["status"] == "open" and entry.after["status"] == "resolved"


def test_an_edit_that_is_not_json_or_changes_nothing_is_refused(failed_message, worker):
    with pytest.raises(ExceptionActionRefused, match=r"not valid JSON: Expecting .* \(line 1, column"):
        exception_reprocess_with_edit(exception=failed_message, actor=worker, body='{"external_id": ')
    same = json.dumps(BAD_CUSTOMER, indent=4)
    with pytest.raises(ExceptionActionRefused, match="not changed"):
        exception_reprocess_with_edit(exception=failed_message, actor=worker, body=same)
    assert not failed_message.inbound_message.revisions.exists()
