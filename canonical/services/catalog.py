"""Writes to the catalogue: products, price lists with quantity breaks, contract prices.

Products are written by the products' system of record; price lists and contract
prices by the prices' system of record. Every accepted change emits its event in
the same transaction; a repeat of the same body changes nothing and emits nothing.
"""

from __future__ import annotations

import datetime

from django.db import connection, transaction

from canonical.context import Actor
from canonical.errors import BusinessRuleViolation
from canonical.models import (
    ContractPrice,
    Domain,
    EntityType,
    PriceList,
    PriceListItem,
    Product,
    System,
)
from canonical.services.events import event_record
from canonical.services.prepared import in_list
from canonical.services.refs import (
    UpsertResult,
    changed_fields,
    external_ref_bind,
    external_ref_find,
    keyed_record_upsert,
    system_of_record_assert,
)


def products_of_skus(column: str, skus: list[str], *, stocked_only: bool = False) -> tuple[str, list]:
    """``column`` (a product id) is the id of a product with one of ``skus`` (not drop-shipped, with
    ``stocked_only``), as SQL and its parameters, for a plain statement that has not read the products.

    On PostgreSQL the ids are computed first, as an array, and ``column`` is matched against them
    as against a list of ids, by its index. (As a semi-join, the generic plan kept for a connection
    read every row of the other side and probed its product: every position of each location.)
    """
    quote = connection.ops.quote_name
    condition, params = in_list(f"pr.{quote('sku')}", skus)
    if stocked_only:
        condition += f" AND NOT pr.{quote('drop_ship')}" + ("" if connection.vendor == "postgresql" else " = 1")
    products = f"SELECT pr.id FROM {quote(Product._meta.db_table)} pr WHERE {condition}"
    if connection.vendor == "postgresql":
        return f"{column} = ANY(ARRAY({products}))", params
    return f"{column} IN ({products})", params


def product_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the product ``system`` knows as ``external_id`` (products' system of record only)."""
    from canonical.serializers.catalog import ProductSerializer

    system_of_record_assert(system=system, domain=Domain.PRODUCTS)
    with transaction.atomic():
        result = keyed_record_upsert(
            system=system, external_id=external_id, entity_type=EntityType.PRODUCT, model=Product,
            natural_key="sku", data=dict(data),
        )
        if result.changed:
            product = result.instance
            payload = {"product": ProductSerializer(product).data}
            if not result.created:
                payload["changed"] = sorted(result.changes)
            event_record(
                event_type="product.created" if result.created else "product.updated",
                aggregate_type="product",
                aggregate_id=product.pk,
                payload=payload,
                actor=actor,
            )
    return result


def _validity_assert(valid_from: datetime.date | None, valid_to: datetime.date | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise BusinessRuleViolation(
            f"valid_to ({valid_to}) is before valid_from ({valid_from}).",
            valid_from=str(valid_from), valid_to=str(valid_to),
        )


def _price_list_items_replace(price_list: PriceList, items: list[dict]) -> bool:
    """Make the list's quantity breaks exactly ``items``; True when they differed."""
    current = {(i.product_id, i.min_quantity): i.unit_price for i in price_list.items.all()}
    wanted = {(i["product"].pk, i["min_quantity"]): i["unit_price"] for i in items}
    if current == wanted:
        return False
    price_list.items.all().delete()
    PriceListItem.objects.bulk_create(
        PriceListItem(price_list=price_list, product=i["product"], min_quantity=i["min_quantity"],
                      unit_price=i["unit_price"])
        for i in items
    )
    return True


def price_list_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update a price list; ``items`` (when given) replace its quantity breaks.

    ``items`` is a list of {"product": Product, "min_quantity": Decimal, "unit_price": Decimal},
    unique per (product, min_quantity); omitting it leaves the breaks as they are.
    """
    from canonical.serializers.catalog import PriceListSerializer

    system_of_record_assert(system=system, domain=Domain.PRICES)
    data = dict(data)
    items = data.pop("items", None)
    _validity_assert(data.get("valid_from"), data.get("valid_to"))
    with transaction.atomic():
        result = keyed_record_upsert(
            system=system, external_id=external_id, entity_type=EntityType.PRICE_LIST, model=PriceList,
            natural_key="code", data=data,
        )
        price_list = result.instance
        if items is not None and _price_list_items_replace(price_list, items):
            if not result.changed:  # only the breaks changed: the list itself is still updated now
                price_list.save(update_fields=["updated_at"])
            result.changes["items"] = "replaced"
        if result.changed:
            event_record(
                event_type="price_list.updated",
                aggregate_type="price_list",
                aggregate_id=price_list.pk,
                payload={
                    "price_list": PriceListSerializer(price_list).data,
                    "created": result.created,
                    "changed": [] if result.created else sorted(result.changes),
                },
                actor=actor,
            )
    return result


def contract_price_upsert(*, system: System, external_id: str, data: dict, actor: Actor) -> UpsertResult:
    """Create or update the contract price ``system`` knows as ``external_id`` (prices' system of record).

    ``data`` names exactly one of ``customer`` and ``customer_group``; the other is cleared.
    """
    from canonical.serializers.catalog import ContractPriceSerializer

    system_of_record_assert(system=system, domain=Domain.PRICES)
    data = {"customer": None, "customer_group": None, "contract_reference": "", "valid_to": None, **data}
    if (data["customer"] is None) == (data["customer_group"] is None):
        raise BusinessRuleViolation("A contract price is for exactly one customer or one customer group.")
    _validity_assert(data["valid_from"], data["valid_to"])
    with transaction.atomic():
        contract_price = external_ref_find(
            system=system, entity_type=EntityType.CONTRACT_PRICE, external_id=external_id, model=ContractPrice,
            lock=True,
        )
        created = contract_price is None
        if created:
            contract_price = ContractPrice.objects.create(**data)
            changes = {}
            external_ref_bind(
                system=system, entity_type=EntityType.CONTRACT_PRICE, external_id=external_id,
                object_id=contract_price.pk,
            )
        else:
            changes = changed_fields(contract_price, data)
            if changes:
                contract_price.save()
        if created or changes:
            event_record(
                event_type="contract_price.updated",
                aggregate_type="contract_price",
                aggregate_id=contract_price.pk,
                payload={
                    "contract_price": ContractPriceSerializer(contract_price).data,
                    "created": created,
                    "changed": sorted(changes),
                },
                actor=actor,
            )
    return UpsertResult(instance=contract_price, created=created, changes=changes)
