"""Shipment endpoints: the WMS's upsert with roll-up into the order, milestones from the WMS and carriers."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from canonical.models import BusinessEvent, Order, OrderLine, Shipment, ShipmentLine, ShipmentMilestone
from tests.factories import (
    ExternalRefFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    ShipmentFactory,
    ShipmentLineFactory,
    SystemFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wms(partner_client):
    client = partner_client("wms", "wms")
    SystemOfRecordFactory(domain="shipments", system=client.system)
    return client


@pytest.fixture
def carrier(partner_client):
    return partner_client("fastfreight", "carrier")


@pytest.fixture
def order(db):
    erp = SystemFactory(code="erp", kind="erp")
    LocationFactory(code="wh-east")
    made = OrderFactory(number="SO-1", status="submitted_to_erp")
    OrderLineFactory(order=made, line_number=1, quantity_ordered=Decimal("10"))
    OrderLineFactory(order=made, line_number=2, quantity_ordered=Decimal("5"))
    ExternalRefFactory(system=erp, entity_type="order", external_id="ERP-1", object_id=made.pk)
    return made


def body(**overrides):
    data = {
        "number": "SH-1",
        "order": {"system": "erp", "external_id": "ERP-1"},
        "location": "wh-east",
        "carrier": "fastfreight",
        "tracking_number": "1Z999",
        "lines": [{"line_number": 1, "quantity": "4"}],
    }
    data.update(overrides)
    return data


def put(client, external_id, data, system="wms"):
    return client.put(f"/api/v1/systems/{system}/shipments/{external_id}", data, format="json")


def post_milestone(client, external_id, data, system="wms"):
    return client.post(f"/api/v1/systems/{system}/shipments/{external_id}/milestones", data, format="json")


def shipped(order):
    return dict(OrderLine.objects.filter(order=order).values_list("line_number", "quantity_shipped"))


def snapshot():
    return (
        Shipment.objects.count(), ShipmentLine.objects.count(), ShipmentMilestone.objects.count(),
        BusinessEvent.objects.count(), tuple(OrderLine.objects.order_by("pk").values_list("quantity_shipped", flat=True)),
        tuple(Order.objects.order_by("pk").values_list("status", flat=True)),
    )


def event_types():
    return list(BusinessEvent.objects.order_by("id").values_list("aggregate_type", "event_type"))


def test_shipment_rolls_up_into_order_lines_and_moves_the_order(wms, order):
    response = put(wms, "WMS-1", body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["order"], data["order_number"], data["location"], data["status"]) == (order.pk, "SO-1", "wh-east", "created")
    assert [(line["line_number"], line["quantity"]) for line in data["lines"]] == [(1, "4.000")]
    assert shipped(order) == {1: Decimal("4"), 2: Decimal("0")}
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    assert event_types() == [
        ("shipment", "shipment.created"), ("order", "order.updated"), ("order", "order.status_changed")
    ]
    status_event = BusinessEvent.objects.get(event_type="order.status_changed")
    assert (status_event.payload["from"], status_event.payload["to"]) == ("submitted_to_erp", "partially_shipped")

    rest = body(number="SH-2", lines=[{"line_number": 1, "quantity": "6"}, {"line_number": 2, "quantity": "5"}])
    assert put(wms, "WMS-2", rest).status_code == 201
    order.refresh_from_db()
    assert order.status == "shipped"
    assert shipped(order) == {1: Decimal("10"), 2: Decimal("5")}


def test_order_status_moves_only_where_the_lifecycle_allows(wms, order):
    Order.objects.filter(pk=order.pk).update(status="credit_hold")
    assert put(wms, "WMS-1", body()).status_code == 201
    order.refresh_from_db()
    assert order.status == "credit_hold"
    assert shipped(order)[1] == Decimal("4")
    assert not BusinessEvent.objects.filter(event_type="order.status_changed").exists()


def test_changing_a_shipment_line_recomputes_the_order(wms, order):
    put(wms, "WMS-1", body())
    response = put(wms, "WMS-1", body(lines=[{"line_number": 2, "quantity": "1"}]))
    assert response.status_code == 200
    assert shipped(order) == {1: Decimal("0"), 2: Decimal("1")}
    assert BusinessEvent.objects.filter(event_type="shipment.updated").get().payload["changed"] == ["lines"]


def test_same_body_twice_is_a_no_op(wms, order):
    put(wms, "WMS-1", body())
    before = snapshot()
    assert put(wms, "WMS-1", body()).status_code == 200
    assert snapshot() == before


def test_a_milestone_carrying_a_shipment_points_into_it(wms, order):
    response = post_milestone(wms, "WMS-1", {"code": "dispatched", "occurred_at": "2025-03-01T10:00:00Z",
                                             "shipment": body(lines=[{"line_number": 1, "quantity": "11"}])})
    assert response.status_code == 422, response.content
    assert [e["pointer"] for e in response.json()["errors"]] == ["/shipment/lines/0/quantity"]


def test_over_shipping_is_refused_pointing_at_the_line(wms, order):
    put(wms, "WMS-1", body())
    before = snapshot()
    response = put(wms, "WMS-2", body(number="SH-2", lines=[{"line_number": 2, "quantity": "1"},
                                                           {"line_number": 1, "quantity": "7"}]))
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["pointer"] == "/lines/1/quantity"
    assert "only 10.000 is ordered" in problem["detail"]
    assert snapshot() == before


def test_unknown_order_line_and_unknown_order_are_400(wms, order):
    before = snapshot()
    unknown_line = put(wms, "WMS-1", body(lines=[{"line_number": 9, "quantity": "1"}]))
    assert unknown_line.status_code == 400
    assert unknown_line.json()["errors"][0]["pointer"] == "/lines/0/line_number"
    unknown_order = put(wms, "WMS-1", body(order={"system": "erp", "external_id": "NOPE"}))
    assert unknown_order.status_code == 400
    assert unknown_order.json()["errors"][0]["pointer"] == "/order"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"lines": [{"line_number": 1, "quantity": "0"}]}, "/lines/0/quantity"),
        ({"lines": [{"line_number": 1, "quantity": "-3"}]}, "/lines/0/quantity"),
        ({"lines": [{"line_number": 1, "quantity": "lots"}]}, "/lines/0/quantity"),
        ({"lines": [{"line_number": 1, "quantity": "1", "sku": "X"}]}, "/lines/0/sku"),
        ({"lines": []}, "/lines"),
        ({"weight": 3}, "/weight"),
        ({"location": "nowhere"}, "/location"),
        ({"milestones": [{"code": "teleported", "occurred_at": "2025-03-01T10:00:00Z"}]}, "/milestones/0/code"),
    ],
)
def test_bad_fields_are_400_and_change_nothing(wms, order, change, pointer):
    before = snapshot()
    response = put(wms, "WMS-1", body(**change))
    assert response.status_code == 400, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert snapshot() == before


def test_a_shipment_cannot_move_to_another_order(wms, order):
    put(wms, "WMS-1", body())
    other = OrderFactory(number="SO-2")
    OrderLineFactory(order=other, line_number=1)
    before = snapshot()
    response = put(wms, "WMS-1", body(order=other.pk))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/order"
    assert snapshot() == before


def test_non_owner_upsert_is_409_naming_the_owner(partner_client, wms, order):
    erp = partner_client("erp", "erp")
    before = snapshot()
    response = put(erp, "E-1", body(), system="erp")
    assert response.status_code == 409
    assert response.json()["system_of_record"] == "wms"
    assert snapshot() == before


def test_upsert_records_inline_milestones_once(wms, order):
    milestones = [{"code": "picked", "occurred_at": "2025-03-01T10:00:00Z"}]
    put(wms, "WMS-1", body(milestones=milestones))
    again = put(wms, "WMS-1", body(milestones=milestones))
    assert again.status_code == 200
    assert [m["code"] for m in again.json()["milestones"]] == ["picked"]
    assert again.json()["status"] == "picked"
    assert BusinessEvent.objects.filter(event_type="shipment.milestone").count() == 1


# Milestones


@pytest.fixture
def shipment(wms, order):
    put(wms, "WMS-1", body())
    return Shipment.objects.get(number="SH-1")


def test_milestone_is_recorded_once_per_code_and_time(wms, shipment):
    data = {"code": "picked", "occurred_at": "2025-03-01T10:00:00Z", "location_text": "Aisle 4"}
    first = post_milestone(wms, "WMS-1", data)
    assert first.status_code == 201, first.content
    milestone = first.json()
    assert (milestone["code"], milestone["source_system"], milestone["location_text"]) == ("picked", "wms", "Aisle 4")
    assert milestone["received_at"]
    assert milestone["shipment"]["status"] == "picked"
    events = BusinessEvent.objects.count()
    repeat = post_milestone(wms, "WMS-1", {**data, "location_text": "somewhere else"})
    assert repeat.status_code == 200
    assert repeat.json()["id"] == milestone["id"]
    assert (ShipmentMilestone.objects.count(), BusinessEvent.objects.count()) == (1, events)


def test_dispatch_and_delivery_set_times_and_emit_their_events(wms, shipment):
    post_milestone(wms, "WMS-1", {"code": "dispatched", "occurred_at": "2025-03-01T12:00:00Z"})
    post_milestone(wms, "WMS-1", {"code": "delivered", "occurred_at": "2025-03-02T09:00:00Z"})
    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    assert shipment.dispatched_at.isoformat() == "2025-03-01T12:00:00+00:00"
    assert shipment.delivered_at.isoformat() == "2025-03-02T09:00:00+00:00"
    assert [t for a, t in event_types() if a == "shipment"][1:] == [
        "shipment.milestone", "shipment.dispatched", "shipment.milestone", "shipment.delivered"
    ]
    delivered = BusinessEvent.objects.get(event_type="shipment.delivered")
    assert delivered.occurred_at.isoformat() == "2025-03-02T09:00:00+00:00"
    assert delivered.payload["milestone"]["code"] == "delivered"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_milestone_sends_no_begin_of_its_own(wms, shipment, sent_alone):
    """Its transaction begins in the message of its first statement (atomic_begin_carried)."""
    response = post_milestone(wms, "WMS-1", {"code": "picked", "occurred_at": "2025-03-01T10:00:00Z"})
    assert response.status_code == 201, response.content
    assert b"BEGIN" not in sent_alone and sent_alone.count(b"COMMIT") == 1
    assert ShipmentMilestone.objects.filter(shipment=shipment, code="picked").exists()


def test_late_earlier_milestone_is_recorded_without_moving_status_back(wms, shipment):
    post_milestone(wms, "WMS-1", {"code": "delivered", "occurred_at": "2025-03-02T09:00:00Z"})
    late = post_milestone(wms, "WMS-1", {"code": "dispatched", "occurred_at": "2025-03-01T12:00:00Z"})
    assert late.status_code == 201
    assert late.json()["shipment"]["status"] == "delivered"
    exception = post_milestone(wms, "WMS-1", {"code": "exception", "occurred_at": "2025-03-02T10:00:00Z",
                                              "detail": "Box damaged"})
    assert exception.status_code == 201
    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    assert shipment.dispatched_at is not None  # learnt late, still recorded
    assert list(shipment.milestones.values_list("code", flat=True)) == ["dispatched", "delivered", "exception"]


def test_carrier_reports_by_tracking_number_on_shipments_it_carries(carrier, shipment):
    response = post_milestone(carrier, "1Z999", {"code": "in_transit", "occurred_at": "2025-03-01T15:00:00Z"},
                              system="fastfreight")
    assert response.status_code == 201, response.content
    assert response.json()["source_system"] == "fastfreight"
    assert response.json()["shipment"]["id"] == shipment.pk


def test_carrier_cannot_report_on_another_carriers_shipment(partner_client, shipment):
    other = partner_client("slowboat", "carrier")
    before = snapshot()
    response = post_milestone(other, "1Z999", {"code": "delivered", "occurred_at": "2025-03-01T15:00:00Z"},
                              system="slowboat")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/unknown-reference")
    assert snapshot() == before


def test_other_systems_may_not_post_milestones(partner_client, shipment):
    crm = partner_client("crm", "crm")
    before = snapshot()
    response = post_milestone(crm, "WMS-1", {"code": "delivered", "occurred_at": "2025-03-01T15:00:00Z"},
                              system="crm")
    assert response.status_code == 409
    assert response.json()["system_of_record"] == "wms"
    as_wms = post_milestone(crm, "WMS-1", {"code": "delivered", "occurred_at": "2025-03-01T15:00:00Z"})
    assert as_wms.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "pointers"),
    [
        ({"code": "beamed", "occurred_at": "2025-03-01T15:00:00Z"}, {"/code"}),
        ({"code": "picked"}, {"/occurred_at"}),
        ({"code": "picked", "occurred_at": "last tuesday"}, {"/occurred_at"}),
        ({"code": "picked", "occurred_at": "2025-03-01T15:00:00Z", "signed_by": "Pat"}, {"/signed_by"}),
        ([{"code": "picked"}], {"/"}),
    ],
)
def test_bad_milestones_are_400_and_change_nothing(wms, shipment, data, pointers):
    before = snapshot()
    response = post_milestone(wms, "WMS-1", data)
    assert response.status_code == 400, response.content
    assert {e["pointer"] for e in response.json()["errors"]} == pointers
    assert snapshot() == before


def test_milestone_for_unknown_shipment_or_system_is_404(wms, shipment):
    data = {"code": "picked", "occurred_at": "2025-03-01T10:00:00Z"}
    assert post_milestone(wms, "NOPE", data).status_code == 404
    assert post_milestone(wms, "WMS-1", data, system="nosuch").status_code == 404
    malformed = wms.generic("POST", "/api/v1/systems/wms/shipments/WMS-1/milestones", "{", content_type="application/json")
    assert malformed.status_code == 400
    assert post_milestone(wms, "WMS%001", data).status_code == 404  # a NUL byte is never an id
    assert ShipmentMilestone.objects.count() == 0


def test_milestone_post_costs_a_fixed_handful_of_queries(wms, shipment):
    post_milestone(wms, "WMS-1", {"code": "picked", "occurred_at": "2025-03-01T10:00:00Z"})  # key's last_used write
    with CaptureQueriesContext(connection) as new:
        assert post_milestone(wms, "WMS-1", {"code": "packed", "occurred_at": "2025-03-01T11:00:00Z"}).status_code == 201
    with CaptureQueriesContext(connection) as repeat:
        assert post_milestone(wms, "WMS-1", {"code": "packed", "occurred_at": "2025-03-01T11:00:00Z"}).status_code == 200
    # key (with its consumer and system, which the view uses as the writing system), policy (product,
    # version, subscription and plan in one), shipment (its external id, the row lock and the system of
    # record's check in one), milestone insert (a repeat is found by ON CONFLICT DO NOTHING, no savepoint),
    # shipment update, event (its sequence taken in the INSERT), the milestone's link to its event; plus
    # the usage counter, which the tests write on every call (production adds it up in memory and writes
    # once a second).
    statements = [q["sql"] for q in new.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= 8, "\n".join(statements)
    assert len(repeat.captured_queries) < len(new.captured_queries)


# Reads


def test_carrier_reads_only_the_shipments_it_carries(carrier, shipment, order):
    theirs = ShipmentFactory(order=order, carrier="slowboat")
    listed = carrier.get("/api/v1/shipments").json()["results"]
    assert [row["id"] for row in listed] == [shipment.pk]
    assert carrier.get(f"/api/v1/shipments/{theirs.pk}").status_code == 404
    assert carrier.get(f"/api/v1/shipments/{shipment.pk}").status_code == 200


def test_filters(wms, shipment, order):
    other = ShipmentFactory(carrier="slowboat", status="delivered")
    def numbers(**params):
        response = wms.get("/api/v1/shipments", params)
        assert response.status_code == 200, response.content
        return {row["number"] for row in response.json()["results"]}

    assert numbers(order=order.pk) == {"SH-1"}
    assert numbers(customer=other.order.customer_id) == {other.number}
    assert numbers(status="created,delivered") == {"SH-1", other.number}
    assert numbers(status="delivered") == {other.number}
    assert numbers(carrier="FASTFREIGHT") == {"SH-1"}
    assert numbers(tracking_number="1Z999", location="wh-east") == {"SH-1"}
    assert numbers(external_system="wms") == {"SH-1"}
    assert wms.get("/api/v1/shipments", {"order": "1.5"}).status_code == 400


def test_get_by_external_id(wms, shipment):
    response = wms.get("/api/v1/systems/wms/shipments/WMS-1")
    assert response.status_code == 200
    assert response.json()["external_refs"] == [{"system": "wms", "external_id": "WMS-1"}]


def test_list_query_count_does_not_grow_with_page_size(wms, order):
    def page_queries(size):
        with CaptureQueriesContext(connection) as ctx:
            response = wms.get("/api/v1/shipments", {"page_size": size})
        assert len(response.json()["results"]) == size
        return len(ctx.captured_queries)

    def make(count):
        for _ in range(count):
            line = ShipmentLineFactory(shipment__order=order, order_line=OrderLineFactory(order=order))
            ShipmentMilestone.objects.create(shipment=line.shipment, code="picked", occurred_at=line.created_at,
                                             source_system=wms.system)
            ExternalRefFactory(system=wms.system, entity_type="shipment", object_id=line.shipment_id)

    wms.get("/api/v1/shipments")
    make(1)
    one = page_queries(1)
    make(49)
    assert page_queries(50) == one


# Concurrency (row locks): PostgreSQL only


def _in_parallel(key, calls):
    """Run each call with its own client and connection, all released at once; returns status codes."""
    import threading

    from django.db import connections
    from rest_framework.test import APIClient

    barrier = threading.Barrier(len(calls))
    codes = []

    def run(call):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        barrier.wait()
        try:
            codes.append(call(client).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(codes)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_a_milestone_record_it_once(wms, shipment):
    data = {"code": "dispatched", "occurred_at": "2025-03-01T12:00:00Z"}
    codes = _in_parallel(wms.raw_key, [lambda c: post_milestone(c, "WMS-1", data)] * 4)
    assert codes == [200, 200, 200, 201]
    assert ShipmentMilestone.objects.count() == 1
    assert BusinessEvent.objects.filter(event_type="shipment.dispatched").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_shipments_cannot_over_ship_a_line(wms, order):
    def shipment(n):
        return lambda c: put(c, f"WMS-{n}", body(number=f"SH-{n}", lines=[{"line_number": 1, "quantity": "4"}]))

    codes = _in_parallel(wms.raw_key, [shipment(n) for n in range(3)])
    assert codes == [201, 201, 422]  # 4 + 4 fit in the 10 ordered, a third 4 does not
    assert shipped(order)[1] == Decimal("8")
    assert Shipment.objects.count() == 2
