"""LZ4 instead of pglz for the large values the hot paths write (PostgreSQL 14+, built with lz4).

PostgreSQL compresses a value once its row passes about 2 kB: an order's ``order.created``
payload, its stored answer, an inbound message's body. With the default method (pglz) that
compression was 3.5 % of the database's work on an order (callgrind, bench/order_submit.py's
order); lz4 does it in a fraction of the time and keeps most of the saving on disk. It applies
to values written from then on; existing ones stay as they are and read as before. On a server
without lz4, or on SQLite, the migration leaves the columns as they are.
"""

from __future__ import annotations

from django.db import migrations


def _lz4_supported(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    return row is not None and "lz4" in (row[0] or [])


def compression_set(columns: list[tuple[str, str]]) -> migrations.RunPython:
    """A migration operation that compresses ``columns`` ([(table, column)]) with lz4; reversed, pglz."""

    def apply(method: str):
        def run(apps, schema_editor):
            connection = schema_editor.connection
            if connection.vendor != "postgresql" or not _lz4_supported(connection):
                return
            quote = connection.ops.quote_name
            for table, column in columns:
                schema_editor.execute(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} SET COMPRESSION {method}")
        return run

    return migrations.RunPython(apply("lz4"), apply("pglz"), elidable=False)
