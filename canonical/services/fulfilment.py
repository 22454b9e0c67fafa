"""Writes to shipments: the system of record's upsert and the milestones warehouses and carriers report.

Who may report a milestone: the shipments' system of record (the WMS), for any shipment it
knows by its own external id; and any system of kind *carrier*, only for the shipments it
carries, i.e. whose ``carrier`` is that system's code (case-insensitive). A carrier names the
shipment by an external id it has for it or by the tracking number. A shipment a carrier does
not carry answers exactly like a missing one.

A milestone from the system of record may carry the shipment itself (number, order, lines): the
shipment is then created or brought up to date first, so one warehouse message both creates a
shipment and reports where it is. Shipped quantities roll up into the order lines, move the order
(partially shipped, shipped, invoiced where it already is) and consume the lines' reservations.

Visibility latency: each milestone keeps ``occurred_at`` (the sender's clock), ``received_at`` (when
the partner's message reached the hub) and ``event``, its shipment.milestone event; the first
successful delivery of that event to a subscriber is the third time (hub.selectors.latency).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation, pointers_under
from canonical.models import (
    MILESTONE_RANK,
    Domain,
    EntityType,
    ExternalRef,
    InventoryPosition,
    MilestoneCode,
    Order,
    Reservation,
    ReservationStatus,
    Shipment,
    ShipmentLine,
    ShipmentMilestone,
    System,
    SystemKind,
)
from canonical.services.billing import order_invoiced_advance
from canonical.services.events import event_record
from canonical.services.inserts import row_insert, row_update
from canonical.services.orders import (
    document_find,
    line_problem,
    number_taken_refuse,
    order_shipped_quantities_sync,
)
from canonical.services.refs import (
    UpsertResult,
    changed_fields,
    external_record_lock,
    external_ref_bind,
    system_of_record_assert,
    unknown_reference,
)
from canonical.services.transactions import atomic_begin_carried

_HAPPENED = {
    MilestoneCode.DISPATCHED: ("dispatched_at", "shipment.dispatched"),
    MilestoneCode.DELIVERED: ("delivered_at", "shipment.delivered"),
}


def shipment_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the shipment ``system`` knows as ``external_id``, with its lines and milestones.

    Only the shipments' system of record may write. Line quantities roll up into the order
    lines' shipped quantities, which may move the order to partially shipped or shipped.
    """
    from canonical.serializers.fulfilment import ShipmentSerializer, shipment_queryset

    system_of_record_assert(system=system, domain=Domain.SHIPMENTS)
    data = dict(data)
    lines = data.pop("lines")
    milestones = data.pop("milestones", None) or []
    order = data.pop("order")
    header = {
        "number": data["number"],
        "location_id": data["location"].pk if data["location"] else None,
        "carrier": data["carrier"],
        "tracking_number": data["tracking_number"],
    }
    with transaction.atomic():
        shipment = document_find(
            model=Shipment, system=system, entity_type=EntityType.SHIPMENT, external_id=external_id,
            number=header["number"],
        )
        if shipment is not None and shipment.order_id != order.pk:
            raise line_problem(
                f"Shipment {shipment.number} belongs to another order; a shipment cannot move between orders.",
                "/order",
            )
        order = Order.objects.select_for_update().get(pk=order.pk)
        created = shipment is None
        changes: dict = {}
        if created:
            shipment = Shipment(order=order, **header)
            shipment.save()
        else:
            number_taken_refuse(shipment, header["number"])
            changes = {name.removesuffix("_id"): c for name, c in changed_fields(shipment, header).items()}
        if _lines_apply(shipment=shipment, lines=lines):
            changes["lines"] = "replaced"
        if changes and not created:
            shipment.save()
        external_ref_bind(
            system=system, entity_type=EntityType.SHIPMENT, external_id=external_id, object_id=shipment.pk
        )
        if created or changes:
            payload = {"shipment": ShipmentSerializer(shipment_queryset().get(pk=shipment.pk)).data}
            if not created:
                payload["changed"] = sorted(changes)
            event_record(
                event_type="shipment.created" if created else "shipment.updated",
                aggregate_type="shipment", aggregate_id=shipment.pk, payload=payload, actor=actor,
            )
        if "lines" in changes:
            pointers = {item["order_line_id"]: f"/lines/{index}/quantity" for index, item in enumerate(lines)}
            if order_shipped_quantities_sync(order=order, actor=actor, pointers=pointers):
                reservations_consume_shipped(order=order, actor=actor)
            order_invoiced_advance(order=order, actor=actor)
        for item in milestones:
            _, recorded = _milestone_apply(shipment=shipment, data=item, source=system, actor=actor)
            if recorded:
                changes.setdefault("milestones", "added")
    return UpsertResult(instance=shipment, created=created, changes=changes)


def _lines_apply(*, shipment: Shipment, lines: list[dict]) -> bool:
    """Make the shipment's lines match ``lines``; True when anything changed."""
    current = {line.order_line_id: line for line in shipment.lines.all()}
    wanted = {item["order_line_id"]: item["quantity"] for item in lines}
    if {k: line.quantity for k, line in current.items()} == wanted:
        return False
    gone = [line.pk for key, line in current.items() if key not in wanted]
    if gone:
        ShipmentLine.objects.filter(pk__in=gone).delete()
    for key, quantity in wanted.items():
        line = current.get(key)
        if line is None:
            ShipmentLine.objects.create(shipment=shipment, order_line_id=key, quantity=quantity)
        elif line.quantity != quantity:
            line.quantity = quantity
            line.save(update_fields=["quantity", "updated_at"])
    return True


def shipment_milestone_record(
    *,
    system: System,
    external_id: str,
    data: dict,
    actor: Actor,
    received_at: datetime.datetime | None = None,
    savepoint: bool = True,
) -> UpsertResult:
    """Record one milestone for the shipment ``system`` knows as ``external_id``.

    Idempotent per (shipment, code, occurred_at): a repeat returns the stored milestone and
    changes nothing. The shipment's status only moves forward along MILESTONE_RANK (a delivered
    milestone that arrives before the dispatched one is recorded, and the late dispatched one
    then moves nothing back); the first dispatched and delivered milestones also set those times
    and emit their own events.

    ``data["shipment"]``, when given, is the shipment's content (as for shipment_upsert, without
    milestones): only the shipments' system of record may send it, and it is applied first.
    ``received_at`` is when the partner's message reached the hub (default: now).
    ``savepoint=False`` is for a caller that rolls its whole transaction back on any failure (the
    inbound pipeline): it saves the savepoint's two round trips, and a failure here then leaves
    the caller's transaction unusable until it ends.
    """
    data = dict(data)
    content = data.pop("shipment", None)
    is_carrier = system.kind == SystemKind.CARRIER
    if content is not None:
        system_of_record_assert(system=system, domain=Domain.SHIPMENTS)
    # Without content, a non-carrier's ownership of shipments is checked by the statement that
    # finds and locks the shipment (see _shipment_for_milestone): one round trip less per milestone.
    with atomic_begin_carried(savepoint=savepoint):
        if content is not None:
            with pointers_under("/shipment"):  # the content's fields are under "shipment" in the milestone
                shipment_upsert(system=system, external_id=external_id, data=content, actor=actor)
        shipment = _shipment_for_milestone(system=system, external_id=external_id, is_carrier=is_carrier)
        milestone, created = _milestone_apply(
            shipment=shipment, data=data, source=system, actor=actor, received_at=received_at
        )
    return UpsertResult(instance=milestone, created=created)


def _shipment_for_milestone(*, system: System, external_id: str, is_carrier: bool) -> Shipment:
    if is_carrier:
        own_refs = ExternalRef.objects.filter(
            system=system, entity_type=EntityType.SHIPMENT, external_id=external_id
        ).values("object_id")
        found = list(
            Shipment.objects.select_for_update()
            .filter(Q(pk__in=own_refs) | Q(tracking_number=external_id), carrier__iexact=system.code)
            .order_by("pk")[:2]
        )
        if len(found) > 1:
            raise BusinessRuleViolation(
                f"Tracking number '{external_id}' matches several shipments carried by '{system.code}'; "
                "report against each shipment's own id.",
                tracking_number=external_id,
            )
    else:
        # Only the shipments' system of record reports by its own id: refused first when it is not.
        shipment = external_record_lock(
            system=system, entity_type=EntityType.SHIPMENT, external_id=external_id, model=Shipment,
            owner_of=Domain.SHIPMENTS,
        )
        found = [] if shipment is None else [shipment]
    if not found:
        raise unknown_reference(system=system, entity_type=EntityType.SHIPMENT, external_id=external_id)
    return found[0]


def _milestone_apply(
    *, shipment: Shipment, data: dict, source: System, actor: Actor, received_at: datetime.datetime | None = None
) -> tuple[ShipmentMilestone, bool]:
    """Record a milestone on a locked shipment unless it is already there; returns (milestone, created)."""
    from canonical.serializers.fulfilment import ShipmentMilestoneSerializer, ShipmentSummarySerializer

    milestone = ShipmentMilestone(
        shipment=shipment,
        source_system=source,
        code=data["code"],
        occurred_at=data["occurred_at"],
        location_text=data.get("location_text", ""),
        detail=data.get("detail", ""),
        received_at=received_at or timezone.now(),
    )
    # Insert first and let the unique constraint find a repeat: a new milestone (the usual case)
    # costs one statement, no look-up and no savepoint (ON CONFLICT DO NOTHING, see row_insert).
    if not row_insert(milestone, unless_taken=["shipment", "code", "occurred_at"]):
        existing = shipment.milestones.filter(code=data["code"], occurred_at=data["occurred_at"]).first()
        if existing is None:
            raise IntegrityError(f"Milestone {data['code']} at {data['occurred_at']} of shipment {shipment.pk} "
                                 "was neither written nor found.")
        return existing, False
    update_fields = ["updated_at"]
    rank = MILESTONE_RANK.get(milestone.code)
    if rank is not None and rank > MILESTONE_RANK.get(shipment.status, -1):
        shipment.status = milestone.code
        update_fields.append("status")
    happened = []
    if milestone.code in _HAPPENED:
        time_field, event_type = _HAPPENED[milestone.code]
        if getattr(shipment, time_field) is None:
            setattr(shipment, time_field, milestone.occurred_at)
            update_fields.append(time_field)
            happened.append(event_type)
    row_update(shipment, update_fields)
    payload = {
        "shipment": ShipmentSummarySerializer(shipment).data,
        "milestone": ShipmentMilestoneSerializer(milestone).data,
    }
    for event_type in ("shipment.milestone", *happened):
        event = event_record(
            event_type=event_type, aggregate_type="shipment", aggregate_id=shipment.pk, payload=payload,
            actor=actor, occurred_at=milestone.occurred_at,
        )
        if event_type == "shipment.milestone":
            milestone.event = event
            row_update(milestone, ["event"])
    return milestone, True


# Reservations held by shipped lines


def reservations_consume_shipped(*, order: Order, actor: Actor) -> list[int]:
    """Make a locked order's reservations match what its lines shipped; returns the positions changed.

    Per line, the consumed quantity becomes min(shipped, consumed + active): stock that left is no
    longer held for the line, so the position's reserved and on-hand quantities both drop by it
    (available to promise does not move; the warehouse's next report sets on hand as it counts
    it). Active reservations at the locations the line ships from are consumed first, oldest
    first. A shipment corrected downwards gives the quantity back (newest consumed first).
    Each position changed emits ``inventory.changed`` with reason ``shipment``.
    """
    reservations = list(
        Reservation.objects.filter(order_line__order=order)
        .exclude(status=ReservationStatus.RELEASED)
        .select_related("position")
        .order_by("created_at", "pk")
    )
    if not reservations:
        return []
    shipped = dict(order.lines.values_list("pk", "quantity_shipped"))
    ships_from: dict[int, set] = defaultdict(set)
    for line_id, location_id in ShipmentLine.objects.filter(order_line__order=order).values_list(
        "order_line_id", "shipment__location_id"
    ):
        ships_from[line_id].add(location_id)
    by_line: dict[int, list[Reservation]] = defaultdict(list)
    for reservation in reservations:
        by_line[reservation.order_line_id].append(reservation)

    moves: dict[int, Decimal] = defaultdict(Decimal)  # position id → quantity consumed (negative: given back)
    plan: list[tuple[Reservation, Decimal]] = []
    for line_id, held in by_line.items():
        consumed = sum((r.quantity for r in held if r.status == ReservationStatus.CONSUMED), Decimal("0"))
        active = [r for r in held if r.status == ReservationStatus.ACTIVE]
        target = min(shipped.get(line_id, Decimal("0")), consumed + sum((r.quantity for r in active), Decimal("0")))
        delta = target - consumed
        if delta > 0:
            active.sort(key=lambda r: (r.position.location_id not in ships_from[line_id], r.created_at, r.pk))
            candidates = active
        elif delta < 0:
            candidates = sorted(
                (r for r in held if r.status == ReservationStatus.CONSUMED), key=lambda r: (r.created_at, r.pk),
                reverse=True,
            )
        else:
            continue
        left = abs(delta)
        for reservation in candidates:
            if not left:
                break
            take = min(reservation.quantity, left)
            left -= take
            plan.append((reservation, take if delta > 0 else -take))
            moves[reservation.position_id] += take if delta > 0 else -take
    if not plan:
        return []

    from canonical.services.inventory import inventory_changed_record, position_quantities

    positions = {
        p.pk: p for p in InventoryPosition.objects.select_for_update(of=("self",))
        .select_related("product", "location", "last_updated_by").order_by("pk")
        .filter(pk__in=[pk for pk, moved in moves.items() if moved])
    }
    before = {pk: position_quantities(p) for pk, p in positions.items()}
    for reservation, quantity in plan:
        _reservation_move(reservation, quantity)
    now = timezone.now()
    for pk, position in positions.items():
        moved = moves[pk]
        position.reserved -= moved
        position.on_hand -= moved
        position.save(update_fields=["reserved", "on_hand", "updated_at"])
        inventory_changed_record(position=position, before=before[pk], changed=["on_hand", "reserved"], as_of=now,
                                 actor=actor, reason="shipment", order={"id": order.pk, "number": order.number})
    return sorted(positions)


def _reservation_move(reservation: Reservation, quantity: Decimal) -> None:
    """Consume ``quantity`` of an active reservation (negative: give back that much of a consumed one),
    splitting the row when only part of it moves."""
    target = ReservationStatus.CONSUMED if quantity > 0 else ReservationStatus.ACTIVE
    quantity = abs(quantity)
    if quantity == reservation.quantity:
        reservation.status = target
        reservation.save(update_fields=["status", "updated_at"])
        return
    reservation.quantity -= quantity
    reservation.save(update_fields=["quantity", "updated_at"])
    Reservation.objects.create(
        order_line_id=reservation.order_line_id, position_id=reservation.position_id, quantity=quantity,
        status=target,
    )
