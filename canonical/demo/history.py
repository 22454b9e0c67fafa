"""Historical orders, each generated as one consistent story.

A story picks the order's final status, walks the canonical lifecycle to it
(every step checked against ORDER_TRANSITIONS), gives each step a time, and
derives everything else from that walk: line quantities (allocated from the
stock the WMS reported, backordered when it runs short, shipped, invoiced,
returned), reservations, shipments and milestones, invoices, returns and credit
memos, drop-ship purchase orders, external references in the systems that know
each record, and one business event per change with per-aggregate sequences.
Each order draws from its own random generator, so order N is the same whatever
the batch size, and a run never depends on the clock beyond ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from canonical.demo import fulfilment, names
from canonical.demo.context import (
    ORDER,
    ORDER_LINE,
    RESERVATION,
    Buyer,
    HistoryContext,
    Position,
    SellableProduct,
)
from canonical.demo.emit import Emitter, cents
from canonical.demo.rand import DemoRandom, WeightedChoice
from canonical.models import ORDER_TRANSITIONS, CreditStatus, EntityType, OrderStatus, ReservationStatus

S = OrderStatus
# The demo shows plenty of work in progress; a long scale history is mostly closed, as a real one is.
DEMO_STATUS_WEIGHTS = WeightedChoice({
    S.CLOSED: 62, S.INVOICED: 8, S.SHIPPED: 4, S.PARTIALLY_SHIPPED: 2.5, S.IN_FULFILMENT: 3,
    S.SUBMITTED_TO_ERP: 2.5, S.ALLOCATED: 2.5, S.BACKORDERED: 3, S.RELEASED: 1, S.CREDIT_HOLD: 1.5,
    S.VALIDATED: 1.5, S.RECEIVED: 1.5, S.CANCELLED: 7,
})
# A long history is mostly closed, as a real one is: a scale order's status follows from its age.
# (upper bound of age in days, weights)
STATUS_BY_AGE = [
    (0.25, WeightedChoice({S.RECEIVED: 25, S.VALIDATED: 20, S.CREDIT_HOLD: 10, S.ALLOCATED: 20, S.BACKORDERED: 10,
                           S.SUBMITTED_TO_ERP: 10, S.CANCELLED: 5})),
    (2, WeightedChoice({S.CREDIT_HOLD: 5, S.RELEASED: 3, S.ALLOCATED: 10, S.BACKORDERED: 12, S.SUBMITTED_TO_ERP: 20,
                        S.IN_FULFILMENT: 30, S.PARTIALLY_SHIPPED: 5, S.SHIPPED: 10, S.CANCELLED: 5})),
    (10, WeightedChoice({S.BACKORDERED: 8, S.IN_FULFILMENT: 2, S.PARTIALLY_SHIPPED: 10, S.SHIPPED: 50, S.INVOICED: 25,
                         S.CANCELLED: 5})),
    (60, WeightedChoice({S.INVOICED: 55, S.CLOSED: 38, S.BACKORDERED: 1, S.PARTIALLY_SHIPPED: 1, S.CANCELLED: 5})),
    (float("inf"), WeightedChoice({S.CLOSED: 93, S.INVOICED: 1, S.CANCELLED: 6})),
]
HISTORY_DAYS = 730

# The first orders of every run show each status and each case a demo needs, whatever the size.
SCENARIOS: list[tuple[str, frozenset[str]]] = [(status, frozenset()) for status in S] + [
    (S.INVOICED, frozenset({"disputed"})),
    (S.INVOICED, frozenset({"disputed"})),
    (S.CLOSED, frozenset({"return:credited"})),
    (S.CLOSED, frozenset({"return:received"})),
    (S.INVOICED, frozenset({"return:credited", "full_return"})),
    (S.CLOSED, frozenset({"return:requested"})),
    (S.CLOSED, frozenset({"return:authorised"})),
    (S.CLOSED, frozenset({"return:rejected"})),
    (S.SHIPPED, frozenset({"exception"})),
    (S.CLOSED, frozenset({"drop_ship", "partial_first"})),
    (S.IN_FULFILMENT, frozenset({"drop_ship"})),
    (S.CREDIT_HOLD, frozenset()),
    (S.BACKORDERED, frozenset()),
]
# How long ago (days) an order in each final status was placed.
PLACED_AGE_DAYS = {
    S.RECEIVED: (0.0, 0.2), S.VALIDATED: (0.0, 0.5), S.CREDIT_HOLD: (0.1, 6), S.RELEASED: (0.1, 2),
    S.ALLOCATED: (0.1, 2), S.BACKORDERED: (1, 25), S.SUBMITTED_TO_ERP: (0.2, 2), S.IN_FULFILMENT: (0.5, 4),
    S.PARTIALLY_SHIPPED: (2, 20), S.SHIPPED: (2, 10), S.INVOICED: (5, 55), S.CLOSED: (30, 730),
    S.CANCELLED: (1, 730),
}
# Seconds from the previous step to this one.
STEP_SECONDS = {
    S.VALIDATED: (10, 180), S.CREDIT_HOLD: (5, 60), S.RELEASED: (1800, 172_800), S.ALLOCATED: (5, 120),
    S.BACKORDERED: (5, 120), S.SUBMITTED_TO_ERP: (30, 600), S.IN_FULFILMENT: (1800, 86_400),
    S.PARTIALLY_SHIPPED: (14_400, 172_800), S.SHIPPED: (14_400, 172_800), S.INVOICED: (7200, 43_200),
    S.CANCELLED: (3600, 259_200),
}
EVENT_FOR_STEP = {
    S.CREDIT_HOLD: "order.credit_hold", S.RELEASED: "order.credit_hold_released", S.CANCELLED: "order.cancelled",
}
# Who moves an order into each status: None is the hub itself.
SOURCE_FOR_STEP = {
    S.IN_FULFILMENT: "wms", S.PARTIALLY_SHIPPED: "wms", S.SHIPPED: "wms", S.INVOICED: "erp", S.CLOSED: "erp",
}
CANCEL_POINTS = WeightedChoice({
    S.RECEIVED: 5, S.VALIDATED: 35, S.CREDIT_HOLD: 20, S.ALLOCATED: 25, S.BACKORDERED: 10, S.SUBMITTED_TO_ERP: 5,
})
ORDER_SOURCES = WeightedChoice({"erp": 45, "shop": 35, "crm": 20})
LINE_COUNTS = WeightedChoice({1: 25, 2: 25, 3: 20, 4: 12, 5: 10, 6: 8})
QUANTITIES = {
    "EA": (1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 50),
    "RL": (1, 1, 2, 3, 4, 5, 10),
    "BX": (1, 1, 2, 2, 3, 4, 5, 6, 10, 12), "CS": (1, 1, 2, 3, 4, 6), "PK": (1, 2, 3, 4, 6, 10),
}
LIVE_STATUSES = frozenset({S.ALLOCATED, S.BACKORDERED, S.SUBMITTED_TO_ERP, S.IN_FULFILMENT, S.PARTIALLY_SHIPPED})
HISTORIC_STATUSES = frozenset({S.SHIPPED, S.INVOICED, S.CLOSED})
HOLD_STATUSES = frozenset({S.CREDIT_HOLD, S.RELEASED})
STATUS_TEXT = {status: status.value for status in S}  # a dict lookup is cheaper than the enum's .value


@dataclass(frozen=True)
class Origin:
    """How one kind of run numbers its orders, so demo and scale orders never collide."""

    key: str
    lead: str
    width: int
    chronological: bool  # placed in index order over the history, status by age; else curated statuses

    def number(self, index: int) -> str:
        return f"SO-{self.lead}{index:0{self.width}d}"


DEMO = Origin("demo", "1", 7, chronological=False)
# Scale orders are written in the order they were placed, so the outbox, order and reference indexes
# grow at their right-hand edge instead of taking random inserts all over a table of millions.
SCALE = Origin("scale", "2", 9, chronological=True)


@dataclass(slots=True)
class Line:
    id: int
    number: int
    product: SellableProduct
    quantity: int
    cents: int
    rule: str
    requested: date
    promised: date
    drop_ship: bool
    location: int | None = None
    position: Position | None = None
    allocated: int = 0
    backordered: int = 0
    shipped: int = 0
    invoiced: int = 0
    returned: int = 0
    first_shipment: int = 0  # units that left in the first of two shipments


@dataclass(slots=True)
class Touch:
    """A stock position a batch reserved from: when last, and its reserved figure before and after the batch."""

    position: Position
    held_at: datetime
    before: Decimal
    after: Decimal = Decimal("0")


@dataclass
class Story:
    rng: DemoRandom
    number: str
    core: str
    order_id: int
    buyer: Buyer
    source: str
    status: str
    flags: frozenset[str]
    lines: list[Line]
    path: list[str] = field(default_factory=list)
    times: dict[str, datetime] = field(default_factory=dict)
    event_ids: dict[str, str] = field(default_factory=dict)
    ship_to: int = 0
    total: int = 0
    customer_po: str = ""

    def __post_init__(self):
        self.ship_to = self.rng.choice(self.buyer.ship_tos)
        self.total = sum(line.quantity * line.cents for line in self.lines)
        self.customer_po = (
            f"{self.rng.choice(('PO ', 'PO#', 'JOB-', ''))}{self.rng.randint(1000, 999_999)}"
            if self.rng.chance(0.7) else ""
        )


class OrderHistory:
    """Tells order stories into an Emitter's batch.

    ``full=False`` tells only the order itself (order, lines, reservations, order
    references and events): what scale runs need, at a fraction of the rows.
    """

    def __init__(
        self, *, context: HistoryContext, emitter: Emitter, seed: int, origin: Origin, full: bool = True,
        first: int = 1, count: int = 1,
    ):
        self.full = full
        self.first = first
        self.count = max(count, 1)
        self.ctx = context
        self.emit = emitter
        self.seed = seed
        self.origin = origin
        self.touched: dict[int, Touch] = {}
        buyers = context.buyers
        live = [b for b in buyers if b.active and b.credit_status != CreditStatus.HOLD]
        doubtful = [b for b in buyers if b.active and b.credit_status != CreditStatus.GOOD]
        self._pools = {
            "any": _weighted(buyers), "live": _weighted(live or buyers), "doubtful": _weighted(doubtful or live or buyers),
        }

    def tell(self, index: int) -> None:
        rng = DemoRandom(f"{self.seed}:{self.origin.key}:{index}")
        flags = frozenset()
        if self.origin.chronological:
            placed = self._placed(rng, index)
            age = (self.ctx.as_of - placed).total_seconds() / 86_400
            status = rng.weighted(next(table for limit, table in STATUS_BY_AGE if age <= limit))
        else:
            if index <= len(SCENARIOS):
                status, flags = SCENARIOS[index - 1]
            else:
                status = rng.weighted(DEMO_STATUS_WEIGHTS)
            placed = self.ctx.as_of - timedelta(days=rng.uniform(*PLACED_AGE_DAYS[status]))
        buyer = self._buyer(rng, status)
        number = self.origin.number(index)
        self.emit.begin_story(rng, rng.correlation_id(placed))
        story = Story(
            rng=rng, number=number, core=number[3:], order_id=self.emit.pools.order.take(), buyer=buyer,
            source=rng.weighted(ORDER_SOURCES), status=status, flags=flags,
            lines=self._lines(rng, buyer, status, flags, placed),
        )
        cancel_from = rng.weighted(CANCEL_POINTS) if status == S.CANCELLED else None
        hold = status in HOLD_STATUSES or cancel_from == S.CREDIT_HOLD or (
            status not in (S.RECEIVED, S.VALIDATED)
            and rng.chance(0.3 if buyer.credit_status == CreditStatus.WATCH else 0.02)
        )
        backorder = False
        if status in LIVE_STATUSES:
            backorder = self._allocate(rng, story)
        elif status in HISTORIC_STATUSES:
            backorder = rng.chance(0.08)
            self._ship_everything(rng, story)
        elif cancel_from == S.BACKORDERED:
            backorder = True
        self._walk(story, hold=hold, backorder=backorder, cancel_from=cancel_from, placed=placed)
        self._reserve(story)
        if story.status == S.CANCELLED:
            for line in story.lines:
                line.allocated = line.backordered = 0
        self._order_refs(story)
        self._order_events(story)
        if self.full:
            fulfilment.tell(story, self.ctx, self.emit)
        self._order_rows(story)

    def _placed(self, rng: DemoRandom, index: int) -> datetime:
        """Order ``index`` of this run's ``count`` is placed at its share of the history, give or take."""
        step = HISTORY_DAYS * 86_400 / self.count
        offset = (index - self.first + rng.random()) * step
        return self.ctx.as_of - timedelta(days=HISTORY_DAYS) + timedelta(seconds=offset)

    def handover(self) -> list[Touch]:
        """The positions reserved from since the last handover, with their figures now; starts a new batch."""
        touched, self.touched = list(self.touched.values()), {}
        for touch in touched:
            touch.after = touch.position.reserved
        return touched

    def _buyer(self, rng: DemoRandom, status: str) -> Buyer:
        if status in HOLD_STATUSES and rng.chance(0.6):
            return rng.weighted(self._pools["doubtful"])
        if status in (S.CLOSED, S.CANCELLED):
            return rng.weighted(self._pools["any"])
        return rng.weighted(self._pools["live"])

    def _lines(self, rng: DemoRandom, buyer: Buyer, status: str, flags: frozenset, placed: datetime) -> list[Line]:
        ctx = self.ctx
        count = rng.weighted(LINE_COUNTS)
        if status == S.PARTIALLY_SHIPPED:
            count = max(count, 2)
        if status in LIVE_STATUSES:
            # An order being allocated now is for what is on the shelves, mostly.
            pool = rng.sample(ctx.products, min(len(ctx.products), count * 4))
            pool.sort(key=lambda product: self._available(product) <= 0)
            products = pool[:count]
        else:
            products = rng.sample(ctx.products, min(count, len(ctx.products)))
        if status == S.CLOSED and ctx.retired_products and rng.chance(0.05):
            products[-1] = rng.choice(ctx.retired_products)  # sold before it was discontinued
        if ctx.drop_ship_products and ("drop_ship" in flags or rng.chance(0.03)):
            drop = rng.choice(ctx.drop_ship_products)
            if len(products) == 1:
                products.append(drop)
            else:
                products[-1] = drop
        day = placed.date()
        requested = day + timedelta(days=rng.randint(1, 10))
        lines = []
        for number, product in enumerate(products, start=1):
            quantity = rng.choice(QUANTITIES.get(product.uom, QUANTITIES["EA"]))
            if status == S.ALLOCATED:
                quantity = max(1, min(quantity, self._available(product)))
            price, rule = self._price(buyer, product, quantity, day)
            lines.append(Line(
                id=self.emit.pools.order_line.take(), number=number, product=product, quantity=quantity,
                cents=price, rule=rule, requested=requested, promised=requested, drop_ship=product.drop_ship,
            ))
        return lines

    def _available(self, product: SellableProduct) -> int:
        positions = self.ctx.positions.get(product.id, ())
        return max((int(p.on_hand - p.reserved) for p in positions), default=0)

    def _price(self, buyer: Buyer, product: SellableProduct, quantity: int, day: date) -> tuple[int, str]:
        for table, owner, kind in (
            (self.ctx.contract_prices, buyer.id, "contract"), (self.ctx.group_prices, buyer.group_id, "group"),
        ):
            for price, valid_from, valid_to, reference in table.get((owner, product.id), ()):
                if valid_from <= day and (valid_to is None or day <= valid_to):
                    return price, f"{kind}:{reference}"[:40]
        for min_quantity, price in product.breaks:
            if quantity >= min_quantity:
                return price, "list" if min_quantity == 0 else f"list-break:{min_quantity}"
        return product.list_cents, "list"

    def _allocate(self, rng: DemoRandom, story: Story) -> bool:
        """Allocate from live stock (short lines backorder); ship part of it for a partially shipped order."""
        stocked = [line for line in story.lines if not line.drop_ship]
        short = rng.choice(stocked) if story.status == S.BACKORDERED and stocked else None
        for line in stocked:
            positions = self.ctx.positions.get(line.product.id, ())
            position = max(positions, key=lambda p: p.on_hand - p.reserved, default=None)
            available = max(int(position.on_hand - position.reserved), 0) if position else 0
            if line is short:
                available = min(available, rng.randint(0, line.quantity - 1))
            line.allocated = min(line.quantity, available)
            line.backordered = line.quantity - line.allocated
            line.position = position if line.allocated else None
            line.location = position.location_id if position else rng.choice(self.ctx.warehouse_ids)
            if line.backordered:
                line.promised = line.requested + timedelta(days=rng.randint(3, 21))
        backorder = any(line.backordered for line in stocked)
        if story.status == S.PARTIALLY_SHIPPED:
            if not self._ship_part(rng, stocked, story):
                story.status = S.BACKORDERED  # nothing in stock to ship yet
        if story.status == S.ALLOCATED and backorder:
            story.status = S.BACKORDERED  # the stock ran short of the order
        return backorder

    def _ship_part(self, rng: DemoRandom, stocked: list[Line], story: Story) -> bool:
        candidates = [line for line in stocked if line.allocated]
        if not candidates:
            return False
        for line in candidates:
            if rng.chance(0.6):
                line.shipped = line.allocated
        if not any(line.shipped for line in candidates):
            candidates[0].shipped = candidates[0].allocated
        unshipped = sum(line.quantity - line.shipped for line in story.lines)
        if unshipped == 0:
            last = next(line for line in reversed(candidates) if line.shipped)
            if last.shipped > 1:
                last.shipped -= 1
            elif sum(1 for line in candidates if line.shipped) > 1:
                last.shipped = 0
            else:
                return False
        for line in candidates:
            line.allocated -= line.shipped
        return True

    def _ship_everything(self, rng: DemoRandom, story: Story) -> None:
        partial = "partial_first" in story.flags or rng.chance(0.1)
        stocked = [line for line in story.lines if not line.drop_ship]
        for line in story.lines:
            line.shipped = line.quantity
            if not line.drop_ship:
                positions = self.ctx.positions.get(line.product.id)
                line.location = positions[0].location_id if positions else rng.choice(self.ctx.warehouse_ids)
        if partial and len(stocked) > 1:
            for line in stocked[: rng.randint(1, len(stocked) - 1)]:
                line.first_shipment = line.quantity
        elif partial and stocked and stocked[0].quantity > 1:
            stocked[0].first_shipment = rng.randint(1, stocked[0].quantity - 1)
        if story.status in (S.INVOICED, S.CLOSED):
            for line in story.lines:
                line.invoiced = line.shipped

    def _walk(self, story: Story, *, hold: bool, backorder: bool, cancel_from: str | None, placed: datetime) -> None:
        """The path through the lifecycle and when each step happened; ends no later than ``as_of``."""
        rng = story.rng
        target = cancel_from or story.status
        steps = [S.VALIDATED]
        if hold:
            steps += [S.CREDIT_HOLD, S.RELEASED]
        steps += [S.BACKORDERED if backorder else S.ALLOCATED, S.SUBMITTED_TO_ERP, S.IN_FULFILMENT]
        if target == S.PARTIALLY_SHIPPED or any(line.first_shipment for line in story.lines):
            steps.append(S.PARTIALLY_SHIPPED)
        steps += [S.SHIPPED, S.INVOICED, S.CLOSED]
        path = [S.RECEIVED]
        for step in steps:
            if path[-1] == target:
                break
            path.append(step)
        if cancel_from:
            path.append(S.CANCELLED)
        if path[-1] != story.status:
            raise AssertionError(f"{story.number}: walked {path} but wanted {story.status}")
        at = placed
        times = {S.RECEIVED: at}
        for previous, step in zip(path, path[1:], strict=False):
            ORDER_TRANSITIONS.check(previous, step)
            if step == S.CLOSED:
                # Closed when the invoice is paid: around its due date, rarely early, often late.
                seconds = max(86_400, (story.buyer.terms_days + rng.uniform(-5, 15)) * 86_400)
            elif step == S.SHIPPED and previous == S.PARTIALLY_SHIPPED:
                seconds = rng.uniform(86_400, 8 * 86_400)  # the backordered rest arrived
            else:
                seconds = rng.uniform(*STEP_SECONDS[step])
            at = at + timedelta(seconds=seconds)
            times[step] = at
        latest = self.ctx.as_of - timedelta(seconds=rng.uniform(60, 1800))
        if at > latest:
            shift = at - latest
            times = {step: when - shift for step, when in times.items()}
        story.path = path
        story.times = times

    def _reserve(self, story: Story) -> None:
        held_at = story.times.get(S.ALLOCATED) or story.times.get(S.BACKORDERED)
        for line in story.lines:
            position = line.position
            if position is None or not line.allocated or story.status == S.CANCELLED:
                continue
            touch = self.touched.get(position.id)
            if touch is None:
                touch = self.touched[position.id] = Touch(position, held_at, position.reserved)
            touch.held_at = max(touch.held_at, held_at)
            position.reserved += line.allocated
            self.emit.row(RESERVATION, (line.id, position.id, line.allocated, ReservationStatus.ACTIVE,
                                        held_at, held_at))

    def _order_rows(self, story: Story) -> None:
        emit, times = self.emit, story.times
        placed, last = times[S.RECEIVED], times[story.path[-1]]
        promised = max(line.promised for line in story.lines)
        emit.row(ORDER, (
            story.order_id, story.number, story.buyer.id, story.ship_to, story.buyer.bill_to, story.status, "USD",
            cents(story.total), story.customer_po, placed, story.lines[0].requested, promised,
            emit.systems[story.source], emit.correlation_id, placed, last,
        ))
        for line in story.lines:
            emit.row(ORDER_LINE, (
                line.id, story.order_id, line.number, line.product.id, line.location, line.quantity, line.allocated,
                line.backordered, line.shipped, line.invoiced, line.returned, cents(line.cents), line.rule,
                line.requested, line.promised, line.drop_ship, placed, last,
            ))

    def _order_refs(self, story: Story) -> None:
        emit, placed = self.emit, story.times[S.RECEIVED]
        external = {"erp": f"45{story.core}", "shop": f"W{story.core}", "crm": f"801{story.core}"}
        emit.ref(story.source, EntityType.ORDER, external[story.source], story.order_id, placed)
        submitted = story.times.get(S.SUBMITTED_TO_ERP)
        if story.source != "erp" and submitted is not None:
            emit.ref("erp", EntityType.ORDER, external["erp"], story.order_id, submitted)

    def _order_events(self, story: Story) -> None:
        emit, order_id = self.emit, story.order_id
        head = {"id": order_id, "number": story.number}
        created = {
            **head, "customer": story.buyer.id, "ship_to": story.ship_to, "bill_to": story.buyer.bill_to,
            "status": S.RECEIVED.value, "currency": "USD", "total_amount": cents(story.total),
            "customer_po": story.customer_po,
            "placed_at": story.times[S.RECEIVED].isoformat(), "source_system": story.source,
            "lines": [
                {"line_number": line.number, "sku": line.product.sku, "quantity_ordered": line.quantity,
                 "unit_price": cents(line.cents), "drop_ship": line.drop_ship}
                for line in story.lines
            ],
        }
        previous = emit.event("order.created", "order", order_id, {"order": created},
                              story.times[S.RECEIVED], source=story.source)
        story.event_ids[S.RECEIVED] = previous
        for before, step in zip(story.path, story.path[1:], strict=False):
            payload = {"order": head, "from": STATUS_TEXT[before], "to": STATUS_TEXT[step]}
            source, actor = SOURCE_FOR_STEP.get(step), None
            if step == S.CREDIT_HOLD:
                payload = self._hold_payload(story, before)
            elif step == S.RELEASED:
                actor = "user:finance"
            elif step == S.CANCELLED:
                payload["reason"] = story.rng.choice(names.CANCEL_REASONS)
                source, actor = ("erp", None) if story.rng.chance(0.5) else (None, "user:ops")
            previous = emit.event(
                EVENT_FOR_STEP.get(step, "order.status_changed"), "order", order_id, payload, story.times[step],
                source=source, actor=actor, causation=previous,
            )
            story.event_ids[step] = previous

    def _hold_payload(self, story: Story, before: str) -> dict:
        """The order.credit_hold payload as the credit check writes it (hub.workflows.orders): the reason
        and the credit account's standing when the order came in, which made the check hold it.

        The figures are the account's then, not now: an over-the-limit hold had enough open orders and
        invoices that this order took it over (some have been paid since, which is why finance may
        release it). Drawn from a generator of their own, so the story's other draws stay as they were.
        """
        buyer = story.buyer
        rng = DemoRandom.for_part(self.seed, self.origin.key, "credit-hold", story.number)
        limit = buyer.credit_limit_cents
        if buyer.credit_on_hold:
            reason = "account_on_hold"
            exposure = int(limit * rng.uniform(0.2, 0.9))
        else:
            reason = "over_credit_limit"
            exposure = max(limit - story.total, 0) + max(int(story.total * rng.uniform(0.05, 0.4)), 1)
        open_invoices = int(exposure * rng.uniform(0.4, 0.8))
        return {
            "order_id": story.order_id, "number": story.number, "from": STATUS_TEXT[before],
            "to": STATUS_TEXT[S.CREDIT_HOLD], "reason": reason,
            "credit": {
                "credit_account": buyer.credit_account, "currency": "USD", "limit": cents(limit),
                "exposure": cents(exposure), "open_orders": cents(exposure - open_invoices),
                "open_invoices": cents(open_invoices), "available": cents(limit - exposure),
                "credit_status": buyer.credit_account_status, "on_hold": buyer.credit_on_hold,
            },
            "order_value": cents(story.total),
        }


def _weighted(buyers: list[Buyer]) -> WeightedChoice:
    return WeightedChoice({buyer: buyer.weight for buyer in buyers})
