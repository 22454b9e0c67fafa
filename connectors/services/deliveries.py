"""What people and the dispatcher do to deliveries: back off, go dead (opening an exception),
retry a dead one, and replay events to their subscribers again.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from canonical.context import Actor
from canonical.errors import CanonicalError
from canonical.events import EVENT_TYPES
from canonical.models import BusinessEvent, Customer, Invoice, Order, PurchaseOrder, Shipment
from canonical.services.events import audit_record
from connectors.kinds.base import AUTHENTICATION, TransportError
from connectors.models import Connector, Delivery, DeliveryStatus, Severity, Subscription, Team
from connectors.services.exceptions import exception_raise
from connectors.services.relay import (
    delivery_for,
    event_type_matches,
    subscription_matches,
    subscriptions_active,
)

# 2 ** 60 seconds is far past any cap; the bound only keeps the float arithmetic finite.
_MAX_EXPONENT = 60


class DeliveryActionRefused(CanonicalError):
    status_code = 409
    slug = "delivery-action-refused"
    title = "Delivery action refused"


def backoff_delay(connector: Connector, *, attempt: int, retry_after: float | None = None) -> float:
    """Seconds before try ``attempt + 1``: exponential, capped, full jitter; a longer Retry-After wins."""
    exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
    ceiling = min(connector.backoff_cap_seconds, connector.backoff_base_seconds * 2**exponent)
    delay = random.uniform(0, ceiling) if connector.backoff_jitter else ceiling
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return delay


# Aggregate type → (model, the other records an exception about it should link).
_AGGREGATE_LINKS: dict[str, tuple[type, tuple[str, ...]]] = {
    "order": (Order, ("customer_id",)),
    "customer": (Customer, ()),
    "shipment": (Shipment, ("order_id", "order__customer_id")),
    "invoice": (Invoice, ("customer_id", "order_id")),
    "purchase_order": (PurchaseOrder, ()),
}
_LINK_FIELD = {"order__customer_id": "customer_id"}


def business_links(event: BusinessEvent) -> dict[str, int]:
    """The business records an event's aggregate points to, as exception link ids."""
    known = _AGGREGATE_LINKS.get(event.aggregate_type)
    if known is None or not str(event.aggregate_id).isdigit():
        return {}
    model, related = known
    row = model.objects.filter(pk=int(event.aggregate_id)).values("pk", *related).first()
    if row is None:
        return {}
    links = {f"{event.aggregate_type}_id": row["pk"]}
    for name in related:
        if row[name] is not None:
            links.setdefault(_LINK_FIELD.get(name, name), row[name])
    return links


def delivery_dead_exception_raise(*, delivery: Delivery, error: TransportError, attempts: int):
    """Open (or count again) the exception of a dead delivery, with its business context."""
    event = delivery.event
    subscription = delivery.subscription
    connector = subscription.connector
    aggregate = f"{event.aggregate_type}:{event.aggregate_id}"
    reason = "refused at once" if error.permanent else f"gave up after {attempts} attempts"
    detail = error.message + (f"\n\nResponse: {error.response_excerpt}" if error.response_excerpt else "")
    return exception_raise(
        category=error.category,
        team=Team.INTEGRATION,
        severity=Severity.HIGH if error.category == AUTHENTICATION else Severity.MEDIUM,
        title=f"{event.event_type} for {aggregate} not delivered to {connector.name} ({reason}): {error.message}",
        fingerprint=f"delivery:{delivery.pk}",
        actor=Actor.hub(correlation_id=event.correlation_id or None).caused_by(event.event_id),
        detail=detail,
        context={
            "event_id": str(event.event_id),
            "event_type": event.event_type,
            "aggregate": aggregate,
            "sequence": event.sequence,
            "subscription": subscription.name,
            "connector": connector.code,
            "attempts": attempts,
            "status_code": error.status_code,
            "permanent": error.permanent,
        },
        workflow_step="outbound delivery",
        delivery=delivery,
        connector=connector,
        **business_links(event),
    )


def delivery_retry(*, delivery: Delivery | int, actor: Actor) -> Delivery:
    """Send a dead delivery again now, with a fresh set of attempts.

    Its exception stays open until the delivery succeeds; the dispatcher then resolves it.
    """
    pk = delivery.pk if isinstance(delivery, Delivery) else delivery
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().get(pk=pk)
        if locked.status != DeliveryStatus.DEAD:
            raise DeliveryActionRefused(
                f"Delivery {pk} is {locked.get_status_display().lower()}; only a dead delivery can be retried."
            )
        before = {"status": locked.status, "attempts": locked.attempts, "last_error": locked.last_error}
        locked.status = DeliveryStatus.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.lease_until = None
        locked.leased_by = ""
        locked.save(update_fields=["status", "attempts", "next_attempt_at", "lease_until", "leased_by", "updated_at"])
        audit_record(
            actor=actor, action="delivery.retried", object_type="delivery", object_id=pk,
            before=before, after={"status": locked.status, "attempts": 0},
        )
    return locked


@dataclass
class ReplayResult:
    events: int = 0
    requeued: int = 0
    created: int = 0
    skipped_in_flight: int = 0
    dry_run: bool = False

    @property
    def queued(self) -> int:
        return self.requeued + self.created


def _event_type_query(patterns: list[str]) -> Q:
    unknown = [p for p in patterns if not any(event_type_matches([p], known) for known in EVENT_TYPES)]
    if unknown:
        raise DeliveryActionRefused(
            f"No event type matches {', '.join(repr(p) for p in unknown)}; known types include "
            f"{', '.join(sorted(EVENT_TYPES)[:8])}, …", field="event_types",
        )
    query = Q()
    for pattern in patterns:
        if "*" not in pattern and "?" not in pattern and "[" not in pattern:
            query |= Q(event_type=pattern)
        else:
            regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
            query |= Q(event_type__regex=f"^{regex}$")
    return query


def _replay_events(
    *, since: datetime | None, until: datetime | None, event_types: list[str] | None,
    aggregate_type: str | None, aggregate_id: str | None, has_subscription: bool,
):
    if not any([since, until, event_types, aggregate_type, has_subscription]):
        raise DeliveryActionRefused("Name what to replay: a time window, event types, an aggregate or a subscription.")
    if since and until and since >= until:
        raise DeliveryActionRefused(f"The window is empty: since ({since.isoformat()}) is not before until.")
    events = BusinessEvent.objects.filter(relayed_at__isnull=False)
    if since:
        events = events.filter(recorded_at__gte=since)
    if until:
        events = events.filter(recorded_at__lt=until)
    if event_types:
        events = events.filter(_event_type_query(list(event_types)))
    if aggregate_type:
        events = events.filter(aggregate_type=aggregate_type, aggregate_id=str(aggregate_id))
    return events


def _replay_chunk(events: list[BusinessEvent], *, subscriptions: list[Subscription], only: Subscription | None,
                  dry_run: bool, result: ReplayResult) -> None:
    now = timezone.now()
    existing = Delivery.objects.filter(event__in=events)
    if only is not None:
        existing = existing.filter(subscription=only)
    have = set()
    requeue = []
    for pk, event_id, subscription_id, status, lease_until in existing.values_list(
        "pk", "event_id", "subscription_id", "status", "lease_until"
    ):
        have.add((subscription_id, event_id))
        if status == DeliveryStatus.IN_FLIGHT and lease_until and lease_until >= now:
            result.skipped_in_flight += 1
        else:
            requeue.append(pk)
    missing = [
        delivery_for(subscription, event, now=now)
        for event in events
        for subscription in subscriptions
        if (subscription.pk, event.pk) not in have and subscription_matches(subscription, event)
    ]
    result.requeued += len(requeue)
    result.created += len(missing)
    if dry_run:
        return
    Delivery.objects.filter(pk__in=requeue).exclude(status=DeliveryStatus.IN_FLIGHT, lease_until__gte=now).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, lease_until=None, leased_by="",
        updated_at=now,
    )
    Delivery.objects.bulk_create(missing, ignore_conflicts=True)


def deliveries_replay(
    *,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    event_types: list[str] | None = None,
    aggregate: str | None = None,
    aggregate_type: str | None = None,
    aggregate_id: str | int | None = None,
    subscription: Subscription | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    chunk_size: int = 500,
) -> ReplayResult:
    """Send the matching events again: their deliveries go back to pending now (attempts reset),
    and subscribers that match but never had one get one. Receivers de-duplicate by event id.

    ``aggregate`` is "type:id" (or give ``aggregate_type`` and ``aggregate_id``); ``subscription``
    limits the replay to one subscriber. Large replays commit chunk by chunk: an interrupted one
    has re-sent a prefix, which is harmless under at-least-once delivery.
    """
    if aggregate:
        aggregate_type, _, aggregate_id = aggregate.partition(":")
        if not aggregate_type or not aggregate_id:
            raise DeliveryActionRefused(f"Give the aggregate as type:id, not '{aggregate}'.", field="aggregate")
    elif (aggregate_type is None) != (aggregate_id is None):
        raise DeliveryActionRefused("Give both aggregate_type and aggregate_id.", field="aggregate")
    if subscription is not None and not subscription.is_active:
        raise DeliveryActionRefused(f"Subscription '{subscription}' is not active.", field="subscription")
    events = _replay_events(
        since=since, until=until, event_types=event_types, aggregate_type=aggregate_type,
        aggregate_id=aggregate_id, has_subscription=subscription is not None,
    )
    subscriptions = [subscription] if subscription is not None else subscriptions_active()
    result = ReplayResult(events=events.count(), dry_run=dry_run)
    done = 0
    last_pk = 0
    if progress:
        progress(0, result.events)
    while True:
        batch = list(events.filter(pk__gt=last_pk).order_by("pk")[:chunk_size])
        if not batch:
            break
        with transaction.atomic():
            _replay_chunk(batch, subscriptions=subscriptions, only=subscription, dry_run=dry_run, result=result)
        last_pk = batch[-1].pk
        done += len(batch)
        if progress:
            progress(done, result.events)
    if not dry_run:
        criteria = {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "event_types": list(event_types or []),
            "aggregate": f"{aggregate_type}:{aggregate_id}" if aggregate_type else None,
            "subscription": subscription.pk if subscription is not None else None,
        }
        with transaction.atomic():
            audit_record(
                actor=actor, action="deliveries.replayed", object_type="subscription",
                object_id=subscription.pk if subscription is not None else "*",
                after={**criteria, **asdict(result)},
            )
    return result
