"""Merging a duplicate account into the survivor: nothing is lost, ids stay unique and resolve to
the survivor, the merged account points at it, and the merge is audited and emits its events."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from canonical.context import Actor
from canonical.models import (
    Address,
    AuditEntry,
    BusinessEvent,
    Contact,
    ContractPrice,
    CreditMemo,
    Customer,
    EntityType,
    ExternalRef,
    Invoice,
    Order,
    ReturnAuthorization,
)
from canonical.services.customer_merge import MergeRefused, customer_merge, customer_related_records
from canonical.services.refs import external_ref_find
from tests.factories import (
    ContractPriceFactory,
    CreditMemoFactory,
    CustomerFactory,
    ExternalRefFactory,
    InvoiceFactory,
    OrderFactory,
    ReturnAuthorizationFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward():
    return get_user_model().objects.create_user("sam-steward")


@pytest.fixture
def systems():
    return {"crm": SystemFactory(code="crm", kind="crm"), "erp": SystemFactory(code="erp", kind="erp")}


def ref(system, customer, external_id):
    return ExternalRefFactory(system=system, entity_type=EntityType.CUSTOMER, external_id=external_id,
                              object_id=customer.pk)


def address(customer, line1, *, kind="billing", default=True):
    return Address.objects.create(customer=customer, kind=kind, line1=line1, city="Springfield",
                                  postal_code="62701", is_default=default)


def contact(customer, name, *, primary=True):
    return Contact.objects.create(customer=customer, name=name, email=f"{name.lower()}@acme.test", is_primary=primary)


def footprint(*customers) -> Counter:
    """Everything that hangs on the given accounts, as (kind, id) pairs."""
    ids = [c.pk for c in customers]
    items = Counter()
    items.update(("ref", r) for r in ExternalRef.objects.filter(entity_type="customer", object_id__in=ids)
                 .values_list("system__code", "external_id"))
    items.update(("address", pk) for pk in Address.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    items.update(("contact", pk) for pk in Contact.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    items.update(("order", pk) for pk in Order.objects.filter(customer_id__in=ids).values_list("pk", flat=True))
    items.update(("ship_to", pk) for pk in Order.objects.filter(ship_to_id__in=ids).values_list("pk", flat=True))
    items.update(("bill_to", pk) for pk in Order.objects.filter(bill_to_id__in=ids).values_list("pk", flat=True))
    for model in (Invoice, ReturnAuthorization, CreditMemo, ContractPrice):
        pks = model.objects.filter(customer_id__in=ids).values_list("pk", flat=True)
        items.update((model.__name__, pk) for pk in pks)
    items.update(("child", pk) for pk in Customer.objects.filter(parent_id__in=ids).values_list("pk", flat=True))
    return items


@pytest.fixture
def pair(systems):
    """A CRM account and its twin keyed straight into the ERP, each with history."""
    survivor = CustomerFactory(account_number="A-1001", name="Acme Plumbing Inc.", tax_id="12-3456789")
    merged = CustomerFactory(account_number="C900001", name="ACME Plumbing, Inc", tax_id="12-3456789")
    ref(systems["crm"], survivor, "0015g00000AbC")
    ref(systems["erp"], merged, "900001")
    ref(systems["crm"], merged, "0015g00000Old")
    address(survivor, "1 Main St")
    address(merged, "1 MAIN STREET")
    address(merged, "9 Dock Rd", kind="shipping")
    contact(survivor, "Pat")
    contact(merged, "Lee")
    OrderFactory(customer=survivor)
    open_order = OrderFactory(customer=merged, status="allocated")
    OrderFactory(customer=merged, status="closed")
    site = CustomerFactory(account_number="C900001-S1", name="Acme yard", parent=merged)
    OrderFactory(customer=merged, ship_to=site, bill_to=merged)
    InvoiceFactory(customer=merged, order=open_order, amount="120.00")
    InvoiceFactory(customer=merged, status="paid", amount="80.00")
    ReturnAuthorizationFactory(order=open_order, customer=merged)
    CreditMemoFactory(customer=merged)
    ContractPriceFactory(customer=merged)
    return survivor, merged


def test_merge_moves_everything_to_the_survivor_and_loses_nothing(pair, steward):
    survivor, merged = pair
    before = footprint(survivor, merged)
    result = customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward), note="same tax id")

    assert footprint(survivor) == before, "everything that hung on either account now hangs on the survivor"
    assert footprint(merged) == Counter()
    merged.refresh_from_db()
    assert (merged.status, merged.merged_into) == ("merged", survivor)
    assert merged.account_number == "C900001" and merged.name == "ACME Plumbing, Inc", "the shell keeps its facts"
    assert result.counts() == {
        "external_refs": 2, "addresses": 2, "contacts": 1, "child_accounts": 1, "orders": 3, "bill_to_orders": 3,
        "ship_to_orders": 2, "invoices": 2, "returns": 1, "credit_memos": 1, "contract_prices": 1,
    }


def test_after_a_merge_every_id_resolves_to_the_survivor_and_stays_unique(pair, systems, steward):
    survivor, merged = pair
    customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward))
    for system, external_id in (("crm", "0015g00000AbC"), ("crm", "0015g00000Old"), ("erp", "900001")):
        found = external_ref_find(system=systems[system], entity_type="customer", external_id=external_id,
                                  model=Customer)
        assert found == survivor, (system, external_id)
    keys = list(ExternalRef.objects.values_list("system_id", "entity_type", "external_id"))
    assert len(keys) == len(set(keys))


def test_the_survivor_keeps_its_own_default_address_and_primary_contact(pair, steward):
    survivor, merged = pair
    customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward))
    defaults = Address.objects.filter(customer=survivor, is_default=True)
    assert sorted(defaults.values_list("kind", "line1")) == [("billing", "1 Main St"), ("shipping", "9 Dock Rd")]
    assert list(Contact.objects.filter(customer=survivor, is_primary=True).values_list("name", flat=True)) == ["Pat"]
    assert Contact.objects.filter(customer=survivor).count() == 2


def test_an_address_or_contact_the_survivor_already_has_is_not_copied_onto_it(pair, steward):
    survivor, merged = pair
    twin_address = Address.objects.create(customer=merged, kind="billing", line1="  1 main st", city="SPRINGFIELD",
                                          postal_code="62701", is_default=False)
    twin_contact = Contact.objects.create(customer=merged, name="Pat B.", email="PAT@acme.test")

    result = customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward))

    assert sorted(Address.objects.filter(customer=survivor).values_list("line1", flat=True)) == [
        "1 MAIN STREET", "1 Main St", "9 Dock Rd"]
    assert sorted(Contact.objects.filter(customer=survivor).values_list("email", flat=True)) == [
        "lee@acme.test", "pat@acme.test"]
    # Kept with the merged account, and named in the result and the audit entry.
    assert result.folded == {"addresses": [twin_address.pk], "contacts": [twin_contact.pk]}
    assert AuditEntry.objects.get(action="customer.merged").after["already_on_survivor"] == result.folded
    assert (result.counts()["addresses"], result.counts()["contacts"]) == (2, 1)


def test_the_merge_is_audited_with_both_accounts_before_and_after(pair, steward):
    survivor, merged = pair
    merged_orders = sorted(Order.objects.filter(customer=merged).values_list("pk", flat=True))
    customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward, correlation_id="corr-merge-1"),
                   note="same tax id")
    entry = AuditEntry.objects.get(action="customer.merged")
    assert (entry.object_type, entry.object_id, entry.actor_user) == ("customer", str(survivor.pk), steward)
    assert entry.correlation_id == "corr-merge-1"
    assert entry.note == "C900001 merged into A-1001. same tax id"
    assert entry.before["merged"]["status"] == "active" and entry.after["merged"]["status"] == "merged"
    assert entry.after["merged"]["merged_into_id"] == survivor.pk
    assert entry.before["merged"]["external_refs"] == ["crm:0015g00000Old", "erp:900001"]
    assert entry.after["merged"]["external_refs"] == []
    assert entry.after["survivor"]["external_refs"] == ["crm:0015g00000AbC", "crm:0015g00000Old", "erp:900001"]
    assert entry.after["moved"]["orders"] == merged_orders
    shell = AuditEntry.objects.get(action="customer.merged_into")
    assert shell.object_id == str(merged.pk) and "merged into A-1001" in shell.note


def test_the_merge_emits_customer_merged_and_customer_updated(pair, steward):
    survivor, merged = pair
    customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward, correlation_id="corr-merge-2"))
    merged_event = BusinessEvent.objects.get(event_type="customer.merged")
    assert (merged_event.aggregate_type, merged_event.aggregate_id) == ("customer", str(merged.pk))
    assert merged_event.payload["merged"]["account_number"] == "C900001"
    assert merged_event.payload["survivor"]["id"] == survivor.pk
    assert merged_event.payload["survivor"]["external_refs"] == [
        {"system": "crm", "external_id": "0015g00000AbC"}, {"system": "crm", "external_id": "0015g00000Old"},
        {"system": "erp", "external_id": "900001"}]
    assert merged_event.payload["moved"]["orders"] == 3
    updated = BusinessEvent.objects.get(event_type="customer.updated", aggregate_id=str(survivor.pk))
    assert updated.payload["merged_from"]["id"] == merged.pk
    assert "external_refs" in updated.payload["changed"] and "orders" in updated.payload["changed"]
    assert {merged_event.correlation_id, updated.correlation_id} == {"corr-merge-2"}


def test_earlier_merges_point_straight_at_the_new_survivor(steward):
    first, second, third = (CustomerFactory(name=f"Acme {n}") for n in range(3))
    customer_merge(survivor=second, merged=first, actor=Actor(user=steward))
    customer_merge(survivor=third, merged=second, actor=Actor(user=steward))
    first.refresh_from_db()
    assert first.merged_into == third


def test_not_a_duplicate_decisions_about_the_merged_account_hold_for_the_survivor(steward):
    from canonical.models import DuplicateDismissal
    from canonical.services.duplicates import customer_duplicate_dismiss

    survivor, merged, other = (CustomerFactory(account_number=n) for n in ("S-1", "M-1", "O-1"))
    customer_duplicate_dismiss(customer=merged, other=other, reason="franchisee", actor=Actor(user=steward))
    customer_duplicate_dismiss(customer=merged, other=survivor, reason="thought so once", actor=Actor(user=steward))
    result = customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward))
    copy = DuplicateDismissal.objects.get(customer_low=survivor, customer_high=other)
    assert result.moved["duplicate_dismissals"] == [copy.pk]
    assert copy.reason == "franchisee (decided for M-1, merged into S-1)" and copy.decided_by == steward
    assert DuplicateDismissal.objects.count() == 3, "the original decisions stay as they were taken"


@pytest.mark.parametrize("case", ["itself", "already merged", "survivor merged", "parent into child",
                                  "child into parent", "other currency"])
def test_merges_that_make_no_sense_are_refused_and_change_nothing(case, steward):
    a = CustomerFactory(account_number="A-1")
    b = CustomerFactory(account_number="B-1")
    survivor, merged = a, b
    if case == "itself":
        merged = a
    elif case == "already merged":
        b.status, b.merged_into = "merged", CustomerFactory()
        b.save()
    elif case == "survivor merged":
        a.status, a.merged_into = "merged", CustomerFactory()
        a.save()
    elif case == "parent into child":
        b.parent = a
        b.save()
        survivor, merged = b, a
    elif case == "child into parent":
        b.parent = a
        b.save()
    elif case == "other currency":
        b.currency = "EUR"
        b.save()
    OrderFactory(customer=merged)
    events, audits = BusinessEvent.objects.count(), AuditEntry.objects.count()
    with pytest.raises(MergeRefused) as refused:
        customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward))
    assert refused.value.status_code == 422 and refused.value.detail
    assert (BusinessEvent.objects.count(), AuditEntry.objects.count()) == (events, audits)
    assert Order.objects.get().customer == merged


def test_every_canonical_record_that_points_at_a_customer_is_covered():
    """A new canonical model with a customer key is moved by the merge without being listed by hand."""
    covered = {(model, field) for _, model, field in customer_related_records()}
    expected = {(r.related_model, r.field.name) for r in Customer._meta.related_objects
                if r.related_model._meta.app_label == "canonical"
                and r.related_model not in (Address, Contact, Customer)}
    assert covered == expected and (Order, "ship_to") in covered


@pytest.mark.postgres_only
def test_concurrent_merges_of_one_account_into_two_survivors_cannot_both_win(transactional_db, steward):
    import threading

    from django.db import connections

    merged = CustomerFactory(account_number="M-1")
    one, two = CustomerFactory(account_number="S-1"), CustomerFactory(account_number="S-2")
    OrderFactory(customer=merged)
    outcomes = []
    barrier = threading.Barrier(2)

    def run(survivor):
        try:
            barrier.wait()
            customer_merge(survivor=survivor, merged=merged, actor=Actor(user=steward))
            outcomes.append("merged")
        except MergeRefused:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(s,)) for s in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["merged", "refused"]
    merged.refresh_from_db()
    assert Order.objects.get().customer_id == merged.merged_into_id
    assert connection.vendor == "postgresql"
