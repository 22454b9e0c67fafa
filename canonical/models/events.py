"""The transactional outbox of business events, and the append-only audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from canonical.models.base import System


class BusinessEvent(models.Model):
    """One business fact, written in the same transaction as the change that caused it.

    ``event_id`` is the globally unique id receivers de-duplicate by. ``feed_position`` is
    the pull feed's cursor, numbered by the relay in commit order (see EventFeed): ``id``
    cannot be the cursor, because an event with a lower id can commit after one with a
    higher id, and a poller that had moved past the higher one would never see it.
    """

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=80)
    schema_version = models.PositiveIntegerField(default=1)
    aggregate_type = models.CharField(max_length=40)
    aggregate_id = models.CharField(max_length=64)
    sequence = models.PositiveIntegerField(help_text="Position of this event within its aggregate, from 1.")
    payload = models.JSONField()
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)
    causation_id = models.CharField(max_length=100, blank=True)
    source_system = models.ForeignKey(System, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(max_length=150, blank=True, help_text="user:<name> or system:<code>")
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    relayed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the relay turned this event into deliveries for its subscribers."
    )
    feed_position = models.BigIntegerField(
        null=True, blank=True, unique=True, editable=False,
        help_text="Position in the pull feed (GET /api/v1/events), given when the relay hands the event on.",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            # Its index also serves every look-up by aggregate (the next sequence, the timeline);
            # a second index on the same columns only cost each event INSERT (dropped in 0006).
            models.UniqueConstraint(
                fields=["aggregate_type", "aggregate_id", "sequence"], name="event_unique_aggregate_sequence"
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="event_sequence_from_one"),
        ]
        indexes = [
            models.Index(fields=["event_type", "id"], name="event_type_idx"),
            models.Index(fields=["recorded_at"], name="event_recorded_idx"),
            # The relay scans only events it has not handed on yet; this index stays small.
            models.Index(fields=["id"], condition=Q(relayed_at__isnull=True), name="event_unrelayed_idx"),
            models.Index(fields=["id"], condition=Q(feed_position__isnull=True), name="event_unnumbered_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_type}:{self.aggregate_id}#{self.sequence}"


class EventFeed(models.Model):
    """The pull feed's high-water mark: one row, locked by whoever numbers events.

    Holding this row's lock from numbering until commit makes feed positions follow commit
    order: a reader that sees position p also sees every position below p.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_position = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="event_feed_single_row")]

    def __str__(self) -> str:
        return f"event feed at {self.last_position}"


class AuditEntry(models.Model):
    """Who did what to which record, when, with the state before and after. Never edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_system = models.ForeignKey(System, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    correlation_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        who = self.actor_user or self.actor_system or "hub"
        return f"{self.at:%Y-%m-%d %H:%M} {who} {self.action} {self.object_type}:{self.object_id}"
