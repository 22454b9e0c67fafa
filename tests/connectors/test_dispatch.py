"""The dispatcher against a real loopback receiver: every outcome class, backoff, leases, pause, dead → exception."""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from canonical.models import AuditEntry
from connectors.kinds.base import TransportError
from connectors.models import Delivery, DeliveryAttempt, IntegrationException
from connectors.services.deliveries import backoff_delay
from connectors.services.dispatch import deliveries_claim, deliveries_dispatch
from connectors.services.relay import events_relay
from tests.connectors.outbound_support import due_now, record_event
from tests.connectors.receiver import Reply, receiver_fixture, refused_url  # noqa: F401
from tests.factories import OrderFactory, OutboundConnectorFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def _one_delivery(receiver_url, **connector):
    subscription = SubscriptionFactory(connector__base_url=receiver_url, **{f"connector__{k}": v for k, v in connector.items()})
    event = record_event(correlation_id="corr-1")
    events_relay()
    return Delivery.objects.get(subscription=subscription, event=event)


def _dispatch_once(worker="w1"):
    return deliveries_dispatch(worker=worker, batch=10)


def test_2xx_is_delivered_and_the_attempt_recorded(receiver):
    receiver.script(Reply(status=201, delay=0.05))
    delivery = _one_delivery(receiver.url)
    report = _dispatch_once()
    assert (report.claimed, report.delivered) == (1, 1)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.last_status_code == 201
    assert delivery.delivered_at is not None and delivery.leased_by == "" and delivery.lease_until is None
    [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
    assert (attempt.number, attempt.status_code, attempt.outcome) == (1, 201, "delivered")
    assert attempt.duration_ms >= 50 and attempt.worker == "w1" and attempt.correlation_id == "corr-1"


@pytest.mark.parametrize(
    "reply",
    [Reply(status=408), Reply(status=429), Reply(status=500), Reply(status=502), Reply(status=503)],
    ids=["408", "429", "500", "502", "503"],
)
def test_retryable_answers_are_retried_then_delivered(receiver, reply):
    receiver.script(reply)
    delivery = _one_delivery(receiver.url, backoff_base_seconds=5, backoff_cap_seconds=5, backoff_jitter=False)
    report = _dispatch_once()
    assert (report.retried, report.dead) == (1, 0)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == reply.status
    assert delivery.next_attempt_at == delivery.updated_at + timedelta(seconds=5)
    assert _dispatch_once().claimed == 0  # not due yet
    due_now(delivery)
    assert _dispatch_once().delivered == 1
    assert list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("outcome", flat=True)) == [
        "retry", "delivered"]


def test_retry_after_seconds_is_honoured_when_longer_than_the_backoff(receiver):
    receiver.script(Reply(status=429, headers={"Retry-After": "30"}))
    delivery = _one_delivery(receiver.url)
    _dispatch_once()
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 28 < wait <= 30


def test_retry_after_http_date_is_honoured(receiver):
    when = timezone.now() + timedelta(seconds=90)
    receiver.script(Reply(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    delivery = _one_delivery(receiver.url)
    _dispatch_once()
    delivery.refresh_from_db()
    assert abs((delivery.next_attempt_at - when).total_seconds()) < 2


def test_short_retry_after_does_not_shorten_the_backoff(receiver):
    receiver.script(Reply(status=503, headers={"Retry-After": "0"}))
    delivery = _one_delivery(receiver.url, backoff_base_seconds=20, backoff_jitter=False, backoff_cap_seconds=20)
    _dispatch_once()
    delivery.refresh_from_db()
    assert (delivery.next_attempt_at - timezone.now()).total_seconds() > 18


@pytest.mark.parametrize(
    "status, category", [(400, "partner_error"), (401, "authentication"), (403, "authentication"),
                         (404, "partner_error"), (422, "partner_error")],
)
def test_other_4xx_is_dead_at_once_with_an_exception(receiver, status, category):
    receiver.default = Reply(status=status, body=b'{"title": "bad"}')
    order = OrderFactory()
    subscription = SubscriptionFactory(connector__base_url=receiver.url)
    event = record_event(aggregate_id=order.pk, correlation_id="corr-dead")
    events_relay()
    report = _dispatch_once()
    assert report.dead == 1
    delivery = Delivery.objects.get(subscription=subscription, event=event)
    assert delivery.status == "dead" and delivery.attempts == 1
    exception = IntegrationException.objects.get(delivery=delivery)
    assert exception.category == category and exception.team == "integration" and exception.status == "open"
    assert exception.connector_id == subscription.connector_id
    assert exception.order_id == order.pk and exception.customer_id == order.customer_id
    assert exception.correlation_id == "corr-dead"
    assert exception.fingerprint == f"delivery:{delivery.pk}"
    assert str(status) in exception.title and '{"title": "bad"}' in exception.detail
    assert exception.context["event_id"] == str(event.event_id)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("where", ["timeout", "refused"])
def test_timeouts_and_refused_connections_retry_then_die_after_max_attempts(receiver, where):
    if where == "timeout":
        receiver.default = Reply(delay=0.5)
        url = receiver.url
    else:
        url = refused_url()
    delivery = _one_delivery(url, timeout_seconds=0.15, max_attempts=3, backoff_base_seconds=0.001,
                             backoff_cap_seconds=0.001)
    outcomes = []
    for _ in range(3):
        time.sleep(0.01)
        report = _dispatch_once()
        outcomes.append((report.retried, report.dead))
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    delivery.refresh_from_db()
    assert delivery.status == "dead" and delivery.attempts == 3
    assert [a.outcome for a in DeliveryAttempt.objects.filter(delivery=delivery)] == ["retry", "retry", "dead"]
    exception = IntegrationException.objects.get(delivery=delivery)
    assert exception.category == ("timeout" if where == "timeout" else "partner_error")
    assert "3 attempts" in exception.title
    assert _dispatch_once().claimed == 0


def test_backoff_is_exponential_capped_with_full_jitter():
    connector = OutboundConnectorFactory.build(backoff_base_seconds=2, backoff_cap_seconds=60, backoff_jitter=True)
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60), (10_000, 60)]:
        samples = [backoff_delay(connector, attempt=attempt) for _ in range(300)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8 and min(samples) < ceiling * 0.2  # spread over the whole range
    assert backoff_delay(connector, attempt=1, retry_after=45) == 45
    connector.backoff_jitter = False
    assert [backoff_delay(connector, attempt=n) for n in (1, 2, 3, 7)] == [2, 4, 8, 60]
    assert backoff_delay(connector, attempt=2, retry_after=1) == 4


@pytest.mark.parametrize("field", ["paused", "disabled"])
def test_paused_or_disabled_connector_deliveries_wait_without_failing(receiver, field):
    delivery = _one_delivery(receiver.url)
    connector = delivery.subscription.connector
    if field == "paused":
        connector.paused = True
    else:
        connector.enabled = False
    connector.save()
    for _ in range(3):
        assert _dispatch_once().claimed == 0
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0 and receiver.requests == []
    connector.paused, connector.enabled = False, True
    connector.save()  # no restart: the next claim sees it
    assert _dispatch_once().delivered == 1


def test_expired_leases_are_claimed_again_and_live_ones_are_not(receiver):
    delivery = _one_delivery(receiver.url)
    claimed = deliveries_claim(worker="dead-worker", batch=10, lease=timedelta(seconds=30))
    assert [d.pk for d in claimed] == [delivery.pk]
    assert deliveries_claim(worker="other", batch=10, lease=timedelta(seconds=30)) == []
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    report = _dispatch_once(worker="other")
    assert report.delivered == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert DeliveryAttempt.objects.get(delivery=delivery).worker == "other"


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_owner(receiver, monkeypatch):
    delivery = _one_delivery(receiver.url)
    from connectors.kinds.webhook import WebhookTransport

    real_send = WebhookTransport.send

    def send_while_taken_over(self, request):
        # Mid-send our lease expires and another worker claims the row.
        Delivery.objects.filter(pk=request.delivery_id).update(leased_by="new-owner")
        return real_send(self, request)

    monkeypatch.setattr(WebhookTransport, "send", send_while_taken_over)
    report = _dispatch_once(worker="slow")
    assert report.delivered == 0
    delivery.refresh_from_db()
    assert delivery.status == "in_flight" and delivery.leased_by == "new-owner"
    assert DeliveryAttempt.objects.filter(delivery=delivery, worker="slow").count() == 1  # the send did happen


def test_leases_are_renewed_during_a_long_batch(receiver, monkeypatch):
    from connectors.kinds.webhook import WebhookTransport

    receiver.default = Reply(delay=0.4)
    subscription = SubscriptionFactory(connector__base_url=receiver.url, connector__timeout_seconds=1)
    for _ in range(4):
        record_event()
    events_relay()
    lapsed = []
    real_send = WebhookTransport.send

    def send_checking_the_lease(self, request):
        # Every row of the batch not finished yet must still be leased when the next send starts.
        lapsed.append(Delivery.objects.filter(status="in_flight", lease_until__lt=timezone.now()).count())
        return real_send(self, request)

    monkeypatch.setattr(WebhookTransport, "send", send_checking_the_lease)
    # A 1 s lease would lapse during four 0.4 s sends without renewal.
    report = deliveries_dispatch(worker="w", batch=10, lease_seconds=1)
    assert report.delivered == 4 and report.lost == 0
    assert lapsed == [0, 0, 0, 0]
    assert Delivery.objects.filter(subscription=subscription, status="delivered").count() == 4


def test_stop_at_hands_back_the_rest_of_the_batch_unsent(receiver):
    receiver.default = Reply(delay=0.5)
    SubscriptionFactory(connector__base_url=receiver.url)
    for _ in range(5):
        record_event()
    events_relay()
    report = deliveries_dispatch(worker="w", batch=10, stop_at=time.monotonic() + 1.2)
    assert report.delivered + report.deferred == 5 and 1 <= report.delivered <= 3
    assert Delivery.objects.filter(status="pending", attempts=0).count() == report.deferred
    assert len(receiver.requests) == report.delivered


def test_a_defect_in_a_transport_is_recorded_and_retried(receiver, monkeypatch):
    delivery = _one_delivery(receiver.url)
    from connectors.kinds.webhook import WebhookTransport

    def broken(self, request):
        raise KeyError("oops")

    monkeypatch.setattr(WebhookTransport, "send", broken)
    report = _dispatch_once()
    assert report.retried == 1
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "KeyError" in delivery.last_error


def test_unknown_kind_is_dead_with_a_clear_error(receiver):
    delivery = _one_delivery(receiver.url, kind="carrier-pigeon")
    assert _dispatch_once().dead == 1
    delivery.refresh_from_db()
    assert "carrier-pigeon" in delivery.last_error


def test_dead_delivery_exception_counts_repeats(receiver):
    receiver.default = Reply(status=400)
    delivery = _one_delivery(receiver.url)
    _dispatch_once()
    from canonical.context import Actor
    from connectors.services.deliveries import delivery_retry

    delivery_retry(delivery=delivery, actor=Actor.hub())
    _dispatch_once()
    exception = IntegrationException.objects.get(delivery=delivery)
    assert exception.occurrences == 2
    assert AuditEntry.objects.filter(action="delivery.retried", object_id=str(delivery.pk)).exists()


def test_transport_error_category_is_derived_from_the_cause():
    assert TransportError("x", permanent=True, status_code=401).category == "authentication"
    assert TransportError("x", permanent=False, timed_out=True).category == "timeout"
    assert TransportError("x", permanent=False, status_code=429).category == "rate_limited"
    assert TransportError("x", permanent=False, status_code=502).category == "partner_error"
    assert TransportError("x", permanent=True, category="mapping").category == "mapping"


def test_retrying_a_dead_delivery_that_then_succeeds_resolves_its_exception(receiver):
    from canonical.context import Actor
    from connectors.services.deliveries import DeliveryActionRefused, delivery_retry

    receiver.default = Reply(status=500)
    delivery = _one_delivery(receiver.url, max_attempts=1)
    _dispatch_once()
    delivery.refresh_from_db()
    assert delivery.status == "dead"
    exception = IntegrationException.objects.get(delivery=delivery, status="open")

    receiver.default = Reply(status=200)  # the partner fixed their side
    delivery_retry(delivery=delivery, actor=Actor.hub())
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    exception.refresh_from_db()
    assert exception.status == "open"  # not until it is actually delivered

    assert _dispatch_once().delivered == 1
    exception.refresh_from_db()
    assert exception.status == "resolved" and exception.resolved_at is not None
    assert "Delivered on retry" in exception.resolution_note
    assert AuditEntry.objects.filter(action="exception.resolved", object_id=str(exception.pk)).exists()

    with pytest.raises(DeliveryActionRefused, match="only a dead delivery"):
        delivery_retry(delivery=delivery, actor=Actor.hub())
