"""Replay: re-send events matching a window, types, an aggregate or a subscription; dry-run counts; the command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from canonical.context import Actor
from canonical.models import AuditEntry, BusinessEvent
from connectors.models import Delivery
from connectors.services.deliveries import DeliveryActionRefused, deliveries_replay
from connectors.services.relay import events_relay
from tests.connectors.outbound_support import deliver_all, record_event
from tests.connectors.receiver import receiver_fixture  # noqa: F401
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(receiver):
    """Two subscriptions on one receiver; three orders and a shipment, all delivered once."""
    orders = SubscriptionFactory(name="orders", connector__base_url=receiver.url, event_types=["order.*"])
    everything = SubscriptionFactory(name="all", connector__base_url=receiver.url, event_types=["*"])
    events = [record_event("order.created", aggregate_id=n) for n in (1, 2, 3)]
    events.append(record_event("shipment.dispatched", aggregate_id=9))
    deliver_all()
    assert len(receiver.requests) == 7
    return orders, everything, events


def test_replay_by_type_resends_each_matching_delivery_once(receiver, delivered):
    orders, everything, events = delivered
    result = deliveries_replay(actor=Actor.hub(), event_types=["order.*"])
    assert (result.events, result.requeued, result.created) == (3, 6, 0)
    assert Delivery.objects.filter(status="pending", attempts=0).count() == 6
    deliver_all()
    counts = receiver.counts()
    assert [counts[str(e.event_id)] for e in events] == [4, 4, 4, 1]
    audit = AuditEntry.objects.get(action="deliveries.replayed")
    assert audit.after["event_types"] == ["order.*"] and audit.after["requeued"] == 6


def test_replay_by_time_window(receiver, delivered):
    _, _, events = delivered
    middle = timezone.now() - timedelta(hours=1)
    BusinessEvent.objects.filter(pk=events[0].pk).update(recorded_at=middle - timedelta(hours=1))
    result = deliveries_replay(actor=Actor.hub(), since=middle - timedelta(hours=2), until=middle)
    assert (result.events, result.requeued) == (1, 2)


def test_replay_of_one_aggregate_to_one_subscription(receiver, delivered):
    orders, _, events = delivered
    result = deliveries_replay(actor=Actor.hub(), aggregate="order:2", subscription=orders)
    assert (result.events, result.requeued) == (1, 1)
    same = deliveries_replay(actor=Actor.hub(), aggregate_type="order", aggregate_id=2, subscription=orders)
    assert same.requeued == 1
    deliver_all()
    assert receiver.counts()[str(events[1].event_id)] == 3


def test_replay_creates_missing_deliveries_for_a_new_subscriber(receiver, delivered):
    _, _, events = delivered
    newcomer = SubscriptionFactory(connector__base_url=receiver.url, event_types=["shipment.*"])
    result = deliveries_replay(actor=Actor.hub(), subscription=newcomer)
    assert (result.events, result.requeued, result.created) == (4, 0, 1)
    delivery = Delivery.objects.get(subscription=newcomer)
    assert delivery.event_id == events[3].pk and delivery.status == "pending"


def test_dry_run_counts_and_changes_nothing(receiver, delivered):
    SubscriptionFactory(connector__base_url=receiver.url, event_types=["order.created"])
    before = list(Delivery.objects.values_list("pk", "status", "attempts"))
    result = deliveries_replay(actor=Actor.hub(), event_types=["order.created"], dry_run=True)
    assert (result.events, result.requeued, result.created, result.dry_run) == (3, 6, 3, True)
    assert list(Delivery.objects.values_list("pk", "status", "attempts")) == before
    assert not AuditEntry.objects.filter(action="deliveries.replayed").exists()


def test_deliveries_in_flight_are_left_alone(receiver, delivered):
    orders, _, events = delivered
    Delivery.objects.filter(subscription=orders, event=events[0]).update(
        status="in_flight", lease_until=timezone.now() + timedelta(seconds=30), leased_by="busy"
    )
    result = deliveries_replay(actor=Actor.hub(), aggregate="order:1")
    assert (result.requeued, result.skipped_in_flight) == (1, 1)
    assert Delivery.objects.get(subscription=orders, event=events[0]).leased_by == "busy"


def test_unrelayed_events_are_left_to_the_relay(receiver):
    SubscriptionFactory(connector__base_url=receiver.url)
    record_event(aggregate_id=5)
    assert deliveries_replay(actor=Actor.hub(), aggregate="order:5").events == 0
    events_relay()
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({}, "Name what to replay"),
        ({"aggregate": "order"}, "type:id"),
        ({"event_types": ["ordr.*"]}, "No event type matches 'ordr.\\*'"),
        ({"since": timezone.now(), "until": timezone.now() - timedelta(days=1)}, "window is empty"),
    ],
)
def test_bad_criteria_are_refused(arguments, message):
    with pytest.raises(DeliveryActionRefused, match=message):
        deliveries_replay(actor=Actor.hub(), **arguments)


def test_inactive_subscription_is_refused():
    with pytest.raises(DeliveryActionRefused, match="not active"):
        deliveries_replay(actor=Actor.hub(), subscription=SubscriptionFactory(is_active=False))


def test_command_dry_run_prints_the_count_and_a_progress_bar(receiver, delivered, capsys):
    out = StringIO()
    call_command("replay_events", "--type", "order.*", "--type", "shipment.dispatched", "--dry-run", stdout=out)
    assert "Would re-send 4 event(s): 7 deliveries back to pending" in out.getvalue()
    assert "[##############################] 4/4 events" in capsys.readouterr().err
    assert not Delivery.objects.filter(status="pending").exists()


def test_command_replays_by_subscription_name_and_window(receiver, delivered):
    since = (timezone.now() - timedelta(minutes=5)).isoformat()
    out = StringIO()
    call_command("replay_events", "--subscription", "orders", "--since", since, stdout=out, stderr=StringIO())
    assert "Re-sent 4 event(s): 3 deliveries back to pending, 0 created" in out.getvalue()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--since", "last tuesday"], "not an ISO date"),
        (["--subscription", "nope"], "No subscription"),
        (["--aggregate", "order-1"], "type:id"),
    ],
)
def test_command_errors_are_clear(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("replay_events", *arguments, stdout=StringIO(), stderr=StringIO())
