"""The relay: every committed event becomes exactly one delivery per matching subscription, even across crashes."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from canonical.models import BusinessEvent
from connectors.models import Delivery
from connectors.services import relay as relay_module
from connectors.services.relay import events_relay, payload_matches
from tests.connectors.outbound_support import record_event
from tests.factories import OutboundConnectorFactory, SubscriptionFactory


class RelayCrashed(Exception):
    pass


@pytest.mark.django_db
def test_deliveries_follow_type_patterns_filters_and_activity():
    orders = SubscriptionFactory(event_types=["order.*"])
    usd_only = SubscriptionFactory(event_types=["order.created"], filters={"/order/currency": "USD"})
    dispatched = SubscriptionFactory(event_types=["shipment.dispatched"])
    SubscriptionFactory(event_types=["order.*"], is_active=False)
    SubscriptionFactory(event_types=["order.*"], connector__direction="inbound")
    paused = SubscriptionFactory(event_types=["order.created"], connector__paused=True)

    usd = record_event("order.created", payload={"order": {"currency": "USD"}})
    eur = record_event("order.created", payload={"order": {"currency": "EUR"}})
    status = record_event("order.status_changed", payload={"order": {"currency": "USD"}})
    shipment = record_event("shipment.dispatched", payload={})
    record_event("invoice.posted", payload={})

    assert events_relay() == 5
    pairs = set(Delivery.objects.values_list("subscription_id", "event_id"))
    assert pairs == {
        (orders.pk, usd.pk), (orders.pk, eur.pk), (orders.pk, status.pk),
        (usd_only.pk, usd.pk),
        (dispatched.pk, shipment.pk),
        (paused.pk, usd.pk), (paused.pk, eur.pk),
    }
    assert not BusinessEvent.objects.filter(relayed_at__isnull=True).exists()
    assert events_relay() == 0
    assert Delivery.objects.count() == len(pairs)


@pytest.mark.django_db
def test_ordered_subscriptions_get_the_aggregate_as_ordering_key():
    ordered = SubscriptionFactory(ordered=True)
    unordered = SubscriptionFactory()
    event = record_event(aggregate_id=77)
    events_relay()
    assert Delivery.objects.get(subscription=ordered, event=event).ordering_key == "order:77"
    assert Delivery.objects.get(subscription=unordered, event=event).ordering_key == ""


@pytest.mark.django_db
def test_oldest_events_first_within_the_limit():
    SubscriptionFactory()
    events = [record_event() for _ in range(5)]
    assert events_relay(limit=2) == 2
    assert set(Delivery.objects.values_list("event_id", flat=True)) == {events[0].pk, events[1].pk}
    assert events_relay(limit=10) == 3


def test_payload_filters():
    payload = {"order": {"currency": "USD", "lines": [{"sku": "A"}]}, "a/b": 1}
    assert payload_matches({"/order/currency": "USD", "/order/lines/0/sku": "A"}, payload)
    assert payload_matches({"/a~1b": 1}, payload)
    assert not payload_matches({"/order/currency": "EUR"}, payload)
    assert not payload_matches({"/order/missing": None}, payload)
    assert not payload_matches({"no-slash": 1}, payload)


@pytest.mark.django_db(transaction=True)
def test_a_crash_inside_the_relay_loses_nothing_and_duplicates_nothing(monkeypatch):
    first = SubscriptionFactory(event_types=["order.*"])
    second = SubscriptionFactory(event_types=["order.created"])
    events = [record_event() for _ in range(7)]  # committed: each in its own transaction

    # The process dies after the deliveries were inserted but before the events were marked.
    created = []
    real_create = relay_module._deliveries_create

    def create_then_crash(deliveries):
        real_create(deliveries)
        created.extend(deliveries)
        raise RelayCrashed

    monkeypatch.setattr(relay_module, "_deliveries_create", create_then_crash)
    with pytest.raises(RelayCrashed):
        events_relay(limit=4)
    assert len(created) == 8  # it really had written them inside the transaction
    assert Delivery.objects.count() == 0
    assert BusinessEvent.objects.filter(relayed_at__isnull=True).count() == 7

    # ... and a crash after marking, before the commit, leaves the same picture.
    monkeypatch.setattr(relay_module, "_deliveries_create", real_create)
    real_mark = relay_module._events_mark

    def mark_then_crash(event_ids, *, now):
        real_mark(event_ids, now=now)
        raise RelayCrashed

    monkeypatch.setattr(relay_module, "_events_mark", mark_then_crash)
    with pytest.raises(RelayCrashed):
        events_relay(limit=4)
    assert Delivery.objects.count() == 0
    assert BusinessEvent.objects.filter(relayed_at__isnull=True).count() == 7

    # The next runs (the relay restarted) hand on every event exactly once per subscriber.
    monkeypatch.setattr(relay_module, "_events_mark", real_mark)
    while events_relay(limit=3):
        pass
    pairs = list(Delivery.objects.values_list("subscription_id", "event_id"))
    assert sorted(pairs) == sorted([(first.pk, e.pk) for e in events] + [(second.pk, e.pk) for e in events])
    assert BusinessEvent.objects.filter(relayed_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_events_committed_while_no_relay_runs_are_all_handed_on_later():
    subscription = SubscriptionFactory()
    events = [record_event() for _ in range(30)]
    while events_relay(limit=7):
        pass
    assert sorted(Delivery.objects.filter(subscription=subscription).values_list("event_id", flat=True)) == sorted(
        e.pk for e in events
    )


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_take_disjoint_batches_without_waiting():
    OutboundConnectorFactory()
    SubscriptionFactory()
    events = [record_event() for _ in range(6)]
    holding = threading.Event()
    release = threading.Event()

    def hold_first_three():
        try:
            with transaction.atomic():
                list(BusinessEvent.objects.filter(pk__in=[e.pk for e in events[:3]]).select_for_update())
                holding.set()
                release.wait(5)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first_three)
    holder.start()
    assert holding.wait(5)
    try:
        assert events_relay(limit=10) == 3  # returns at once with the unlocked ones
        assert set(Delivery.objects.values_list("event_id", flat=True)) == {e.pk for e in events[3:]}
    finally:
        release.set()
        holder.join()
    assert events_relay(limit=10) == 3
    assert Delivery.objects.count() == 6
