"""Shipment visibility latency: how long a milestone takes from happening to reaching subscribers.

Three times per milestone:

* ``occurred_at``: when it happened, by the sender's clock;
* ``received_at``: when the hub heard of it (the partner's message arrived);
* ``delivered_at``: the first successful delivery of its ``shipment.milestone`` event to any
  subscriber (CRM, storefront, ...), read from the dispatcher's own Delivery rows.

Computed here rather than copied onto the milestone: the delivery record is the fact (replays,
late retries and new subscriptions included), and the dispatcher's hot path stays free of it.
A milestone none of whose subscribers has been reached yet has no delivered time and counts as
pending.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from canonical.models import ShipmentMilestone
from connectors.models import Delivery, DeliveryStatus

STAGES = (
    ("occurred_to_received", "occurred → received by the hub"),
    ("received_to_delivered", "received → delivered to a subscriber"),
    ("occurred_to_delivered", "occurred → delivered (end to end)"),
)


def milestones_with_delivery(queryset: QuerySet | None = None) -> QuerySet:
    """Milestones annotated with ``delivered_at``: their event's first successful delivery, or None."""
    queryset = ShipmentMilestone.objects.all() if queryset is None else queryset
    first_delivery = (
        Delivery.objects.filter(event_id=OuterRef("event_id"), status=DeliveryStatus.DELIVERED)
        .order_by("delivered_at")
        .values("delivered_at")[:1]
    )
    return queryset.annotate(delivered_at=Subquery(first_delivery))


@dataclass(frozen=True)
class MilestoneLatency:
    milestone_id: int
    shipment_id: int
    code: str
    occurred_at: datetime.datetime
    received_at: datetime.datetime
    delivered_at: datetime.datetime | None

    @property
    def occurred_to_received(self) -> float:
        return (self.received_at - self.occurred_at).total_seconds()

    @property
    def received_to_delivered(self) -> float | None:
        return None if self.delivered_at is None else (self.delivered_at - self.received_at).total_seconds()

    @property
    def occurred_to_delivered(self) -> float | None:
        return None if self.delivered_at is None else (self.delivered_at - self.occurred_at).total_seconds()


def milestone_latencies(*, since: datetime.datetime | None = None, limit: int = 50_000) -> list[MilestoneLatency]:
    """The latest milestones the hub received (since ``since``), newest first, with their three times."""
    queryset = ShipmentMilestone.objects.order_by("-received_at", "-id")
    if since is not None:
        queryset = queryset.filter(received_at__gte=since)
    rows = milestones_with_delivery(queryset).values_list(
        "pk", "shipment_id", "code", "occurred_at", "received_at", "delivered_at"
    )[:limit]
    return [MilestoneLatency(*row) for row in rows]


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least ``fraction`` of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class StageSummary:
    stage: str
    label: str
    count: int
    p50: float | None
    p95: float | None
    max: float | None


@dataclass(frozen=True)
class LatencyReport:
    since: datetime.datetime | None
    milestones: int
    pending: int
    stages: list[StageSummary]


def latency_report(*, since: datetime.datetime | None = None, limit: int = 50_000) -> LatencyReport:
    """p50, p95 and max of each stage, in seconds, over the milestones received since ``since``."""
    rows = milestone_latencies(since=since, limit=limit)
    stages = []
    for name, label in STAGES:
        values = [value for row in rows if (value := getattr(row, name)) is not None]
        stages.append(StageSummary(
            stage=name, label=label, count=len(values), p50=percentile(values, 0.50), p95=percentile(values, 0.95),
            max=max(values) if values else None,
        ))
    return LatencyReport(
        since=since, milestones=len(rows), pending=sum(1 for row in rows if row.delivered_at is None), stages=stages,
    )


def default_since(hours: int = 24) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=hours)
