"""Customer onboarding: the CRM's new account is checked for likely duplicates; a clean one is sent
to ERP (through the real relay and dispatcher) and activated by ERP's answer; a likely duplicate is
held in the data stewards' queue, where a steward merges or dismisses."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from canonical.access import AccessDenied
from canonical.context import Actor
from canonical.models import (
    Address,
    AuditEntry,
    BusinessEvent,
    Customer,
    DuplicateDismissal,
    ExternalRef,
)
from canonical.services.duplicates import customer_duplicates_find
from connectors.models import Category, IntegrationException, Team
from connectors.services.exceptions import ExceptionActionRefused, exception_resolve
from hub.workflows.onboarding import (
    customer_onboarding_check,
    duplicate_review_dismiss,
    duplicate_review_merge,
)
from tests.connectors.inbound_support import send
from tests.connectors.outbound_support import deliver_all
from tests.connectors.receiver import Receiver
from tests.factories import (
    CustomerFactory,
    ExternalRefFactory,
    OrderFactory,
    OutboundConnectorFactory,
    SubscriptionFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db

NEW_ACCOUNT = {
    "account_number": "A-2001",
    "name": "ACME Plumbing, Inc",
    "tax_id": "12-3456789",
    "credit_limit": "25000.00",
    "addresses": [{"kind": "billing", "line1": "1 MAIN STREET", "city": "Springfield", "postal_code": "62701",
                   "is_default": True}],
    "contacts": [{"name": "Pat Buyer", "email": "pat@acme.test", "is_primary": True}],
}


@pytest.fixture
def crm(partner_client):
    client = partner_client("crm", "crm")
    SystemOfRecordFactory(domain="customers", system=client.system)
    return client


@pytest.fixture
def erp(partner_client):
    return partner_client("erp", "erp")


@pytest.fixture
def steward(django_user_model):
    user = django_user_model.objects.create_user("sam", is_staff=True)
    group = Group.objects.create(name="stewards-test")
    group.permissions.add(Permission.objects.get(codename="work_data_stewardship_queue"))
    user.groups.add(group)
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


def put(client, external_id, body):
    return client.put(f"/api/v1/systems/crm/customers/{external_id}", body, format="json")


def legacy_erp_account(erp_system, *, account_number="C900001", erp_id="900001", **fields) -> Customer:
    """An account keyed straight into the ERP before the hub (the classic duplicate)."""
    values = {"name": "Acme Plumbing Inc.", "tax_id": "12-3456789", **fields}
    customer = CustomerFactory(account_number=account_number, **values)
    Address.objects.create(customer=customer, kind="billing", line1="1 Main St", city="Springfield",
                           postal_code="62701", is_default=True)
    ExternalRefFactory(system=erp_system, entity_type="customer", external_id=erp_id, object_id=customer.pk)
    return customer


def event_types(customer: Customer) -> list[str]:
    return list(BusinessEvent.objects.filter(aggregate_type="customer", aggregate_id=str(customer.pk))
                .order_by("sequence").values_list("event_type", flat=True))


def duplicate_exception() -> IntegrationException:
    return IntegrationException.objects.get(category=Category.DUPLICATE_CUSTOMER)


# --- the check on creation ---------------------------------------------------------------------


def test_a_clean_account_is_pending_and_sent_to_erp_for_activation(crm):
    response = put(crm, "0015g00000AbC", {**NEW_ACCOUNT, "status": "active"})
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["onboarding"]) == ("pending", "activation_requested")
    customer = Customer.objects.get(pk=data["id"])
    assert customer.activation_requested_at is not None
    assert event_types(customer) == ["customer.created", "customer.activation_requested"]
    request = BusinessEvent.objects.get(event_type="customer.activation_requested")
    assert request.payload["customer"]["account_number"] == "A-2001"
    assert request.correlation_id == response["X-Correlation-ID"]
    assert not IntegrationException.objects.exists()


def test_a_likely_duplicate_is_held_and_opens_a_data_steward_exception_with_the_reasons(crm, erp):
    original = legacy_erp_account(erp.system)
    response = put(crm, "0015g00000AbC", NEW_ACCOUNT)
    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["onboarding"]) == ("pending", "duplicate_review")
    new = Customer.objects.get(account_number="A-2001")
    assert event_types(new) == ["customer.created"], "not sent to ERP while held"

    exception = duplicate_exception()
    assert (exception.team, exception.status, exception.customer) == (Team.DATA_STEWARDSHIP, "open", new)
    assert exception.title == ("Possible duplicate: ACME Plumbing, Inc (A-2001) looks like "
                               "Acme Plumbing Inc. (C900001)")
    assert exception.workflow_step == "customer_onboarding.duplicate_check"
    assert exception.correlation_id == response["X-Correlation-ID"]
    [candidate] = exception.context["candidates"]
    assert (candidate["id"], candidate["account_number"], candidate["score"]) == (original.pk, "C900001", 1.0)
    assert [r["signal"] for r in candidate["reasons"]] == ["tax_id", "name", "address"]
    assert all(r["detail"] and r["points"] > 0 for r in candidate["reasons"])
    assert exception.context["customer"]["account_number"] == "A-2001"
    assert AuditEntry.objects.filter(action="customer.onboarding_duplicate_review", object_id=str(new.pk)).exists()


def test_the_inbound_customer_upsert_message_is_checked_the_same_way(crm, erp):
    legacy_erp_account(erp.system)
    response = send(crm, "crm", "customer.upsert", {"external_id": "0015g00000AbC", "customer": NEW_ACCOUNT},
                    message_id="crm-msg-1")
    assert response.status_code == 201, response.content
    assert response.json()["result"]["customer"]["onboarding"] == "duplicate_review"
    exception = duplicate_exception()
    assert exception.customer.account_number == "A-2001"
    assert exception.inbound_message is None, "a retry of the message is not how a duplicate is decided"
    assert exception.correlation_id == response.stored.correlation_id


def test_the_crm_cannot_make_a_waiting_account_active_before_erp_does(crm):
    put(crm, "X1", NEW_ACCOUNT)
    response = put(crm, "X1", {**NEW_ACCOUNT, "status": "active", "credit_limit": "30000.00"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["credit_limit"]) == ("pending", "30000.00")
    assert BusinessEvent.objects.filter(event_type="customer.updated").get().payload["changed"] == ["credit_limit"]


def test_the_crm_can_deactivate_a_waiting_account(crm):
    put(crm, "X1", NEW_ACCOUNT)
    assert put(crm, "X1", {**NEW_ACCOUNT, "status": "inactive"}).json()["status"] == "inactive"


def test_the_onboarding_is_wired_by_the_setting_the_write_paths_read(crm, settings):
    settings.HUB_CUSTOMER_WRITE_SERVICE = ""  # plain canonical upsert: what canonical does on its own
    data = put(crm, "X1", NEW_ACCOUNT).json()
    assert (data["status"], data["onboarding"]) == ("active", "")
    assert not BusinessEvent.objects.filter(event_type="customer.activation_requested").exists()


def test_an_account_created_inactive_is_not_onboarded(crm):
    data = put(crm, "X1", {**NEW_ACCOUNT, "status": "inactive"}).json()
    assert (data["status"], data["onboarding"]) == ("inactive", "")
    assert not BusinessEvent.objects.filter(event_type="customer.activation_requested").exists()


def test_updates_do_not_run_the_check_again(crm, erp):
    put(crm, "X1", NEW_ACCOUNT)
    legacy_erp_account(erp.system)  # a twin appears later: the steward finds it by other means
    put(crm, "X1", {**NEW_ACCOUNT, "name": "ACME Plumbing Inc"})
    assert not IntegrationException.objects.exists()


def test_an_account_the_hub_already_has_is_linked_not_onboarded_again(crm):
    existing = CustomerFactory(account_number="A-2001", name="Acme Plumbing Inc.", status="active")
    response = put(crm, "X1", NEW_ACCOUNT)
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert response.json()["id"] == existing.pk
    assert not BusinessEvent.objects.filter(event_type="customer.activation_requested").exists()


def test_a_write_for_an_account_merged_away_is_refused_naming_the_survivor(crm, steward):
    survivor = CustomerFactory(account_number="A-1", name="Zeta Pipe")
    CustomerFactory(account_number="A-2001", name="Zeta Pipes", status="merged", merged_into=survivor)
    response = put(crm, "X1", NEW_ACCOUNT)
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("/customer-merged")
    assert "merged into A-1" in problem["detail"] and problem["merged_into"] == survivor.pk


# --- ERP's answer ---------------------------------------------------------------------------------


@pytest.fixture
def waiting(crm):
    return Customer.objects.get(pk=put(crm, "X1", NEW_ACCOUNT).json()["id"])


def activate(client, body, message_id=None):
    return send(client, "erp", "customer.activated", body, message_id=message_id)


def test_erp_activation_binds_its_number_and_makes_the_account_active(erp, waiting):
    response = activate(erp, {"customer": {"account_number": "A-2001"}, "erp_customer_id": "100234",
                              "activated_at": "2024-03-04T09:30:00Z"}, message_id="erp-1")
    assert response.status_code == 200, response.content
    assert response.json()["result"] == {
        "customer": {"id": waiting.pk, "account_number": "A-2001", "status": "active", "onboarding": "activated"},
        "changed": True, "reference_recorded": True,
    }
    waiting.refresh_from_db()
    assert (waiting.status, waiting.onboarding) == ("active", "activated") and waiting.activated_at
    assert ExternalRef.objects.get(system=erp.system, entity_type="customer").object_id == waiting.pk
    assert event_types(waiting) == ["customer.created", "customer.activation_requested", "customer.activated"]
    activated = BusinessEvent.objects.get(event_type="customer.activated")
    assert activated.payload["erp_customer_id"] == "100234" and activated.payload["status_before"] == "pending"
    assert activated.correlation_id == response.stored.correlation_id
    assert activated.source_system == erp.system

    again = activate(erp, {"customer": {"id": waiting.pk}, "erp_customer_id": "100234"})
    assert again.status_code == 200
    assert again.json()["result"]["changed"] is False
    assert BusinessEvent.objects.filter(event_type="customer.activated").count() == 1


@pytest.mark.parametrize("body, status, slug", [
    ({"customer": {"account_number": "NOPE"}, "erp_customer_id": "1"}, 404, "unknown-reference"),
    ({"customer": {"id": 999999}, "erp_customer_id": "1"}, 404, "unknown-reference"),
    ({"customer": {"account_number": "A-2001"}}, 400, "validation-error"),
    ({"customer": {"account_number": "A-2001", "id": 1}, "erp_customer_id": "1"}, 400, "validation-error"),
    ({"customer": {}, "erp_customer_id": "1"}, 400, "validation-error"),
    ({"customer": {"account_number": "A-2001"}, "erp_customer_id": ""}, 400, "validation-error"),
])
def test_bad_activation_messages_are_refused_naming_what_is_wrong(erp, waiting, body, status, slug):
    response = activate(erp, body)
    assert response.status_code == status, response.content
    assert response.json()["type"].endswith(f"/{slug}")
    waiting.refresh_from_db()
    assert waiting.status == "pending"


def test_a_second_erp_number_for_the_account_or_one_in_use_is_refused(erp, waiting):
    other = CustomerFactory(account_number="B-1")
    ExternalRefFactory(system=erp.system, entity_type="customer", external_id="555", object_id=other.pk)
    taken = activate(erp, {"customer": {"id": waiting.pk}, "erp_customer_id": "555"})
    assert taken.status_code == 409 and taken.json()["type"].endswith("/natural-key-conflict")
    assert activate(erp, {"customer": {"id": waiting.pk}, "erp_customer_id": "100234"}).status_code == 200
    second = activate(erp, {"customer": {"id": waiting.pk}, "erp_customer_id": "100999"})
    assert second.status_code == 409 and "already known to 'erp' as '100234'" in second.json()["detail"]


def test_only_an_erp_activates_accounts(crm, waiting):
    response = send(crm, "crm", "customer.activated", {"customer": {"id": waiting.pk}, "erp_customer_id": "1"})
    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == "pending"


def test_an_account_held_for_review_or_merged_is_not_activated(crm, erp):
    legacy = legacy_erp_account(erp.system)
    held = Customer.objects.get(pk=put(crm, "X1", NEW_ACCOUNT).json()["id"])
    response = activate(erp, {"customer": {"id": held.pk}, "erp_customer_id": "777"})
    assert response.status_code == 409 and "held for duplicate review" in response.json()["detail"]
    Customer.objects.filter(pk=held.pk).update(status="merged", merged_into=legacy, onboarding="activation_requested")
    merged = activate(erp, {"customer": {"id": held.pk}, "erp_customer_id": "777"})
    assert merged.status_code == 409 and f"merged into customer {legacy.pk}" in merged.json()["detail"]


def test_the_activation_request_reaches_erp_through_its_subscription(crm):
    receiver = Receiver()
    try:
        connector = OutboundConnectorFactory(code="erp-rest-test", system__code="erp", system__kind="erp",
                                             base_url=receiver.url)
        SubscriptionFactory(connector=connector, path="/api/hub/customers", ordered=True,
                            event_types=["customer.activation_requested", "customer.updated", "customer.merged"])
        put(crm, "X1", NEW_ACCOUNT)
        deliver_all()
        assert [r.json["type"] for r in receiver.requests] == ["customer.activation_requested"]
        delivered = receiver.requests[0].json
        assert delivered["data"]["customer"]["account_number"] == "A-2001"
        assert delivered["data"]["customer"]["external_refs"] == [{"system": "crm", "external_id": "X1"}]
    finally:
        receiver.close()


# --- the steward's decisions ---------------------------------------------------------------------


@pytest.fixture
def review(crm, erp):
    """A legacy ERP account and the CRM's new twin, held for review."""
    legacy = legacy_erp_account(erp.system)
    OrderFactory(customer=legacy)
    new = Customer.objects.get(pk=put(crm, "X1", NEW_ACCOUNT).json()["id"])
    return legacy, new, duplicate_exception()


def test_merging_the_new_account_into_the_erp_one_resolves_the_review(review, steward, crm, erp):
    legacy, new, exception = review
    outcome = duplicate_review_merge(exception=exception, survivor=legacy, merged=new,
                                     actor=Actor(user=steward), note="same company, keyed twice")
    assert outcome.resolved and outcome.remaining == []
    exception.refresh_from_db()
    assert exception.status == "resolved" and exception.resolved_by == steward
    assert exception.resolution_note == ("Merged A-2001 into C900001 (1 external id, 1 address, 1 contact moved). "
                                         "same company, keyed twice")
    new.refresh_from_db()
    legacy.refresh_from_db()
    assert (new.status, new.merged_into) == ("merged", legacy)
    assert legacy.status == "active"
    assert sorted(ExternalRef.objects.filter(object_id=legacy.pk, entity_type="customer")
                  .values_list("system__code", "external_id")) == [("crm", "X1"), ("erp", "900001")]
    assert not BusinessEvent.objects.filter(event_type="customer.activation_requested").exists()
    trail = list(AuditEntry.objects.filter(object_type="exception", object_id=str(exception.pk)).order_by("id")
                 .values_list("action", flat=True))
    assert trail == ["exception.opened", "exception.duplicate_merged", "exception.resolved"]
    # The CRM's next write under its id lands on the survivor.
    assert put(crm, "X1", {**NEW_ACCOUNT, "account_number": "C900001"}).json()["id"] == legacy.pk


def test_merging_the_erp_account_into_the_new_one_activates_it_with_the_erp_number(review, steward):
    legacy, new, exception = review
    outcome = duplicate_review_merge(exception=exception, survivor=new, merged=legacy, actor=Actor(user=steward),
                                     note="same tax id")
    assert outcome.resolved
    new.refresh_from_db()
    assert (new.status, new.onboarding) == ("active", "activated")
    assert event_types(new)[-2:] == ["customer.updated", "customer.activated"]
    assert BusinessEvent.objects.get(event_type="customer.activated").payload["erp_customer_id"] == "900001"
    assert new.orders.count() == 1


def test_merging_two_crm_accounts_sends_the_survivor_to_erp(crm, steward):
    put(crm, "X0", {**NEW_ACCOUNT, "account_number": "A-2000"})  # clean: activation requested
    put(crm, "X1", NEW_ACCOUNT)
    exception = duplicate_exception()
    first, second = Customer.objects.get(account_number="A-2000"), Customer.objects.get(account_number="A-2001")
    duplicate_review_merge(exception=exception, survivor=second, merged=first, actor=Actor(user=steward),
                           note="same company")
    second.refresh_from_db()
    assert (second.status, second.onboarding) == ("pending", "activation_requested")
    assert event_types(second)[-1] == "customer.activation_requested"


def test_dismissing_records_the_pair_sends_the_account_to_erp_and_never_raises_it_again(review, steward):
    legacy, new, exception = review
    outcome = duplicate_review_dismiss(exception=exception, candidate_ids=[legacy.pk],
                                       reason="Different legal entity (franchise)", actor=Actor(user=steward))
    assert outcome.resolved and outcome.dismissed == [legacy.pk]
    assert DuplicateDismissal.objects.get().reason == "Different legal entity (franchise)"
    new.refresh_from_db()
    assert (new.status, new.onboarding) == ("pending", "activation_requested")
    exception.refresh_from_db()
    assert exception.resolution_note == "Not a duplicate of C900001: Different legal entity (franchise)"
    assert customer_duplicates_find(customer=new) == []
    assert customer_onboarding_check(customer=new, actor=Actor.hub()).exception is None
    assert IntegrationException.objects.count() == 1


def test_the_review_stays_open_while_a_likely_duplicate_remains(crm, erp, steward):
    first = legacy_erp_account(erp.system)
    second = legacy_erp_account(erp.system, account_number="C900002", erp_id="900002", name="Acme Plumbing")
    put(crm, "X1", NEW_ACCOUNT)
    exception = duplicate_exception()
    assert len(exception.context["candidates"]) == 2
    partly = duplicate_review_dismiss(exception=exception, candidate_ids=[first.pk], reason="other company",
                                      actor=Actor(user=steward))
    assert not partly.resolved and [c.customer for c in partly.remaining] == [second]
    assert partly.exception.status == "in_progress"
    done = duplicate_review_merge(exception=exception, survivor=second, merged=partly.account,
                                  actor=Actor(user=steward), note="same company")
    assert done.resolved


def test_only_data_stewards_decide(review, django_user_model):
    legacy, new, exception = review
    finance = django_user_model.objects.create_user("fiona", is_staff=True)
    finance.user_permissions.add(Permission.objects.get(codename="work_finance_queue"))
    for actor in (Actor(user=finance), Actor.hub()):
        with pytest.raises(AccessDenied):
            duplicate_review_merge(exception=exception, survivor=legacy, merged=new, actor=actor, note="same")
        with pytest.raises(AccessDenied):
            duplicate_review_dismiss(exception=exception, candidate_ids=[legacy.pk], reason="x", actor=actor)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    assert duplicate_review_merge(exception=exception, survivor=legacy, merged=new, actor=Actor(user=admin),
                                  note="same").resolved


def test_decisions_that_do_not_fit_the_review_are_refused(review, steward):
    legacy, new, exception = review
    stranger = CustomerFactory(account_number="Z-1", name="Zeta Pipe")
    actor = Actor(user=steward)
    cases = [
        (lambda: duplicate_review_dismiss(exception=exception, candidate_ids=[legacy.pk], reason="  ", actor=actor),
         "reason is required"),
        (lambda: duplicate_review_dismiss(exception=exception, candidate_ids=[], reason="x", actor=actor),
         "Choose the accounts"),
        (lambda: duplicate_review_dismiss(exception=exception, candidate_ids=[stranger.pk], reason="x", actor=actor),
         "not likely duplicates"),
        (lambda: duplicate_review_merge(exception=exception, survivor=stranger, merged=new, actor=actor,
                                        note="same"), "not one of the likely duplicates"),
        (lambda: duplicate_review_merge(exception=exception, survivor=stranger, merged=legacy, actor=actor,
                                        note="same"), "is about account A-2001"),
        (lambda: duplicate_review_merge(exception=exception, survivor=legacy, merged=new, actor=actor, note="  "),
         "note is required"),
        (lambda: duplicate_review_merge(exception=exception, survivor=legacy, merged=new, actor=actor,
                                        note="x" * 2001), "longer than 2000"),
    ]
    for attempt, message in cases:
        with pytest.raises(ExceptionActionRefused, match=message):
            attempt()
    other = IntegrationException.objects.create(
        category=Category.CREDIT_HOLD, team=Team.FINANCE, title="held", fingerprint="held-1", customer=new,
        last_seen_at=exception.last_seen_at, sla_due_at=exception.sla_due_at)
    with pytest.raises(ExceptionActionRefused, match="not about a duplicate"):
        duplicate_review_merge(exception=other, survivor=legacy, merged=new, actor=actor, note="same")
    exception_resolve(exception=exception, actor=actor, note="handled by phone")
    with pytest.raises(ExceptionActionRefused, match="resolved"):
        duplicate_review_merge(exception=exception, survivor=legacy, merged=new, actor=actor, note="same")
    new.refresh_from_db()
    assert new.status == "pending" and not DuplicateDismissal.objects.exists()
