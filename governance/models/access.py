"""What a consumer may call: subscriptions to API versions and the rate plans that bound them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from governance.models.consumers import Consumer
from governance.models.registry import ApiVersion


class RatePlan(models.Model):
    """Request limits for a consumer: per second (burst), per minute and per day. Empty means no limit."""

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    burst = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Most requests allowed within any one second.",
    )
    per_minute = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    per_day = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    is_default = models.BooleanField(
        default=False, help_text="Applies to consumers and subscriptions that have no plan of their own."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="governance_one_default_rate_plan"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def limits(self) -> list[tuple[str, int, int]]:
        """[(window name, window seconds, limit)] for the limits this plan sets."""
        pairs = [("second", 1, self.burst), ("minute", 60, self.per_minute), ("day", 86_400, self.per_day)]
        return [(name, seconds, limit) for name, seconds, limit in pairs if limit]


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class ApiSubscription(models.Model):
    """A consumer's permission to call one API version (and compatible releases of its major)."""

    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE, related_name="subscriptions")
    version = models.ForeignKey(ApiVersion, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=8, choices=SubscriptionStatus.choices, default=SubscriptionStatus.PENDING)
    rate_plan = models.ForeignKey(
        RatePlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="subscriptions",
        help_text="Overrides the consumer's plan for calls to this API.",
    )
    note = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = "API subscription"
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "version"], condition=~models.Q(status="revoked"),
                name="governance_one_live_subscription",
            ),
        ]
        indexes = [models.Index(fields=["consumer", "status"], name="governance_sub_consumer_status")]

    def __str__(self) -> str:
        return f"{self.consumer.name} → {self.version.label} ({self.status})"
