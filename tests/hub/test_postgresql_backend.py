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
