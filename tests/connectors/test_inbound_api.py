"""The inbound endpoint, step by step: store, authenticate, verify, de-duplicate, validate, map, apply."""

from __future__ import annotations

import json

import pytest

from canonical.json_depth import TOO_DEEP
from canonical.models import BusinessEvent, Customer, ExternalRef
from connectors.inbound.registry import schema_validator
from connectors.models import Category, InboundStatus, IntegrationException
from tests.connectors.inbound_support import (
    CUSTOMER,
    assert_failed_with_exception,
    exceptions_for,
    send,
)
from tests.factories import SystemOfRecordFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("inbound_urls")]


def test_customer_upsert_from_crm_creates_the_customer_and_is_stored_processed(crm):
    response = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="m-1")
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(account_number="A-1001")
    assert body["result"] == {
        "customer": {"id": customer.pk, "account_number": "A-1001", "status": "pending",
                     "onboarding": "activation_requested"},
        "created": True, "changed": [],
    }
    assert body["message"] == {"id": response.stored.pk, "url": f"/api/v1/inbound/messages/{response.stored.pk}"}
    stored = response.stored
    assert (stored.status, stored.authenticated, stored.sender_message_id) == (InboundStatus.PROCESSED, True, "m-1")
    assert stored.response_status == 201 and stored.response_body == body
    assert stored.sender.startswith("consumer:")
    assert stored.headers["Authorization"] == "[masked]"
    assert crm.raw_key not in str(stored.headers)
    event = BusinessEvent.objects.get(event_type="customer.created")
    assert event.correlation_id == stored.correlation_id
    assert event.causation_id == f"inbound:{stored.pk}"
    assert ExternalRef.objects.filter(system=crm.system, external_id="0015g00000XyZ1AAA").exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_processing_a_message_sends_no_begin_of_its_own(crm, sent_alone):
    """The processing transaction begins in the message of its first statement (atomic_begin_carried)."""
    assert send(crm, "crm", "customer.upsert", CUSTOMER, message_id="m-0").status_code == 201
    sent_alone.clear()  # the first call of the day also created the consumer's usage counter
    response = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="m-1")
    assert response.status_code == 200, response.content  # the same customer again: updated
    assert b"BEGIN" not in sent_alone
    assert response.stored.status == InboundStatus.PROCESSED
    assert Customer.objects.filter(account_number="A-1001").exists()


# (b) authentication ---------------------------------------------------------------------------------


def test_no_key_is_401_stored_as_rejected_and_opens_no_exception(client, crm):
    response = send(client, "crm", "customer.upsert", CUSTOMER)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="hub"'
    assert response.json()["type"].endswith("/not-authenticated")
    stored = response.stored
    assert (stored.status, stored.authenticated, stored.response_status) == (InboundStatus.REJECTED, False, 401)
    assert stored.system == crm.system and stored.message_type == "customer.upsert"
    assert not IntegrationException.objects.exists()
    assert not Customer.objects.exists()


def test_unknown_key_is_401_with_the_reason_and_the_key_is_not_stored(client, crm):
    response = send(client, "crm", "customer.upsert", CUSTOMER, HTTP_X_API_KEY="hub_nope_secretsecret")
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key is not known."
    assert response.stored.status == InboundStatus.REJECTED
    assert response.stored.headers["X-Api-Key"] == "[masked]"
    assert "secretsecret" not in str(response.stored.headers)
    assert not IntegrationException.objects.exists()


def test_key_of_another_system_is_403_and_changes_nothing(partner_client, crm):
    erp = partner_client("erp", "erp")
    response = send(erp, "crm", "customer.upsert", CUSTOMER)
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden-system")
    assert "'erp'" in response.json()["detail"] and "'crm'" in response.json()["detail"]
    stored = response.stored
    assert (stored.status, stored.authenticated, stored.system) == (InboundStatus.REJECTED, True, crm.system)
    assert not Customer.objects.exists() and not IntegrationException.objects.exists()


def test_unknown_system_in_the_url_is_refused_and_still_stored(crm):
    response = send(crm, "nosuch", "customer.upsert", CUSTOMER)
    assert response.status_code == 403
    assert response.stored.system is None and response.stored.status == InboundStatus.REJECTED


# (e) parse, validate, map, apply ---------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_a_body_not_sent_as_json_is_415_kept_with_an_exception(crm, content_type):
    response = send(crm, "crm", "customer.upsert", CUSTOMER, content_type=content_type, message_id="ct-1")
    problem, _ = assert_failed_with_exception(response, status=415, slug="unsupported-media-type",
                                              category=Category.VALIDATION)
    assert problem["accepted"] == ["application/json", "application/*+json"]
    assert content_type in problem["detail"]
    assert response.stored.sender_message_id is None and not Customer.objects.exists()
    # The id was not taken: the same message sent as JSON under it is processed, not a repeat.
    again = send(crm, "crm", "customer.upsert", CUSTOMER, message_id="ct-1")
    assert again.status_code == 201 and again.stored.sender_message_id == "ct-1"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.partner+json"])
def test_json_media_types_with_parameters_or_a_json_suffix_are_taken(crm, content_type):
    response = send(crm, "crm", "customer.upsert", CUSTOMER, content_type=content_type)
    assert response.status_code == 201, response.content


def test_the_key_is_checked_before_the_content_type(client, crm):
    response = send(client, "crm", "customer.upsert", CUSTOMER, content_type="text/plain")
    assert response.status_code == 401


def test_malformed_json_is_400_kept_as_failed_with_an_exception(crm):
    response = send(crm, "crm", "customer.upsert", None, raw='{"external_id": "X1", "customer": {')
    problem, exception = assert_failed_with_exception(
        response, status=400, slug="malformed-json", category=Category.VALIDATION
    )
    assert problem["detail"].startswith("The body is not valid JSON: Expecting property name")
    assert "line 1, column" in problem["detail"]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("depth", [65, 5000])
def test_a_body_nested_too_deeply_is_malformed_and_kept(crm, depth):
    # 5000 levels is past what Python's decoder can recurse: that was a 500.
    body = '{"external_id": "X1", "customer": ' + "[" * depth + "]" * depth + "}"
    response = send(crm, "crm", "customer.upsert", None, raw=body)
    problem, _ = assert_failed_with_exception(response, status=400, slug="malformed-json",
                                              category=Category.VALIDATION)
    assert problem["detail"] == TOO_DEEP
    assert response.stored.body == body
    assert not Customer.objects.exists()


def test_body_that_is_not_utf8_is_malformed(crm):
    response = send(crm, "crm", "customer.upsert", None, raw=b'{"external_id": "\xff"}')
    assert_failed_with_exception(response, status=400, slug="malformed-json", category=Category.VALIDATION)
    assert "not UTF-8" in response.json()["detail"]


def test_schema_violations_are_400_naming_every_pointer(crm):
    body = {"external_id": "", "customer": {"account_number": "A-1", "credit_limit": True, "colour": "red",
                                            "addresses": [{"line1": "x"}]}}
    response = send(crm, "crm", "customer.upsert", body)
    problem, _ = assert_failed_with_exception(
        response, status=400, slug="validation-error", category=Category.VALIDATION
    )
    assert {e["pointer"] for e in problem["errors"]} == {
        "/external_id", "/customer/name", "/customer/colour", "/customer/credit_limit", "/customer/addresses/0/city",
    }
    assert "Unknown field 'colour'." in [m for e in problem["errors"] for m in e["messages"]]
    assert response.stored.errors == problem["errors"]


def test_each_missing_field_is_named_once(partner_client):
    wms = partner_client("wms", "wms")
    response = send(wms, "wms", "shipment.milestone", {"code": "delivered"})
    problem, _ = assert_failed_with_exception(
        response, status=400, slug="validation-error", category=Category.VALIDATION
    )
    assert sorted(e["pointer"] for e in problem["errors"]) == ["/occurred_at", "/shipment_id"]


@pytest.mark.parametrize("occurred_at", ["2026-12-06T20:00:00", "2026-12-06", "yesterday", "2026-02-30T10:00:00Z",
                                         "2026-12-06T25:00:00Z"])
def test_a_time_without_an_offset_or_that_does_not_exist_is_refused(partner_client, occurred_at):
    wms = partner_client("wms", "wms")
    response = send(wms, "wms", "shipment.milestone",
                    {"shipment_id": "WMS-1", "code": "delivered", "occurred_at": occurred_at})
    problem, _ = assert_failed_with_exception(
        response, status=400, slug="validation-error", category=Category.VALIDATION
    )
    assert [e["pointer"] for e in problem["errors"]] == ["/occurred_at"]
    assert "is not a 'date-time'" in problem["errors"][0]["messages"][0]


def test_rfc3339_times_pass_the_date_time_format():
    validator = schema_validator({"type": "string", "format": "date-time"})
    for good in ("2026-12-06T20:00:00Z", "2026-12-06t20:00:00.1234567z", "2026-12-06 20:00:00+05:30",
                 "2026-12-06T20:00:00.5-08:00"):
        assert validator.is_valid(good), good
    for bad in ("2026-12-06T20:00Z", "20261206T200000Z", "2026-12-06T20:00:00+0530"):
        assert not validator.is_valid(bad), bad


def test_field_rules_beyond_the_schema_are_400_naming_the_pointer(crm):
    body = {**CUSTOMER, "customer": {**CUSTOMER["customer"], "contacts": [{"name": "Pat", "email": "not-an-email"}],
                                     "parent": "NO-SUCH-PARENT"}}
    response = send(crm, "crm", "customer.upsert", body)
    problem, _ = assert_failed_with_exception(
        response, status=400, slug="validation-error", category=Category.VALIDATION
    )
    assert {e["pointer"] for e in problem["errors"]} == {"/customer/contacts/0/email", "/customer/parent"}


def test_unknown_message_type_is_404_and_kept(crm):
    response = send(crm, "crm", "customer.delete", CUSTOMER)
    problem, _ = assert_failed_with_exception(
        response, status=404, slug="unknown-message-type", category=Category.VALIDATION
    )
    assert "customer.upsert" in problem["detail"]


def test_write_by_a_system_that_does_not_own_the_domain_is_409(partner_client):
    crm_only = partner_client("crm", "crm")
    SystemOfRecordFactory(domain="customers", system=partner_client("erp", "erp").system)
    response = send(crm_only, "crm", "customer.upsert", CUSTOMER)
    problem, exception = assert_failed_with_exception(
        response, status=409, slug="not-system-of-record", category=Category.BUSINESS_RULE
    )
    assert problem["system_of_record"] == "erp"
    assert not Customer.objects.exists() and not BusinessEvent.objects.exists()
    assert exception.title == "Inbound customer.upsert from crm failed: Not the system of record"


def test_a_second_failure_of_the_same_message_counts_on_its_exception(crm):
    from canonical.context import Actor
    from connectors.services.inbound import inbound_reprocess

    response = send(crm, "crm", "customer.upsert", None, raw="{")
    inbound_reprocess(message=response.stored, actor=Actor.hub())
    exception = exceptions_for(response.stored).get()
    assert exception.occurrences == 2
    assert response.stored.processing_attempts == 2


@pytest.mark.parametrize(("constant", "why"), [
    ("NaN", "NaN is not a JSON number"), ("Infinity", "Infinity is not a JSON number"),
    ("-Infinity", "-Infinity is not a JSON number"), ("1e999", "1e999 is too large for a number"),
])
def test_nan_infinity_and_numbers_read_as_infinity_are_refused_as_malformed(crm, constant, why):
    """Python's decoder reads them (1e999 as infinity); JSON (RFC 8259) has no such numbers, nor has jsonb."""
    body = json.dumps(CUSTOMER).replace('"25000.00"', constant)
    response = send(crm, "crm", "customer.upsert", None, raw=body)
    problem, _ = assert_failed_with_exception(response, status=400, slug="malformed-json",
                                              category=Category.VALIDATION)
    assert problem["detail"] == f"The body is not valid JSON: {why}."
    assert response.stored.body == body
    assert not Customer.objects.exists()
