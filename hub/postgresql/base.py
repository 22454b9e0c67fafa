"""Django's PostgreSQL backend, reading ``timestamptz`` values with psycopg's compiled loader.

Django registers a Python loader for ``timestamptz`` (``psycopg_any.BaseTzLoader``): it subclasses
psycopg's pure-Python loader, so every value is parsed in Python (about 3 µs a value, against
0.2 µs in psycopg's compiled loader), and then given Django's time zone. With ``USE_TZ`` and the
default ``TIME_ZONE`` of the database (UTC), Django sets the session's ``TimeZone`` to UTC, and
psycopg's compiled loader already answers in ``datetime.timezone.utc``: the same value, ten times
cheaper. An order reads about twenty of them. Any other set-up keeps Django's loader.
"""

from __future__ import annotations

import datetime

from django.db.backends.postgresql import base
from psycopg import _cmodule
from psycopg.adapt import Loader
from psycopg.types.datetime import TimestamptzLoader

# The compiled loader of the implementation psycopg itself loaded (psycopg[binary] or psycopg[c]); none
# with the pure-Python one (PSYCOPG_IMPL=python), whose connections the compiled one cannot read.
CompiledTimestamptzLoader = getattr(_cmodule._psycopg, "TimestamptzLoader", None) if _cmodule._psycopg else None


class UtcTimestamptzLoader(TimestamptzLoader):
    """psycopg's compiled ``timestamptz`` loader for a session in UTC.

    A Python class (the compiled one cannot be subclassed) that hands ``load`` to an instance of the
    compiled loader. ``timezone`` is what Django's ``create_cursor`` compares with the connection's
    time zone before it registers its own loader on a cursor.
    """

    timezone = datetime.UTC

    def __init__(self, oid, context=None):
        Loader.__init__(self, oid, context)  # the Python loader's own set-up is the compiled one's work
        self.load = CompiledTimestamptzLoader(oid, context).load


class DatabaseWrapper(base.DatabaseWrapper):
    def init_connection_state(self):
        super().init_connection_state()  # sets the session's TimeZone to timezone_name
        if self.timestamps_compiled():
            self.connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)

    def timestamps_compiled(self) -> bool:
        """True when psycopg's compiled loader gives the values Django's would: aware, in UTC."""
        return (CompiledTimestamptzLoader is not None and self.timezone is datetime.UTC
                and self.connection.info.parameter_status("TimeZone") == "UTC")
