"""Products, the list price list with quantity breaks, and contract prices, as the ERP (their owner) sends them.

Price lists and contract prices go through the catalogue services, so the demo
exercises the same writes, references and events a live ERP connector does; the
product master is loaded in bulk (see products_ensure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from canonical.context import Actor
from canonical.demo.customers import GROUP_CODE, AccountPlan
from canonical.demo.emit import new_aggregates_events_record
from canonical.demo.products import ProductPlan
from canonical.demo.rand import CENT, DemoRandom
from canonical.models import (
    Customer,
    CustomerGroup,
    EntityType,
    ExternalRef,
    PriceListItem,
    Product,
    ProductStatus,
    System,
)
from canonical.services.catalog import contract_price_upsert, price_list_upsert

PRICE_LIST_CODE = "list-usd"
PRICE_LIST_ERP_ID = "PL-0001"
# Box and fitting items are where distributors give quantity breaks.
BREAK_UOMS = {"BX", "CS", "PK", "BG"}
BREAKS = ((Decimal("10"), Decimal("0.95")), (Decimal("50"), Decimal("0.90")), (Decimal("100"), Decimal("0.85")))


def products_ensure(*, plans: list[ProductPlan], systems: dict[str, System]) -> int:
    """Load the products the hub does not have yet (by SKU) as the ERP's item master; list active ones on the shop.

    Two thousand products one upsert at a time would dominate the demo's start-up,
    so they are inserted in bulk with the references and ``product.created`` events
    ``product_upsert`` would have written (same payload, from ProductSerializer).
    """
    from canonical.serializers.catalog import ProductSerializer

    existing = set(Product.objects.filter(sku__in=[p.sku for p in plans]).values_list("sku", flat=True))
    missing = [p for p in plans if p.sku not in existing]
    if not missing:
        return 0
    erp, shop = systems["erp"], systems["shop"]
    with transaction.atomic():
        created = Product.objects.bulk_create([Product(**plan.data()) for plan in missing])
        refs = [ExternalRef(system=erp, entity_type=EntityType.PRODUCT, external_id=plan.erp_item, object_id=p.pk)
                for plan, p in zip(missing, created, strict=True)]
        refs += [
            ExternalRef(system=shop, entity_type=EntityType.PRODUCT, external_id=f"WEB-{plan.sku}", object_id=p.pk)
            for plan, p in zip(missing, created, strict=True) if plan.status == ProductStatus.ACTIVE
        ]
        ExternalRef.objects.bulk_create(refs, batch_size=2000)
        data = ProductSerializer(created, many=True).data
        new_aggregates_events_record(
            event_type="product.created", aggregate_type="product", actor=Actor(system=erp),
            payloads={item["id"]: {"product": dict(item)} for item in data},
        )
    return len(missing)


def price_list_ensure(*, plans: list[ProductPlan], systems: dict[str, System], as_of: date, seed: int) -> bool:
    """Send the default list price list unless it already prices every planned product; True if sent.

    A list that is complete is left alone, so a re-run never undoes prices the ERP has changed since.
    """
    product_ids = dict(Product.objects.filter(sku__in=[p.sku for p in plans]).values_list("sku", "id"))
    priced = PriceListItem.objects.filter(
        price_list__code=PRICE_LIST_CODE, min_quantity=0, product_id__in=product_ids.values()
    ).count()
    if priced == len(plans):
        return False
    rng = DemoRandom.for_part(seed, "price-list")
    items = []
    for plan in plans:
        product = Product(pk=product_ids[plan.sku], sku=plan.sku)
        items.append({"product": product, "min_quantity": Decimal("0"), "unit_price": plan.list_price})
        if plan.unit_of_measure in BREAK_UOMS or rng.chance(0.15):
            for min_quantity, factor in BREAKS:
                price = (plan.list_price * factor).quantize(CENT)
                items.append({"product": product, "min_quantity": min_quantity, "unit_price": price})
    price_list_upsert(
        system=systems["erp"], external_id=PRICE_LIST_ERP_ID, actor=Actor(system=systems["erp"]),
        data={
            "code": PRICE_LIST_CODE, "name": "List prices USD", "currency": "USD", "is_default": True,
            "valid_from": date(as_of.year - 2, 1, 1), "items": items,
        },
    )
    return True


@dataclass(frozen=True)
class ContractPlan:
    external_id: str
    account_number: str | None
    group_code: str | None
    sku: str
    reference: str
    unit_price: Decimal
    valid_from: date
    valid_to: date | None


def contracts_plan(
    *, seed: int, accounts: list[AccountPlan], products: list[ProductPlan], as_of: date
) -> list[ContractPlan]:
    """Negotiated prices: about one sold-to account in eight has a contract, and the buying group has one."""
    rng = DemoRandom.for_part(seed, "contracts")
    sellable = [p for p in products if p.status == ProductStatus.ACTIVE]
    buyers = [a for a in accounts if a.sold_to and a.erp_id and a.duplicate_of is None and a.crm_id]
    if not sellable or not buyers:
        return []
    plans = []
    chosen = rng.sample(buyers, max(1, len(buyers) // 8))
    for number, account in enumerate(chosen, start=1):
        reference = f"CTR-{as_of.year}-{number:03d}"
        # Most contracts are current; one in six has lapsed, one in ten starts next month.
        roll = rng.random()
        if roll < 0.17:
            valid_from, valid_to = as_of - timedelta(days=700), as_of - timedelta(days=rng.randint(20, 200))
        elif roll < 0.27:
            valid_from, valid_to = as_of + timedelta(days=rng.randint(5, 40)), as_of + timedelta(days=400)
        else:
            valid_from, valid_to = as_of - timedelta(days=rng.randint(60, 500)), as_of + timedelta(days=rng.randint(30, 300))
        for product in rng.sample(sellable, min(len(sellable), rng.randint(10, 35))):
            price = (product.list_price * Decimal(str(rng.uniform(0.78, 0.92)))).quantize(CENT)
            plans.append(ContractPlan(
                external_id=f"{reference}-{product.sku}", account_number=account.account_number, group_code=None,
                sku=product.sku, reference=reference, unit_price=price, valid_from=valid_from, valid_to=valid_to,
            ))
    reference = f"GRP-{GROUP_CODE.upper()}"
    for product in rng.sample(sellable, min(len(sellable), max(5, len(sellable) // 20))):
        plans.append(ContractPlan(
            external_id=f"{reference}-{product.sku}", account_number=None, group_code=GROUP_CODE, sku=product.sku,
            reference=reference, unit_price=(product.list_price * Decimal("0.88")).quantize(CENT),
            valid_from=as_of - timedelta(days=365), valid_to=None,
        ))
    return plans


def contracts_ensure(*, plans: list[ContractPlan], systems: dict[str, System]) -> int:
    erp = systems["erp"]
    known = set(
        ExternalRef.objects.filter(system=erp, entity_type=EntityType.CONTRACT_PRICE).values_list("external_id", flat=True)
    )
    missing = [p for p in plans if p.external_id not in known]
    if not missing:
        return 0
    customers = {
        c.account_number: c
        for c in Customer.objects.filter(account_number__in={p.account_number for p in missing if p.account_number})
    }
    groups = {g.code: g for g in CustomerGroup.objects.filter(code__in={p.group_code for p in missing if p.group_code})}
    products = {p.sku: p for p in Product.objects.filter(sku__in={p.sku for p in missing})}
    actor = Actor(system=erp)
    with transaction.atomic():
        for plan in missing:
            contract_price_upsert(
                system=erp, external_id=plan.external_id, actor=actor,
                data={
                    "customer": customers.get(plan.account_number) if plan.account_number else None,
                    "customer_group": groups.get(plan.group_code) if plan.group_code else None,
                    "product": products[plan.sku], "contract_reference": plan.reference, "currency": "USD",
                    "min_quantity": Decimal("0"), "unit_price": plan.unit_price,
                    "valid_from": plan.valid_from, "valid_to": plan.valid_to,
                },
            )
    return len(missing)

