"""Rate windows are transient counters: on PostgreSQL their table is UNLOGGED.

Writes to an unlogged table produce no WAL, so counting a call does not wait for a disk flush at
commit; after a crash the table is emptied, which only starts every window again at zero.
"""

from django.db import migrations


def set_unlogged(apps, schema_editor, logged: bool = False):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("governance", "RateWindow")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} SET {'LOGGED' if logged else 'UNLOGGED'}")


def set_logged(apps, schema_editor):
    set_unlogged(apps, schema_editor, logged=True)


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_registry_subscriptions_usage_rotation")]

    operations = [migrations.RunPython(set_unlogged, set_logged)]
