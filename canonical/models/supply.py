"""The supplier side: purchase orders, acknowledgements (with revisions) and advance ship notices."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from canonical.models.base import System, TimeStamped, money_field, quantity_field
from canonical.models.catalog import Product
from canonical.models.inventory import Location
from canonical.models.orders import Order, OrderLine
from canonical.state import TransitionTable


class PurchaseOrderKind(models.TextChoices):
    REPLENISHMENT = "replenishment", "Replenishment"
    DROP_SHIP = "drop_ship", "Drop-ship"


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent to supplier"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


P = PurchaseOrderStatus
# An acknowledged PO that the buyer changes is sent again; receipts close it.
PURCHASE_ORDER_TRANSITIONS = TransitionTable(
    "Purchase order",
    {
        P.DRAFT: {P.SENT, P.CANCELLED},
        P.SENT: {P.ACKNOWLEDGED, P.PARTIALLY_RECEIVED, P.RECEIVED, P.CANCELLED},
        P.ACKNOWLEDGED: {P.SENT, P.PARTIALLY_RECEIVED, P.RECEIVED, P.CANCELLED},
        P.PARTIALLY_RECEIVED: {P.RECEIVED},
        P.RECEIVED: set(),
        P.CANCELLED: set(),
    },
)


class PurchaseOrder(TimeStamped):
    number = models.CharField(max_length=40, unique=True)
    supplier = models.ForeignKey(
        System, on_delete=models.PROTECT, related_name="purchase_orders", limit_choices_to={"kind": "supplier"}
    )
    kind = models.CharField(max_length=20, choices=PurchaseOrderKind.choices, default=PurchaseOrderKind.REPLENISHMENT)
    status = models.CharField(max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT)
    ship_to_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="purchase_orders",
        help_text="The customer order a drop-ship PO fulfils.",
    )
    currency = models.CharField(max_length=3, default="USD")
    ordered_at = models.DateTimeField()
    requested_date = models.DateField(null=True, blank=True)
    confirmed_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        indexes = [models.Index(fields=["supplier", "status"], name="po_supplier_status_idx")]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field()
    unit_cost = money_field(default=0)
    confirmed_quantity = quantity_field(null=True, blank=True, default=None)
    confirmed_date = models.DateField(null=True, blank=True)
    received_quantity = quantity_field()
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="purchase_order_lines",
        help_text="The customer order line waiting on this supply.",
    )

    class Meta:
        ordering = ["purchase_order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "line_number"], name="poline_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="poline_quantity_positive"),
            models.CheckConstraint(condition=Q(received_quantity__gte=0), name="poline_received_not_negative"),
            models.CheckConstraint(
                condition=Q(confirmed_quantity__isnull=True) | Q(confirmed_quantity__gte=0),
                name="poline_confirmed_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id}/{self.line_number}"


class AcknowledgementStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    CHANGED = "changed", "Accepted with changes"
    REJECTED = "rejected", "Rejected"


class SupplierAcknowledgement(models.Model):
    """One acknowledgement or revision from the supplier; revisions are kept, never overwritten."""

    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="acknowledgements")
    revision = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(help_text="When the supplier sent it.")
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, choices=AcknowledgementStatus.choices, default=AcknowledgementStatus.ACCEPTED)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["purchase_order", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "revision"], name="ack_unique_revision"),
        ]

    def __str__(self) -> str:
        return f"ack r{self.revision} of PO {self.purchase_order_id}"


class SupplierAcknowledgementLine(models.Model):
    acknowledgement = models.ForeignKey(SupplierAcknowledgement, on_delete=models.CASCADE, related_name="lines")
    po_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.CASCADE, related_name="ack_lines")
    confirmed_quantity = quantity_field()
    confirmed_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(confirmed_quantity__gte=0), name="ackline_quantity_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.confirmed_quantity} by {self.confirmed_date}"


class AdvanceShipNotice(TimeStamped):
    number = models.CharField(max_length=60)
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="ship_notices")
    shipped_at = models.DateTimeField()
    expected_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=80, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["-shipped_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "number"], name="asn_unique_per_po"),
        ]

    def __str__(self) -> str:
        return self.number


class AdvanceShipNoticeLine(models.Model):
    asn = models.ForeignKey(AdvanceShipNotice, on_delete=models.CASCADE, related_name="lines")
    po_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="asn_lines")
    quantity = quantity_field()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="asnline_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} of PO line {self.po_line_id}"
