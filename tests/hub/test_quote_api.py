"""POST /api/v1/pricing/quote: price and rule, availability and promise per line, credit standing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from canonical.models import Customer, Invoice, PurchaseOrder, PurchaseOrderLine, Reservation
from tests.factories import OrderFactory, OrderLineFactory
from tests.hub.ordering_support import shop_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    return shop_build(credit_limit=Decimal("1000.00"))


@pytest.fixture
def shop_client(partner_client, shop):
    return partner_client("shop", "ecommerce")


def quote(client, **body):
    body.setdefault("customer", {"system": "crm", "external_id": "CRM-100"})
    return client.post("/api/v1/pricing/quote", body, format="json")


def test_each_line_gets_its_price_rule_availability_and_promise(shop_client, shop, settings):
    settings.HUB_DISPATCH_DAYS = 1
    settings.HUB_SUPPLIER_LEAD_TIME_DAYS = 14
    settings.HUB_SUPPLY_HANDLING_DAYS = 1
    today = timezone.localdate()
    later = today + timedelta(days=30)
    response = quote(shop_client, lines=[
        {"sku": "WID-1", "quantity": "5"},
        {"sku": "WID-1", "quantity": "100", "requested_date": later.isoformat()},
        {"sku": "GAD-1", "quantity": "1"},
        {"sku": "BOLT-1", "quantity": "10"},
        {"sku": "CRATE-1", "quantity": "1"},
    ])

    assert response.status_code == 200, response.json()
    body = response.json()
    lines = body["lines"]
    assert [(line["price"]["rule"], line["price"]["unit_price"]) for line in lines] == [
        ("list_price", "10.00"), ("quantity_break", "8.00"), ("contract_customer", "15.00"),
        ("contract_group", "0.50"), ("list_price", "400.00")]
    assert lines[2]["price"]["source"] == "K-1" and lines[3]["price"]["source"] == "G-7"
    assert [line["amount"] for line in lines] == ["50.00", "800.00", "15.00", "5.00", "400.00"]
    assert body["total"] == "1270.00" and all(line["quotable"] for line in lines)
    assert [(a["location"], a["available_to_promise"]) for a in lines[0]["availability"]] == [
        ("wh-east", "10.000"), ("wh-west", "3.000")]
    assert lines[0]["available_to_promise"] == "13.000"
    assert (lines[0]["promised_date"], lines[0]["promise_source"]) == (
        (today + timedelta(days=1)).isoformat(), "stock")
    # 100 wanted, 13 on hand, nothing on order: the supplier's lead time, but the later requested date wins.
    assert (lines[1]["promised_date"], lines[1]["promise_source"]) == (later.isoformat(), "supplier_lead_time")
    assert (lines[3]["promised_date"], lines[3]["promise_source"]) == (
        (today + timedelta(days=15)).isoformat(), "supplier_lead_time")
    assert (lines[4]["promise_source"], lines[4]["drop_ship"]) == ("drop_ship", True)
    assert body["credit"] == {
        "credit_account": shop.customer.pk, "currency": "USD", "limit": "1000.00", "exposure": "0.00",
        "open_orders": "0.00", "open_invoices": "0.00", "available": "1000.00", "credit_status": "good",
        "on_hold": False,
    }
    assert body["within_credit"] is False  # 1270.00 > 1000.00
    assert body["customer"]["account_number"] == "C-100" and body["problems"] == []
    assert not Reservation.objects.exists()  # a quote reserves nothing


def test_supply_on_order_sets_the_promise_and_reserved_stock_is_not_promised(shop_client, shop, settings):
    settings.HUB_SUPPLY_HANDLING_DAYS = 2
    today = timezone.localdate()
    po = PurchaseOrder.objects.create(number="PO-9", supplier=shop.supplier, status="acknowledged",
                                      ordered_at=timezone.now())
    PurchaseOrderLine.objects.create(purchase_order=po, line_number=1, product=shop.gadget, quantity=10,
                                     confirmed_date=today + timedelta(days=6))
    position = shop.gadget.inventory.get()
    position.reserved = 1
    position.save()
    Invoice.objects.create(number="INV-1", customer=shop.payables, amount=Decimal("990.00"),
                           issued_at=timezone.now())
    response = quote(shop_client, lines=[{"sku": "GAD-1", "quantity": "5"}])
    [line] = response.json()["lines"]
    assert line["available_to_promise"] == "1.000"
    assert (line["promised_date"], line["promise_source"]) == ((today + timedelta(days=8)).isoformat(),
                                                               "supply_on_order")
    assert response.json()["credit"]["available"] == "10.00"
    assert response.json()["within_credit"] is False


def test_supply_already_owed_to_waiting_orders_is_not_promised_again(shop_client, shop, settings):
    settings.HUB_SUPPLY_HANDLING_DAYS = 1
    settings.HUB_SUPPLIER_LEAD_TIME_DAYS = 20
    today = timezone.localdate()
    # A replenishment PO brings 48 in 6 days; 14 of them are already waited for by an earlier
    # backorder. Another PO line brings 9, raised for one order line (its own backorder of 9).
    po = PurchaseOrder.objects.create(number="PO-10", supplier=shop.supplier, status="acknowledged",
                                      ordered_at=timezone.now())
    PurchaseOrderLine.objects.create(purchase_order=po, line_number=1, product=shop.gadget, quantity=48,
                                     confirmed_date=today + timedelta(days=6))
    waiting = OrderFactory(customer=shop.other, status="backordered")
    OrderLineFactory(order=waiting, product=shop.gadget, quantity_ordered=14, quantity_backordered=14)
    tied_order = OrderFactory(customer=shop.other, status="backordered")
    tied_line = OrderLineFactory(order=tied_order, product=shop.gadget, quantity_ordered=9, quantity_backordered=9)
    own = PurchaseOrder.objects.create(number="PO-11", supplier=shop.supplier, status="sent", ordered_at=timezone.now(),
                                       order=tied_order, requested_date=today + timedelta(days=3))
    PurchaseOrderLine.objects.create(purchase_order=own, line_number=1, product=shop.gadget, quantity=9,
                                     order_line=tied_line)
    # A cancelled order waits for nothing.
    gone = OrderFactory(customer=shop.other, status="cancelled")
    OrderLineFactory(order=gone, product=shop.gadget, quantity_ordered=30, quantity_backordered=30)

    def promise(quantity):
        [line] = quote(shop_client, lines=[{"sku": "GAD-1", "quantity": str(quantity)}]).json()["lines"]
        return line["promised_date"], line["promise_source"]

    # 2 on hand + the 34 of PO-10 not owed: 36 can be promised for the PO's date, 37 only at lead time.
    assert promise(36) == ((today + timedelta(days=7)).isoformat(), "supply_on_order")
    assert promise(37) == ((today + timedelta(days=21)).isoformat(), "supplier_lead_time")


def test_problems_are_named_per_line_and_the_rest_is_quoted(shop_client, shop):
    response = quote(shop_client, lines=[
        {"sku": "WID-1", "quantity": "1"},
        {"sku": "NOPE-1", "quantity": "1"},
        {"sku": "OLD-1", "quantity": "1"},
        {"sku": "NOPRICE-1", "quantity": "1"},
    ])
    assert response.status_code == 200
    lines = response.json()["lines"]
    assert [line["quotable"] for line in lines] == [True, False, False, False]
    assert [[(p["pointer"], p["code"]) for p in line["problems"]] for line in lines] == [
        [], [("/lines/1/sku", "unknown_sku")], [("/lines/2/sku", "inactive_sku")], [("/lines/3/sku", "no_price")]]
    assert lines[1]["price"] is None and lines[1]["promised_date"] is None
    assert response.json()["total"] == "10.00"


def test_an_unknown_customer_is_named_and_the_lines_are_quoted_at_list_price(shop_client, shop):
    response = quote(shop_client, customer={"system": "crm", "external_id": "CRM-404"},
                     lines=[{"sku": "GAD-1", "quantity": "1"}])
    assert response.status_code == 200
    body = response.json()
    assert [(p["pointer"], p["code"]) for p in body["problems"]] == [("/customer", "unknown_customer")]
    assert "CRM-404" in body["problems"][0]["detail"]
    assert body["lines"][0]["price"]["rule"] == "list_price" and body["lines"][0]["price"]["unit_price"] == "20.00"
    assert body["credit"] is None and body["within_credit"] is None and body["customer"] is None


def test_an_inactive_customer_and_a_foreign_ship_to_are_named(shop_client, shop):
    shop.customer.status = "inactive"
    shop.customer.save()
    response = quote(shop_client, ship_to=shop.other.pk, lines=[{"sku": "WID-1", "quantity": "1"}])
    problems = [(p["pointer"], p["code"]) for p in response.json()["problems"]]
    assert ("/customer", "customer_cannot_order") in problems
    assert ("/ship_to", "ship_to_not_allowed") in problems


def test_without_a_ship_to_the_quote_applies_the_orders_default_rule(shop_client, shop):
    # One active ship-to site: the order would ship there, and the quote says so.
    response = quote(shop_client, lines=[{"sku": "WID-1", "quantity": "1"}])
    assert response.json()["ship_to"]["account_number"] == "C-100-1" and response.json()["problems"] == []

    # Two: an order without a ship-to is refused, so the quote names the problem as the order would.
    Customer.objects.create(account_number="C-100-2", name="Acme Builders - Depot", parent=shop.customer,
                            is_sold_to=False, is_bill_to=False)
    response = quote(shop_client, lines=[{"sku": "WID-1", "quantity": "1"}])
    body = response.json()
    assert [(p["pointer"], p["code"]) for p in body["problems"]] == [("/ship_to", "ship_to_required")]
    assert body["problems"][0]["detail"] == "Account C-100 has several or no ship-to accounts; name one."
    assert body["ship_to"] is None and body["lines"][0]["quotable"]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"lines": []}, "/lines"),
        ({"lines": [{"sku": "WID-1", "quantity": "0"}]}, "/lines/0/quantity"),
        ({"lines": [{"sku": "WID-1", "quantity": "-1"}]}, "/lines/0/quantity"),
        ({"lines": [{"sku": "WID-1", "quantity": "abc"}]}, "/lines/0/quantity"),
        ({"lines": [{"sku": "WID-1"}]}, "/lines/0/quantity"),
        ({"lines": [{"sku": "WID-1", "quantity": "1", "requested_date": "soon"}]}, "/lines/0/requested_date"),
        ({"lines": [{"sku": "WID-1", "quantity": "1", "colour": "red"}]}, "/lines/0/colour"),
        ({"lines": "WID-1"}, "/lines"),
        ({"customer": [1], "lines": [{"sku": "WID-1", "quantity": "1"}]}, "/customer"),
        ({"lines": [{"sku": "WID-1", "quantity": "1"}] * 201}, "/lines"),
    ],
)
def test_a_malformed_quote_is_a_400_naming_the_field(shop_client, shop, body, pointer):
    response = quote(shop_client, **body)
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


def test_systems_that_do_not_sell_cannot_quote(partner_client, shop):
    carrier = partner_client("carrier", "carrier")
    response = quote(carrier, lines=[{"sku": "WID-1", "quantity": "1"}])
    assert response.status_code == 403
    assert response.json()["type"].endswith("/access-denied")
    assert response.json()["detail"].startswith("Quoting is for the systems that sell (CRM, ecommerce, ERP); "
                                                "system 'carrier'")


def test_amounts_the_hub_cannot_hold_are_named_not_quoted(shop_client, shop):
    response = quote(shop_client, lines=[{"sku": "WID-1", "quantity": "2"},
                                         {"sku": "CRATE-1", "quantity": "99999999999.999"}])
    assert response.status_code == 200
    body = response.json()
    problems = body["lines"][1]["problems"]
    assert [(p["pointer"], p["code"]) for p in problems] == [("/lines/1/quantity", "amount_too_large")]
    assert "is more than the hub can hold (at most 999,999,999,999.99)" in problems[0]["detail"]
    assert [line["quotable"] for line in body["lines"]] == [True, False] and body["total"] == "20.00"

    # Each line fits, their total does not: an order of them would be refused, and the quote says so.
    line = {"sku": "WID-1", "quantity": "99999999999"}
    body = quote(shop_client, lines=[line, line]).json()
    assert [(p["pointer"], p["code"]) for p in body["problems"]] == [("/lines", "total_too_large")]
    assert body["problems"][0]["detail"].startswith("The total of the quotable lines, 1,599,999,999,984.00, is more")
