"""Locations and the warehouse's stock reports over the partner API."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from canonical.context import Actor
from canonical.models import BusinessEvent, ExternalRef, InventoryPosition, Location
from canonical.services.inventory import inventory_position_report
from tests.factories import (
    InventoryPositionFactory,
    LocationFactory,
    ProductFactory,
    SystemFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db

LOCATION = {"code": "dal", "name": "Dallas DC", "kind": "warehouse", "city": "Dallas", "country": "US"}


@pytest.fixture
def wms(partner_client):
    client = partner_client("wms", "wms")
    SystemOfRecordFactory(domain="inventory", system=client.system)
    return client


@pytest.fixture
def dallas(wms):
    location = LocationFactory(code="dal")
    ExternalRef.objects.create(system=wms.system, entity_type="location", external_id="DC-01", object_id=location.pk)
    return location


@pytest.fixture
def pipe():
    return ProductFactory(sku="PVC-100")


def report(client, body, *, location="DC-01", sku="PVC-100", system="wms"):
    return client.put(f"/api/v1/systems/{system}/inventory/{location}/{sku}", body, format="json")


def ago(**kwargs) -> str:
    return (timezone.now() - timedelta(**kwargs)).isoformat()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def unchanged(position: InventoryPosition, **expected) -> None:
    position.refresh_from_db()
    assert {name: getattr(position, name) for name in expected} == expected


# --- locations ------------------------------------------------------------------------------------


def test_wms_creates_location_with_event_and_links_known_code(wms):
    response = wms.put("/api/v1/systems/wms/locations/DC-01", LOCATION, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["external_refs"] == [{"system": "wms", "external_id": "DC-01"}]
    event = BusinessEvent.objects.get(aggregate_type="location")
    assert (event.event_type, event.payload["created"]) == ("location.updated", True)
    assert wms.put("/api/v1/systems/wms/locations/DC-01", LOCATION, format="json").status_code == 200
    assert BusinessEvent.objects.count() == 1

    existing = LocationFactory(code="atl", name="Atlanta")
    linked = wms.put("/api/v1/systems/wms/locations/DC-02", {**LOCATION, "code": "atl", "name": "Atlanta DC"},
                     format="json")
    assert (linked.status_code, linked.json()["id"], linked.json()["name"]) == (200, existing.pk, "Atlanta DC")
    assert BusinessEvent.objects.filter(aggregate_type="location").count() == 2


def test_location_bad_input_and_non_owner(wms, partner_client):
    bad = wms.put("/api/v1/systems/wms/locations/DC-01", {"code": "not a slug", "kind": "ship", "x": 1},
                  format="json")
    assert {e["pointer"] for e in problem(bad, 400)["errors"]} == {"/code", "/kind", "/x", "/name"}
    erp = partner_client("erp", "erp")
    refused = erp.put("/api/v1/systems/erp/locations/L1", LOCATION, format="json")
    assert problem(refused, 409)["system_of_record"] == "wms"
    assert not Location.objects.exists()
    assert {loc["code"] for loc in wms.get("/api/v1/locations").json()["results"]} == set()


def test_location_list_filters(wms, dallas):
    LocationFactory(code="br-1", kind="store", country="CA")
    assert [loc["code"] for loc in wms.get("/api/v1/locations", {"kind": "store"}).json()["results"]] == ["br-1"]
    assert [loc["code"] for loc in wms.get("/api/v1/locations", {"external_system": "wms"}).json()["results"]] == [
        "dal"
    ]


# --- stock reports ------------------------------------------------------------------------------


def test_first_report_creates_position_and_emits_inventory_changed(wms, dallas, pipe):
    as_of = ago(minutes=2)
    response = report(wms, {"on_hand": "120", "in_transit": "30", "as_of": as_of})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["outcome"] == "created"
    assert (data["sku"], data["location"], data["on_hand"], data["reserved"], data["in_transit"]) == (
        "PVC-100", "dal", "120.000", "0.000", "30.000"
    )
    assert data["available_to_promise"] == "120.000"
    assert data["last_updated_by"] == "wms"
    event = BusinessEvent.objects.get(event_type="inventory.changed")
    assert (event.aggregate_type, event.aggregate_id) == ("inventory", str(data["id"]))
    assert event.payload["before"]["on_hand"] == "0.000"
    assert event.payload["after"] == {
        "on_hand": "120.000", "reserved": "0.000", "in_transit": "30.000", "available_to_promise": "120.000"
    }
    assert event.occurred_at.isoformat() == timezone.datetime.fromisoformat(as_of).isoformat()


def test_report_updates_quantities_with_before_and_after(wms, dallas, pipe):
    position = InventoryPositionFactory(product=pipe, location=dallas, on_hand=Decimal("100"),
                                        reserved=Decimal("40"), in_transit=Decimal("5"),
                                        last_updated_at=timezone.now() - timedelta(hours=1))
    response = report(wms, {"on_hand": "90", "as_of": ago(minutes=1)})
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["outcome"], data["on_hand"], data["reserved"], data["in_transit"]) == (
        "updated", "90.000", "40.000", "5.000"
    )
    assert data["available_to_promise"] == "50.000"
    event = BusinessEvent.objects.get(aggregate_id=str(position.pk))
    assert event.payload["before"]["available_to_promise"] == "60.000"
    assert event.payload["after"]["available_to_promise"] == "50.000"
    assert event.payload["changed"] == ["on_hand"]
    position.refresh_from_db()
    assert position.last_updated_by == wms.system


def test_same_figures_only_refresh_freshness_without_event(wms, dallas, pipe):
    earlier = timezone.now() - timedelta(hours=2)
    position = InventoryPositionFactory(product=pipe, location=dallas, on_hand=Decimal("100"),
                                        last_updated_at=earlier)
    response = report(wms, {"on_hand": "100.000", "in_transit": "0"})
    assert response.json()["outcome"] == "unchanged"
    position.refresh_from_db()
    assert position.last_updated_at > earlier
    assert position.last_updated_by == wms.system
    assert not BusinessEvent.objects.exists()


def test_stale_report_is_ignored_and_says_so(wms, dallas, pipe):
    position = InventoryPositionFactory(product=pipe, location=dallas, on_hand=Decimal("100"),
                                        last_updated_at=timezone.now() - timedelta(minutes=5))
    response = report(wms, {"on_hand": "7", "as_of": ago(minutes=30)})
    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["on_hand"]) == ("stale", "100.000")
    unchanged(position, on_hand=Decimal("100"), last_updated_by=None)
    assert not BusinessEvent.objects.exists()


def test_on_hand_below_reserved_is_refused_with_the_numbers(wms, dallas, pipe):
    position = InventoryPositionFactory(product=pipe, location=dallas, on_hand=Decimal("100"),
                                        reserved=Decimal("40"), last_updated_at=timezone.now() - timedelta(hours=1))
    body = problem(report(wms, {"on_hand": "25"}), 422)
    assert body["type"].endswith("/on-hand-below-reserved")
    assert (body["on_hand"], body["reserved"], body["sku"], body["location"]) == ("25.000", "40.000", "PVC-100", "dal")
    assert "25.000 on hand is below the 40.000" in body["detail"]
    unchanged(position, on_hand=Decimal("100"), reserved=Decimal("40"))
    assert not BusinessEvent.objects.exists()


def test_location_by_hub_code_and_sku_with_a_slash(wms, dallas):
    ProductFactory(sku="BOLT-M8/40")
    response = report(wms, {"on_hand": "3"}, location="dal", sku="BOLT-M8/40")
    assert response.status_code == 201, response.content
    assert wms.get("/api/v1/systems/wms/inventory/DC-01/BOLT-M8/40").json()["on_hand"] == "3.000"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"on_hand": "-1", "in_transit": "-2"}, {"/on_hand", "/in_transit"}),
        ({"on_hand": "10", "reserved": "3"}, {"/reserved"}),
        ({"in_transit": "3"}, {"/on_hand"}),
        ({"on_hand": "lots", "as_of": "tuesday"}, {"/on_hand", "/as_of"}),
        ({"on_hand": "1.0005"}, {"/on_hand"}),
        ({"on_hand": "1", "as_of": (timezone.now() + timedelta(days=1)).isoformat()}, {"/as_of"}),
    ],
    ids=["negative", "reserved-is-the-hubs", "missing", "wrong-types", "too-precise", "future"],
)
def test_bad_reports_are_400_and_change_nothing(wms, dallas, pipe, body, expected):
    position = InventoryPositionFactory(product=pipe, location=dallas, on_hand=Decimal("50"))
    response = report(wms, body)
    assert {e["pointer"] for e in problem(response, 400)["errors"]} == expected
    unchanged(position, on_hand=Decimal("50"), reserved=Decimal("0"), in_transit=Decimal("0"))
    assert not BusinessEvent.objects.exists()


def test_malformed_json_and_non_json_reports(wms, dallas, pipe):
    url = "/api/v1/systems/wms/inventory/DC-01/PVC-100"
    assert problem(wms.generic("PUT", url, "{on_hand: 5}", content_type="application/json"), 400)["type"].endswith(
        "/malformed-json"
    )
    problem(wms.generic("PUT", url, "on_hand,5", content_type="text/csv"), 415)
    assert not InventoryPosition.objects.exists()


def test_unknown_location_or_sku_is_404_naming_it(wms, dallas, pipe):
    location = problem(report(wms, {"on_hand": "1"}, location="DC-99"), 404)
    assert "no location with external id 'DC-99'" in location["detail"]
    sku = problem(report(wms, {"on_hand": "1"}, sku="NOPE-1"), 404)
    assert "No product with SKU 'NOPE-1'" in sku["detail"]
    assert problem(wms.get("/api/v1/systems/wms/inventory/DC-01/PVC-100"), 404)["type"].endswith(
        "/unknown-reference"
    )
    assert problem(report(wms, {"on_hand": "1"}, location="DC%0001"), 404)
    assert problem(report(wms, {"on_hand": "1"}, sku="PVC%00100"), 404)
    assert not InventoryPosition.objects.exists()


def test_report_from_non_owner_is_409_and_for_another_system_403(partner_client, wms, dallas, pipe):
    erp = partner_client("erp", "erp")
    ExternalRef.objects.create(system=erp.system, entity_type="location", external_id="DC-01", object_id=dallas.pk)
    assert problem(report(erp, {"on_hand": "1"}, system="erp"), 409)["system_of_record"] == "wms"
    forbidden = problem(report(erp, {"on_hand": "1"}, system="wms"), 403)
    assert "cannot write records of system 'wms'" in forbidden["detail"]
    assert problem(report(wms, {"on_hand": "1"}, system="nosuch"), 404)
    assert not InventoryPosition.objects.exists() and not BusinessEvent.objects.exists()


def test_carrier_may_not_read_inventory(partner_client):
    assert problem(partner_client("ups", "carrier").get("/api/v1/inventory"), 403)


# --- reads ----------------------------------------------------------------------------------------


def test_inventory_list_filters(wms, dallas, pipe):
    other = LocationFactory(code="atl")
    valve = ProductFactory(sku="VALVE-20")
    low = InventoryPositionFactory(product=pipe, location=dallas, on_hand=Decimal("12"), reserved=Decimal("10"))
    plenty = InventoryPositionFactory(product=pipe, location=other, on_hand=Decimal("500"),
                                      last_updated_by=wms.system)
    stale = InventoryPositionFactory(product=valve, location=dallas, on_hand=Decimal("5"),
                                     last_updated_at=timezone.now() - timedelta(days=3))

    def ids(**params):
        response = wms.get("/api/v1/inventory", params)
        assert response.status_code == 200, response.content
        return {p["id"] for p in response.json()["results"]}

    assert ids(sku="PVC-100") == {low.pk, plenty.pk}
    assert ids(location="dal") == {low.pk, stale.pk}
    assert ids(product=valve.pk) == {stale.pk}
    assert ids(available_lte="2") == {low.pk}
    assert ids(available_lte="5") == {low.pk, stale.pk}
    assert ids(reported_before=ago(days=1)) == {stale.pk}
    assert ids(reported_by="wms") == {plenty.pk}
    InventoryPosition.objects.filter(pk=plenty.pk).update(updated_at=timezone.now() - timedelta(days=9))
    assert ids(updated_since=ago(days=1)) == {low.pk, stale.pk}
    assert wms.get("/api/v1/inventory", {"available_lte": "few"}).status_code == 400
    assert wms.get("/api/v1/inventory", {"product": "9" * 25}).status_code == 400
    row = wms.get(f"/api/v1/inventory/{low.pk}").json()
    assert (row["available_to_promise"], row["sku"], row["location"]) == ("2.000", "PVC-100", "dal")


def test_inventory_list_queries_do_not_grow_with_page_size(wms):
    locations = [LocationFactory(code=f"wh{n}") for n in range(5)]
    for n in range(50):
        InventoryPositionFactory(location=locations[n % 5], last_updated_by=wms.system)
    wms.get("/api/v1/inventory", {"page_size": 1})
    counts = []
    for size in (1, 50):
        with CaptureQueriesContext(connection) as ctx:
            response = wms.get("/api/v1/inventory", {"page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_keep_the_newest_and_a_gapless_event_sequence():
    """Reports race for one position; the row lock must let the newest as_of win, whatever the arrival order."""
    wms = SystemFactory(code="wms", kind="wms")
    SystemOfRecordFactory(domain="inventory", system=wms)
    LocationFactory(code="dal")
    ProductFactory(sku="PVC-100")
    base = timezone.now() - timedelta(minutes=10)
    reports = [(Decimal(n * 10), base + timedelta(seconds=n)) for n in range(1, 13)]
    start = threading.Barrier(len(reports))
    failures = []

    def send(on_hand, as_of):
        try:
            start.wait()
            inventory_position_report(system=wms, location_ref="dal", sku="PVC-100", on_hand=on_hand,
                                      as_of=as_of, actor=Actor(system=wms))
        except Exception as exc:  # collected and asserted below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            connection.close()  # each thread has its own connection; the test database is dropped after

    threads = [threading.Thread(target=send, args=item) for item in reversed(reports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    position = InventoryPosition.objects.get()
    assert (position.on_hand, position.last_updated_at) == reports[-1]
    sequences = list(BusinessEvent.objects.filter(aggregate_id=str(position.pk)).values_list("sequence", flat=True))
    assert sorted(sequences) == list(range(1, len(sequences) + 1))
