"""The demo distributor's systems and its system-of-record table (the one place both are declared)."""

from __future__ import annotations

from django.db import transaction

from canonical.models import Domain, System, SystemKind, SystemOfRecord

# code: (name, kind, description)
SYSTEMS: dict[str, tuple[str, str, str]] = {
    "crm": (
        "Salesforce CRM", SystemKind.CRM,
        "Accounts, contacts and ship-to sites; sales reps create accounts here and quote from here.",
    ),
    "erp": (
        "Distribution ERP", SystemKind.ERP,
        "Item master, pricing, order book, invoicing, returns and purchasing.",
    ),
    "wms": (
        "Warehouse management", SystemKind.WMS,
        "Stock, picking, packing and dispatch in the Dallas, Atlanta and Columbus DCs.",
    ),
    "shop": (
        "B2B web store", SystemKind.ECOMMERCE,
        "The customers' self-service storefront: catalogue, prices, availability, orders and tracking.",
    ),
    "carrier": (
        "Keystone Parcel & Freight", SystemKind.CARRIER,
        "Parcel and LTL carrier: pickup, in-transit and proof-of-delivery milestones.",
    ),
    "acme-supply": (
        "Acme Supply Co.", SystemKind.SUPPLIER,
        "Plumbing, HVAC, fasteners and safety supplier; trades EDI X12 (850/855/856).",
    ),
    "northwind-supply": (
        "Northwind Industrial Supply", SystemKind.SUPPLIER,
        "Electrical, tools and MRO supplier; REST API for orders, acknowledgements and ship notices.",
    ),
}

SUPPLIER_CODES = ("acme-supply", "northwind-supply")

# domain: (owning system, why). Other systems may contribute (a carrier reports milestones,
# a supplier acknowledges), but through the owner's process, never as a competing master.
SYSTEM_OF_RECORD: dict[str, tuple[str, str]] = {
    Domain.CUSTOMERS: ("crm", "Accounts are opened and maintained in the CRM; the ERP receives them on activation."),
    Domain.PRODUCTS: ("erp", "The ERP item master; the storefront and WMS consume it."),
    Domain.PRICES: ("erp", "List prices, quantity breaks and contract prices are set in ERP pricing."),
    Domain.INVENTORY: ("wms", "On hand and in transit are counted by the warehouses; the hub adds reservations."),
    Domain.ORDERS: ("erp", "The ERP holds the order book; the storefront and CRM submit through the order process API."),
    Domain.SHIPMENTS: ("wms", "The WMS creates shipments; carrier milestones are added to them, not a second master."),
    Domain.INVOICES: ("erp", "Invoices are posted and paid in ERP accounts receivable."),
    Domain.RETURNS: ("erp", "RMAs and credit memos are raised in the ERP."),
    Domain.SUPPLIER_COMMITMENTS: (
        "erp", "Purchase orders are the ERP's; supplier acknowledgements and ASNs update them through the hub.",
    ),
}


def systems_ensure() -> dict[str, System]:
    """Create the demo systems that are missing (by code); leave existing ones as they are."""
    existing = {s.code: s for s in System.objects.filter(code__in=SYSTEMS)}
    with transaction.atomic():
        for code, (name, kind, description) in SYSTEMS.items():
            if code not in existing:
                existing[code] = System.objects.create(code=code, name=name, kind=kind, description=description)
    return existing


def system_of_record_ensure(systems: dict[str, System]) -> int:
    """Fill the system-of-record table for domains that have no owner yet; return how many were added."""
    owned = set(SystemOfRecord.objects.values_list("domain", flat=True))
    missing = [
        SystemOfRecord(domain=domain, system=systems[code], notes=why)
        for domain, (code, why) in SYSTEM_OF_RECORD.items()
        if domain not in owned
    ]
    SystemOfRecord.objects.bulk_create(missing)
    return len(missing)
