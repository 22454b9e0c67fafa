"""Concurrency on PostgreSQL, with real threads and a database connection each: the last unit is taken
once, and one idempotency key places one order however many copies of the request race.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from canonical.context import Actor
from canonical.models import BusinessEvent, Customer, InventoryPosition, Order, OrderLine, Reservation
from canonical.services.allocation import order_allocate
from hub.models import IdempotencyRecord
from tests.factories import InventoryPositionFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.hub.ordering_support import new_key, shop_build

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _run_threads(count: int, work) -> list:
    """Run ``work(index)`` on ``count`` threads released at once; each closes its own connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    return results


class _StockWatch:
    """Samples the position from its own connection while the orders race: never below zero available."""

    def __init__(self, position_id: int):
        self.position_id = position_id
        self.samples: list[tuple[Decimal, Decimal]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def _watch(self):
        try:
            while not self._stop.is_set():
                row = InventoryPosition.objects.filter(pk=self.position_id).values_list("on_hand", "reserved").get()
                self.samples.append(row)
                time.sleep(0.005)
        finally:
            connection.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def test_fifty_concurrent_orders_for_ten_units_allocate_exactly_ten(partner_client):
    shop = shop_build(credit_limit=Decimal("100000.00"))
    crm = partner_client("crm", "crm")
    position = InventoryPosition.objects.get(product=shop.widget, location=shop.east)
    InventoryPosition.objects.filter(product=shop.widget).exclude(pk=position.pk).delete()
    # Fifty different accounts: each order takes its own credit lock, so they all race for the stock rows.
    customers = [Customer.objects.create(account_number=f"R-{i:03d}", name=f"Racer {i}", credit_limit=1000)
                 for i in range(50)]
    connection.close()

    def order(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {crm.raw_key}")
        response = client.post(
            "/api/v1/orders", {"customer": customers[index].pk, "lines": [{"sku": "WID-1", "quantity": "1"}]},
            format="json", HTTP_IDEMPOTENCY_KEY=new_key(),
        )
        return response.status_code, response.json()

    with _StockWatch(position.pk) as watch:
        results = _run_threads(50, order)

    assert [status for status, _ in results] == [201] * 50, [body for status, body in results if status != 201][:3]
    assert Counter(body["outcome"] for _, body in results) == {"allocated": 10, "backordered": 40}
    position.refresh_from_db()
    assert (position.on_hand, position.reserved) == (10, 10)
    assert sum(Reservation.objects.filter(status="active").values_list("quantity", flat=True)) == 10
    lines = OrderLine.objects.filter(product=shop.widget)
    assert sorted(lines.values_list("quantity_allocated", flat=True)) == [0] * 40 + [1] * 10
    assert sorted(lines.values_list("quantity_backordered", flat=True)) == [0] * 10 + [1] * 40
    assert Counter(Order.objects.values_list("status", flat=True)) == {"allocated": 10, "backordered": 40}
    assert watch.samples and all(reserved <= on_hand for on_hand, reserved in watch.samples)


def test_one_idempotency_key_raced_a_hundred_times_places_one_order(partner_client):
    shop_build()
    crm = partner_client("crm", "crm")
    key = new_key()
    body = {"customer": "CRM-100", "ship_to": "CRM-100-1", "lines": [{"sku": "WID-1", "quantity": "2"}]}
    connection.close()

    def send(index):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {crm.raw_key}")
        # 50 threads send two copies each: 100 requests, 50 at a time (the server allows 100 connections
        # in all, and other test runs share it).
        answers = []
        for _ in range(2):
            response = client.post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
            answers.append((response.status_code, response.json()))
        return answers

    answers = [answer for pair in _run_threads(50, send) for answer in pair]

    assert len(answers) == 100
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {201, 409}, statuses
    created = [body for status, body in answers if status == 201]
    assert created and all(body == created[0] for body in created)
    assert all(body["type"].endswith("/idempotency-key-in-use") for status, body in answers if status == 409)
    assert Order.objects.count() == 1
    assert Order.objects.get().pk == created[0]["order"]["id"]
    assert InventoryPosition.objects.get(product__sku="WID-1", location__code="wh-east").reserved == 2


def _answer_from_another_connection(*, scope: str, key: str, fingerprint: str, status: int, body: dict) -> None:
    """Commit a stored answer for the key from a thread (so a connection) of its own: another request's."""
    def answer():
        now = timezone.now()
        IdempotencyRecord.objects.create(
            scope=scope, key=key, method="POST", path="/api/v1/orders", fingerprint=fingerprint,
            status="completed", response_status=status, response_body=body, locked_at=now, completed_at=now,
            expires_at=now + timedelta(days=1),
        )
        connection.close()

    other = threading.Thread(target=answer)
    other.start()
    other.join(30)


def _client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def _answers_what_the_other_stored(raw_key: str, body: dict, key: str, *, status: int, answered_by: str) -> None:
    """POST ``body`` with ``key`` (this thread's connection closed first, so the other connection's
    commit is its own) and check the answer is the one the other request stored, as a replay."""
    connection.close()
    response = _client(raw_key).post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == status and response.json() == {"answered_by": answered_by}
    assert response["Idempotent-Replayed"] == "true"


def test_a_key_whose_request_is_running_answers_409_and_then_the_stored_answer(partner_client, monkeypatch):
    import hub.api.orders as orders_api

    shop_build()
    crm = partner_client("crm", "crm")
    key = new_key()
    body = {"customer": "CRM-100", "ship_to": "CRM-100-1", "lines": [{"sku": "WID-1", "quantity": "2"}]}
    running, finish = threading.Event(), threading.Event()
    original = orders_api.order_submit

    def slow(**kwargs):  # the order is checked: its key was claimed with its first read
        running.set()
        assert finish.wait(30)
        return original(**kwargs)

    monkeypatch.setattr(orders_api, "order_submit", slow)
    connection.close()
    first: list = []
    thread = threading.Thread(target=lambda: (first.append(_client(crm.raw_key).post(
        "/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=key)), connection.close()))
    thread.start()
    try:
        assert running.wait(30)
        busy = _client(crm.raw_key).post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert busy.status_code == 409 and busy.json()["type"].endswith("/idempotency-key-in-use")
        assert busy["Retry-After"]
        assert not Order.objects.exists()
    finally:
        finish.set()
        thread.join(60)
    assert first[0].status_code == 201
    again = _client(crm.raw_key).post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201 and again.json() == first[0].json() and again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_an_answer_stored_by_another_request_meanwhile_is_the_answer_and_this_one_writes_nothing(
        partner_client, monkeypatch):
    """The race the key's unique constraint settles: a request that began just as another with its
    key finished (its claim did not see that answer yet) rolls its order back and answers that one."""
    from hub.api.orders import OrderSubmitView
    from hub.idempotency import idempotency_scope, request_fingerprint

    shop_build()
    crm = partner_client("crm", "crm")
    key = new_key()
    body = {"customer": "CRM-100", "ship_to": "CRM-100-1", "lines": [{"sku": "WID-1", "quantity": "2"}]}
    original = OrderSubmitView._submit

    def answered_meanwhile(self, request, data):
        response = original(self, request, data)

        # its own connection, committed before this request's writes go out
        _answer_from_another_connection(
            scope=idempotency_scope(request.user), key=key,
            fingerprint=request_fingerprint(method="POST", path="/api/v1/orders", data=data),
            status=201, body={"answered_by": "the other request"},
        )
        return response

    monkeypatch.setattr(OrderSubmitView, "_submit", answered_meanwhile)
    _answers_what_the_other_stored(crm.raw_key, body, key, status=201, answered_by="the other request")
    assert not Order.objects.exists() and not BusinessEvent.objects.filter(aggregate_type="order").exists()
    assert InventoryPosition.objects.get(product__sku="WID-1", location__code="wh-east").reserved == 0


def test_a_refusal_whose_key_was_answered_meanwhile_answers_that_answer(partner_client, monkeypatch):
    """The refusal's answer is stored under a second claim; a retry that answered the key between that
    claim and its write wins, and this request answers what the retry stored (not a 500)."""
    import hub.api.orders as orders_api
    from hub.idempotency import request_fingerprint

    shop_build()
    crm = partner_client("crm", "crm")
    key = new_key()
    body = {"customer": "CRM-100", "ship_to": "CRM-100-1", "lines": [{"sku": "NOPE", "quantity": "1"}]}
    original, original_read, calls = orders_api.idempotency_claim, orders_api.idempotency_claim_read, []

    def claim_read(**identity):  # the first claim, which goes with the order's first read
        calls.append(identity)
        return original_read(**identity)

    def claim_then_retry_answers(**identity):
        claim = original(**identity)
        calls.append(identity)
        if len(calls) == 2:  # the refusal's own claim: the retry commits its answer now
            _answer_from_another_connection(scope=identity["scope"], key=key, fingerprint=identity["fingerprint"],
                                            status=422, body={"answered_by": "the retry"})
        return claim

    monkeypatch.setattr(orders_api, "idempotency_claim_read", claim_read)
    monkeypatch.setattr(orders_api, "idempotency_claim", claim_then_retry_answers)
    _answers_what_the_other_stored(crm.raw_key, body, key, status=422, answered_by="the retry")
    assert len(calls) == 3 and calls[0]["fingerprint"] == request_fingerprint(
        method="POST", path="/api/v1/orders", data=body)
    assert calls[0]["scope"] == f"consumer:{crm.consumer.pk}"
    assert IdempotencyRecord.objects.get(key=key).response_body == {"answered_by": "the retry"}
    assert not Order.objects.exists()


def test_allocation_service_threads_sharing_two_products_never_deadlock_or_oversell():
    """Orders that lock the same two positions from both sides: id-ordered locks, no deadlock."""
    a, b = ProductFactory(sku="A"), ProductFactory(sku="B")
    pa = InventoryPositionFactory(product=a, on_hand=Decimal("15"))
    pb = InventoryPositionFactory(product=b, on_hand=Decimal("15"))
    orders = []
    for i in range(30):
        order = OrderFactory(status="validated")
        first, second = (a, b) if i % 2 else (b, a)
        OrderLineFactory(order=order, line_number=1, product=first, quantity_ordered=Decimal("1"))
        OrderLineFactory(order=order, line_number=2, product=second, quantity_ordered=Decimal("1"))
        orders.append(order)
    connection.close()

    results = _run_threads(30, lambda i: order_allocate(order=Order.objects.get(pk=orders[i].pk),
                                                        actor=Actor.hub()).status)

    assert Counter(results) == {"allocated": 15, "backordered": 15}
    pa.refresh_from_db()
    pb.refresh_from_db()
    assert (pa.reserved, pb.reserved) == (15, 15)
