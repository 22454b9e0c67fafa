"""Invoice, return (RMA) and credit memo endpoints: the ERP's upserts, lifecycles, roll-ups, reads."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from canonical.models import (
    BusinessEvent,
    CreditMemo,
    Invoice,
    InvoiceLine,
    OrderLine,
    ReturnAuthorization,
    ReturnLine,
)
from tests.factories import (
    CustomerFactory,
    ExternalRefFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    ReturnAuthorizationFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(partner_client):
    client = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="invoices", system=client.system)
    SystemOfRecordFactory(domain="returns", system=client.system)
    return client


@pytest.fixture
def order(erp):
    made = OrderFactory(number="SO-1", status="shipped")
    widget, gadget = ProductFactory(sku="WID-1"), ProductFactory(sku="GAD-2")
    OrderLineFactory(order=made, line_number=1, product=widget, quantity_ordered=10, quantity_shipped=10)
    OrderLineFactory(order=made, line_number=2, product=gadget, quantity_ordered=4, quantity_shipped=2)
    ExternalRefFactory(system=erp.system, entity_type="order", external_id="ERP-SO-1", object_id=made.pk)
    return made


def snapshot():
    return (
        Invoice.objects.count(), InvoiceLine.objects.count(), ReturnAuthorization.objects.count(),
        ReturnLine.objects.count(), CreditMemo.objects.count(), BusinessEvent.objects.count(),
        tuple(OrderLine.objects.order_by("pk").values_list("quantity_returned", flat=True)),
    )


def last_event():
    return BusinessEvent.objects.order_by("-id").first()


# Invoices


def invoice_body(so, **overrides):
    data = {
        "number": "INV-1",
        "customer": so.customer_id,
        "order": "ERP-SO-1",
        "issued_at": "2025-03-05T00:00:00Z",
        "due_date": "2025-04-04",
        "lines": [
            {"line_number": 1, "sku": "WID-1", "quantity": "10", "unit_price": "2.50"},
            {"sku": "GAD-2", "quantity": "1", "unit_price": "0.99"},
        ],
    }
    data.update(overrides)
    return data


def put_invoice(client, external_id, data, system="erp"):
    return client.put(f"/api/v1/systems/{system}/invoices/{external_id}", data, format="json")


def test_invoice_is_posted_with_amount_from_lines(erp, order):
    response = put_invoice(erp, "AR-1", invoice_body(order))
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["amount"], data["status"], data["order"]) == ("25.99", "posted", order.pk)
    assert [(line["sku"], line["amount"]) for line in data["lines"]] == [("WID-1", "25.00"), ("GAD-2", "0.99")]
    assert data["lines"][0]["order_line"] == OrderLine.objects.get(order=order, line_number=1).pk
    assert (last_event().event_type, last_event().aggregate_type) == ("invoice.posted", "invoice")


def test_invoice_payment_and_lifecycle(erp, order):
    put_invoice(erp, "AR-1", invoice_body(order))
    paid = put_invoice(erp, "AR-1", invoice_body(order, status="paid", amount_paid="25.99",
                                                 paid_at="2025-03-20T00:00:00Z"))
    assert paid.status_code == 200
    events = list(BusinessEvent.objects.filter(aggregate_type="invoice").order_by("id")
                  .values_list("event_type", flat=True))
    assert events == ["invoice.posted", "invoice.updated", "invoice.paid"]
    assert (last_event().payload["from"], last_event().payload["to"]) == ("posted", "paid")
    put_invoice(erp, "AR-1", invoice_body(order, status="credited", amount_paid="25.99"))
    before = snapshot()
    back = put_invoice(erp, "AR-1", invoice_body(order, status="posted"))
    assert back.status_code == 409
    assert (back.json()["current_status"], back.json()["requested_status"]) == ("credited", "posted")
    assert snapshot() == before


def test_invoice_repeat_is_a_no_op_and_line_change_replaces_lines(erp, order):
    put_invoice(erp, "AR-1", invoice_body(order))
    before = snapshot()
    assert put_invoice(erp, "AR-1", invoice_body(order)).status_code == 200
    assert snapshot() == before
    changed = put_invoice(erp, "AR-1", invoice_body(order, lines=invoice_body(order)["lines"][:1]))
    assert changed.json()["amount"] == "25.00"
    assert last_event().payload["changed"] == ["amount", "lines"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"lines": [{"line_number": 9, "sku": "WID-1", "quantity": "1", "unit_price": "1"}]}, "/lines/0/line_number"),
        ({"lines": [{"line_number": 1, "sku": "GAD-2", "quantity": "1", "unit_price": "1"}]}, "/lines/0/sku"),
        ({"lines": [{"sku": "NOPE", "quantity": "1", "unit_price": "1"}]}, "/lines/0/sku"),
        ({"lines": [{"sku": "WID-1", "quantity": "0", "unit_price": "1"}]}, "/lines/0/quantity"),
        ({"lines": [{"sku": "WID-1", "quantity": "1", "unit_price": "-1"}]}, "/lines/0/unit_price"),
        ({"amount": "1.00"}, "/amount"),
        ({"amount_paid": "-5"}, "/amount_paid"),
        ({"status": "forgiven"}, "/status"),
        ({"issued_at": None}, "/issued_at"),
        ({"order": "NOPE"}, "/order"),
    ],
)
def test_bad_invoice_fields_are_400_and_change_nothing(erp, order, change, pointer):
    before = snapshot()
    response = put_invoice(erp, "AR-1", invoice_body(order, **change))
    assert response.status_code == 400, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert snapshot() == before


def test_an_invoice_amount_no_money_field_can_hold_is_refused_before_any_write(erp, order):
    before = snapshot()
    lines = [{"line_number": 1, "sku": "WID-1", "quantity": "10", "unit_price": "999999999999.99"}]
    response = put_invoice(erp, "AR-1", invoice_body(order, lines=lines))
    assert response.status_code == 422, response.content
    [error] = response.json()["errors"]
    assert error["pointer"] == "/lines/0/quantity"
    assert error["messages"][0] == ("The line's amount (10.000 × 999999999999.99), 9,999,999,999,999.90, is more than "
                                    "the hub can hold (at most 999,999,999,999.99).")
    assert snapshot() == before


def test_invoice_for_someone_elses_order_is_refused(erp, order):
    stranger = CustomerFactory()
    response = put_invoice(erp, "AR-1", invoice_body(order, customer=stranger.pk))
    assert response.status_code == 400
    assert [e["pointer"] for e in response.json()["errors"]] == ["/customer"]
    line_without_order = put_invoice(erp, "AR-1", invoice_body(order, order=None))
    assert line_without_order.json()["errors"][0]["pointer"] == "/lines/0/line_number"


def test_invoice_write_by_non_owner_and_as_another_system(partner_client, erp, order):
    crm = partner_client("crm", "crm")
    before = snapshot()
    not_owner = put_invoice(crm, "X", invoice_body(order, order=order.pk), system="crm")
    assert not_owner.status_code == 409
    assert not_owner.json()["system_of_record"] == "erp"
    assert put_invoice(crm, "X", invoice_body(order)).status_code == 403
    assert snapshot() == before


def test_invoice_filters_and_reads(erp, order):
    put_invoice(erp, "AR-1", invoice_body(order))
    other = InvoiceFactory(status="paid")
    def numbers(**params):
        response = erp.get("/api/v1/invoices", params)
        assert response.status_code == 200, response.content
        return {row["number"] for row in response.json()["results"]}

    assert numbers(customer=order.customer_id) == {"INV-1"}
    assert numbers(order=order.pk) == {"INV-1"}
    assert numbers(status="posted,paid") == {"INV-1", other.number}
    assert numbers(status="paid") == {other.number}
    assert numbers(external_system="erp") == {"INV-1"}
    assert erp.get("/api/v1/systems/erp/invoices/AR-1").json()["number"] == "INV-1"
    assert erp.get("/api/v1/systems/erp/invoices/NOPE").status_code == 404


def test_invoice_list_query_count_does_not_grow_with_page_size(erp):
    def page_queries(size):
        with CaptureQueriesContext(connection) as ctx:
            response = erp.get("/api/v1/invoices", {"page_size": size})
        assert len(response.json()["results"]) == size
        return len(ctx.captured_queries)

    def make(count):
        for _ in range(count):
            line = InvoiceLineFactory()
            InvoiceLineFactory(invoice=line.invoice)
            ExternalRefFactory(system=erp.system, entity_type="invoice", object_id=line.invoice_id)

    erp.get("/api/v1/invoices")
    make(1)
    one = page_queries(1)
    make(49)
    assert page_queries(50) == one


def test_supplier_may_not_read_invoices(partner_client):
    response = partner_client("acme", "supplier").get("/api/v1/invoices")
    assert response.status_code == 403


# Returns


def return_body(**overrides):
    data = {
        "number": "RMA-1",
        "order": "ERP-SO-1",
        "reason": "Damaged in transit",
        "requested_at": "2025-03-10T00:00:00Z",
        "lines": [{"line_number": 1, "quantity_requested": "2"}],
    }
    data.update(overrides)
    return data


def put_return(client, external_id, data, system="erp"):
    return client.put(f"/api/v1/systems/{system}/returns/{external_id}", data, format="json")


def returned(order):
    return dict(OrderLine.objects.filter(order=order).values_list("line_number", "quantity_returned"))


def test_return_moves_through_its_lifecycle_and_rolls_up_received(erp, order):
    created = put_return(erp, "RA-1", return_body())
    assert created.status_code == 201, created.content
    assert (created.json()["status"], created.json()["customer"]) == ("requested", order.customer_id)
    assert last_event().event_type == "return.requested"
    put_return(erp, "RA-1", return_body(status="authorised"))
    assert last_event().event_type == "return.authorised"
    received = put_return(erp, "RA-1", return_body(
        status="received", received_at="2025-03-15T00:00:00Z",
        lines=[{"line_number": 1, "quantity_requested": "2", "quantity_received": "2"}],
    ))
    assert received.status_code == 200
    assert returned(order) == {1: Decimal("2"), 2: Decimal("0")}
    types = [e for e in BusinessEvent.objects.order_by("id").values_list("event_type", flat=True)]
    assert types[-2:] == ["order.updated", "return.received"] or types[-2:] == ["return.received", "order.updated"]
    rejected = put_return(erp, "RA-1", return_body(status="rejected", decision_reason="Not ours",
                                                  lines=[{"line_number": 1, "quantity_requested": "2",
                                                          "quantity_received": "2"}]))
    assert rejected.status_code == 200
    assert returned(order)[1] == Decimal("0")  # a rejected return no longer counts


def test_return_edit_without_status_change_emits_return_updated(erp, order):
    put_return(erp, "RA-1", return_body())
    response = put_return(erp, "RA-1", return_body(reason="Wrong colour"))
    assert response.status_code == 200
    assert (last_event().event_type, last_event().payload["changed"]) == ("return.updated", ["reason"])


def test_receiving_more_than_shipped_is_refused_at_the_line(erp, order):
    put_return(erp, "RA-1", return_body(lines=[{"line_number": 2, "quantity_requested": "1"}], status="authorised"))
    before = snapshot()
    response = put_return(erp, "RA-1", return_body(
        status="received", lines=[{"line_number": 2, "quantity_requested": "3", "quantity_received": "3"}]
    ))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/lines/0/quantity_received"
    assert snapshot() == before
    assert ReturnAuthorization.objects.get().status == "authorised"


def test_illegal_return_transition_is_409(erp, order):
    put_return(erp, "RA-1", return_body())
    before = snapshot()
    response = put_return(erp, "RA-1", return_body(status="credited"))
    assert response.status_code == 409
    assert (response.json()["current_status"], response.json()["requested_status"]) == ("requested", "credited")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"lines": [{"line_number": 7, "quantity_requested": "1"}]}, "/lines/0/line_number"),
        ({"lines": [{"line_number": 1, "quantity_requested": "0"}]}, "/lines/0/quantity_requested"),
        ({"lines": [{"line_number": 1, "quantity_requested": "1", "quantity_received": "-1"}]},
         "/lines/0/quantity_received"),
        ({"customer": "somebody"}, "/customer"),
        ({"order": None}, "/order"),
        ({"refund": True}, "/refund"),
    ],
)
def test_bad_return_fields_are_400_and_change_nothing(erp, order, change, pointer):
    before = snapshot()
    response = put_return(erp, "RA-1", return_body(**change))
    assert response.status_code == 400, response.content
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert snapshot() == before


def test_return_filters(erp, order):
    put_return(erp, "RA-1", return_body())
    other = ReturnAuthorizationFactory(status="received")
    response = erp.get("/api/v1/returns", {"status": "requested", "customer": order.customer_id})
    assert [row["number"] for row in response.json()["results"]] == ["RMA-1"]
    response = erp.get("/api/v1/returns", {"order": other.order_id})
    assert [row["number"] for row in response.json()["results"]] == [other.number]


# Credit memos


def memo_body(order, **overrides):
    data = {"number": "CM-1", "customer": order.customer_id, "rma": "RA-1", "amount": "5.00",
            "issued_at": "2025-03-20T00:00:00Z"}
    data.update(overrides)
    return data


def put_memo(client, external_id, data, system="erp"):
    return client.put(f"/api/v1/systems/{system}/credit-memos/{external_id}", data, format="json")


def test_credit_memo_issued_and_updated(erp, order):
    put_return(erp, "RA-1", return_body())
    created = put_memo(erp, "CR-1", memo_body(order))
    assert created.status_code == 201, created.content
    assert (created.json()["rma"], created.json()["currency"]) == (ReturnAuthorization.objects.get().pk, "USD")
    assert last_event().event_type == "credit_memo.issued"
    assert put_memo(erp, "CR-1", memo_body(order)).status_code == 200
    assert BusinessEvent.objects.filter(aggregate_type="credit_memo").count() == 1
    put_memo(erp, "CR-1", memo_body(order, amount="6.00"))
    assert (last_event().event_type, last_event().payload["changed"]) == ("credit_memo.updated", ["amount"])
    listed = erp.get("/api/v1/credit-memos", {"order": order.pk}).json()["results"]
    assert [row["number"] for row in listed] == ["CM-1"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [({"amount": "0"}, "/amount"), ({"amount": "-3"}, "/amount"), ({"amount": None}, "/amount"),
     ({"rma": "NOPE"}, "/rma"), ({"currency": "dollars"}, "/currency")],
)
def test_bad_credit_memos_are_400(erp, order, change, pointer):
    put_return(erp, "RA-1", return_body())
    before = snapshot()
    response = put_memo(erp, "CR-1", memo_body(order, **change))
    assert response.status_code == 400
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert snapshot() == before


def test_memos_cannot_credit_a_return_or_an_invoice_for_more_than_it_is_worth(erp, order):
    put_return(erp, "RA-1", return_body())  # 2 × 10.00
    assert put_memo(erp, "CR-1", memo_body(order, amount="15.00")).status_code == 201
    before = snapshot()
    second = put_memo(erp, "CR-2", memo_body(order, number="CM-2", amount="5.01"))
    assert second.status_code == 422, second.content
    [error] = second.json()["errors"]
    assert error["pointer"] == "/amount"
    assert error["messages"][0] == ("Return RMA-1 is worth 20.00; 15.00 is credited against it already (other "
                                    "memos), so this memo may credit at most 5.00, not 5.01.")
    assert snapshot() == before
    assert put_memo(erp, "CR-2", memo_body(order, number="CM-2", amount="5.00")).status_code == 201
    # A memo's own amount is not counted against itself when it is sent again or changed.
    assert put_memo(erp, "CR-1", memo_body(order, amount="15.00")).status_code == 200
    assert put_memo(erp, "CR-1", memo_body(order, amount="15.01")).status_code == 422

    assert put_invoice(erp, "AR-1", invoice_body(order)).status_code == 201  # 25.99
    over = put_memo(erp, "CR-3", memo_body(order, number="CM-3", rma=None, invoice="AR-1", amount="99999"))
    assert over.status_code == 422, over.content
    assert over.json()["errors"][0]["messages"][0].startswith("Invoice INV-1 is worth 25.99; 0.00 is credited")
    assert put_memo(erp, "CR-3", memo_body(order, number="CM-3", rma=None, invoice="AR-1",
                                          amount="25.99")).status_code == 201


def test_credit_memo_for_another_customers_return_is_refused(erp, order):
    put_return(erp, "RA-1", return_body())
    response = put_memo(erp, "CR-1", memo_body(order, customer=CustomerFactory().pk))
    assert response.status_code == 400
    assert [e["pointer"] for e in response.json()["errors"]] == ["/rma"]
