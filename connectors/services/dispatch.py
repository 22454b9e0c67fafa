"""The dispatcher: claims due deliveries with a lease, sends them outside the claim, records every attempt.

Claiming is one short transaction: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL
(an IMMEDIATE transaction serialises it on SQLite), then the rows become ``in_flight``
with ``lease_until`` and ``leased_by``. A worker that dies leaves its rows in flight;
when the lease runs out any worker claims them again, so nothing is lost and at most
the rows that were in flight are sent twice. Every later write is guarded by
``leased_by``, so a worker that lost its lease cannot overwrite the new owner's outcome.

Not claimed: deliveries of paused or disabled connectors and of connectors whose
breaker is open (they wait and spend no attempt), and, for ordered subscriptions, any
delivery with an earlier undelivered one for the same aggregate (or whose aggregate
has an earlier event the relay has not handed on yet).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import StrIndex, Substr
from django.utils import timezone

from canonical.context import Actor
from canonical.models import BusinessEvent
from connectors.kinds import UnknownKind, transport_for
from connectors.kinds.base import DeliveryRequest, TransportError, TransportResult
from connectors.models import (
    ACTIVE_EXCEPTION_STATUSES,
    AttemptOutcome,
    BreakerState,
    Connector,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    IntegrationException,
    Subscription,
)
from connectors.services.breaker import (
    SENDING_DIRECTIONS,
    breaker_probe_claim,
    breaker_probe_due,
    breaker_record_failure,
    breaker_record_success,
)
from connectors.services.deliveries import backoff_delay, delivery_dead_exception_raise
from connectors.services.exceptions import exceptions_resolve_for_source
from connectors.services.ratelimit import ratelimit_acquire

logger = logging.getLogger("connectors.dispatch")

# Renew the batch's lease when less than the next call's timeout plus this is left.
LEASE_MARGIN_SECONDS = 2.0
# Longer rate-limit waits hand the delivery back rather than hold the worker.
MAX_RATE_WAIT_SECONDS = 1.0
# Successes are written in groups (one transaction each): this many, or after this long.
SUCCESS_FLUSH_COUNT = 50
SUCCESS_FLUSH_SECONDS = 0.25
ERROR_CHARS = 2000


@dataclass
class DispatchReport:
    worker: str
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    lost: int = 0


def _due(now: datetime) -> QuerySet:
    """Claimable deliveries, oldest due first, locked as they are read (SKIP LOCKED on PostgreSQL).

    Only the delivery table is read in the outer query, so PostgreSQL walks ``delivery_due_idx``
    in order and stops at the batch size; the ordering checks are index probes per row.
    """
    earlier_undelivered = Delivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        ordering_key=OuterRef("ordering_key"),
        event_id__lt=OuterRef("event_id"),
    ).exclude(status=DeliveryStatus.DELIVERED)
    # Event ids grow with the sequence within an aggregate (the next event is written under the
    # aggregate's row lock, after the previous one committed), so "earlier" is "smaller id".
    # The ordering key is "aggregate_type:aggregate_id" (types hold no colon): split, it probes the
    # index of the (aggregate_type, aggregate_id, sequence) constraint for the aggregate's few
    # events, instead of matching every unrelayed event against a concatenation (after a burst of
    # events, thousands of them per delivery claimed).
    colon = StrIndex(OuterRef("ordering_key"), Value(":"))
    earlier_unrelayed = BusinessEvent.objects.filter(
        aggregate_type=Substr(OuterRef("ordering_key"), 1, colon - 1, output_field=CharField()),
        aggregate_id=Substr(OuterRef("ordering_key"), colon + 1, output_field=CharField()),
        relayed_at__isnull=True, id__lt=OuterRef("event_id"),
    )
    return (
        Delivery.objects.filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=DeliveryStatus.IN_FLIGHT, lease_until__lt=now)
        )
        .filter(Q(ordering_key="") | (~Exists(earlier_undelivered) & ~Exists(earlier_unrelayed)))
        .order_by("next_attempt_at", "id")
        .select_for_update(skip_locked=True, of=("self",))
    )


def deliveries_claim(*, worker: str, batch: int, lease: timedelta) -> list[Delivery]:
    """Lease up to ``batch`` due deliveries to ``worker``, plus one probe per connector ready for one."""
    now = timezone.now()
    # A cheap look first, so an idle loop takes no write lock (SQLite) and opens no transaction.
    if not Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT],
                                   next_attempt_at__lte=now).exists():
        return []
    with transaction.atomic():
        connectors = {
            c.pk: c for c in Connector.objects.filter(enabled=True, paused=False, direction__in=SENDING_DIRECTIONS)
        }
        subscriptions: dict[int, list[int]] = {}
        for pk, connector_id in Subscription.objects.filter(connector_id__in=connectors).values_list(
            "pk", "connector_id"
        ):
            subscriptions.setdefault(connector_id, []).append(pk)
        closed = [
            pk for connector_id, pks in subscriptions.items()
            if connectors[connector_id].breaker_state == BreakerState.CLOSED for pk in pks
        ]
        ids: list[int] = []
        if closed:
            ids = list(_due(now).filter(subscription_id__in=closed).values_list("pk", flat=True)[:batch])
        for connector_id, pks in subscriptions.items():
            connector = connectors[connector_id]
            if breaker_probe_due(connector, now):
                probe = list(_due(now).filter(subscription_id__in=pks).values_list("pk", flat=True)[:1])
                if probe and breaker_probe_claim(connector, now=now, lease=lease):
                    ids += probe
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.IN_FLIGHT, lease_until=now + lease, leased_by=worker, updated_at=now
        )
    claimed = Delivery.objects.filter(pk__in=ids).select_related(
        "event", "subscription__connector", "subscription__mapping"
    )
    return sorted(claimed, key=lambda d: (d.next_attempt_at, d.pk))


def _had_failed(delivery: Delivery) -> bool:
    return bool(delivery.last_error) or (
        delivery.last_status_code is not None and not 200 <= delivery.last_status_code < 300
    )


class _Batch:
    """Sends one claimed batch, keeping its lease alive and writing outcomes under it."""

    def __init__(
        self, *, worker: str, lease: timedelta, deliveries: list[Delivery], report: DispatchReport,
        stop_at: float | None,
    ):
        self.worker = worker
        self.stop_at = stop_at
        self.lease = lease
        self.deliveries = deliveries
        self.report = report
        self.owned = {d.pk: d for d in deliveries}
        self.lease_until = deliveries[0].lease_until
        self.successes: list[tuple[Delivery, TransportResult, datetime, int]] = []
        self.first_success_at = 0.0
        self.halted: dict[int, datetime] = {}

    def _ours(self) -> QuerySet:
        return Delivery.objects.filter(leased_by=self.worker, status=DeliveryStatus.IN_FLIGHT)

    def run(self) -> None:
        try:
            for delivery in self.deliveries:
                if delivery.pk not in self.owned:
                    continue
                if self.stop_at is not None and time.monotonic() >= self.stop_at:
                    self._flush()  # what is still owned after it was never sent
                    self._defer(list(self.owned), until=timezone.now())
                    break
                connector = delivery.subscription.connector
                if connector.pk in self.halted:
                    self._defer([delivery.pk], until=self.halted[connector.pk])
                    continue
                self._keep_lease(connector)
                if delivery.pk not in self.owned:
                    continue
                if not self._rate_turn(connector):
                    self._defer([delivery.pk], until=self.halted[connector.pk])
                    continue
                self._send(delivery, connector)
                if self.successes and (
                    len(self.successes) >= SUCCESS_FLUSH_COUNT
                    or time.monotonic() - self.first_success_at >= SUCCESS_FLUSH_SECONDS
                ):
                    self._flush()
        finally:
            self._flush()

    def _keep_lease(self, connector: Connector) -> None:
        now = timezone.now()
        if (self.lease_until - now).total_seconds() >= connector.timeout_seconds + LEASE_MARGIN_SECONDS:
            return
        until = now + self.lease
        ids = list(self.owned)
        renewed = self._ours().filter(pk__in=ids).update(lease_until=until)
        if renewed < len(ids):
            still = set(self._ours().filter(pk__in=ids).values_list("pk", flat=True))
            for pk in set(ids) - still:
                del self.owned[pk]
                self.report.lost += 1
        self.lease_until = until

    def _rate_turn(self, connector: Connector) -> bool:
        wait = ratelimit_acquire(connector)
        while wait > 0:
            left = (self.lease_until - timezone.now()).total_seconds()
            if wait > MAX_RATE_WAIT_SECONDS or left < wait + connector.timeout_seconds + LEASE_MARGIN_SECONDS:
                self.halted[connector.pk] = timezone.now() + timedelta(seconds=wait)
                return False
            self._flush()
            time.sleep(wait)
            wait = ratelimit_acquire(connector)
        return True

    def _defer(self, ids: list[int], *, until: datetime) -> None:
        """Hand deliveries back unsent: no attempt is spent."""
        now = timezone.now()
        self.report.deferred += self._ours().filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING, next_attempt_at=max(until, now), lease_until=None, leased_by="",
            updated_at=now,
        )
        for pk in ids:
            self.owned.pop(pk, None)

    def _send(self, delivery: Delivery, connector: Connector) -> None:
        attempt = delivery.attempts + 1
        request = DeliveryRequest(
            event=delivery.event, subscription=delivery.subscription, attempt=attempt, delivery_id=delivery.pk
        )
        started_at = timezone.now()
        try:
            try:
                transport = transport_for(connector)
            except UnknownKind as exc:
                raise TransportError(str(exc), permanent=True) from exc
            result = transport.send(request)
        except TransportError as error:
            self._record_failure(delivery, connector, error, attempt, started_at)
            return
        except Exception as exc:
            # A defect in a kind must not stop the batch; it is retried and, if it persists, goes dead.
            logger.exception("transport %s failed unexpectedly on delivery %s", connector.kind, delivery.pk)
            error = TransportError(f"Internal error in the {connector.kind} transport: {type(exc).__name__}: {exc}",
                                   permanent=False)
            self._record_failure(delivery, connector, error, attempt, started_at)
            return
        if not self.successes:
            self.first_success_at = time.monotonic()
        self.successes.append((delivery, result, started_at, attempt))

    def _attempt(self, delivery, *, number, started_at, duration_ms, status_code, error, outcome, excerpt):
        return DeliveryAttempt(
            delivery_id=delivery.pk, number=number, started_at=started_at, duration_ms=duration_ms,
            status_code=status_code, error=error[:ERROR_CHARS], outcome=outcome, response_excerpt=excerpt,
            worker=self.worker[:120], correlation_id=(delivery.event.correlation_id or "")[:100],
        )

    def _record_failure(self, delivery, connector, error: TransportError, attempt: int, started_at) -> None:
        dead = error.permanent or attempt >= connector.max_attempts
        now = timezone.now()
        fields = {
            "attempts": attempt, "last_status_code": error.status_code, "last_error": error.message[:ERROR_CHARS],
            "lease_until": None, "leased_by": "", "updated_at": now,
        }
        if dead:
            fields["status"] = DeliveryStatus.DEAD
        else:
            delay = backoff_delay(connector, attempt=attempt, retry_after=error.retry_after)
            fields.update(status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay))
        breaker = None
        with transaction.atomic():
            self._attempt(
                delivery, number=attempt, started_at=started_at, duration_ms=error.duration_ms,
                status_code=error.status_code, error=error.message,
                outcome=AttemptOutcome.DEAD if dead else AttemptOutcome.RETRY, excerpt=error.response_excerpt,
            ).save()
            owned = self._ours().filter(pk=delivery.pk).update(**fields)
            if owned and dead:
                delivery_dead_exception_raise(delivery=delivery, error=error, attempts=attempt)
            if not error.permanent:
                breaker = breaker_record_failure(connector.pk, now=now)
            elif error.status_code is not None:
                breaker_record_success(connector.pk)
        self.owned.pop(delivery.pk, None)
        if not owned:
            self.report.lost += 1
        elif dead:
            self.report.dead += 1
            logger.warning(
                "delivery %s dead after %s attempt(s): %s", delivery.pk, attempt, error.message,
                extra={"correlation_id": delivery.event.correlation_id, "delivery_id": delivery.pk},
            )
        else:
            self.report.retried += 1
        if breaker == BreakerState.OPEN:
            self.halted[connector.pk] = now

    def _flush(self) -> None:
        if not self.successes:
            return
        successes, self.successes = self.successes, []
        now = timezone.now()
        by_status: dict[int | None, list[int]] = {}
        for delivery, result, _, _ in successes:
            by_status.setdefault(result.status_code, []).append(delivery.pk)
        with transaction.atomic():
            DeliveryAttempt.objects.bulk_create([
                self._attempt(
                    delivery, number=attempt, started_at=started_at, duration_ms=result.duration_ms,
                    status_code=result.status_code, error="", outcome=AttemptOutcome.DELIVERED,
                    excerpt=result.response_excerpt,
                )
                for delivery, result, started_at, attempt in successes
            ])
            for status_code, ids in by_status.items():
                self.report.delivered += self._ours().filter(pk__in=ids).update(
                    status=DeliveryStatus.DELIVERED, delivered_at=now, attempts=F("attempts") + 1,
                    last_status_code=status_code, last_error="", lease_until=None, leased_by="", updated_at=now,
                )
            for connector_id in {d.subscription.connector_id for d, _, _, _ in successes}:
                breaker_record_success(connector_id)
            self._resolve_exceptions([d for d, _, _, _ in successes if _had_failed(d)])
        for delivery, _, _, _ in successes:
            self.owned.pop(delivery.pk, None)

    def _resolve_exceptions(self, recovered: list[Delivery]) -> None:
        if not recovered:
            return
        with_exceptions = set(
            IntegrationException.objects.filter(
                delivery__in=recovered, delivery__status=DeliveryStatus.DELIVERED, status__in=ACTIVE_EXCEPTION_STATUSES
            ).values_list("delivery_id", flat=True)
        )
        for delivery in recovered:
            if delivery.pk in with_exceptions:
                actor = Actor.hub(correlation_id=delivery.event.correlation_id or None)
                exceptions_resolve_for_source(
                    actor=actor, delivery=delivery,
                    note=f"Delivered on retry (attempt {delivery.attempts + 1}); resolved by the dispatcher.",
                )


def deliveries_dispatch(
    *, worker: str, batch: int | None = None, lease_seconds: float | None = None, stop_at: float | None = None
) -> DispatchReport:
    """Claim one batch of due deliveries for ``worker``, send them and record the outcomes.

    ``stop_at`` (a time.monotonic() value) hands back, unsent, what is left of the batch after it.
    """
    lease = timedelta(seconds=lease_seconds or settings.HUB_DELIVERY_LEASE_SECONDS)
    report = DispatchReport(worker=worker)
    claimed = deliveries_claim(worker=worker, batch=batch or settings.HUB_DISPATCH_BATCH, lease=lease)
    report.claimed = len(claimed)
    if claimed:
        _Batch(worker=worker, lease=lease, deliveries=claimed, report=report, stop_at=stop_at).run()
    return report
