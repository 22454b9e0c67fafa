"""hub.postgresql: Django's PostgreSQL backend, reading timestamps with psycopg's compiled loader."""

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

from canonical.models import System

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend")

TIMESTAMPTZ_OID = 1184


def _loader_of(cursor):
    return cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


def test_the_hub_uses_its_backend():
    assert connection.settings_dict["ENGINE"] == "hub.postgresql"
    assert connection.vendor == "postgresql"


def test_the_compiled_loader_is_the_implementation_psycopg_loaded():
    """Another implementation's loader cannot read this one's connections (psycopg_c beside binary)."""
    from psycopg import pq

    from hub.postgresql.base import CompiledTimestamptzLoader

    assert pq.__impl__ in ("c", "binary")  # what pyproject installs
    assert CompiledTimestamptzLoader.__module__ == f"psycopg_{pq.__impl__}._psycopg"


def test_with_psycopgs_python_implementation_timestamps_are_djangos_and_read():
    """PSYCOPG_IMPL=python: no compiled loader, so Django's reads them, as before."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    from urllib.parse import quote

    script = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "from hub.postgresql.base import CompiledTimestamptzLoader\n"
        "assert CompiledTimestamptzLoader is None\n"
        "with connection.cursor() as c:\n"
        "    c.execute(\"SELECT '2026-12-07 06:30:00+00'::timestamptz\")\n"
        "    print(c.fetchone()[0].isoformat())\n"
    )
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    url = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"  # no table is read
    env = {**os.environ, "PSYCOPG_IMPL": "python", "DJANGO_SETTINGS_MODULE": "hub.settings", "DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2026-12-07T06:30:00+00:00"



@pytest.mark.django_db
def test_timestamps_are_read_by_the_compiled_loader_with_the_values_djangos_gives():
    from hub.postgresql.base import CompiledTimestamptzLoader, UtcTimestamptzLoader

    texts = ["2026-12-07 06:30:15.123456+00", "2026-06-30 23:59:59+02", "1999-12-31 19:00:00-05:30",
             "0001-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00"]
    with connection.cursor() as cursor:
        assert _loader_of(cursor) is UtcTimestamptzLoader  # Django's create_cursor registered none of its own
        cursor.execute("SELECT " + ", ".join("%s::timestamptz" for _ in texts), texts)
        values = cursor.fetchone()
        loaded = cursor.cursor._tx.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        assert type(loaded.load.__self__) is CompiledTimestamptzLoader
    assert all(value.tzinfo is datetime.UTC for value in values)
    assert values == (
        datetime.datetime(2026, 12, 7, 6, 30, 15, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 6, 30, 21, 59, 59, tzinfo=datetime.UTC),
        datetime.datetime(2000, 1, 1, 0, 30, tzinfo=datetime.UTC),
        datetime.datetime(1, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
    )


@pytest.mark.django_db
def test_models_read_their_timestamps_as_before():
    system = System.objects.create(code="tz-check", name="TZ check", kind="erp")
    again = System.objects.get(pk=system.pk)
    assert again.created_at == system.created_at
    assert again.created_at.tzinfo is datetime.UTC


@pytest.mark.django_db
def test_a_database_in_another_time_zone_keeps_djangos_loader():
    from hub.postgresql.base import DatabaseWrapper

    other = DatabaseWrapper({**connection.settings_dict, "TIME_ZONE": "Europe/Paris"}, alias="paris")
    try:
        with other.cursor() as cursor:
            assert issubclass(_loader_of(cursor), BaseTzLoader)
            cursor.execute("SELECT '2026-12-07 06:30:00+00'::timestamptz")
            [value] = cursor.fetchone()
        assert value == datetime.datetime(2026, 12, 7, 6, 30, tzinfo=datetime.UTC)
        assert str(value.tzinfo) == "Europe/Paris"
    finally:
        other.close()
