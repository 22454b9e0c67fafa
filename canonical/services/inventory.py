"""Writes to inventory: locations, and the stock positions the warehouse system reports.

``reserved`` belongs to the hub (reservations held by order lines); a warehouse
reports only what is on hand and in transit, as of a moment. Reports are applied
under a row lock on the position, so concurrent reports for one position are
serialised and a report older than the position's last update is ignored.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation, UnknownReference
from canonical.models import Domain, EntityType, InventoryPosition, Location, Product, System
from canonical.services.events import event_record
from canonical.services.refs import (
    UpsertResult,
    external_ref_find,
    keyed_record_upsert,
    system_of_record_assert,
)


class OnHandBelowReserved(BusinessRuleViolation):
    slug = "on-hand-below-reserved"
    title = "On hand would fall below reserved"


def location_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the location ``system`` knows as ``external_id`` (inventory's system of record)."""
    from canonical.serializers.inventory import LocationSerializer

    system_of_record_assert(system=system, domain=Domain.INVENTORY)
    with transaction.atomic():
        result = keyed_record_upsert(
            system=system, external_id=external_id, entity_type=EntityType.LOCATION, model=Location,
            natural_key="code", data=dict(data),
        )
        if result.changed:
            event_record(
                event_type="location.updated",
                aggregate_type="location",
                aggregate_id=result.instance.pk,
                payload={
                    "location": LocationSerializer(result.instance).data,
                    "created": result.created,
                    "changed": sorted(result.changes),
                },
                actor=actor,
            )
    return result


def location_resolve(*, system: System, ref: str) -> Location:
    """The location ``system`` calls ``ref``: its own external id first, else the hub's location code."""
    location = None
    if "\x00" not in ref:  # no key holds a NUL, and PostgreSQL refuses one even in a lookup
        location = external_ref_find(system=system, entity_type=EntityType.LOCATION, external_id=ref, model=Location)
        if location is None:
            location = Location.objects.filter(code=ref).first()
    if location is None:
        raise UnknownReference(
            f"System '{system.code}' has no location with external id '{ref}', and no location has code '{ref}'.",
            system=system.code, entity_type=EntityType.LOCATION, external_id=ref,
        )
    return location


def product_by_sku(*, sku: str) -> Product:
    product = Product.objects.filter(sku=sku).first() if "\x00" not in sku else None
    if product is None:
        raise UnknownReference(f"No product with SKU '{sku}'.", entity_type=EntityType.PRODUCT, sku=sku)
    return product


def inventory_position_find(*, system: System, location_ref: str, sku: str) -> InventoryPosition:
    location = location_resolve(system=system, ref=location_ref)
    product = product_by_sku(sku=sku)
    position = InventoryPosition.objects.filter(location=location, product=product).first()
    if position is None:
        raise UnknownReference(
            f"No inventory position for SKU '{sku}' at location '{location.code}'.",
            location=location.code, sku=sku,
        )
    return position


class ReportOutcome:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"


@dataclass
class InventoryReport:
    """What one report did: the position, one of ReportOutcome, and {field: [old, new]}."""

    position: InventoryPosition
    outcome: str
    changes: dict = field(default_factory=dict)


def position_quantities(position: InventoryPosition) -> dict:
    """On hand, reserved, in transit and available to promise, as inventory.changed carries them."""
    from canonical.serializers.inventory import QuantitiesSerializer

    return dict(QuantitiesSerializer(position).data)


def inventory_changed_record(
    *, position: InventoryPosition, before: dict, changed: list[str], as_of, actor: Actor, occurred_at=None,
    **context,
) -> None:
    """Write ``inventory.changed`` for ``position`` (saved, product and location loaded): the position,
    its quantities before (``position_quantities`` taken before the change) and after, what changed, when,
    and ``context`` (why: a reason, the order or purchase order behind it)."""
    from canonical.serializers.inventory import InventoryPositionSerializer

    event_record(
        event_type="inventory.changed", aggregate_type="inventory", aggregate_id=position.pk, actor=actor,
        payload={"position": InventoryPositionSerializer(position).data, "before": before,
                 "after": position_quantities(position), "changed": changed, "as_of": as_of.isoformat(), **context},
        occurred_at=occurred_at,
    )


def _position_for_update(*, product: Product, location: Location, defaults: dict) -> tuple[InventoryPosition, bool]:
    """The position row, locked; created (unlocked-race safe) when it does not exist yet."""
    # of=("self",) and no ordering: the default ordering joins product and location, and locking
    # those rows too would serialise every report for a location behind one another.
    locked = InventoryPosition.objects.select_for_update(of=("self",)).order_by()
    position = locked.filter(product=product, location=location).first()
    if position is not None:
        return position, False
    try:
        with transaction.atomic():  # a savepoint: losing a creation race must not poison the outer transaction
            return InventoryPosition.objects.create(product=product, location=location, **defaults), True
    except IntegrityError:
        return locked.get(product=product, location=location), False


def inventory_position_report(
    *,
    system: System,
    location_ref: str,
    sku: str,
    on_hand: Decimal,
    in_transit: Decimal | None = None,
    as_of: datetime.datetime | None = None,
    actor: Actor,
) -> InventoryReport:
    """Apply a warehouse's report of one position (inventory's system of record only).

    ``in_transit`` left out keeps the current figure. A report whose ``as_of`` is
    older than the position's ``last_updated_at`` is ignored (outcome ``stale``). A
    report that would put on hand below what the hub has reserved is refused with
    OnHandBelowReserved: the reservations must be released first, never clamped.
    Quantity changes emit ``inventory.changed``; a same-numbers report only moves the
    freshness forward.
    """
    system_of_record_assert(system=system, domain=Domain.INVENTORY)
    negative = {name: str(value) for name, value in (("on_hand", on_hand), ("in_transit", in_transit))
                if value is not None and value < 0}
    if negative:
        raise BusinessRuleViolation(f"Quantities cannot be negative: {negative}.", **negative)
    location = location_resolve(system=system, ref=location_ref)
    product = product_by_sku(sku=sku)
    as_of = as_of or timezone.now()
    with transaction.atomic():
        position, created = _position_for_update(
            product=product,
            location=location,
            defaults={
                "on_hand": on_hand, "in_transit": in_transit or Decimal("0"),
                "last_updated_at": as_of, "last_updated_by": system,
            },
        )
        if created:
            # A position nobody reported yet held nothing: consumers can take deltas without a special case.
            before = {name: "0.000" for name in ("on_hand", "reserved", "in_transit", "available_to_promise")}
            changes = {
                name: ["0.000", str(getattr(position, name))]
                for name in ("on_hand", "in_transit")
                if getattr(position, name)
            }
            outcome = ReportOutcome.CREATED
        else:
            if as_of < position.last_updated_at:
                return InventoryReport(position=position, outcome=ReportOutcome.STALE)
            if on_hand < position.reserved:
                raise OnHandBelowReserved(
                    f"SKU '{product.sku}' at '{location.code}': a report of {on_hand} on hand is below the "
                    f"{position.reserved} the hub has reserved for orders. Release or move those reservations "
                    "first; the hub does not lower reservations silently.",
                    sku=product.sku, location=location.code,
                    on_hand=str(on_hand), reserved=str(position.reserved),
                )
            before = position_quantities(position)
            changes = {}
            for name, new in (("on_hand", on_hand), ("in_transit", in_transit)):
                old = getattr(position, name)
                if new is not None and new != old:
                    changes[name] = [str(old), str(new)]
                    setattr(position, name, new)
            position.last_updated_at = as_of
            position.last_updated_by = system
            position.save()
            outcome = ReportOutcome.UPDATED if changes else ReportOutcome.UNCHANGED
        if outcome != ReportOutcome.UNCHANGED:
            inventory_changed_record(position=position, before=before, changed=sorted(changes), as_of=as_of,
                                     actor=actor, occurred_at=as_of)
    return InventoryReport(position=position, outcome=outcome, changes=changes)
