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

import hashlib
import re
import weakref

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

_PLACEHOLDER = re.compile(r"%[s%]")
# The names prepared on each raw connection; a new connection prepares them again.
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
    name = "hub_" + hashlib.sha1(sql.encode()).hexdigest()[:20]
    connection.ensure_connection()
    raw = connection.connection
    names = _prepared_on.setdefault(raw, set())
    numbered, count = _numbered(sql)
    if count != len(params):
        raise ValueError(f"The statement takes {count} parameters; {len(params)} were given.")
    if name not in names:
        with connection.cursor() as cursor:
            cursor.execute(f"PREPARE {name} AS {numbered}")
        names.add(name)
    if not count:
        return f"EXECUTE {name}", params
    return f"EXECUTE {name} ({', '.join(['%s'] * count)})", params
