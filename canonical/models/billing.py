"""Invoices, returns (RMA) and credit memos."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from canonical.models.base import TimeStamped, money_field, quantity_field, quantity_label
from canonical.models.catalog import Product
from canonical.models.customers import Customer
from canonical.models.fulfilment import Shipment
from canonical.models.orders import Order, OrderLine
from canonical.state import TransitionTable


class InvoiceStatus(models.TextChoices):
    POSTED = "posted", "Posted"
    PAID = "paid", "Paid"
    DISPUTED = "disputed", "Disputed"
    CREDITED = "credited", "Credited"


OPEN_INVOICE_STATUSES = frozenset({InvoiceStatus.POSTED, InvoiceStatus.DISPUTED})
# A dispute is resolved back to posted (or settled by payment or credit); a credited invoice is final.
INVOICE_TRANSITIONS = TransitionTable(
    "Invoice",
    {
        InvoiceStatus.POSTED: {InvoiceStatus.PAID, InvoiceStatus.DISPUTED, InvoiceStatus.CREDITED},
        InvoiceStatus.DISPUTED: {InvoiceStatus.POSTED, InvoiceStatus.PAID, InvoiceStatus.CREDITED},
        InvoiceStatus.PAID: {InvoiceStatus.DISPUTED, InvoiceStatus.CREDITED},
        InvoiceStatus.CREDITED: set(),
    },
)


class Invoice(TimeStamped):
    number = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices")
    shipment = models.ForeignKey(
        Shipment, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    status = models.CharField(max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.POSTED)
    currency = models.CharField(max_length=3, default="USD")
    amount = money_field(default=Decimal("0"))
    amount_paid = money_field(default=Decimal("0"))
    issued_at = models.DateTimeField()
    due_date = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.TextField(blank=True)
    # What the open dispute contests (the whole amount or part of it); empty when none is open.
    disputed_amount = money_field(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_not_negative"),
            models.CheckConstraint(condition=Q(amount_paid__gte=0), name="invoice_paid_not_negative"),
        ]
        indexes = [models.Index(fields=["customer", "status"], name="invoice_customer_status_idx")]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field()
    unit_price = money_field()
    amount = money_field()

    class Meta:
        ordering = ["invoice", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="invoiceline_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id} @ {self.unit_price}"


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "RMA requested"
    AUTHORISED = "authorised", "Authorised"
    RECEIVED = "received", "Received"
    CREDITED = "credited", "Credited"
    REJECTED = "rejected", "Rejected"


R = ReturnStatus
RETURN_TRANSITIONS = TransitionTable(
    "Return",
    {
        R.REQUESTED: {R.AUTHORISED, R.REJECTED},
        R.AUTHORISED: {R.RECEIVED, R.REJECTED},
        R.RECEIVED: {R.CREDITED, R.REJECTED},
        R.CREDITED: set(),
        R.REJECTED: set(),
    },
)


class ReturnAuthorization(TimeStamped):
    number = models.CharField(max_length=40, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=20, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    reason = models.CharField(max_length=300, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField()
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "return (RMA)"
        verbose_name_plural = "returns (RMA)"

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    rma = models.ForeignKey(ReturnAuthorization, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity_requested = quantity_field()
    quantity_received = quantity_field()
    refusal_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the return rules refused this line (empty when it passed)."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity_requested__gt=0), name="returnline_requested_positive"),
            models.CheckConstraint(condition=Q(quantity_received__gte=0), name="returnline_received_not_negative"),
        ]

    def __str__(self) -> str:
        # Shown as the heading of each line on its return's page: load the order line and product with it.
        line = self.order_line
        return f"{quantity_label(self.quantity_requested)} × {line.product.sku} from line {line.line_number}"


class CreditMemo(TimeStamped):
    number = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_memos")
    rma = models.ForeignKey(
        ReturnAuthorization, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_memos"
    )
    invoice = models.ForeignKey(Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_memos")
    currency = models.CharField(max_length=3, default="USD")
    amount = money_field()
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="creditmemo_amount_positive")]

    def __str__(self) -> str:
        return self.number
