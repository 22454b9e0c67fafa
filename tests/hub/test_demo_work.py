"""hub.demo: the demo's held orders and disputes carry their exceptions, and its live order gives the
failed-sync and supplier queues something real, all through the hub's own flows."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from canonical.context import Actor
from canonical.models import Invoice, InvoiceStatus, Order, OrderStatus
from connectors.config import DEMO_CONFIG
from connectors.models import Category, Delivery, ExceptionStatus, IntegrationException
from connectors.services.relay import events_relay
from hub.demo import demo_work_open
from hub.selectors.credit import held_orders, hold_reason_of
from hub.workflows.credit import credit_hold_release

pytestmark = pytest.mark.django_db

SMALL = ["--customers", "30", "--products", "300", "--orders", "150", "--as-of", "2026-11-20T12:00"]


@pytest.fixture
def demo():
    call_command("seed_demo", *SMALL, stdout=io.StringIO(), stderr=io.StringIO())
    call_command("hub_config", "apply", str(DEMO_CONFIG), stdout=io.StringIO(), stderr=io.StringIO())


def test_every_demo_hold_says_why_and_has_the_exception_the_credit_check_opens(demo):
    held = list(held_orders())
    assert held
    for order in held:
        why = hold_reason_of(order.hold_payload)
        assert why.has_figures, order.number
        if why.over_limit:
            assert why.exposure + why.order_value > why.limit, order.number
            assert why.order_value == order.total_amount
        else:
            assert why.account_on_hold, order.number

    work = demo_work_open()

    assert work.credit_holds == len(held)
    for order in held:
        exception = IntegrationException.objects.get(fingerprint=f"credit_hold:order:{order.pk}")
        assert (exception.category, exception.status, exception.order_id) == (
            Category.CREDIT_HOLD, ExceptionStatus.OPEN, order.pk)
        assert exception.context["reason"] == order.hold_payload["reason"]
    # The real decision resolves it, as for a hold the credit check made.
    order = held[0]
    credit_hold_release(order=Order.objects.get(pk=order.pk), actor=Actor.hub(), note="Paid by wire")
    assert IntegrationException.objects.get(order=order, category=Category.CREDIT_HOLD).status == (
        ExceptionStatus.RESOLVED)


def test_every_disputed_demo_invoice_has_its_open_dispute_exception(demo):
    disputed = set(Invoice.objects.filter(status=InvoiceStatus.DISPUTED).values_list("pk", flat=True))
    assert disputed
    demo_work_open()
    assert set(IntegrationException.objects.filter(
        category=Category.INVOICE_DISPUTE, status=ExceptionStatus.OPEN).values_list("invoice_id", flat=True)) == disputed


def test_the_live_order_sends_a_po_to_the_failing_supplier_and_opens_a_date_miss(demo):
    work = demo_work_open()

    order = work.live_order
    assert order is not None and order.status != OrderStatus.CREDIT_HOLD
    assert {po.supplier.code for po in work.purchase_orders} == {"acme-supply", "northwind-supply"}
    assert work.date_miss is not None and work.date_miss.category == Category.SUPPLIER_DATE_MISS
    assert work.date_miss.status == ExceptionStatus.OPEN
    # What the worker sends to Northwind (whose demo partner answers 503).
    while events_relay():
        pass
    northwind = Delivery.objects.filter(subscription__connector__code="northwind-rest")
    assert northwind.filter(event__event_type="purchase_order.created").count() == 1

    # Again: nothing new.
    again = demo_work_open()
    assert (again.credit_holds, again.disputes, again.live_order) == (0, 0, None)
    assert Order.objects.filter(customer_po="DEMO-DROP-SHIP").count() == 1
    assert IntegrationException.objects.filter(occurrences__gt=1).count() == 0
    assert Decimal(order.total_amount) > 0
