"""Systems, external references, the system-of-record table and shared field helpers."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

MONEY_DIGITS, MONEY_PLACES = 14, 2
# The largest amount a money field holds (999,999,999,999.99): a line's amount and an order's total
# past it cannot be stored, so the order is refused naming the line.
MONEY_MAX = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES) - Decimal(10) ** -MONEY_PLACES


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


def money_over_max(amount: Decimal, what: str) -> str | None:
    """Why ``amount`` (``what``: "The line's amount", ...) cannot be stored, or None when it can."""
    if amount <= MONEY_MAX:
        return None
    return f"{what}, {amount:,}, is more than the hub can hold (at most {MONEY_MAX:,})."


def line_amount_over_max(quantity: Decimal, unit_price: Decimal, currency: str = "") -> str | None:
    """money_over_max for a line of ``quantity`` × ``unit_price`` (rounded to the cent, as stored)."""
    amount = (quantity * unit_price).quantize(Decimal(10) ** -MONEY_PLACES)
    priced = f"{unit_price} {currency}" if currency else f"{unit_price}"
    return money_over_max(amount, f"The line's amount ({quantity} × {priced})")


def quantity_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(max_digits=14, decimal_places=3, **kwargs)


def quantity_label(value: Decimal) -> str:
    """A quantity as people read it: "10" and "2.5" rather than the stored "10.000" and "2.500"."""
    return format(Decimal(value).normalize(), "f")


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


class SystemKind(models.TextChoices):
    CRM = "crm", "CRM"
    ERP = "erp", "ERP"
    WMS = "wms", "Warehouse (WMS)"
    TMS = "tms", "Transport (TMS)"
    ECOMMERCE = "ecommerce", "Ecommerce storefront"
    SUPPLIER = "supplier", "Supplier"
    CARRIER = "carrier", "Carrier"
    HUB = "hub", "Integration hub"


class System(TimeStamped):
    """An external application the hub connects to (or the hub itself)."""

    code = models.SlugField(max_length=40, unique=True, help_text="Short stable code used in URLs, e.g. 'erp'.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=SystemKind.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Domain(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    PRODUCTS = "products", "Products"
    PRICES = "prices", "Prices"
    INVENTORY = "inventory", "Inventory"
    ORDERS = "orders", "Orders"
    SHIPMENTS = "shipments", "Shipments"
    INVOICES = "invoices", "Invoices"
    RETURNS = "returns", "Returns"
    SUPPLIER_COMMITMENTS = "supplier_commitments", "Supplier commitments"


class SystemOfRecord(TimeStamped):
    """Which system is authoritative for a domain; writes from any other system are refused."""

    domain = models.CharField(max_length=30, choices=Domain.choices, unique=True)
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="owned_domains")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["domain"]
        verbose_name = "system of record"
        verbose_name_plural = "system-of-record table"

    def __str__(self) -> str:
        return f"{self.get_domain_display()} → {self.system.code}"


class EntityType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    CONTACT = "contact", "Contact"
    ADDRESS = "address", "Address"
    PRODUCT = "product", "Product"
    PRICE_LIST = "price_list", "Price list"
    CONTRACT_PRICE = "contract_price", "Contract price"
    LOCATION = "location", "Location"
    ORDER = "order", "Order"
    SHIPMENT = "shipment", "Shipment"
    INVOICE = "invoice", "Invoice"
    RETURN = "return", "Return (RMA)"
    CREDIT_MEMO = "credit_memo", "Credit memo"
    PURCHASE_ORDER = "purchase_order", "Purchase order"
    ADVANCE_SHIP_NOTICE = "asn", "Advance ship notice"


class ExternalRef(TimeStamped):
    """The id one external system uses for one canonical record."""

    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="external_refs")
    entity_type = models.CharField(max_length=30, choices=EntityType.choices)
    external_id = models.CharField(max_length=200)
    object_id = models.BigIntegerField(help_text="Primary key of the canonical record.")

    class Meta:
        ordering = ["system", "entity_type", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "entity_type", "external_id"], name="externalref_unique_per_system_entity"
            ),
            models.CheckConstraint(condition=~models.Q(external_id=""), name="externalref_id_not_blank"),
        ]
        indexes = [models.Index(fields=["entity_type", "object_id"], name="externalref_object_idx")]

    def __str__(self) -> str:
        return f"{self.system.code}:{self.entity_type}:{self.external_id} → {self.object_id}"
