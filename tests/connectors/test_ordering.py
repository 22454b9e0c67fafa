"""Ordered subscriptions: event k+1 of an aggregate is never sent before event k is delivered."""

from __future__ import annotations

import pytest
from django.utils import timezone

from canonical.context import Actor
from canonical.models import BusinessEvent
from connectors.models import Delivery
from connectors.services.deliveries import delivery_retry
from connectors.services.dispatch import deliveries_dispatch
from connectors.services.relay import delivery_for, events_relay
from tests.connectors.outbound_support import deliver_all, due_now, record_event
from tests.connectors.receiver import Reply, receiver_fixture  # noqa: F401
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def _sequence(received):
    return received.json["aggregate"]["sequence"]


def _assert_in_order(requests, aggregate_id):
    """No request for sequence s>1 arrived before sequence s-1 had been answered 2xx."""
    delivered_at = {}
    for received in sorted(requests, key=lambda r: r.at):
        if received.json["aggregate"]["id"] != str(aggregate_id):
            continue
        sequence = _sequence(received)
        if sequence > 1:
            assert sequence - 1 in delivered_at and delivered_at[sequence - 1] <= received.at, (
                f"sequence {sequence} sent before {sequence - 1} was delivered"
            )
        if 200 <= received.status < 300:
            delivered_at.setdefault(sequence, received.answered_at)


def test_a_failing_event_holds_back_the_later_ones_of_its_aggregate(receiver):
    SubscriptionFactory(connector__base_url=receiver.url, ordered=True, connector__max_attempts=10)
    fails_left = {"n": 3}

    def first_event_fails_three_times(received):
        if _sequence(received) == 1 and fails_left["n"] > 0:
            fails_left["n"] -= 1
            return Reply(status=503)
        return None

    receiver.answer(first_event_fails_three_times)
    for _ in range(4):
        record_event("order.updated", aggregate_id=500)
    deliver_all()
    assert [_sequence(r) for r in receiver.requests] == [1, 1, 1, 1, 2, 3, 4]
    _assert_in_order(receiver.requests, 500)


def test_a_dead_event_blocks_its_aggregate_until_it_is_retried_and_delivered(receiver):
    subscription = SubscriptionFactory(connector__base_url=receiver.url, ordered=True, connector__max_attempts=1)
    broken = {"yes": True}
    receiver.answer(
        lambda r: Reply(status=500) if broken["yes"] and r.json["aggregate"]["id"] == "7" and _sequence(r) == 1 else None
    )
    first = record_event("order.updated", aggregate_id=7)
    record_event("order.updated", aggregate_id=7)
    other = record_event("order.updated", aggregate_id=8)  # another aggregate is not held back
    events_relay()
    for _ in range(3):
        deliveries_dispatch(worker="w", batch=10)
    dead = Delivery.objects.get(subscription=subscription, event=first)
    assert dead.status == "dead"
    assert Delivery.objects.get(subscription=subscription, event=other).status == "delivered"
    assert [(_sequence(r), r.json["aggregate"]["id"]) for r in receiver.requests] == [(1, "7"), (1, "8")]

    broken["yes"] = False
    delivery_retry(delivery=dead, actor=Actor.hub())
    deliver_all()
    _assert_in_order(receiver.requests, 7)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_unordered_subscriptions_do_not_wait(receiver):
    SubscriptionFactory(connector__base_url=receiver.url, ordered=False, connector__max_attempts=10)
    receiver.answer(lambda r: Reply(status=503) if _sequence(r) == 1 else None)
    for _ in range(3):
        record_event("order.updated", aggregate_id=11)
    events_relay()
    deliveries_dispatch(worker="w", batch=10)
    assert sorted(_sequence(r) for r in receiver.requests) == [1, 2, 3]


def test_a_later_event_waits_while_an_earlier_one_is_not_relayed_yet(receiver):
    """Two relays can finish out of order on PostgreSQL; the dispatcher must not overtake."""
    subscription = SubscriptionFactory(connector__base_url=receiver.url, ordered=True)
    first = record_event("order.updated", aggregate_id=3)
    second = record_event("order.updated", aggregate_id=3)
    # As if a second relay had committed event 2 while the first still held event 1.
    delivery_for(subscription, second, now=timezone.now()).save()
    BusinessEvent.objects.filter(pk=second.pk).update(relayed_at=timezone.now())
    assert deliveries_dispatch(worker="w", batch=10).claimed == 0
    events_relay()
    deliver_all()
    assert [_sequence(r) for r in receiver.requests] == [1, 2]
    assert first.pk < second.pk


def test_only_an_earlier_event_of_the_same_aggregate_holds_back_even_with_colons_in_its_id(receiver):
    """The ordering key is "type:id" and an id may hold colons: "order:ext:3" is not "order:ext:3:a"."""
    subscription = SubscriptionFactory(connector__base_url=receiver.url, ordered=True)
    record_event("order.updated", aggregate_id="ext:3")  # another aggregate, never relayed here
    first = record_event("order.updated", aggregate_id="ext:3:a")
    second = record_event("order.updated", aggregate_id="ext:3:a")
    delivery_for(subscription, second, now=timezone.now()).save()
    BusinessEvent.objects.filter(pk=second.pk).update(relayed_at=timezone.now())
    assert deliveries_dispatch(worker="w", batch=10).claimed == 0  # its own first event is not relayed
    delivery_for(subscription, first, now=timezone.now()).save()
    BusinessEvent.objects.filter(pk=first.pk).update(relayed_at=timezone.now())
    assert deliveries_dispatch(worker="w", batch=10).claimed == 1  # the first; the second waits for it
    assert deliveries_dispatch(worker="w", batch=10).claimed == 1
    assert [(r.json["aggregate"]["id"], _sequence(r)) for r in receiver.requests] == [("ext:3:a", 1), ("ext:3:a", 2)]


def test_many_aggregates_interleaved_each_stay_in_order(receiver):
    SubscriptionFactory(connector__base_url=receiver.url, ordered=True, connector__max_attempts=20)
    flaky = {"n": 0}

    def every_third_request_fails(received):
        flaky["n"] += 1
        return Reply(status=503) if flaky["n"] % 3 == 0 else None

    receiver.answer(every_third_request_fails)
    for round_ in range(4):
        for aggregate in (21, 22, 23):
            record_event("order.updated", aggregate_id=aggregate, payload={"round": round_})
    for _ in range(100):
        events_relay()
        deliveries_dispatch(worker="w", batch=10)
        due_now(*Delivery.objects.filter(status="pending"))
        if not Delivery.objects.exclude(status="delivered").exists():
            break
    assert not Delivery.objects.exclude(status="delivered").exists()
    for aggregate in (21, 22, 23):
        _assert_in_order(receiver.requests, aggregate)
