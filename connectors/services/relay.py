"""The relay: turns business events from the outbox into deliveries, one row per subscriber.

Why a relay and not deliveries written in the event's own transaction: ``canonical``
records events and must not import ``connectors`` (dependencies point one way), and
a write path should not pay for matching subscriptions. So canonical only appends
the event; the relay hands it on later. It cannot skip an event because it does not
keep a cursor: every event carries its own marker, ``relayed_at``, and the relay takes
the unmarked events oldest first and, in ONE transaction, creates their deliveries and
sets the marker. A crash before the commit leaves the events unmarked and their
deliveries uncreated, so the next run does the whole batch again; a crash after leaves
both. ``(subscription, event)`` is unique, so even a race cannot deliver an event twice
to one subscriber.

On PostgreSQL concurrent relays take disjoint batches (``FOR UPDATE SKIP LOCKED``); on
SQLite the IMMEDIATE transaction serialises them. In the same transaction the relay gives
each event its pull-feed position (``events_feed_number``), so the feed at
``GET /api/v1/events`` shows an event exactly when its deliveries exist, in commit order.
Events written as history (``relayed_at`` already set, no subscriber is sent them) only
get their position here when they have none yet. The dispatcher does not send an
ordered event while an earlier event of the same aggregate is still unrelayed, so
relays finishing out of order cannot reorder an aggregate's deliveries.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from canonical.models import BusinessEvent
from canonical.services.events import events_feed_number
from connectors.mapping.pointers import MISSING, parse, resolve
from connectors.models import Delivery, DeliveryStatus, Direction, Subscription

SENDING_DIRECTIONS = (Direction.OUTBOUND, Direction.BOTH)


def ordering_key_for(event: BusinessEvent) -> str:
    return f"{event.aggregate_type}:{event.aggregate_id}"[:120]


def subscriptions_active() -> list[Subscription]:
    """Subscriptions that take new events. Paused or disabled connectors still get deliveries: they wait."""
    return list(
        Subscription.objects.filter(is_active=True, connector__direction__in=SENDING_DIRECTIONS).order_by("id")
    )


def event_type_matches(patterns: Iterable[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns)


def payload_matches(filters: dict, payload) -> bool:
    """Every filter (JSON pointer → expected value) holds for the payload; a missing field does not match."""
    for pointer, expected in (filters or {}).items():
        try:
            value, _ = resolve(payload, parse(pointer))
        except ValueError:
            return False
        if value is MISSING or value != expected:
            return False
    return True


def subscription_matches(subscription: Subscription, event: BusinessEvent) -> bool:
    return event_type_matches(subscription.event_types or [], event.event_type) and payload_matches(
        subscription.filters, event.payload
    )


def delivery_for(subscription: Subscription, event: BusinessEvent, *, now) -> Delivery:
    return Delivery(
        subscription=subscription,
        event=event,
        status=DeliveryStatus.PENDING,
        ordering_key=ordering_key_for(event) if subscription.ordered else "",
        next_attempt_at=now,
    )


def _deliveries_create(deliveries: list[Delivery]) -> None:
    Delivery.objects.bulk_create(deliveries, batch_size=500, ignore_conflicts=True)


def _events_mark(event_ids: list[int], *, now) -> None:
    BusinessEvent.objects.filter(pk__in=event_ids).update(relayed_at=now)


def events_relay(*, limit: int = 500) -> int:
    """Create the deliveries of up to ``limit`` unrelayed events, oldest first, and give them their
    feed positions; return how many events."""
    # A cheap look first (the partial index of unnumbered events), so an idle loop takes no write lock.
    if not BusinessEvent.objects.filter(feed_position__isnull=True).exists():
        return 0
    with transaction.atomic():
        events = list(
            BusinessEvent.objects.filter(feed_position__isnull=True)
            .order_by("id")
            .select_for_update(skip_locked=True)[:limit]
        )
        if not events:
            return 0
        now = timezone.now()
        unrelayed = [event for event in events if event.relayed_at is None]
        if unrelayed:
            subscriptions = subscriptions_active()
            deliveries = [
                delivery_for(subscription, event, now=now)
                for event in unrelayed
                for subscription in subscriptions
                if subscription_matches(subscription, event)
            ]
            _deliveries_create(deliveries)
            _events_mark([event.pk for event in unrelayed], now=now)
        events_feed_number(event_ids=[event.pk for event in events])
    return len(events)
