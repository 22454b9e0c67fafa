"""Messages partners send to the hub, stored as received before anything else happens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from canonical.models import System
from connectors.models.connectors import Connector


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed (kept, exception opened)"
    REJECTED = "rejected", "Rejected before processing (authentication)"
    DUPLICATE = "duplicate", "Repeat of an earlier message (answered with its outcome)"


class InboundMessage(models.Model):
    system = models.ForeignKey(System, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    connector = models.ForeignKey(Connector, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message_type = models.CharField(max_length=80)
    sender_message_id = models.CharField(max_length=200, null=True, blank=True)
    sender = models.CharField(max_length=150, blank=True, help_text="Who sent it: the consumer or remote address.")
    authenticated = models.BooleanField(default=False)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True, help_text="The body exactly as received.")
    content_type = models.CharField(max_length=120, blank=True)
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_attempts = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, help_text="The first outcome, returned to repeats.")
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeats",
        help_text="The earlier message with the same sender message id, whose outcome answered this one.",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "sender_message_id"],
                condition=Q(sender_message_id__isnull=False),
                name="inbound_dedupe_sender_message_id",
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_status_idx")]

    def __str__(self) -> str:
        return f"{self.message_type} from {self.system_id} #{self.pk}"


class InboundMessageRevision(models.Model):
    """A staff edit of an inbound body before reprocessing, with the diff kept."""

    message = models.ForeignKey(InboundMessage, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    diff = models.TextField()
    note = models.TextField(blank=True)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message", "edited_at"]

    def __str__(self) -> str:
        return f"revision of message {self.message_id} by {self.edited_by}"
