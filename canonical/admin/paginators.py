"""A changelist paginator for tables that grow to millions of rows.

Django's admin counts the whole (filtered) table on every changelist page. On an
orders or events table with millions of rows that COUNT(*) costs more than the
page itself. This paginator never counts past a fixed limit:

- unfiltered, on PostgreSQL, it reads the planner's row estimate (pg_class.reltuples),
  which costs nothing and is close enough to draw page links;
- otherwise it counts at most ``exact_count_limit + 1`` rows
  (``SELECT COUNT(*) FROM (SELECT id ... LIMIT n)``), so the cost is bounded
  however many rows match.

The changelist shows "about N" or "more than N" when the number is not exact
(templates/admin/pagination.html).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    exact_count_limit = 10_000

    count_is_estimate = False
    count_is_capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if _is_unfiltered(queryset):
            estimate = _table_row_estimate(queryset)
            # Below the limit an exact (bounded) count is cheap, and the planner's
            # estimate for small or never-analysed tables is often far off.
            if estimate is not None and estimate > self.exact_count_limit:
                self.count_is_estimate = True
                return estimate
        bounded = queryset.order_by().values("pk")[: self.exact_count_limit + 1].count()
        if bounded > self.exact_count_limit:
            self.count_is_capped = True
            return self.exact_count_limit
        return bounded

    @property
    def count_qualifier(self) -> str:
        if self.count_is_estimate:
            return "about"
        if self.count_is_capped:
            return "more than"
        return ""


def _is_unfiltered(queryset) -> bool:
    query = getattr(queryset, "query", None)
    if query is None:
        return False
    return not query.where and not query.distinct and not query.combinator and query.low_mark == 0 \
        and query.high_mark is None


def _table_row_estimate(queryset) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    # reltuples is -1 (PostgreSQL 14+) or 0 for a table that was never vacuumed or analysed.
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])
