"""The order path's statements find their rows through indexes whatever the tables' sizes.

PostgreSQL plans a prepared statement once per connection (a generic plan, made when the hub's
first orders arrive and its tables are small) and keeps that plan until the table's statistics
change. A plan that hashes or scans a whole table because it was small then goes on scanning it
as it grows: the batched UPDATE of the order's lines did, and so did the credit exposure, which
made every order slower than the one before on a server without autovacuum. Each statement of an
order's submission is explained here as a generic plan, on tables as small as a new hub's.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.hub.ordering_support import new_key, shop_build

pytestmark = [pytest.mark.postgres_only]

# The tables an order's path reads or writes that grow with the business (orders, their lines,
# reservations, events, stored answers, stock positions). Customers are left out: the credit
# tree's walk joins the customer table, which is loaded before orders arrive.
_GROWING = ("canonical_order", "canonical_orderline", "canonical_reservation", "canonical_businessevent",
            "hub_idempotencyrecord", "canonical_inventoryposition", "canonical_externalref")
_SCAN = re.compile(r"Seq Scan on (\w+)")


def _generic_plans(statements: list[str]) -> dict[str, str]:
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            for sql in statements:
                cursor.execute("EXPLAIN " + sql)  # EXPLAIN without ANALYZE runs nothing
                plans[sql] = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET plan_cache_mode")
    return plans


def test_every_statement_of_an_order_finds_its_rows_by_index(partner_client):
    shop = shop_build(credit_limit=Decimal("100000.00"))
    client = partner_client("crm", "crm")
    body = {"customer": shop.customer.pk, "ship_to": shop.site.pk,
            "lines": [{"sku": shop.widget.sku, "quantity": "2"}, {"sku": shop.gadget.sku, "quantity": "1"},
                      {"sku": shop.bolt.sku, "quantity": "5"}]}
    for _ in range(2):  # the first prepares the statements; the second only executes them
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY=new_key())
        assert response.status_code == 201, response.content
    executed = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("EXECUTE hub_")]
    # The key's claim, customer, products, prices, credit lock and exposure, the order, positions,
    # ship-to address, the batched writes: all prepared.
    assert len(executed) >= 10, [query["sql"][:80] for query in captured.captured_queries]

    plans = _generic_plans(executed)
    scans = {sql[:60]: sorted(set(_SCAN.findall(plan)) & set(_GROWING)) for sql, plan in plans.items()}
    assert {sql: tables for sql, tables in scans.items() if tables} == {}
    # The batched writes update each row by its primary key.
    batch = next(plan for sql, plan in plans.items() if "canonical_orderline" in plan and "Update on" in plan)
    assert "canonical_orderline_pkey" in batch and "canonical_inventoryposition_pkey" in batch
