"""Orders and lines with the one canonical status lifecycle every system maps to."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from canonical.models.base import System, TimeStamped, money_field, quantity_field, quantity_label
from canonical.models.catalog import Product
from canonical.models.customers import Customer
from canonical.models.inventory import Location
from canonical.state import TransitionTable


class OrderStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    VALIDATED = "validated", "Validated"
    CREDIT_HOLD = "credit_hold", "Credit hold"
    RELEASED = "released", "Released from credit hold"
    ALLOCATED = "allocated", "Allocated"
    BACKORDERED = "backordered", "Backordered"
    SUBMITTED_TO_ERP = "submitted_to_erp", "Submitted to ERP"
    IN_FULFILMENT = "in_fulfilment", "In fulfilment"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    INVOICED = "invoiced", "Invoiced"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


S = OrderStatus
ORDER_TRANSITIONS = TransitionTable(
    "Order",
    {
        S.RECEIVED: {S.VALIDATED, S.CANCELLED},
        S.VALIDATED: {S.CREDIT_HOLD, S.ALLOCATED, S.BACKORDERED, S.CANCELLED},
        S.CREDIT_HOLD: {S.RELEASED, S.CANCELLED},
        S.RELEASED: {S.ALLOCATED, S.BACKORDERED, S.CANCELLED},
        S.ALLOCATED: {S.SUBMITTED_TO_ERP, S.BACKORDERED, S.CANCELLED},
        S.BACKORDERED: {S.ALLOCATED, S.SUBMITTED_TO_ERP, S.CANCELLED},
        S.SUBMITTED_TO_ERP: {S.IN_FULFILMENT, S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED},
        S.IN_FULFILMENT: {S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED},
        S.PARTIALLY_SHIPPED: {S.SHIPPED},
        # Back to partially shipped only when the warehouse corrects the shipped quantities down
        # (canonical.services.orders.order_shipped_quantities_sync).
        S.SHIPPED: {S.INVOICED, S.CLOSED, S.PARTIALLY_SHIPPED},
        S.INVOICED: {S.CLOSED},
        S.CLOSED: set(),
        S.CANCELLED: set(),
    },
)
# Orders in these states count towards the customer's credit exposure.
OPEN_ORDER_STATUSES = frozenset(
    {
        S.RECEIVED,
        S.VALIDATED,
        S.CREDIT_HOLD,
        S.RELEASED,
        S.ALLOCATED,
        S.BACKORDERED,
        S.SUBMITTED_TO_ERP,
        S.IN_FULFILMENT,
        S.PARTIALLY_SHIPPED,
        S.SHIPPED,
    }
)


class Order(TimeStamped):
    number = models.CharField(max_length=40, unique=True)
    # No index of its own: order_customer_status_idx starts with it (one index fewer on every write).
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", db_index=False)
    ship_to = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ship_to_orders")
    bill_to = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bill_to_orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.RECEIVED)
    currency = models.CharField(max_length=3, default="USD")
    total_amount = money_field(default=Decimal("0"))
    customer_po = models.CharField(max_length=60, blank=True, help_text="The customer's own PO number.")
    placed_at = models.DateTimeField()
    requested_date = models.DateField(null=True, blank=True)
    promised_date = models.DateField(null=True, blank=True)
    source_system = models.ForeignKey(System, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["customer", "status", "updated_at"], name="order_customer_status_idx"),
            models.Index(fields=["status", "updated_at"], name="order_status_updated_idx"),
        ]
        permissions = [("release_credit_hold", "Can release or reject orders on credit hold")]

    def __str__(self) -> str:
        return self.number


class OrderLine(TimeStamped):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = quantity_field()
    quantity_allocated = quantity_field()
    quantity_backordered = quantity_field()
    quantity_shipped = quantity_field()
    quantity_invoiced = quantity_field()
    quantity_returned = quantity_field()
    unit_price = money_field(default=Decimal("0"))
    price_rule = models.CharField(max_length=40, blank=True, help_text="Which rule produced the price.")
    requested_date = models.DateField(null=True, blank=True)
    promised_date = models.DateField(null=True, blank=True)
    is_drop_ship = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="orderline_unique_number"),
            models.CheckConstraint(condition=Q(quantity_ordered__gt=0), name="orderline_ordered_positive"),
            models.CheckConstraint(
                condition=Q(quantity_allocated__gte=0)
                & Q(quantity_backordered__gte=0)
                & Q(quantity_shipped__gte=0)
                & Q(quantity_invoiced__gte=0)
                & Q(quantity_returned__gte=0),
                name="orderline_quantities_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(quantity_shipped__lte=F("quantity_ordered")), name="orderline_shipped_within_ordered"
            ),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity_shipped")), name="orderline_returned_within_shipped"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_not_negative"),
        ]

    def __str__(self) -> str:
        # Shown as the heading of each line on its order's page: load the product with the line.
        return f"line {self.line_number} · {self.product.sku} × {quantity_label(self.quantity_ordered)}"

    @property
    def amount(self) -> Decimal:
        return (self.quantity_ordered * self.unit_price).quantize(Decimal("0.01"))
