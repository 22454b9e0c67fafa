"""Hot-path statements prepared once per PostgreSQL connection, and the one-statement UPDATE."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext as CaptureQueries

from canonical.models import Customer
from canonical.services.inserts import row_update
from canonical.services.prepared import prepared
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
ON_POSTGRESQL = connection.vendor == "postgresql"
SQL = f"SELECT name FROM {Customer._meta.db_table} WHERE account_number = %s AND name LIKE '%%Ltd'"


def run(sql: str, params: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(*prepared(sql, params))
        return cursor.fetchall()


def test_a_prepared_statement_answers_as_the_statement_does():
    CustomerFactory(account_number="P-1", name="Prepared Ltd")
    CustomerFactory(account_number="P-2", name="Other Inc")
    statement, params = prepared(SQL, ["P-1"])
    if ON_POSTGRESQL:
        assert statement.startswith("EXECUTE hub_") and statement.endswith("(%s)")
    else:
        assert (statement, params) == (SQL, ["P-1"])  # sqlite3 caches its compiled statements itself
    assert run(SQL, ["P-1"]) == run(SQL, ["P-1"]) == [("Prepared Ltd",)]
    assert run(SQL, ["P-2"]) == []  # the literal % stays a LIKE pattern


@pytest.mark.skipif(not ON_POSTGRESQL, reason="statements are prepared on PostgreSQL only")
def test_it_is_prepared_once_per_connection_and_again_on_a_new_one():
    from django.test.utils import CaptureQueriesContext

    sql = f"SELECT COUNT(*) FROM {Customer._meta.db_table} WHERE id > %s"
    with CaptureQueriesContext(connection) as first:
        run(sql, [0])
        run(sql, [0])
    assert [q["sql"].split()[0] for q in first.captured_queries] == ["PREPARE", "EXECUTE", "EXECUTE"]
    # A statement prepared in a transaction that rolls back stays prepared on the connection.
    with pytest.raises(RuntimeError), transaction.atomic():
        run(f"SELECT COUNT(*) FROM {Customer._meta.db_table} WHERE id < %s", [0])
        raise RuntimeError
    with CaptureQueriesContext(connection) as after_rollback:
        run(f"SELECT COUNT(*) FROM {Customer._meta.db_table} WHERE id < %s", [0])
    assert [q["sql"].split()[0] for q in after_rollback.captured_queries] == ["EXECUTE"]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="statements are prepared on PostgreSQL only")
def test_a_connection_keeps_a_bounded_number_the_least_recently_used_go():
    from canonical.services import prepared as module

    def on_server() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'hub_%%'")
            return {name for (name,) in cursor.fetchall()}

    def statement(n: int) -> str:
        return f"SELECT %s::int + {n}"

    def name(n: int) -> str:
        return module._statement(statement(n))[0]

    kept = module._LEAST_KEPT
    with override_settings(HUB_PREPARED_STATEMENTS_MAX=1):  # below the floor: the floor holds
        # More new statements than are kept: whatever the connection held before goes first.
        for n in range(kept + 8):
            assert run(statement(n), [1]) == [(1 + n,)]
        assert on_server() == {name(n) for n in range(8, kept + 8)}
        assert run(statement(8), [2]) == [(10,)]  # the oldest, used again: now the most recent
        with CaptureQueries(connection) as queries:
            assert run(statement(1000), [1]) == [(1001,)]
        # The least recently used went to make room, in the same message as the new PREPARE.
        [sent, executed] = [q["sql"] for q in queries.captured_queries]
        assert sent.startswith(f"DEALLOCATE {name(9)}; PREPARE {name(1000)} AS ")
        assert executed.startswith(f"EXECUTE {name(1000)}")
        assert on_server() == {name(n) for n in (*range(10, kept + 8), 8, 1000)}
        # What went is prepared again when it is next used, and answers as before.
        assert run(statement(9), [1]) == [(10,)]
        assert len(on_server()) == kept and name(9) in on_server()
        # A statement that fails to prepare still took its room (DEALLOCATE outlives the error):
        # the books and the server agree, and every statement kept still runs.
        with pytest.raises(Exception, match="no_such_column"), transaction.atomic():
            run("SELECT no_such_column + %s", [1])
        assert on_server() == set(module._prepared_on[connection.connection])
        assert len(on_server()) == kept - 1
        for n in range(11, kept + 8):
            assert run(statement(n), [1]) == [(1 + n,)]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="statements are prepared on PostgreSQL only")
def test_it_can_be_turned_off_for_poolers_that_reset_sessions():
    with override_settings(HUB_PREPARED_STATEMENTS=False):
        assert prepared(SQL, ["P-1"]) == (SQL, ["P-1"])


def test_a_wrong_number_of_parameters_is_refused_before_it_reaches_the_database():
    if not ON_POSTGRESQL:
        pytest.skip("SQLite reports it itself")
    with pytest.raises(ValueError, match="takes 1 parameters; 2 were given"):
        prepared(SQL, ["P-1", "extra"])


def test_row_update_writes_the_fields_and_stamps_updated_at():
    customer = CustomerFactory(name="Before")
    stamped = customer.updated_at
    customer.name = "After"
    assert row_update(customer, ["name", "updated_at"]) == 1
    fresh = Customer.objects.get(pk=customer.pk)
    assert fresh.name == "After"
    assert fresh.updated_at == customer.updated_at > stamped


def test_row_update_with_a_condition_writes_nothing_when_the_row_no_longer_matches():
    customer = CustomerFactory(name="Kept", status="active")
    customer.name = "Lost"
    assert row_update(customer, ["name"], where={"status": "inactive"}) == 0
    assert Customer.objects.get(pk=customer.pk).name == "Kept"
    assert row_update(customer, ["name"], where={"status": "active"}) == 1
    assert Customer.objects.get(pk=customer.pk).name == "Lost"


def test_reads_together_answers_each_statement_in_order_through_its_answer():
    from canonical.services.prepared import Read, reads_together

    CustomerFactory(account_number="T-1", name="Together Ltd")
    names = Read(f"SELECT name FROM {Customer._meta.db_table} WHERE account_number = %s", ["T-1"], (None,))
    count = Read(f"SELECT COUNT(*) FROM {Customer._meta.db_table} WHERE name LIKE '%%Ltd'", [], (None,),
                 answer=lambda rows: rows[0][0])
    nothing = Read(f"SELECT name FROM {Customer._meta.db_table} WHERE account_number = %s", ["T-none"], (None,),
                   answer=lambda rows: rows[0] if rows else None)
    limit = Read(f"SELECT credit_limit FROM {Customer._meta.db_table} WHERE account_number = %s", ["T-1"],
                 (Customer._meta.get_field("credit_limit"),))
    with CaptureQueries(connection) as queries:
        answers = reads_together(names, count, nothing, limit)
    assert answers[:3] == [[("Together Ltd",)], 1, None]
    assert answers[3] == [(Customer.objects.get(account_number="T-1").credit_limit,)]  # converted as the ORM does
    if ON_POSTGRESQL:  # one round trip (after the statements' first PREPARE on this connection)
        assert len([q for q in queries if q["sql"].startswith("EXECUTE")]) == 1


def _name_of(account_number: str, answer=None):
    from canonical.services.prepared import Read

    return Read(f"SELECT name FROM {Customer._meta.db_table} WHERE account_number = %s", [account_number],
                (None,), answer=answer or (lambda rows: rows[0][0] if rows else None))


def _executions(queries) -> int:
    """Round trips that ran statements (a statement's first PREPARE and the test's savepoints aside)."""
    return len([q for q in queries if not q["sql"].startswith(("PREPARE", "SAVEPOINT", "RELEASE SAVEPOINT"))])


def test_reads_along_go_with_the_next_read_in_its_round_trip_and_answer_first():
    from canonical.services.prepared import reads_along, reads_together

    CustomerFactory(account_number="A-1", name="Along Ltd")
    CustomerFactory(account_number="A-2", name="Carrier Ltd")
    reads_together(_name_of("A-1"), _name_of("A-2"))  # prepared on this connection
    order = []
    along_read = _name_of("A-1", answer=lambda rows: order.append("along") or rows[0][0])
    carrier = _name_of("A-2", answer=lambda rows: order.append("carrier") or rows[0][0])
    with CaptureQueries(connection) as queries, transaction.atomic(), reads_along(along_read) as along:
        assert reads_together(carrier) == ["Carrier Ltd"]
        assert along.answered() == ["Along Ltd"]
        assert reads_together(_name_of("A-2")) == ["Carrier Ltd"]  # only the next read carries them
    assert order == ["along", "carrier"]
    if ON_POSTGRESQL:
        assert _executions(queries) == 2


def test_reads_along_no_read_carried_are_sent_on_their_own_when_asked_for_and_never_if_not():
    from canonical.services.prepared import reads_along

    CustomerFactory(account_number="A-3", name="Alone Ltd")
    with CaptureQueries(connection) as queries, transaction.atomic(), reads_along(_name_of("A-3")) as along:
        assert along.answered() == ["Alone Ltd"]
        assert along.answered() == ["Alone Ltd"]  # asked again: not sent again
    assert _executions(queries) == 1
    with CaptureQueries(connection) as queries, transaction.atomic(), reads_along(_name_of("A-3")):
        pass
    assert _executions(queries) == 0


def test_an_along_answer_that_raises_stops_the_carriers_answer():
    from canonical.services.prepared import reads_along, reads_together

    CustomerFactory(account_number="A-4", name="Stop Ltd")

    def stop(rows):
        raise LookupError(rows[0][0])

    carried = []
    carrier = _name_of("A-4", answer=carried.append)
    with transaction.atomic(), reads_along(_name_of("A-4", stop)) as along:
        with pytest.raises(LookupError, match="Stop Ltd"):
            reads_together(carrier)
        with CaptureQueries(connection) as queries, pytest.raises(LookupError, match="Stop Ltd"):
            along.answered()  # the same answer again, not sent again
    assert carried == [] and _executions(queries) == 0


def test_reads_along_do_not_nest_and_are_gone_when_the_block_ends():
    from canonical.services.prepared import reads_along, reads_together

    CustomerFactory(account_number="A-5", name="Nest Ltd")
    carried = []
    with transaction.atomic(), reads_along(_name_of("A-5", carried.append)):
        with pytest.raises(RuntimeError, match="does not nest"), reads_along(_name_of("A-5")):
            pass
    assert reads_together(_name_of("A-5")) == ["Nest Ltd"] and carried == []


def test_reads_together_fails_on_a_failing_statement_and_runs_none_after_it():
    from django.db import DatabaseError

    from canonical.services.prepared import Read, reads_together

    customer = CustomerFactory(account_number="T-2", name="Before")
    failing = Read("SELECT id FROM no_such_table WHERE id = %s", [1], (None,))
    update = Read(f"UPDATE {Customer._meta.db_table} SET name = 'After' WHERE id = %s RETURNING id", [customer.pk],
                  (None,))
    with pytest.raises(DatabaseError), transaction.atomic():
        reads_together(failing, update)
    customer.refresh_from_db()
    assert customer.name == "Before"


@pytest.mark.skipif(not ON_POSTGRESQL, reason="row locks: SQLite's transaction holds the whole database")
@pytest.mark.django_db(transaction=True)
def test_a_statement_after_a_lock_in_the_same_round_trip_sees_what_was_committed_while_it_waited():
    """The credit decision relies on it: the exposure read after the account's lock, in the same message."""
    import threading

    from django.db import connections

    from canonical.services.prepared import Read, reads_together

    customer = CustomerFactory(account_number="T-3", name="Before")
    table = Customer._meta.db_table
    locked, done = threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [customer.pk])
                cursor.execute(f"UPDATE {table} SET name = 'Committed meanwhile' WHERE id = %s", [customer.pk])
            locked.set()
            done.wait(5)
        connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(5)
    lock = Read(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [customer.pk], (None,))
    name = Read(f"SELECT name FROM {table} WHERE id = %s", [customer.pk], (None,), answer=lambda rows: rows[0][0])
    threading.Timer(0.3, done.set).start()  # the holder commits while reads_together waits for the lock
    with transaction.atomic():
        _, seen = reads_together(lock, name)
    thread.join(5)
    assert seen == "Committed meanwhile"


def test_instance_from_db_builds_what_from_db_builds():
    from canonical.models import InventoryPosition
    from canonical.services.prepared import instance_from_db
    from tests.factories import InventoryPositionFactory

    position = InventoryPositionFactory()
    names = ["id", "product_id", "location_id", "on_hand", "reserved"]
    values = [getattr(position, name) for name in names]
    fast = instance_from_db(InventoryPosition, "default", names, values)
    slow = InventoryPosition.from_db("default", names, values)
    assert {k: v for k, v in vars(fast).items() if k != "_state"} == {k: v for k, v in vars(slow).items()
                                                                       if k != "_state"}
    assert (fast._state.adding, fast._state.db) == (slow._state.adding, slow._state.db) == (False, "default")
    assert fast.get_deferred_fields() == slow.get_deferred_fields()
    assert {"in_transit", "created_at"} <= fast.get_deferred_fields()
    assert fast.product == position.product  # foreign keys load as they would
    fast.reserved += 1
    fast.save(update_fields=["reserved"])
    position.refresh_from_db()
    assert position.reserved == values[4] + 1
