"""POST /api/v1/returns: a customer-facing system asks for an RMA; the return rules authorise or refuse
it line by line (return window, quantity ≤ shipped − returned − held by open returns)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from canonical.models import BusinessEvent, ExternalRef, ReturnAuthorization, ReturnLine
from tests.factories import (
    InvoiceFactory,
    InvoiceLineFactory,
    OrderFactory,
    OrderLineFactory,
    ReturnAuthorizationFactory,
    ShipmentFactory,
    ShipmentLineFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(partner_client):
    return partner_client("shop", "ecommerce")


@pytest.fixture
def order(db):
    made = OrderFactory(number="SO-7", status="shipped")
    widget = OrderLineFactory(order=made, line_number=1, quantity_ordered=10, quantity_shipped=10)
    gadget = OrderLineFactory(order=made, line_number=2, quantity_ordered=4, quantity_shipped=4)
    days_ago = timezone.now() - timedelta(days=5)
    shipment = ShipmentFactory(order=made, dispatched_at=days_ago - timedelta(days=1), delivered_at=days_ago)
    ShipmentLineFactory(shipment=shipment, order_line=widget, quantity=10)
    ShipmentLineFactory(shipment=shipment, order_line=gadget, quantity=4)
    return made


def request_body(order, lines=((1, "2"),), external_id="WEB-RET-1", **extra):
    return {"external_id": external_id, "order": order.pk, "reason": "Wrong size",
            "lines": [{"line_number": n, "quantity": q} for n, q in lines], **extra}


def post(client, body):
    return client.post("/api/v1/returns", body, format="json")


def event_types():
    return list(BusinessEvent.objects.filter(aggregate_type="return").order_by("id").values_list("event_type", flat=True))


def test_a_return_within_the_window_and_the_quantity_is_authorised(shop, order):
    response = post(shop, request_body(order, lines=((1, "2"), (2, "4"))))
    assert response.status_code == 201, response.content
    data = response.json()
    rma = ReturnAuthorization.objects.get()
    assert (data["number"], data["status"], data["customer"]) == (rma.number, "authorised", order.customer_id)
    assert rma.number.startswith("RMA-H")
    assert [(line["line_number"], line["quantity_requested"], line["refusal_reason"]) for line in data["lines"]] == [
        (1, "2.000", ""), (2, "4.000", "")]
    assert event_types() == ["return.requested", "return.authorised"]
    assert ExternalRef.objects.get(entity_type="return").external_id == "WEB-RET-1"
    assert {"system": "shop", "external_id": "WEB-RET-1"} in data["external_refs"]


def test_the_same_request_again_answers_with_the_same_rma_and_other_content_is_409(shop, order):
    first = post(shop, request_body(order))
    again = post(shop, request_body(order))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert event_types() == ["return.requested", "return.authorised"]
    other = post(shop, request_body(order, lines=((1, "3"),)))
    assert other.status_code == 409
    assert other.json()["type"].endswith("/return-request-conflict")
    assert ReturnAuthorization.objects.count() == 1


@override_settings(HUB_RETURN_WINDOW_DAYS=3)
def test_a_line_past_the_return_window_is_refused_and_the_rma_kept_as_rejected(shop, order):
    response = post(shop, request_body(order))
    assert response.status_code == 422, response.content
    problem = response.json()
    assert problem["type"].endswith("/return-refused")
    [error] = problem["errors"]
    assert (error["pointer"], error["line_number"], error["rule"]) == ("/lines/0/line_number", 1, "window")
    closes = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert f"closed on {closes}" in error["messages"][0] and "3 days after the line shipped" in error["messages"][0]
    rma = ReturnAuthorization.objects.get()
    assert problem["rma"] == {"id": rma.pk, "number": rma.number, "status": "rejected"}
    assert rma.lines.get().refusal_reason.startswith("window: The return window for line 1 closed")
    assert event_types() == ["return.requested", "return.rejected"]
    rejected = BusinessEvent.objects.get(event_type="return.rejected")
    assert rejected.payload["refusals"] == problem["errors"]
    # Asked again with the same id: the same refusal, nothing new.
    again = post(shop, request_body(order))
    assert (again.status_code, again.json()) == (422, problem)
    assert ReturnAuthorization.objects.count() == 1


def test_quantity_is_limited_to_shipped_less_returned_less_open_returns(shop, order):
    line = order.lines.get(line_number=1)
    line.quantity_returned = Decimal("3")
    line.save()
    held = ReturnAuthorizationFactory(order=order, status="authorised")
    ReturnLine.objects.create(rma=held, order_line=line, quantity_requested=Decimal("4"), quantity_received=Decimal("1"))
    rejected = ReturnAuthorizationFactory(order=order, status="rejected")
    ReturnLine.objects.create(rma=rejected, order_line=line, quantity_requested=Decimal("9"))
    response = post(shop, request_body(order, lines=((2, "1"), (1, "5"))))
    assert response.status_code == 422, response.content
    [error] = response.json()["errors"]
    assert error["pointer"] == "/lines/1/quantity"
    assert error["messages"] == [
        "At most 4 of line 1 can be returned (10 shipped, 3 returned, 3 on open returns); 5 requested."]
    refused = ReturnAuthorization.objects.get(status="rejected", lines__refusal_reason__startswith="quantity")
    assert dict(refused.lines.values_list("order_line__line_number", "refusal_reason"))[2] == ""
    exactly = post(shop, request_body(order, lines=((1, "4"),), external_id="WEB-RET-2"))
    assert exactly.status_code == 201, exactly.content


def test_nothing_shipped_cannot_be_returned(shop, order):
    unshipped = OrderLineFactory(order=order, line_number=3, quantity_ordered=2)
    assert unshipped.quantity_shipped == 0
    response = post(shop, request_body(order, lines=((3, "1"),)))
    assert response.status_code == 422
    assert response.json()["errors"][0]["messages"] == ["Nothing of line 3 has shipped yet, so nothing can be returned."]


@override_settings(HUB_RETURN_WINDOW_FROM="invoice", HUB_RETURN_WINDOW_DAYS=10)
def test_the_window_can_run_from_the_invoice(shop, order):
    refused = post(shop, request_body(order))
    assert refused.status_code == 422
    assert "not invoiced yet" in refused.json()["errors"][0]["messages"][0]
    invoice = InvoiceFactory(customer=order.customer, order=order, issued_at=timezone.now() - timedelta(days=9))
    InvoiceLineFactory(invoice=invoice, order_line=order.lines.get(line_number=1), quantity=10)
    assert post(shop, request_body(order, external_id="WEB-RET-2")).status_code == 201


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"lines": [{"line_number": 9, "quantity": "1"}]}, "/lines/0/line_number"),
        ({"lines": [{"line_number": 1, "quantity": "0"}]}, "/lines/0/quantity"),
        ({"lines": [{"line_number": 1, "quantity": "1"}, {"line_number": 1, "quantity": "1"}]},
         "/lines/1/line_number"),
        ({"lines": []}, "/lines"),
        ({"order": "NOPE"}, "/order"),
        ({"order": None}, "/order"),
        ({"external_id": ""}, "/external_id"),
        ({"customer": 999999}, "/customer"),
        ({"refund_to": "card"}, "/refund_to"),
    ],
)
def test_bad_requests_are_400_naming_the_field_and_record_nothing(shop, order, change, pointer):
    response = post(shop, {**request_body(order), **change})
    assert response.status_code == 400, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert not ReturnAuthorization.objects.exists() and not BusinessEvent.objects.exists()


def test_a_customer_not_on_the_order_is_refused(shop, order):
    stranger = OrderFactory().customer
    response = post(shop, request_body(order, customer=stranger.pk))
    assert response.status_code == 400
    assert [e["pointer"] for e in response.json()["errors"]] == ["/customer"]


def test_only_customer_facing_systems_request_returns(partner_client, order):
    wms = partner_client("wms", "wms")
    response = post(wms, request_body(order))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-a-return-requester")
    crm = partner_client("crm", "crm")
    assert post(crm, request_body(order)).status_code == 201
    assert ReturnAuthorization.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_cannot_return_more_than_shipped(shop, order):
    import threading

    from django.db import connections
    from rest_framework.test import APIClient

    barrier = threading.Barrier(5)
    codes = []

    def run(n):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {shop.raw_key}")
        barrier.wait()
        try:
            codes.append(post(client, request_body(order, lines=((1, "3"),), external_id=f"WEB-{n}")).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201, 201, 201, 422, 422]  # 3 × 3 fit in the 10 shipped, a fourth 3 does not
    held = ReturnLine.objects.filter(rma__status="authorised").values_list("quantity_requested", flat=True)
    assert sum(held) == Decimal("9")


def test_the_return_rules_read_the_same_number_of_queries_for_one_line_or_several(order):
    """Each line's window and quantity facts are read for all lines together (no query per line)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from canonical.services.returns import _return_lines_refusals

    for number in (3, 4, 5):
        OrderLineFactory(order=order, line_number=number, quantity_ordered=2, quantity_shipped=2)
    lines = {line.line_number: line.pk for line in order.lines.all()}
    invoice = InvoiceFactory(order=order, status="open")
    InvoiceLineFactory(invoice=invoice, order_line_id=lines[3], quantity=Decimal("2"))
    now = timezone.now()

    def refusals(numbers):
        with CaptureQueriesContext(connection) as queries:
            answer = _return_lines_refusals(
                order=order, items=[{"order_line_id": lines[n], "quantity": Decimal("1")} for n in numbers], at=now)
        return answer, len(queries.captured_queries)

    one, one_count = refusals([1])
    several, several_count = refusals([1, 2, 3, 4, 5])
    assert one_count == several_count == 4
    # Lines 3–5 have no shipment on record: line 3's window runs from its invoice, lines 4 and 5
    # (never invoiced) have none open yet; the shipped lines 1 and 2 pass.
    assert one == [[]] and [[kind for kind, _ in refused] for refused in several] == [[], [], [], ["window"],
                                                                                       ["window"]]
    with override_settings(HUB_RETURN_WINDOW_FROM="invoice"):
        by_invoice, _ = refusals([1, 3])
    assert [[kind for kind, _ in refused] for refused in by_invoice] == [["window"], []]
