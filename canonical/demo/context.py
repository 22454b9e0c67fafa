"""What the history generator reads once per run: accounts, prices, stock, systems; and the tables it writes.

The generator works on plain tuples and dicts, not model instances: a scale run
shapes tens of millions of rows and instances would cost more than the inserts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from canonical.demo.bulk import Table
from canonical.demo.systems import SUPPLIER_CODES
from canonical.models import (
    AdvanceShipNotice,
    AdvanceShipNoticeLine,
    BusinessEvent,
    ContractPrice,
    CreditMemo,
    CreditStatus,
    Customer,
    CustomerStatus,
    ExternalRef,
    InventoryPosition,
    Invoice,
    InvoiceLine,
    Location,
    Order,
    OrderLine,
    PaymentTerms,
    PriceListItem,
    Product,
    ProductStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    ReturnAuthorization,
    ReturnLine,
    Shipment,
    ShipmentLine,
    ShipmentMilestone,
    SupplierAcknowledgement,
    SupplierAcknowledgementLine,
    System,
)

STAMPS = ("created_at", "updated_at")
ORDER = Table(Order, (
    "id", "number", "customer", "ship_to", "bill_to", "status", "currency", "total_amount", "customer_po",
    "placed_at", "requested_date", "promised_date", "source_system", "correlation_id", *STAMPS,
))
ORDER_LINE = Table(OrderLine, (
    "id", "order", "line_number", "product", "location", "quantity_ordered", "quantity_allocated",
    "quantity_backordered", "quantity_shipped", "quantity_invoiced", "quantity_returned", "unit_price",
    "price_rule", "requested_date", "promised_date", "is_drop_ship", *STAMPS,
))
RESERVATION = Table(Reservation, ("order_line", "position", "quantity", "status", *STAMPS))
SHIPMENT = Table(Shipment, (
    "id", "number", "order", "location", "status", "carrier", "tracking_number", "dispatched_at", "delivered_at",
    *STAMPS,
))
SHIPMENT_LINE = Table(ShipmentLine, ("shipment", "order_line", "quantity", *STAMPS))
MILESTONE = Table(ShipmentMilestone, (
    "shipment", "code", "occurred_at", "received_at", "source_system", "location_text", "detail",
))
INVOICE = Table(Invoice, (
    "id", "number", "customer", "order", "shipment", "status", "currency", "amount", "amount_paid", "issued_at",
    "due_date", "paid_at", "dispute_reason", *STAMPS,
))
INVOICE_LINE = Table(InvoiceLine, ("invoice", "order_line", "product", "quantity", "unit_price", "amount"))
RETURN = Table(ReturnAuthorization, (
    "id", "number", "order", "customer", "status", "reason", "decision_reason", "requested_at", "received_at",
    *STAMPS,
))
RETURN_LINE = Table(ReturnLine, ("rma", "order_line", "quantity_requested", "quantity_received", "refusal_reason"))
CREDIT_MEMO = Table(CreditMemo, (
    "id", "number", "customer", "rma", "invoice", "currency", "amount", "issued_at", *STAMPS,
))
PURCHASE_ORDER = Table(PurchaseOrder, (
    "id", "number", "supplier", "kind", "status", "ship_to_location", "order", "currency", "ordered_at",
    "requested_date", "confirmed_date", *STAMPS,
))
PURCHASE_ORDER_LINE = Table(PurchaseOrderLine, (
    "id", "purchase_order", "line_number", "product", "quantity", "unit_cost", "confirmed_quantity",
    "confirmed_date", "received_quantity", "order_line",
))
ACKNOWLEDGEMENT = Table(SupplierAcknowledgement, (
    "id", "purchase_order", "revision", "acknowledged_at", "received_at", "status", "note",
))
ACKNOWLEDGEMENT_LINE = Table(SupplierAcknowledgementLine, ("acknowledgement", "po_line", "confirmed_quantity",
                                                           "confirmed_date"))
ASN = Table(AdvanceShipNotice, (
    "id", "number", "purchase_order", "shipped_at", "expected_at", "carrier", "tracking_number", *STAMPS,
))
ASN_LINE = Table(AdvanceShipNoticeLine, ("asn", "po_line", "quantity"))
EXTERNAL_REF = Table(ExternalRef, ("system", "entity_type", "external_id", "object_id", *STAMPS))
EVENT = Table(BusinessEvent, (
    "event_id", "event_type", "schema_version", "aggregate_type", "aggregate_id", "sequence", "payload",
    "correlation_id", "causation_id", "source_system", "actor", "occurred_at", "recorded_at", "relayed_at",
))
# Parents before children, so foreign keys hold at every step of a batch.
WRITE_ORDER = (
    ORDER, ORDER_LINE, RESERVATION, SHIPMENT, SHIPMENT_LINE, MILESTONE, INVOICE, INVOICE_LINE, RETURN, RETURN_LINE,
    CREDIT_MEMO, PURCHASE_ORDER, PURCHASE_ORDER_LINE, ACKNOWLEDGEMENT, ACKNOWLEDGEMENT_LINE, ASN, ASN_LINE,
    EXTERNAL_REF, EVENT,
)

TERMS_DAYS = {PaymentTerms.PREPAID: 0, PaymentTerms.NET15: 15, PaymentTerms.NET30: 30, PaymentTerms.NET45: 45,
              PaymentTerms.NET60: 60}


@dataclass(eq=False)
class Buyer:
    """A sold-to account and where its orders ship and bill."""

    id: int
    credit_status: str
    active: bool
    terms_days: int
    group_id: int | None
    ship_tos: list[int]
    bill_to: int
    weight: float
    # The credit account (the hierarchy's root) whose limit the account's orders count against, as
    # canonical.services.credit reads it: its limit, its status, and whether any account up the chain is on hold.
    credit_account: int = 0
    credit_limit_cents: int = 0
    credit_account_status: str = ""
    credit_on_hold: bool = False


@dataclass
class Position:
    id: int
    product_id: int
    location_id: int
    on_hand: Decimal
    reserved: Decimal
    in_transit: Decimal


@dataclass
class SellableProduct:
    id: int
    sku: str
    uom: str
    list_cents: int
    breaks: list[tuple[int, int]]  # (min quantity, cents), highest minimum first
    supplier_id: int | None
    drop_ship: bool


@dataclass
class HistoryContext:
    as_of: datetime
    systems: dict[str, int]
    system_codes: dict[int, str]
    buyers: list[Buyer]
    products: list[SellableProduct]
    retired_products: list[SellableProduct]
    drop_ship_products: list[SellableProduct]
    contract_prices: dict[tuple[int, int], list[tuple[int, date, date | None, str]]]
    group_prices: dict[tuple[int, int], list[tuple[int, date, date | None, str]]]
    positions: dict[int, list[Position]]
    location_codes: dict[int, str]
    location_cities: dict[int, str]
    warehouse_ids: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, *, as_of: datetime) -> HistoryContext:
        systems = dict(System.objects.values_list("code", "id"))
        missing = {"crm", "erp", "wms", "shop", "carrier", *SUPPLIER_CODES} - set(systems)
        if missing:
            raise LookupError(f"Systems {sorted(missing)} are missing; seed the demo first.")
        locations = list(Location.objects.filter(is_active=True).order_by("code"))
        return cls(
            as_of=as_of,
            systems=systems,
            system_codes={pk: code for code, pk in systems.items()},
            buyers=_buyers(),
            contract_prices=_contract_prices(customer=True),
            group_prices=_contract_prices(customer=False),
            positions=_positions(),
            location_codes={loc.pk: loc.code for loc in locations},
            location_cities={loc.pk: loc.city or loc.name for loc in locations},
            warehouse_ids=[loc.pk for loc in locations],
            **_products(systems),
        )


def _buyers() -> list[Buyer]:
    rows = list(
        Customer.objects.filter(status__in=[CustomerStatus.ACTIVE, CustomerStatus.INACTIVE])
        .values("id", "parent_id", "is_sold_to", "is_bill_to", "is_ship_to", "status", "credit_status",
                "payment_terms", "group_id", "credit_limit")
        .order_by("id")
    )
    children = defaultdict(list)
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        if row["parent_id"]:
            children[row["parent_id"]].append(row)
    buyers = []
    for row in rows:
        if not row["is_sold_to"]:
            continue
        kids = children[row["id"]]
        ship_tos = [k["id"] for k in kids if k["is_ship_to"]] or [row["id"]]
        if row["is_ship_to"] and kids:
            ship_tos.append(row["id"])
        bill_to = next((k["id"] for k in kids if k["is_bill_to"]), row["id"])
        chain = [row]
        while chain[-1]["parent_id"] in by_id and len(chain) < 50:
            chain.append(by_id[chain[-1]["parent_id"]])
        buyers.append(Buyer(
            id=row["id"], credit_status=row["credit_status"], active=row["status"] == CustomerStatus.ACTIVE,
            terms_days=TERMS_DAYS.get(row["payment_terms"], 30), group_id=row["group_id"],
            ship_tos=ship_tos, bill_to=bill_to,
            # Bigger accounts (more sites, higher limits) order more often.
            weight=(1 + len(kids)) * (1 + float(row["credit_limit"]) / 50_000),
            credit_account=chain[-1]["id"], credit_limit_cents=int(chain[-1]["credit_limit"] * 100),
            credit_account_status=chain[-1]["credit_status"],
            credit_on_hold=any(account["credit_status"] == CreditStatus.HOLD for account in chain),
        ))
    if not buyers:
        raise LookupError("No sold-to customer accounts exist; seed the demo accounts first.")
    return buyers


def _products(systems: dict[str, int]) -> dict:
    from canonical.demo.catalog import PRICE_LIST_CODE
    from canonical.demo.products import CATALOGUE

    supplier_by_prefix = {prefix: systems[spec[1]] for prefix, spec in CATALOGUE.items()}
    breaks = defaultdict(list)
    items = PriceListItem.objects.filter(price_list__code=PRICE_LIST_CODE).values_list(
        "product_id", "min_quantity", "unit_price"
    )
    for product_id, min_quantity, unit_price in items:
        breaks[product_id].append((int(min_quantity), int(unit_price * 100)))
    active, retired, drop_ship = [], [], []
    for pk, sku, uom, status, is_drop_ship in Product.objects.order_by("id").values_list(
        "id", "sku", "unit_of_measure", "status", "drop_ship"
    ):
        prices = sorted(breaks.get(pk, []), reverse=True)
        if not prices:
            continue  # a product without a list price cannot have been sold
        product = SellableProduct(
            id=pk, sku=sku, uom=uom, list_cents=prices[-1][1], breaks=prices,
            supplier_id=supplier_by_prefix.get(sku.split("-", 1)[0]), drop_ship=is_drop_ship,
        )
        if status != ProductStatus.ACTIVE:
            retired.append(product)
        elif is_drop_ship:
            drop_ship.append(product)
        else:
            active.append(product)
    if not active:
        raise LookupError("No active, priced products exist; seed the demo catalogue first.")
    return {"products": active, "retired_products": retired, "drop_ship_products": drop_ship}


def _contract_prices(*, customer: bool) -> dict:
    key = "customer_id" if customer else "customer_group_id"
    result = defaultdict(list)
    rows = ContractPrice.objects.filter(**{f"{key}__isnull": False}).values_list(
        key, "product_id", "unit_price", "valid_from", "valid_to", "contract_reference"
    )
    for owner, product_id, price, valid_from, valid_to, reference in rows:
        result[(owner, product_id)].append((int(price * 100), valid_from, valid_to, reference))
    return dict(result)


def _positions() -> dict[int, list[Position]]:
    result = defaultdict(list)
    for row in InventoryPosition.objects.order_by("id").values_list(
        "id", "product_id", "location_id", "on_hand", "reserved", "in_transit"
    ):
        result[row[1]].append(Position(*row))
    return dict(result)
