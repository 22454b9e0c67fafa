"""The finance queue in a real browser: a finance user releases a held order and sees it move to
allocated, rejects two in bulk and follows the released order to its timeline; an operations user
sees the queue but no actions, and a decision posted by hand is refused. Users get their
permissions from the real staff roles.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from canonical.context import Actor
from canonical.models import Order, OrderStatus
from connectors.models import IntegrationException
from hub import roles
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.factories import CustomerFactory, InvoiceFactory
from tests.hub.credit_support import held_order, stocked_product

pytestmark = pytest.mark.browser

QUEUE = "/portal/credit-holds/"


def _member(django_user_model, username: str, role: str):
    roles.roles_apply(actor=Actor.hub())
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def finance_user(transactional_db, django_user_model):
    return _member(django_user_model, "fiona", roles.FINANCE)


@pytest.fixture
def operations_user(transactional_db, django_user_model):
    return _member(django_user_model, "oscar", roles.OPERATIONS)


@pytest.fixture
def held(transactional_db):
    product = stocked_product(sku="PIPE-CU-15", price="120.00", on_hand="40")
    harbor = CustomerFactory(name="Harbor Mechanical Supply", credit_limit=Decimal("1000.00"))
    summit = CustomerFactory(name="Summit Plumbing Co", credit_limit=Decimal("500.00"))
    InvoiceFactory(customer=summit, number="INV-2231", amount=Decimal("180.00"),
                   due_date=timezone.localdate() - timedelta(days=12))
    InvoiceFactory(customer=summit, number="INV-2290", amount=Decimal("95.50"),
                   due_date=timezone.localdate() + timedelta(days=18))
    return {
        "release": held_order(customer=harbor, product=product, quantity="10"),
        "bulk": [held_order(customer=summit, product=product, quantity="5"),
                 held_order(customer=summit, product=product, quantity="6")],
    }


def test_finance_releases_a_held_order_and_sees_it_allocated_then_rejects_two_in_bulk(page, offline, finance_user,
                                                                                       held):
    order = held["release"]
    login(page, finance_user.username, next_url=QUEUE)
    rows = page.locator("#held-orders tr.held")
    assert rows.count() == 3
    row = page.locator(f'tr.held[data-order="{order.number}"]')
    assert "Harbor Mechanical Supply" in row.inner_text()
    assert "1,200.00" in row.inner_text()  # the order's value
    assert page.locator("#held-count").inner_text() == "3"
    screenshot(page, "credit-holds")

    row.get_by_text("Decide…").click()
    row.locator("textarea[name=note]").fill("Wire transfer for INV-2231 received this morning")
    screenshot(page, "credit-holds-decide")
    row.get_by_role("button", name="Release").click()
    page.wait_for_load_state("networkidle")

    message = page.locator("ul.messages").inner_text()
    assert f"1 released ({order.number}: now allocated)." in message
    assert page.locator(f'tr.held[data-order="{order.number}"]').count() == 0
    decision = page.locator(f'#decisions tr[data-order="{order.number}"]')
    assert "Released" in decision.inner_text() and "Allocated" in decision.inner_text()
    assert "Wire transfer for INV-2231" in decision.inner_text()
    order.refresh_from_db()
    assert order.status == OrderStatus.ALLOCATED
    assert IntegrationException.objects.get(order=order, category="credit_hold").status == "resolved"

    # Two orders of another customer, rejected together with one note.
    first, second = held["bulk"]
    summit_row = page.locator(f'tr.held[data-order="{first.number}"]')
    summit_row.get_by_text("2 open").click()
    assert "INV-2231" in summit_row.inner_text() and "1 overdue" in summit_row.inner_text()
    page.locator("#select-all").check()
    assert page.locator("#picked").inner_text() == "2"
    page.locator("#bulk-bar textarea").fill("Account referred to collections")
    page.get_by_role("button", name="Reject selected").click()
    page.wait_for_load_state("networkidle")
    # Rejecting cancels the orders: a page lists them and asks first; nothing is cancelled yet.
    assert page.locator("#confirm-heading").inner_text().startswith("Cancel 2 orders")
    assert page.locator("#to-cancel tbody tr").count() == 2
    assert "Account referred to collections" in page.locator(".note").inner_text()
    assert set(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"credit_hold"}
    screenshot(page, "credit-holds-reject-confirm")
    page.get_by_role("button", name="Reject and cancel 2 orders").click()
    page.wait_for_load_state("networkidle")
    assert "2 rejected" in page.locator("ul.messages").inner_text()
    assert page.locator("#empty").is_visible()
    assert set(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"cancelled"}
    screenshot(page, "credit-holds-decided")

    # The released order's timeline, from the decisions table: held, released, allocated, audited.
    page.locator(f'#decisions tr[data-order="{order.number}"]').get_by_role("link", name=order.number).click()
    page.wait_for_load_state("networkidle")
    timeline = page.locator("#timeline")
    for text in ("Created: Credit hold", "Status: Credit hold → Released from credit hold",
                 "Status: Released from credit hold → Allocated", "order.credit_hold_released",
                 "Wire transfer for INV-2231"):
        assert timeline.locator(".tl-title", has_text=text).first.is_visible(), text
    screenshot(page, "order-timeline")
    assert offline == [], f"the page asked the internet for {offline}"


def test_an_operations_user_sees_the_queue_but_cannot_release(page, operations_user, held):
    order = held["release"]
    login(page, operations_user.username, next_url=QUEUE)
    assert page.locator(f'tr.held[data-order="{order.number}"]').is_visible()
    assert page.locator("#read-only").is_visible()
    assert page.get_by_text("Decide…").count() == 0
    assert page.locator("#bulk-bar").count() == 0
    assert page.get_by_role("button", name="Release").count() == 0
    screenshot(page, "credit-holds-read-only")

    # Posting a decision by hand (with a valid CSRF token) is refused.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    status = page.evaluate(
        """async ([token, id]) => {
            const body = new URLSearchParams({csrfmiddlewaretoken: token, orders: id, decision: "release", note: "x"});
            const response = await fetch("/portal/credit-holds/decide/", {method: "POST", body});
            return response.status;
        }""",
        [token, str(order.pk)],
    )
    assert status == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.CREDIT_HOLD
