"""Locations, inventory positions (available-to-promise is derived, never stored) and reservations."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from canonical.models.base import System, TimeStamped, quantity_field
from canonical.models.catalog import Product


class LocationKind(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    STORE = "store", "Branch / store"
    SUPPLIER = "supplier", "Supplier site"


class Location(TimeStamped):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=LocationKind.choices, default=LocationKind.WAREHOUSE)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="US")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class InventoryPositionQuerySet(models.QuerySet):
    def with_available(self):
        return self.annotate(available=F("on_hand") - F("reserved"))


class InventoryPosition(TimeStamped):
    # No indexes of their own: the unique (product, location) and inventory_location_idx
    # (location, product) start with them, and every reservation rewrites a position's entries.
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="inventory", db_index=False)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="inventory", db_index=False)
    on_hand = quantity_field()
    reserved = quantity_field()
    in_transit = quantity_field()
    last_updated_at = models.DateTimeField(help_text="When the source system last reported this position.")
    last_updated_by = models.ForeignKey(
        System, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = InventoryPositionQuerySet.as_manager()

    class Meta:
        ordering = ["product", "location"]
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="inventory_one_position_per_location"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inventory_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="inventory_reserved_not_negative"),
            models.CheckConstraint(condition=Q(in_transit__gte=0), name="inventory_in_transit_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="inventory_reserved_within_on_hand"),
        ]
        indexes = [models.Index(fields=["location", "product"], name="inventory_location_idx")]

    def __str__(self) -> str:
        return f"{self.product.sku} @ {self.location.code}"

    @property
    def available_to_promise(self):
        return self.on_hand - self.reserved


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"
    CONSUMED = "consumed", "Consumed by shipment"


class Reservation(TimeStamped):
    """Stock held by one order line at one location."""

    order_line = models.ForeignKey("canonical.OrderLine", on_delete=models.CASCADE, related_name="reservations")
    # No index of its own: reservation_position_idx (position, status) starts with it.
    position = models.ForeignKey(InventoryPosition, on_delete=models.PROTECT, related_name="reservations",
                                 db_index=False)
    quantity = quantity_field()
    status = models.CharField(max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive")]
        indexes = [models.Index(fields=["position", "status"], name="reservation_position_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.position} for line {self.order_line_id}"
