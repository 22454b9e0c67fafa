"""Purchase orders from the ERP; acknowledgements and ASNs from the supplier the PO is addressed to."""

from datetime import date
from decimal import Decimal

import pytest

from canonical.models import (
    AdvanceShipNotice,
    BusinessEvent,
    ExternalRef,
    PurchaseOrder,
    PurchaseOrderLine,
    SupplierAcknowledgement,
)
from tests.factories import (
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(partner_client):
    client = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="supplier_commitments", system=client.system)
    return client


@pytest.fixture
def acme(partner_client):
    return partner_client("acme", "supplier")


@pytest.fixture
def globex(partner_client):
    return partner_client("globex", "supplier")


@pytest.fixture
def catalog(db):
    LocationFactory(code="wh-east")
    return ProductFactory(sku="WID-1"), ProductFactory(sku="GAD-2")


def po_body(**overrides):
    data = {
        "number": "PO-1",
        "supplier": "acme",
        "ship_to_location": "wh-east",
        "status": "sent",
        "ordered_at": "2025-03-01T08:00:00Z",
        "requested_date": "2025-03-20",
        "lines": [
            {"line_number": 1, "sku": "WID-1", "quantity": "100", "unit_cost": "1.10"},
            {"line_number": 2, "sku": "GAD-2", "quantity": "20", "unit_cost": "7.00"},
        ],
    }
    data.update(overrides)
    return data


def put_po(client, external_id, data, system="erp"):
    return client.put(f"/api/v1/systems/{system}/purchase-orders/{external_id}", data, format="json")


def snapshot():
    return (
        PurchaseOrder.objects.count(), PurchaseOrderLine.objects.count(), SupplierAcknowledgement.objects.count(),
        AdvanceShipNotice.objects.count(), BusinessEvent.objects.count(), ExternalRef.objects.count(),
        tuple(PurchaseOrderLine.objects.order_by("pk").values_list("confirmed_quantity", flat=True)),
    )


def last_event():
    return BusinessEvent.objects.order_by("-id").first()


@pytest.fixture
def po(erp, acme, catalog):
    response = put_po(erp, "ERP-PO-1", po_body())
    assert response.status_code == 201, response.content
    return PurchaseOrder.objects.get(number="PO-1")


# Purchase orders


def test_erp_creates_and_updates_a_purchase_order(erp, po):
    assert [line.line_number for line in po.lines.order_by("line_number")] == [1, 2]
    assert (last_event().event_type, last_event().aggregate_type) == ("purchase_order.created", "purchase_order")
    response = put_po(erp, "ERP-PO-1", po_body(lines=po_body()["lines"][:1]))
    assert response.status_code == 200
    assert [line["line_number"] for line in response.json()["lines"]] == [1]
    assert (last_event().event_type, last_event().payload["changed"]) == ("purchase_order.updated", ["lines"])
    before = snapshot()
    assert put_po(erp, "ERP-PO-1", po_body(lines=po_body()["lines"][:1])).status_code == 200
    assert snapshot() == before


def test_purchase_order_lifecycle_is_enforced(erp, po):
    before = snapshot()
    response = put_po(erp, "ERP-PO-1", po_body(status="draft"))
    assert response.status_code == 409
    assert (response.json()["current_status"], response.json()["requested_status"]) == ("sent", "draft")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"supplier": "erp"}, "/supplier"),
        ({"supplier": "nobody"}, "/supplier"),
        ({"kind": "drop_ship"}, "/order"),
        ({"lines": [{"line_number": 1, "sku": "WID-1", "quantity": "0"}]}, "/lines/0/quantity"),
        ({"lines": [{"line_number": 1, "sku": "WID-1", "quantity": "1", "order_line": 1}]}, "/lines/0/order_line"),
        ({"lines": [{"line_number": 1, "sku": "ZZZ", "quantity": "1"}]}, "/lines/0/sku"),
        ({"lines": [{"line_number": 1, "sku": "WID-1", "quantity": "1", "confirmed_quantity": "1"}]},
         "/lines/0/confirmed_quantity"),
        ({"ordered_at": 20250301}, "/ordered_at"),
    ],
)
def test_bad_purchase_orders_are_400_and_change_nothing(erp, acme, catalog, change, pointer):
    before = snapshot()
    response = put_po(erp, "ERP-PO-1", po_body(**change))
    assert response.status_code == 400, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert snapshot() == before


def test_drop_ship_po_links_customer_order_lines(erp, acme, catalog):
    order = OrderFactory(number="SO-9")
    order_line = OrderLineFactory(order=order, line_number=3, product=catalog[0])
    body = po_body(kind="drop_ship", order=order.pk, ship_to_location=None,
                   lines=[{"line_number": 1, "sku": "WID-1", "quantity": "5", "order_line": 3}])
    response = put_po(erp, "ERP-PO-9", body)
    assert response.status_code == 201, response.content
    assert (response.json()["order"], response.json()["lines"][0]["order_line"]) == (order.pk, order_line.pk)


def test_supplier_may_not_write_purchase_orders(acme, erp, catalog):
    before = snapshot()
    response = put_po(acme, "A-1", po_body(), system="acme")
    assert response.status_code == 409
    assert response.json()["system_of_record"] == "erp"
    assert snapshot() == before


# Row-level reads


def test_supplier_reads_only_purchase_orders_addressed_to_it(erp, acme, globex, po, catalog):
    theirs = PurchaseOrderFactory(supplier=globex.system, number="PO-G")
    ExternalRef.objects.create(system=erp.system, entity_type="purchase_order", external_id="ERP-PO-G",
                               object_id=theirs.pk)
    assert [row["number"] for row in acme.get("/api/v1/purchase-orders").json()["results"]] == ["PO-1"]
    assert {row["number"] for row in erp.get("/api/v1/purchase-orders").json()["results"]} == {"PO-1", "PO-G"}
    assert acme.get(f"/api/v1/purchase-orders/{po.pk}").status_code == 200

    other_by_id = acme.get(f"/api/v1/purchase-orders/{theirs.pk}")
    missing_by_id = acme.get("/api/v1/purchase-orders/999999")
    assert other_by_id.status_code == missing_by_id.status_code == 404
    assert other_by_id.json() == missing_by_id.json()

    other_by_ref = acme.get("/api/v1/systems/erp/purchase-orders/ERP-PO-G")
    missing_by_ref = acme.get("/api/v1/systems/erp/purchase-orders/ERP-PO-X")
    assert other_by_ref.status_code == missing_by_ref.status_code == 404
    assert other_by_ref.json()["type"] == missing_by_ref.json()["type"]
    assert other_by_ref.json()["detail"].replace("ERP-PO-G", "?") == missing_by_ref.json()["detail"].replace(
        "ERP-PO-X", "?"
    )

    acks_of_other = acme.get("/api/v1/systems/globex/purchase-orders/PO-G/acknowledgements")
    acks_missing = acme.get("/api/v1/systems/globex/purchase-orders/PO-NONE/acknowledgements")
    assert acks_of_other.status_code == acks_missing.status_code == 404
    assert acme.get("/api/v1/systems/acme/purchase-orders/PO%001/acknowledgements").status_code == 404


def test_purchase_order_filters(erp, po, globex, catalog):
    PurchaseOrderLineFactory(purchase_order=PurchaseOrderFactory(supplier=globex.system), product=catalog[0])

    def numbers(**params):
        response = erp.get("/api/v1/purchase-orders", params)
        assert response.status_code == 200, response.content
        return {row["number"] for row in response.json()["results"]}

    assert numbers(supplier="acme") == {"PO-1"}
    assert numbers(sku="GAD-2") == {"PO-1"}
    assert len(numbers(sku="WID-1")) == 2
    assert numbers(status="sent,acknowledged", location="wh-east") == {"PO-1"}


# Acknowledgements


def ack_url(supplier="acme", po_ref="PO-1"):
    return f"/api/v1/systems/{supplier}/purchase-orders/{po_ref}/acknowledgements"


ACK = {
    "acknowledged_at": "2025-03-02T10:00:00Z",
    "status": "changed",
    "supplier_reference": "ACME-SO-77",
    "lines": [
        {"line_number": 1, "confirmed_quantity": "100", "confirmed_date": "2025-03-18"},
        {"line_number": 2, "confirmed_quantity": "15", "confirmed_date": "2025-03-25"},
    ],
}


def test_supplier_acknowledges_by_po_number(acme, po):
    response = acme.post(ack_url(), ACK, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["revision"], response.json()["status"]) == (1, "changed")
    po.refresh_from_db()
    assert po.status == "acknowledged"
    assert po.confirmed_date == date(2025, 3, 25)
    assert dict(po.lines.values_list("line_number", "confirmed_quantity")) == {1: Decimal("100"), 2: Decimal("15")}
    event = last_event()
    assert (event.event_type, event.aggregate_type, event.source_system) == (
        "supplier.ack_received", "purchase_order", acme.system
    )
    assert event.payload["lines_after_requested_date"] == [2]


def test_repeat_is_idempotent_and_revisions_are_kept(acme, po):
    first = acme.post(ack_url(), ACK, format="json").json()
    before = snapshot()
    repeat = acme.post(ack_url(), ACK, format="json")
    assert repeat.status_code == 200
    assert repeat.json()["id"] == first["id"]
    assert snapshot() == before

    revised = {**ACK, "acknowledged_at": "2025-03-03T10:00:00Z",
               "lines": [{"line_number": 2, "confirmed_quantity": "20", "confirmed_date": "2025-03-19"}]}
    second = acme.post(ack_url(po_ref="ACME-SO-77"), revised, format="json")  # by the supplier's own id
    assert second.status_code == 201
    assert second.json()["revision"] == 2
    assert list(SupplierAcknowledgement.objects.values_list("revision", flat=True)) == [1, 2]
    assert PurchaseOrderLine.objects.get(line_number=2).confirmed_quantity == Decimal("20")

    listed = acme.get(ack_url())
    assert [a["revision"] for a in listed.json()] == [1, 2]
    assert listed.json()[0]["lines"][1]["confirmed_quantity"] == "15.000"  # revision 1 is untouched


def test_recorded_revision_is_never_overwritten(acme, po):
    acme.post(ack_url(), {**ACK, "revision": 1}, format="json")
    before = snapshot()
    response = acme.post(ack_url(), {**ACK, "revision": 1, "note": "oops"}, format="json")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/revision-conflict")
    assert response.json()["next_revision"] == 2
    assert snapshot() == before


def test_older_revision_arriving_late_is_kept_but_not_applied(acme, po):
    acme.post(ack_url(), {**ACK, "revision": 3}, format="json")
    late = {**ACK, "revision": 2, "lines": [{"line_number": 1, "confirmed_quantity": "1"}]}
    assert acme.post(ack_url(), late, format="json").status_code == 201
    assert PurchaseOrderLine.objects.get(line_number=1).confirmed_quantity == Decimal("100")
    assert last_event().payload["applied"] is False


def test_only_the_addressed_supplier_writes(erp, acme, globex, po):
    before = snapshot()
    other_supplier = globex.post(ack_url(supplier="globex"), ACK, format="json")
    assert other_supplier.status_code == 404  # acme's PO does not exist for globex
    as_acme = globex.post(ack_url(), ACK, format="json")
    assert as_acme.status_code == 403
    by_erp = erp.post(ack_url(supplier="erp"), ACK, format="json")
    assert by_erp.status_code == 409
    assert by_erp.json()["type"].endswith("/not-the-supplier")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"lines": [{"line_number": 9, "confirmed_quantity": "1"}]}, "/lines/0/line_number"),
        ({"lines": [{"line_number": 1, "confirmed_quantity": "-1"}]}, "/lines/0/confirmed_quantity"),
        ({"status": "maybe"}, "/status"),
        ({"acknowledged_at": None}, "/acknowledged_at"),
        ({"revision": 0}, "/revision"),
        ({"price": "1"}, "/price"),
    ],
)
def test_bad_acknowledgements_are_400_and_change_nothing(acme, po, change, pointer):
    before = snapshot()
    response = acme.post(ack_url(), {**ACK, **change}, format="json")
    assert response.status_code == 400, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert snapshot() == before


def test_confirming_more_than_ordered_is_refused_naming_the_line(acme, po):
    before = snapshot()
    lines = [ACK["lines"][0], {"line_number": 2, "confirmed_quantity": "500", "confirmed_date": "2025-03-25"}]
    response = acme.post(ack_url(), {**ACK, "lines": lines}, format="json")
    assert response.status_code == 422, response.content
    [error] = response.json()["errors"]
    assert error["pointer"] == "/lines/1/confirmed_quantity"
    assert error["messages"][0] == "Line 2 of purchase order PO-1 orders 20.000; the supplier cannot confirm 500.000."
    assert snapshot() == before


def test_supplier_reference_taken_by_another_po_is_refused(erp, acme, po):
    put_po(erp, "ERP-PO-2", po_body(number="PO-2"))
    acme.post(ack_url(), ACK, format="json")
    before = snapshot()
    response = acme.post(ack_url(po_ref="PO-2"), ACK, format="json")
    assert response.status_code == 409
    assert "ACME-SO-77" in response.json()["detail"]
    assert snapshot() == before


# Advance ship notices


def asn_url(number="ASN-1", supplier="acme", po_ref="PO-1"):
    return f"/api/v1/systems/{supplier}/purchase-orders/{po_ref}/advance-ship-notices/{number}"


ASN = {
    "shipped_at": "2025-03-17T16:00:00Z",
    "expected_at": "2025-03-19T12:00:00Z",
    "carrier": "fastfreight",
    "tracking_number": "1ZASN",
    "lines": [{"line_number": 1, "quantity": "60"}],
}


def test_supplier_sends_and_corrects_an_asn(acme, po):
    created = acme.put(asn_url(), ASN, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["lines"] == [{"line_number": 1, "sku": "WID-1", "quantity": "60.000"}]
    assert last_event().event_type == "supplier.asn_received"
    before = snapshot()
    assert acme.put(asn_url(), ASN, format="json").status_code == 200
    assert snapshot() == before
    corrected = acme.put(asn_url(), {**ASN, "lines": [{"line_number": 1, "quantity": "55"}]}, format="json")
    assert corrected.status_code == 200
    assert last_event().payload["changed"] == ["lines"]
    listed = acme.get("/api/v1/systems/acme/purchase-orders/PO-1/advance-ship-notices").json()
    assert [a["number"] for a in listed] == ["ASN-1"]
    assert acme.get(asn_url()).json()["lines"][0]["quantity"] == "55.000"
    assert acme.get(asn_url(number="NOPE")).status_code == 404


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"lines": [{"line_number": 1, "quantity": "0"}]}, "/lines/0/quantity"),
        ({"lines": [{"line_number": 5, "quantity": "1"}]}, "/lines/0/line_number"),
        ({"lines": []}, "/lines"),
        ({"shipped_at": "soon"}, "/shipped_at"),
        ({"expected_at": "2025-03-17T15:59:00Z"}, "/expected_at"),
        ({"pallets": 3}, "/pallets"),
    ],
)
def test_bad_asns_are_400_and_change_nothing(acme, po, change, pointer):
    before = snapshot()
    response = acme.put(asn_url(), {**ASN, **change}, format="json")
    assert response.status_code == 400, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert snapshot() == before


def test_notices_cannot_ship_more_than_the_line_orders(acme, po):
    assert acme.put(asn_url(), ASN, format="json").status_code == 201  # 60 of 100
    before = snapshot()
    response = acme.put(asn_url(number="ASN-2"), {**ASN, "lines": [{"line_number": 1, "quantity": "41"}]},
                        format="json")
    assert response.status_code == 422, response.content
    [error] = response.json()["errors"]
    assert error["pointer"] == "/lines/0/quantity"
    assert error["messages"][0] == ("Line 1 of purchase order PO-1 orders 100.000; 60.000 is on its other ship "
                                    "notices, so this one may ship at most 40.000, not 41.000.")
    assert snapshot() == before
    assert acme.put(asn_url(number="ASN-2"), {**ASN, "lines": [{"line_number": 1, "quantity": "40"}]},
                    format="json").status_code == 201
    # A notice corrected is not counted against itself.
    assert acme.put(asn_url(), {**ASN, "lines": [{"line_number": 1, "quantity": "60"}]}, format="json").status_code == 200


def test_asn_for_another_suppliers_po_is_404(globex, po):
    before = snapshot()
    assert globex.put(asn_url(supplier="globex"), ASN, format="json").status_code == 404
    assert snapshot() == before


def test_po_line_on_an_asn_cannot_be_removed(erp, acme, po):
    acme.put(asn_url(), ASN, format="json")
    before = snapshot()
    response = put_po(erp, "ERP-PO-1", po_body(lines=po_body()["lines"][1:]))
    assert response.status_code == 422
    assert response.json()["line_numbers"] == [1]
    assert snapshot() == before
