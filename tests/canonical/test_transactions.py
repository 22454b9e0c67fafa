"""Transactions without a round trip of their own for BEGIN or COMMIT (canonical.services.transactions).

On PostgreSQL, with real transactions (transactional tests: the test itself is not a transaction,
so the blocks here are the outermost ones, as a request's are). What psycopg sends on its own is
recorded by the ``sent_alone`` fixture; whether BEGIN travelled with the first statement the
server says itself: in one message, the transaction starts when the statement does.
"""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection, transaction
from psycopg.pq import TransactionStatus

from canonical.models import Location
from canonical.services.inserts import rows_insert, writes_batched
from canonical.services.transactions import atomic_begin_carried

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.postgres_only


class _Refused(Exception):
    pass


def _codes() -> list[str]:
    return sorted(Location.objects.values_list("code", flat=True))


def _codes_seen_elsewhere() -> list[str]:
    """What another connection sees committed."""
    seen = []

    def look():
        try:
            seen.extend(_codes())
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join(30)
    return sorted(seen)


def _transaction_began_with_this_statement(cursor) -> bool:
    cursor.execute("SELECT transaction_timestamp() = statement_timestamp()")
    return cursor.fetchone()[0]


@postgres_only
def test_begin_goes_with_the_first_statement_and_the_block_is_one_transaction(sent_alone):
    connection.ensure_connection()
    with atomic_begin_carried(), connection.cursor() as cursor:
        assert _transaction_began_with_this_statement(cursor)  # and its own answer, not BEGIN's, came back
        cursor.execute("SELECT txid_current()")
        first = cursor.fetchone()[0]
        Location.objects.create(code="east", name="East")
        cursor.execute("SELECT txid_current()")
        assert cursor.fetchone()[0] == first
        assert not _transaction_began_with_this_statement(cursor)
    assert b"BEGIN" not in sent_alone and sent_alone.count(b"COMMIT") == 1  # the block's commit, as ever
    assert _codes_seen_elsewhere() == ["east"]


@postgres_only
def test_without_it_begin_is_a_message_of_its_own(sent_alone):
    """The control: what transaction.atomic() sends."""
    connection.ensure_connection()
    with transaction.atomic(), connection.cursor() as cursor:
        assert not _transaction_began_with_this_statement(cursor)
    assert sent_alone[:1] == [b"BEGIN"]


def test_a_block_that_raises_rolls_back_everything_it_wrote():
    with pytest.raises(_Refused), atomic_begin_carried():
        Location.objects.create(code="east", name="East")
        Location.objects.create(code="west", name="West")
        raise _Refused
    assert _codes() == []
    with atomic_begin_carried():
        Location.objects.create(code="south", name="South")
    assert _codes() == ["south"]


def test_a_failing_first_statement_fails_the_block_and_the_connection_works_on():
    with pytest.raises(Exception, match="no_such_table"), atomic_begin_carried(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    with atomic_begin_carried():
        Location.objects.create(code="east", name="East")
    assert _codes() == ["east"]


@postgres_only
def test_executemany_and_server_side_cursors_get_their_begin_just_before_them(sent_alone):
    """psycopg sends these in forms of their own; BEGIN goes as a statement of its own just before."""
    table = Location._meta.db_table
    with pytest.raises(_Refused), atomic_begin_carried(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} (code, name, kind, city, country, is_active, created_at, "
                           "updated_at) VALUES (%s, %s, 'warehouse', '', 'US', true, now(), now())", [("a", "A"), ("b", "B")])
        assert _codes() == ["a", "b"]
        raise _Refused
    assert sent_alone == [b"ROLLBACK"] and _codes() == []  # a transaction was open, and rolled back
    Location.objects.create(code="east", name="East")
    sent_alone.clear()
    with atomic_begin_carried():
        assert [location.code for location in Location.objects.iterator(chunk_size=10)] == ["east"]
    assert sent_alone[-1] == b"COMMIT"  # the named cursor lived in the block's transaction


def test_inside_a_transaction_it_is_a_savepoint_as_atomic_is():
    with transaction.atomic():
        Location.objects.create(code="outer", name="Outer")
        with pytest.raises(_Refused), atomic_begin_carried():
            Location.objects.create(code="inner", name="Inner")
            raise _Refused
        assert _codes() == ["outer"]
    assert _codes() == ["outer"]
    assert connection.execute_wrappers == []


def _batch_of_two(*, taken_code: str = "", on_count=None) -> None:
    """Two INSERTs in one batch; the second may find its code taken (nothing written) and say so."""
    rows_insert([Location(code="east", name="East")], read_back=False)
    rows_insert([Location(code=taken_code or "west", name="West")], read_back=False, unless_taken=["code"],
                on_count=on_count)


@postgres_only
def test_the_batch_carries_the_commit_of_the_outermost_block(sent_alone):
    heard = []
    with atomic_begin_carried():
        with writes_batched(commit=True):
            _batch_of_two(on_count=heard.append)
        # committed by the batch's own message: another connection already sees the rows
        assert connection.connection.info.transaction_status == TransactionStatus.IDLE
        assert _codes_seen_elsewhere() == ["east", "west"]
    assert heard == [1] and sent_alone == []  # neither BEGIN nor COMMIT went alone


@postgres_only
def test_a_statement_that_must_write_a_row_and_did_not_stops_the_commit_with_its_own_error():
    Location.objects.create(code="south", name="South")

    def refuse_none(count: int) -> None:
        if not count:
            raise _Refused("the code was taken meanwhile")

    with pytest.raises(_Refused, match="taken meanwhile") as raised, atomic_begin_carried(), \
            writes_batched(commit=True):
        _batch_of_two(taken_code="south", on_count=refuse_none)
    assert isinstance(raised.value.__context__.__cause__, psycopg.errors.RaiseException)
    assert _codes() == ["south"]  # "east", written in the same statement, rolled back with it


@postgres_only
def test_after_the_batch_that_committed_nothing_may_run_in_the_block():
    """It would run outside the transaction: a mistake in the caller, said as soon as it happens."""
    with pytest.raises(RuntimeError, match="nothing may run after"), atomic_begin_carried():
        with writes_batched(commit=True):
            _batch_of_two()
        Location.objects.count()
    assert _codes() == ["east", "west"]  # the batch had committed
    assert connection.execute_wrappers == []


@postgres_only
def test_in_a_block_of_plain_atomic_the_batch_leaves_the_commit_to_the_block(sent_alone):
    with transaction.atomic():
        with writes_batched(commit=True):
            _batch_of_two()
        assert connection.connection.info.transaction_status == TransactionStatus.INTRANS
        assert Location.objects.count() == 2  # still in the transaction
    assert sent_alone == [b"BEGIN", b"COMMIT"]


def test_in_a_nested_block_the_batch_leaves_the_commit_to_the_transaction():
    with atomic_begin_carried():
        with atomic_begin_carried(), writes_batched(commit=True):
            _batch_of_two()
        if connection.vendor == "postgresql":  # still open: the outer block commits
            assert connection.connection.info.transaction_status == TransactionStatus.INTRANS
            assert _codes_seen_elsewhere() == []
    assert _codes() == ["east", "west"]


def test_only_the_outermost_batch_may_commit():
    with transaction.atomic(), writes_batched(), pytest.raises(RuntimeError, match="outermost"), \
            writes_batched(commit=True):
        pass
