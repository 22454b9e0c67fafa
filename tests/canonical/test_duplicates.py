"""Likely duplicate customer accounts: the keys, each matching rule, the exclusions, the dismissals,
and the cost of a lookup (a fixed number of indexed queries, whatever the number of accounts)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import Address, AuditEntry, Customer, DuplicateDismissal, address_key, name_key, tax_key
from canonical.services import duplicates
from canonical.services.duplicates import customer_duplicate_dismiss, customer_duplicates_find
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def account(name: str, *, tax_id: str = "", address: dict | None = None, **fields) -> Customer:
    customer = CustomerFactory(name=name, tax_id=tax_id, **fields)
    if address is not None:
        Address.objects.create(customer=customer, **{"kind": "billing", "is_default": True, **address})
    return customer


MAIN_ST = {"line1": "1200 Main Street", "city": "Springfield", "postal_code": "62701", "country": "US"}


def found(customer: Customer) -> dict[str, tuple[float, list[str]]]:
    return {c.customer.account_number: (c.score, [r["signal"] for r in c.reasons])
            for c in customer_duplicates_find(customer=customer)}


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [
    ("Acme Plumbing Inc.", "ACME Plumbing, Inc"),
    ("Acme Plumbing LLC", "Acme  Plumbing L.L.C."),
    ("Smith & Sons Supply GmbH", "Smith and Sons Supply"),
    ("The Lakeview Mechanical Co.", "Lake View Mechanical Company (do not use)"),
    ("Müller Heizung GmbH", "Muller Heizung"),
])
def test_name_key_ignores_case_punctuation_legal_suffixes_spacing_and_remarks(a, b):
    assert name_key(a) == name_key(b) != ""


def test_name_key_keeps_names_that_differ_apart():
    assert name_key("Acme Plumbing") != name_key("Acme Electric")


def test_tax_key_keeps_letters_and_digits_and_ignores_placeholders():
    assert tax_key("12-3456789") == tax_key("12 345 6789") == "123456789"
    assert tax_key("de 123.456.789") == "DE123456789"
    assert tax_key("N/A") == tax_key("") == ""


def test_address_key_evens_out_abbreviations_case_and_zip_plus_four():
    a = address_key(line1="1200 Main St.", city="Springfield", postal_code="62701", country="US")
    b = address_key(line1="1200 MAIN STREET", city="SPRINGFIELD", postal_code="62701-1234", country="us")
    assert a == b == "US|62701|1200 main st"
    assert address_key(line1="1200 Main St", city="Springfield", country="US") == "US|springfield|1200 main st"
    assert address_key(line1=" , ", city="Springfield") == ""


def test_keys_are_kept_in_step_on_save_and_bulk_create():
    customer = CustomerFactory(name="Acme Plumbing Inc.", tax_id="12-3456789")
    assert (customer.name_key, customer.name_block, customer.tax_key) == ("acmeplumbing", "acmepl", "123456789")
    customer.name = "Zenith Pipe LLC"
    customer.save(update_fields=["name"])
    customer.refresh_from_db()
    assert (customer.name_key, customer.name_block) == ("zenithpipe", "zenith")
    Address.objects.bulk_create([Address(customer=customer, line1="5 Oak Avenue", city="Dallas", postal_code="75201")])
    assert Address.objects.get(customer=customer).match_key == "US|75201|5 oak ave"


# --- rules ------------------------------------------------------------------------------------


def test_same_tax_id_alone_is_a_likely_duplicate():
    original = account("Northwind Traders", tax_id="12-3456789", account_number="A-1")
    new = account("NWT Holdings", tax_id="123456789", account_number="A-2")
    assert found(new) == {"A-1": (0.6, ["tax_id"])}
    assert found(original) == {"A-2": (0.6, ["tax_id"])}


def test_same_name_alone_is_a_likely_duplicate():
    account("Acme Plumbing Inc.", account_number="A-1")
    new = account("ACME Plumbing, Inc", account_number="A-2")
    assert found(new) == {"A-1": (0.5, ["name"])}


def test_tax_id_name_and_address_together_score_one():
    account("Acme Plumbing Inc.", tax_id="12-3456789", address=MAIN_ST, account_number="A-1")
    new = account("ACME PLUMBING", tax_id="12-3456789", account_number="A-2",
                  address={**MAIN_ST, "line1": "1200 MAIN ST"})
    [candidate] = customer_duplicates_find(customer=new)
    assert candidate.score == 1.0
    assert [r["signal"] for r in candidate.reasons] == ["tax_id", "name", "address"]
    assert "same tax id (12-3456789 / 12-3456789)" in candidate.reasons[0]["detail"]
    assert "1200 Main Street" in candidate.reasons[2]["detail"]


def test_a_shared_address_alone_is_not_enough():
    account("Harbor Mechanical", address=MAIN_ST, account_number="A-1")
    new = account("Quartz Electric", address=MAIN_ST, account_number="A-2")
    assert found(new) == {}
    assert customer_duplicates_find(customer=new, minimum_score=0.3)[0].reasons[0]["signal"] == "address"


def test_a_similar_name_alone_is_not_enough_but_with_the_address_it_is():
    account("Harbor Mechanical Supply", address=MAIN_ST, account_number="A-1")
    lone = account("Harbor Mechanical Supplies", account_number="A-2")
    assert found(lone) == {}
    new = account("Harbor Mechanical Supplies", address=MAIN_ST, account_number="A-3")
    score, signals = found(new)["A-1"]
    assert signals == ["similar_name", "address"] and 0.7 < score < 0.8


def test_accounts_of_one_hierarchy_are_never_duplicates_of_each_other():
    parent = account("Acme Plumbing Inc.", tax_id="12-3456789", account_number="A-1")
    child = account("Acme Plumbing Inc.", tax_id="12-3456789", account_number="A-1-DAL", parent=parent)
    grandchild = account("Acme Plumbing", tax_id="12-3456789", account_number="A-1-DAL-2", parent=child)
    assert found(grandchild) == {}
    outsider = account("Acme Plumbing", account_number="B-1")
    assert set(found(outsider)) == {"A-1", "A-1-DAL", "A-1-DAL-2"}


def test_merged_accounts_and_the_account_itself_are_not_candidates():
    survivor = account("Acme Plumbing", account_number="A-1")
    account("Acme Plumbing", account_number="A-2", status="merged", merged_into=survivor)
    new = account("Acme Plumbing", account_number="A-3")
    assert found(new) == {"A-1": (0.5, ["name"])}


def test_candidates_come_best_first_and_are_limited():
    for n in range(12):
        account("Acme Plumbing", account_number=f"N-{n:02d}")
    best = account("Acme Plumbing", tax_id="99-0000001", account_number="T-1")
    new = account("Acme Plumbing", tax_id="99-0000001", account_number="NEW")
    candidates = customer_duplicates_find(customer=new)
    assert len(candidates) == 10
    assert candidates[0].customer == best and candidates[0].score == 1.0
    assert [c.customer.account_number for c in candidates[1:4]] == ["N-00", "N-01", "N-02"]


def test_identical_names_are_found_however_crowded_the_name_block(monkeypatch):
    monkeypatch.setattr(duplicates, "NAME_BLOCK_LIMIT", 3)
    for n in range(5):
        account(f"Acme Plaza {n}", account_number=f"P-{n}")  # same first letters, sorted before "acmeplumbing"
    account("Acme Plumbing", account_number="A-1")
    new = account("ACME Plumbing Inc", account_number="A-2")
    assert found(new) == {"A-1": (0.5, ["name"])}


def test_another_tax_id_counts_against_a_same_name_match():
    account("Wood Electric LLC", tax_id="93-6176906", account_number="A-1", address=MAIN_ST)
    namesake = account("Wood Electric Co.", tax_id="40-2847650", account_number="A-2")
    assert found(namesake) == {}
    [weak] = customer_duplicates_find(customer=namesake, minimum_score=0.1)
    assert weak.score == 0.2 and [r["signal"] for r in weak.reasons] == ["different_tax_id", "name"]
    assert weak.reasons[0]["points"] == -0.3
    same_building = account("Wood Electric Company", tax_id="40-2847650", account_number="A-3", address=MAIN_ST)
    assert found(same_building)["A-1"] == (0.5, ["different_tax_id", "name", "address"])


# --- dismissals -------------------------------------------------------------------------------


def test_a_dismissed_pair_is_never_raised_again_from_either_side():
    steward = get_user_model().objects.create_user("sam")
    a = account("Acme Plumbing", account_number="A-1")
    b = account("ACME Plumbing Inc", account_number="A-2")
    dismissal = customer_duplicate_dismiss(customer=b, other=a, reason="Different owners, same name",
                                           actor=Actor(user=steward))
    assert (dismissal.customer_low, dismissal.customer_high, dismissal.decided_by) == (a, b, steward)
    assert found(a) == {} and found(b) == {}
    again = customer_duplicate_dismiss(customer=a, other=b, reason="again", actor=Actor(user=steward))
    assert again.pk == dismissal.pk and DuplicateDismissal.objects.count() == 1
    entry = AuditEntry.objects.get(action="customer.duplicate_dismissed")
    assert entry.note == "Different owners, same name" and entry.actor_user == steward
    third = account("Acme Plumbing LLC", account_number="A-3")
    assert set(found(third)) == {"A-1", "A-2"}, "the decision is about that pair only"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_dismissal_needs_a_reason(reason):
    a, b = account("Acme Plumbing", account_number="A-1"), account("Acme Plumbing", account_number="A-2")
    with pytest.raises(BusinessRuleViolation, match="why"):
        customer_duplicate_dismiss(customer=a, other=b, reason=reason, actor=Actor.hub())
    with pytest.raises(BusinessRuleViolation, match="itself"):
        customer_duplicate_dismiss(customer=a, other=a, reason="x", actor=Actor.hub())
    assert not DuplicateDismissal.objects.exists()


# --- cost -------------------------------------------------------------------------------------


def _many(count: int, *, start: int = 0) -> None:
    rows = [Customer(account_number=f"M{n:06d}", name=f"Filler {n} Trading", tax_id=f"77-{n:07d}")
            for n in range(start, start + count)]
    for row in rows:  # bulk_create skips save(): give the keys as save() would
        row.name_key, row.tax_key = name_key(row.name), tax_key(row.tax_id)
        row.name_block = row.name_key[:6]
    Customer.objects.bulk_create(rows, batch_size=500)


def _queries_for_lookup(customer: Customer) -> int:
    with CaptureQueriesContext(connection) as captured:
        customer_duplicates_find(customer=customer)
    return len(captured.captured_queries)


def test_a_lookup_takes_the_same_number_of_queries_for_ten_or_two_thousand_accounts():
    account("Acme Plumbing Inc.", tax_id="12-3456789", address=MAIN_ST, account_number="A-1")
    new = account("ACME Plumbing", tax_id="12-3456789", address=MAIN_ST, account_number="A-2")
    _many(10)
    few = _queries_for_lookup(new)
    _many(2000, start=10)
    assert _queries_for_lookup(new) == few <= 9
    assert set(found(new)) == {"A-1"}


def test_the_lookups_use_the_match_indexes():
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    _many(3000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE canonical_customer")
        cursor.execute("ANALYZE canonical_address")
        plans = {}
        for name, sql in {
            "tax": "SELECT id FROM canonical_customer WHERE tax_key = '123456789' AND NOT (tax_key = '')",
            "name": "SELECT id, name_key FROM canonical_customer WHERE name_block = 'acmepl' ORDER BY name_key",
            "address": "SELECT customer_id FROM canonical_address WHERE match_key IN ('US|62701|1200 main st') "
                       "AND NOT (match_key = '')",
        }.items():
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = on")
    assert "customer_tax_match_idx" in plans["tax"]
    assert "customer_name_match_idx" in plans["name"]
    assert "address_match_idx" in plans["address"]
