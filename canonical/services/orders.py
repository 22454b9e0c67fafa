"""Writes to orders: the system of record's upsert, status changes through ORDER_TRANSITIONS,
and the roll-up of shipped quantities from shipments."""

from __future__ import annotations

from decimal import Decimal

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation, CanonicalError
from canonical.models import (
    ORDER_TRANSITIONS,
    Domain,
    EntityType,
    ExternalRef,
    InvoiceLine,
    Order,
    OrderLine,
    OrderStatus,
    ReturnLine,
    ShipmentLine,
    System,
)
from canonical.models.base import line_amount_over_max, money_over_max
from canonical.services.events import event_record
from canonical.services.inserts import row_update
from canonical.services.refs import (
    UpsertResult,
    changed_fields,
    external_ref_bind,
    external_ref_find,
    system_of_record_assert,
)

# Statuses that have an event of their own besides order.status_changed.
STATUS_EVENTS = {
    OrderStatus.CANCELLED: "order.cancelled",
    OrderStatus.CREDIT_HOLD: "order.credit_hold",
    OrderStatus.RELEASED: "order.credit_hold_released",
}
_LINE_FIELDS = ("quantity_ordered", "unit_price", "requested_date", "promised_date")
_KEPT_QUANTITIES = ("quantity_allocated", "quantity_backordered", "quantity_shipped", "quantity_invoiced")
_CENT = Decimal("0.01")


class DuplicateReference(CanonicalError):
    slug = "duplicate-reference"
    title = "Already known under another id"


def line_problem(detail: str, pointer: str) -> BusinessRuleViolation:
    """A business-rule refusal that points at the field of the request body it concerns."""
    return BusinessRuleViolation(
        detail, errors=[{"pointer": pointer, "field": pointer.rsplit("/", 1)[-1], "messages": [detail]}]
    )


def document_find(*, model: type[models.Model], system: System, entity_type: str, external_id: str, number: str):
    """The record ``system`` knows as ``external_id``, else the one with that ``number``, locked; or None.

    A record found by number is linked to the new external id, unless ``system`` already
    knows it by another id: one system, one id per record.
    """
    record = external_ref_find(system=system, entity_type=entity_type, external_id=external_id, model=model, lock=True)
    if record is not None:
        return record
    record = model._default_manager.select_for_update().filter(number=number).first()
    if record is not None:
        known = (
            ExternalRef.objects.filter(system=system, entity_type=entity_type, object_id=record.pk)
            .values_list("external_id", flat=True)
            .first()
        )
        if known is not None and known != external_id:
            raise DuplicateReference(
                f"{model._meta.verbose_name.capitalize()} number '{number}' is already known to '{system.code}' "
                f"as '{known}'.",
                number=number,
                external_id=known,
            )
    return record


def number_taken_refuse(record: models.Model, number: str) -> None:
    """Refuse renumbering a record to a number another record of its kind carries."""
    if number != record.number and type(record)._default_manager.filter(number=number).exists():
        raise DuplicateReference(
            f"Number '{number}' belongs to another {record._meta.verbose_name}.", number=number
        )


def order_payload(order: Order) -> dict:
    from canonical.serializers.orders import OrderSerializer, order_queryset

    return OrderSerializer(order_queryset().get(pk=order.pk)).data


def order_status_change(*, order: Order, status: str, actor: Actor, reason: str = "") -> bool:
    """Move a locked ``order`` to ``status`` if ORDER_TRANSITIONS allows it; False when it already is there."""
    if status == order.status:
        return False
    ORDER_TRANSITIONS.check(order.status, status)
    # No savepoint: the refusal is raised above, before anything is written; inside a caller's
    # transaction a savepoint would cost two round trips on every order's path for nothing.
    with transaction.atomic(savepoint=False):
        previous, order.status = order.status, status
        if order._state.adding:  # being placed (order_entry.order_place): its INSERT, still to come, writes it
            order.updated_at = timezone.now()
        else:
            row_update(order, ["status", "updated_at"], deferrable=True)  # see writes_batched
        payload = {"order_id": order.pk, "number": order.number, "from": previous, "to": status}
        if reason:
            payload["reason"] = reason
        for event_type in ("order.status_changed", STATUS_EVENTS.get(status)):
            if event_type:
                event_record(
                    event_type=event_type, aggregate_type="order", aggregate_id=order.pk, payload=payload, actor=actor
                )
    return True


def order_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the order ``system`` knows as ``external_id``, with its lines.

    Only the orders' system of record may write. A new order may have any status; a change of
    status must be allowed by ORDER_TRANSITIONS. Lines are matched by line number; lines left
    out are removed unless goods already moved against them. The total is computed from the lines.
    """
    system_of_record_assert(system=system, domain=Domain.ORDERS)
    data = dict(data)
    lines = data.pop("lines")
    status = data.pop("status")
    line_amounts_assert(lines, quantity="quantity_ordered", total="The order's total")
    header = {
        "number": data["number"],
        "customer_id": data["customer"].pk,
        "ship_to_id": data["ship_to"].pk,
        "bill_to_id": data["bill_to"].pk,
        **{name: data[name] for name in ("currency", "customer_po", "placed_at", "requested_date", "promised_date")},
    }
    with transaction.atomic():
        order = document_find(
            model=Order, system=system, entity_type=EntityType.ORDER, external_id=external_id, number=header["number"]
        )
        if order is None:
            order = Order(
                **header, status=status, source_system=system, correlation_id=actor.correlation_id
            )
            order.save()
            _lines_apply(order=order, lines=lines, current={})
            order.total_amount = _total(order)
            order.save(update_fields=["total_amount"])
            external_ref_bind(system=system, entity_type=EntityType.ORDER, external_id=external_id, object_id=order.pk)
            event_record(
                event_type="order.created", aggregate_type="order", aggregate_id=order.pk,
                payload={"order": order_payload(order)}, actor=actor,
            )
            return UpsertResult(instance=order, created=True)

        if status != order.status:
            ORDER_TRANSITIONS.check(order.status, status)  # refuse before anything is written
        number_taken_refuse(order, header["number"])
        changes = {_public(name): change for name, change in changed_fields(order, header).items()}
        current = {line.line_number: line for line in order.lines.select_for_update().order_by("line_number")}
        changed_lines = _lines_apply(order=order, lines=lines, current=current)
        if changed_lines:
            changes["lines"] = changed_lines
            total = _total(order)
            if total != order.total_amount:
                changes["total_amount"] = [str(order.total_amount), str(total)]
                order.total_amount = total
        if changes:
            order.save()
        external_ref_bind(system=system, entity_type=EntityType.ORDER, external_id=external_id, object_id=order.pk)
        if changes:
            event_record(
                event_type="order.updated", aggregate_type="order", aggregate_id=order.pk,
                payload={"order": order_payload(order), "changed": sorted(changes)}, actor=actor,
            )
        previous = order.status
        # A cancel gives back what the order held, as the hub's own cancel does.
        from canonical.services.cancellation import order_status_set  # it builds on this module

        if order_status_set(order=order, status=status, system=system, actor=actor):
            changes["status"] = [previous, status]
    return UpsertResult(instance=order, created=False, changes=changes)


def _public(name: str) -> str:
    return name.removesuffix("_id")


def line_amounts_assert(lines: list[dict], *, quantity: str, total: str) -> None:
    """Refuse, before any write, lines (``quantity`` × ``unit_price``) whose amount, or whose sum
    (``total``: what the document calls it), no money field can hold."""
    amounts = []
    for index, item in enumerate(lines):
        if too_large := line_amount_over_max(item[quantity], item["unit_price"]):
            raise line_problem(too_large, f"/lines/{index}/{quantity}")
        amounts.append((item[quantity] * item["unit_price"]).quantize(_CENT))
    if too_large := money_over_max(sum(amounts, Decimal("0.00")), total):
        raise line_problem(too_large, "/lines")


def _total(order: Order) -> Decimal:
    return sum(
        ((line.quantity_ordered * line.unit_price).quantize(_CENT) for line in order.lines.all()), Decimal("0.00")
    )


def _lines_apply(*, order: Order, lines: list[dict], current: dict[int, OrderLine]) -> list[int]:
    """Make the order's lines match ``lines``; returns the numbers of the lines added, changed or removed."""
    wanted = {item["line_number"] for item in lines}
    removed = [line for number, line in current.items() if number not in wanted]
    _refuse_removing_moved_lines(order=order, lines=removed)
    new_lines: list[OrderLine] = []
    changed: list[OrderLine] = []
    for index, item in enumerate(lines):
        values = {name: item[name] for name in _LINE_FIELDS}
        values["product_id"] = item["sku"].pk
        values["location_id"] = item["location"].pk if item["location"] else None
        values.update({name: item[name] for name in _KEPT_QUANTITIES if name in item})
        line = current.get(item["line_number"])
        if line is None:
            line = OrderLine(order=order, line_number=item["line_number"], **values)
            new_lines.append(line)
        else:
            had_moved = line.quantity_shipped > 0 or line.quantity_invoiced > 0
            previous_product = line.product_id
            if not changed_fields(line, values):
                continue
            if had_moved and line.product_id != previous_product:
                raise line_problem(
                    f"Line {line.line_number} has shipped or invoiced quantities; its SKU cannot change.",
                    f"/lines/{index}/sku",
                )
            changed.append(line)
        _check_line_quantities(line, index)
    if removed:
        OrderLine.objects.filter(pk__in=[line.pk for line in removed]).delete()
    if new_lines:
        OrderLine.objects.bulk_create(new_lines)
    for line in changed:
        line.save()
    return sorted(line.line_number for line in [*removed, *new_lines, *changed])


def _check_line_quantities(line: OrderLine, index: int) -> None:
    if line.quantity_shipped > line.quantity_ordered:
        raise line_problem(
            f"Line {line.line_number}: {line.quantity_shipped} already shipped is more than the "
            f"{line.quantity_ordered} ordered.",
            f"/lines/{index}/quantity_ordered",
        )
    if line.quantity_returned > line.quantity_shipped:
        raise line_problem(
            f"Line {line.line_number}: {line.quantity_returned} returned is more than the "
            f"{line.quantity_shipped} shipped.",
            f"/lines/{index}/quantity_shipped",
        )


def _refuse_removing_moved_lines(*, order: Order, lines: list[OrderLine]) -> None:
    if not lines:
        return
    moved = (
        OrderLine.objects.filter(pk__in=[line.pk for line in lines])
        .filter(
            Q(quantity_shipped__gt=0)
            | Q(quantity_invoiced__gt=0)
            | Exists(ShipmentLine.objects.filter(order_line=OuterRef("pk")))
            | Exists(InvoiceLine.objects.filter(order_line=OuterRef("pk")))
            | Exists(ReturnLine.objects.filter(order_line=OuterRef("pk")))
        )
        .values_list("line_number", flat=True)
    )
    numbers = sorted(moved)
    if numbers:
        raise BusinessRuleViolation(
            f"Order {order.number}: lines {numbers} have shipments, invoices or returns and cannot be removed; "
            "send them again (cancel the order to stop it).",
            line_numbers=numbers,
        )


def _fulfilment_status(lines: list[OrderLine]) -> str | None:
    if lines and all(line.quantity_shipped >= line.quantity_ordered for line in lines):
        return OrderStatus.SHIPPED
    if any(line.quantity_shipped > 0 for line in lines):
        return OrderStatus.PARTIALLY_SHIPPED
    return None


def _fulfilment_status_move(*, order: Order, lines: list[OrderLine], actor: Actor, reason: str) -> bool:
    """Move a locked order to what its lines' shipped quantities say, where ORDER_TRANSITIONS allows it.

    Forward as shipments are reported; back from shipped to partially shipped only when the
    warehouse corrects a shipment down before the order is invoiced, so its status never says
    more left the warehouse than its lines do.
    """
    target = _fulfilment_status(lines)
    if order.status == OrderStatus.SHIPPED and target == OrderStatus.PARTIALLY_SHIPPED:
        reason = "shipped quantities corrected by the warehouse"
    if target and target != order.status and ORDER_TRANSITIONS.can(order.status, target):
        return order_status_change(order=order, status=target, actor=actor, reason=reason)
    return False


def order_fulfilment_status_catch_up(*, order: Order, actor: Actor) -> bool:
    """Move a locked order on to partially shipped or shipped if its lines have shipped while its
    status did not allow the move (the warehouse shipped a backordered order before the ERP
    acknowledged it); whether it moved. Call after a status change that may allow it now."""
    return _fulfilment_status_move(order=order, lines=list(order.lines.all()), actor=actor,
                                   reason="shipments reported before the order could move on")


def order_shipped_quantities_sync(
    *, order: Order, actor: Actor, pointers: dict[int, str] | None = None
) -> list[int]:
    """Recompute a locked order's shipped quantities from all its shipments, then move its status.

    The status moves to partially_shipped or shipped only where ORDER_TRANSITIONS allows it from
    the current status (an order still on credit hold keeps its status). ``pointers`` maps order
    line ids to the request-body pointer to name when a line would be over-shipped.
    Returns the numbers of the lines whose shipped quantity changed.
    """
    pointers = pointers or {}
    with transaction.atomic():
        totals = dict(
            ShipmentLine.objects.filter(order_line__order=order)
            .values("order_line")
            .annotate(total=Sum("quantity"))
            .values_list("order_line", "total")
        )
        lines = list(order.lines.select_for_update().order_by("line_number"))
        changed = []
        for line in lines:
            shipped = totals.get(line.pk) or Decimal("0")
            pointer = pointers.get(line.pk, "/lines")
            if shipped > line.quantity_ordered:
                raise line_problem(
                    f"Order {order.number} line {line.line_number}: shipments would carry {shipped} "
                    f"but only {line.quantity_ordered} is ordered.",
                    pointer,
                )
            if shipped < line.quantity_returned:
                raise line_problem(
                    f"Order {order.number} line {line.line_number}: {line.quantity_returned} is already "
                    f"returned, more than the {shipped} the shipments would carry.",
                    pointer,
                )
            if shipped != line.quantity_shipped:
                line.quantity_shipped = shipped
                changed.append(line)
        if changed:
            for line in changed:
                line.save(update_fields=["quantity_shipped", "updated_at"])
            order.save(update_fields=["updated_at"])
            event_record(
                event_type="order.updated", aggregate_type="order", aggregate_id=order.pk,
                payload={"order": order_payload(order), "changed": ["lines"],
                         "lines": [line.line_number for line in changed]},
                actor=actor,
            )
        _fulfilment_status_move(order=order, lines=lines, actor=actor, reason="shipments")
    return [line.line_number for line in changed]
