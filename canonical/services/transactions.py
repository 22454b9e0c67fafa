"""Transactions that spend no round trip on BEGIN or COMMIT alone (PostgreSQL).

psycopg opens a transaction by sending ``BEGIN`` on its own before the block's first statement,
and Django ends it by sending ``COMMIT`` on its own after the last: on the order path that was
two round trips of seven that carried nothing else, each costing the web process and the
database a context switch and a message. Here the BEGIN goes in the message of the block's
first statement (``atomic_begin_carried``) and the COMMIT in the message of its last
(``writes_batched(commit=True)``, canonical.services.inserts, inside such a block; see
``commit_carried``).

On SQLite, and inside a block that is already a transaction, both are transaction.atomic()
as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, transaction

# A statement's check that another statement of its message wrote a row: raised by the database
# as this SQLSTATE and message, before the message's COMMIT, so nothing is committed.
ROWS_WRITTEN_FUNCTION = "hub_rows_written"
NO_ROW_SQLSTATE = "P0001"
NO_ROW_MESSAGE = "hub: statement {} wrote no row"


@contextmanager
def atomic_begin_carried(using: str = DEFAULT_DB_ALIAS, *, savepoint: bool = True) -> Iterator[None]:
    """transaction.atomic(), its BEGIN sent with the block's first statement instead of alone.

    Whatever statement the block runs first (a read, a write, a savepoint) goes as
    ``BEGIN; <statement>`` in one message, and the cursor is moved past BEGIN's result, so the
    statement's caller sees its own. A statement that psycopg sends in a form of its own (a
    server-side cursor, ``executemany``, server-side binding, a composed query) gets its BEGIN
    sent just before it, as psycopg would have. The transaction is the same either way: every
    statement of the block runs in it, and it commits or rolls back as the atomic block says.
    ``savepoint`` is atomic()'s, for a block inside another.
    """
    connection = transaction.get_connection(using)
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with transaction.atomic(using=using, savepoint=savepoint):
            yield
        return
    with transaction.atomic(using=using):
        from psycopg.pq import TransactionStatus

        raw = connection.connection
        if raw.info.transaction_status != TransactionStatus.IDLE:  # pragma: no cover - atomic just began
            yield
            return
        # Django keeps its own autocommit flag off for the block and commits or rolls back at
        # its end; psycopg only stops sending BEGIN of its own (allowed while no transaction is open).
        raw.autocommit = True
        carrier = _BeginCarrier(connection)
        connection.execute_wrappers.append(carrier)
        connection.__dict__[_CARRIED] = carrier
        try:
            yield
        finally:
            del connection.__dict__[_CARRIED]
            connection.execute_wrappers.remove(carrier)


_CARRIED = "_hub_begin_carried"  # on the connection: the open atomic_begin_carried block's carrier


class _BeginCarrier:
    """The execute wrapper of an atomic_begin_carried block: it prefixes the block's first statement
    with BEGIN, lets the others pass, and refuses any after a statement that carried the COMMIT."""

    def __init__(self, connection):
        self.connection = connection
        self.begun = self.committed = False

    def __call__(self, execute, sql, params, many, context):
        if self.committed:
            raise RuntimeError("This transaction was committed by its last batched write (writes_batched("
                               "commit=True)); nothing may run after that in its block.")
        if self.begun:
            return execute(sql, params, many, context)
        self.begun = True
        from psycopg import ClientCursor, ServerCursor

        cursor = context["cursor"].cursor
        own_form = many or not isinstance(sql, str) or isinstance(cursor, ServerCursor)
        if own_form or not isinstance(cursor, ClientCursor):
            self.connection.connection.execute("BEGIN")
            return execute(sql, params, many, context)
        result = execute(f"BEGIN; {sql}", params, many, context)
        cursor.nextset()  # past BEGIN's result, to the statement's own
        return result


def commit_carried(connection) -> bool:
    """True when the next statement on ``connection`` may end its transaction with COMMIT in its message.

    Only in an atomic_begin_carried block that is the transaction itself (not inside another
    block or after a savepoint: none would be spared) and has not failed. After such a statement
    the block's own commit finds nothing to commit (psycopg sends no COMMIT for a connection that
    is not in a transaction); call commit_sent() once it has gone.
    """
    return (_CARRIED in connection.__dict__ and len(connection.atomic_blocks) == 1
            and not connection.savepoint_ids and not connection.needs_rollback)


def commit_sent(connection) -> None:
    """The transaction of ``connection``'s atomic_begin_carried block was committed by a statement:
    any statement after it in the block would run outside the transaction, so it raises instead."""
    connection.__dict__[_CARRIED].committed = True


def rows_written_check(count_sql: str, index: int) -> str:
    """SQL that is ``count_sql``'s value, and fails the statement when that is 0 (see NO_ROW_MESSAGE)."""
    return f"{ROWS_WRITTEN_FUNCTION}({count_sql}, {index})"


def no_row_statement(exc: BaseException) -> int | None:
    """The index a rows_written_check named when it failed ``exc``'s statement; None for any other error."""
    cause = getattr(exc, "__cause__", None) or exc
    if getattr(cause, "sqlstate", None) != NO_ROW_SQLSTATE:
        return None
    message = getattr(getattr(cause, "diag", None), "message_primary", "") or ""
    prefix, _, suffix = NO_ROW_MESSAGE.partition("{}")
    if not (message.startswith(prefix) and message.endswith(suffix)):
        return None
    number = message[len(prefix):len(message) - len(suffix)]
    return int(number) if number.isdigit() else None

