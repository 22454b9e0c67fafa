"""Writes to shipments: the system of record's upsert and the milestones warehouses and carriers report.

Who may report a milestone: the shipments' system of record (the WMS), for any shipment it
knows by its own external id; and any system of kind *carrier*, only for the shipments it
carries, i.e. whose ``carrier`` is that system's code (case-insensitive). A carrier names the
shipment by an external id it has for it or by the tracking number. A shipment a carrier does
not carry answers exactly like a missing one.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import (
    MILESTONE_RANK,
    Domain,
    EntityType,
    ExternalRef,
    MilestoneCode,
    Order,
    Shipment,
    ShipmentLine,
    ShipmentMilestone,
    System,
    SystemKind,
)
from canonical.services.events import event_record
from canonical.services.orders import (
    document_find,
    line_problem,
    number_taken_refuse,
    order_shipped_quantities_sync,
)
from canonical.services.refs import (
    UpsertResult,
    changed_fields,
    external_ref_bind,
    system_of_record_assert,
    unknown_reference,
)

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
            order_shipped_quantities_sync(order=order, actor=actor, pointers=pointers)
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


def shipment_milestone_record(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Record one milestone for the shipment ``system`` knows as ``external_id``.

    Idempotent per (shipment, code, occurred_at): a repeat returns the stored milestone and
    changes nothing. The shipment's status only moves forward along MILESTONE_RANK; the first
    dispatched and delivered milestones also set those times and emit their own events.
    """
    is_carrier = system.kind == SystemKind.CARRIER
    if not is_carrier:
        system_of_record_assert(system=system, domain=Domain.SHIPMENTS)
    with transaction.atomic():
        shipment = _shipment_for_milestone(system=system, external_id=external_id, is_carrier=is_carrier)
        milestone, created = _milestone_apply(shipment=shipment, data=data, source=system, actor=actor)
    return UpsertResult(instance=milestone, created=created)


def _shipment_for_milestone(*, system: System, external_id: str, is_carrier: bool) -> Shipment:
    own_refs = ExternalRef.objects.filter(
        system=system, entity_type=EntityType.SHIPMENT, external_id=external_id
    ).values("object_id")
    if is_carrier:
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
        found = list(Shipment.objects.select_for_update().filter(pk__in=own_refs)[:1])
    if not found:
        raise unknown_reference(system=system, entity_type=EntityType.SHIPMENT, external_id=external_id)
    return found[0]


def _milestone_apply(
    *, shipment: Shipment, data: dict, source: System, actor: Actor
) -> tuple[ShipmentMilestone, bool]:
    """Record a milestone on a locked shipment unless it is already there; returns (milestone, created)."""
    from canonical.serializers.fulfilment import ShipmentMilestoneSerializer, ShipmentSummarySerializer

    existing = shipment.milestones.filter(code=data["code"], occurred_at=data["occurred_at"]).first()
    if existing is not None:
        return existing, False
    milestone = ShipmentMilestone.objects.create(
        shipment=shipment,
        source_system=source,
        code=data["code"],
        occurred_at=data["occurred_at"],
        location_text=data.get("location_text", ""),
        detail=data.get("detail", ""),
    )
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
    shipment.save(update_fields=update_fields)
    payload = {
        "shipment": ShipmentSummarySerializer(shipment).data,
        "milestone": ShipmentMilestoneSerializer(milestone).data,
    }
    for event_type in ("shipment.milestone", *happened):
        event_record(
            event_type=event_type, aggregate_type="shipment", aggregate_id=shipment.pk, payload=payload,
            actor=actor, occurred_at=milestone.occurred_at,
        )
    return milestone, True
