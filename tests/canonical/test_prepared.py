"""Hot-path statements prepared once per PostgreSQL connection, and the one-statement UPDATE."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import override_settings

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
