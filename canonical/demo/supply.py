"""The supplier side: replenishment and drop-ship purchase orders, acknowledgements (with revisions), ASNs.

Replenishment POs go to the positions that are running low; goods a supplier
has shipped but the warehouse has not received are what the WMS reports as in
transit, so ``in_transit_plan`` and the positions agree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction

from canonical.demo.context import (
    ACKNOWLEDGEMENT,
    ACKNOWLEDGEMENT_LINE,
    ASN,
    ASN_LINE,
    PURCHASE_ORDER,
    PURCHASE_ORDER_LINE,
)
from canonical.demo.emit import Emitter, cents
from canonical.demo.products import ProductPlan
from canonical.demo.rand import DemoRandom, WeightedChoice
from canonical.models import (
    EntityType,
    Location,
    OrderStatus,
    Product,
    ProductStatus,
    PurchaseOrder,
    PurchaseOrderKind,
    PurchaseOrderStatus,
)

if TYPE_CHECKING:
    from canonical.demo.context import HistoryContext
    from canonical.demo.history import Story

P = PurchaseOrderStatus
HOUR = 3600
DAY = 86_400
SUPPLIER_PREFIX = {"acme-supply": "ACM", "northwind-supply": "NWS"}
FREIGHT = ("Central States LTL", "Keystone Parcel & Freight", "Blue Ridge Freight")
REPLENISHMENT_STATUSES = WeightedChoice({
    P.DRAFT: 5, P.SENT: 15, P.ACKNOWLEDGED: 35, P.PARTIALLY_RECEIVED: 15, P.RECEIVED: 25, P.CANCELLED: 5,
})


@dataclass
class PurchaseLine:
    sku: str
    quantity: int
    cost_cents: int
    product_id: int | None = None
    order_line_id: int | None = None
    id: int = 0


@dataclass
class Acknowledgement:
    revision: int
    at: datetime
    status: str
    note: str
    confirmed: list[tuple[int, date]]  # per PO line: (quantity, date)


@dataclass
class ShipNotice:
    number: str
    shipped_at: datetime
    expected_at: datetime
    quantities: list[int]  # per PO line
    received_at: datetime | None


@dataclass
class PurchasePlan:
    number: str
    supplier: str
    kind: str
    status: str
    ordered_at: datetime
    requested: date
    lines: list[PurchaseLine]
    erp_id: str
    location_code: str | None = None
    order_id: int | None = None
    acks: list[Acknowledgement] = field(default_factory=list)
    asns: list[ShipNotice] = field(default_factory=list)
    closed_at: datetime | None = None  # received in full or cancelled


def replenishment_plan(
    *, seed: int, products: list[ProductPlan], stock: dict[tuple[str, str], int], as_of: datetime
) -> list[PurchasePlan]:
    """Purchase orders for the positions that run low, one supplier and one warehouse per PO."""
    rng = DemoRandom.for_part(seed, "replenishment")
    by_sku = {p.sku: p for p in products}
    low = defaultdict(list)
    for (sku, code), units in stock.items():
        product = by_sku[sku]
        if product.status == ProductStatus.ACTIVE and units < 8:
            low[(product.supplier, code)].append(product)
    plans: list[PurchasePlan] = []
    for (supplier, code), wanted in sorted(low.items()):
        rng.shuffle(wanted)
        while wanted:
            size = rng.randint(3, 12)
            chunk, wanted = wanted[:size], wanted[size:]
            plans.append(_replenishment(rng, len(plans) + 1, supplier, code, chunk, as_of))
    return plans


def _replenishment(
    rng: DemoRandom, index: int, supplier: str, code: str, products: list[ProductPlan], as_of: datetime
) -> PurchasePlan:
    status = rng.weighted(REPLENISHMENT_STATUSES)
    age = rng.uniform(20, 120) if status in (P.RECEIVED, P.CANCELLED) else rng.uniform(1, 18)
    ordered = as_of - timedelta(days=age)
    plan = PurchasePlan(
        number=f"PO-{500000 + index}", supplier=supplier, kind=PurchaseOrderKind.REPLENISHMENT, status=status,
        ordered_at=ordered, requested=(ordered + timedelta(days=rng.randint(5, 12))).date(),
        lines=[PurchaseLine(sku=p.sku, quantity=rng.choice((24, 48, 50, 100, 120, 200, 250)),
                            cost_cents=int(p.list_price * 62)) for p in products],
        erp_id=str(4_800_000 + index), location_code=code,
    )
    if status == P.CANCELLED:
        plan.closed_at = ordered + timedelta(seconds=rng.uniform(HOUR, 5 * DAY))
    if status in (P.DRAFT, P.SENT, P.CANCELLED):
        return plan
    _acknowledge(rng, plan, as_of)
    if status == P.ACKNOWLEDGED and rng.chance(0.5) or status in (P.PARTIALLY_RECEIVED, P.RECEIVED):
        _ship(rng, plan, as_of, receive={P.ACKNOWLEDGED: 0, P.PARTIALLY_RECEIVED: 1, P.RECEIVED: 2}[status])
    return plan


def _after(earlier: datetime, seconds: float, as_of: datetime) -> datetime:
    """``seconds`` after ``earlier``, but not past ``as_of`` (and never before ``earlier``)."""
    return max(earlier, min(earlier + timedelta(seconds=seconds), as_of - timedelta(seconds=30)))


def _acknowledge(rng: DemoRandom, plan: PurchasePlan, as_of: datetime) -> None:
    at = _after(plan.ordered_at, rng.uniform(2 * HOUR, 2 * DAY), as_of)
    confirmed = [(line.quantity, plan.requested) for line in plan.lines]
    plan.acks.append(Acknowledgement(1, at, "accepted", "", confirmed))
    if rng.chance(0.25):
        # The supplier comes back with a later date (and sometimes less): the promise-miss case.
        slip = timedelta(days=rng.randint(4, 15))
        revised = [(q if rng.chance(0.7) else max(q // 2, 1), d + slip) for q, d in confirmed]
        later = _after(at, rng.uniform(DAY, 4 * DAY), as_of)
        plan.acks.append(Acknowledgement(2, later, "changed", f"Mill delay: ship date moved {slip.days} days", revised))


def _ship(rng: DemoRandom, plan: PurchasePlan, as_of: datetime, *, receive: int) -> None:
    """One ASN (received or still on its way) or, for a partial receipt, two: the first received."""
    confirmed = plan.acks[-1].confirmed
    acked = plan.acks[-1].at
    splits = [[q for q, _ in confirmed]]
    if receive == 1:
        first = [max(q // 2, 1) if q > 1 else q for q, _ in confirmed]
        splits = [first, [q - f for (q, _), f in zip(confirmed, first, strict=True)]]
    shipped = acked
    prefix = SUPPLIER_PREFIX[plan.supplier]
    for number, quantities in enumerate(splits, start=1):
        shipped = _after(shipped, rng.uniform(6 * HOUR, 3 * DAY), as_of)
        expected = shipped + timedelta(days=rng.randint(2, 5))
        arrived = receive == 2 or (receive == 1 and number == 1)
        received = _after(shipped, rng.uniform(DAY, 4 * DAY), as_of)
        plan.asns.append(ShipNotice(f"{prefix}-ASN-{plan.number[3:]}-{number}", shipped, expected, quantities,
                                    received if arrived else None))
    if receive == 2:
        plan.closed_at = plan.asns[-1].received_at


def in_transit_plan(plans: list[PurchasePlan]) -> dict[tuple[str, str], int]:
    """{(sku, location code): units shipped by a supplier and not yet received}."""
    result: dict[tuple[str, str], int] = defaultdict(int)
    for plan in plans:
        for notice in plan.asns:
            if notice.received_at is None and plan.location_code:
                for line, quantity in zip(plan.lines, notice.quantities, strict=True):
                    result[(line.sku, plan.location_code)] += quantity
    return dict(result)


def replenishment_ensure(*, plans: list[PurchasePlan], systems: dict[str, int], seed: int) -> int:
    existing = set(PurchaseOrder.objects.filter(number__in=[p.number for p in plans]).values_list("number", flat=True))
    missing = [p for p in plans if p.number not in existing]
    if not missing:
        return 0
    products = dict(Product.objects.filter(sku__in={line.sku for p in missing for line in p.lines})
                    .values_list("sku", "id"))
    locations = dict(Location.objects.values_list("code", "id"))
    emit = Emitter(systems=systems)
    with transaction.atomic():
        emit.pools.new_transaction()
        for plan in missing:
            for line in plan.lines:
                line.product_id = products[line.sku]
            rng = DemoRandom.for_part(seed, "po", plan.number)
            emit.begin_story(rng, rng.correlation_id())
            write_purchase_order(emit, plan, location_id=locations[plan.location_code])
        emit.batch.flush()
    return len(missing)


def drop_ship_purchase_order(story: Story, ctx: HistoryContext, emit: Emitter) -> None:
    """The PO that sends an order's drop-ship lines to their supplier, from the moment the ERP has the order."""
    lines = [line for line in story.lines if line.drop_ship]
    submitted = story.times.get(OrderStatus.SUBMITTED_TO_ERP)
    if not lines or submitted is None:
        return
    rng, as_of, times = story.rng, ctx.as_of, story.times
    supplier = ctx.system_codes[lines[0].product.supplier_id]
    ordered = min(submitted + timedelta(seconds=rng.uniform(60, 900)), as_of)
    plan = PurchasePlan(
        number=f"PO-D{story.core}", supplier=supplier, kind=PurchaseOrderKind.DROP_SHIP, status=P.SENT,
        ordered_at=ordered, requested=lines[0].requested, erp_id=f"P{story.core}", order_id=story.order_id,
        lines=[PurchaseLine(sku=line.product.sku, quantity=line.quantity, cost_cents=line.cents * 70 // 100,
                            product_id=line.product.id, order_line_id=line.id) for line in lines],
    )
    if story.status == OrderStatus.CANCELLED:
        plan.status, plan.closed_at = P.CANCELLED, max(times[OrderStatus.CANCELLED], ordered)
    else:
        shipped_at = times.get(OrderStatus.SHIPPED) if all(line.shipped for line in lines) else None
        acked = ordered + timedelta(seconds=rng.uniform(HOUR, 20 * HOUR))
        if shipped_at is not None:
            acked = min(acked, shipped_at - timedelta(seconds=rng.uniform(HOUR, 4 * HOUR)))
        if acked <= as_of:
            plan.status = P.ACKNOWLEDGED
            plan.acks.append(Acknowledgement(1, max(acked, ordered), "accepted", "Direct to job site",
                                             [(line.quantity, line.requested) for line in lines]))
        if shipped_at is not None and plan.acks:
            plan.status, plan.closed_at = P.RECEIVED, shipped_at
            sent = shipped_at - timedelta(seconds=rng.uniform(60, HOUR))
            plan.asns.append(ShipNotice(f"{SUPPLIER_PREFIX[supplier]}-ASN-{story.core}", max(sent, plan.acks[0].at),
                                        shipped_at + timedelta(days=2), [line.quantity for line in lines], shipped_at))
    write_purchase_order(emit, plan, location_id=None, cause=story.event_ids.get(OrderStatus.SUBMITTED_TO_ERP, ""))


def write_purchase_order(emit: Emitter, plan: PurchasePlan, *, location_id: int | None, cause: str = "") -> None:
    po_id = emit.pools.purchase_order.take()
    supplier_id = emit.systems[plan.supplier]
    final = plan.acks[-1].confirmed if plan.acks else None
    received = [0] * len(plan.lines)
    for notice in plan.asns:
        if notice.received_at is not None:
            received = [r + q for r, q in zip(received, notice.quantities, strict=True)]
    confirmed_date = max(d for _, d in final) if final else None
    last = max([plan.ordered_at, plan.closed_at or plan.ordered_at] + [a.at for a in plan.acks]
               + [n.shipped_at for n in plan.asns])
    emit.row(PURCHASE_ORDER, (
        po_id, plan.number, supplier_id, plan.kind, plan.status, location_id, plan.order_id, "USD", plan.ordered_at,
        plan.requested, confirmed_date, plan.ordered_at, last,
    ))
    for number, line in enumerate(plan.lines, start=1):
        line.id = emit.pools.po_line.take()
        quantity, day = final[number - 1] if final else (None, None)
        emit.row(PURCHASE_ORDER_LINE, (
            line.id, po_id, number, line.product_id, line.quantity, cents(line.cost_cents), quantity, day,
            received[number - 1], line.order_line_id,
        ))
    emit.ref("erp", EntityType.PURCHASE_ORDER, plan.erp_id, po_id, plan.ordered_at)
    head = {"id": po_id, "number": plan.number, "supplier": plan.supplier, "kind": plan.kind}
    first_status = P.DRAFT if plan.status == P.DRAFT else P.SENT
    previous = emit.event("purchase_order.created", "purchase_order", po_id, {"purchase_order": {
        **head, "status": first_status.value, "requested_date": plan.requested.isoformat(),
        "lines": [{"line_number": n, "sku": line.sku, "quantity": line.quantity} for n, line in
                  enumerate(plan.lines, start=1)],
    }}, plan.ordered_at, source="erp", causation=cause)
    if plan.acks:
        emit.ref(plan.supplier, EntityType.PURCHASE_ORDER, f"{SUPPLIER_PREFIX[plan.supplier]}-SO-{plan.number[3:]}",
                 po_id, plan.acks[0].at)
    for ack in plan.acks:
        ack_id = emit.pools.acknowledgement.take()
        heard = ack.at + timedelta(seconds=emit.rng.uniform(5, 300))
        emit.row(ACKNOWLEDGEMENT, (ack_id, po_id, ack.revision, ack.at, heard, ack.status, ack.note))
        for line, (quantity, day) in zip(plan.lines, ack.confirmed, strict=True):
            emit.row(ACKNOWLEDGEMENT_LINE, (ack_id, line.id, quantity, day))
        previous = emit.event("supplier.ack_received", "purchase_order", po_id, {
            "purchase_order": head, "revision": ack.revision, "status": ack.status, "note": ack.note,
            "lines": [{"sku": line.sku, "confirmed_quantity": q, "confirmed_date": d.isoformat()}
                      for line, (q, d) in zip(plan.lines, ack.confirmed, strict=True)],
        }, ack.at, source=plan.supplier, causation=previous)
    for notice in plan.asns:
        asn_id = emit.pools.asn.take()
        tracking = f"{notice.number[-12:].replace('-', '')}{emit.rng.digits(4)}"
        emit.row(ASN, (asn_id, notice.number, po_id, notice.shipped_at, notice.expected_at,
                       emit.rng.choice(FREIGHT), tracking, notice.shipped_at, notice.received_at or notice.shipped_at))
        for line, quantity in zip(plan.lines, notice.quantities, strict=True):
            if quantity:
                emit.row(ASN_LINE, (asn_id, line.id, quantity))
        emit.ref(plan.supplier, EntityType.ADVANCE_SHIP_NOTICE, notice.number, asn_id, notice.shipped_at)
        previous = emit.event("supplier.asn_received", "purchase_order", po_id, {
            "purchase_order": head, "asn": notice.number, "shipped_at": notice.shipped_at.isoformat(),
            "expected_at": notice.expected_at.isoformat(),
            "lines": [{"sku": line.sku, "quantity": q} for line, q in zip(plan.lines, notice.quantities, strict=True) if q],
        }, notice.shipped_at, source=plan.supplier, causation=previous)
    if plan.closed_at is not None and plan.status in (P.RECEIVED, P.CANCELLED):
        emit.event("purchase_order.updated", "purchase_order", po_id, {
            "purchase_order": head, "changed": ["status"], "to": plan.status.value,
        }, max(plan.closed_at, last if plan.status == P.RECEIVED else plan.ordered_at), source="erp",
            causation=previous)

