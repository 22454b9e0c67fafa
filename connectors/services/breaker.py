"""The circuit breaker of each connector, kept on the connector row so every worker shares it.

closed → (``breaker_failure_threshold`` consecutive failed sends) → open → (cool-down
over) → half_open: one worker claims the probe atomically (``breaker_probe_until`` is
its claim, so a probe lost with its worker is taken over) → a success closes it, a
failure opens it again. While open, deliveries are not claimed: they wait and spend
no attempt. A send the partner answered (any response but 408, 429 or 5xx) counts as
a success here: the partner is up even if it refused that one message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from connectors.models import BreakerState, Connector, Direction

SENDING_DIRECTIONS = (Direction.OUTBOUND, Direction.BOTH)


def breaker_probe_due(connector: Connector, now: datetime) -> bool:
    """Whether a worker may try to claim the probe of this connector now."""
    if connector.breaker_state == BreakerState.OPEN:
        opened = connector.breaker_opened_at
        return opened is None or opened + timedelta(seconds=connector.breaker_cooldown_seconds) <= now
    if connector.breaker_state == BreakerState.HALF_OPEN:
        return connector.breaker_probe_until is None or connector.breaker_probe_until < now
    return False


def breaker_probe_claim(connector: Connector, *, now: datetime, lease: timedelta) -> bool:
    """Take the one probe of an open connector whose cool-down is over; False if another worker has it."""
    cooled = now - timedelta(seconds=connector.breaker_cooldown_seconds)
    claimable = (
        Q(breaker_state=BreakerState.OPEN, breaker_opened_at__lte=cooled)
        | Q(breaker_state=BreakerState.OPEN, breaker_opened_at__isnull=True)
        | Q(breaker_state=BreakerState.HALF_OPEN, breaker_probe_until__lt=now)
        | Q(breaker_state=BreakerState.HALF_OPEN, breaker_probe_until__isnull=True)
    )
    return bool(
        Connector.objects.filter(claimable, pk=connector.pk).update(
            breaker_state=BreakerState.HALF_OPEN, breaker_probe_until=now + lease
        )
    )


def breaker_record_success(connector_id: int) -> None:
    Connector.objects.filter(pk=connector_id).exclude(breaker_state=BreakerState.CLOSED, breaker_failures=0).update(
        breaker_state=BreakerState.CLOSED, breaker_failures=0, breaker_opened_at=None, breaker_probe_until=None
    )


def breaker_record_failure(connector_id: int, *, now: datetime | None = None) -> str:
    """Count one failed send in a single UPDATE; return the breaker state after it."""
    now = now or timezone.now()
    # F() reads the value before this UPDATE, hence "threshold - 1".
    trips = Q(breaker_state=BreakerState.HALF_OPEN) | Q(
        breaker_state=BreakerState.CLOSED,
        breaker_failure_threshold__gt=0,
        breaker_failures__gte=F("breaker_failure_threshold") - 1,
    )
    Connector.objects.filter(pk=connector_id).update(
        breaker_failures=F("breaker_failures") + 1,
        breaker_state=Case(When(trips, then=Value(BreakerState.OPEN)), default=F("breaker_state")),
        breaker_opened_at=Case(When(trips, then=Value(now)), default=F("breaker_opened_at")),
        breaker_probe_until=None,
    )
    return Connector.objects.filter(pk=connector_id).values_list("breaker_state", flat=True).get()


def breaker_states() -> dict[str, dict]:
    """Every sending connector's breaker, for /readyz details and the admin."""
    states = {}
    for connector in Connector.objects.filter(enabled=True, direction__in=SENDING_DIRECTIONS).order_by("code"):
        entry: dict = {"state": connector.breaker_state, "consecutive_failures": connector.breaker_failures}
        if connector.paused:
            entry["paused"] = True
        if connector.breaker_state != BreakerState.CLOSED and connector.breaker_opened_at:
            entry["opened_at"] = connector.breaker_opened_at.isoformat()
            entry["probe_at"] = (
                connector.breaker_opened_at + timedelta(seconds=connector.breaker_cooldown_seconds)
            ).isoformat()
        states[connector.code] = entry
    return states
