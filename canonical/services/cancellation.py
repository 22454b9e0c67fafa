"""Cancelling an order, whoever asks: the hub's cancel (API, finance's reject) and the ERP's own.

The orders' system of record may cancel an order too, by an ``order.status`` message or by
writing the order with status ``cancelled``. Whichever way it comes, a cancelled order gives
back what it held: its reservations, the purchase orders raised for it that the supplier has
not acknowledged, and what its lines were waiting for (their backorders).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.models import ORDER_TRANSITIONS, Order, OrderStatus, System
from canonical.services.allocation import order_reservations_release
from canonical.services.orders import order_status_change
from canonical.services.procurement import PurchaseOrdersWithdrawal, purchase_orders_withdraw


@dataclass
class Cancelled:
    reservations_released: int
    purchase_orders: PurchaseOrdersWithdrawal


def order_cancel_apply(*, order: Order, actor: Actor, reason: str) -> Cancelled:
    """Cancel a row-locked ``order`` that is not cancelled yet: release its stock, withdraw its open
    purchase orders, clear its lines' backorders, then move it to cancelled (``order.cancelled``).

    Refuses (IllegalTransition) before any write when ORDER_TRANSITIONS does not let its status
    be cancelled (it has shipped, been invoiced or closed).
    """
    ORDER_TRANSITIONS.check(order.status, OrderStatus.CANCELLED)
    with transaction.atomic(savepoint=False):
        released = order_reservations_release(order=order, actor=actor, reason=reason)
        withdrawal = purchase_orders_withdraw(order=order, actor=actor, reason=f"order {order.number} cancelled")
        # Nothing is owed to a cancelled order: what it waited for is no longer backordered.
        order.lines.filter(quantity_backordered__gt=0).update(quantity_backordered=Decimal("0"),
                                                              updated_at=timezone.now())
        order.refresh_from_db()
        order_status_change(order=order, status=OrderStatus.CANCELLED, actor=actor, reason=reason)
    return Cancelled(released, withdrawal)


def order_status_set(*, order: Order, status: str, system: System, actor: Actor, reason: str = "") -> bool:
    """Move a locked ``order`` to ``status`` for its system of record ``system``; whether it moved.

    To cancelled it goes through order_cancel_apply (what the order held is given back; the
    reason, unless given, "cancelled by <system>"); any other status through order_status_change.
    """
    if status == OrderStatus.CANCELLED and order.status != OrderStatus.CANCELLED:
        order_cancel_apply(order=order, actor=actor, reason=reason or f"cancelled by {system.code}")
        return True
    return order_status_change(order=order, status=status, actor=actor, reason=reason)
