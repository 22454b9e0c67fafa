"""Operational records of the hub itself."""

from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """Written by a scheduled django-q2 task; /readyz reads it to know a worker is alive."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%H:%M:%S}"


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` a consumer sent to a process API, and the response it got.

    Keys are scoped per consumer (``scope``). The fingerprint is a hash of the method, the path
    and the JSON body, so the same key with another request is recognised and refused. Records
    are kept until ``expires_at`` (at least 24 hours; hub.idempotency.idempotency_records_purge).
    """

    scope = models.CharField(max_length=120, help_text="Who sent the key: consumer:<id> or user:<id>.")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and canonical JSON body.")
    status = models.CharField(max_length=12, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(help_text="When the request now holding the key started.")
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique_per_scope")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} ({self.status})"
