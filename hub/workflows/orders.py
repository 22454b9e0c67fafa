"""Order submission, resumption and cancellation: the order-to-cash flow across the hub's parts.

``order_submit`` (POST /api/v1/orders) checks and prices the request, decides credit, and
either holds the order for finance or resumes it at once:

1. the credit account (the root of the customer's hierarchy) is row-locked, so two orders of
   one account are decided one after the other and cannot both fit under the same limit;
2. an order that would take exposure (open orders + open invoices) over the limit, or whose
   account is on credit hold, is placed on ``credit_hold`` (``order.created`` then
   ``order.credit_hold``) and a finance exception is opened with the figures;
3. otherwise it is placed ``validated`` (``order.created``, which the ERP's subscription hands
   to the ERP) and resumed.

``order_resume`` (also called when finance releases a hold) reserves stock per line under row
locks (canonical.services.allocation), raises purchase orders for what is short and for
drop-ship lines (canonical.services.procurement; a product with no known supplier opens an
operations exception instead), and writes ``order.fulfilment_requested`` with what was reserved
where: the warehouse's instruction, delivered by the WMS subscription to ``order.*``.

``order_cancel`` gives back reservations, withdraws the purchase orders the supplier has not
acknowledged, and cancels the order through ORDER_TRANSITIONS (``order.cancelled``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction

from canonical.context import Actor
from canonical.models import (
    ORDER_TRANSITIONS,
    Address,
    AddressKind,
    Customer,
    InventoryPosition,
    Location,
    LocationKind,
    Order,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderKind,
    System,
)
from canonical.services.allocation import (
    AllocationResult,
    LockedPositions,
    order_allocate,
    quantity_text,
    stocked_positions_read,
)
from canonical.services.cancellation import order_cancel_apply
from canonical.services.credit import (
    CreditStanding,
    credit_account_lock_read,
    credit_chain,
    credit_standing_read,
)
from canonical.services.events import event_record
from canonical.services.inserts import writes_batched
from canonical.services.order_entry import (
    CheckedOrder,
    CheckScope,
    order_ids_read,
    order_place,
    order_representation,
)
from canonical.services.orders import order_upsert
from canonical.services.prepared import Read, reads_together
from canonical.services.procurement import (
    PurchaseOrdersWithdrawal,
    SupplyNeed,
    purchase_orders_raise,
    suppliers_for,
)
from canonical.services.refs import UpsertResult
from canonical.state import IllegalTransition
from connectors.models import Category, IntegrationException, Severity, Team
from connectors.services.exceptions import (
    credit_hold_exceptions_resolve,
    credit_hold_exceptions_resolve_cancelled,
    exception_raise,
)


@dataclass
class OrderResumption:
    allocation: AllocationResult
    purchase_orders: list[PurchaseOrder] = field(default_factory=list)


@dataclass
class OrderSubmission:
    order: Order
    credit: CreditStanding
    credit_hold_reason: str = ""
    credit_exception: IntegrationException | None = None
    resumption: OrderResumption | None = None
    lines: list = field(default_factory=list)  # the order's lines as they are now (product, location loaded)
    external_refs: list[dict] = field(default_factory=list)

    @property
    def on_credit_hold(self) -> bool:
        return bool(self.credit_hold_reason)

    def representation(self) -> dict:
        """The order as the order API shows it, without reading it again."""
        return order_representation(self.order, self.lines, self.external_refs)


# Why an order is held (order.credit_hold's "reason", the finance exception's, the order API's credit_hold).
HOLD_ACCOUNT_ON_HOLD = "account_on_hold"
HOLD_OVER_LIMIT = "over_credit_limit"
HOLD_REASONS = (HOLD_ACCOUNT_ON_HOLD, HOLD_OVER_LIMIT)


def credit_hold_reason(standing: CreditStanding, order_value: Decimal) -> str:
    if standing.on_hold:
        return HOLD_ACCOUNT_ON_HOLD
    if standing.would_exceed(order_value):
        return HOLD_OVER_LIMIT
    return ""


def order_submit(
    *, checked: CheckedOrder, source_system, actor: Actor, external_id: str = ""
) -> OrderSubmission:
    """Place a checked order (canonical.services.order_entry.order_request_check) and carry it on."""
    # The allocation's writes and the order's events (created, allocated, status changed,
    # fulfilment requested) go to the database together at the end (canonical.services.inserts).
    with transaction.atomic(savepoint=False), writes_batched():
        stocked = frozenset(line.product.pk for line in checked.lines if not line.product.drop_ship)
        # Read with the check's products and prices (order_submit_reads), or here.
        _, standing, ids, ship_to_address, positions = checked.carried or reads_together(*order_submit_reads(
            CheckScope(customer=checked.customer, ship_to=checked.ship_to,
                       chain=checked.chain or credit_chain(checked.customer),
                       skus=[line.product.sku for line in checked.lines], line_count=len(checked.lines))))
        reason = credit_hold_reason(standing, checked.total)
        status = OrderStatus.CREDIT_HOLD if reason else OrderStatus.VALIDATED
        placement = order_place(checked=checked, status=status, source_system=source_system, actor=actor,
                                external_id=external_id, ids=ids)
        order = placement.order
        submission = OrderSubmission(order=order, credit=standing, credit_hold_reason=reason, lines=placement.lines,
                                     external_refs=placement.external_refs)
        if reason:
            submission.credit_exception = _credit_hold_open(order=order, standing=standing, reason=reason,
                                                            actor=actor)
        else:
            submission.resumption = order_resume(order=order, actor=actor, created_lines=placement.lines,
                                                 ship_to_address=ship_to_address,
                                                 locked=LockedPositions(stocked, positions))
            submission.lines = submission.resumption.allocation.order_lines
    return submission


def order_submit_reads(scope: CheckScope) -> tuple[Read, ...]:
    """The credit decision's reads, sent with the check's products and prices (in one round trip):
    ``order_request_check(..., reads_with=order_submit_reads)`` then ``order_submit``."""
    # Serialise credit decisions per account: the second order sees the first one's exposure.
    # The lock, the exposure read after it, the order's ids, the address the warehouse ships to
    # and the stock lines' positions (locked after the account, as allocation locks them) go to
    # the database in one round trip. A held order does not need the positions: their locks then
    # end with its transaction, a few statements later.
    return (credit_account_lock_read(scope.chain[-1]), credit_standing_read(scope.chain),
            order_ids_read(scope.line_count), _ship_to_address_read(scope.ship_to),
            stocked_positions_read(scope.skus))


def _credit_hold_open(*, order: Order, standing: CreditStanding, reason: str, actor: Actor) -> IntegrationException:
    event_record(
        event_type="order.credit_hold", aggregate_type="order", aggregate_id=order.pk, actor=actor,
        payload={"order_id": order.pk, "number": order.number, "from": OrderStatus.VALIDATED,
                 "to": OrderStatus.CREDIT_HOLD, "reason": reason, "credit": standing.as_dict(),
                 "order_value": str(order.total_amount)},
    )
    return credit_hold_exception_open(order=order, standing=standing, reason=reason, actor=actor)


def credit_hold_exception_open(
    *, order: Order, standing: CreditStanding, reason: str, actor: Actor
) -> IntegrationException:
    """The finance exception of a held order: ``standing`` is the account's when the order was held.

    Its fingerprint and context are what credit_hold_release / credit_hold_reject and the order's
    cancellation resolve it by.
    """
    value = order.total_amount
    after = standing.exposure + value
    facts = {
        "customer": order.customer.account_number,
        "customer_id": order.customer_id,
        "credit_account_id": standing.credit_account_id,
        "order": order.number,
        "order_id": order.pk,
        "order_value": str(value),
        "currency": standing.currency,
        "limit": str(standing.limit),
        "exposure": str(standing.exposure),
        "open_orders": str(standing.open_orders),
        "open_invoices": str(standing.open_invoices),
        "exposure_with_order": str(after),
        "available": str(standing.available),
        "credit_status": standing.credit_status,
        "reason": reason,
    }
    if reason == HOLD_ACCOUNT_ON_HOLD:
        title = f"Order {order.number} held: account {order.customer.account_number} is on credit hold"
        detail = (f"The account (or its credit account) is on credit hold. Order value {value} {standing.currency}; "
                  f"exposure {standing.exposure} against a limit of {standing.limit}.")
    else:
        title = f"Order {order.number} held: {after} {standing.currency} would exceed the limit of {standing.limit}"
        detail = (f"Exposure {standing.exposure} (open orders {standing.open_orders}, open invoices "
                  f"{standing.open_invoices}) plus this order's {value} is {after}, over the credit limit of "
                  f"{standing.limit} {standing.currency} for account {order.customer.account_number}.")
    return exception_raise(
        category=Category.CREDIT_HOLD, team=Team.FINANCE, severity=Severity.MEDIUM, title=title, detail=detail,
        fingerprint=f"credit_hold:order:{order.pk}", actor=actor, context=facts,
        workflow_step="order_submit.credit_check", customer=order.customer, order=order,
    )


_UNREAD = object()


def order_resume(
    *, order: Order, actor: Actor, created_lines: list | None = None, ship_to_address=_UNREAD,
    locked: LockedPositions | None = None,
) -> OrderResumption:
    """Carry a validated or released order on: reserve, order what is short, instruct the warehouse.

    Safe to call again on an allocated or backordered order (backorders are topped up; quantities
    already on a purchase order are not ordered twice). ``created_lines``: see order_allocate.
    ``ship_to_address``: the order's ship-to address (_ship_to_address_read's answer) when the
    caller has read it in this transaction; read here otherwise. ``locked``: see order_allocate.
    """
    with transaction.atomic(savepoint=False):
        allocation = order_allocate(order=order, actor=actor, created_lines=created_lines, locked=locked)
        order = allocation.order
        lines = {line.line_number: line for line in allocation.order_lines}
        needs = []
        receiving = _receiving_locations(
            {lines[r.line_number].product_id for r in allocation.lines
             if not r.drop_ship and r.backordered > 0 and lines[r.line_number].location_id is None}
        )
        for result in allocation.lines:
            line = lines[result.line_number]
            if result.drop_ship:
                needs.append(SupplyNeed(line=line, quantity=line.quantity_ordered - line.quantity_shipped,
                                        kind=PurchaseOrderKind.DROP_SHIP, location=None,
                                        needed_by=line.requested_date or line.promised_date))
            elif result.backordered > 0:
                needs.append(SupplyNeed(line=line, quantity=result.backordered, kind=PurchaseOrderKind.REPLENISHMENT,
                                        location=line.location or receiving[line.product_id],
                                        needed_by=line.requested_date or line.promised_date))
        resumption = OrderResumption(allocation=allocation)
        if needs:
            sources = suppliers_for(need.line.product for need in needs)
            resumption.purchase_orders = purchase_orders_raise(order=order, needs=needs, sources=sources,
                                                               actor=actor)
            unsourced = [need for need in needs if need.line.product_id not in sources]
            if unsourced:
                _unsourced_open(order=order, needs=unsourced, actor=actor)
        if any(line.reserved_now for line in allocation.lines):
            if ship_to_address is _UNREAD:
                ship_to_address = reads_together(_ship_to_address_read(order.ship_to))[0]
            _fulfilment_request(order=order, allocation=allocation, address=ship_to_address, actor=actor)
    return resumption


def _receiving_locations(product_ids: set[int]) -> dict[int, Location | None]:
    """Where replenishment is received for lines with nothing reserved: each product's first warehouse.

    A product stocked at no active warehouse is received at the first one by code (None: there
    is none). Two queries at most, whatever the number of lines.
    """
    if not product_ids:
        return {}
    found: dict[int, Location | None] = {}
    positions = (
        InventoryPosition.objects.filter(product_id__in=product_ids, location__is_active=True,
                                         location__kind=LocationKind.WAREHOUSE)
        .select_related("location").order_by("id")
    )
    for position in positions:
        found.setdefault(position.product_id, position.location)
    if len(found) < len(product_ids):
        fallback = Location.objects.filter(is_active=True, kind=LocationKind.WAREHOUSE).order_by("code").first()
        for product_id in product_ids - found.keys():
            found[product_id] = fallback
    return found


def _unsourced_open(*, order: Order, needs: list[SupplyNeed], actor: Actor) -> IntegrationException:
    items = [{"line_number": need.line.line_number, "sku": need.line.product.sku,
              "quantity": quantity_text(need.quantity), "kind": need.kind} for need in needs]
    skus = ", ".join(item["sku"] for item in items)
    return exception_raise(
        category=Category.INVENTORY_SHORTAGE, team=Team.OPERATIONS, severity=Severity.HIGH,
        title=f"Order {order.number}: no supplier known for {skus}",
        detail="No supplier knows these products (no supplier catalogue reference, no earlier purchase order), "
        "so the hub could not order what is short or drop-shipped. Raise the purchase order in the ERP, or record "
        "the supplier's item reference, and re-run the allocation.",
        fingerprint=f"order_shortage_unsourced:order:{order.pk}", actor=actor,
        context={"order": order.number, "order_id": order.pk, "customer": order.customer.account_number,
                 "lines": items},
        workflow_step="order_resume.purchase_orders", customer=order.customer, order=order,
    )


_ADDRESS_COLUMNS = ("line1", "line2", "city", "region", "postal_code", "country")


@functools.cache
def _ship_to_address_sql() -> str:
    quote = connection.ops.quote_name
    return (f"SELECT {', '.join(quote(c) for c in _ADDRESS_COLUMNS)} FROM {quote(Address._meta.db_table)} "
            "WHERE customer_id = %s AND kind = %s ORDER BY CASE WHEN is_default THEN 0 ELSE 1 END, id LIMIT 1")


def _ship_to_address_read(customer: Customer) -> Read:
    """The account's default shipping address (else its first, else None), for the warehouse's instruction."""
    return Read(_ship_to_address_sql(), [customer.pk, AddressKind.SHIPPING.value], (None,) * len(_ADDRESS_COLUMNS),
                answer=lambda rows: dict(zip(_ADDRESS_COLUMNS, rows[0], strict=True)) if rows else None)


def _fulfilment_request(
    *, order: Order, allocation: AllocationResult, address: dict | None, actor: Actor
) -> None:
    by_location: dict[str, list[dict]] = {}
    for line in allocation.lines:
        for location, quantity in line.reserved_now:
            by_location.setdefault(location, []).append(
                {"line_number": line.line_number, "sku": line.sku, "quantity": quantity_text(quantity)}
            )
    ship_to = order.ship_to
    event_record(
        event_type="order.fulfilment_requested", aggregate_type="order", aggregate_id=order.pk, actor=actor,
        payload={
            "order_id": order.pk, "number": order.number, "status": order.status,
            "customer": order.customer_id,
            "ship_to": {"id": ship_to.pk, "account_number": ship_to.account_number, "name": ship_to.name,
                        "address": address},
            "requested_date": order.requested_date.isoformat() if order.requested_date else None,
            "promised_date": order.promised_date.isoformat() if order.promised_date else None,
            "pick": [{"location": code, "lines": lines} for code, lines in sorted(by_location.items())],
        },
    )


@dataclass
class OrderCancellation:
    order: Order
    changed: bool
    reservations_released: int
    purchase_orders: PurchaseOrdersWithdrawal
    # The order's credit-hold exceptions the cancellation resolved (finance has nothing left to decide).
    exceptions_resolved: list[int] = field(default_factory=list)


def order_cancel(*, order: Order, actor: Actor, reason: str = "", resolution_note: str = "") -> OrderCancellation:
    """Cancel an order: release its stock, withdraw unacknowledged POs, move it to cancelled, and
    resolve its open credit-hold exceptions (a cancelled order leaves finance nothing to decide)
    with ``resolution_note`` (by default, the reason).

    Cancelling a cancelled order changes nothing. From a status ORDER_TRANSITIONS does not allow
    (partially shipped, shipped, invoiced, closed) it raises IllegalTransition before any write.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).order_by().get(pk=order.pk)
        if order.status == OrderStatus.CANCELLED:
            return OrderCancellation(order, False, 0, PurchaseOrdersWithdrawal([], []))
        if ORDER_TRANSITIONS.can(order.status, OrderStatus.CANCELLED):
            return _cancel_locked(order=order, actor=actor, reason=reason, resolution_note=resolution_note)
    # Refused after the block, which wrote nothing: a caller that catches it keeps its transaction.
    raise IllegalTransition(
        ORDER_TRANSITIONS.machine, order.status, OrderStatus.CANCELLED, ORDER_TRANSITIONS.allowed_from(order.status)
    )


def order_record_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """The orders' system of record writing an order (``PUT /api/v1/systems/{system}/orders/{id}``).

    canonical's order_upsert, which gives back what a cancelled order held; when the write cancels
    the order, its open credit-hold exceptions are resolved too, in the same transaction, as the
    ERP's ``order.status`` message does: finance has nothing left to decide.
    """
    with transaction.atomic():
        result = order_upsert(system=system, external_id=external_id, data=data, actor=actor)
        if result.changes.get("status", [None, None])[1] == OrderStatus.CANCELLED:
            credit_hold_exceptions_resolve_cancelled(order=result.instance, system=system, actor=actor)
    return result


def _cancel_locked(*, order: Order, actor: Actor, reason: str, resolution_note: str) -> OrderCancellation:
    reason = reason or "cancelled by request"
    cancelled = order_cancel_apply(order=order, actor=actor, reason=reason)
    resolved = credit_hold_exceptions_resolve(order=order, actor=actor,
                                              note=resolution_note or f"Order {order.number} cancelled: {reason}")
    return OrderCancellation(order, True, cancelled.reservations_released, cancelled.purchase_orders, resolved)


