"""The supplier-management queue's supplier date misses: a purchase order whose supplier confirms
(or revises to) a date outside the promise window, confirms short or rejects it, with the customer
orders it puts at risk.

One active exception per purchase order (fingerprint ``supplier-date-miss:<po id>``): each later
acknowledgement that still misses counts an occurrence and replaces the facts (late lines, orders
at risk) with the current ones; one that brings every line back inside the window resolves it.
supplier_acknowledgement_receive records an acknowledgement and reviews it, in one transaction:
the inbound handler and the REST endpoint both go through it.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import NoReverseMatch, reverse

from canonical.context import Actor
from canonical.models import PurchaseOrder, SupplierAcknowledgement, System
from canonical.services.refs import UpsertResult
from canonical.services.supply import supplier_acknowledgement_record
from canonical.services.supply_promises import DateMissReview, supplier_date_misses, supplier_dates_promise
from connectors.models import (
    ACTIVE_EXCEPTION_STATUSES,
    Category,
    IntegrationException,
    Severity,
    Team,
)
from connectors.services.exceptions import (
    BulkResult,
    exception_raise,
    exception_resolve,
    exceptions_bulk,
    exceptions_resolve_open,
)

WORKFLOW_STEP = "supplier.acknowledgement"


def date_miss_fingerprint(purchase_order: PurchaseOrder) -> str:
    return f"supplier-date-miss:{purchase_order.pk}"


def _admin_url(name: str, pk: int) -> str | None:
    try:
        return reverse(f"admin:canonical_{name}_change", args=[pk])
    except NoReverseMatch:
        return None


def _context(review: DateMissReview, acknowledgement: SupplierAcknowledgement | None) -> dict:
    po = review.purchase_order
    orders = []
    for entry in review.orders_at_risk:
        item = entry.as_dict()
        item["links"] = {"admin": _admin_url("order", entry.order.pk), "api": f"/api/v1/orders/{entry.order.pk}"}
        orders.append(item)
    return {
        "purchase_order": {
            "id": po.pk, "number": po.number, "kind": po.kind, "supplier": po.supplier.code,
            "requested_date": po.requested_date.isoformat() if po.requested_date else None,
            "links": {"admin": _admin_url("purchaseorder", po.pk), "api": f"/api/v1/purchase-orders/{po.pk}"},
        },
        "acknowledgement": (
            {"revision": acknowledgement.revision, "status": acknowledgement.status,
             "acknowledged_at": acknowledgement.acknowledged_at.isoformat()}
            if acknowledgement is not None else None
        ),
        "tolerance_days": review.tolerance_days,
        "late_lines": [line.as_dict() for line in review.late_lines],
        "orders_at_risk": orders,
        "orders_at_risk_count": review.orders_at_risk_count,
    }


def _detail(review: DateMissReview) -> str:
    po = review.purchase_order
    parts = [f"Line {line.line_number} ({line.sku}): {' '.join(line.reasons)}" for line in review.late_lines]
    if review.orders_at_risk_count:
        numbers = ", ".join(entry.order.number for entry in review.orders_at_risk[:10])
        more = review.orders_at_risk_count - min(10, len(review.orders_at_risk))
        parts.append(
            f"Customer orders at risk ({review.orders_at_risk_count}): {numbers}{f' and {more} more' if more else ''}."
        )
    else:
        parts.append("No open customer order waits on these lines.")
    return f"Purchase order {po.number} from {po.supplier.code}. " + " ".join(parts)


def supplier_date_miss_review(
    *, purchase_order: PurchaseOrder, actor: Actor, acknowledgement: SupplierAcknowledgement | None = None
) -> IntegrationException | None:
    """Open, update or resolve the purchase order's supplier date miss; the active exception or None."""
    review = supplier_date_misses(purchase_order=purchase_order)
    po = review.purchase_order
    fingerprint = date_miss_fingerprint(po)
    with transaction.atomic():
        if not review.missed:
            revision = f"revision {acknowledgement.revision}" if acknowledgement is not None else "the supplier"
            exceptions_resolve_open(
                actor=actor, fingerprint=fingerprint,
                note=f"Resolved by the hub: {revision} confirms every line within the promise window.",
            )
            return None
        first = review.orders_at_risk[0].order if review.orders_at_risk else None
        context = _context(review, acknowledgement)
        title = (
            f"Supplier date miss: {po.supplier.code} on PO {po.number}"
            + (f", {review.orders_at_risk_count} customer order(s) at risk" if review.orders_at_risk_count else "")
        )
        exception = exception_raise(
            category=Category.SUPPLIER_DATE_MISS,
            team=Team.SUPPLIER_MANAGEMENT,
            severity=Severity.HIGH if review.orders_at_risk_count else Severity.MEDIUM,
            title=title,
            fingerprint=fingerprint,
            actor=actor,
            detail=_detail(review),
            context=context,
            workflow_step=WORKFLOW_STEP,
            purchase_order=po,
            supplier=po.supplier,
            order=first,
            customer=first.customer if first is not None else None,
            refresh_facts=True,  # a repeat's facts are the latest acknowledgement's
        )
    return exception


def supplier_acknowledgement_receive(
    *, supplier: System, purchase_order: PurchaseOrder, data: dict, actor: Actor
) -> tuple[UpsertResult, IntegrationException | None]:
    """Record the acknowledgement and, when it is new, check it against the promise window (a repeat
    is not checked again); the recorded acknowledgement and the active date-miss exception, if any."""
    with transaction.atomic():
        result = supplier_acknowledgement_record(
            supplier=supplier, purchase_order=purchase_order, data=data, actor=actor
        )
        date_miss = None
        if result.created:
            date_miss = supplier_date_miss_review(purchase_order=purchase_order, actor=actor,
                                                  acknowledgement=result.instance)
    return result, date_miss


def supplier_date_misses_repromise(*, exceptions, actor: Actor, note: str = "") -> BulkResult:
    """Staff's decision on supplier date misses: promise the customer order lines each one puts at
    risk for the supplier's dates (canonical.services.supply_promises.supplier_dates_promise), and
    resolve it with a note listing what moved. Other categories are skipped, each with its reason."""

    def repromise(pk: int) -> IntegrationException:
        exception = IntegrationException.objects.select_for_update().get(pk=pk)
        if exception.category != Category.SUPPLIER_DATE_MISS or exception.purchase_order_id is None:
            raise ValueError("not a supplier date miss")
        if exception.status not in ACTIVE_EXCEPTION_STATUSES:
            raise ValueError(f"it is {exception.status}")
        moved = supplier_dates_promise(purchase_order=exception.purchase_order, actor=actor)
        what = "; ".join(f"{m['order']} line {m['line_number']} {m['from'] or 'no date'} -> {m['to']}" for m in moved)
        text = (f"Customers re-promised to the supplier's dates: {what}." if moved
                else "No open customer line needed a later date.")
        return exception_resolve(exception=pk, actor=actor, note=f"{text} {note}".strip())

    return exceptions_bulk(exceptions=exceptions, action=repromise)
