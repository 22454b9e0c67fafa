"""Subscriptions and the deliveries of events to them: the hub's own record of at-least-once delivery."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from canonical.models import BusinessEvent
from connectors.models.connectors import Connector
from connectors.models.mappings import Mapping


class PayloadFormat(models.TextChoices):
    CANONICAL = "canonical", "Canonical event"
    MAPPED = "mapped", "Mapped to the partner's shape"


class Subscription(models.Model):
    name = models.CharField(max_length=120)
    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, related_name="subscriptions")
    event_types = models.JSONField(default=list, help_text='Patterns such as ["order.*", "shipment.dispatched"].')
    filters = models.JSONField(
        default=dict, blank=True, help_text='Payload conditions, e.g. {"/order/currency": "USD"} (JSON pointer → value).'
    )
    ordered = models.BooleanField(default=False, help_text="Per aggregate, one event at a time, in sequence.")
    payload_format = models.CharField(max_length=10, choices=PayloadFormat.choices, default=PayloadFormat.CANONICAL)
    mapping = models.ForeignKey(Mapping, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=300, blank=True, help_text="Appended to the connector's base URL.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["connector", "name"]
        constraints = [
            models.UniqueConstraint(fields=["connector", "name"], name="subscription_unique_name"),
            models.CheckConstraint(
                condition=Q(payload_format="canonical") | Q(mapping__isnull=False),
                name="subscription_mapped_needs_mapping",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connector.code}: {self.name}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead (needs a person)"


class Delivery(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="deliveries")
    event = models.ForeignKey(BusinessEvent, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    ordering_key = models.CharField(max_length=120, blank=True, help_text="aggregate_type:aggregate_id when ordered.")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=120, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="delivery_once_per_subscription_event"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status__in=["pending", "in_flight"]),
                name="delivery_due_idx",
            ),
            models.Index(fields=["subscription", "ordering_key", "event"], name="delivery_ordering_idx"),
            models.Index(fields=["status", "updated_at"], name="delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id} ({self.status})"


class AttemptOutcome(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    RETRY = "retry", "Failed, will retry"
    DEAD = "dead", "Failed, dead"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    response_excerpt = models.TextField(blank=True)
    worker = models.CharField(max_length=120, blank=True)
    correlation_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"
