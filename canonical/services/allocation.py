"""Reserving stock for orders: allocate what is on hand, backorder the rest, release on cancel.

Concurrency: allocation locks the inventory positions of every product on the order with
``SELECT ... FOR UPDATE``, in id order, before reading what is available. Two orders that
compete for the same units serialise on those rows (one waits for the other to commit and
then sees what is left), so the last unit is taken once; locking in one global order means
two orders that share several products cannot deadlock. The positions' check constraints
(reserved ≤ on hand) back this up in the database.

Where stock comes from, per line (drop-ship lines take no stock: the supplier ships them):

* a line that names a location reserves only there;
* otherwise the single active warehouse or store that can cover the whole line, the one with
  the most available first (one shipment per line); failing that, what each location has, the
  most available first (the line is split over reservations at several locations), and the
  rest is backordered.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import (
    ORDER_TRANSITIONS,
    InventoryPosition,
    Location,
    LocationKind,
    Order,
    OrderLine,
    OrderStatus,
    Reservation,
    ReservationStatus,
)
from canonical.services.catalog import products_of_skus
from canonical.services.events import event_record
from canonical.services.inserts import rows_insert, rows_update
from canonical.services.orders import order_status_change
from canonical.services.prepared import Read, fields_but_timestamps, in_list, instance_from_db, reads_together

_ZERO = Decimal("0")
_MILLI = Decimal("0.001")


def quantity_text(value: Decimal) -> str:
    """A quantity as the API writes it: three decimals."""
    return str(Decimal(value).quantize(_MILLI))

# The statuses an allocation run may start from; backordered and allocated orders are topped up.
ALLOCATABLE_STATUSES = frozenset(
    {OrderStatus.VALIDATED, OrderStatus.RELEASED, OrderStatus.BACKORDERED, OrderStatus.ALLOCATED}
)
STOCK_LOCATION_KINDS = (LocationKind.WAREHOUSE, LocationKind.STORE)


@dataclass
class LineAllocation:
    line_number: int
    sku: str
    ordered: Decimal
    allocated: Decimal  # in total, after this run
    backordered: Decimal
    reserved_now: list[tuple[str, Decimal]] = field(default_factory=list)  # (location code, quantity)
    drop_ship: bool = False

    def as_dict(self) -> dict:
        return {
            "line_number": self.line_number,
            "sku": self.sku,
            "quantity_ordered": quantity_text(self.ordered),
            "quantity_allocated": quantity_text(self.allocated),
            "quantity_backordered": quantity_text(self.backordered),
            "reserved": [{"location": code, "quantity": quantity_text(qty)} for code, qty in self.reserved_now],
            "drop_ship": self.drop_ship,
        }


@dataclass
class AllocationResult:
    """What one allocation run did to an order."""

    order: Order
    lines: list[LineAllocation]
    status: str
    changed: bool
    order_lines: list[OrderLine] = field(default_factory=list)  # as they are now, product and location loaded

    @property
    def allocated(self) -> Decimal:
        return sum((line.allocated for line in self.lines), _ZERO)

    @property
    def backordered(self) -> Decimal:
        return sum((line.backordered for line in self.lines), _ZERO)

    @property
    def short_lines(self) -> list[LineAllocation]:
        return [line for line in self.lines if line.backordered > 0]

    @property
    def fully_allocated(self) -> bool:
        return not self.short_lines


def _lock_order(order: Order) -> Order:
    """Lock ``order``'s row and bring the caller's instance up to date with it (one query)."""
    order.refresh_from_db(
        from_queryset=Order.objects.select_for_update(of=("self",)).select_related("customer", "ship_to", "source_system").order_by()
    )
    return order


@functools.cache
def _locked_positions_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    position, location = quote(InventoryPosition._meta.db_table), quote(Location._meta.db_table)
    columns = ", ".join([*(f"p.{quote(f.column)}" for f in _POSITION_FIELDS),
                         *(f"l.{quote(f.column)}" for f in _LOCATION_FIELDS)])
    lock = " FOR UPDATE OF p" if vendor == "postgresql" else ""  # SQLite: the transaction holds the database
    return (f"SELECT {columns} FROM {position} p INNER JOIN {location} l ON l.id = p.location_id "
            f"WHERE {stock_location_sql(vendor)} AND {{products}} ORDER BY p.id{lock}")


def stock_location_sql(vendor: str, alias: str = "l") -> str:
    """The condition "an active warehouse or store" on the location table under ``alias``, as SQL."""
    kinds = ", ".join(f"'{kind}'" for kind in STOCK_LOCATION_KINDS)
    active = f"{alias}.is_active" if vendor == "postgresql" else f"{alias}.is_active = 1"
    return f"{active} AND {alias}.kind IN ({kinds})"


# What allocation reads of a position and its location. The rest (timestamps above all, whose
# parsing cost more than the statement) is left deferred: the ORM loads it if anything asks.
_POSITION_FIELDS = tuple(InventoryPosition._meta.get_field(name)
                         for name in ("id", "product", "location", "on_hand", "reserved"))
_LOCATION_FIELDS = fields_but_timestamps(Location)


@dataclass(frozen=True)
class LockedPositions:
    """Positions of some products at active stock locations, row-locked: locked_positions_read's answer."""

    product_ids: frozenset[int]
    by_product: dict[int, list[InventoryPosition]]


def locked_positions_read(product_ids: set[int]) -> Read:
    """The statement that row-locks the products' positions at active stock locations, in id order (no deadlocks).

    One prepared statement, positions and their locations together; for reads_together (an order
    submission sends it with its credit decision's statements) or order_allocate.
    """
    products, params = in_list("p.product_id", sorted(product_ids))
    sql = _locked_positions_sql(connection.vendor).format(products=products)
    return Read(sql, params, _POSITION_FIELDS + _LOCATION_FIELDS,
                answer=lambda rows: LockedPositions(frozenset(product_ids), _positions_of(rows)))


def stocked_positions_read(skus: list[str]) -> Read:
    """locked_positions_read for the products with these SKUs that are not drop-shipped, found in the
    statement itself: for reads that go before the products are read (an order's credit decision's,
    with its check's). It answers the positions by product; LockedPositions names the products."""
    products, params = products_of_skus("p.product_id", skus, stocked_only=True)
    sql = _locked_positions_sql(connection.vendor).format(products=products)
    return Read(sql, params, _POSITION_FIELDS + _LOCATION_FIELDS, answer=_positions_of)


def _positions_of(rows: list[tuple]) -> dict[int, list[InventoryPosition]]:
    db = connection.alias
    names = [f.attname for f in _POSITION_FIELDS]
    location_names = [f.attname for f in _LOCATION_FIELDS]
    locations: dict[int, Location] = {}
    by_product: dict[int, list[InventoryPosition]] = defaultdict(list)
    width = len(_POSITION_FIELDS)
    for row in rows:
        position = instance_from_db(InventoryPosition, db, names, row[:width])
        location = locations.get(position.location_id)
        if location is None:
            location = locations[position.location_id] = instance_from_db(Location, db, location_names, row[width:])
        position.location = location
        by_product[position.product_id].append(position)
    return by_product


def _locked_positions(product_ids: set[int], locked: LockedPositions | None) -> dict[int, list[InventoryPosition]]:
    """The products' positions, row-locked: ``locked`` when it covers them, else read and locked now."""
    if not product_ids:
        return {}
    if locked is not None and product_ids <= locked.product_ids:
        return locked.by_product
    return reads_together(locked_positions_read(product_ids))[0].by_product


def _plan(line: OrderLine, needed: Decimal, positions: list[InventoryPosition]) -> list[tuple[InventoryPosition, Decimal]]:
    """Which positions give how much to ``line`` (see the module docstring)."""
    candidates = [p for p in positions if p.available_to_promise > 0]
    if line.location_id is not None:
        candidates = [p for p in candidates if p.location_id == line.location_id]
    candidates.sort(key=lambda p: (-p.available_to_promise, p.pk))
    whole = [p for p in candidates if p.available_to_promise >= needed]
    if whole:
        return [(whole[0], needed)]
    plan, remaining = [], needed
    for position in candidates:
        if remaining <= 0:
            break
        take = min(remaining, position.available_to_promise)
        plan.append((position, take))
        remaining -= take
    return plan


def order_allocate(
    *, order: Order, actor: Actor, created_lines: list[OrderLine] | None = None, locked: LockedPositions | None = None
) -> AllocationResult:
    """Reserve stock for every line of ``order`` that still needs it; backorder what is not there.

    The order must be validated, released from credit hold, or already allocated/backordered
    (a later run tops up backorders). It ends allocated when every stock line is covered, else
    backordered; the status moves through ORDER_TRANSITIONS. Writes ``order.allocated`` (what
    this run reserved and where, and the lines' totals) when anything changed.

    ``created_lines``: the order and these lines were placed in the caller's transaction (no
    other transaction can see them, so there is nothing to lock or re-read); products loaded.
    When they are not written yet (``order_place``: written as they end up, when the caller's
    writes_batched ends), allocation changes them in memory only.
    ``locked``: the lines' positions, already locked in this transaction (locked_positions_read's
    answer); they are read and locked here otherwise.
    """
    # No savepoint: this runs inside the caller's transaction. A refusal leaves the block normally
    # (nothing was written) and is raised after it, so a caller that catches it can carry on.
    with transaction.atomic(savepoint=False):
        if created_lines is None:
            _lock_order(order)
        if order.status in ALLOCATABLE_STATUSES:
            return _allocate_locked(order=order, actor=actor, lines=created_lines, locked=locked)
    raise BusinessRuleViolation(
        f"Order {order.number} is {order.status}; only validated, released, allocated or backordered "
        "orders can be allocated.",
        order=order.number, status=order.status,
    )


def _allocate_locked(
    *, order: Order, actor: Actor, lines: list[OrderLine] | None, locked: LockedPositions | None
) -> AllocationResult:
    """Allocation proper, on a locked order in an allocatable status."""
    if lines is None:
        lines = list(
            order.lines.select_for_update(of=("self",)).select_related("product", "location").order_by("line_number")
        )
    stock_lines = [line for line in lines if not line.is_drop_ship]
    positions = _locked_positions({line.product_id for line in stock_lines}, locked)
    reservations: list[Reservation] = []
    touched_positions: dict[int, InventoryPosition] = {}
    results: list[LineAllocation] = []
    changed_lines: list[OrderLine] = []
    for line in lines:
        if line.is_drop_ship:
            results.append(LineAllocation(
                line.line_number, line.product.sku, line.quantity_ordered, line.quantity_allocated,
                line.quantity_backordered, drop_ship=True,
            ))
            continue
        needed = max(line.quantity_ordered - line.quantity_shipped - line.quantity_allocated, _ZERO)
        plan = _plan(line, needed, positions.get(line.product_id, [])) if needed > 0 else []
        reserved_now = []
        for position, quantity in plan:
            position.reserved += quantity
            touched_positions[position.pk] = position
            reservations.append(Reservation(order_line=line, position=position, quantity=quantity))
            reserved_now.append((position.location.code, quantity))
        taken = sum((quantity for _, quantity in plan), _ZERO)
        backordered = needed - taken
        if taken or backordered != line.quantity_backordered:
            line.quantity_allocated += taken
            line.quantity_backordered = backordered
            if line.location_id is None and plan:
                line.location = max(plan, key=lambda item: item[1])[0].location
            changed_lines.append(line)
        results.append(LineAllocation(
            line.line_number, line.product.sku, line.quantity_ordered, line.quantity_allocated,
            line.quantity_backordered, reserved_now=reserved_now,
        ))
    now = timezone.now()
    for position in touched_positions.values():
        position.updated_at = now
    # Deferrable: inside an order placement's writes_batched these go in its one statement at the end.
    rows_update(InventoryPosition, touched_positions, ["reserved", "updated_at"], deferrable=True)
    rows_insert(reservations, read_back=False)
    for line in changed_lines:
        line.updated_at = now
    if not order._state.adding:  # an order being placed: its lines' INSERTs, still to come, write them so
        rows_update(OrderLine, {line.pk: line for line in changed_lines},
                    ["quantity_allocated", "quantity_backordered", "location", "updated_at"], deferrable=True)
    short = any(line.backordered > 0 for line in results if not line.drop_ship)
    target = OrderStatus.BACKORDERED if short else OrderStatus.ALLOCATED
    changed = bool(changed_lines)
    moves = order.status != target and ORDER_TRANSITIONS.can(order.status, target)
    if changed:
        if not moves and not order._state.adding:  # a status change saves updated_at anyway
            order.save(update_fields=["updated_at"])
        event_record(
            event_type="order.allocated", aggregate_type="order", aggregate_id=order.pk, actor=actor,
            payload={
                "order_id": order.pk, "number": order.number, "status": target,
                "lines": [line.as_dict() for line in results],
            },
        )
    if moves:
        order_status_change(order=order, status=target, actor=actor, reason="allocation")
    return AllocationResult(order=order, lines=results, status=order.status, changed=changed, order_lines=lines)


def order_reservations_release(*, order: Order, actor: Actor, reason: str = "") -> int:
    """Give back the stock ``order``'s lines still hold; returns how many reservations were released.

    Locks the positions in id order (as allocation does), lowers their ``reserved`` and the lines'
    allocated quantities, and writes ``order.reservations_released``. Does not change the order's
    status: the caller (cancel, reject) does.
    """
    with transaction.atomic(savepoint=False):
        _lock_order(order)
        active = list(
            Reservation.objects.select_for_update(of=("self",))
            .filter(order_line__order=order, status=ReservationStatus.ACTIVE)
            .select_related("position__location", "order_line__product")
            .order_by("position_id", "id")
        )
        if not active:
            return 0
        position_ids = sorted({r.position_id for r in active})
        positions = {
            p.pk: p for p in InventoryPosition.objects.select_for_update(of=("self",))
            .filter(pk__in=position_ids).order_by("id")
        }
        lines = {
            line.pk: line for line in order.lines.select_for_update(of=("self",)).order_by("line_number")
        }
        now = timezone.now()
        released = []
        for reservation in active:
            position = positions[reservation.position_id]
            line = lines[reservation.order_line_id]
            position.reserved = max(position.reserved - reservation.quantity, _ZERO)
            position.updated_at = now
            line.quantity_allocated = max(line.quantity_allocated - reservation.quantity, _ZERO)
            line.updated_at = now
            reservation.status = ReservationStatus.RELEASED
            reservation.updated_at = now
            released.append({
                "line_number": line.line_number, "sku": reservation.order_line.product.sku,
                "location": reservation.position.location.code, "quantity": quantity_text(reservation.quantity),
            })
        rows_update(InventoryPosition, positions, ["reserved", "updated_at"])
        rows_update(OrderLine, lines, ["quantity_allocated", "updated_at"])
        rows_update(Reservation, {reservation.pk: reservation for reservation in active}, ["status", "updated_at"])
        order.save(update_fields=["updated_at"])
        payload = {"order_id": order.pk, "number": order.number, "released": released}
        if reason:
            payload["reason"] = reason
        event_record(
            event_type="order.reservations_released", aggregate_type="order", aggregate_id=order.pk,
            payload=payload, actor=actor,
        )
        return len(active)
