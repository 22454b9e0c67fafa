"""Available-to-promise per product and location, and the date the hub promises a line for.

Available to promise at a location is on hand minus what orders have reserved there (active
warehouses and stores only). The promised date of a line is the date it can ship complete:

* a drop-ship product ships from its supplier: today + ``HUB_SUPPLIER_LEAD_TIME_DAYS``;
* stock on hand covers it (at one location or over several): today + ``HUB_DISPATCH_DAYS``;
* otherwise the day the supply on order (open purchase order lines, by their confirmed date,
  else the PO's confirmed or requested date; net of what open orders' backorders already wait
  for, see supply_by_product) covers what stock does not, plus
  ``HUB_SUPPLY_HANDLING_DAYS`` to receive and pick it; with not enough on order, today +
  ``HUB_SUPPLIER_LEAD_TIME_DAYS`` + the handling days.

A requested date later than that is kept as the promise. A quote reserves nothing: two quotes
can be promised the same units; the order that comes first takes them.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import F

from canonical.models import (
    OPEN_ORDER_STATUSES,
    InventoryPosition,
    Location,
    OrderLine,
    Product,
    PurchaseOrderKind,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from canonical.services.allocation import quantity_text, stock_location_sql
from canonical.services.prepared import Read, fields_but_timestamps, in_list, instance_from_db, reads_together
from canonical.services.refs import storable

OPEN_SUPPLY_STATUSES = (
    PurchaseOrderStatus.SENT, PurchaseOrderStatus.ACKNOWLEDGED, PurchaseOrderStatus.PARTIALLY_RECEIVED,
)
_ZERO = Decimal("0")


class PromiseSource:
    STOCK = "stock"
    SUPPLY = "supply_on_order"
    LEAD_TIME = "supplier_lead_time"
    DROP_SHIP = "drop_ship"


@dataclass(frozen=True)
class LocationStock:
    location: str
    on_hand: Decimal
    reserved: Decimal
    in_transit: Decimal
    last_updated_at: datetime.datetime | None

    @property
    def available(self) -> Decimal:
        return max(self.on_hand - self.reserved, _ZERO)

    def as_dict(self) -> dict:
        return {
            "location": self.location,
            "available_to_promise": quantity_text(self.available),
            "on_hand": quantity_text(self.on_hand),
            "reserved": quantity_text(self.reserved),
            "in_transit": quantity_text(self.in_transit),
            "last_updated_at": self.last_updated_at.isoformat() if self.last_updated_at else None,
        }


@dataclass(frozen=True)
class Promise:
    promised_date: datetime.date
    source: str
    available: Decimal  # at all locations together


def _days(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


_PRODUCT_FIELDS = fields_but_timestamps(Product)
_STOCK_FIELDS = (None, *(InventoryPosition._meta.get_field(name)
                         for name in ("on_hand", "reserved", "in_transit", "last_updated_at")))


@functools.cache
def _products_stock_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    product, position, location = (quote(m._meta.db_table) for m in (Product, InventoryPosition, Location))
    columns = ", ".join(f"pr.{quote(f.column)}" for f in _PRODUCT_FIELDS)
    return (f"SELECT {columns}, l.code, p.on_hand, p.reserved, p.in_transit, p.last_updated_at FROM {product} pr "
            f"LEFT JOIN ({position} p INNER JOIN {location} l ON l.id = p.location_id AND {stock_location_sql(vendor)}) "
            "ON p.product_id = pr.id WHERE {skus}")


def storable_skus(skus: Iterable[str]) -> list[str]:
    """The distinct SKUs a database could hold, sorted (no SKU holds what no database can)."""
    return sorted({sku for sku in skus if storable(sku)})


def products_with_stock_read(skus: list[str]) -> Read:
    """The statement that reads the products with these SKUs (storable_skus) and their stock, for reads_together.

    Its answer is products_with_stock's.
    """
    condition, params = in_list(f"pr.{connection.ops.quote_name('sku')}", skus)
    return Read(_products_stock_sql(connection.vendor).format(skus=condition), params, _PRODUCT_FIELDS + _STOCK_FIELDS,
                answer=_products_and_stock)


def _products_and_stock(rows: list[tuple]) -> tuple[dict[str, Product], dict[int, list[LocationStock]]]:
    products: dict[str, Product] = {}
    stock: dict[int, list[LocationStock]] = defaultdict(list)
    width, names = len(_PRODUCT_FIELDS), [f.attname for f in _PRODUCT_FIELDS]
    at_sku = names.index("sku")
    for row in rows:
        sku = row[at_sku]
        if sku not in products:
            products[sku] = instance_from_db(Product, connection.alias, names, row[:width])
        code, on_hand, reserved, in_transit, updated = row[width:]
        if code is not None:
            stock[products[sku].pk].append(LocationStock(code, on_hand, reserved, in_transit, updated))
    for stocks in stock.values():
        stocks.sort(key=lambda item: (-item.available, item.location))
    return products, stock


def products_with_stock(skus: Iterable[str]) -> tuple[dict[str, Product], dict[int, list[LocationStock]]]:
    """The products with these SKUs by SKU, and each one's stock at active stock locations (the most
    available first), in one prepared statement. A product's timestamps are left deferred.
    """
    wanted = storable_skus(skus)
    if not wanted:
        return {}, defaultdict(list)
    return reads_together(products_with_stock_read(wanted))[0]


def supply_by_product(products: Iterable[Product], *, today: datetime.date) -> dict[int, list[tuple[datetime.date, Decimal]]]:
    """Each product's quantities still to come on open purchase orders and not yet owed, by
    expected date (a query, and a second only when there is such supply).

    Supply is owed first to the open orders already waiting for it: a purchase order line raised
    for an order line is that line's alone, and the backorders left over take the earliest of the
    rest (they were promised before any new line). A drop-ship purchase order goes to its
    customer, never into stock. What remains is what a new line may be promised.
    """
    ids = {product.pk for product in products}
    result: dict[int, list[tuple[datetime.date, Decimal]]] = defaultdict(list)
    if not ids:
        return result
    lead = datetime.timedelta(days=_days("HUB_SUPPLIER_LEAD_TIME_DAYS", 14))
    rows = PurchaseOrderLine.objects.filter(
        product_id__in=ids, purchase_order__status__in=OPEN_SUPPLY_STATUSES, quantity__gt=F("received_quantity")
    ).exclude(purchase_order__kind=PurchaseOrderKind.DROP_SHIP).values_list(
        "product_id", "quantity", "received_quantity", "confirmed_date", "purchase_order__confirmed_date",
        "purchase_order__requested_date", "purchase_order__ordered_at", "order_line_id",
    )
    tied: dict[int, Decimal] = defaultdict(Decimal)  # order line id -> still to come on its own PO lines
    for product_id, quantity, received, line_date, po_confirmed, po_requested, ordered_at, order_line_id in rows:
        if order_line_id is not None:
            tied[order_line_id] += quantity - received
            continue
        expected = line_date or po_confirmed or po_requested or (ordered_at + lead).date()
        result[product_id].append((max(expected, today), quantity - received))
    if not result:  # nothing coming that a waiting order could be owed: the order lines need no reading
        return result
    owed: dict[int, Decimal] = defaultdict(Decimal)
    for line_id, product_id, backordered in OrderLine.objects.filter(
        product_id__in=list(result), quantity_backordered__gt=0, order__status__in=OPEN_ORDER_STATUSES,
    ).values_list("pk", "product_id", "quantity_backordered"):
        owed[product_id] += max(backordered - tied.get(line_id, _ZERO), _ZERO)
    for product_id, supply in result.items():
        supply.sort()
        left, free = owed.get(product_id, _ZERO), []
        for expected, incoming in supply:
            taken = min(incoming, left)
            left -= taken
            if incoming > taken:
                free.append((expected, incoming - taken))
        result[product_id] = free
    return result


def products_short(lines: Iterable[tuple[Product, Decimal]], stock: dict[int, list[LocationStock]]) -> list[Product]:
    """The stocked products whose lines together want more than every location has: only their supply matters."""
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    products: dict[int, Product] = {}
    for product, quantity in lines:
        if not product.drop_ship:
            wanted[product.pk] += quantity
            products[product.pk] = product
    return [products[pk] for pk, quantity in wanted.items()
            if sum((s.available for s in stock.get(pk, [])), _ZERO) < quantity]


def line_promise(
    *,
    product: Product,
    quantity: Decimal,
    requested_date: datetime.date | None,
    stock: list[LocationStock],
    supply: list[tuple[datetime.date, Decimal]],
    today: datetime.date,
) -> Promise:
    """The date the hub promises ``quantity`` of ``product`` for (see the module docstring)."""
    available = sum((s.available for s in stock), _ZERO)
    handling = datetime.timedelta(days=_days("HUB_SUPPLY_HANDLING_DAYS", 1))
    lead = datetime.timedelta(days=_days("HUB_SUPPLIER_LEAD_TIME_DAYS", 14))
    if product.drop_ship:
        date, source = today + lead, PromiseSource.DROP_SHIP
    elif available >= quantity:
        date, source = today + datetime.timedelta(days=_days("HUB_DISPATCH_DAYS", 1)), PromiseSource.STOCK
    else:
        missing, date, source = quantity - available, None, PromiseSource.LEAD_TIME
        for expected, incoming in supply:
            missing -= incoming
            if missing <= 0:
                date, source = expected + handling, PromiseSource.SUPPLY
                break
        if date is None:
            date = today + lead + handling
    if requested_date is not None and requested_date > date:
        date = requested_date
    return Promise(promised_date=date, source=source, available=available)
