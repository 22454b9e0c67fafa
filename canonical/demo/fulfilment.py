"""What follows an order's walk: shipments and milestones, the invoice, a return and its credit memo.

Milestones, payments, disputes and return steps that would fall after
``as_of`` have not happened yet, so they are left out rather than moved.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from canonical.demo import names, supply
from canonical.demo.context import (
    CREDIT_MEMO,
    INVOICE,
    INVOICE_LINE,
    MILESTONE,
    RETURN,
    RETURN_LINE,
    SHIPMENT,
    SHIPMENT_LINE,
    HistoryContext,
)
from canonical.demo.emit import Emitter, cents
from canonical.demo.rand import WeightedChoice
from canonical.models import (
    MILESTONE_RANK,
    EntityType,
    InvoiceStatus,
    MilestoneCode,
    OrderStatus,
    ReturnStatus,
)

if TYPE_CHECKING:
    from canonical.demo.history import Line, Story

S = OrderStatus
M = MilestoneCode
HOUR = 3600
DAY = 86_400
CARRIER = "Keystone Parcel & Freight"
RETURN_OUTCOMES = WeightedChoice({
    ReturnStatus.CREDITED: 45, ReturnStatus.RECEIVED: 15, ReturnStatus.AUTHORISED: 15, ReturnStatus.REQUESTED: 10,
    ReturnStatus.REJECTED: 15,
})
RETURN_STEPS = (ReturnStatus.REQUESTED, ReturnStatus.AUTHORISED, ReturnStatus.RECEIVED, ReturnStatus.CREDITED)
RETURN_EVENTS = {
    ReturnStatus.REQUESTED: "return.requested", ReturnStatus.AUTHORISED: "return.authorised",
    ReturnStatus.RECEIVED: "return.received", ReturnStatus.CREDITED: "return.credited",
    ReturnStatus.REJECTED: "return.rejected",
}
RETURN_SOURCES = {ReturnStatus.RECEIVED: "wms"}  # the warehouse receives; the ERP decides and credits


def tell(story: Story, ctx: HistoryContext, emit: Emitter) -> None:
    delivered = _shipments(story, ctx, emit)
    invoice = _invoice(story, ctx, emit) if S.INVOICED in story.times else None
    _return(story, ctx, emit, invoice, delivered)
    if invoice is not None:
        emit.row(INVOICE, tuple(invoice))
    supply.drop_ship_purchase_order(story, ctx, emit)


def _uniform(story: Story, low: float, high: float) -> timedelta:
    return timedelta(seconds=story.rng.uniform(low, high))


def _shipments(story: Story, ctx: HistoryContext, emit: Emitter) -> datetime | None:
    """Write the shipments; return when the last one was delivered (or dispatched, if still on its way)."""
    stocked = [line for line in story.lines if not line.drop_ship and line.shipped]
    if not stocked:
        return None
    times = story.times
    if any(line.first_shipment for line in stocked):
        waves = [
            ([(line, line.first_shipment) for line in stocked if line.first_shipment],
             times[S.IN_FULFILMENT], times[S.PARTIALLY_SHIPPED], S.IN_FULFILMENT),
            ([(line, line.shipped - line.first_shipment) for line in stocked if line.shipped > line.first_shipment],
             times[S.PARTIALLY_SHIPPED], times[S.SHIPPED], S.PARTIALLY_SHIPPED),
        ]
    else:
        dispatched = times.get(S.SHIPPED) or times[S.PARTIALLY_SHIPPED]
        waves = [([(line, line.shipped) for line in stocked], times[S.IN_FULFILMENT], dispatched, S.IN_FULFILMENT)]
    last_seen = None
    number = 0
    for parts, started, dispatched, cause in waves:
        by_location: dict[int, list[tuple[Line, int]]] = defaultdict(list)
        for line, quantity in parts:
            by_location[line.location].append((line, quantity))
        for location, shipped in by_location.items():
            number += 1
            seen = _shipment(story, ctx, emit, number, location, shipped, started, dispatched, cause)
            last_seen = seen if last_seen is None else max(last_seen, seen)
    return last_seen


def _shipment(
    story: Story, ctx: HistoryContext, emit: Emitter, number: int, location: int,
    shipped: list[tuple[Line, int]], started: datetime, dispatched: datetime, cause: str,
) -> datetime:
    rng, as_of = story.rng, ctx.as_of
    shipment_id = emit.pools.shipment.take()
    created = dispatched - (dispatched - started) * rng.uniform(0.6, 0.9)
    picked = created + (dispatched - created) * rng.uniform(0.2, 0.5)
    packed = picked + (dispatched - picked) * rng.uniform(0.3, 0.8)
    in_transit = dispatched + _uniform(story, 2 * HOUR, 10 * HOUR)
    steps = [(M.CREATED, created, "wms"), (M.PICKED, picked, "wms"), (M.PACKED, packed, "wms"),
             (M.DISPATCHED, dispatched, "wms"), (M.IN_TRANSIT, in_transit, "carrier")]
    arrival = in_transit
    if "exception" in story.flags or rng.chance(0.03):
        arrival = in_transit + _uniform(story, 6 * HOUR, 30 * HOUR)
        steps.append((M.EXCEPTION, arrival, "carrier"))
    steps.append((M.DELIVERED, arrival + _uniform(story, 12 * HOUR, 3 * DAY), "carrier"))
    steps = [step for step in steps if step[1] <= as_of]
    status = max((code for code, _, _ in steps if code != M.EXCEPTION), key=MILESTONE_RANK.__getitem__)
    delivered_at = next((at for code, at, _ in steps if code == M.DELIVERED), None)
    tracking = f"KPF{story.core}{number}{rng.digits(3)}"
    shipment_number = f"SH-{story.core}-{number}"
    last = steps[-1][1]
    emit.row(SHIPMENT, (shipment_id, shipment_number, story.order_id, location, status, CARRIER, tracking,
                        dispatched, delivered_at, created, last))
    for line, quantity in shipped:
        emit.row(SHIPMENT_LINE, (shipment_id, line.id, quantity, created, created))
    emit.ref("wms", EntityType.SHIPMENT, f"D{story.core}-{number}", shipment_id, created)
    emit.ref("carrier", EntityType.SHIPMENT, tracking, shipment_id, dispatched)
    head = {"id": shipment_id, "number": shipment_number, "order": story.order_id, "order_number": story.number}
    previous = emit.event("shipment.created", "shipment", shipment_id, {"shipment": {
        **head, "location": ctx.location_codes.get(location), "carrier": CARRIER, "tracking_number": tracking,
        "lines": [{"line_number": line.number, "sku": line.product.sku, "quantity": quantity}
                  for line, quantity in shipped],
    }}, created, source="wms", causation=story.event_ids[cause])
    city = ctx.location_cities.get(location, "")
    for code, at, source in steps:
        lag = rng.uniform(5, 120) if source == "wms" else rng.uniform(60, 1800)
        place = city if source == "wms" else rng.choice(names.CITIES)[0]
        detail = "Delivery attempted: receiving dock closed" if code == M.EXCEPTION else ""
        emit.row(MILESTONE, (shipment_id, code, at, at + timedelta(seconds=lag), emit.systems[source], place, detail))
        if code == M.CREATED:
            continue
        event_type = {M.DISPATCHED: "shipment.dispatched", M.DELIVERED: "shipment.delivered"}.get(
            code, "shipment.milestone")
        payload = {"shipment": head, "milestone": code.value, "occurred_at": at.isoformat(), "location": place}
        if detail:
            payload["detail"] = detail
        previous = emit.event(event_type, "shipment", shipment_id, payload, at, source=source, causation=previous)
    return delivered_at or dispatched


def _invoice(story: Story, ctx: HistoryContext, emit: Emitter) -> list:
    """The invoice row (a list, so a later credit can still change its status) and its events."""
    rng = story.rng
    invoice_id = emit.pools.invoice.take()
    issued = story.times[S.INVOICED]
    amount = sum(line.invoiced * line.cents for line in story.lines)
    number = f"IN-{story.core}"
    due = issued.date() + timedelta(days=story.buyer.terms_days)
    status, paid_cents, paid_at, reason = InvoiceStatus.POSTED, 0, None, ""
    head = {"id": invoice_id, "number": number, "order": story.order_id, "order_number": story.number}
    emit.ref("erp", EntityType.INVOICE, f"9{story.core}", invoice_id, issued)
    previous = emit.event("invoice.posted", "invoice", invoice_id, {"invoice": {
        **head, "customer": story.buyer.bill_to, "amount": cents(amount), "currency": "USD",
        "issued_at": issued.isoformat(), "due_date": due.isoformat(),
    }}, issued, source="erp", causation=story.event_ids[S.INVOICED])
    for line in story.lines:
        if line.invoiced:
            emit.row(INVOICE_LINE, (invoice_id, line.id, line.product.id, line.invoiced, cents(line.cents),
                                    cents(line.invoiced * line.cents)))
    if story.status == S.CLOSED:
        status, paid_cents, paid_at = InvoiceStatus.PAID, amount, story.times[S.CLOSED]
        emit.event("invoice.paid", "invoice", invoice_id,
                   {"invoice": head, "amount_paid": cents(amount), "paid_at": paid_at.isoformat()},
                   paid_at, source="erp", causation=previous)
    elif "disputed" in story.flags or rng.chance(0.02):
        disputed = issued + _uniform(story, DAY, 12 * DAY)
        if disputed <= ctx.as_of:
            status, reason = InvoiceStatus.DISPUTED, rng.choice(names.DISPUTE_REASONS)
            emit.event("invoice.disputed", "invoice", invoice_id, {"invoice": head, "reason": reason},
                       disputed, source="crm", causation=previous)
    last = paid_at or issued
    return [invoice_id, number, story.buyer.bill_to, story.order_id, None, status, "USD", cents(amount),
            cents(paid_cents), issued, due, paid_at, reason, issued, last]


def _return(story: Story, ctx: HistoryContext, emit: Emitter, invoice: list | None, delivered: datetime | None):
    rng = story.rng
    wanted = next((flag.split(":", 1)[1] for flag in sorted(story.flags) if flag.startswith("return:")), None)
    if wanted is None:
        if story.status not in (S.CLOSED, S.INVOICED) or not rng.chance(0.03):
            return
        wanted = rng.weighted(RETURN_OUTCOMES)
    returnable = [line for line in story.lines if line.shipped and not line.drop_ship]
    if not returnable or delivered is None:
        return
    if "full_return" in story.flags:
        chosen = [(line, line.shipped) for line in returnable]
    else:
        chosen = [(line, rng.randint(1, line.shipped)) for line in rng.sample(returnable, min(2, len(returnable)))]
    at = delivered + _uniform(story, 2 * DAY, 25 * DAY)
    if at > ctx.as_of:
        return
    steps = [(ReturnStatus.REQUESTED, at)]
    path = (ReturnStatus.REQUESTED, ReturnStatus.REJECTED) if wanted == ReturnStatus.REJECTED else RETURN_STEPS
    for step, (low, high) in zip(path[1:], ((DAY, 3 * DAY), (3 * DAY, 10 * DAY), (DAY, 5 * DAY)), strict=False):
        if steps[-1][0] == wanted:
            break
        at = at + _uniform(story, low, high)
        if at > ctx.as_of:
            break
        steps.append((step, at))
    status = steps[-1][0]
    received = dict(steps).get(ReturnStatus.RECEIVED)
    rma_id = emit.pools.rma.take()
    number = f"RA-{story.core}"
    reason = rng.choice(names.RETURN_REASONS)
    decision = "Outside the 30-day return window" if status == ReturnStatus.REJECTED else ""
    emit.row(RETURN, (rma_id, number, story.order_id, story.buyer.id, status, reason, decision, steps[0][1],
                      received, steps[0][1], steps[-1][1]))
    for line, quantity in chosen:
        got = quantity if received else 0
        line.returned += got
        refusal = f"window: {decision}." if status == ReturnStatus.REJECTED else ""
        emit.row(RETURN_LINE, (rma_id, line.id, quantity, got, refusal))
    emit.ref("erp", EntityType.RETURN, f"R{story.core}", rma_id, steps[0][1])
    head = {"id": rma_id, "number": number, "order": story.order_id, "order_number": story.number}
    previous = ""
    for step, step_at in steps:
        payload = {"return": {**head, "status": step.value}}
        if step == ReturnStatus.REQUESTED:
            payload["return"]["reason"] = reason
            payload["lines"] = [{"line_number": line.number, "sku": line.product.sku, "quantity": quantity}
                                for line, quantity in chosen]
        if decision:
            payload["return"]["decision_reason"] = decision
        source = RETURN_SOURCES.get(step, "erp")
        if step == ReturnStatus.REQUESTED:
            source = story.source if story.source in ("shop", "crm") else "crm"  # customers ask where they buy
        previous = emit.event(RETURN_EVENTS[step], "return", rma_id, payload, step_at, source=source,
                              causation=previous)
    if status == ReturnStatus.CREDITED:
        _credit_memo(story, emit, invoice, rma_id, number, chosen, steps[-1][1], previous)


def _credit_memo(story: Story, emit: Emitter, invoice: list | None, rma_id: int, rma_number: str,
                 chosen: list, at: datetime, cause: str) -> None:
    memo_id = emit.pools.credit_memo.take()
    amount = sum(quantity * line.cents for line, quantity in chosen)
    number = f"CM-{story.core}"
    invoice_id = invoice[0] if invoice else None
    emit.row(CREDIT_MEMO, (memo_id, number, story.buyer.bill_to, rma_id, invoice_id, "USD", cents(amount), at, at, at))
    emit.ref("erp", EntityType.CREDIT_MEMO, f"M{story.core}", memo_id, at)
    emit.event("credit_memo.issued", "credit_memo", memo_id, {"credit_memo": {
        "id": memo_id, "number": number, "amount": cents(amount), "currency": "USD", "rma": rma_number,
        "invoice": invoice[1] if invoice else None,
    }}, at, source="erp", causation=cause)
    if invoice is not None and invoice[5] == InvoiceStatus.POSTED and cents(amount) == invoice[7]:
        # An unpaid invoice returned in full is settled by the credit memo.
        invoice[5], invoice[14] = InvoiceStatus.CREDITED, at
        emit.event("invoice.updated", "invoice", invoice_id, {
            "invoice": {"id": invoice_id, "number": invoice[1]}, "changed": ["status"],
            "from": InvoiceStatus.POSTED.value, "to": InvoiceStatus.CREDITED.value, "credit_memo": number,
        }, at, source="erp", causation=cause)
