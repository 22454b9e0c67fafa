"""Who may take a sender's message id, and when: with the INSERT that stores the message when its
own system's key was checked first (the governance policy), after the checks otherwise; and what
becomes of a message whose request died after taking it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from canonical.context import Actor
from canonical.models import Customer
from connectors.models import InboundMessage, InboundStatus, IntegrationException
from connectors.services.inbound import _run, inbound_process_stale
from tests.connectors.inbound_support import CUSTOMER, inbound_connector, send
from tests.connectors.test_inbound_resilience import SECRET, signature_headers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inbound_urls")]


def test_the_id_is_taken_with_the_insert_when_the_key_was_checked_first(crm):
    first = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="early-1")
    assert first.status_code == 201
    assert (first.stored.sender_message_id, first.stored.authenticated) == ("early-1", True)
    repeat = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="early-1")
    assert (repeat.status_code, repeat.json()) == (201, first.json())
    assert (repeat.stored.status, repeat.stored.duplicate_of, repeat.stored.sender_message_id) == (
        InboundStatus.DUPLICATE, first.stored, None)
    assert Customer.objects.count() == 1


@override_settings(HUB_POLICY_ENABLED=False)
def test_without_the_policy_the_id_is_taken_after_the_key_is_checked(crm):
    first = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="late-1")
    repeat = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="late-1")
    assert (first.status_code, repeat.status_code) == (201, 201)
    assert first.stored.sender_message_id == "late-1"
    assert (repeat.stored.status, repeat.stored.duplicate_of) == (InboundStatus.DUPLICATE, first.stored)
    assert Customer.objects.count() == 1


def test_another_systems_key_cannot_take_the_id(crm, partner_client):
    shop = partner_client("shop", "ecommerce")
    refused = send(shop, "crm", "customer.upsert", CUSTOMER, message_id="squat-2")
    assert refused.status_code == 403 and refused.stored.sender_message_id is None
    assert send(crm, "crm", "customer.upsert", CUSTOMER, message_id="squat-2").status_code == 201


def test_a_key_without_a_valid_signature_cannot_take_the_id(crm, monkeypatch):
    monkeypatch.setenv("TEST_INBOUND_SIGNING", SECRET)
    inbound_connector(crm.system, verify_inbound_signature=True, signing_secret_ref="env:TEST_INBOUND_SIGNING",
                      signature_tolerance_seconds=300)
    body = json.dumps(CUSTOMER)
    forged = send(crm, "crm", "customer.upsert", None, raw=body, message_id="signed-1",
                  **signature_headers(body, secret="not-the-secret"))
    assert forged.status_code == 401 and forged.stored.sender_message_id is None
    signed = send(crm, "crm", "customer.upsert", None, raw=body, message_id="signed-1", **signature_headers(body))
    assert signed.status_code == 201 and signed.stored.sender_message_id == "signed-1"


def test_a_message_whose_request_died_is_in_flight_until_the_sweeper_processes_it(crm):
    # As the INSERT leaves it when the web worker is killed before processing: its id taken, waiting.
    died = InboundMessage.objects.create(
        system=crm.system, message_type="customer.upsert", body=json.dumps(CUSTOMER), authenticated=True,
        sender="crm-app", sender_message_id="died-1", correlation_id="c-died",
    )
    repeat = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="died-1")
    assert repeat.status_code == 409 and repeat["Retry-After"] == "5"
    assert repeat.json()["type"].endswith("/message-in-flight") and repeat.json()["message_id"] == died.pk
    assert not Customer.objects.exists()

    assert inbound_process_stale() == 0  # too young: the request may still be running
    InboundMessage.objects.filter(pk=died.pk).update(received_at=timezone.now() - timedelta(minutes=6))
    assert inbound_process_stale() == 1
    died.refresh_from_db()
    assert (died.status, died.response_status) == (InboundStatus.PROCESSED, 201)
    again = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="died-1")
    assert (again.status_code, again.json()) == (201, died.response_body)
    assert Customer.objects.count() == 1


def test_processing_that_lost_to_the_sweeper_rolls_back_and_answers_the_stored_outcome(crm):
    message = InboundMessage.objects.create(
        system=crm.system, message_type="customer.upsert", body=json.dumps(CUSTOMER), authenticated=True,
    )
    stored = {"message": {"id": message.pk}, "status": "processed", "result": {"from": "the sweeper"}}
    # The sweeper finished it while this request, holding the row as it was, was still processing.
    InboundMessage.objects.filter(pk=message.pk).update(
        status=InboundStatus.PROCESSED, response_status=201, response_body=stored)
    outcome = _run(message, Actor(system=crm.system), json.dumps(CUSTOMER))
    assert (outcome.status_code, outcome.body) == (201, stored)
    assert not Customer.objects.exists()  # this request's writes were rolled back
    assert InboundMessage.objects.get(pk=message.pk).response_body == stored


def test_a_failure_that_lost_to_the_sweeper_opens_no_exception(crm):
    message = InboundMessage.objects.create(
        system=crm.system, message_type="customer.upsert", body="{", authenticated=True,
    )
    InboundMessage.objects.filter(pk=message.pk).update(
        status=InboundStatus.FAILED, response_status=400, response_body={"detail": "first"})
    outcome = _run(message, Actor(system=crm.system), "{")
    assert (outcome.status_code, outcome.body) == (400, {"detail": "first"})
    assert not IntegrationException.objects.exists()


def test_a_connector_with_a_mapping_for_another_type_applies_none(crm):
    from connectors.models import Mapping

    connector = inbound_connector(crm.system)
    Mapping.objects.create(name="orders-only", version=1, direction="inbound", connector=connector,
                           message_type="order.status", spec={"fields": [{"target": "/x", "source": "/y"}]})
    assert send(crm, "crm", "customer.upsert", CUSTOMER).status_code == 201


@override_settings(HUB_MAX_BODY_BYTES=2048)
def test_an_oversized_message_is_recorded_without_its_body_and_refused_with_its_id(crm):
    body = json.dumps({**CUSTOMER, "padding": "x" * 4096})
    response = crm.generic("POST", "/api/v1/inbound/crm/customer.upsert", body, "application/json",
                           HTTP_X_MESSAGE_ID="big-1")
    assert response.status_code == 413 and response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/payload-too-large")
    assert (problem["body_bytes"], problem["limit_bytes"]) == (len(body), 2048)
    stored = InboundMessage.objects.get(pk=problem["message_id"])
    assert (stored.status, stored.response_status, stored.body) == (InboundStatus.REJECTED, 413, "")
    assert stored.system == crm.system and stored.headers["X-Message-Id"] == "big-1"
    assert stored.correlation_id == response["X-Correlation-ID"]
    assert stored.errors == [{"pointer": "/", "messages": [f"The request body is {len(body)} bytes; the limit is 2048 bytes."]}]
    assert stored.headers["Authorization"] == "[masked]"
    assert not Customer.objects.exists()
    # The id is not taken: the same message, small enough, goes through.
    assert send(crm, "crm", "customer.upsert", CUSTOMER, message_id="big-1").status_code == 201


@override_settings(HUB_MAX_BODY_BYTES=2048)
def test_an_oversized_request_to_another_api_is_refused_and_not_recorded(crm):
    response = crm.generic("POST", "/api/v1/inbound/messages/5", "x" * 4096, "application/json")
    assert response.status_code == 413 and not InboundMessage.objects.exists()
