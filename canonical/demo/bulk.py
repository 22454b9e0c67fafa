"""Fast row writing for the demo history: COPY on PostgreSQL, executemany elsewhere.

The history loader writes rows it has already shaped (historical timestamps
included, which ``bulk_create`` would overwrite with "now" for auto_now fields),
so it needs primary keys before inserting: ``IdPool`` takes them from the
table's sequence on PostgreSQL, and from MAX(id) on SQLite, where the batch's
IMMEDIATE transaction holds the write lock so no one else can take them.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from functools import partial

from django.core.management.base import OutputWrapper
from django.db import connection, models, transaction

POSTGRES = "postgresql"


class Table:
    """A model's columns, in the order the builders produce row tuples."""

    def __init__(self, model: type[models.Model], fields: Sequence[str]):
        self.model = model
        self.fields = tuple(fields)
        meta = model._meta
        self.model_fields = [meta.get_field(name) for name in self.fields]
        self.db_table = meta.db_table
        self.columns = [field.column for field in self.model_fields]
        self.json_positions = [i for i, f in enumerate(self.model_fields) if isinstance(f, models.JSONField)]

    def __repr__(self) -> str:
        return f"Table({self.model.__name__})"


class IdPool:
    """Primary keys for rows written with explicit ids, handed out one at a time."""

    def __init__(self, model: type[models.Model], *, block: int = 20_000):
        self.model = model
        self.block = block
        self._ids: list[int] = []
        self._next: int | None = None

    def new_transaction(self) -> None:
        """Forget the MAX(id) read under the previous transaction's lock (sequence ids stay valid)."""
        self._next = None

    def take(self) -> int:
        if connection.vendor == POSTGRES:
            if not self._ids:
                self._ids = self._reserve_postgres(self.block)
                self._ids.reverse()
            return self._ids.pop()
        if self._next is None:
            if not transaction.get_connection().in_atomic_block:
                raise RuntimeError("IdPool outside PostgreSQL needs the batch's transaction to hold the write lock.")
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(self.model._meta.db_table)}")
                self._next = (cursor.fetchone()[0] or 0) + 1
        taken, self._next = self._next, self._next + 1
        return taken

    def _reserve_postgres(self, count: int) -> list[int]:
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
            return [row[0] for row in cursor.fetchall()]


def insert_rows(table: Table, rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in ``table.fields`` order) in one statement stream."""
    if not rows:
        return
    if connection.vendor == POSTGRES:
        _copy(table, rows)
    else:
        _executemany(table, rows)


def _copy(table: Table, rows: list[tuple]) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in table.columns)
    statement = f"COPY {quote(table.db_table)} ({columns}) FROM STDIN"
    json_positions = table.json_positions
    with connection.cursor() as cursor:
        with cursor.cursor.copy(statement) as copy:
            if json_positions:
                for row in rows:
                    row = list(row)
                    for i in json_positions:
                        row[i] = json.dumps(row[i], separators=(",", ":"))
                    copy.write_row(row)
            else:
                for row in rows:
                    copy.write_row(row)


def _executemany(table: Table, rows: list[tuple]) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in table.columns)
    placeholders = ", ".join(["%s"] * len(table.columns))
    statement = f"INSERT INTO {quote(table.db_table)} ({columns}) VALUES ({placeholders})"
    if connection.vendor == "sqlite":
        converters = [(i, convert) for i, f in enumerate(table.model_fields) if (convert := _sqlite_converter(f))]
        prepared = []
        for row in rows:
            row = list(row)
            for i, convert in converters:
                if row[i] is not None:
                    row[i] = convert(row[i])
            prepared.append(row)
    else:
        fields = table.model_fields
        prepared = [
            [field.get_db_prep_save(value, connection) for field, value in zip(fields, row, strict=True)]
            for row in rows
        ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, prepared)


def _naive_utc(value: datetime.datetime) -> str:
    return str(value.astimezone(datetime.UTC).replace(tzinfo=None))


def _sqlite_converter(field: models.Field):
    """The value Django's SQLite backend would store, for the types the demo writes, without per-value lookups.

    Integers, text, booleans and decimal text pass through as they are.
    """
    if isinstance(field, models.DateTimeField):
        return _naive_utc
    if isinstance(field, models.DateField):
        return str
    if isinstance(field, models.UUIDField):
        return lambda value: value.hex if isinstance(value, uuid.UUID) else value.replace("-", "")
    if isinstance(field, models.JSONField):
        return json.dumps
    return None


class RowBatch:
    """Rows of one batch, per table, flushed parents first."""

    def __init__(self, tables: Iterable[Table]):
        self.order = list(tables)
        self.rows: dict[Table, list[tuple]] = {table: [] for table in self.order}

    def add(self, table: Table, row: tuple) -> None:
        self.rows[table].append(row)

    def count(self, table: Table) -> int:
        return len(self.rows[table])

    def flush(self) -> dict[str, int]:
        written = {}
        for table in self.order:
            rows = self.rows[table]
            insert_rows(table, rows)
            written[table.model.__name__] = len(rows)
            rows.clear()
        return written


class Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise."""

    def __init__(self, total: int, label: str, *, stream=None, width: int = 30):
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        # A command's OutputWrapper would end each write with a newline and colour stderr red.
        if isinstance(self.stream, OutputWrapper):
            self._write = partial(self.stream.write, ending="", style_func=str)
        else:
            self._write = self.stream.write

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self._tty:
            if now - self._last_draw >= 0.25 or self.done >= self.total:
                self._last_draw = now
                self._write("\r" + self._line(now))
                self.stream.flush()
        else:
            decile = self.done * 10 // self.total
            if decile != self._last_decile:
                self._last_decile = decile
                self._write(self._line(now) + "\n")
                self.stream.flush()

    def finish(self) -> float:
        elapsed = time.monotonic() - self.started
        if self._tty:
            self._write("\r" + self._line(time.monotonic()) + "\n")
            self.stream.flush()
        return elapsed

    def _line(self, now: float) -> str:
        fraction = min(self.done / self.total, 1.0)
        filled = int(fraction * self.width)
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate else 0
        bar = "#" * filled + "." * (self.width - filled)
        return (
            f"{self.label} [{bar}] {fraction:4.0%} {self.done:,}/{self.total:,} "
            f"{rate:,.0f}/s elapsed {_clock(elapsed)} eta {_clock(remaining)}"
        )


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
