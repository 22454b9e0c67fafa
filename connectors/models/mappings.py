"""Declarative, versioned mappings between the canonical payload and a partner's shape."""

from __future__ import annotations

from django.db import models


class MappingDirection(models.TextChoices):
    OUTBOUND = "outbound", "Canonical → partner"
    INBOUND = "inbound", "Partner → canonical"


class Mapping(models.Model):
    name = models.SlugField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    direction = models.CharField(max_length=10, choices=MappingDirection.choices)
    description = models.TextField(blank=True)
    spec = models.JSONField(help_text="Field paths, value maps, defaults and required fields.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="mapping_unique_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
