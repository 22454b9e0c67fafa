"""The pull feed: GET /api/v1/events?after=<cursor>&type=..."""

from __future__ import annotations

import pytest
from django.db import transaction

from canonical.models import BusinessEvent, EventFeed
from canonical.services.events import events_feed_number
from connectors.services.relay import events_relay
from tests.connectors.outbound_support import record_event
from tests.factories import PurchaseOrderFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/events"


def poll(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def types(page) -> list[str]:
    return [event["type"] for event in page["results"]]


@pytest.fixture
def erp(partner_client):
    return partner_client("erp", "erp")


def test_events_appear_once_relayed_oldest_first_and_the_cursor_walks_through_them(erp):
    created = record_event("order.created")
    assert poll(erp)["results"] == []  # written, not yet handed on
    shipped = record_event("shipment.dispatched", payload={"shipment": {"number": "SH-1"}})
    events_relay()

    page = poll(erp, page_size=1)
    assert [e["id"] for e in page["results"]] == [str(created.event_id)]
    assert page["has_more"] is True
    event = page["results"][0]
    assert event["type"] == "order.created" and event["aggregate_type"] == "order"
    assert event["payload"] == created.payload and event["sequence"] == 1
    assert "after=" + str(page["cursor"]) in page["next"]

    second = poll(erp, after=page["cursor"], page_size=1)
    assert [e["id"] for e in second["results"]] == [str(shipped.event_id)]
    assert second["has_more"] is False
    assert poll(erp, after=second["cursor"])["results"] == []


def test_an_event_committed_after_a_later_one_is_not_skipped(erp):
    """Ids are given at insert, commits happen in any order: the feed follows commit order instead."""
    early, late = record_event("order.created"), record_event("order.updated")
    with transaction.atomic():  # the later event's transaction commits first
        events_feed_number(event_ids=[late.pk])
    first = poll(erp)
    assert [e["id"] for e in first["results"]] == [str(late.event_id)]
    events_relay()
    second = poll(erp, after=first["cursor"])
    assert [e["id"] for e in second["results"]] == [str(early.event_id)]


def test_type_filter_takes_exact_types_and_prefix_patterns_repeated_or_comma_separated(erp):
    for event_type in ("order.created", "shipment.dispatched", "invoice.posted", "order.updated"):
        record_event(event_type, payload={})
    events_relay()
    assert types(poll(erp, type="order.*")) == ["order.created", "order.updated"]
    assert types(poll(erp, type="invoice.posted,shipment.*")) == ["shipment.dispatched", "invoice.posted"]
    response = erp.get(f"{URL}?type=invoice.posted&type=order.created")
    assert types(response.json()) == ["order.created", "invoice.posted"]


def test_a_filtered_poll_moves_the_cursor_past_what_it_skipped(erp):
    for _ in range(5):
        record_event("order.updated", payload={})
    events_relay()
    page = poll(erp, type="invoice.*")
    assert page["results"] == [] and page["has_more"] is False
    assert page["cursor"] == EventFeed.objects.get().last_position == 5


@pytest.mark.parametrize(("query", "field"), [
    ("after=-1", "after"), ("after=abc", "after"), ("after=99999999999999999999", "after"),
    ("page_size=0", "page_size"), ("page_size=5000", "page_size"), ("type=order.nope", "type"), ("type=ord*er", "type"),
])
def test_bad_feed_parameters_are_400_naming_the_parameter(erp, query, field):
    response = erp.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["pointer"].startswith(f"/{field}")


def test_a_partner_sees_only_the_domains_its_kind_of_system_reads(partner_client):
    carrier = partner_client("carrier", "carrier")
    record_event("order.created")
    record_event("shipment.dispatched", payload={})
    record_event("invoice.posted", payload={})
    events_relay()
    assert types(poll(carrier)) == ["shipment.dispatched"]


def test_a_supplier_sees_only_its_own_purchase_orders(partner_client):
    acme = partner_client("acme", "supplier")
    mine = PurchaseOrderFactory(supplier=acme.system)
    theirs = PurchaseOrderFactory()
    record_event("purchase_order.created", aggregate_id=mine.pk, payload={})
    record_event("purchase_order.created", aggregate_id=theirs.pk, payload={})
    record_event("order.created")
    events_relay()
    assert [e["aggregate_id"] for e in poll(acme)["results"]] == [str(mine.pk)]


def test_anonymous_callers_are_refused(client):
    response = client.get(URL)
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"


def test_history_written_as_already_relayed_joins_the_feed_without_deliveries(erp):
    event = record_event("order.created")
    BusinessEvent.objects.filter(pk=event.pk).update(relayed_at=event.recorded_at)
    with transaction.atomic():
        assert events_feed_number(relayed_only=True) == 1
    assert [e["id"] for e in poll(erp)["results"]] == [str(event.event_id)]
    assert events_relay() == 0  # nothing left to hand on


@pytest.mark.django_db(transaction=True)
def test_numbering_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        events_feed_number(relayed_only=True)
