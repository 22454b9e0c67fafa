"""Staff reprocessing of a failed inbound message, optionally with an edited body."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from canonical.context import Actor
from canonical.models import AuditEntry, Customer
from connectors.models import ExceptionStatus, InboundMessageRevision, InboundStatus
from connectors.services.inbound import InboundReprocessRefused, inbound_current_body, inbound_reprocess
from tests.connectors.inbound_support import CUSTOMER, exceptions_for, send

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inbound_urls")]


@pytest.fixture
def staff():
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    return Actor(user=user)


def pretty(body: dict) -> str:
    return json.dumps(body, indent=2, sort_keys=True)


@pytest.fixture
def failed(crm):
    broken = {**CUSTOMER, "customer": {k: v for k, v in CUSTOMER["customer"].items() if k != "name"}}
    response = send(crm, "crm", "customer.upsert", None, raw=pretty(broken), message_id="r-1")
    assert response.status_code == 400
    return response.stored


def test_reprocess_with_edited_body_keeps_the_diff_processes_and_resolves_the_exception(failed, staff):
    exception = exceptions_for(failed).get()
    original = failed.body
    edited = pretty({**CUSTOMER, "customer": {**CUSTOMER["customer"], "name": "Acme Plumbing Inc."}})
    outcome = inbound_reprocess(message=failed, actor=staff, body=edited, note="name was missing")
    assert outcome.status_code == 201
    failed.refresh_from_db()
    assert (failed.status, failed.response_status, failed.errors) == (InboundStatus.PROCESSED, 201, [])
    assert failed.body == original  # the body as received is never changed
    assert inbound_current_body(failed) == edited
    revision = InboundMessageRevision.objects.get(message=failed)
    assert (revision.body, revision.note, revision.edited_by) == (edited, "name was missing", staff.user)
    assert revision.diff.startswith(f"--- message-{failed.pk}/before\n+++ message-{failed.pk}/after\n")
    changed = [line for line in revision.diff.splitlines()[2:] if line[:1] in "+-"]
    assert changed == [
        '-    "credit_limit": "25000.00"', '+    "credit_limit": "25000.00",', '+    "name": "Acme Plumbing Inc."',
    ]
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED and exception.resolved_by == staff.user
    assert Customer.objects.get().name == "Acme Plumbing Inc."
    assert AuditEntry.objects.filter(action="inbound.reprocessed", object_id=str(failed.pk)).exists()


def test_events_of_a_reprocessed_message_keep_its_correlation_and_the_staff_actor(failed, staff):
    from canonical.models import BusinessEvent

    inbound_reprocess(message=failed, actor=staff, body=json.dumps(CUSTOMER))
    event = BusinessEvent.objects.get(event_type="customer.created")
    assert event.correlation_id == failed.correlation_id
    assert (event.actor, event.source_system) == ("user:ops", failed.system)


def test_a_repeat_after_the_fix_gets_the_new_outcome(crm, failed, staff):
    inbound_reprocess(message=failed, actor=staff, body=json.dumps(CUSTOMER))
    repeat = send(crm, "crm", "customer.upsert", None, raw=failed.body, message_id="r-1")
    assert repeat.status_code == 201 and Customer.objects.count() == 1


def test_reprocess_that_fails_again_counts_on_the_same_exception_and_keeps_both_revisions(failed, staff):
    inbound_reprocess(message=failed, actor=staff, body='{"external_id": "x"}', note="try 1")
    outcome = inbound_reprocess(message=failed, actor=staff, body="not json", note="try 2")
    assert outcome.status_code == 400 and outcome.body["type"].endswith("/malformed-json")
    exception = exceptions_for(failed).get()
    assert (exception.status, exception.occurrences) == (ExceptionStatus.OPEN, 3)
    assert list(failed.revisions.values_list("note", flat=True)) == ["try 1", "try 2"]
    assert failed.revisions.last().diff.startswith('--- message-')
    failed.refresh_from_db()
    assert (failed.status, failed.processing_attempts) == (InboundStatus.FAILED, 3)


def test_reprocess_without_a_body_uses_the_latest_body_and_adds_no_revision(failed, staff):
    inbound_reprocess(message=failed, actor=staff)
    assert not InboundMessageRevision.objects.exists()
    assert exceptions_for(failed).get().occurrences == 2


def test_only_failed_messages_are_reprocessed(failed, staff, client):
    inbound_reprocess(message=failed, actor=staff, body=json.dumps(CUSTOMER))
    with pytest.raises(InboundReprocessRefused, match="is processed; only failed messages"):
        inbound_reprocess(message=failed, actor=staff)
    rejected = send(client, "crm", "customer.upsert", CUSTOMER).stored
    with pytest.raises(InboundReprocessRefused):
        inbound_reprocess(message=rejected, actor=staff, body=json.dumps(CUSTOMER))
    assert Customer.objects.count() == 1
