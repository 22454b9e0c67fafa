"""Purchase orders the hub raises for customer orders: short lines and drop-ship lines.

Which supplier supplies a product (the canonical store has no product → supplier column):

1. an active supplier system that knows the product by its own id (an external reference of
   entity type ``product``; the supplier's catalogue item), the most recently recorded first;
2. else the supplier of the most recent purchase order line for the product (not cancelled);
3. else none: the caller opens an exception for a buyer to decide.

The unit cost is the last cost paid to that supplier for the product (0 when never bought).
One purchase order per supplier and kind (and, for replenishment, per receiving location) for
each run; lines point at the customer order lines they serve. POs are created ``sent``: the
``purchase_order.created`` event written with them is what the supplier's subscription delivers.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from canonical.context import Actor
from canonical.models import (
    EntityType,
    ExternalRef,
    Location,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderKind,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    System,
    SystemKind,
)
from canonical.models.supply import PURCHASE_ORDER_TRANSITIONS
from canonical.services.events import event_record
from canonical.services.supply import purchase_order_payload

# A PO the hub raised may be withdrawn until the supplier has acknowledged it.
CANCELLABLE_PO_STATUSES = (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT)
_ZERO = Decimal("0")


@dataclass(frozen=True)
class SupplySource:
    supplier: System
    unit_cost: Decimal
    rule: str  # "supplier_catalogue" or "last_purchase"


@dataclass(frozen=True)
class SupplyNeed:
    """``quantity`` of an order line's product, needed by ``needed_by``, at ``location`` (None: drop-ship)."""

    line: OrderLine
    quantity: Decimal
    kind: str
    location: Location | None
    needed_by: datetime.date | None


def suppliers_for(products: Iterable[Product]) -> dict[int, SupplySource]:
    """The supplier of each product that has one, by the rules in the module docstring (two queries)."""
    ids = {product.pk for product in products}
    if not ids:
        return {}
    sources: dict[int, SupplySource] = {}
    refs = (
        ExternalRef.objects.filter(
            entity_type=EntityType.PRODUCT, object_id__in=ids, system__kind=SystemKind.SUPPLIER, system__is_active=True
        )
        .select_related("system")
        .order_by("object_id", "-updated_at", "-id")
    )
    catalogue: dict[int, System] = {}
    for ref in refs:
        catalogue.setdefault(ref.object_id, ref.system)
    history = (
        PurchaseOrderLine.objects.filter(product_id__in=ids, purchase_order__supplier__is_active=True)
        .exclude(purchase_order__status=PurchaseOrderStatus.CANCELLED)
        .select_related("purchase_order__supplier")
        .order_by("product_id", "-purchase_order__ordered_at", "-id")
    )
    last_bought: dict[int, PurchaseOrderLine] = {}
    last_cost: dict[tuple[int, int], Decimal] = {}
    for po_line in history:
        last_bought.setdefault(po_line.product_id, po_line)
        last_cost.setdefault((po_line.product_id, po_line.purchase_order.supplier_id), po_line.unit_cost)
    for product_id in ids:
        if product_id in catalogue:
            supplier = catalogue[product_id]
            sources[product_id] = SupplySource(supplier, last_cost.get((product_id, supplier.pk), _ZERO),
                                               "supplier_catalogue")
        elif product_id in last_bought:
            po_line = last_bought[product_id]
            sources[product_id] = SupplySource(po_line.purchase_order.supplier, po_line.unit_cost, "last_purchase")
    return sources


def quantity_on_order(lines: Iterable[OrderLine]) -> dict[int, Decimal]:
    """How much open purchase orders already carry for each order line (not cancelled)."""
    ids = [line.pk for line in lines]
    if not ids:
        return {}
    rows = (
        PurchaseOrderLine.objects.filter(order_line_id__in=ids)
        .exclude(purchase_order__status=PurchaseOrderStatus.CANCELLED)
        .values("order_line_id")
        .annotate(total=Sum("quantity"))
    )
    return {row["order_line_id"]: row["total"] for row in rows}


def purchase_orders_raise(
    *, order: Order, needs: list[SupplyNeed], sources: dict[int, SupplySource], actor: Actor
) -> list[PurchaseOrder]:
    """Raise the purchase orders that cover ``needs`` (whose product has a source) for ``order``.

    Quantities already on an open PO for the same order line are not ordered twice. Each PO is
    written with a ``purchase_order.created`` event (its supplier's subscription sends it).
    """
    if not needs:
        return []
    with transaction.atomic(savepoint=False):
        on_order = quantity_on_order(need.line for need in needs)
        groups: dict[tuple, list[tuple[SupplyNeed, Decimal]]] = defaultdict(list)
        for need in needs:
            source = sources.get(need.line.product_id)
            quantity = need.quantity - on_order.get(need.line.pk, _ZERO)
            if source is None or quantity <= 0:
                continue
            location_id = need.location.pk if need.location is not None else None
            groups[(source.supplier.pk, need.kind, location_id)].append((need, quantity))
        if not groups:
            return []
        existing = PurchaseOrder.objects.filter(number__startswith=f"PO-{order.number}-").count()
        now = timezone.now()
        raised = []
        for index, ((_, kind, _), items) in enumerate(sorted(groups.items(), key=lambda g: (g[0][0], g[0][1],
                                                                                          g[0][2] or 0))):
            first = items[0][0]
            dates = [need.needed_by for need, _ in items if need.needed_by]
            purchase_order = PurchaseOrder.objects.create(
                number=f"PO-{order.number}-{existing + index + 1}",
                supplier=sources[first.line.product_id].supplier,
                kind=kind,
                status=PurchaseOrderStatus.SENT,
                ship_to_location=first.location,
                order=order if kind == PurchaseOrderKind.DROP_SHIP else None,
                currency=order.currency,
                ordered_at=now,
                requested_date=min(dates) if dates else None,
            )
            PurchaseOrderLine.objects.bulk_create([
                PurchaseOrderLine(
                    purchase_order=purchase_order, line_number=number, product_id=need.line.product_id,
                    quantity=quantity, unit_cost=sources[need.line.product_id].unit_cost, order_line=need.line,
                )
                for number, (need, quantity) in enumerate(items, start=1)
            ])
            event_record(
                event_type="purchase_order.created", aggregate_type="purchase_order", aggregate_id=purchase_order.pk,
                payload={"purchase_order": purchase_order_payload(purchase_order), "raised_for": {
                    "order_id": order.pk, "number": order.number,
                    "reason": "drop_ship" if kind == PurchaseOrderKind.DROP_SHIP else "shortage",
                }},
                actor=actor,
            )
            raised.append(purchase_order)
        return raised


@dataclass
class PurchaseOrdersWithdrawal:
    cancelled: list[PurchaseOrder]
    kept: list[tuple[PurchaseOrder, str]]


def purchase_orders_withdraw(*, order: Order, actor: Actor, reason: str = "") -> PurchaseOrdersWithdrawal:
    """Cancel the open purchase orders that only serve ``order`` and the supplier has not acknowledged.

    A PO that is acknowledged, receiving, or also serves other orders is kept and named with why.
    Each cancellation writes ``purchase_order.updated`` (from/to), which its supplier's
    subscription sends.
    """
    with transaction.atomic(savepoint=False):
        ids = set(
            PurchaseOrder.objects.filter(Q(order=order) | Q(lines__order_line__order=order))
            .exclude(status__in=[PurchaseOrderStatus.CANCELLED, PurchaseOrderStatus.RECEIVED])
            .values_list("id", flat=True)
        )
        purchase_orders = list(
            PurchaseOrder.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("id")
        )
        result = PurchaseOrdersWithdrawal(cancelled=[], kept=[])
        for purchase_order in purchase_orders:
            others = purchase_order.lines.exclude(order_line__order=order).exists()
            if purchase_order.status not in CANCELLABLE_PO_STATUSES or purchase_order.acknowledgements.exists():
                result.kept.append((purchase_order, f"the supplier has it as {purchase_order.status}"))
                continue
            if others:
                result.kept.append((purchase_order, "it also carries supply for other orders"))
                continue
            previous = purchase_order.status
            PURCHASE_ORDER_TRANSITIONS.check(previous, PurchaseOrderStatus.CANCELLED)
            purchase_order.status = PurchaseOrderStatus.CANCELLED
            purchase_order.save(update_fields=["status", "updated_at"])
            payload = {"purchase_order": purchase_order_payload(purchase_order), "changed": ["status"],
                       "from": previous, "to": PurchaseOrderStatus.CANCELLED}
            if reason:
                payload["reason"] = reason
            event_record(
                event_type="purchase_order.updated", aggregate_type="purchase_order", aggregate_id=purchase_order.pk,
                payload=payload, actor=actor,
            )
            result.cancelled.append(purchase_order)
        return result
