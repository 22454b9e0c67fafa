"""Generic plans of the hub's prepared statements, for tests that hold a hot path to index lookups.

PostgreSQL plans a prepared statement once per connection (a generic plan, made when the hub's
first requests arrive and its tables are small) and keeps that plan until the table's statistics
change. A plan that hashes or scans a whole table because it was small then goes on scanning it
as it grows, so every request costs more than the one before on a server where autovacuum has
not run. ``table_scans`` explains the statements a block ran as generic plans, on the test's
small tables, and names the growing tables any of them scans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext

_SCAN = re.compile(r"Seq Scan on (\w+)")


_TOGETHER = re.compile(r";\s+(?=EXECUTE hub_)")


@contextmanager
def prepared_statements() -> Iterator[list[str]]:
    """The ``EXECUTE hub_...`` statements run in the block (run it twice: the first run prepares them)."""
    executed: list[str] = []
    with CaptureQueriesContext(connection) as captured:
        yield executed
    # reads_together sends several in one message: each is explained on its own.
    executed.extend(statement for query in captured.captured_queries for statement in _TOGETHER.split(query["sql"])
                    if statement.startswith("EXECUTE hub_"))


def generic_plans(statements: list[str]) -> dict[str, str]:
    """Each statement's generic plan (EXPLAIN without ANALYZE runs nothing)."""
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            for sql in statements:
                cursor.execute("EXPLAIN " + sql)
                plans[sql] = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET plan_cache_mode")
    return plans


def table_scans(plans: dict[str, str], growing: tuple[str, ...]) -> dict[str, list[str]]:
    """{statement (its start): the growing tables its plan scans whole}, for the statements that scan any."""
    scans = {sql[:60]: sorted(set(_SCAN.findall(plan)) & set(growing)) for sql, plan in plans.items()}
    return {sql: tables for sql, tables in scans.items() if tables}
