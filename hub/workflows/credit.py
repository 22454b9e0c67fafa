"""Credit holds, the finance queue's decisions: release an order (it resumes) or reject it (it is
cancelled and gives back what it held).

Each decision locks the order, checks it is still on credit hold, moves its status through
ORDER_TRANSITIONS (which writes ``order.status_changed`` and ``order.credit_hold_released`` or
``order.cancelled``), resolves the order's open credit-hold exceptions with the note, and writes
one audit entry with the order and the customer's credit standing before and after. A note is
required: the next person (and the auditor) must be able to read why.

The bulk variants decide order by order, each in its own transaction, and report per order what
happened; one order that cannot be decided does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction

from canonical.context import Actor
from canonical.errors import CanonicalError
from canonical.models import Order, OrderStatus
from canonical.services.credit import customer_credit_standing
from canonical.services.events import audit_record
from canonical.services.orders import order_status_change
from connectors.services.exceptions import credit_hold_exceptions_resolve, each_in_its_own_transaction
from hub.workflows.orders import order_cancel, order_resume

RELEASE_PERMISSION = "canonical.release_credit_hold"
NOTE_MAX_LENGTH = 2000


class CreditHoldRefused(CanonicalError):
    """The decision does not apply: no note, or the order is not (or no longer) on credit hold."""

    status_code = 409
    slug = "credit-hold-refused"
    title = "Credit hold decision refused"


def _note(note: str) -> str:
    text = (note or "").strip()
    if not text:
        raise CreditHoldRefused("A note is required: say why the order is released or rejected.", field="note")
    if len(text) > NOTE_MAX_LENGTH:
        raise CreditHoldRefused(f"The note is longer than {NOTE_MAX_LENGTH} characters.", field="note")
    return text


def _lock_held(order: Order | int) -> Order:
    pk = order.pk if isinstance(order, Order) else order
    locked = Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=pk)
    if locked.status != OrderStatus.CREDIT_HOLD:
        raise CreditHoldRefused(
            f"Order {locked.number} is {locked.get_status_display().lower()}, not on credit hold; "
            "someone may have decided it already.",
            order=locked.number, status=locked.status,
        )
    return locked


def _snapshot(order: Order) -> dict:
    order.refresh_from_db(fields=["status", "total_amount", "updated_at"])
    standing = customer_credit_standing(customer=order.customer)
    return {"status": order.status, "total_amount": str(order.total_amount), "currency": order.currency,
            "credit": standing.as_dict()}


@dataclass(frozen=True)
class CreditDecision:
    order: Order
    decision: str  # released | rejected
    status: str  # the order's status once the decision took effect
    exceptions_resolved: list[int]


def credit_hold_release(*, order: Order | int, actor: Actor, note: str) -> CreditDecision:
    """Release an order from credit hold and resume it: reserve stock (or backorder), order what
    is short from suppliers and hand the order on (see hub.workflows.orders.order_resume).
    """
    note = _note(note)
    with transaction.atomic():
        locked = _lock_held(order)
        before = _snapshot(locked)
        order_status_change(order=locked, status=OrderStatus.RELEASED, actor=actor, reason="credit hold released")
        order_resume(order=locked, actor=actor)
        resolved = credit_hold_exceptions_resolve(order=locked, actor=actor, note=f"Released from credit hold: {note}")
        after = _snapshot(locked)
        audit_record(actor=actor, action="order.credit_hold_released", object_type="order", object_id=locked.pk,
                     before=before, after={**after, "exceptions_resolved": resolved}, note=note)
    return CreditDecision(locked, "released", locked.status, resolved)


def credit_hold_reject(*, order: Order | int, actor: Actor, note: str) -> CreditDecision:
    """Reject an order on credit hold: cancel it, giving back any stock and unacknowledged purchase
    orders it holds (hub.workflows.orders.order_cancel)."""
    note = _note(note)
    with transaction.atomic():
        locked = _lock_held(order)
        before = _snapshot(locked)
        resolved = order_cancel(order=locked, actor=actor, reason="credit hold rejected",
                                resolution_note=f"Rejected, order cancelled: {note}").exceptions_resolved
        after = _snapshot(locked)
        audit_record(actor=actor, action="order.credit_hold_rejected", object_type="order", object_id=locked.pk,
                     before=before, after={**after, "exceptions_resolved": resolved}, note=note)
    return CreditDecision(locked, "rejected", locked.status, resolved)


# --- bulk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditOutcome:
    order_id: int
    number: str
    done: bool
    status: str = ""
    reason: str = ""


@dataclass
class CreditBulkResult:
    decision: str
    outcomes: list[CreditOutcome] = field(default_factory=list)

    @property
    def done(self) -> list[CreditOutcome]:
        return [o for o in self.outcomes if o.done]

    @property
    def skipped(self) -> list[CreditOutcome]:
        return [o for o in self.outcomes if not o.done]

    def summary(self) -> str:
        text = f"{len(self.done)} {self.decision}"
        if self.done:
            by_status: dict[str, list[str]] = {}
            for outcome in self.done:
                by_status.setdefault(outcome.status.replace("_", " "), []).append(outcome.number)
            text += " (" + "; ".join(f"{', '.join(numbers)}: now {status}"
                                     for status, numbers in by_status.items()) + ")"
        if self.skipped:
            text += f", {len(self.skipped)} skipped (" + "; ".join(
                f"{o.number}: {o.reason.rstrip('.')}" for o in self.skipped) + ")"
        return text + "."


def _orders(orders: Iterable[Order | int]) -> list[tuple[int, str]]:
    pks = sorted({o.pk if isinstance(o, Order) else int(o) for o in orders})
    numbers = dict(Order.objects.filter(pk__in=pks).values_list("pk", "number"))
    return [(pk, numbers.get(pk, f"#{pk}")) for pk in pks]


def _bulk(*, orders, decision: str, act: Callable[[int], CreditDecision]) -> CreditBulkResult:
    result = CreditBulkResult(decision)
    numbers = dict(_orders(orders))
    for pk, decided, skipped in each_in_its_own_transaction(numbers, act, gone=Order.DoesNotExist):
        result.outcomes.append(CreditOutcome(pk, numbers[pk], not skipped, status=decided.status if decided else "",
                                             reason=skipped))
    return result


def credit_holds_release(*, orders: Iterable[Order | int], actor: Actor, note: str) -> CreditBulkResult:
    note = _note(note)
    return _bulk(orders=orders, decision="released",
                 act=lambda pk: credit_hold_release(order=pk, actor=actor, note=note))


def credit_holds_reject(*, orders: Iterable[Order | int], actor: Actor, note: str) -> CreditBulkResult:
    note = _note(note)
    return _bulk(orders=orders, decision="rejected",
                 act=lambda pk: credit_hold_reject(order=pk, actor=actor, note=note))
