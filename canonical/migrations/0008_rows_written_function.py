"""hub_rows_written(written, statement): ``written``, or an error when it is 0 (PostgreSQL only).

A batched write that carries its transaction's COMMIT (canonical.services.inserts.writes_batched,
``commit=True``) checks with it that a statement which must write a row did, before the COMMIT in
the same message; the error stops the message there, so nothing is committed. Its SQLSTATE and
message are what canonical.services.transactions.no_row_statement recognises.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION hub_rows_written(written bigint, statement integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF written = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = format('hub: statement %s wrote no row', statement);
    END IF;
    RETURN written;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS hub_rows_written(bigint, integer)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, None)


class Migration(migrations.Migration):

    dependencies = [
        ("canonical", "0007_drop_indexes_covered_by_composites"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
