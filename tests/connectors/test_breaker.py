"""The circuit breaker: opens after N consecutive failures, waits without spending attempts, one probe decides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connector, Delivery
from connectors.services.breaker import breaker_record_failure, breaker_states
from connectors.services.dispatch import deliveries_claim, deliveries_dispatch
from connectors.services.relay import events_relay
from tests.connectors.outbound_support import due_now, record_event
from tests.connectors.receiver import Reply, receiver_fixture  # noqa: F401
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def _setup(receiver, events=5, **connector):
    options = {"breaker_failure_threshold": 2, "breaker_cooldown_seconds": 60, "max_attempts": 10, **connector}
    subscription = SubscriptionFactory(
        connector__base_url=receiver.url, **{f"connector__{k}": v for k, v in options.items()}
    )
    for _ in range(events):
        record_event()
    events_relay()
    return subscription.connector


def _cool_down(connector):
    Connector.objects.filter(pk=connector.pk).update(breaker_opened_at=timezone.now() - timedelta(seconds=61))


def test_opens_after_the_threshold_and_then_waits_without_spending_attempts(receiver):
    receiver.default = Reply(status=503)
    connector = _setup(receiver)
    report = deliveries_dispatch(worker="w", batch=10)
    # Two failures open it; the rest of the batch is handed back unsent.
    assert (report.retried, report.deferred) == (2, 3)
    connector.refresh_from_db()
    assert connector.breaker_state == "open" and connector.breaker_failures == 2
    assert len(receiver.requests) == 2

    due_now(*Delivery.objects.all())
    assert deliveries_dispatch(worker="w", batch=10).claimed == 0
    assert sorted(Delivery.objects.values_list("attempts", flat=True)) == [0, 0, 0, 1, 1]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}


def test_after_the_cool_down_exactly_one_worker_gets_the_probe(receiver):
    receiver.default = Reply(status=503)
    connector = _setup(receiver)
    deliveries_dispatch(worker="w", batch=10)
    due_now(*Delivery.objects.all())
    assert deliveries_claim(worker="early", batch=10, lease=timedelta(seconds=30)) == []  # still cooling down
    _cool_down(connector)

    probe = deliveries_claim(worker="a", batch=10, lease=timedelta(seconds=30))
    assert len(probe) == 1  # one probe, however many are due
    assert deliveries_claim(worker="b", batch=10, lease=timedelta(seconds=30)) == []  # half-open: taken
    connector.refresh_from_db()
    assert connector.breaker_state == "half_open" and connector.breaker_probe_until > timezone.now()


def test_a_successful_probe_closes_it_and_the_waiting_deliveries_flow(receiver):
    receiver.default = Reply(status=503)
    connector = _setup(receiver)
    deliveries_dispatch(worker="w", batch=10)
    due_now(*Delivery.objects.all())
    _cool_down(connector)
    receiver.default = Reply(status=200)
    report = deliveries_dispatch(worker="a", batch=10)
    assert (report.claimed, report.delivered) == (1, 1)
    connector.refresh_from_db()
    assert (connector.breaker_state, connector.breaker_failures, connector.breaker_opened_at) == ("closed", 0, None)
    assert deliveries_dispatch(worker="a", batch=10).delivered == 4


def test_a_failed_probe_opens_it_again_for_another_cool_down(receiver):
    receiver.default = Reply(status=500)
    connector = _setup(receiver)
    deliveries_dispatch(worker="w", batch=10)
    due_now(*Delivery.objects.all())
    _cool_down(connector)
    sent = len(receiver.requests)
    report = deliveries_dispatch(worker="w", batch=10)
    assert (report.claimed, report.retried) == (1, 1)
    assert len(receiver.requests) == sent + 1
    connector.refresh_from_db()
    assert connector.breaker_state == "open"
    assert timezone.now() - connector.breaker_opened_at < timedelta(seconds=5)
    due_now(*Delivery.objects.all())
    assert deliveries_dispatch(worker="w", batch=10).claimed == 0


def test_a_probe_lost_with_its_worker_is_taken_over(receiver):
    receiver.default = Reply(status=500)
    connector = _setup(receiver)
    deliveries_dispatch(worker="w", batch=10)
    due_now(*Delivery.objects.all())
    _cool_down(connector)
    assert len(deliveries_claim(worker="doomed", batch=10, lease=timedelta(seconds=30))) == 1
    # The prober died: its probe claim and its delivery lease run out.
    Connector.objects.filter(pk=connector.pk).update(breaker_probe_until=timezone.now() - timedelta(seconds=1))
    Delivery.objects.filter(leased_by="doomed").update(lease_until=timezone.now() - timedelta(seconds=1))
    receiver.default = Reply(status=200)
    assert deliveries_dispatch(worker="heir", batch=10).delivered == 1
    connector.refresh_from_db()
    assert connector.breaker_state == "closed"


def test_a_partner_that_answers_4xx_is_up(receiver):
    receiver.script(Reply(status=503), Reply(status=400), Reply(status=503))
    connector = _setup(receiver, events=3)
    deliveries_dispatch(worker="w", batch=10)
    connector.refresh_from_db()
    # 503, 400 (answered: resets the count), 503: never two in a row.
    assert connector.breaker_state == "closed" and connector.breaker_failures == 1


def test_failures_are_counted_atomically_in_the_database(receiver):
    connector = _setup(receiver, events=0, breaker_failure_threshold=3)
    assert [breaker_record_failure(connector.pk) for _ in range(4)] == ["closed", "closed", "open", "open"]
    connector.refresh_from_db()
    assert connector.breaker_failures == 4


def test_states_are_reported_for_readyz(receiver):
    receiver.default = Reply(status=503)
    connector = _setup(receiver, events=2)
    assert breaker_states()[connector.code] == {"state": "closed", "consecutive_failures": 0}
    deliveries_dispatch(worker="w", batch=10)
    state = breaker_states()[connector.code]
    assert state["state"] == "open" and state["consecutive_failures"] == 2
    assert state["probe_at"] > state["opened_at"]
