"""Supply promises: when customer orders need a purchase order's goods, whether the supplier's
confirmed dates miss that (the promise window), which customer orders a late or short purchase
order puts at risk, and what an advance ship notice changes (in-transit stock at the receiving
location, promised dates of the customer order lines waiting on it).

The promise window of a purchase order line ends HUB_SUPPLIER_DATE_TOLERANCE_DAYS after the date
its goods are needed by:

* a line that feeds a customer order line: that line's promised date, else its order's promised
  date, else the requested dates (line, then order);
* any other line: the purchase order's requested date.

A confirmed date after the window's end is a miss; so is a line the supplier rejected or confirmed
short. This module only reads and writes canonical records; the exception a person works is
opened by connectors.services.supply_exceptions.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Q, Sum
from django.utils import timezone

from canonical.context import Actor
from canonical.models import (
    OPEN_ORDER_STATUSES,
    AdvanceShipNotice,
    AdvanceShipNoticeLine,
    InventoryPosition,
    Location,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderKind,
    PurchaseOrderLine,
)
from canonical.models.supply import AcknowledgementStatus
from canonical.services.events import event_record

# Orders listed in one review; the count of all of them is kept beside the list.
AT_RISK_LISTED = 50
# A position the hub opens for in-transit stock has never been counted by the warehouse: any report wins.
NEVER_REPORTED = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def promise_tolerance() -> datetime.timedelta:
    return datetime.timedelta(days=int(getattr(settings, "HUB_SUPPLIER_DATE_TOLERANCE_DAYS", 0)))


def supply_handling_days(purchase_order: PurchaseOrder) -> datetime.timedelta:
    """Days between the goods arriving and the customer having them: none for drop-ship."""
    if purchase_order.kind == PurchaseOrderKind.DROP_SHIP:
        return datetime.timedelta(0)
    return datetime.timedelta(days=int(getattr(settings, "HUB_SUPPLY_HANDLING_DAYS", 1)))


def _line_need(order_line: OrderLine) -> datetime.date | None:
    order = order_line.order
    return order_line.promised_date or order.promised_date or order_line.requested_date or order.requested_date


def po_line_needed_by(po_line: PurchaseOrderLine) -> tuple[datetime.date | None, str]:
    """The date a purchase order line's goods are needed by, and where that date comes from."""
    if po_line.order_line_id is not None:
        need = _line_need(po_line.order_line)
        if need is not None:
            return need, f"order {po_line.order_line.order.number} line {po_line.order_line.line_number}"
    return po_line.purchase_order.requested_date, f"purchase order {po_line.purchase_order.number}"


@dataclass
class LateLine:
    line_number: int
    sku: str
    quantity: Decimal
    confirmed_quantity: Decimal | None
    confirmed_date: datetime.date | None
    needed_by: datetime.date | None
    needed_for: str
    window_ends: datetime.date | None
    reasons: list[str]

    @property
    def days_late(self) -> int | None:
        if self.confirmed_date and self.window_ends and self.confirmed_date > self.window_ends:
            return (self.confirmed_date - self.window_ends).days
        return None

    def as_dict(self) -> dict:
        return {
            "line_number": self.line_number, "sku": self.sku, "quantity": str(self.quantity),
            "confirmed_quantity": None if self.confirmed_quantity is None else str(self.confirmed_quantity),
            "confirmed_date": _iso(self.confirmed_date), "needed_by": _iso(self.needed_by),
            "needed_for": self.needed_for, "window_ends": _iso(self.window_ends), "days_late": self.days_late,
            "reasons": self.reasons,
        }


@dataclass
class OrderAtRisk:
    order: Order
    lines: list[dict] = field(default_factory=list)
    how: set[str] = field(default_factory=set)

    def as_dict(self) -> dict:
        customer = self.order.customer
        return {
            "id": self.order.pk, "number": self.order.number, "status": self.order.status,
            "promised_date": _iso(self.order.promised_date), "requested_date": _iso(self.order.requested_date),
            "customer": {"id": customer.pk, "account_number": customer.account_number, "name": customer.name},
            "waits_as": sorted(self.how), "lines": self.lines,
        }


@dataclass
class DateMissReview:
    """The promise check of a purchase order as its supplier last confirmed it."""

    purchase_order: PurchaseOrder
    late_lines: list[LateLine]
    orders_at_risk: list[OrderAtRisk]
    orders_at_risk_count: int
    tolerance_days: int

    @property
    def missed(self) -> bool:
        return bool(self.late_lines)


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def supplier_date_misses(*, purchase_order: PurchaseOrder, listed: int | None = AT_RISK_LISTED) -> DateMissReview:
    """Check every line of ``purchase_order`` against its promise window, and find the customer
    orders the lines that miss it put at risk.

    At risk are, for each late line: the customer order line it feeds; for a drop-ship purchase
    order, the order's lines for that SKU; and, for a replenishment line that feeds no line in
    particular, the open backordered lines for that SKU (at the receiving location, or with no
    location) whose need date falls before the confirmed date (or that have no date at all).
    """
    po = PurchaseOrder.objects.select_related("supplier", "order").get(pk=purchase_order.pk)
    latest = po.acknowledgements.order_by("-revision").values_list("status", flat=True).first()
    rejected = latest == AcknowledgementStatus.REJECTED
    tolerance = promise_tolerance()
    lines = list(
        po.lines.select_related("product", "order_line__order", "order_line__product").order_by("line_number")
    )
    late: list[tuple[LateLine, PurchaseOrderLine]] = []
    for line in lines:
        if line.received_quantity >= line.quantity:
            continue  # already here: nothing more can be late
        needed_by, needed_for = po_line_needed_by(line)
        window_ends = needed_by + tolerance if needed_by else None
        reasons = []
        if rejected:
            reasons.append("The supplier rejected the purchase order.")
        elif line.confirmed_quantity is not None and line.confirmed_quantity < line.quantity:
            reasons.append(f"Confirmed {line.confirmed_quantity.normalize():f} of {line.quantity.normalize():f}.")
        if not rejected and line.confirmed_date and window_ends and line.confirmed_date > window_ends:
            reasons.append(
                f"Confirmed for {line.confirmed_date:%Y-%m-%d}, after the promise window that ends "
                f"{window_ends:%Y-%m-%d} (needed by {needed_by:%Y-%m-%d} for {needed_for}"
                f"{f', plus {tolerance.days} days tolerance' if tolerance.days else ''})."
            )
        if reasons:
            late.append((LateLine(
                line_number=line.line_number, sku=line.product.sku, quantity=line.quantity,
                confirmed_quantity=line.confirmed_quantity, confirmed_date=line.confirmed_date,
                needed_by=needed_by, needed_for=needed_for, window_ends=window_ends, reasons=reasons,
            ), line))
    at_risk, count = _orders_at_risk(po=po, late=late, listed=listed)
    return DateMissReview(
        purchase_order=po, late_lines=[item for item, _ in late], orders_at_risk=at_risk, orders_at_risk_count=count,
        tolerance_days=tolerance.days,
    )


def _orders_at_risk(
    *, po: PurchaseOrder, late: list[tuple[LateLine, PurchaseOrderLine]], listed: int | None
) -> tuple[list[OrderAtRisk], int]:
    found: dict[int, OrderAtRisk] = {}

    def add(order_line: OrderLine, how: str, late_line: LateLine) -> None:
        entry = found.setdefault(order_line.order_id, OrderAtRisk(order=order_line.order))
        entry.how.add(how)
        if any(item["line_number"] == order_line.line_number for item in entry.lines):
            return
        entry.lines.append({
            "line_number": order_line.line_number, "sku": order_line.product.sku,
            "quantity_ordered": str(order_line.quantity_ordered),
            "quantity_backordered": str(order_line.quantity_backordered),
            "promised_date": _iso(order_line.promised_date), "needed_by": _iso(_line_need(order_line)),
            "purchase_order_line": late_line.line_number, "supply_confirmed_for": _iso(late_line.confirmed_date),
        })

    open_lines = OrderLine.objects.filter(order__status__in=OPEN_ORDER_STATUSES).exclude(
        quantity_shipped__gte=F("quantity_ordered")
    ).select_related("order__customer", "product")
    for late_line, po_line in late:
        if po_line.order_line_id is not None:
            linked = open_lines.filter(pk=po_line.order_line_id).first()
            if linked is not None:
                add(linked, "linked", late_line)
            continue
        if po.kind == PurchaseOrderKind.DROP_SHIP and po.order_id is not None:
            for order_line in open_lines.filter(order_id=po.order_id, product_id=po_line.product_id):
                add(order_line, "drop_ship", late_line)
            continue
        waiting = open_lines.filter(product_id=po_line.product_id, quantity_backordered__gt=0)
        if po.ship_to_location_id is not None:
            waiting = waiting.filter(Q(location_id=po.ship_to_location_id) | Q(location__isnull=True))
        for order_line in waiting.order_by("order__placed_at", "order_id", "line_number")[:500]:
            need = _line_need(order_line)
            if need is None or late_line.confirmed_date is None or need < late_line.confirmed_date:
                add(order_line, "backordered", late_line)
    ordered = sorted(
        found.values(),
        key=lambda entry: (min((item["needed_by"] or "9999") for item in entry.lines), entry.order.pk),
    )
    return ordered[:listed], len(ordered)


# What an advance ship notice changes


def asn_line_totals(*, po_line_ids) -> dict[int, Decimal]:
    """{purchase order line id: quantity on all its advance ship notices}."""
    return dict(
        AdvanceShipNoticeLine.objects.filter(po_line_id__in=list(po_line_ids))
        .values("po_line").annotate(total=Sum("quantity")).values_list("po_line", "total")
    )


@dataclass(frozen=True)
class InTransit:
    """What a purchase order has in transit: the receiving location and {(product id, line id): quantity}."""

    location_id: int | None
    quantities: dict[tuple[int, int], Decimal]


def in_transit_state(*, purchase_order: PurchaseOrder) -> InTransit:
    """What ``purchase_order`` has in transit to its receiving location: shipped on ASNs and not yet
    received, per line. A drop-ship order, or one with no receiving location, puts nothing in transit."""
    if purchase_order.kind == PurchaseOrderKind.DROP_SHIP or purchase_order.ship_to_location_id is None:
        return InTransit(location_id=None, quantities={})
    lines = {pk: (product_id, received) for pk, product_id, received in
             purchase_order.lines.values_list("pk", "product_id", "received_quantity")}
    shipped = asn_line_totals(po_line_ids=lines)
    return InTransit(
        location_id=purchase_order.ship_to_location_id,
        quantities={(product_id, pk): max(shipped.get(pk, Decimal("0")) - received, Decimal("0"))
                    for pk, (product_id, received) in lines.items()},
    )


def in_transit_apply(
    *, purchase_order: PurchaseOrder, before: InTransit, actor: Actor, reason: str, reference: str
) -> list[dict]:
    """Move in-transit stock by how much ``purchase_order``'s in-transit quantities changed since
    ``before`` (an in_transit_state taken before the change, perhaps at another receiving location);
    returns the changes as [{sku, location, from, to}]. Each position changed emits inventory.changed.

    The warehouse's own in-transit figure, when it reports one, replaces the hub's: a position never
    goes below zero here.
    """
    from canonical.services.inventory import (
        _position_for_update,
        inventory_changed_record,
        position_quantities,
    )

    after = in_transit_state(purchase_order=purchase_order)
    moves: Counter = Counter()
    for state, sign in ((before, -1), (after, 1)):
        for (product_id, _), quantity in state.quantities.items():
            moves[(product_id, state.location_id)] += sign * quantity
    changes = []
    for product_id, location_id in sorted(key for key, delta in moves.items() if delta):
        position, _ = _position_for_update(
            product=Product(pk=product_id), location=Location(pk=location_id),  # it filters and creates by id
            defaults={"on_hand": Decimal("0"), "in_transit": Decimal("0"), "last_updated_at": NEVER_REPORTED},
        )
        position = InventoryPosition.objects.select_related("product", "location", "last_updated_by").get(
            pk=position.pk
        )
        previous = position_quantities(position)
        old = position.in_transit
        position.in_transit = max(old + moves[(product_id, location_id)], Decimal("0"))
        if position.in_transit == old:
            continue
        position.save(update_fields=["in_transit", "updated_at"])
        inventory_changed_record(
            position=position, before=previous, changed=["in_transit"], as_of=timezone.now(), actor=actor,
            reason=reason, purchase_order={"id": purchase_order.pk, "number": purchase_order.number},
            reference=reference,
        )
        changes.append({"sku": position.product.sku, "location": position.location.code, "from": str(old),
                        "to": str(position.in_transit)})
    return changes


def asn_promises_apply(*, asn: AdvanceShipNotice, actor: Actor) -> list[dict]:
    """Push back the promised dates of the customer order lines an ASN's lines feed, to when the
    goods can reach the customer (expected arrival, else ship date, plus handling days); returns
    [{order, line_number, from, to}]. A promise is only ever moved later (or set where there was
    none): arriving earlier keeps the promise made. Each order changed emits order.updated.
    """
    po = asn.purchase_order
    arrives = (asn.expected_at or asn.shipped_at).date() + supply_handling_days(po)
    order_line_ids = list(
        asn.lines.filter(po_line__order_line__isnull=False).values_list("po_line__order_line_id", flat=True)
    )
    if po.kind == PurchaseOrderKind.DROP_SHIP and po.order_id is not None:
        skus = asn.lines.values_list("po_line__product_id", flat=True)
        order_line_ids += list(
            OrderLine.objects.filter(order_id=po.order_id, product_id__in=list(skus)).values_list("pk", flat=True)
        )
    return _promises_push(
        dict.fromkeys(order_line_ids, arrives), actor=actor, reason="advance ship notice",
        about={"advance_ship_notice": {"number": asn.number, "purchase_order": po.number}},
    )


def supplier_dates_promise(*, purchase_order: PurchaseOrder, actor: Actor) -> list[dict]:
    """Promise the customer order lines a purchase order's late lines put at risk (see
    supplier_date_misses: linked, drop-ship and waiting backordered lines) for when the supplier's
    confirmed goods can reach the customer (confirmed date plus handling days). A person decides
    this (the supplier date miss's "re-promise" action): the supplier's date becomes the customer's.
    Returns [{order, line_number, from, to}]; only ever later; each order changed emits order.updated.
    """
    review = supplier_date_misses(purchase_order=purchase_order, listed=None)
    handling = supply_handling_days(review.purchase_order)
    arrives: dict[int, datetime.date] = {}
    lines = {(line.order_id, line.line_number): line.pk for line in OrderLine.objects.filter(
        order_id__in=[entry.order.pk for entry in review.orders_at_risk])}
    for entry in review.orders_at_risk:
        for item in entry.lines:
            if item["supply_confirmed_for"]:
                day = datetime.date.fromisoformat(item["supply_confirmed_for"]) + handling
                pk = lines[(entry.order.pk, item["line_number"])]
                arrives[pk] = max(day, arrives.get(pk, day))
    return _promises_push(arrives, actor=actor, reason="supplier acknowledgement",
                          about={"purchase_order": review.purchase_order.number})


def _promises_push(arrives: dict[int, datetime.date], *, actor: Actor, reason: str, about: dict) -> list[dict]:
    """Move each open order line's promised date (order line id -> date) later where it is earlier,
    and its order's; one order.updated per order changed, with ``reason`` and ``about``."""
    from canonical.services.orders import order_payload

    if not arrives:
        return []
    order_ids = sorted(set(OrderLine.objects.filter(pk__in=list(arrives)).values_list("order_id", flat=True)))
    changes = []
    for order in Order.objects.select_for_update().filter(pk__in=order_ids, status__in=OPEN_ORDER_STATUSES).order_by("pk"):
        moved = []
        for line in order.lines.select_for_update().filter(pk__in=list(arrives)).order_by("line_number"):
            if line.quantity_shipped >= line.quantity_ordered:
                continue
            day = arrives[line.pk]
            if line.promised_date is None or line.promised_date < day:
                moved.append({"order": order.number, "line_number": line.line_number,
                              "from": _iso(line.promised_date), "to": day.isoformat()})
                line.promised_date = day
                line.save(update_fields=["promised_date", "updated_at"])
        if not moved:
            continue
        changed = ["lines"]
        latest = max(datetime.date.fromisoformat(m["to"]) for m in moved)
        if order.promised_date is None or order.promised_date < latest:
            order.promised_date = latest
            changed.append("promised_date")
        order.save(update_fields=["promised_date", "updated_at"])
        event_record(
            event_type="order.updated", aggregate_type="order", aggregate_id=order.pk, actor=actor,
            payload={
                "order": order_payload(order), "changed": sorted(changed), "lines": [m["line_number"] for m in moved],
                "reason": reason, **about, "promised_dates": moved,
            },
        )
        changes += moved
    return changes
