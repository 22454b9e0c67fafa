"""Event contracts: the JSON Schema of each business event type, versioned under a compatibility mode."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from governance.models.registry import Team


class CompatibilityMode(models.TextChoices):
    BACKWARD = "BACKWARD", "Backward (new readers read old events)"
    FORWARD = "FORWARD", "Forward (old readers read new events)"
    FULL = "FULL", "Full (both)"
    NONE = "NONE", "None (no check)"


class EventContract(models.Model):
    """The contract of one event type (e.g. ``order.created``) that subscribers rely on."""

    event_type = models.CharField(max_length=80, unique=True)
    aggregate_type = models.CharField(max_length=40, blank=True)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="contracts")
    compatibility = models.CharField(
        max_length=8, choices=CompatibilityMode.choices, default=CompatibilityMode.BACKWARD
    )
    transitive = models.BooleanField(
        default=False, help_text="Check a new schema against every earlier version, not only the latest."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event_type"]

    def __str__(self) -> str:
        return self.event_type


class EventContractVersion(models.Model):
    """One registered schema of an event contract; ``version`` matches the event's schema_version."""

    contract = models.ForeignKey(EventContract, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    schema = models.JSONField(help_text="JSON Schema of the event payload.")
    changelog = models.TextField(blank=True)
    compatibility_report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "version"], name="governance_contract_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.contract.event_type} v{self.version}"
