"""The order path's plain-SQL helpers: in_list, select_rows, rows_insert, writes_batched, credit_chain.

Each answers what the ORM would have answered, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from canonical.context import Actor
from canonical.models import BusinessEvent, Customer, InventoryPosition, Location, OrderLine, Reservation
from canonical.services.credit import credit_chain, credit_chains
from canonical.services.events import event_record
from canonical.services.inserts import row_update, rows_insert, rows_update, writes_batched
from canonical.services.prepared import in_list, select_rows
from tests.factories import (
    CustomerFactory,
    InventoryPositionFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db
AT = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def names_in(values) -> list[str]:
    condition, params = in_list("account_number", values)
    return sorted(row[0] for row in select_rows(
        f"SELECT name FROM {Customer._meta.db_table} WHERE {condition}", params, (None,)))


def test_in_list_takes_any_number_of_values_as_one_parameter():
    CustomerFactory(account_number="A-1", name="One")
    CustomerFactory(account_number="O'Brien", name="Quote")
    CustomerFactory(account_number="A-3", name="Three")
    assert names_in([]) == []
    assert names_in(["A-1"]) == ["One"]
    assert names_in(["A-1", "O'Brien", "nobody"]) == ["One", "Quote"]  # a quote is a value, not SQL
    assert names_in({"A-3", "A-1"}) == ["One", "Three"]
    _, params = in_list("x", [1, 2, 3])
    assert len(params) == 1


def test_select_rows_converts_columns_as_the_orm_does():
    position = InventoryPositionFactory(on_hand=Decimal("12.5"), reserved=Decimal("0.25"), last_updated_at=AT)
    fields = tuple(InventoryPosition._meta.get_field(name) for name in ("on_hand", "reserved", "last_updated_at"))
    [row] = select_rows(
        f"SELECT on_hand, reserved, last_updated_at FROM {InventoryPosition._meta.db_table} WHERE id = %s",
        [position.pk], fields,
    )
    expected = InventoryPosition.objects.values_list("on_hand", "reserved", "last_updated_at").get(pk=position.pk)
    assert row == expected
    assert isinstance(row[0], Decimal) and row[0] == Decimal("12.500")  # SQLite hands back a float
    assert row[2] == AT


def test_rows_insert_writes_every_row_in_one_statement_and_reads_the_ids_back():
    order = OrderFactory()
    products = [ProductFactory() for _ in range(3)]
    lines = [OrderLine(order=order, line_number=n + 1, product=product, quantity_ordered=Decimal(n + 1),
                       unit_price=Decimal("2.50")) for n, product in enumerate(products)]
    with CaptureQueriesContext(connection) as queries:
        assert rows_insert(lines) == 3
    assert len([q for q in queries.captured_queries if "PREPARE" not in q["sql"]]) == 1
    stored = {line.pk: (line.line_number, line.product_id) for line in OrderLine.objects.filter(order=order)}
    assert stored == {line.pk: (line.line_number, line.product_id) for line in lines}
    assert all(not line._state.adding for line in lines)


def test_writes_batched_sends_the_writes_at_the_end_of_the_block_and_none_when_it_fails():
    position = InventoryPositionFactory(on_hand=Decimal("10"), reserved=Decimal("0"))
    line = OrderLineFactory(quantity_ordered=Decimal("4"))
    with transaction.atomic():
        with writes_batched() as batch:
            position.reserved = Decimal("4")
            rows_update(InventoryPosition, {position.pk: position}, ["reserved"], deferrable=True)
            rows_insert([Reservation(order_line=line, position=position, quantity=Decimal("4"))], read_back=False)
            line.quantity_allocated = Decimal("4")
            assert row_update(line, ["quantity_allocated"], deferrable=True) is None
            event_record(event_type="order.allocated", aggregate_type="order", aggregate_id=line.order_id,
                         payload={"n": 1}, actor=Actor.hub())
            # Nothing is written yet: the block may not read it back.
            assert InventoryPosition.objects.get(pk=position.pk).reserved == 0
            assert not Reservation.objects.filter(order_line=line).exists()
            assert len(batch.statements) == 3 and len(batch.collected["events"][0]) == 1
        assert InventoryPosition.objects.get(pk=position.pk).reserved == 4
        assert Reservation.objects.get(order_line=line).quantity == 4
        assert OrderLine.objects.get(pk=line.pk).quantity_allocated == 4
        assert BusinessEvent.objects.filter(event_type="order.allocated", aggregate_id=str(line.order_id)).count() == 1

    with pytest.raises(RuntimeError, match="boom"), transaction.atomic(), writes_batched():
        position.reserved = Decimal("9")
        rows_update(InventoryPosition, {position.pk: position}, ["reserved"], deferrable=True)
        raise RuntimeError("boom")
    assert InventoryPosition.objects.get(pk=position.pk).reserved == 4


def test_a_write_that_is_not_deferrable_runs_at_once_inside_a_batch():
    location = LocationFactory(name="Before")
    with transaction.atomic(), writes_batched():
        location.name = "After"
        assert row_update(location, ["name"]) == 1
        assert Location.objects.get(pk=location.pk).name == "After"


def test_batched_events_take_the_next_sequences_of_their_aggregates():
    def record(aggregate_id, n):
        event_record(event_type="order.status_changed", aggregate_type="order", aggregate_id=aggregate_id,
                     payload={"n": n}, actor=Actor.hub())

    with transaction.atomic():
        record("77", 0)  # written at once: sequence 1
        with writes_batched():
            record("77", 1)
            record("78", 1)
            record("77", 2)
            with writes_batched():  # an inner block leaves them to the outer one
                record("77", 3)
    sequences = sorted(BusinessEvent.objects.filter(aggregate_type="order").values_list(
        "aggregate_id", "sequence", "payload"))
    assert sequences == [("77", 1, {"n": 0}), ("77", 2, {"n": 1}), ("77", 3, {"n": 2}), ("77", 4, {"n": 3}),
                         ("78", 1, {"n": 1})]
    if connection.vendor == "postgresql":  # the batch's events went as one JSON parameter, numbered over its rows
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                           ['%INSERT INTO "canonical_businessevent"%jsonb_populate_recordset%'])
            statements = [statement for (statement,) in cursor.fetchall()]
        assert any('e."aggregate_id" = r."aggregate_id") + r."sequence"' in s for s in statements), statements


@pytest.mark.django_db(transaction=True)  # no test transaction around it
def test_writes_batched_needs_a_transaction():
    with pytest.raises(RuntimeError, match="inside transaction.atomic"), writes_batched():
        pass


def test_the_credit_chain_walks_up_in_one_query_and_stops_at_a_cycle():
    root = CustomerFactory(account_number="ROOT")
    middle = CustomerFactory(account_number="MID", parent=root)
    site = CustomerFactory(account_number="SITE", parent=middle)
    assert credit_chain(root) == [root]
    with CaptureQueriesContext(connection) as queries:
        assert [c.account_number for c in credit_chain(site)] == ["SITE", "MID", "ROOT"]
    assert len([q for q in queries.captured_queries if "PREPARE" not in q["sql"]]) == 1
    Customer.objects.filter(pk=root.pk).update(parent=site)  # bad data: a loop
    assert [c.account_number for c in credit_chain(site)] == ["SITE", "MID", "ROOT"]


def test_the_credit_chains_of_many_customers_come_in_one_query():
    root = CustomerFactory(account_number="ROOT")
    middle = CustomerFactory(account_number="MID", parent=root)
    site = CustomerFactory(account_number="SITE", parent=middle)
    other_root = CustomerFactory(account_number="OTHER")
    other_site = CustomerFactory(account_number="OTHER-SITE", parent=other_root)
    loop_a = CustomerFactory(account_number="LOOP-A")
    loop_b = CustomerFactory(account_number="LOOP-B", parent=loop_a)
    Customer.objects.filter(pk=loop_a.pk).update(parent=loop_b)  # bad data: a loop of two
    loop_a.refresh_from_db()
    customers = [site, other_site, root, middle, loop_a, other_root]
    with CaptureQueriesContext(connection) as queries:
        chains = credit_chains(customers)
    assert len([q for q in queries.captured_queries if "PREPARE" not in q["sql"]]) == 1
    assert {pk: [c.account_number for c in chain] for pk, chain in chains.items()} == {
        site.pk: ["SITE", "MID", "ROOT"], other_site.pk: ["OTHER-SITE", "OTHER"], root.pk: ["ROOT"],
        middle.pk: ["MID", "ROOT"], loop_a.pk: ["LOOP-A", "LOOP-B"], other_root.pk: ["OTHER"],
    }
    with CaptureQueriesContext(connection) as queries:
        assert credit_chains([root, other_root]) == {root.pk: [root], other_root.pk: [other_root]}
    assert not queries.captured_queries


def test_values_written_as_they_are_are_what_the_orm_would_have_written():
    """rows_insert and rows_update skip the ORM's preparation of a value only where it would change nothing."""
    from datetime import date, timedelta, timezone

    from canonical.models import Order, OrderStatus
    from canonical.services.inserts import _plain_checks
    from hub.models import IdempotencyRecord

    samples = [None, "text", OrderStatus.ALLOCATED, 7, True, Decimal("12.500"), Decimal("Infinity"), Decimal("NaN"),
               date(2025, 3, 1), AT, AT.astimezone(timezone(timedelta(hours=-5))), datetime(2025, 3, 1, 10, 0),
               {"a": 1}, 2.5]
    checked = 0
    for model in (Order, OrderLine, Reservation, BusinessEvent, InventoryPosition, IdempotencyRecord):
        fields = tuple(model._meta.concrete_fields)
        for field, check in zip(fields, _plain_checks(fields, connection.vendor), strict=True):
            for value in samples:
                if check is None or not check(value):
                    continue
                checked += 1
                # Equal, and of the same kind (PostgreSQL's backend may wrap an int as Int4: same literal).
                prepared = field.get_db_prep_save(value, connection)
                assert prepared == value and isinstance(prepared, type(value) if value is not None else object), (
                    model.__name__, field.name, value)
    assert checked > 100
    text, amount = OrderLine._meta.get_field("price_rule"), OrderLine._meta.get_field("unit_price")
    [text_check, amount_check] = _plain_checks((text, amount), connection.vendor)
    assert not amount_check(Decimal("Infinity")) and not amount_check(2.5) and text_check(OrderStatus.ALLOCATED)


def test_rows_sent_as_one_json_parameter_are_written_as_bound_values_write_them():
    """rows_insert without read_back gives PostgreSQL the rows as JSON (jsonb_populate_recordset); every
    column must come out as the statement that binds each value writes it."""
    from datetime import date, timedelta, timezone

    from hub.models import IdempotencyRecord

    def record(key: str, **values) -> IdempotencyRecord:
        return IdempotencyRecord(scope="consumer:1", key=key, method="POST", path="/api/v1/orders",
                                 fingerprint="f" * 64, status="completed", response_status=201,
                                 created_at=AT, locked_at=AT, expires_at=AT + timedelta(hours=24), **values)

    kinds = [
        {"response_body": {"order": {"lines": [{"quantity": "12.500", "note": "Ünïcödé \"quoted\" \\ back"}]},
                           "none": None, "n": 7, "f": 2.5, "t": True}, "response_headers": {"Location": "/x"},
                           "completed_at": AT.astimezone(timezone(timedelta(hours=-5))), "correlation_id": "c-1"},
        {"response_body": None, "response_headers": {}, "completed_at": None, "correlation_id": ""},
        {"response_body": ["a", 1], "response_headers": {"k": "v"}, "completed_at": AT, "correlation_id": "x" * 64},
    ]
    columns = ["response_body", "response_headers", "completed_at", "correlation_id", "created_at", "locked_at",
               "expires_at", "status", "response_status", "method"]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, writes_batched():
        rows_insert([record(f"json-{i}", **values) for i, values in enumerate(kinds)], read_back=False)
    with transaction.atomic():
        rows_insert([record(f"bound-{i}", **values) for i, values in enumerate(kinds)])
    written = {r.key: [getattr(r, c) for c in columns] for r in IdempotencyRecord.objects.all()}
    assert [written[f"json-{i}"] for i in range(3)] == [written[f"bound-{i}"] for i in range(3)]
    if connection.vendor == "postgresql":
        assert any("jsonb_populate_recordset" in q["sql"] for q in queries.captured_queries)

    # Lines: decimals, dates, foreign keys, a null location. A value the JSON form does not take as it
    # is (a float for a decimal) makes the statement bind each value, as the ORM prepares it.
    order = OrderFactory()
    product = ProductFactory()

    def line(number: int, quantity) -> OrderLine:
        return OrderLine(order=order, line_number=number, product=product, quantity_ordered=quantity,
                         unit_price=Decimal("4.25"), requested_date=date(2025, 3, number), price_rule="list_price")

    with transaction.atomic(), writes_batched():
        rows_insert([line(1, Decimal("2.000")), line(2, Decimal("0.125"))], read_back=False)
        rows_insert([line(3, 1.5)], read_back=False)
    assert list(OrderLine.objects.filter(order=order).order_by("line_number").values_list(
        "line_number", "quantity_ordered", "unit_price", "requested_date", "location_id", "quantity_allocated")) == [
        (1, Decimal("2.000"), Decimal("4.25"), date(2025, 3, 1), None, Decimal("0")),
        (2, Decimal("0.125"), Decimal("4.25"), date(2025, 3, 2), None, Decimal("0")),
        (3, Decimal("1.500"), Decimal("4.25"), date(2025, 3, 3), None, Decimal("0")),
    ]


def test_several_rows_updated_at_once_get_each_their_own_values():
    """rows_update of several rows: on PostgreSQL one UPDATE reading each row's values from one JSON
    parameter by its key (batched or not); the rows written are those the per-row UPDATEs wrote."""
    positions = [InventoryPositionFactory(on_hand=Decimal("10"), reserved=Decimal("0")) for _ in range(3)]
    untouched = InventoryPositionFactory(on_hand=Decimal("10"), reserved=Decimal("1"))
    for index, position in enumerate(positions):
        position.reserved, position.updated_at = Decimal(f"{index + 1}.250"), AT.replace(minute=index)
    with transaction.atomic(), CaptureQueriesContext(connection) as batched, writes_batched():
        rows_update(InventoryPosition, {p.pk: p for p in positions}, ["reserved", "updated_at"], deferrable=True)
    written = {p.pk: (p.reserved, p.updated_at) for p in InventoryPosition.objects.filter(pk__in=[p.pk for p in positions])}
    assert written == {p.pk: (Decimal(f"{i + 1}.250"), AT.replace(minute=i)) for i, p in enumerate(positions)}
    assert InventoryPosition.objects.get(pk=untouched.pk).reserved == Decimal("1")

    lines = [OrderLineFactory(quantity_ordered=Decimal("4")) for _ in range(2)]
    lines[0].quantity_allocated, lines[1].quantity_allocated = Decimal("4"), Decimal("0.500")
    with transaction.atomic(), CaptureQueriesContext(connection) as at_once:
        rows_update(OrderLine, {line.pk: line for line in lines}, ["quantity_allocated"])
    assert [OrderLine.objects.get(pk=line.pk).quantity_allocated for line in lines] == [Decimal("4"), Decimal("0.5")]
    if connection.vendor == "postgresql":
        for queries in (batched, at_once):
            [update] = [q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"]]
            assert update.count("UPDATE") == 1 and "jsonb_populate_recordset" in update, update

    # A value that does not go as JSON as it is (a float for a decimal): one UPDATE per row, as before.
    positions[0].reserved, positions[1].reserved = 2.5, Decimal("3")
    with transaction.atomic():
        rows_update(InventoryPosition, {p.pk: p for p in positions[:2]}, ["reserved"])
    assert [InventoryPosition.objects.get(pk=p.pk).reserved for p in positions[:2]] == [Decimal("2.5"), Decimal("3")]
