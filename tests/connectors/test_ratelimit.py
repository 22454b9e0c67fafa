"""The per-connector rate limit, shared by all workers: never more than N requests in any second."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from connectors.models import Delivery, DeliveryAttempt, RateWindow
from connectors.services.dispatch import deliveries_dispatch
from connectors.services.ratelimit import ratelimit_acquire
from connectors.services.relay import events_relay
from tests.connectors.outbound_support import record_event
from tests.connectors.receiver import receiver_fixture  # noqa: F401
from tests.factories import OutboundConnectorFactory, SubscriptionFactory

# Thread scheduling between taking the turn and stamping the attempt's start.
JITTER = 0.03


def _most_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + 1 - JITTER) for start in times)


def _request_starts() -> list[float]:
    """When the hub started each request. (Arrival times at the receiver are not used: a new
    connection's set-up delays its first request, which can then land right before the next.)"""
    return [a.started_at.timestamp() for a in DeliveryAttempt.objects.all()]


@pytest.mark.django_db
def test_turns_are_spaced_by_one_over_the_rate():
    connector = OutboundConnectorFactory(rate_limit_per_second=4)
    assert ratelimit_acquire(connector) == 0
    wait = ratelimit_acquire(connector)
    assert 0.2 < wait <= 0.25
    time.sleep(wait)
    assert ratelimit_acquire(connector) == 0
    assert RateWindow.objects.get(connector=connector).count == 2


@pytest.mark.django_db
def test_no_limit_means_no_waiting_and_no_row():
    connector = OutboundConnectorFactory(rate_limit_per_second=None)
    assert [ratelimit_acquire(connector) for _ in range(5)] == [0] * 5
    assert not RateWindow.objects.exists()


@pytest.mark.django_db
def test_two_dispatchers_taking_turns_share_the_limit(receiver):
    SubscriptionFactory(connector__base_url=receiver.url, connector__rate_limit_per_second=10)
    for _ in range(15):
        record_event()
    events_relay()
    started = time.monotonic()
    while Delivery.objects.exclude(status="delivered").exists():
        deliveries_dispatch(worker="a", batch=3)
        deliveries_dispatch(worker="b", batch=3)
    assert time.monotonic() - started >= 1.3  # 15 requests at 10/s need at least 1.4 s
    assert _most_in_any_second(_request_starts()) <= 10
    assert len(receiver.requests) == 15
    assert set(DeliveryAttempt.objects.values_list("worker", flat=True)) == {"a", "b"}


@pytest.mark.django_db
def test_a_long_wait_hands_the_delivery_back_without_spending_an_attempt(receiver):
    subscription = SubscriptionFactory(connector__base_url=receiver.url, connector__rate_limit_per_second=0.2)
    for _ in range(2):
        record_event()
    events_relay()
    report = deliveries_dispatch(worker="a", batch=10)
    assert (report.delivered, report.deferred) == (1, 1)
    waiting = Delivery.objects.get(subscription=subscription, status="pending")
    assert waiting.attempts == 0 and waiting.leased_by == ""
    assert 4 <= (waiting.next_attempt_at - waiting.updated_at).total_seconds() <= 5


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_never_exceed_the_rate(receiver):
    SubscriptionFactory(connector__base_url=receiver.url, connector__rate_limit_per_second=5)
    for _ in range(12):
        record_event()
    events_relay()
    errors = []

    def dispatcher(name):
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and Delivery.objects.exclude(status="delivered").exists():
                deliveries_dispatch(worker=name, batch=4)
                time.sleep(0.01)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Delivery.objects.filter(status="delivered").count() == 12
    assert _most_in_any_second(_request_starts()) <= 5
    assert len(receiver.requests) == 12
    assert set(DeliveryAttempt.objects.values_list("worker", flat=True)) == {"a", "b"}
