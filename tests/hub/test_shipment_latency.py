"""Shipment visibility latency: occurred → received by the hub → first delivered to a subscriber, measured
through the real relay and dispatcher against a loopback subscriber, and summarised as p50/p95."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from canonical.context import Actor
from canonical.models import ShipmentMilestone
from canonical.services.fulfilment import shipment_milestone_record
from connectors.models import Delivery
from hub.selectors.latency import latency_report, milestone_latencies, percentile
from tests.connectors.outbound_support import deliver_all
from tests.connectors.receiver import Reply, receiver_fixture  # noqa: F401
from tests.factories import (
    ExternalRefFactory,
    OrderLineFactory,
    ShipmentFactory,
    ShipmentLineFactory,
    SubscriptionFactory,
    SystemFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wms(db):
    system = SystemFactory(code="wms", kind="wms")
    SystemOfRecordFactory(domain="shipments", system=system)
    return system


def shipment_known_as(wms, external_id):
    shipment = ShipmentFactory()
    ShipmentLineFactory(shipment=shipment, order_line=OrderLineFactory(order=shipment.order), quantity=Decimal("1"))
    ExternalRefFactory(system=wms, entity_type="shipment", external_id=external_id, object_id=shipment.pk)
    return shipment


def report(wms, external_id, code, occurred_at, received_at=None):
    return shipment_milestone_record(
        system=wms, external_id=external_id, data={"code": code, "occurred_at": occurred_at},
        actor=Actor(system=wms), received_at=received_at,
    ).instance


def test_first_delivery_to_a_subscriber_is_the_third_time(receiver, wms):
    receiver.script(Reply(status=200, delay=0.2))
    SubscriptionFactory(connector__base_url=receiver.url, event_types=["shipment.milestone"])
    SubscriptionFactory(connector__base_url=receiver.url, event_types=["shipment.*"])
    shipment_known_as(wms, "W-1")
    occurred = timezone.now() - timedelta(minutes=10)
    heard = timezone.now() - timedelta(minutes=2)
    milestone = report(wms, "W-1", "dispatched", occurred, received_at=heard)

    [pending] = milestone_latencies()
    assert (pending.milestone_id, pending.delivered_at, pending.received_to_delivered) == (milestone.pk, None, None)
    assert pending.occurred_to_received == pytest.approx(480, abs=1)

    deliver_all()
    # Two subscriptions get the milestone event (and one also shipment.dispatched): the first success counts.
    firsts = sorted(Delivery.objects.filter(event_id=milestone.event_id).values_list("delivered_at", flat=True))
    assert len(firsts) == 2
    [row] = milestone_latencies()
    assert row.delivered_at == firsts[0]
    assert row.received_to_delivered == pytest.approx((firsts[0] - heard).total_seconds())
    assert row.occurred_to_delivered == pytest.approx((firsts[0] - occurred).total_seconds())
    assert 120 <= row.received_to_delivered < 150


def test_report_gives_p50_p95_and_pending_over_a_window(receiver, wms):
    SubscriptionFactory(connector__base_url=receiver.url, event_types=["shipment.milestone"])
    now = timezone.now()
    for index in range(20):
        shipment_known_as(wms, f"W-{index}")
        report(wms, f"W-{index}", "picked", now - timedelta(seconds=60 + index), received_at=now - timedelta(seconds=30))
    deliver_all()
    shipment_known_as(wms, "W-late")
    report(wms, "W-late", "picked", now - timedelta(seconds=5), received_at=now)  # not yet delivered
    old = shipment_known_as(wms, "W-old")
    ShipmentMilestone.objects.create(shipment=old, code="picked", occurred_at=now - timedelta(days=3),
                                     received_at=now - timedelta(days=3))

    summary = latency_report(since=now - timedelta(hours=1))
    assert (summary.milestones, summary.pending) == (21, 1)
    stages = {stage.stage: stage for stage in summary.stages}
    heard = stages["occurred_to_received"]
    # 5 s, then 30 … 49 s: nearest rank 11 of 21 is 39 s, rank 20 is 48 s.
    assert (heard.count, heard.p50, heard.p95, heard.max) == (21, 39.0, 48.0, 49.0)
    delivered = stages["received_to_delivered"]
    assert delivered.count == 20 and 30 <= delivered.p50 <= delivered.p95 < 90

    out = StringIO()
    call_command("shipment_latency", "--hours", "1", "--json", stdout=out)
    printed = json.loads(out.getvalue())
    assert (printed["milestones"], printed["pending"]) == (21, 1)
    assert printed["stages"]["occurred_to_received"]["p95"] == 48.0
    text = StringIO()
    call_command("shipment_latency", stdout=text)
    assert "occurred → received by the hub" in text.getvalue() and "1 not delivered" in text.getvalue()


def test_percentile_is_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 1.0)) == (50.0, 95.0, 100.0)
