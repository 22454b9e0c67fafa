"""Helpers for the outbound delivery tests: record events, relay them, run dispatchers until done."""

from __future__ import annotations

import time

from django.db import transaction

from canonical.context import Actor
from canonical.services.events import event_record
from connectors.models import Delivery, DeliveryStatus
from connectors.services.dispatch import deliveries_dispatch
from connectors.services.relay import events_relay

_next_aggregate = iter(range(10_000_000, 20_000_000))


def record_event(event_type: str = "order.created", *, aggregate_id=None, payload: dict | None = None,
                 correlation_id: str | None = None):
    aggregate_type = event_type.split(".")[0]
    with transaction.atomic():
        return event_record(
            event_type=event_type, aggregate_type=aggregate_type,
            aggregate_id=aggregate_id if aggregate_id is not None else next(_next_aggregate),
            payload=payload if payload is not None else {"order": {"number": "SO-1", "currency": "USD"}},
            actor=Actor.hub(correlation_id=correlation_id),
        )


def deliver_all(*, worker: str = "test-worker", rounds: int = 200, pause: float = 0.02, batch: int = 50) -> None:
    """Relay and dispatch until no delivery is pending or in flight (or the rounds run out)."""
    for _ in range(rounds):
        events_relay()
        deliveries_dispatch(worker=worker, batch=batch)
        if not Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT]).exists():
            return
        time.sleep(pause)
    raise AssertionError("deliveries still pending after all rounds")


def due_now(*deliveries: Delivery) -> None:
    """Skip the backoff wait of these deliveries (the test is about what happens next, not the wait)."""
    from django.utils import timezone

    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(next_attempt_at=timezone.now())
