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

from collections.abc import Iterable

from django.db import models, router, transaction

from canonical.services.prepared import prepared


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


def rows_insert(
    instances: list[models.Model],
    *,
    computed: list[dict[str, tuple[str, list]]] | None = None,
    unless_taken: list[str] | None = None,
) -> int:
    """INSERT several instances of one model in one statement (``bulk_create`` without its cost).

    ``computed`` and ``unless_taken`` as for row_insert, ``computed`` given per instance (every
    instance computes the same fields). The primary keys (and computed values) are read back
    into the instances; the answer is how many rows were written. With ``unless_taken`` and
    more than one instance, which ones were skipped is not told: use row_insert for that.
    """
    if not instances:
        return 0
    model = type(instances[0])
    meta = model._meta
    connection = transaction.get_connection(router.db_for_write(model, instance=instances[0]))
    quote = connection.ops.quote_name
    computed = computed or [{}] * len(instances)
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(instances[0], f.attname) is None)]
    rows, params = [], []
    for instance, expressions in zip(instances, computed, strict=True):
        values = []
        for field in fields:
            if field.name in expressions:
                sql, sql_params = expressions[field.name]
                values.append(f"({sql})")
                params.extend(sql_params)
            else:
                values.append("%s")
                params.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
        rows.append(f"({', '.join(values)})")
    returning = [meta.pk, *(meta.get_field(name) for name in computed[0])]
    statement = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
                 f"VALUES {', '.join(rows)}")
    if unless_taken:
        statement += f" ON CONFLICT ({', '.join(quote(meta.get_field(n).column) for n in unless_taken)}) DO NOTHING"
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


def row_update(instance: models.Model, fields: Iterable[str], *, where: dict | None = None) -> int:
    """UPDATE ``fields`` of the saved ``instance`` to its current values, in one plain statement.

    ``auto_now`` fields among them are stamped as ``save()`` stamps them. ``where`` adds
    conditions on the row's current values ({field name: value}); the answer is the number of
    rows written, 0 when the row no longer matches them.
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
    with connection.cursor() as cursor:
        cursor.execute(*prepared(statement, params, using=connection.alias))
        return cursor.rowcount
