"""Shipments, the order lines they carry, and milestones from warehouses and carriers."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from canonical.models.base import System, TimeStamped, quantity_field
from canonical.models.events import BusinessEvent
from canonical.models.inventory import Location
from canonical.models.orders import Order, OrderLine


class MilestoneCode(models.TextChoices):
    CREATED = "created", "Created"
    PICKED = "picked", "Picked"
    PACKED = "packed", "Packed"
    DISPATCHED = "dispatched", "Dispatched"
    IN_TRANSIT = "in_transit", "In transit"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Exception"


# Progress order of milestones; a shipment's status only ever moves forward along it.
# "exception" is recorded but does not move the status.
MILESTONE_RANK = {
    MilestoneCode.CREATED: 0,
    MilestoneCode.PICKED: 1,
    MilestoneCode.PACKED: 2,
    MilestoneCode.DISPATCHED: 3,
    MilestoneCode.IN_TRANSIT: 4,
    MilestoneCode.DELIVERED: 5,
}


class Shipment(TimeStamped):
    number = models.CharField(max_length=40, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=MilestoneCode.choices, default=MilestoneCode.CREATED)
    carrier = models.CharField(max_length=80, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "status"], name="shipment_order_idx")]

    def __str__(self) -> str:
        return self.number


class ShipmentLine(TimeStamped):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = quantity_field()

    class Meta:
        ordering = ["shipment", "order_line"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "order_line"], name="shipmentline_unique_order_line"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipmentline_quantity_positive"),
        ]


class ShipmentMilestone(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="milestones")
    code = models.CharField(max_length=20, choices=MilestoneCode.choices)
    occurred_at = models.DateTimeField(help_text="When it happened, by the source system's clock.")
    received_at = models.DateTimeField(
        default=timezone.now,
        help_text="When the hub heard of it: when the partner's message arrived (before any queueing).",
    )
    source_system = models.ForeignKey(System, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location_text = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    event = models.ForeignKey(
        BusinessEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The shipment.milestone event that carries it to subscribers (visibility latency is measured "
        "to that event's first delivery).",
    )

    class Meta:
        ordering = ["shipment", "occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "code", "occurred_at"], name="milestone_unique_per_shipment_time"
            )
        ]
        indexes = [models.Index(fields=["received_at"], name="milestone_received_idx")]

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.code} @ {self.occurred_at:%Y-%m-%d %H:%M}"
