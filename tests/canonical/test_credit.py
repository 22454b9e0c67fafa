"""Credit standing: the root account's limit, exposure over the whole tree, holds anywhere up the chain."""

from decimal import Decimal

import pytest

from canonical.services.credit import credit_chain, customer_credit_standing
from tests.factories import CustomerFactory, InvoiceFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    root = CustomerFactory(credit_limit=Decimal("1000.00"), currency="EUR")
    ship_to = CustomerFactory(parent=root, is_sold_to=False, is_bill_to=False, credit_limit=Decimal("0"))
    payables = CustomerFactory(parent=root, is_sold_to=False, is_ship_to=False, credit_limit=Decimal("0"))
    return root, ship_to, payables


def test_standing_counts_open_orders_and_unpaid_invoices_of_the_whole_tree(tree):
    root, ship_to, payables = tree
    order = OrderFactory(customer=root, ship_to=ship_to, bill_to=payables, status="allocated")
    OrderLineFactory(order=order, quantity_ordered=Decimal("4"), unit_price=Decimal("25.00"),
                     quantity_invoiced=Decimal("1"))  # 3 × 25 uninvoiced
    child_order = OrderFactory(customer=ship_to, status="backordered")
    OrderLineFactory(order=child_order, quantity_ordered=Decimal("2"), unit_price=Decimal("10.00"))
    InvoiceFactory(customer=payables, amount=Decimal("300.00"), amount_paid=Decimal("100.00"), status="posted")
    InvoiceFactory(customer=root, amount=Decimal("50.00"), status="disputed")
    # Not exposure: closed or cancelled orders, paid invoices, another customer's documents.
    closed = OrderFactory(customer=root, status="closed")
    OrderLineFactory(order=closed, quantity_ordered=Decimal("100"))
    cancelled = OrderFactory(customer=root, status="cancelled")
    OrderLineFactory(order=cancelled, quantity_ordered=Decimal("100"))
    InvoiceFactory(customer=root, amount=Decimal("999.00"), status="paid")
    stranger = OrderFactory(status="allocated")
    OrderLineFactory(order=stranger, quantity_ordered=Decimal("100"))

    standing = customer_credit_standing(customer=ship_to)

    assert standing.credit_account_id == root.pk
    assert standing.currency == "EUR"
    assert standing.limit == Decimal("1000.00")
    assert standing.open_orders == Decimal("95.00")
    assert standing.open_invoices == Decimal("250.00")
    assert standing.exposure == Decimal("345.00")
    assert standing.available == Decimal("655.00")
    assert standing.on_hold is False
    assert standing.would_exceed(Decimal("655.00")) is False
    assert standing.would_exceed(Decimal("655.01")) is True
    assert standing.as_dict()["available"] == "655.00"


def test_a_hold_on_the_root_or_on_the_account_itself_puts_it_on_hold(tree):
    root, ship_to, payables = tree
    assert customer_credit_standing(customer=payables).on_hold is False
    ship_to.credit_status = "hold"
    ship_to.save()
    assert customer_credit_standing(customer=ship_to).on_hold is True
    assert customer_credit_standing(customer=payables).on_hold is False  # a sibling's hold is not ours
    root.credit_status = "hold"
    root.save()
    standing = customer_credit_standing(customer=payables)
    assert standing.on_hold is True and standing.credit_status == "hold"


def test_a_customer_without_orders_has_its_whole_limit_and_the_root_is_its_own_credit_account():
    customer = CustomerFactory(credit_limit=Decimal("0"))
    standing = customer_credit_standing(customer=customer)
    assert (standing.exposure, standing.available) == (Decimal("0.00"), Decimal("0.00"))
    assert standing.would_exceed(Decimal("0.01"))  # no limit, no credit
    assert credit_chain(customer) == [customer]  # its own credit account
