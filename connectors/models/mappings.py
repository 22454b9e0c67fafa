"""Declarative, versioned mappings between the canonical payload and a partner's shape."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from connectors.models.connectors import Connector


class MappingDirection(models.TextChoices):
    OUTBOUND = "outbound", "Canonical → partner"
    INBOUND = "inbound", "Partner → canonical"


class Mapping(models.Model):
    name = models.SlugField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    direction = models.CharField(max_length=10, choices=MappingDirection.choices)
    description = models.TextField(blank=True)
    spec = models.JSONField(help_text="Field paths, value maps, defaults and required fields.")
    connector = models.ForeignKey(
        Connector, null=True, blank=True, on_delete=models.PROTECT, related_name="mappings",
        help_text="Inbound: the connector whose messages it translates.",
    )
    message_type = models.CharField(
        max_length=80, blank=True, help_text="Inbound: the message type it translates, e.g. 'order.status'."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="mapping_unique_version"),
            # Exactly one mapping translates a connector's messages of one type, so none is chosen by chance.
            models.UniqueConstraint(
                fields=["connector", "message_type"],
                condition=Q(is_active=True, direction="inbound", connector__isnull=False),
                name="mapping_one_active_inbound_per_type",
            ),
            models.CheckConstraint(
                condition=Q(direction="outbound") | Q(connector__isnull=False, message_type__gt=""),
                name="mapping_inbound_names_connector_and_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
