"""Inbound messages that must not be trusted, applied twice or lost: signatures, repeats, mapping,
background processing, and the sender's view of a message."""

from __future__ import annotations

import json
import time

import pytest

from canonical.models import BusinessEvent, Customer
from connectors.inbound.tasks import inbound_process_task
from connectors.models import Category, InboundMessage, InboundStatus, IntegrationException, Mapping
from connectors.services.inbound import inbound_process_stale
from connectors.signing import signature_compute
from tests.connectors.inbound_support import (
    CUSTOMER,
    assert_failed_with_exception,
    exceptions_for,
    inbound_connector,
    send,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inbound_urls")]
SECRET = "whsec-test-0123456789"
FIXTURES = "connectors/mapping/fixtures/salesforce/"


def counts() -> tuple[int, ...]:
    return (Customer.objects.count(), BusinessEvent.objects.count(), IntegrationException.objects.count(),
            InboundMessage.objects.exclude(status=InboundStatus.DUPLICATE).count())


# (c) signatures ------------------------------------------------------------------------------------


@pytest.fixture
def signed(crm, monkeypatch):
    monkeypatch.setenv("TEST_INBOUND_SIGNING", SECRET)
    return inbound_connector(crm.system, verify_inbound_signature=True, signing_secret_ref="env:TEST_INBOUND_SIGNING",
                             signature_tolerance_seconds=300)


def signature_headers(body: str, *, secret: str = SECRET, at: int | None = None) -> dict:
    stamp = int(time.time()) if at is None else at
    return {"HTTP_X_HUB_TIMESTAMP": str(stamp),
            "HTTP_X_HUB_SIGNATURE": signature_compute(secret=secret, timestamp=stamp, body=body.encode())}


def test_correctly_signed_message_is_processed(crm, signed):
    body = json.dumps(CUSTOMER)
    response = send(crm, "crm", "customer.upsert", None, raw=body, **signature_headers(body))
    assert response.status_code == 201, response.content
    assert response.stored.connector == signed


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        (lambda body: signature_headers(body, secret="not-the-secret"), "does not match the body and timestamp"),
        (lambda body: signature_headers(body + " "), "does not match the body and timestamp"),
        (lambda body: signature_headers(body, at=int(time.time()) - 301), "at most 300 s is accepted"),
        (lambda body: {}, "headers are required"),
    ],
    ids=["wrong-secret", "body-changed", "stale-timestamp", "unsigned"],
)
def test_bad_or_stale_signature_is_401_stored_and_counted_on_one_exception(crm, signed, headers, detail, caplog):
    body = json.dumps(CUSTOMER)
    for attempt in (1, 2):
        response = send(crm, "crm", "customer.upsert", None, raw=body, **headers(body))
        assert response.status_code == 401
        problem = response.json()
        assert problem["type"].endswith("/bad-signature") and detail in problem["detail"]
        assert (response.stored.status, response.stored.authenticated) == (InboundStatus.REJECTED, False)
        exception = IntegrationException.objects.get(fingerprint=f"inbound-signature:{signed.pk}")
        assert (exception.category, exception.occurrences) == (Category.AUTHENTICATION, attempt)
    assert not Customer.objects.exists()
    assert "bad signature" in caplog.text


def test_unresolvable_signing_secret_refuses_rather_than_accepting(crm, signed, monkeypatch):
    monkeypatch.delenv("TEST_INBOUND_SIGNING")
    body = json.dumps(CUSTOMER)
    response = send(crm, "crm", "customer.upsert", None, raw=body, **signature_headers(body))
    assert response.status_code == 401 and not Customer.objects.exists()


# (d) de-duplication ---------------------------------------------------------------------------------


def test_repeat_of_a_message_id_returns_the_first_outcome_marked_as_a_replay_and_changes_nothing(crm):
    first = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="crm-evt-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    before = counts()
    # The same document, written with other whitespace and key order, is the same message.
    reordered = json.dumps(dict(reversed(list(CUSTOMER.items()))), indent=2)
    repeat = send(crm, "crm", "customer.upsert", None, raw=reordered, message_id="crm-evt-1")
    assert (repeat.status_code, repeat.json()) == (first.status_code, first.json())
    assert repeat["Idempotent-Replayed"] == "true"
    assert counts() == before
    assert (repeat.stored.status, repeat.stored.duplicate_of) == (InboundStatus.DUPLICATE, first.stored)
    assert repeat.stored.sender_message_id is None  # the id stays with the first message


def test_same_message_id_with_another_body_is_refused_and_the_new_body_kept(crm):
    first = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="crm-evt-2")
    changed = {**CUSTOMER, "customer": {**CUSTOMER["customer"], "name": "Renamed Ltd"}}
    reused = send(crm, "crm", "customer.upsert", changed, message_id="crm-evt-2")
    problem, exception = assert_failed_with_exception(reused, status=422, slug="message-id-reused",
                                                      category=Category.VALIDATION)
    assert "Idempotent-Replayed" not in reused
    assert (problem["original_message_id"], problem["sender_message_id"]) == (first.stored.pk, "crm-evt-2")
    assert f"message {first.stored.pk}" in problem["detail"] and "another body" in problem["detail"]
    assert json.loads(reused.stored.body) == changed  # kept for staff to read and reprocess
    assert reused.stored.duplicate_of is None and reused.stored.sender_message_id is None
    assert Customer.objects.get().name == "Acme Plumbing Inc."
    # A repeat of the original is still its replay.
    assert send(crm, "crm", "customer.upsert", CUSTOMER, message_id="crm-evt-2")["Idempotent-Replayed"] == "true"


def test_a_first_attempt_that_failed_does_not_swallow_the_corrected_body(crm):
    """A partner fixing a refused message and resending it under the same id is told, not answered the old 400."""
    bad = {**CUSTOMER, "customer": {**CUSTOMER["customer"], "credit_limit": "lots"}}
    first = send(crm, "crm", "customer.upsert", bad, message_id="crm-evt-3")
    assert first.status_code == 400
    again = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="crm-evt-3")
    assert again.status_code == 422 and again.json()["type"].endswith("/message-id-reused")
    assert again.stored.status == InboundStatus.FAILED


def test_same_message_id_for_another_message_type_is_refused(crm):
    send(crm, "crm", "customer.upsert", CUSTOMER, message_id="crm-evt-4")
    other = send(crm, "crm", "customer.activated", CUSTOMER, message_id="crm-evt-4")
    assert other.status_code == 422 and "another message type" in other.json()["detail"]


def test_repeat_of_a_failed_message_returns_the_same_problem_and_opens_nothing_new(crm):
    first = send(crm, "crm", "customer.upsert", None, raw="{", message_id="m-9")
    exception = exceptions_for(first.stored).get()
    repeat = send(crm, "crm", "customer.upsert", None, raw="{", message_id="m-9")
    assert (repeat.status_code, repeat.json()) == (400, first.json())
    exception.refresh_from_db()
    assert exception.occurrences == 1 and IntegrationException.objects.count() == 1


def test_same_message_id_from_another_system_is_not_a_repeat(crm, partner_client):
    shop = partner_client("shop", "ecommerce")
    send(crm, "crm", "customer.upsert", CUSTOMER, message_id="same")
    other = send(shop, "shop", "customer.upsert", CUSTOMER, message_id="same")
    assert other.status_code == 409  # refused on its own merits (not the owner), not as a repeat
    assert other.stored.status == InboundStatus.FAILED


def test_unauthenticated_message_cannot_take_a_message_id(crm, client):
    send(client, "crm", "customer.upsert", CUSTOMER, message_id="squat")
    response = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="squat")
    assert response.status_code == 201


def test_message_id_can_come_from_a_body_field(crm):
    inbound_connector(crm.system, message_id_field="/message_id")
    body = {**CUSTOMER, "message_id": "body-42"}
    first = send(crm, "crm", "customer.upsert", body, HTTP_X_MESSAGE_ID="ignored")
    repeat = send(crm, "crm", "customer.upsert", body)
    assert first.stored.sender_message_id == "body-42"
    assert (repeat.status_code, repeat.stored.status) == (201, InboundStatus.DUPLICATE)


def test_message_id_in_the_body_de_duplicates_without_a_header(crm):
    body = {**CUSTOMER, "message_id": "body-7"}
    first = send(crm, "crm", "customer.upsert", body)
    repeat = send(crm, "crm", "customer.upsert", body)
    assert first.status_code == 201 and first.stored.sender_message_id == "body-7"
    assert (repeat.status_code, repeat.stored.status, repeat.stored.duplicate_of) == (
        201, InboundStatus.DUPLICATE, first.stored)
    assert BusinessEvent.objects.filter(event_type="customer.created").count() == 1


def test_the_header_and_the_body_may_carry_the_same_message_id(crm):
    body = {**CUSTOMER, "message_id": "both-1"}
    first = send(crm, "crm", "customer.upsert", body, message_id="both-1")
    repeat = send(crm, "crm", "customer.upsert", body)
    assert first.stored.sender_message_id == "both-1"
    assert repeat.stored.duplicate_of == first.stored


def test_a_header_and_a_body_message_id_that_differ_are_refused(crm):
    response = send(crm, "crm", "customer.upsert", {**CUSTOMER, "message_id": "body-8"}, message_id="header-8")
    problem, _ = assert_failed_with_exception(response, status=400, slug="invalid-message-id",
                                              category=Category.VALIDATION)
    assert [e["pointer"] for e in problem["errors"]] == ["/message_id"]
    assert "header-8" in problem["detail"] and "body-8" in problem["detail"]
    assert response.stored.sender_message_id is None and not Customer.objects.exists()


def test_a_connector_naming_the_schemas_body_field_de_duplicates_by_it(crm):
    """The demo carrier's set-up: the id only in the body, at the field the schemas accept."""
    inbound_connector(crm.system, message_id_field="/message_id")
    body = {**CUSTOMER, "message_id": "carrier-like-1"}
    first = send(crm, "crm", "customer.upsert", body)
    repeat = send(crm, "crm", "customer.upsert", body)
    assert first.status_code == 201, first.content
    assert repeat.stored.duplicate_of == first.stored


def test_concurrent_claim_of_the_same_id_is_settled_by_the_constraint(crm):
    """Two rows reach the claim with the same id (as two workers would): the second gets the first's outcome."""
    from connectors.services.inbound import _claim

    first = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="race")
    racing = InboundMessage.objects.create(system=crm.system, message_type="customer.upsert", body="{}")
    assert _claim(racing, "race") == first.stored
    assert InboundMessage.objects.get(pk=racing.pk).sender_message_id is None


# mapping through the connector -----------------------------------------------------------------------


@pytest.fixture
def salesforce_mapping(crm):
    connector = inbound_connector(crm.system)
    with open(FIXTURES + "account_inbound.mapping.json") as spec:
        return Mapping.objects.create(name="sf-account", version=1, direction="inbound", connector=connector,
                                      message_type="customer.upsert", spec=json.load(spec))


def salesforce_account(**changes) -> dict:
    with open(FIXTURES + "account.json") as source:
        account = json.load(source)
    account.update(ParentId=None, **changes)
    return account


def test_partner_shape_is_mapped_through_the_connectors_mapping(crm, salesforce_mapping):
    response = send(crm, "crm", "customer.upsert", salesforce_account())
    assert response.status_code == 201, response.content
    customer = Customer.objects.get(account_number="A-1001")
    assert customer.name == "Acme Plumbing Inc."
    assert sorted(customer.addresses.values_list("kind", "country")) == [("billing", "US"), ("shipping", "US")]


def test_mapping_errors_are_422_naming_the_partners_fields(crm, salesforce_mapping):
    response = send(crm, "crm", "customer.upsert", salesforce_account(Name=None, Type="Competitor"))
    problem, _ = assert_failed_with_exception(response, status=422, slug="mapping-error", category=Category.MAPPING)
    assert [(e["pointer"], e["target"]) for e in problem["errors"]] == [
        ("/Name", "/customer/name"), ("/Type", "/customer/status"),
    ]
    assert problem["mapping"] == "sf-account v1"
    assert not Customer.objects.exists()


def test_partner_body_is_checked_against_the_mappings_source_schema(crm, salesforce_mapping):
    response = send(crm, "crm", "customer.upsert", salesforce_account(Id=42))
    problem, _ = assert_failed_with_exception(response, status=400, slug="validation-error",
                                              category=Category.VALIDATION)
    assert [e["pointer"] for e in problem["errors"]] == ["/Id"]


def test_mapped_output_that_breaks_the_message_contract_is_a_mapping_error(crm, salesforce_mapping):
    response = send(crm, "crm", "customer.upsert", salesforce_account(AccountNumber="X" * 41))
    problem, _ = assert_failed_with_exception(response, status=422, slug="mapping-error", category=Category.MAPPING)
    assert [(e["pointer"], e["in"]) for e in problem["errors"]] == [("/customer/account_number", "mapped")]


def test_a_broken_mapping_spec_is_the_hubs_fault_and_is_queued_high(crm, salesforce_mapping):
    Mapping.objects.filter(pk=salesforce_mapping.pk).update(spec=[{"target": "/x", "source": "/y", "transform": "rot13"}])
    response = send(crm, "crm", "customer.upsert", salesforce_account())
    _, exception = assert_failed_with_exception(response, status=500, slug="mapping-misconfigured",
                                                category=Category.MAPPING)
    assert exception.severity == "high"


# (f) background processing ---------------------------------------------------------------------------


def test_async_connector_answers_202_and_the_task_processes_it(crm, django_capture_on_commit_callbacks):
    inbound_connector(crm.system, process_inbound_async=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="a-1")
    assert response.status_code == 202
    url = f"/api/v1/inbound/messages/{response.stored.pk}"
    assert response["Location"] == url and response.json()["message"]["url"] == url
    assert len(callbacks) == 1  # the task is queued only once the message is committed
    assert response.stored.status == InboundStatus.RECEIVED and not Customer.objects.exists()
    assert crm.get(url).json()["status"] == "received"

    assert inbound_process_task(response.stored.pk) == "answered 201"
    status = crm.get(url).json()
    assert (status["status"], status["response_status"]) == ("processed", 201)
    assert Customer.objects.filter(account_number="A-1001").exists()
    assert inbound_process_task(response.stored.pk) == "skipped: not waiting"  # a second run changes nothing
    # The new account's events: created, and (onboarding, hub.workflows.onboarding) sent to ERP.
    assert list(BusinessEvent.objects.order_by("id").values_list("event_type", flat=True)) == [
        "customer.created", "customer.activation_requested"]


def test_async_repeats_are_replayed_or_refused_by_their_body(crm, django_capture_on_commit_callbacks):
    inbound_connector(crm.system, process_inbound_async=True)
    with django_capture_on_commit_callbacks(execute=False):
        first = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="a-2")
        repeat = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="a-2")
        reused = send(crm, "crm", "customer.upsert", {**CUSTOMER, "external_id": "other"}, message_id="a-2")
    assert (first.status_code, repeat.status_code) == (202, 202)
    assert (repeat.json(), repeat["Location"], repeat["Idempotent-Replayed"]) == (
        first.json(), first["Location"], "true")
    assert reused.status_code == 422 and reused.stored.status == InboundStatus.FAILED


def test_async_failure_is_kept_with_an_exception(crm):
    inbound_connector(crm.system, process_inbound_async=True)
    response = send(crm, "crm", "customer.upsert", {"external_id": "X"})
    assert response.status_code == 202
    inbound_process_task(response.stored.pk)
    response.stored.refresh_from_db()
    assert (response.stored.status, response.stored.response_status) == (InboundStatus.FAILED, 400)
    assert exceptions_for(response.stored).get().category == Category.VALIDATION


def test_repeat_while_waiting_gets_the_202_and_later_the_outcome(crm):
    inbound_connector(crm.system, process_inbound_async=True)
    first = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="a-2")
    waiting = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="a-2")
    assert (waiting.status_code, waiting.json()) == (202, first.json())
    inbound_process_task(first.stored.pk)
    after = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="a-2")
    assert after.status_code == 201 and Customer.objects.count() == 1


def test_sweeper_processes_accepted_messages_whose_task_was_lost(crm):
    from datetime import timedelta

    from django.utils import timezone

    inbound_connector(crm.system, process_inbound_async=True)
    response = send(crm, "crm", "customer.upsert", CUSTOMER)
    assert inbound_process_stale() == 0  # too young: its task may still be on its way
    InboundMessage.objects.filter(pk=response.stored.pk).update(received_at=timezone.now() - timedelta(minutes=6))
    assert inbound_process_stale() == 1
    assert InboundMessage.objects.get(pk=response.stored.pk).status == InboundStatus.PROCESSED


# the sender's view -----------------------------------------------------------------------------------


def test_message_status_is_visible_to_its_sender_only(crm, partner_client, client):
    response = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="v-1")
    url = f"/api/v1/inbound/messages/{response.stored.pk}"
    mine = crm.get(url)
    assert mine.status_code == 200
    assert mine.json()["sender_message_id"] == "v-1" and mine.json()["response_body"] == response.json()
    assert partner_client("erp", "erp").get(url).status_code == 404
    assert client.get(url).status_code == 401
