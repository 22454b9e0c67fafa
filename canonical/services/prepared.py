"""Plain-SQL statements on the hot paths, prepared once per database connection on PostgreSQL.

PostgreSQL parses and plans a statement every time it arrives as text; for the short statements
every partner call runs (the policy's resolve, the rate counters, a shipment found and locked by
its external id, an event's INSERT that takes its sequence) planning costs about as much as
running them. ``prepared(sql, params)`` answers the statement to run instead: the first time on
a connection it sends ``PREPARE hub_<hash> AS <sql>``, after that ``EXECUTE hub_<hash> (...)``
with the same parameters, so the server plans it once per connection (connections live for
CONN_MAX_AGE). On SQLite the statement is returned as it is: the sqlite3 module keeps its own
cache of compiled statements.

The statement's parameters are ``%s`` as everywhere in Django (``%%`` for a literal percent
sign); PostgreSQL infers their types from where they stand, so each must stand where a column,
a comparison or a LIMIT gives it one. A prepared statement outlives a rolled-back transaction,
so a statement prepared in a transaction that fails stays usable. Behind a pooler that resets
sessions (PgBouncer in transaction mode before 1.21) run with HUB_PREPARED_STATEMENTS=false.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.base import ModelState

_PLACEHOLDER = re.compile(r"%[s%]")


def _client_binding_cache_widen() -> None:
    """Let psycopg keep the parsed form of statements with many parameters too.

    psycopg binds parameters client-side (Django's default) from a parsed template of the
    statement, cached only for statements of at most 50 parameters; longer ones are parsed again
    on every call. An order's line INSERT and its batched writes (canonical.services.inserts)
    take 80 to 200 parameters, in a few shapes, so parsing them cost about a millisecond per
    order. The limit is a module constant psycopg reads on each call; without it (another
    psycopg), nothing changes but speed.
    """
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - SQLite-only installs still have psycopg, but be safe
        return
    if getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", 0) < 1000:
        _queries.MAX_CACHED_STATEMENT_PARAMS = 1000


_client_binding_cache_widen()
# The names prepared on each raw connection, the least recently used first; a new connection
# prepares them again.
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Never fewer kept than this, so that the statements of one message (reads_together) cannot push
# one another out before they are sent.
_LEAST_KEPT = 32


@functools.lru_cache(maxsize=1024)
def _statement(sql: str) -> tuple[str, str, int]:
    """The prepared statement's name, ``sql`` numbered, and its parameter count (worked out once per text)."""
    numbered, count = _numbered(sql)
    return "hub_" + hashlib.sha1(sql.encode()).hexdigest()[:20], numbered, count


def _numbered(sql: str) -> tuple[str, int]:
    """``sql`` with %s as $1, $2, ... and %% as %; and how many parameters it takes."""
    count = 0

    def number(match: re.Match) -> str:
        nonlocal count
        if match.group() == "%%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql), count


def prepared(sql: str, params: list | tuple, *, using: str = DEFAULT_DB_ALIAS) -> tuple[str, list | tuple]:
    """The statement and parameters to execute for ``sql`` on connection ``using``.

    Use the answer as the statement itself would be used: ``cursor.execute(*prepared(sql, params))``
    or ``Model.objects.raw(*prepared(sql, params))``.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not getattr(settings, "HUB_PREPARED_STATEMENTS", True):
        return sql, params
    name, numbered, count = _statement(sql)
    connection.ensure_connection()
    raw = connection.connection
    names = _prepared_on.get(raw)
    if names is None:
        names = _prepared_on[raw] = OrderedDict()
    if count != len(params):
        raise ValueError(f"The statement takes {count} parameters; {len(params)} were given.")
    if name in names:
        names.move_to_end(name)
    else:
        # A connection keeps a bounded number (each holds its plan in the server's memory for the
        # connection's life): the least recently used go, in the same message as the new one.
        most = max(settings.HUB_PREPARED_STATEMENTS_MAX, _LEAST_KEPT)
        dropped = [names.popitem(last=False)[0] for _ in range(len(names) - most + 1)]
        with connection.cursor() as cursor:
            cursor.execute("".join(f"DEALLOCATE {old}; " for old in dropped) + f"PREPARE {name} AS {numbered}")
        names[name] = None
    if not count:
        return f"EXECUTE {name}", params
    return f"EXECUTE {name} ({', '.join(['%s'] * count)})", params


def in_list(column: str, values, *, using: str = DEFAULT_DB_ALIAS) -> tuple[str, list]:
    """``column`` is one of ``values``, as SQL taking one parameter however many values there are.

    One parameter keeps one prepared statement per query, not one per list length. PostgreSQL
    takes the list as an array (``= ANY(%s)``); SQLite as a JSON array (``json_each``).
    """
    values = list(values)
    if connections[using].vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]


@functools.cache
def _converters(fields: tuple, vendor: str, using: str) -> tuple:
    connection = connections[using]
    found = []
    for field in fields:
        if field is None:
            found.append(())
            continue
        expression = field.get_col(field.model._meta.db_table)
        column = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        found.append(tuple((converter, expression) for converter in column))
    return tuple(found)


def select_rows(sql: str, params: list | tuple, fields: tuple, *, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
    """Run a SELECT (prepared as above) and convert each column's values as the ORM converts ``fields``'.

    ``fields``: one model field per column, or None for a column taken as the driver gives it.
    SQLite hands back decimals as floats and datetimes as text; the fields' converters make
    them what a queryset would give, so a plain statement can stand in for one.
    """
    return reads_together(Read(sql, params, fields), using=using)[0]


def _rows_converted(rows: list, converters: tuple, connection) -> list[tuple]:
    if not any(converters):
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index, column_converters in enumerate(converters):
            if column_converters and values[index] is not None:
                for converter, expression in column_converters:
                    values[index] = converter(values[index], expression, connection)
        converted.append(tuple(values))
    return converted


@dataclass(frozen=True)
class Read:
    """One statement for reads_together: its SQL and parameters as for select_rows, and what it answers.

    ``answer`` turns the statement's converted rows into what the caller wants (the rows
    themselves when not given).
    """

    sql: str
    params: list | tuple
    fields: tuple
    answer: Callable[[list[tuple]], Any] | None = None


def reads_together(*reads: Read, using: str = DEFAULT_DB_ALIAS) -> list:
    """Run several statements one after the other, in one round trip on PostgreSQL; each one's answer.

    On PostgreSQL the prepared statements go as one message (the simple query protocol runs them
    in order, each with its own snapshot, as separate calls would); on SQLite they run one by one.
    Each statement may lock (SELECT ... FOR UPDATE): the ones after it run once it holds the lock
    and see what was committed before it got it. A failing statement fails the call and runs none
    after it. For statements that depend on one another's answers only through the database, and
    that each return rows (a SELECT, or a statement with RETURNING).
    """
    connection = connections[using]
    along = connection.__dict__.pop(_ALONG, None)
    if along is not None:  # reads waiting to go with this one (reads_along): sent first
        reads = (*along.reads, *reads)
    converters = [_converters(tuple(read.fields), connection.vendor, using) for read in reads]
    results = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            texts, params = [], []
            for read in reads:
                text, values = prepared(read.sql, read.params, using=using)
                texts.append(text)
                params.extend(values)
            cursor.execute("; ".join(texts), params)
            for index in range(len(reads)):
                if index:
                    cursor.nextset()
                results.append(cursor.fetchall())
        else:
            for read in reads:
                cursor.execute(read.sql, read.params)
                results.append(cursor.fetchall())
    answers = []
    for index, (read, rows, column_converters) in enumerate(zip(reads, results, converters, strict=True)):
        rows = _rows_converted(rows, column_converters, connection)
        try:
            answers.append(read.answer(rows) if read.answer is not None else rows)
        except Exception as exc:
            if along is not None and index < len(along.reads):
                along.failed = exc  # answered() raises it again: the reads are never sent twice
            raise
    if along is not None:
        along.answers, answers = answers[:len(along.reads)], answers[len(along.reads):]
    return answers


_ALONG = "_hub_reads_along"


class Along:
    """Reads that wait to go with the next reads_together on their connection (see reads_along)."""

    def __init__(self, reads: tuple[Read, ...], using: str):
        self.reads, self.using, self.answers, self.failed = reads, using, None, None

    def answered(self) -> list:
        """The reads' answers; sent on their own now if no other read has taken them yet."""
        if self.failed is not None:
            raise self.failed
        if self.answers is None:
            connections[self.using].__dict__.pop(_ALONG, None)
            self.answers = reads_together(*self.reads, using=self.using)
        return self.answers


@contextmanager
def reads_along(*reads: Read, using: str = DEFAULT_DB_ALIAS) -> Iterator[Along]:
    """Send ``reads`` with the next reads_together in this block, in its round trip and before its own.

    For a read that must come first but whose answer is not needed before the next read (an
    idempotency key's claim before an order's own reads): one round trip fewer. Their answers
    are processed before the carrier's, so an answer that raises stops the carrier's answers
    from being processed. ``Along.answered()`` gives them, sending the reads on their own if no
    read has carried them yet; reads no one asked for are never sent. Not nested.
    """
    connection = connections[using]
    if _ALONG in connection.__dict__:
        raise RuntimeError("reads_along does not nest: reads are already waiting on this connection.")
    along = Along(reads, using)
    connection.__dict__[_ALONG] = along
    try:
        yield along
    finally:
        if connection.__dict__.get(_ALONG) is along:
            del connection.__dict__[_ALONG]


def fields_but_timestamps(model) -> tuple:
    """``model``'s concrete fields without its ``created_at`` and ``updated_at``.

    What a read on a hot path selects: parsing two timestamps per row costs more than the rest of
    the row, and the instances built from it (select_instances) load them if anything asks.
    """
    return tuple(f for f in model._meta.concrete_fields if f.name not in ("created_at", "updated_at"))


def select_instances(model, sql: str, params: list | tuple, fields: tuple, *, extra: tuple[str, ...] = (),
                     using: str = DEFAULT_DB_ALIAS) -> list:
    """select_rows, each row an instance of ``model`` (``fields`` are its columns; the rest stay deferred).

    ``fields`` must be in the model's order, as Model.from_db takes the values of a partial row.
    ``extra``: the names of columns the SELECT adds after the fields, set on each instance as they
    come (as a raw queryset sets its annotations).
    """
    names, width = [f.attname for f in fields], len(fields)
    found = []
    for row in select_rows(sql, params, fields + (None,) * len(extra), using=using):
        instance = instance_from_db(model, using, names, row[:width] if extra else row)
        for name, value in zip(extra, row[width:], strict=True):
            setattr(instance, name, value)
        found.append(instance)
    return found


def select_instance(model, sql: str, params: list | tuple, *, extra: tuple[str, ...] = (),
                    using: str = DEFAULT_DB_ALIAS):
    """The first row of a SELECT of all ``model``'s concrete fields (in their order), as an instance; or None.

    ``extra`` as for select_instances. A raw queryset does the same at several times the cost of
    the statement.
    """
    found = select_instances(model, sql, params, tuple(model._meta.concrete_fields), extra=extra, using=using)
    return found[0] if found else None


@functools.cache
def _plain_attributes(model) -> bool:
    """True when building ``model`` from a row may skip Model.__init__: nothing listens to its init
    signals and every field's attribute is a plain stored value (or a foreign key's id)."""
    from django.db.models import signals
    from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
    from django.db.models.query_utils import DeferredAttribute

    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return False
    return all(type(model.__dict__.get(f.attname)) in (DeferredAttribute, ForeignKeyDeferredAttribute)
               for f in model._meta.concrete_fields)


def instance_from_db(model, using: str, names: list[str], values) -> Any:
    """``model.from_db(using, names, values)``, at a third of its cost where the model allows it.

    Model.__init__ sets each value through its attribute and sends the init signals; for a model
    whose attributes are plain values and that nothing listens to (_plain_attributes), setting
    the instance's dictionary leaves it exactly as from_db would, the fields not named deferred.
    """
    if not _plain_attributes(model):
        return model.from_db(using, names, values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(names, values, strict=True))
    state = instance._state = ModelState()
    state.adding, state.db = False, using
    return instance


def instance_fields(*models) -> tuple:
    """The concrete fields of ``models`` side by side, in each model's order: the ``fields`` of a
    statement that selects them all (columns_of writes its column list), for instances_of."""
    return tuple(f for model in models for f in model._meta.concrete_fields)


def instances_of(row: tuple, *models, using: str = DEFAULT_DB_ALIAS) -> tuple:
    """One instance of each of ``models`` from a converted row of instance_fields(*models).

    What ``select_related`` gives, without compiling a queryset on every call; the caller links
    the instances it needs linked.
    """
    found, start = [], 0
    for model in models:
        fields = model._meta.concrete_fields
        found.append(instance_from_db(model, using, [f.attname for f in fields], row[start:start + len(fields)]))
        start += len(fields)
    return tuple(found)


def columns_of(model, alias: str) -> str:
    """``model``'s concrete columns as ``alias."column", ...``, in the model's order."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


@functools.cache
def _by_id_sql(model, vendor: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields)
    return f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = %s"


def record_by_id(model, pk):
    """The ``model`` row with primary key ``pk`` as an instance, or None (one prepared statement)."""
    return select_instance(model, _by_id_sql(model, connections[DEFAULT_DB_ALIAS].vendor), [pk])
