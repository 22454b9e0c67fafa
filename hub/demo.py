"""What the demo's history leaves for the hub's own flows, done through them (demo_setup runs it).

The seeded history (canonical.demo) is written as already handed on and cannot reach the
connectors app, so the queues would start empty although the history has work waiting:

* every order on credit hold gets the finance exception the credit check opens, with the figures
  its ``order.credit_hold`` event recorded; every disputed invoice the dispute's exception;
* one live order, placed through the order flow, raises drop-ship purchase orders to both
  suppliers: the Northwind one is sent by the worker to the demo partner that is set to fail
  (retries, the breaker, then a dead delivery with its exception), and Acme acknowledges its own
  late, which opens a supplier date miss.

Idempotent: what exists already is left as it is.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.models import (
    BusinessEvent,
    CreditStatus,
    Customer,
    CustomerStatus,
    EntityType,
    ExternalRef,
    Invoice,
    InvoiceStatus,
    Order,
    OrderStatus,
    Product,
    ProductStatus,
    PurchaseOrder,
    System,
)
from canonical.services.credit import CreditStanding, customer_credit_standing
from canonical.services.order_entry import LineRequest, order_request_check
from canonical.services.procurement import suppliers_for
from connectors.models import ACTIVE_EXCEPTION_STATUSES, Category, IntegrationException
from connectors.services.supply_exceptions import supplier_acknowledgement_receive
from hub.workflows.disputes import invoice_dispute_exception_open
from hub.workflows.orders import (
    HOLD_OVER_LIMIT,
    HOLD_REASONS,
    credit_hold_exception_open,
    credit_hold_reason,
    order_submit,
)

LIVE_ORDER_SYSTEM = "shop"
LIVE_ORDER_EXTERNAL_ID = "W-DEMO-SUPPLY-1"
FAILING_SUPPLIER = "northwind-supply"  # its demo partner answers 503 (connectors demo_partners)
LATE_SUPPLIER = "acme-supply"
LATE_BY_DAYS = 21


@dataclass
class DemoWork:
    credit_holds: int = 0
    disputes: int = 0
    live_order: Order | None = None
    purchase_orders: list[PurchaseOrder] = field(default_factory=list)
    date_miss: IntegrationException | None = None


def demo_work_open() -> DemoWork:
    work = DemoWork(credit_holds=_credit_hold_exceptions_open(), disputes=_dispute_exceptions_open())
    _live_supplier_order(work)
    return work


def _latest_events(event_type: str, aggregate_type: str, ids) -> dict[str, BusinessEvent]:
    events = (BusinessEvent.objects.filter(event_type=event_type, aggregate_type=aggregate_type,
                                           aggregate_id__in=[str(pk) for pk in ids])
              .only("aggregate_id", "payload", "event_id", "correlation_id", "source_system_id").order_by("id"))
    return {event.aggregate_id: event for event in events}


def _actor_for(event: BusinessEvent | None, **who) -> Actor:
    if event is None:
        return Actor(**who)
    return Actor(correlation_id=event.correlation_id or Actor.hub().correlation_id, **who).caused_by(event.event_id)


def _credit_hold_exceptions_open() -> int:
    covered = IntegrationException.objects.filter(category=Category.CREDIT_HOLD, status__in=ACTIVE_EXCEPTION_STATUSES,
                                                  order__isnull=False).values("order_id")
    held = list(Order.objects.filter(status=OrderStatus.CREDIT_HOLD).exclude(pk__in=covered)
                .select_related("customer").order_by("pk"))
    events = _latest_events("order.credit_hold", "order", [order.pk for order in held])
    for order in held:
        event = events.get(str(order.pk))
        payload = event.payload if event is not None else {}
        reason = payload.get("reason")
        try:
            standing = CreditStanding.from_dict(payload["credit"])
        except (KeyError, TypeError, InvalidOperation):
            standing = None
        if reason not in HOLD_REASONS or standing is None:
            # A hold from before its event recorded the reason: the account as it stands now.
            standing = customer_credit_standing(customer=order.customer)
            reason = credit_hold_reason(standing, order.total_amount) or HOLD_OVER_LIMIT
        with transaction.atomic():
            credit_hold_exception_open(order=order, standing=standing, reason=reason, actor=_actor_for(event))
    return len(held)


def _dispute_exceptions_open() -> int:
    covered = IntegrationException.objects.filter(category=Category.INVOICE_DISPUTE,
                                                  status__in=ACTIVE_EXCEPTION_STATUSES,
                                                  invoice__isnull=False).values("invoice_id")
    disputed = list(Invoice.objects.filter(status=InvoiceStatus.DISPUTED).exclude(pk__in=covered)
                    .select_related("customer", "order", "shipment").order_by("pk"))
    events = _latest_events("invoice.disputed", "invoice", [invoice.pk for invoice in disputed])
    systems = {system.pk: system for system in System.objects.all()}
    for invoice in disputed:
        event = events.get(str(invoice.pk))
        source = systems.get(event.source_system_id) if event is not None and event.source_system_id else None
        payload = event.payload if event is not None else {}
        try:
            amount = Decimal(str(payload.get("disputed_amount") or invoice.amount))
        except InvalidOperation:
            amount = invoice.amount
        with transaction.atomic():
            if invoice.disputed_amount is None:  # the seeded history wrote the status, not the amount
                invoice.disputed_amount = amount
                invoice.save(update_fields=["disputed_amount", "updated_at"])
            invoice_dispute_exception_open(
                invoice=invoice, disputed_amount=amount,
                reason=invoice.dispute_reason or payload.get("reason") or "Disputed (no reason recorded).",
                previous_status=payload.get("from") or InvoiceStatus.POSTED,
                actor=_actor_for(event, system=source),
            )
    return len(disputed)


def _drop_ship_product(supplier: str) -> Product | None:
    products = list(Product.objects.filter(drop_ship=True, status=ProductStatus.ACTIVE).order_by("sku"))
    sources = suppliers_for(products)
    return next((product for product in products
                 if product.pk in sources and sources[product.pk].supplier.code == supplier), None)


def _live_supplier_order(work: DemoWork) -> None:
    shop = System.objects.filter(code=LIVE_ORDER_SYSTEM).first()
    if shop is None or ExternalRef.objects.filter(system=shop, entity_type=EntityType.ORDER,
                                                  external_id=LIVE_ORDER_EXTERNAL_ID).exists():
        return
    failing, late = _drop_ship_product(FAILING_SUPPLIER), _drop_ship_product(LATE_SUPPLIER)
    if failing is None or late is None:
        return
    needed_by = timezone.localdate() + datetime.timedelta(days=7)
    lines = [LineRequest(sku=failing.sku, quantity=Decimal("2"), requested_date=needed_by),
             LineRequest(sku=late.sku, quantity=Decimal("1"), requested_date=needed_by)]
    # An account with room on its limit (a held order raises no purchase order).
    candidates = (Customer.objects.filter(status=CustomerStatus.ACTIVE, credit_status=CreditStatus.GOOD,
                                          parent__isnull=True, is_sold_to=True, is_ship_to=True)
                  .order_by("-credit_limit", "account_number"))
    with transaction.atomic():  # the order, its purchase orders and Acme's answer, or nothing
        for customer in candidates[:5]:
            checked = order_request_check(customer=customer, ship_to=customer, lines=lines,
                                          customer_po="DEMO-DROP-SHIP")
            if not customer_credit_standing(customer=customer).would_exceed(checked.total):
                break
        else:
            return
        submission = order_submit(checked=checked, source_system=shop, actor=Actor(system=shop),
                                  external_id=LIVE_ORDER_EXTERNAL_ID)
        work.live_order = submission.order
        work.purchase_orders = list(submission.resumption.purchase_orders) if submission.resumption else []
        acme = next((po for po in work.purchase_orders if po.supplier.code == LATE_SUPPLIER), None)
        if acme is None:
            return
        # Acme confirms the line three weeks after the customer needs it: a supplier date miss.
        _, work.date_miss = supplier_acknowledgement_receive(
            supplier=acme.supplier, purchase_order=acme, actor=Actor(system=acme.supplier),
            data={"revision": None, "status": "changed", "acknowledged_at": timezone.now(),
                  "supplier_reference": f"ACM-SO-{acme.number[3:]}",
                  "note": "Factory backlog: we can ship three weeks later than asked.",
                  "lines": [{"line_number": line.line_number, "po_line_id": line.pk,
                             "confirmed_quantity": line.quantity,
                             "confirmed_date": needed_by + datetime.timedelta(days=LATE_BY_DAYS)}
                            for line in acme.lines.order_by("line_number")]},
        )
