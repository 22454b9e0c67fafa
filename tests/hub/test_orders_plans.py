"""The order path's statements find their rows through indexes whatever the tables' sizes (tests/plans.py).

The batched UPDATE of an order's lines and positions (UPDATE ... FROM a list of rows) got a hash
join over the whole table when its plan was made on a small table, and the credit exposure scanned
every order; both went on doing so as the tables grew.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.db import connection

from tests.hub.ordering_support import new_key, shop_build
from tests.plans import generic_plans, prepared_statements, table_scans

pytestmark = [pytest.mark.postgres_only]

# The tables an order's path reads or writes that grow with the business. Customers are left
# out: the credit tree's walk joins the customer table, which is loaded before orders arrive.
_GROWING = ("canonical_order", "canonical_orderline", "canonical_reservation", "canonical_businessevent",
            "hub_idempotencyrecord", "canonical_inventoryposition", "canonical_externalref")


def test_every_statement_of_an_order_finds_its_rows_by_index(partner_client):
    shop = shop_build(credit_limit=Decimal("100000.00"))
    client = partner_client("crm", "crm")
    body = {"customer": shop.customer.pk, "ship_to": shop.site.pk,
            "lines": [{"sku": shop.widget.sku, "quantity": "2"}, {"sku": shop.gadget.sku, "quantity": "1"},
                      {"sku": shop.bolt.sku, "quantity": "5"}]}
    for _ in range(2):  # the first prepares the statements; the second only executes them
        with prepared_statements() as executed:
            response = client.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY=new_key())
        assert response.status_code == 201, response.content
    # The key's claim, customer, products, prices, credit lock and exposure, the order, positions,
    # ship-to address, the batched writes: all prepared.
    assert len(executed) >= 10, executed

    plans = generic_plans(executed)
    assert table_scans(plans, _GROWING) == {}
    # The batched writes update each stock position by its primary key; the order and its lines are
    # written once, as allocation left them (no UPDATE of either).
    batch = next(plan for plan in plans.values() if "Update on canonical_inventoryposition" in plan)
    assert "canonical_inventoryposition_pkey" in batch
    assert not any(re.search(r"Update on canonical_order(line)?\b", plan) for plan in plans.values())
    assert "Insert on canonical_orderline" in batch and "Insert on canonical_order " in batch


def test_the_order_path_keeps_one_plan_per_statement(partner_client):
    """After its first five runs PostgreSQL keeps a statement's generic plan when it costs no more than
    the ones made for each call's values; a statement it cannot price so is planned anew on every order.
    Two were: the ids of a new order and its lines (a series of a length given by parameter) and the
    walk up from a customer below its credit account (the start given as a list)."""
    shop = shop_build(credit_limit=Decimal("100000.00"))
    client = partner_client("crm", "crm")
    body = {"customer": shop.customer.pk, "ship_to": shop.site.pk,
            "lines": [{"sku": shop.widget.sku, "quantity": "1"}, {"sku": shop.gadget.sku, "quantity": "1"}]}
    with prepared_statements() as executed:
        for _ in range(8):
            response = client.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY=new_key())
            assert response.status_code == 201, response.content
    # The connection may hold other tests' statements too: only the order path's are looked at.
    names = sorted({re.match(r"EXECUTE (hub_\w+)", statement).group(1) for statement in executed})
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                       "WHERE name = ANY(%s) AND generic_plans + custom_plans >= 8", [names])
        statements = cursor.fetchall()
    assert len(statements) >= 8, (names, statements)
    replanned = [statement[:120] for statement, generic, _ in statements if generic == 0]
    assert replanned == []
