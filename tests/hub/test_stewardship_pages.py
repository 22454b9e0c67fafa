"""The data stewards' duplicate pages: who may see them, what they show, and that every post
either does what it says or comes back with a message (never a 500)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission

from canonical.context import Actor
from canonical.models import Address, AuditEntry, Customer, DuplicateDismissal, ExternalRef
from connectors.models import IntegrationException
from hub.workflows.onboarding import customer_onboarding_check
from tests.factories import (
    CustomerFactory,
    ExternalRefFactory,
    InvoiceFactory,
    OrderFactory,
    OrderLineFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db

REVIEWS = "/portal/stewardship/duplicates/"


def user_with(django_user_model, username, *codenames, staff=True):
    user = django_user_model.objects.create_user(username, is_staff=staff)
    group = Group.objects.create(name=f"{username}-group")
    group.permissions.set(Permission.objects.filter(codename__in=codenames))
    user.groups.add(group)
    return user


@pytest.fixture
def steward(django_user_model):
    return user_with(django_user_model, "sam", "work_data_stewardship_queue", "view_integrationexception")


@pytest.fixture
def review():
    erp = SystemFactory(code="erp", kind="erp")
    legacy = CustomerFactory(account_number="C900001", name="Acme Plumbing Inc.", tax_id="12-3456789")
    ExternalRefFactory(system=erp, entity_type="customer", external_id="900001", object_id=legacy.pk)
    OrderFactory(customer=legacy)
    new = CustomerFactory(account_number="A-2001", name="ACME Plumbing, Inc", tax_id="123456789", status="pending")
    Address.objects.create(customer=new, kind="billing", line1="1 Main St", city="Springfield", postal_code="62701")
    outcome = customer_onboarding_check(customer=new, actor=Actor.hub())
    return legacy, new, outcome.exception


def test_the_list_shows_the_open_reviews_to_a_steward(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    response = client.get(REVIEWS)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-exception="{exception.pk}"' in body
    assert "ACME Plumbing, Inc" in body and "C900001" in body and ">1.0<" in body


def test_the_review_shows_both_accounts_the_reasons_and_the_suggested_survivor(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    response = client.get(f"{REVIEWS}{exception.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "same tax id (123456789 / 12-3456789)" in body
    assert "suggested: keep C900001" in body, "the account ERP already knows"
    assert "erp: 900001" in body and ">1 order<" in body
    assert f"?survivor={legacy.pk}&amp;merged={new.pk}" in body
    assert f"?survivor={new.pk}&amp;merged={legacy.pk}" in body


def test_each_card_shows_credit_open_orders_and_invoices_hierarchy_roles_and_ids(client, steward, review):
    legacy, new, exception = review
    Customer.objects.filter(pk=legacy.pk).update(credit_status="hold", credit_limit=Decimal("125000"),
                                                 is_ship_to=False)
    order = legacy.orders.get()
    OrderLineFactory(order=order, quantity_ordered=Decimal("3"), quantity_invoiced=Decimal("1"),
                     unit_price=Decimal("600.00"))
    OrderFactory(customer=legacy, status="closed")  # not open: not counted
    InvoiceFactory(customer=legacy, amount=Decimal("2500.00"), amount_paid=Decimal("500.00"))
    InvoiceFactory(customer=legacy, amount=Decimal("99.00"), status="paid")
    parent = CustomerFactory(account_number="G-1", name="Acme Group")
    Customer.objects.filter(pk=new.pk).update(parent=parent)
    CustomerFactory(account_number="C900001-S1", name="Acme Plumbing, Depot 1", parent=legacy)
    client.force_login(steward)
    body = client.get(f"{REVIEWS}{exception.pk}/").content.decode()
    card = body[body.index('data-account="C900001"', body.index('id="candidate-')):]
    assert '<span class="credit-status hold">On credit hold</span>' in card
    assert "limit 125,000.00 USD" in card
    assert "1 · 1,200.00 USD not yet invoiced" in card and "1 · 2,000.00 USD unpaid" in card
    assert '<dd class="roles">sold-to, bill-to</dd>' in card and "Acme Plumbing, Depot 1" in card
    assert "erp: 900001" in card
    held = body[body.index('data-account="A-2001"'):]
    assert "Acme Group <code>G-1</code>" in held and '<dd class="open-orders">none</dd>' in held


def test_the_footprints_of_a_page_take_the_same_queries_for_one_account_or_many(review):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hub.selectors.duplicates import account_footprints

    legacy, new, exception = review
    others = [CustomerFactory() for _ in range(3)]
    for customer in others:
        OrderFactory(customer=customer)
        InvoiceFactory(customer=customer)
    with CaptureQueriesContext(connection) as one:
        account_footprints([legacy])
    with CaptureQueriesContext(connection) as many:
        found = account_footprints([legacy, new, *others])
    assert len(many) == len(one)
    assert [f.open_orders for f in found] == [1, 0, 1, 1, 1] and [f.open_invoices for f in found] == [0, 0, 1, 1, 1]


def test_the_primary_merge_button_keeps_the_suggested_account(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    primary = re.compile(r'class="btn merge" href="[^"]*\?survivor=(\d+)&amp;merged=(\d+)"')
    body = client.get(f"{REVIEWS}{exception.pk}/").content.decode()
    assert "suggested: keep C900001" in body and primary.findall(body) == [(str(legacy.pk), str(new.pk))]
    assert re.search(r"<h1>ACME Plumbing, Inc <span[^>]*>A-2001</span>: 1 likely duplicate</h1>", body)
    # Once the account under review is the one ERP knows, it is the one suggested, and the primary button keeps it.
    ExternalRef.objects.filter(object_id=legacy.pk, entity_type="customer").update(object_id=new.pk)
    body = client.get(f"{REVIEWS}{exception.pk}/").content.decode()
    assert "suggested: keep A-2001" in body and primary.findall(body) == [(str(new.pk), str(legacy.pk))]


def test_the_account_under_review_merged_away_is_no_longer_held_for_review(client, steward, review):
    legacy, new, exception = review
    assert Customer.objects.get(pk=new.pk).onboarding == "duplicate_review"
    client.force_login(steward)
    client.post(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk, "note": "same"})
    new.refresh_from_db()
    assert (new.status, new.merged_into, new.onboarding) == ("merged", legacy, "")


def test_merge_is_confirmed_on_a_page_that_says_what_moves_then_done_by_post(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    confirm = client.get(f"{REVIEWS}{exception.pk}/merge/", {"survivor": new.pk, "merged": legacy.pk})
    assert confirm.status_code == 200
    assert "What moves to A-2001" in confirm.content.decode() and "erp: 900001" in confirm.content.decode()
    assert Customer.objects.get(pk=legacy.pk).status == "active", "a GET changes nothing"

    done = client.post(f"{REVIEWS}{exception.pk}/merge/", {"survivor": new.pk, "merged": legacy.pk,
                                                          "note": "same tax id"}, follow=True)
    assert done.status_code == 200
    text = done.content.decode()
    assert "C900001 was merged into A-2001" in text and "The review is resolved" in text
    legacy.refresh_from_db()
    new.refresh_from_db()
    assert (legacy.status, legacy.merged_into, new.status) == ("merged", new, "active")
    assert IntegrationException.objects.get(pk=exception.pk).status == "resolved"


def test_a_merge_needs_a_note_which_goes_into_the_audit_trail(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    for note in ("", "   "):
        refused = client.post(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk,
                                                                 "note": note})
        assert refused.status_code == 200, "the confirmation page again, with the error"
        body = refused.content.decode()
        assert "Say why these are the same company." in body and 'id="confirm-merge"' in body
    assert Customer.objects.filter(status="merged").count() == 0
    assert IntegrationException.objects.get(pk=exception.pk).status == "open"

    client.post(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk,
                                                   "note": "Same tax id; the CRM rep keyed it again."})
    entry = AuditEntry.objects.get(action="customer.merged", object_id=str(legacy.pk))
    assert entry.note == "A-2001 merged into C900001. Same tax id; the CRM rep keyed it again."
    assert IntegrationException.objects.get(pk=exception.pk).resolution_note.endswith(
        "moved). Same tax id; the CRM rep keyed it again.")


def refused_confirmation(client, exception, survivor, merged):
    """GET the merge confirmation for the pair; assert it is refused; the message the review shows."""
    response = client.get(f"{REVIEWS}{exception.pk}/merge/", {"survivor": survivor.pk, "merged": merged.pk})
    assert response.status_code == 302 and response["Location"] == f"{REVIEWS}{exception.pk}/", "no merge offered"
    page = client.get(response["Location"]).content.decode()
    assert 'id="confirm-merge"' not in page
    return re.search(r'class="error"[^>]*>([^<]*)<', page).group(1)


def test_the_merge_confirmation_refuses_accounts_that_are_not_the_reviews_pair(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    strangers = CustomerFactory(account_number="Z-1", name="Zeta Pipe"), CustomerFactory(account_number="Z-2")
    assert "is about account A-2001" in refused_confirmation(client, exception, *strangers)
    assert "Z-1 is not one of the likely duplicates of A-2001" in refused_confirmation(
        client, exception, strangers[0], new)
    euro = CustomerFactory(account_number="C900009", name="Acme Plumbing Inc.", tax_id="12-3456789", currency="EUR")
    assert "trades in EUR" in refused_confirmation(client, exception, new, euro)
    assert client.get(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk}).status_code == 200


def test_the_merge_confirmation_refuses_an_account_already_merged_or_a_closed_review(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    # A twin the review listed when it opened, merged away (elsewhere) since.
    twin = CustomerFactory(account_number="C900002", name="Acme Plumbing Inc", status="merged", merged_into=legacy)
    exception.context["candidates"].append({"id": twin.pk, "account_number": "C900002"})
    exception.save(update_fields=["context"])
    assert "C900002 was already merged" in refused_confirmation(client, exception, new, twin)

    client.post(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk, "note": "same"})
    assert Customer.objects.get(pk=new.pk).status == "merged"
    message = refused_confirmation(client, exception, legacy, new)
    assert "is resolved; someone may have decided it already" in message


def test_the_merge_confirmation_says_what_the_survivor_keeps_what_stays_and_warns_of_two_erp_ids(
        client, steward, review):
    legacy, new, exception = review
    Customer.objects.filter(pk=legacy.pk).update(payment_terms="prepaid", credit_limit=Decimal("100000"))
    Customer.objects.filter(pk=new.pk).update(payment_terms="net30", credit_limit=Decimal("5000"))
    ExternalRefFactory(system=ExternalRef.objects.get().system, entity_type="customer", external_id="100001",
                       object_id=new.pk)
    Address.objects.create(customer=legacy, kind="billing", line1="1 MAIN ST", city="Springfield",
                           postal_code="62701")
    Address.objects.create(customer=new, kind="shipping", line1="9 Dock Rd", city="Springfield", postal_code="62702")
    client.force_login(steward)
    body = client.get(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk}).content.decode()
    kept = body[body.index('id="kept"'):body.index('id="moves"')]
    assert re.search(r'<tr class="differs"><td>Payment terms</td><td>Prepaid</td><td><span class="dropped">Net 30', kept)
    assert re.search(r"<td>Credit limit</td><td>100,000.00</td><td><span class=\"dropped\">5,000.00", kept)
    assert re.search(r"<td>Currency</td><td>USD</td><td><span class=\"muted\">the same", kept)
    moves = body[body.index('id="moves"'):]
    assert ">1 address<" in moves, "the shipping address moves; the billing one C900001 has already stays"
    assert "Stays with A-2001" in moves and "Billing: 1 Main St" in moves
    assert "Both accounts have an id in <strong>erp</strong> (900001 and 100001)" in body
    assert "erp still has two accounts after this merge; merge them there too" in body
    assert 'id="exposure-moves"' not in body, "nothing open on the merged account: no line about exposure"
    OrderFactory(customer=new, status="allocated", total_amount=Decimal("1234.50"))
    body = client.get(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk}).content.decode()
    line = body[body.index('id="exposure-moves"'):]
    assert line.startswith('id="exposure-moves">') and "open invoices" not in line[:line.index("</p>")]


def test_dismiss_needs_a_reason_and_then_records_the_decision(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    refused = client.post(f"{REVIEWS}{exception.pk}/dismiss/", {"candidates": [legacy.pk], "reason": ""}, follow=True)
    assert refused.status_code == 200 and "Say why they are not duplicates." in refused.content.decode()
    assert not DuplicateDismissal.objects.exists()
    done = client.post(f"{REVIEWS}{exception.pk}/dismiss/", {"candidates": [legacy.pk], "reason": "franchise"},
                       follow=True)
    assert "are not duplicates of A-2001" in done.content.decode()
    assert DuplicateDismissal.objects.count() == 1
    new.refresh_from_db()
    assert new.onboarding == "activation_requested"


@pytest.mark.parametrize("path, data", [
    ("merge/", {"survivor": "x", "merged": "1"}),
    ("merge/", {"survivor": "999999", "merged": "999998"}),
    ("merge/", {}),
    ("dismiss/", {"candidates": ["abc"], "reason": "x"}),
    ("dismiss/", {"candidates": ["999999"], "reason": "x"}),
])
def test_bad_posts_come_back_with_a_message_and_change_nothing(client, steward, review, path, data):
    legacy, new, exception = review
    client.force_login(steward)
    response = client.post(f"{REVIEWS}{exception.pk}/{path}", data)
    assert response.status_code == 302 and response["Location"] == f"{REVIEWS}{exception.pk}/"
    page = client.get(response["Location"])
    assert b'class="error"' in page.content
    assert IntegrationException.objects.get(pk=exception.pk).status == "open"
    assert Customer.objects.filter(status="merged").count() == 0


def test_a_closed_review_says_so_and_offers_no_actions(client, steward, review):
    legacy, new, exception = review
    client.force_login(steward)
    client.post(f"{REVIEWS}{exception.pk}/dismiss/", {"candidates": [legacy.pk], "reason": "franchise"})
    page = client.get(f"{REVIEWS}{exception.pk}/").content.decode()
    assert 'id="closed"' in page and "resolved by sam" in page
    assert "Not duplicates</button>" not in page and "merge A-2001 into it" not in page
    again = client.post(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk, "note": "same"},
                        follow=True)
    assert "someone may have decided it already" in again.content.decode()


def test_users_who_are_not_stewards_cannot_see_or_use_the_pages(client, django_user_model, review):
    legacy, new, exception = review
    finance = user_with(django_user_model, "fiona", "work_finance_queue", "release_credit_hold")
    client.force_login(finance)
    for response in (client.get(REVIEWS), client.get(f"{REVIEWS}{exception.pk}/"),
                     client.get(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk}),
                     client.post(f"{REVIEWS}{exception.pk}/merge/", {"survivor": legacy.pk, "merged": new.pk}),
                     client.post(f"{REVIEWS}{exception.pk}/dismiss/", {"candidates": [legacy.pk], "reason": "x"})):
        assert response.status_code == 403
    assert Customer.objects.get(pk=new.pk).status == "pending" and not DuplicateDismissal.objects.exists()
    client.logout()
    anonymous = client.get(REVIEWS)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_unknown_or_other_exceptions_are_404(client, steward, review):
    client.force_login(steward)
    assert client.get(f"{REVIEWS}999999/").status_code == 404
    other = IntegrationException.objects.create(
        category="credit_hold", team="finance", title="x", fingerprint="x", last_seen_at=review[2].last_seen_at,
        sla_due_at=review[2].sla_due_at)
    assert client.get(f"{REVIEWS}{other.pk}/").status_code == 404


def test_the_exception_in_the_queue_links_to_its_review(client, steward, review):
    client.force_login(steward)
    exception = review[2]
    page = client.get(f"/admin/connectors/integrationexception/{exception.pk}/change/")
    assert page.status_code == 200
    assert f'href="{REVIEWS}{exception.pk}/">Review the duplicates</a>' in page.content.decode()
