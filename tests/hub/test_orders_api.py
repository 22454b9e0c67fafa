"""POST /api/v1/orders: idempotent submission, credit decision, reservation, purchase orders, events."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from canonical.models import (
    BusinessEvent,
    ExternalRef,
    InventoryPosition,
    Invoice,
    Order,
    PurchaseOrder,
    Reservation,
)
from connectors.models import IntegrationException
from hub.idempotency import idempotency_records_purge
from hub.models import IdempotencyRecord
from tests.hub.ordering_support import new_key

pytestmark = pytest.mark.django_db


def submit(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not False else {}
    if key is None:
        headers["HTTP_IDEMPOTENCY_KEY"] = new_key()
    return client.post("/api/v1/orders", body, format="json", **headers)


def order_body(**overrides):
    body = {
        "customer": {"system": "crm", "external_id": "CRM-100"},
        "ship_to": "CRM-100-1",
        "customer_po": "PO-1",
        "lines": [{"sku": "WID-1", "quantity": "12"}, {"sku": "GAD-1", "quantity": "1", "unit_price": "15.00"}],
    }
    body.update(overrides)
    return body


def events_of(order_id):
    return list(BusinessEvent.objects.filter(aggregate_type="order", aggregate_id=str(order_id))
                .order_by("sequence").values_list("event_type", flat=True))


def test_an_order_within_credit_is_reserved_across_locations_and_handed_on(crm, shop):
    response = submit(crm, order_body())

    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get(pk=body["order"]["id"])
    assert response["Location"] == f"/api/v1/orders/{order.pk}"
    assert body["outcome"] == "allocated" and order.status == "allocated"
    assert order.number.startswith("HUB-")
    assert (order.customer, order.ship_to, order.bill_to) == (shop.customer, shop.site, shop.payables)
    assert order.source_system == shop.crm and order.customer_po == "PO-1"
    assert order.total_amount == Decimal("135.00")  # 12 × 10.00 list + 1 × 15.00 contract
    lines = {line["sku"]: line for line in body["order"]["lines"]}
    assert lines["WID-1"]["price_rule"] == "list_price" and lines["GAD-1"]["price_rule"] == "contract_customer"
    assert lines["WID-1"]["quantity_allocated"] == "12.000" and lines["WID-1"]["location"] == "wh-east"
    assert body["credit"]["exposure"] == "0.00" and body["credit_hold"] is None and body["purchase_orders"] == []
    assert {(p.location.code, p.product.sku): p.reserved for p in InventoryPosition.objects.all()} == {
        ("wh-east", "WID-1"): 10, ("wh-west", "WID-1"): 2, ("wh-east", "GAD-1"): 1}
    assert Reservation.objects.filter(order_line__order=order).count() == 3
    assert events_of(order.pk) == ["order.created", "order.allocated", "order.status_changed",
                                   "order.fulfilment_requested"]
    fulfilment = BusinessEvent.objects.get(event_type="order.fulfilment_requested").payload
    assert fulfilment["ship_to"]["address"]["city"] == "Dallas"
    assert fulfilment["pick"] == [
        {"location": "wh-east", "lines": [{"line_number": 1, "sku": "WID-1", "quantity": "10.000"},
                                          {"line_number": 2, "sku": "GAD-1", "quantity": "1.000"}]},
        {"location": "wh-west", "lines": [{"line_number": 1, "sku": "WID-1", "quantity": "2.000"}]},
    ]
    created = BusinessEvent.objects.get(event_type="order.created")
    assert created.payload["order"]["number"] == order.number and created.source_system == shop.crm
    # order.created shows the order as placed, before allocation; the rows hold it as allocation left it
    # (written once), and the answer is the order as it is read back, timestamps included.
    placed = created.payload["order"]
    assert placed["status"] == "validated" and placed["created_at"] == body["order"]["created_at"]
    assert [(line["id"], line["location"], line["quantity_allocated"]) for line in placed["lines"]] == [
        (line["id"], None, "0.000") for line in body["order"]["lines"]]
    assert crm.get(response["Location"]).json() == body["order"]


def test_short_and_drop_ship_lines_go_to_the_supplier_and_an_unsourced_shortage_to_operations(crm, shop):
    body = order_body(lines=[
        {"sku": "BOLT-1", "quantity": "500"},  # no stock; the supplier's catalogue has it
        {"sku": "CRATE-1", "quantity": "2"},  # drop-ship
        {"sku": "GAD-1", "quantity": "5"},  # 2 in stock, 3 short, nobody supplies it
    ])
    response = submit(crm, body)

    assert response.status_code == 201, response.json()
    result = response.json()
    assert result["outcome"] == "backordered"
    order = Order.objects.get(pk=result["order"]["id"])
    pos = {po.kind: po for po in PurchaseOrder.objects.filter(supplier=shop.supplier)}
    assert sorted(p["kind"] for p in result["purchase_orders"]) == ["drop_ship", "replenishment"]
    replenishment, drop = pos["replenishment"], pos["drop_ship"]
    assert replenishment.status == "sent" and replenishment.order is None
    assert replenishment.ship_to_location == shop.east
    assert [(line.product.sku, line.quantity, line.order_line.order_id) for line in replenishment.lines.all()] == [
        ("BOLT-1", 500, order.pk)]
    assert drop.order == order and drop.ship_to_location is None
    assert [(line.product.sku, line.quantity) for line in drop.lines.all()] == [("CRATE-1", 2)]
    po_events = BusinessEvent.objects.filter(aggregate_type="purchase_order").values_list("event_type", "payload")
    assert sorted(t for t, _ in po_events) == ["purchase_order.created"] * 2
    assert {p["purchase_order"]["supplier"] for _, p in po_events} == {"acme-supply"}  # what the subscription filters on
    shortage = IntegrationException.objects.get(category="inventory_shortage")
    assert shortage.team == "operations" and shortage.order == order
    assert [line["sku"] for line in shortage.context["lines"]] == ["GAD-1"]
    lines = {line.product.sku: line for line in order.lines.all()}
    assert (lines["GAD-1"].quantity_allocated, lines["GAD-1"].quantity_backordered) == (2, 3)
    assert lines["CRATE-1"].is_drop_ship and lines["CRATE-1"].quantity_backordered == 0
    assert lines["BOLT-1"].price_rule == "contract_group" and lines["BOLT-1"].unit_price == Decimal("0.50")


def test_replenishment_is_received_where_the_product_is_stocked_in_two_queries_for_any_number_of_lines(shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from canonical.models import InventoryPosition, Location, Product
    from hub.workflows.orders import _receiving_locations

    west_only = Product.objects.create(sku="WEST-1", description="Stocked in the west only")
    InventoryPosition.objects.create(product=west_only, location=shop.west, on_hand=0, last_updated_at=timezone.now())
    wanted = {shop.widget.pk, shop.bolt.pk, west_only.pk}
    with CaptureQueriesContext(connection) as queries:
        found = _receiving_locations(wanted)
    assert len(queries.captured_queries) == 2  # the positions, then the first warehouse for the unstocked
    assert found == {shop.widget.pk: shop.east, west_only.pk: shop.west, shop.bolt.pk: shop.east}
    with CaptureQueriesContext(connection) as queries:
        assert _receiving_locations({shop.widget.pk, west_only.pk}) == {shop.widget.pk: shop.east,
                                                                       west_only.pk: shop.west}
    assert len(queries.captured_queries) == 1
    Location.objects.update(is_active=False)
    assert _receiving_locations({shop.bolt.pk}) == {shop.bolt.pk: None}


def test_an_order_over_the_limit_is_held_for_finance_with_the_figures(crm, shop):
    shop.customer.credit_limit = Decimal("200.00")
    shop.customer.save()
    Invoice.objects.create(number="INV-1", customer=shop.payables, amount=Decimal("100.00"), issued_at=timezone.now())

    response = submit(crm, order_body())  # 135.00 on top of 100.00 open

    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get(pk=body["order"]["id"])
    assert body["outcome"] == "credit_hold" and order.status == "credit_hold"
    assert body["credit"] | {} == body["credit"] and body["credit"]["exposure"] == "100.00"
    exception = IntegrationException.objects.get(pk=body["credit_hold"]["exception_id"])
    assert body["credit_hold"]["reason"] == "over_credit_limit"
    assert (exception.category, exception.team, exception.order, exception.customer) == (
        "credit_hold", "finance", order, shop.customer)
    assert exception.context["exposure"] == "100.00" and exception.context["limit"] == "200.00"
    assert exception.context["order_value"] == "135.00" and exception.context["exposure_with_order"] == "235.00"
    assert not Reservation.objects.exists() and not PurchaseOrder.objects.exists()
    assert events_of(order.pk) == ["order.created", "order.credit_hold"]
    created = BusinessEvent.objects.get(event_type="order.created")
    assert created.payload["order"]["status"] == "credit_hold"  # the ERP books it held


def test_an_account_on_credit_hold_holds_even_a_small_order(crm, shop):
    shop.customer.credit_status = "hold"
    shop.customer.save()
    response = submit(crm, order_body(lines=[{"sku": "WID-1", "quantity": "1"}]))
    assert response.json()["outcome"] == "credit_hold"
    assert response.json()["credit_hold"]["reason"] == "account_on_hold"


def test_the_second_of_two_orders_sees_the_first_ones_exposure(crm, shop):
    shop.customer.credit_limit = Decimal("250.00")
    shop.customer.save()
    first = submit(crm, order_body())
    second = submit(crm, order_body(lines=[{"sku": "WID-1", "quantity": "12"}]))
    assert first.json()["outcome"] == "allocated"
    assert second.json()["outcome"] == "credit_hold"
    assert second.json()["credit"]["exposure"] == "135.00"


def test_the_same_key_and_body_answers_the_stored_response_and_places_one_order(crm, shop):
    key = new_key()
    first = submit(crm, order_body(), key=key)
    again = submit(crm, order_body(), key=f'"{key}"')  # the structured-field form is the same key

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and again["Location"] == first["Location"]
    assert Order.objects.count() == 1
    assert BusinessEvent.objects.filter(event_type="order.created").count() == 1


def test_a_text_that_reads_like_an_escaped_nul_is_stored_and_answered_again(crm, shop):
    # A backslash and "u0000" (not a NUL character) is echoed in the answer, which must be stored:
    # otherwise the retry would place the order a second time.
    key = new_key()
    first = submit(crm, order_body(customer_po="PO\\u0000"), key=key)
    again = submit(crm, order_body(customer_po="PO\\u0000"), key=key)
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and first.json()["order"]["customer_po"] == "PO\\u0000"
    assert Order.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(crm, shop):
    key = new_key()
    assert submit(crm, order_body(), key=key).status_code == 201
    response = submit(crm, order_body(customer_po="PO-2"), key=key)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/idempotency-key-reused")
    assert Order.objects.count() == 1


def test_the_same_key_from_another_consumer_is_another_request(partner_client, crm, shop):
    shop_key = new_key()
    other = partner_client("crm", "crm")  # a second consumer acting for the same system
    assert submit(crm, order_body(), key=shop_key).status_code == 201
    assert submit(other, order_body(), key=shop_key).status_code == 201
    assert Order.objects.count() == 2


def test_a_key_left_running_by_an_earlier_hub_answers_409_until_it_is_stale(crm, shop):
    # Earlier versions of the hub committed an in_progress record while the request ran (this one
    # holds the key by a lock in the request's transaction: see test_orders_concurrency).
    key = new_key()
    response = submit(crm, order_body(), key=key)
    record = IdempotencyRecord.objects.get(key=key)
    IdempotencyRecord.objects.filter(pk=record.pk).update(status="in_progress", response_status=None,
                                                           response_body=None, locked_at=timezone.now())
    busy = submit(crm, order_body(), key=key)
    assert busy.status_code == 409 and busy.json()["type"].endswith("/idempotency-key-in-use")
    assert busy["Retry-After"]
    # Its worker died long ago: a retry takes the key over and runs; another body is still refused.
    IdempotencyRecord.objects.filter(pk=record.pk).update(locked_at=timezone.now() - timedelta(hours=1))
    other = submit(crm, order_body(customer_po="PO-OTHER"), key=key)
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
    retried = submit(crm, order_body(), key=key)
    assert retried.status_code == 201 and response.status_code == 201
    assert IdempotencyRecord.objects.get(pk=record.pk).status == "completed"


def test_a_refusal_is_stored_as_the_answer_to_its_key(crm, shop):
    key = new_key()
    body = order_body(lines=[{"sku": "NOPE", "quantity": "1"}])
    first = submit(crm, body, key=key)
    again = submit(crm, body, key=key)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json() and again["Content-Type"] == "application/problem+json"


def test_keys_are_kept_a_day_and_then_purged(crm, shop, settings):
    key = new_key()
    submit(crm, order_body(), key=key)
    record = IdempotencyRecord.objects.get(key=key)
    assert record.expires_at - record.created_at >= timedelta(hours=24)
    assert record.scope == f"consumer:{crm.consumer.pk}"
    assert idempotency_records_purge() == 0
    IdempotencyRecord.objects.filter(pk=record.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert idempotency_records_purge() == 1
    # An expired key is a new key: the request runs again.
    assert submit(crm, order_body(), key=key).status_code == 201
    assert Order.objects.count() == 2


def test_the_callers_order_id_is_recorded_and_cannot_name_two_orders(crm, shop):
    response = submit(crm, order_body(external_id="SHOP-77"))
    order_id = response.json()["order"]["id"]
    assert ExternalRef.objects.get(system=shop.crm, entity_type="order", external_id="SHOP-77").object_id == order_id
    again = submit(crm, order_body(external_id="SHOP-77"))
    assert again.status_code == 409
    assert again.json()["errors"][0]["pointer"] == "/external_id"


def test_ship_to_defaults_to_the_only_ship_to_account(crm, shop):
    body = order_body()
    body.pop("ship_to")
    response = submit(crm, body)
    assert response.status_code == 201
    assert response.json()["order"]["ship_to"] == shop.site.pk


def test_get_on_the_same_url_is_still_the_order_list(crm, shop):
    submit(crm, order_body())
    response = crm.get("/api/v1/orders")
    assert response.status_code == 200 and len(response.json()["results"]) == 1


def test_the_purge_of_old_keys_is_scheduled():
    from django.utils.module_loading import import_string

    from hub.tasks import ensure_schedules

    schedules = {schedule.name: schedule for schedule in ensure_schedules()}
    assert import_string(schedules["hub: idempotency key purge"].func) is idempotency_records_purge


@pytest.mark.skipif(connection.vendor != "postgresql", reason="round trips are counted on PostgreSQL")
def test_an_order_by_hub_ids_takes_a_fixed_number_of_round_trips_the_key_claimed_with_its_first_read(crm, shop):
    """The key's claim goes in the round trip of the order's first read (the customer), before it."""
    from django.test.utils import CaptureQueriesContext

    body = order_body(customer=shop.customer.pk, ship_to=shop.site.pk,
                      lines=[{"sku": "WID-1", "quantity": "1"}, {"sku": "GAD-1", "quantity": "1"}])
    assert submit(crm, body).status_code == 201  # statements prepared on this connection
    with CaptureQueriesContext(connection) as queries:
        assert submit(crm, body).status_code == 201
    sent = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    claims = [i for i, executed in enumerate(sent) if "pg_try_advisory_xact_lock" in _statement_of(executed)]
    assert claims == [1], sent  # after the API key's read (with the policy's), never on its own:
    assert "canonical_customer" in _statement_of(sent[1])  # with the customer, the order's first read
    # The key and the policy; the claim and the customer; the ship-to; the ship-to's parent chain;
    # the credit decision's reads (the account's lock first) with the products and their prices;
    # the bill-to of this hierarchy; the writes; the key's usage count.
    credit_and_prices = [_statement_of(name) for name in re.findall(r"EXECUTE hub_\w+", sent[4])]
    assert credit_and_prices[0].endswith("FOR UPDATE") and "canonical_pricelistitem" in credit_and_prices[-1]
    assert len(sent) == 8, sent


@pytest.mark.skipif(connection.vendor != "postgresql", reason="round trips are counted on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_an_order_sends_neither_begin_nor_commit_on_its_own(crm, shop, sent_alone):
    """Its transaction begins in the message of its first read and commits in that of its writes."""
    body = order_body(customer=shop.customer.pk, ship_to=shop.site.pk, lines=[{"sku": "WID-1", "quantity": "1"}])
    assert submit(crm, body).status_code == 201
    sent_alone.clear()
    response = submit(crm, body)
    assert response.status_code == 201 and sent_alone == []
    assert Order.objects.filter(pk=response.json()["order"]["id"], status="allocated").exists()


def _statement_of(executed: str) -> str:
    """The SQL of each prepared statement an EXECUTE message names, joined."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        statements = dict(cursor.fetchall())
    return " ".join(statements.get(name, name) for name in re.findall(r"EXECUTE (hub_\w+)", executed))
