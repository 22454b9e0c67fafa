"""One-statement INSERTs and UPDATEs for the hot write paths.

``Model.save()`` needs a SELECT first when a column's value depends on other rows (an event's
sequence within its aggregate), and a savepoint around the INSERT when a repeat must not spoil
the transaction (a milestone reported twice). On a busy two-core server every round trip to the
database costs a context switch each way, so the canonical upserts write those rows with a
single ``INSERT ... RETURNING`` instead, prepared once per connection (canonical.services.prepared).
``rows_insert`` writes several rows of one model
in one statement the same way (``bulk_create`` costs more to build than to run). The statements
are portable: PostgreSQL and SQLite (3.35+) both take scalar subqueries in VALUES,
``ON CONFLICT (...) DO NOTHING`` and ``RETURNING``.

``row_update`` is ``save(update_fields=...)`` without the ORM's query compilation, which costs
more than running the statement, and with an optional condition on the row's current values.

No model signals are sent and ``save()`` is not called: the models written this way keep no
logic there (see the conventions), and the instance ends up as ``save()`` would leave it.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import functools
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DatabaseError, models, router, transaction

from canonical.json_text import json_text
from canonical.services.prepared import prepared
from canonical.services.transactions import commit_carried, commit_sent, no_row_statement, rows_written_check


@dataclasses.dataclass
class WriteBatch:
    """Writes held back until the end of a writes_batched block (see there)."""

    connection: object
    # The statement that sends the batch also commits the transaction (see writes_batched).
    commit: bool = False
    # (sql, params, on_count): on_count, when given, is called with the rows the statement wrote.
    statements: list[tuple[str, list, Callable[[int], None] | None]] = dataclasses.field(default_factory=list)
    # name -> (rows, writer): rows collected in the block, written by writer(rows) as it ends.
    collected: dict[str, tuple[list, Callable[[list], None]]] = dataclasses.field(default_factory=dict)

    def rows(self, name: str, writer: Callable[[list], None]) -> list:
        """The list of ``name`` rows to add to; ``writer`` writes them all (deferrably) at the end."""
        if name not in self.collected:
            self.collected[name] = ([], writer)
        return self.collected[name][0]

    def collected_rows(self, name: str) -> list:
        """The ``name`` rows collected so far, not written yet (empty when there are none)."""
        return self.collected[name][0] if name in self.collected else []


_batch: ContextVar[WriteBatch | None] = ContextVar("write_batch", default=None)


def write_batch() -> WriteBatch | None:
    """The batch collecting this connection's deferrable writes, if a writes_batched block is open."""
    batch = _batch.get()
    return batch if batch is not None and batch.connection is transaction.get_connection() else None


@contextmanager
def writes_batched(*, commit: bool = False) -> Iterator[WriteBatch]:
    """Hold back the deferrable writes of this block and send them together when it ends.

    For a workflow that writes many rows it never reads back in the same transaction (an order
    placed: the reserved positions, the reservations, the lines' allocated quantities, the
    status, its events). The writes that say ``deferrable`` (rows_update, row_update,
    ``rows_insert(read_back=False)``, event_record) are collected; at the end of the block
    PostgreSQL gets them as one statement (each a data-modifying WITH query, all seeing the
    database as it was before that statement), SQLite one after another. Until then the rows
    are not written: nothing in the block may read them back, and no two of them may change
    the same row. If the block raises, nothing collected is sent (the transaction rolls back).

    ``commit=True``: the block is the last thing its transaction does, so on PostgreSQL the
    batch's statement carries the COMMIT in its message, when the transaction is an
    atomic_begin_carried block (canonical.services.transactions.commit_carried; otherwise the
    block commits as usual). A statement after it in that block raises. A statement whose
    ``on_count`` refuses 0 rows is then checked by the database before the COMMIT: if it wrote no
    row, the message fails there, nothing is committed, and ``on_count(0)`` raises its own error.
    ``on_count`` must therefore raise for 0; it hears the count as before when the batch went through.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("writes_batched must be used inside transaction.atomic().")
    if write_batch() is not None:  # already batching: the outer block sends them
        if commit:
            raise RuntimeError("writes_batched(commit=True) must be the outermost writes_batched block.")
        yield write_batch()
        return
    batch = WriteBatch(connection=connection, commit=commit)
    token = _batch.set(batch)
    try:
        yield batch
        for rows, writer in batch.collected.values():
            writer(rows)
    finally:
        _batch.reset(token)
    _flush(batch)


def _flush(batch: WriteBatch) -> None:
    connection = batch.connection
    if not batch.statements:
        return
    commit = batch.commit and commit_carried(connection)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql" or (len(batch.statements) == 1 and not commit):
            counts = []
            for sql, params, _ in batch.statements:
                cursor.execute(*prepared(sql, params, using=connection.alias))
                counts.append(cursor.rowcount)
        else:
            parts, params, selects = [], [], []
            for index, (sql, statement_params, on_count) in enumerate(batch.statements):
                parts.append(f"w{index} AS ({sql} RETURNING 1)")
                params.extend(statement_params)
                count = f"(SELECT COUNT(*) FROM w{index})"
                # Committed in the same message, a count is checked before the COMMIT or never.
                selects.append(rows_written_check(count, index) if commit and on_count is not None else count)
            text, params = prepared(f"WITH {', '.join(parts)} SELECT {', '.join(selects)}", params,
                                    using=connection.alias)
            try:
                cursor.execute(f"{text}; COMMIT" if commit else text, params)
            except DatabaseError as exc:
                index = no_row_statement(exc) if commit else None
                if index is None:
                    raise
                batch.statements[index][2](0)  # the statement's own refusal, as after the count
                raise
            counts = cursor.fetchone()
            if commit:
                commit_sent(connection)
    for (_, _, on_count), count in zip(batch.statements, counts, strict=True):
        if on_count is not None:
            on_count(count)


def _write(sql: str, params: list, *, connection, deferrable: bool, on_count=None) -> int | None:
    """Run one write now, or add it to the open batch when it may wait; the rows written, or None.

    ``on_count`` is called with the rows written: at once, or when the batch is sent (it may
    raise: the transaction then rolls back).
    """
    batch = write_batch() if deferrable else None
    if batch is not None:
        batch.statements.append((sql, params, on_count))
        return None
    with connection.cursor() as cursor:
        cursor.execute(*prepared(sql, params, using=connection.alias))
        count = cursor.rowcount
    if on_count is not None:
        on_count(count)
    return count


# Values that go to the database as they are, by field class (exact classes only: a subclass may
# prepare its values): the ORM's preparation would only check them, at a cost the order path pays
# on every column of every row.
def _of(*types):
    return lambda value: type(value) in types


def _text(value) -> bool:
    return value is None or isinstance(value, str)  # as CharField.to_python: choices' enum members too


_NONE = type(None)
_INTEGER, _BOOLEAN = _of(int, _NONE), _of(bool, _NONE)
_PLAIN_FIELDS = {
    **dict.fromkeys((models.CharField, models.SlugField, models.TextField), _text),
    **dict.fromkeys((models.AutoField, models.BigAutoField, models.IntegerField, models.BigIntegerField,
                     models.SmallIntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField),
                    _INTEGER),
    models.BooleanField: _BOOLEAN,
    models.DecimalField: lambda value: value is None or (type(value) is decimal.Decimal and value.is_finite()),
}
# PostgreSQL's driver takes dates and aware datetimes as they are; SQLite's backend makes them text.
_PLAIN_POSTGRESQL = {
    models.DateField: _of(datetime.date, _NONE),
    models.DateTimeField: lambda value: value is None or (type(value) is datetime.datetime
                                                          and value.utcoffset() is not None),
}


def _stamped(field) -> bool:
    """An ``auto_now``/``auto_now_add`` field: save() stamps it."""
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _to_write(field, instance, keep_stamps: bool):
    """The value an INSERT writes for ``field`` of a new ``instance``, as save() would (pre_save stamps
    auto_now fields); with ``keep_stamps`` a stamp the caller already set is written as it is."""
    if keep_stamps and _stamped(field) and (value := getattr(instance, field.attname)) is not None:
        return value
    return field.pre_save(instance, True)


@functools.cache
def _plain_checks(fields: tuple, vendor: str) -> tuple:
    """Per field: a check that its value may go to the database as it is, or None (the ORM prepares it)."""
    checks = []
    for field in fields:
        target = field.target_field if field.is_relation else field
        check = _PLAIN_FIELDS.get(type(target))
        if check is None and vendor == "postgresql" and not _stamped(target):
            check = _PLAIN_POSTGRESQL.get(type(target))
        checks.append(check)
    return tuple(checks)


def row_insert(
    instance: models.Model,
    *,
    computed: dict[str, tuple[str, list]] | None = None,
    unless_taken: list[str] | None = None,
) -> bool:
    """INSERT ``instance`` in one statement; True when the row was written.

    ``computed`` maps a field name to ``(sql, params)``, an expression the statement evaluates
    for that column (e.g. a scalar subquery); its value is read back into the instance with the
    primary key. ``unless_taken`` names the fields of a unique constraint: when a row with the
    same values exists, nothing is written, the instance stays unsaved and the answer is False
    (``INSERT ... ON CONFLICT (...) DO NOTHING``, which needs no savepoint).
    """
    return bool(rows_insert([instance], computed=[computed or {}], unless_taken=unless_taken))


class _NotPlain(Exception):
    """A value the JSON form of an INSERT does not take as it is: the statement binds each value instead."""


def _json_of(check: Callable, convert: Callable | None = None) -> Callable:
    def json_value(value):
        if not check(value):
            raise _NotPlain
        return value if convert is None or value is None else convert(value)
    return json_value


def _isoformat(value) -> str:
    return value.isoformat()


_DATE, _AWARE = _PLAIN_POSTGRESQL[models.DateField], _PLAIN_POSTGRESQL[models.DateTimeField]
_JSON_FIELDS = {
    **{field: _json_of(check) for field, check in _PLAIN_FIELDS.items() if field is not models.DecimalField},
    models.DecimalField: _json_of(_PLAIN_FIELDS[models.DecimalField], str),
    models.DateField: _json_of(_DATE, _isoformat),
    models.DateTimeField: _json_of(_AWARE, _isoformat),
    models.JSONField: lambda value: value,  # json_text refuses what it cannot write, as the driver's would
    models.UUIDField: _json_of(_of(uuid.UUID, _NONE), str),
}


@functools.cache
def _json_converters(fields: tuple) -> tuple | None:
    """Per field: (its value as JSON text gives it to PostgreSQL, whether save() stamps it); None when a
    field's type is not covered."""
    converters = []
    for field in fields:
        target = field.target_field if field.is_relation else field
        convert = _JSON_FIELDS.get(type(target))
        if convert is None or (type(target) is models.JSONField and target.encoder is not None):
            return None
        converters.append((convert, _stamped(field)))
    return tuple(converters)


def _insert_json(instances: list[models.Model], fields: list, connection, keep_stamps: bool,
                 over_row: dict[str, str]) -> tuple[str, list] | None:
    """The INSERT as ``INSERT ... SELECT ... FROM jsonb_populate_recordset(NULL::table, %s)`` (PostgreSQL).

    One parameter, the rows as a JSON array, however many rows and columns: the driver binds
    each parameter in Python (about 2 µs each; an order's writes had some 250), and the server
    reads JSON faster than as many literals. The same statement serves any number of rows. None
    when a field or value is not one it takes as it is (the caller binds each value instead).
    """
    converters = _json_converters(tuple(fields))
    if converters is None:
        return None
    rows = []
    try:
        for instance in instances:
            row = {}
            for field, (convert, stamped) in zip(fields, converters, strict=True):
                value = _to_write(field, instance, keep_stamps) if stamped else getattr(instance, field.attname)
                row[field.column] = convert(value)
            rows.append(row)
    except _NotPlain:
        return None
    quote = connection.ops.quote_name
    table = quote(instances[0]._meta.db_table)
    columns = [quote(f.column) for f in fields]
    selected = [over_row.get(f.name) or f"r.{column}" for f, column in zip(fields, columns, strict=True)]
    return (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selected)} "
            f"FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) AS r"), [json_text(rows)]


def _insert_sql(instances: list[models.Model], computed: list[dict], connection, *, keep_stamps: bool = False,
                as_json: bool = False, over_row: dict[str, str] | None = None) -> tuple[str, list, list]:
    meta = instances[0]._meta
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields
              if not (f.primary_key and getattr(instances[0], f.attname) is None and f.name not in computed[0])]
    over_row = over_row or {}
    if as_json and connection.vendor == "postgresql" and set(computed[0]) <= set(over_row):
        in_json = _insert_json(instances, fields, connection, keep_stamps, over_row)
        if in_json is not None:
            return *in_json, fields
    rows, params = [], []
    plain = _plain_checks(tuple(fields), connection.vendor)
    for instance, expressions in zip(instances, computed, strict=True):
        values = []
        for field, check in zip(fields, plain, strict=True):
            if field.name in expressions:
                sql, sql_params = expressions[field.name]
                values.append(f"({sql})")
                params.extend(sql_params)
                continue
            values.append("%s")
            if check is not None and check(value := getattr(instance, field.attname)):
                params.append(value)
            else:
                params.append(field.get_db_prep_save(_to_write(field, instance, keep_stamps), connection))
        rows.append(f"({', '.join(values)})")
    statement = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
                 f"VALUES {', '.join(rows)}")
    return statement, params, fields


def rows_insert(
    instances: list[models.Model],
    *,
    computed: list[dict[str, tuple[str, list]]] | None = None,
    unless_taken: list[str] | None = None,
    read_back: bool = True,
    replace_if: tuple[str, list] | None = None,
    on_count: Callable[[int], None] | None = None,
    keep_stamps: bool = False,
    over_row: dict[str, str] | None = None,
) -> int | None:
    """INSERT several instances of one model in one statement (``bulk_create`` without its cost).

    ``computed`` and ``unless_taken`` as for row_insert, ``computed`` given per instance (every
    instance computes the same fields). The primary keys (and computed values) are read back
    into the instances; the answer is how many rows were written. With ``unless_taken`` and
    more than one instance, which ones were skipped is not told: use row_insert for that.
    ``read_back=False``: the caller needs neither ids nor a count, so inside writes_batched the
    INSERT waits for the batch (the answer is then None and the instances keep no id).
    ``replace_if``: ``(sql, params)``, with ``unless_taken``: a row already holding those values
    is overwritten with the new one when this condition on it holds (``ON CONFLICT ... DO UPDATE
    ... WHERE``; name its columns by the quoted table name). ``on_count`` (with ``read_back=False``)
    hears how many rows were written, as for row_update. ``keep_stamps``: ``auto_now`` and
    ``auto_now_add`` fields already set are written as they are (the caller stamped them, and
    showed them), not stamped anew. ``over_row``: for the JSON form (PostgreSQL, ``read_back=False``),
    a field's ``computed`` expression written over the incoming row, ``r`` (its columns as
    ``r."column"``; the field's own column holds the instance's value): the rows then go as one
    parameter however many carry an expression. Without it a computed field binds each row's values.
    """
    if replace_if is not None and not unless_taken:
        raise ValueError("replace_if says which taken rows to overwrite: it needs unless_taken.")
    if on_count is not None and read_back:
        raise ValueError("on_count is for read_back=False; with read_back the answer is the count.")
    if not instances:
        return 0
    meta = instances[0]._meta
    connection = transaction.get_connection(router.db_for_write(type(instances[0]), instance=instances[0]))
    quote = connection.ops.quote_name
    computed = computed or [{}] * len(instances)
    # Without read_back the rows' order does not matter: PostgreSQL may take them as one JSON parameter.
    statement, params, fields = _insert_sql(instances, computed, connection, keep_stamps=keep_stamps,
                                            as_json=not read_back, over_row=over_row)
    returning = [meta.pk, *(meta.get_field(name) for name in computed[0])]
    if unless_taken:
        statement += f" ON CONFLICT ({', '.join(quote(meta.get_field(n).column) for n in unless_taken)}) "
        if replace_if is None:
            statement += "DO NOTHING"
        else:
            replaced = ", ".join(f"{quote(f.column)} = excluded.{quote(f.column)}" for f in fields if not f.primary_key)
            statement += f"DO UPDATE SET {replaced} WHERE {replace_if[0]}"
            params = [*params, *replace_if[1]]
    if not read_back:
        return _write(statement, params, connection=connection, deferrable=True, on_count=on_count)
    statement += f" RETURNING {', '.join(quote(field.column) for field in returning)}"
    with connection.cursor() as cursor:
        cursor.execute(*prepared(statement, params, using=connection.alias))
        written = cursor.fetchall()
    if unless_taken and len(instances) > 1:
        return len(written)
    # Rows come back in the order of VALUES (PostgreSQL and SQLite; Django's bulk_create relies on it too).
    for instance, row in zip(instances, written, strict=False):
        for field, value in zip(returning, row, strict=True):
            setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = connection.alias
    return len(written)


def row_update(
    instance: models.Model,
    fields: Iterable[str],
    *,
    where: dict | None = None,
    deferrable: bool = False,
    on_count: Callable[[int], None] | None = None,
) -> int | None:
    """UPDATE ``fields`` of the saved ``instance`` to its current values, in one plain statement.

    ``auto_now`` fields among them are stamped as ``save()`` stamps them. ``where`` adds
    conditions on the row's current values ({field name: value}); the answer is the number of
    rows written, 0 when the row no longer matches them. ``deferrable``: inside writes_batched
    the UPDATE waits for the batch and the answer is None. ``on_count`` hears the count either way.
    """
    meta = instance._meta
    connection = transaction.get_connection(router.db_for_write(type(instance), instance=instance))
    quote = connection.ops.quote_name
    assignments, params = [], []
    for name in fields:
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(field.pre_save(instance, False), connection))
    conditions = [f"{quote(meta.pk.column)} = %s"]
    params.append(meta.pk.get_db_prep_value(instance.pk, connection))
    for name, value in (where or {}).items():
        field = meta.get_field(name)
        conditions.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_value(value, connection))
    statement = (f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
                 f"WHERE {' AND '.join(conditions)}")
    return _write(statement, params, connection=connection, deferrable=deferrable, on_count=on_count)


def _update_json(meta, columns: list, rows: dict, connection) -> tuple[str, list] | None:
    """rows_update's statement on PostgreSQL: one UPDATE for all the rows, None when a value does not go as JSON.

    The keys come as a list (``pk = ANY(...)``: an index lookup per key, in the plan made while the
    table was small as in one made later), each row's new values from the same JSON by its key.
    Four per-row UPDATEs fewer on an order of five lines: each one started its own executor, opened
    the table's indexes and prepared its CHECK constraints.
    """
    converters = _json_converters(tuple(columns))
    if converters is None:
        return None
    try:
        values = json_text([
            {meta.pk.column: pk, **{field.column: convert(getattr(instance, field.attname))
                                    for field, (convert, _) in zip(columns, converters, strict=True)}}
            for pk, instance in rows.items()
        ])
    except _NotPlain:
        return None
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    rows_of = f"jsonb_populate_recordset(NULL::{table}, %s::jsonb) AS r"
    return (f"UPDATE {table} AS t SET ({', '.join(quote(f.column) for f in columns)}) = "
            f"(SELECT {', '.join(f'r.{quote(f.column)}' for f in columns)} FROM {rows_of} WHERE r.{pk} = t.{pk}) "
            f"WHERE t.{pk} = ANY(ARRAY(SELECT r.{pk} FROM {rows_of}))"), [values, values]


def rows_update(model, rows: dict, fields: list[str], *, deferrable: bool = False) -> None:
    """Set ``fields`` of several rows to their own values (``rows``: {pk: instance}), in one round trip.

    The rows are found by their primary keys whatever the table's size. (A single UPDATE joined
    to the rows' values, as ``bulk_update`` or ``UPDATE ... FROM (VALUES ...)``, gets a plan that
    depends on the table's size when it is made; PostgreSQL keeps a prepared statement's plan for
    the connection's life, so one made while the table was small hashed the whole table on every
    order once it had grown.) On PostgreSQL it is one UPDATE of the rows whose keys are in a list
    (an index lookup per key), each row's values read from one JSON parameter (_update_json);
    where a value does not go as JSON, one ``UPDATE ... WHERE pk = %s`` per row, together as one
    statement (a data-modifying WITH each). SQLite gets one UPDATE after another. Inside
    writes_batched (``deferrable``) the statement joins the batch.
    """
    if not rows:
        return
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor == "postgresql" and len(rows) > 1:
        in_json = _update_json(meta, columns, rows, connection)
        if in_json is not None:
            _write(*in_json, connection=connection, deferrable=deferrable)
            return
    checks = _plain_checks(tuple(columns), connection.vendor)
    statement = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in columns)} "
                 f"WHERE {quote(meta.pk.column)} = %s")
    updates = []
    for pk, instance in rows.items():
        params = []
        for field, check in zip(columns, checks, strict=True):
            value = getattr(instance, field.attname)
            params.append(value if check is not None and check(value) else field.get_db_prep_save(value, connection))
        params.append(pk)
        updates.append(params)
    if (deferrable and write_batch() is not None) or connection.vendor != "postgresql" or len(updates) == 1:
        for params in updates:
            _write(statement, params, connection=connection, deferrable=deferrable)
        return
    parts = ", ".join(f"u{index} AS ({statement})" for index in range(len(updates)))
    _write(f"WITH {parts} SELECT 1", [value for params in updates for value in params], connection=connection,
           deferrable=False)
