"""Credit holds: the release and reject services and the finance queue page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from canonical.context import Actor
from canonical.models import AuditEntry, BusinessEvent, InventoryPosition, OrderStatus
from connectors.models import Category, ExceptionStatus, IntegrationException
from hub.workflows.credit import (
    CreditHoldRefused,
    credit_hold_reject,
    credit_hold_release,
    credit_holds_reject,
    credit_holds_release,
)
from tests.factories import CustomerFactory, IntegrationExceptionFactory, InvoiceFactory
from tests.hub.credit_support import held_order, stocked_product

pytestmark = pytest.mark.django_db

QUEUE = "/portal/credit-holds/"
DECIDE = "/portal/credit-holds/decide/"


@pytest.fixture
def finance_user(django_user_model):
    user = django_user_model.objects.create_user("fiona", password="x-secret-pass-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="canonical", codename__in=["release_credit_hold", "view_order", "view_invoice"]))
    return user


@pytest.fixture
def operations_user(django_user_model):
    user = django_user_model.objects.create_user("oscar", password="x-secret-pass-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="canonical",
                                                        codename__in=["view_order", "change_order"]))
    return user


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _event_types(order) -> list[str]:
    return list(BusinessEvent.objects.filter(aggregate_type="order", aggregate_id=str(order.pk))
                .order_by("sequence").values_list("event_type", flat=True))


# --- services -------------------------------------------------------------------------------


def test_release_resumes_the_order_emits_the_event_resolves_the_exception_and_audits(finance_user):
    order = held_order()
    exception = IntegrationException.objects.get(order=order, category=Category.CREDIT_HOLD)
    assert exception.status == ExceptionStatus.OPEN

    decision = credit_hold_release(order=order, actor=Actor(user=finance_user), note="Paid INV-1 by wire today")

    order.refresh_from_db()
    assert decision.status == order.status == OrderStatus.ALLOCATED
    assert order.lines.get().quantity_allocated == Decimal("3")
    assert InventoryPosition.objects.get().reserved == Decimal("3")
    events = _event_types(order)
    assert events[:2] == ["order.created", "order.credit_hold"]
    assert "order.credit_hold_released" in events
    assert events.index("order.credit_hold_released") < events.index("order.allocated")
    assert "order.fulfilment_requested" in events
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    assert exception.resolved_by == finance_user
    assert exception.resolution_note == "Released from credit hold: Paid INV-1 by wire today"
    audit = AuditEntry.objects.get(action="order.credit_hold_released", object_id=str(order.pk))
    assert audit.actor_user == finance_user and audit.note == "Paid INV-1 by wire today"
    assert audit.before["status"] == OrderStatus.CREDIT_HOLD and audit.after["status"] == OrderStatus.ALLOCATED
    assert Decimal(audit.before["credit"]["exposure"]) == Decimal("300.00")
    assert audit.before["credit"]["limit"] == "100.00"
    assert audit.after["exceptions_resolved"] == [exception.pk]


def test_reject_cancels_the_order_and_gives_back_what_it_held(finance_user):
    order = held_order()
    decision = credit_hold_reject(order=order, actor=Actor(user=finance_user), note="Account in collections")
    order.refresh_from_db()
    assert decision.status == order.status == OrderStatus.CANCELLED
    assert InventoryPosition.objects.get().reserved == 0
    assert _event_types(order)[-1] == "order.cancelled"
    cancelled = BusinessEvent.objects.filter(event_type="order.status_changed", aggregate_id=str(order.pk)).last()
    assert cancelled.payload["reason"] == "credit hold rejected"
    exception = IntegrationException.objects.get(order=order, category=Category.CREDIT_HOLD)
    assert exception.status == ExceptionStatus.RESOLVED
    assert exception.resolution_note == "Rejected, order cancelled: Account in collections"
    audit = AuditEntry.objects.get(action="order.credit_hold_rejected", object_id=str(order.pk))
    assert (audit.before["status"], audit.after["status"]) == (OrderStatus.CREDIT_HOLD, OrderStatus.CANCELLED)
    # The cancelled order no longer counts towards the customer's exposure.
    assert Decimal(audit.after["credit"]["exposure"]) == Decimal("0.00")


def test_a_held_order_cancelled_through_the_api_leaves_nothing_in_the_queue(finance_user, operations_user):
    order = held_order()

    response = _as(operations_user).post(f"/api/v1/orders/{order.pk}/cancel", {"reason": "customer withdrew it"},
                                         content_type="application/json")

    assert response.status_code == 200, response.json()
    assert response.json()["order"]["status"] == OrderStatus.CANCELLED
    exception = IntegrationException.objects.get(order=order, category=Category.CREDIT_HOLD)
    assert exception.status == ExceptionStatus.RESOLVED
    assert exception.resolution_note == f"Order {order.number} cancelled: customer withdrew it"
    assert AuditEntry.objects.filter(action="exception.resolved", object_id=str(exception.pk)).exists()
    assert order.number not in _as(finance_user).get(QUEUE).content.decode()


@pytest.mark.parametrize("note", ["", "   "])
def test_a_note_is_required_and_nothing_changes_without_one(finance_user, note):
    order = held_order()
    for decide in (credit_hold_release, credit_hold_reject):
        with pytest.raises(CreditHoldRefused, match="A note is required"):
            decide(order=order, actor=Actor(user=finance_user), note=note)
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD
    assert not AuditEntry.objects.filter(action__startswith="order.credit_hold").exists()


def test_an_order_decided_already_is_refused_naming_its_status(finance_user):
    order = held_order()
    credit_hold_release(order=order, actor=Actor(user=finance_user), note="ok")
    with pytest.raises(CreditHoldRefused, match=r"is allocated, not on credit hold"):
        credit_hold_reject(order=order, actor=Actor(user=finance_user), note="too late")
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED


def test_bulk_release_reports_per_order_and_one_refusal_does_not_stop_the_others(finance_user):
    product = stocked_product(on_hand="4")
    customer = CustomerFactory(credit_limit=Decimal("100.00"))
    first, second, third = (held_order(customer=customer, product=product, quantity="2") for _ in range(3))
    credit_hold_reject(order=second, actor=Actor(user=finance_user), note="duplicate order")

    result = credit_holds_release(orders=[first, second.pk, third], actor=Actor(user=finance_user),
                                  note="Customer paid in full")

    assert [(o.number, o.done, o.status) for o in result.done] == [
        (first.number, True, OrderStatus.ALLOCATED), (third.number, True, OrderStatus.ALLOCATED)]
    [skipped] = result.skipped
    assert skipped.number == second.number and "cancelled, not on credit hold" in skipped.reason
    assert result.summary() == (
        f"2 released ({first.number}, {third.number}: now allocated), 1 skipped ({second.number}: Order "
        f"{second.number} is cancelled, not on credit hold; someone may have decided it already)."
    )
    assert AuditEntry.objects.filter(action="order.credit_hold_released").count() == 2


def test_bulk_release_of_more_than_the_stock_backorders_the_rest(finance_user):
    product = stocked_product(on_hand="3")
    customer = CustomerFactory(credit_limit=Decimal("100.00"))
    orders = [held_order(customer=customer, product=product, quantity="2") for _ in range(2)]
    result = credit_holds_release(orders=orders, actor=Actor(user=finance_user), note="approved by CFO")
    assert [o.status for o in result.done] == [OrderStatus.ALLOCATED, OrderStatus.BACKORDERED]
    assert InventoryPosition.objects.get().reserved == Decimal("3")


def test_bulk_reject_needs_a_note_before_touching_any_order(finance_user):
    order = held_order()
    with pytest.raises(CreditHoldRefused):
        credit_holds_reject(orders=[order], actor=Actor(user=finance_user), note="")
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD


# --- the page -------------------------------------------------------------------------------


def test_the_queue_shows_held_orders_with_value_exposure_age_and_open_invoices(finance_user):
    order = held_order(limit="250.00")
    InvoiceFactory(customer=order.customer, number="INV-OPEN-1", amount=Decimal("40.00"),
                   due_date=timezone.localdate() - timedelta(days=5))
    InvoiceFactory(customer=order.customer, number="INV-PAID-1", amount=Decimal("10.00"), status="paid")

    response = _as(finance_user).get(QUEUE)

    assert response.status_code == 200
    html = response.content.decode()
    assert order.number in html and order.customer.name in html
    assert "300.00" in html  # the order's value
    assert "340.00 of 250.00 USD" in html  # exposure: the held order and the open invoice
    assert "Over the limit by <span class=\"neg\">90.00</span>" in html
    assert "INV-OPEN-1" in html and "INV-PAID-1" not in html
    assert "1 overdue" in html
    assert 'name="decision" value="release"' in html and 'id="bulk-form"' in html
    assert 'id="read-only"' not in html


def _row(response, order) -> str:
    html = response.content.decode()
    start = html.index(f'<tr class="held" id="order-{order.pk}"')
    return html[start:html.index("</tr>", start)]


def test_each_held_order_says_why_with_the_figures_at_the_time_of_the_hold(finance_user):
    over = held_order(limit="250.00")  # 300.00 against 250.00 with nothing else open
    over.customer.credit_limit = Decimal("10000.00")  # raised since: today's exposure fits
    over.customer.save(update_fields=["credit_limit"])
    on_hold = held_order(customer=CustomerFactory(credit_limit=Decimal("5000.00"), credit_status="hold"))

    response = _as(finance_user).get(QUEUE)

    assert [row["held_because"].code for row in response.context["rows"]] == ["over_credit_limit", "account_on_hold"]
    row = _row(response, over)
    assert "over the limit" in row
    assert "0.00 + 300.00 = 300.00 &gt; 250.00 USD" in row and "at the time of the hold" in row
    assert "300.00 of 10,000.00 USD" in row  # the exposure now, beside it
    row = _row(response, on_hold)
    assert "account on credit hold" in row and "over the limit" not in row


@pytest.mark.parametrize("payload, shown", [
    ({"order_id": 1, "from": "validated", "to": "credit_hold"}, "No reason was recorded with this hold."),
    ({"reason": "Held because the order would exceed the credit limit."},
     "No reason was recorded with this hold: &ldquo;Held because the order would exceed the credit limit.&rdquo;"),
    ({"reason": "over_credit_limit"}, "the figures were not recorded with the hold"),
])
def test_a_hold_recorded_without_its_reason_says_so(finance_user, payload, shown):
    order = held_order()
    BusinessEvent.objects.filter(aggregate_id=str(order.pk), event_type="order.credit_hold").update(payload=payload)
    assert shown in _row(_as(finance_user).get(QUEUE), order)


def test_users_without_the_finance_permission_see_the_queue_but_no_actions(operations_user):
    order = held_order()
    response = _as(operations_user).get(QUEUE)
    assert response.status_code == 200
    html = response.content.decode()
    assert order.number in html
    assert 'name="decision"' not in html and "bulk-form" not in html and "Decide" not in html
    assert 'id="read-only"' in html


def test_posting_a_decision_without_the_permission_is_forbidden(operations_user):
    order = held_order()
    response = _as(operations_user).post(DECIDE, {"orders": [order.pk], "decision": "release", "note": "ok"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD


def test_staff_without_order_access_and_anonymous_visitors_are_kept_out(django_user_model, client):
    held_order()
    assert client.get(QUEUE).status_code == 302
    assert client.post(DECIDE, {}).status_code == 302
    nobody = django_user_model.objects.create_user("nobody", password="x-secret-pass-1", is_staff=True)
    assert _as(nobody).get(QUEUE).status_code == 403


def test_decisions_are_csrf_protected(finance_user):
    order = held_order()
    client = Client(enforce_csrf_checks=True)
    client.force_login(finance_user)
    response = client.post(DECIDE, {"orders": [order.pk], "decision": "release", "note": "ok"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD


def test_releasing_one_order_from_the_page(finance_user):
    order = held_order()
    client = _as(finance_user)
    response = client.post(DECIDE, {"orders": [order.pk], "decision": "release", "note": "Prepayment received",
                                    "next": f"{QUEUE}?sort=-value"}, follow=True)
    assert response.redirect_chain == [(f"{QUEUE}?sort=-value", 302)]
    html = response.content.decode()
    assert f"1 released ({order.number}: now allocated)." in html
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    # Gone from the queue, listed under the recent decisions with its status now.
    assert f'<tr class="held" id="order-{order.pk}" data-order="{order.number}">' not in html
    assert f'data-order="{order.number}"' in html and "Prepayment received" in html and "Allocated" in html


def test_a_decision_without_a_note_or_without_orders_is_refused_with_a_message(finance_user):
    order = held_order()
    client = _as(finance_user)
    response = client.post(DECIDE, {"orders": [order.pk], "decision": "release", "note": "  "}, follow=True)
    assert "A note is required" in response.content.decode()
    response = client.post(DECIDE, {"decision": "reject", "note": "no"}, follow=True)
    assert "Select at least one order." in response.content.decode()
    response = client.post(DECIDE, {"orders": ["x"], "decision": "approve", "note": "no"}, follow=True)
    assert response.status_code == 200 and "is not one of the available choices" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD
    assert not AuditEntry.objects.filter(action__startswith="order.credit_hold").exists()


def test_rejecting_asks_for_confirmation_listing_what_would_be_cancelled(finance_user):
    customer = CustomerFactory(name="Summit Heating", credit_limit=Decimal("100.00"))
    product = stocked_product()
    orders = [held_order(customer=customer, product=product) for _ in range(2)]
    released = held_order(customer=CustomerFactory(credit_limit=Decimal("100.00")), product=product)
    credit_hold_release(order=released, actor=Actor(user=finance_user), note="Paid")
    client = _as(finance_user)
    chosen = {"orders": [o.pk for o in orders] + [released.pk], "decision": "reject",
              "note": "Account referred to collections", "next": f"{QUEUE}?sort=-value"}

    asked = client.post(DECIDE, chosen)

    assert asked.status_code == 200 and asked.templates[0].name == "hub/credit_holds_reject.html"
    html = asked.content.decode()
    assert "Cancel 2 orders (600.00 USD) for 1 customer?" in html
    assert all(f'data-order="{o.number}"' in html for o in orders) and f'data-order="{released.number}"' not in html
    assert "1 other selected order is no longer on credit hold" in html
    assert "Account referred to collections" in html and 'name="confirmed" value="yes"' in html
    assert {o.status for o in type(orders[0]).objects.filter(pk__in=[o.pk for o in orders])} == {"credit_hold"}
    assert not AuditEntry.objects.filter(action="order.credit_hold_rejected").exists()
    # The confirmation still needs the note: a blank one is refused as on the queue.
    blank = client.post(DECIDE, {**chosen, "note": " ", "confirmed": "yes"}, follow=True)
    assert "A note is required" in blank.content.decode()

    done = client.post(DECIDE, {**chosen, "orders": [o.pk for o in orders], "confirmed": "yes"}, follow=True)

    assert done.redirect_chain == [(f"{QUEUE}?sort=-value", 302)]
    assert "2 rejected" in done.content.decode()
    assert {o.status for o in type(orders[0]).objects.filter(pk__in=[o.pk for o in orders])} == {"cancelled"}


def test_rejecting_one_order_from_its_row_asks_too(finance_user):
    order = held_order()
    asked = _as(finance_user).post(DECIDE, {"orders": [order.pk], "decision": "reject", "note": "Duplicate order"})
    assert asked.status_code == 200 and "Cancel 1 order (300.00 USD) for 1 customer?" in asked.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD


def test_releasing_needs_no_confirmation(finance_user):
    order = held_order()
    response = _as(finance_user).post(DECIDE, {"orders": [order.pk], "decision": "release", "note": "Paid"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED


def test_bulk_reject_from_the_page_reports_every_order(finance_user):
    customer = CustomerFactory(credit_limit=Decimal("100.00"))
    product = stocked_product()
    orders = [held_order(customer=customer, product=product) for _ in range(3)]
    response = _as(finance_user).post(
        DECIDE, {"orders": [o.pk for o in orders] + [999999], "decision": "reject", "note": "Fraud suspected",
                 "confirmed": "yes"},
        follow=True)
    html = response.content.decode()
    assert "3 rejected" in html and "1 skipped (#999999: no longer exists)" in html
    assert {o.status for o in type(orders[0]).objects.filter(pk__in=[o.pk for o in orders])} == {"cancelled"}
    assert AuditEntry.objects.filter(action="order.credit_hold_rejected", note="Fraud suspected").count() == 3


def test_a_redirect_outside_the_queue_is_not_followed(finance_user):
    order = held_order()
    response = _as(finance_user).post(DECIDE, {"orders": [order.pk], "decision": "release", "note": "ok",
                                               "next": "https://evil.example/"})
    assert response["Location"] == QUEUE


def test_filters_and_sorting(finance_user):
    product = stocked_product()
    small_customer = CustomerFactory(name="Alpha Plumbing", credit_limit=Decimal("50.00"))
    big_customer = CustomerFactory(name="Zeta Heating", credit_limit=Decimal("50.00"))
    small = held_order(customer=small_customer, product=product, quantity="1")
    big = held_order(customer=big_customer, product=product, quantity="5")
    old = held_order(customer=big_customer, product=product, quantity="2")
    BusinessEvent.objects.filter(aggregate_id=str(old.pk), event_type="order.credit_hold").update(
        recorded_at=timezone.now() - timedelta(days=4))
    client = _as(finance_user)

    def listed(**params) -> list[str]:
        response = client.get(QUEUE, params)
        assert response.status_code == 200
        return [row["order"].number for row in response.context["rows"]]

    assert listed() == [old.number, small.number, big.number]  # oldest hold first
    assert listed(sort="-value") == [big.number, old.number, small.number]
    assert listed(sort="value") == [small.number, old.number, big.number]
    assert listed(sort="customer")[0] == small.number
    assert listed(customer=big_customer.pk) == [old.number, big.number]
    assert listed(order=big.pk) == [big.number]
    assert listed(age="gt3d") == [old.number]
    assert listed(age="lt1d", sort="-age") == [big.number, small.number]
    assert listed(age="nonsense", sort="sideways") == [old.number, small.number, big.number]
    assert "No held orders match these filters." in client.get(QUEUE, {"age": "gt7d"}).content.decode()


def test_the_credit_hold_exception_links_to_its_order_in_the_queue(finance_user):
    order, other = held_order(), held_order()
    exception = IntegrationException.objects.get(order=order, category=Category.CREDIT_HOLD)
    client = _as(finance_user)
    response = client.get(reverse("credit-hold-for-exception", args=[exception.pk]), follow=True)
    assert response.redirect_chain == [(f"{QUEUE}?order={order.pk}#order-{order.pk}", 302)]
    assert [row["order"] for row in response.context["rows"]] == [order]
    assert f'<tr class="held" id="order-{order.pk}"' in response.content.decode()
    assert other.number not in response.content.decode()
    not_a_hold = IntegrationExceptionFactory()
    assert client.get(reverse("credit-hold-for-exception", args=[not_a_hold.pk])).status_code == 404


# --- the order's admin page ------------------------------------------------------------------


def _order_page(user, order) -> str:
    response = _as(user).get(reverse("admin:canonical_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_held_orders_admin_page_says_why_and_leads_finance_to_the_queue(finance_user):
    finance_user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_integrationexception", "work_finance_queue"]))
    order = held_order()  # 300.00 against a limit of 100.00
    exception = IntegrationException.objects.get(order=order, category=Category.CREDIT_HOLD)

    html = _order_page(finance_user, order)

    assert "Credit hold</h2>" in html and "over the limit" in html
    assert "0.00 + 300.00 = 300.00 &gt; 100.00 USD" in html  # the figures of the hold event, as the queue shows
    assert f'<a href="{reverse("admin:connectors_integrationexception_change", args=[exception.pk])}">' in html
    assert (f'<a href="{QUEUE}?order={order.pk}#order-{order.pk}" class="button">'
            "Release or reject in the credit-hold queue</a>") in html
    assert f"/admin/connectors/integrationexception/?order__id__exact={order.pk}" in html  # under Related


def test_staff_who_may_not_decide_or_open_the_finance_queue_get_no_such_links(operations_user):
    order = held_order()
    exception = IntegrationException.objects.get(order=order, category=Category.CREDIT_HOLD)

    html = _order_page(operations_user, order)

    assert "over the limit" in html and f"#{exception.pk} " in html
    assert reverse("admin:connectors_integrationexception_change", args=[exception.pk]) not in html
    assert "integrationexception/?order__id__exact" not in html
    assert "Release or reject" not in html
    assert f'<a href="{QUEUE}?order={order.pk}#order-{order.pk}" class="button">See it in the credit-hold queue' in html


def test_an_order_not_on_hold_has_no_credit_hold_block(finance_user):
    order = held_order()
    credit_hold_release(order=order, actor=Actor(user=finance_user), note="Paid by wire")
    html = _order_page(finance_user, order)
    assert "Credit hold</h2>" not in html and "credit-hold queue" not in html


def test_the_queue_costs_a_bounded_number_of_queries(finance_user):
    customer = CustomerFactory(credit_limit=Decimal("50.00"))
    product = stocked_product()
    held_order(customer=customer, product=product)
    client = _as(finance_user)
    client.get(QUEUE)
    with CaptureQueriesContext(connection) as one:
        client.get(QUEUE)
    for _ in range(6):
        held_order(customer=customer, product=product)
    with CaptureQueriesContext(connection) as seven:
        client.get(QUEUE)
    # The standing is computed once per customer, so more orders of one customer cost nothing more.
    assert len(seven.captured_queries) == len(one.captured_queries)


@pytest.mark.postgres_only
def test_more_customers_on_the_queue_cost_no_more_round_trips(finance_user):
    """Each customer's standing and account tree go in one round trip for the whole page."""
    product = stocked_product()
    root = CustomerFactory(credit_limit=Decimal("50.00"))
    held_order(customer=CustomerFactory(parent=root, credit_limit=Decimal("0")), product=product)
    client = _as(finance_user)
    client.get(QUEUE)
    with CaptureQueriesContext(connection) as one:
        client.get(QUEUE)
    for parent in (None, None, CustomerFactory(credit_limit=Decimal("50.00"))):
        held_order(customer=CustomerFactory(parent=parent, credit_limit=Decimal("50.00") if parent is None
                                            else Decimal("0")), product=product)
    with CaptureQueriesContext(connection) as four:
        response = client.get(QUEUE)
    assert len(response.context["rows"]) == 4
    assert len(four.captured_queries) == len(one.captured_queries)


def test_the_home_page_links_to_the_queue(finance_user):
    held_order()
    html = _as(finance_user).get("/").content.decode()
    assert reverse("credit-holds") in html
