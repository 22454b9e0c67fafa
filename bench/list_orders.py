"""Order list pages with a million orders loaded: a filtered page (customer + status + updated_since).

    .venv/bin/python bench/list_orders.py [--orders 1000000] [--reuse-db] [--database-url ...]

Goal (issue 2): the filtered page's p95 is under 100 ms. The orders come from
``manage.py seed_demo --scale N`` in a database of the benchmark's own; with
--reuse-db an existing database that already holds the orders is used as is.

Two loads are measured per page: ``clients == workers`` (every request is served
at once, so the latency is the page's own cost) and 16 clients (the throughput
run, where a request also waits for the ones queued ahead of it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

GOAL_P95_MS = 100.0
DEFAULT_URL = os.environ.get("BENCH_ORDERS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench_orders")
QUERY_VARIANTS = 24  # distinct (customer, status, updated_since) pages the clients rotate over


def _order_count(url: str) -> int:
    if not common.database_exists(url):
        return 0
    import psycopg

    try:
        with common.pg_connect(url, dbname=common.database_name(url)) as conn:
            # The planner's estimate is instant on a million rows and close enough to decide on reuse.
            row = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'canonical_order'").fetchone()
            return max(int(row[0]), 0) if row else 0
    except psycopg.Error:
        return 0


def _load_orders(url: str, orders: int) -> None:
    command = [str(common.VENV_BIN / "python"), "manage.py", "seed_demo", "--scale", str(orders)]
    help_text = subprocess.run(
        [str(common.VENV_BIN / "python"), "manage.py", "help", "seed_demo"], cwd=common.REPO,
        env=common.server_environment(url), capture_output=True, text=True,
    )
    if help_text.returncode != 0 or "--scale" not in help_text.stdout:
        raise SystemExit("manage.py seed_demo --scale is not available in this checkout; it loads the orders.\n"
                         + help_text.stderr[-600:])
    print(f"Loading {orders:,} orders: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    subprocess.run(command, cwd=common.REPO, env=common.server_environment(url), check=True)
    print(f"Loaded in {time.monotonic() - started:.0f} s", flush=True)


def _filtered_pages(key: str) -> tuple[list[dict], str]:
    """Pages for the customers with the most orders, each in its commonest status, changed since a recent time."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH busiest AS (
                SELECT customer_id FROM canonical_order GROUP BY customer_id ORDER BY count(*) DESC LIMIT %s
            ), per_status AS (
                SELECT o.customer_id, o.status, count(*) AS n,
                       percentile_disc(0.5) WITHIN GROUP (ORDER BY o.updated_at) AS median_updated,
                       row_number() OVER (PARTITION BY o.customer_id ORDER BY count(*) DESC) AS rank
                FROM canonical_order o JOIN busiest b USING (customer_id)
                GROUP BY o.customer_id, o.status
            )
            SELECT customer_id, status, n, median_updated FROM per_status WHERE rank = 1 ORDER BY n DESC
            """,
            [QUERY_VARIANTS],
        )
        rows = cursor.fetchall()
    if not rows:
        raise SystemExit("The database holds no orders.")
    headers = {"Authorization": f"Bearer {key}"}
    pages = []
    for customer_id, status, _count, since in rows:
        query = urlencode({"customer": customer_id, "status": status, "updated_since": since.isoformat()})
        pages.append({"method": "GET", "path": f"/api/v1/orders?{query}", "headers": headers})
    sizes = ", ".join(str(row[2]) for row in rows[:5])
    note = (f"{len(pages)} filtered pages rotating over the busiest customers, each in its commonest status, "
            f"updated_since = the median change time of those orders (matching orders per customer: {sizes}, ...)")
    return pages, note


def _reader_key() -> str:
    """A key for an ERP consumer (reads every domain), made for the benchmark."""
    from canonical.context import Actor
    from canonical.models import System
    from governance.services import api_key_issue, consumer_create

    system = System.objects.filter(kind="erp").order_by("pk").first()
    if system is None:
        system = System.objects.create(code="bench-erp", name="Bench ERP", kind="erp")
    consumer = consumer_create(name=f"bench-reader-{time.time_ns()}", system=system, actor=Actor.hub())
    return api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL database for the orders")
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders to load (default %(default)s)")
    parser.add_argument("--reuse-db", action="store_true", help="use the database as it is if it holds the orders")
    common.add_load_arguments(parser)
    args = parser.parse_args(argv)

    present = _order_count(args.database_url)
    reuse = args.reuse_db and present >= 0.95 * args.orders
    if args.reuse_db and not reuse:
        print(f"--reuse-db: the database holds about {present:,} orders, fewer than {args.orders:,}; loading.")
    if not reuse:
        common.database_recreate(args.database_url)
    common.django_setup(args.database_url)
    common.migrate()
    if not reuse:
        _load_orders(args.database_url, args.orders)
    # Planner statistics, as autovacuum would gather after a bulk load; stale ones turn the line and
    # external-ref lookups of a page into sequential scans.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    key = _reader_key()
    filtered, note = _filtered_pages(key)
    from canonical.models import Order

    total = Order.objects.count()
    unfiltered = [{"method": "GET", "path": "/api/v1/orders", "headers": {"Authorization": f"Bearer {key}"}}]
    common.release_connections()

    measurements = {}
    with common.Gunicorn(args.database_url, workers=args.workers) as server:
        for clients in (args.workers, args.clients):
            load = {"clients": clients, "warmup": args.warmup, "duration": args.duration}
            measurements[("filtered", clients)] = common.load(
                server, f"filtered page, {clients:2d} clients", filtered, **load)
            measurements[("first", clients)] = common.load(
                server, f"unfiltered first page, {clients:2d} clients", unfiltered, **load)

    common.print_header(f"Order list pages with {total:,} orders", workers=args.workers, clients=args.clients,
                        warmup=args.warmup, duration=args.duration)
    print(f"   GET /api/v1/orders?customer=..&status=..&updated_since=.. (50 per page, lines and external refs "
          f"included); {note}")
    print("   unfiltered: GET /api/v1/orders, the first page (newest change first)")
    order = [("filtered", args.workers), ("first", args.workers), ("filtered", args.clients),
             ("first", args.clients)]
    common.print_table([measurements[k] for k in order])
    for clients in (args.workers, args.clients):
        m = measurements[("filtered", clients)]
        p95 = m.percentile_ms(95)
        label = "page cost, no queueing" if clients == args.workers else "under load, queueing included"
        print(f"   filtered page p95 = {p95:.1f} ms at {clients} clients ({label})   goal < {GOAL_P95_MS:.0f} ms   "
              f"{common.verdict(p95 < GOAL_P95_MS, m)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
