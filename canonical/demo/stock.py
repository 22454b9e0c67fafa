"""Warehouses and the stock the WMS reports for them: some positions empty, some low, some with stock in transit."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from canonical.context import Actor
from canonical.demo.emit import new_aggregates_events_record
from canonical.demo.products import ProductPlan
from canonical.demo.rand import DemoRandom
from canonical.models import (
    EntityType,
    InventoryPosition,
    Location,
    LocationKind,
    Product,
    ProductStatus,
    System,
)
from canonical.serializers.inventory import INVENTORY_SELECT
from canonical.services.inventory import location_upsert
from canonical.services.refs import external_ref_bind

# code: (name, city, WMS site id, ERP plant)
WAREHOUSES: dict[str, tuple[str, str, str, str]] = {
    "dc-dallas": ("Dallas distribution center", "Dallas", "DAL1", "1100"),
    "dc-atlanta": ("Atlanta distribution center", "Atlanta", "ATL1", "1200"),
    "dc-columbus": ("Columbus distribution center", "Columbus", "COL1", "1300"),
}
# Boxed consumables move in larger numbers than valves and equipment.
STOCK_SCALE = {"BX": 4, "CS": 2, "PK": 4, "BG": 4, "RL": 1, "PR": 3, "EA": 1}


def locations_ensure(*, systems: dict[str, System]) -> dict[str, Location]:
    wms, erp = systems["wms"], systems["erp"]
    existing = {loc.code: loc for loc in Location.objects.filter(code__in=WAREHOUSES)}
    actor = Actor(system=wms)
    with transaction.atomic():
        for code, (name, city, site, plant) in WAREHOUSES.items():
            if code in existing:
                continue
            location = location_upsert(
                system=wms, external_id=site, actor=actor,
                data={"code": code, "name": name, "kind": LocationKind.WAREHOUSE, "city": city, "country": "US"},
            ).instance
            external_ref_bind(system=erp, entity_type=EntityType.LOCATION, external_id=plant, object_id=location.pk)
            existing[code] = location
    return existing


def stock_plan(*, seed: int, products: list[ProductPlan]) -> dict[tuple[str, str], int]:
    """{(sku, location code): units on hand}. Drop-ship items are not stocked; discontinued ones run down."""
    rng = DemoRandom.for_part(seed, "stock")
    codes = list(WAREHOUSES)
    plan = {}
    for product in products:
        if product.drop_ship:
            continue
        home = rng.choice(codes)
        for code in codes:
            if code != home and not rng.chance(0.35):
                continue
            roll = rng.random()
            if product.status != ProductStatus.ACTIVE or roll < 0.1:
                units = 0 if roll < 0.7 or product.status != ProductStatus.ACTIVE else rng.randint(1, 4)
            elif roll < 0.25:
                units = rng.randint(1, 6)
            else:
                units = rng.randint(12, 240) * STOCK_SCALE.get(product.unit_of_measure, 1)
            plan[(product.sku, code)] = units
    return plan


def positions_ensure(
    *, plan: dict[tuple[str, str], int], in_transit: dict[tuple[str, str], int], systems: dict[str, System],
    as_of: datetime, seed: int,
) -> int:
    """Record each planned position the hub does not have yet as the WMS reported it; return how many.

    Thousands of positions one report at a time would dominate the demo's start-up,
    so they are inserted in bulk with the ``inventory.changed`` event that
    ``inventory_position_report`` writes for a new position (same payload shape).
    """
    from canonical.serializers.inventory import InventoryPositionSerializer

    existing = set(
        InventoryPosition.objects.filter(location__code__in=WAREHOUSES).values_list("product__sku", "location__code")
    )
    missing = [key for key in plan if key not in existing]
    if not missing:
        return 0
    rng = DemoRandom.for_part(seed, "stock-reports")
    wms = systems["wms"]
    products = dict(Product.objects.filter(sku__in={sku for sku, _ in missing}).values_list("sku", "id"))
    locations = dict(Location.objects.filter(code__in=WAREHOUSES).values_list("code", "id"))
    positions = []
    for sku, code in missing:
        # Most positions were counted this morning; a few have not been reported for days.
        age = timedelta(days=rng.uniform(2, 6)) if rng.chance(0.03) else timedelta(minutes=rng.uniform(5, 600))
        positions.append(InventoryPosition(
            product_id=products[sku], location_id=locations[code], on_hand=Decimal(plan[(sku, code)]),
            in_transit=Decimal(in_transit.get((sku, code), 0)), last_updated_at=as_of - age, last_updated_by=wms,
        ))
    with transaction.atomic():
        created = InventoryPosition.objects.bulk_create(positions, batch_size=2000)
        reloaded = InventoryPosition.objects.filter(pk__in=[p.pk for p in created]).select_related(*INVENTORY_SELECT)
        payloads, occurred = {}, {}
        zero = {name: "0.000" for name in ("on_hand", "reserved", "in_transit", "available_to_promise")}
        for position, data in zip(reloaded, InventoryPositionSerializer(reloaded, many=True).data, strict=True):
            after = {name: data[name] for name in zero}
            payloads[position.pk] = {
                "position": dict(data), "before": zero, "after": after,
                "changed": [name for name in ("on_hand", "in_transit") if getattr(position, name)],
                "as_of": position.last_updated_at.isoformat(),
            }
            occurred[position.pk] = position.last_updated_at
        new_aggregates_events_record(
            event_type="inventory.changed", aggregate_type="inventory_position", payloads=payloads,
            occurred_at=occurred, actor=Actor(system=wms),
        )
    return len(missing)
