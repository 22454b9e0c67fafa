"""Order submission and quotes over REST, against a bare DRF insert, served by the same gunicorn in one run.

    .venv/bin/python bench/order_submit.py [--database-url postgres://.../hub_bench_process]

Goals (issue 4):

* ``POST /api/v1/orders`` with 5 lines and an ``Idempotency-Key`` (key claim, checks, pricing,
  credit decision under the account's row lock, reservation under position row locks, the
  events in the outbox, the stored response) reaches at least 0.35 of the bare endpoint's
  requests per second with 16 clients, and its p99 stays under 150 ms;
* ``POST /api/v1/pricing/quote`` with 20 lines answers within 50 ms at p95 (measured with as many
  clients as workers: the call's own cost, not the queue in front of it; 16 clients shown too).

The database is dropped, created and migrated each run; the data is built with the ORM.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

GOAL_RATIO = 0.35
GOAL_ORDER_P99_MS = 150.0
GOAL_QUOTE_P95_MS = 50.0
CUSTOMERS = 200  # orders rotate over these; each order takes its account's credit lock
PRODUCTS = 40
ORDER_LINES = 5
QUOTE_LINES = 20
DEFAULT_URL = os.environ.get("BENCH_PROCESS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench_process")


def _build() -> tuple[str, list[dict], list[dict]]:
    """Systems, accounts, catalogue, prices, plenty of stock; returns (key, order requests, quote requests)."""
    from django.utils import timezone

    from canonical.context import Actor
    from canonical.models import (
        ContractPrice,
        Customer,
        CustomerGroup,
        Domain,
        InventoryPosition,
        Location,
        PriceList,
        PriceListItem,
        Product,
        System,
        SystemOfRecord,
    )
    from governance.services import api_key_issue, consumer_create

    erp = System.objects.create(code="erp", name="ERP", kind="erp")
    crm = System.objects.create(code="crm", name="CRM", kind="crm")
    System.objects.create(code="wms", name="Warehouse", kind="wms")
    for domain in Domain.values:
        SystemOfRecord.objects.create(domain=domain, system=erp)
    consumer = consumer_create(name="bench-crm", system=crm, actor=Actor.hub())
    key = api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key

    group = CustomerGroup.objects.create(code="contractors", name="Contractors")
    customers = [
        Customer(account_number=f"B-{i:04d}", name=f"Bench customer {i}", credit_limit=Decimal("1000000000"),
                 group=group if i % 3 == 0 else None)
        for i in range(CUSTOMERS)
    ]
    for customer in customers:
        customer.save()
    locations = [Location.objects.create(code=f"wh-{name}", name=f"{name} DC") for name in ("east", "west", "south")]
    products = [Product.objects.create(sku=f"BENCH-{i:03d}", description=f"Bench product {i}") for i in range(PRODUCTS)]
    price_list = PriceList.objects.create(code="list-usd", name="List", currency="USD", is_default=True)
    today = timezone.localdate()
    now = timezone.now()
    for i, product in enumerate(products):
        PriceListItem.objects.create(price_list=price_list, product=product, unit_price=Decimal("10.00") + i)
        PriceListItem.objects.create(price_list=price_list, product=product, min_quantity=50,
                                     unit_price=Decimal("9.00") + i)
        if i % 4 == 0:
            ContractPrice.objects.create(customer_group=group, product=product, unit_price=Decimal("8.50") + i,
                                         valid_from=today)
        for location in locations:
            InventoryPosition.objects.create(product=product, location=location, on_hand=Decimal("100000000"),
                                             last_updated_at=now)
    for customer in customers[::5]:
        ContractPrice.objects.create(customer=customer, product=products[1], unit_price=Decimal("7.00"),
                                     valid_from=today)

    headers = {"Authorization": f"Bearer {key}"}
    orders = []
    for i, customer in enumerate(customers):
        lines = [{"sku": products[(i + j * 7) % PRODUCTS].sku, "quantity": str(1 + (i + j) % 4)}
                 for j in range(ORDER_LINES)]
        orders.append({
            "method": "POST", "path": "/api/v1/orders",
            "body": json.dumps({"customer": customer.pk, "customer_po": "PO-{n}", "lines": lines}),
            "headers": {**headers, "Idempotency-Key": '"bench-order-{n}"'},
        })
    quotes = []
    for i, customer in enumerate(customers[:20]):
        lines = [{"sku": products[(i + j) % PRODUCTS].sku, "quantity": str(1 + j * 5)} for j in range(QUOTE_LINES)]
        quotes.append({"method": "POST", "path": "/api/v1/pricing/quote",
                       "body": json.dumps({"customer": customer.pk, "lines": lines}), "headers": headers})
    return key, orders, quotes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL database to (re)create")
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices per endpoint (default 3)")
    common.add_load_arguments(parser)
    args = parser.parse_args(argv)

    common.database_fresh(args.database_url)
    key, orders, quotes = _build()
    bare = common.bare_requests(key)
    common.release_connections()

    load = {"clients": args.clients, "warmup": args.warmup, "duration": args.duration}
    with common.Gunicorn(args.database_url, workers=args.workers) as server:
        baseline, submitted = common.load_interleaved(
            server, [("bare: POST /bench/bare/rows", bare),
                     (f"order: POST /api/v1/orders ({ORDER_LINES} lines, Idempotency-Key)", orders)],
            rounds=args.rounds, cpu=common.server_cpu(server), **load,
        )
        quote_own = common.load(server, f"quote: {QUOTE_LINES} lines, {args.workers} clients", quotes,
                                clients=args.workers, warmup=args.warmup, duration=args.duration)
        quote_busy = common.load(server, f"quote: {QUOTE_LINES} lines, {args.clients} clients", quotes,
                                 clients=args.clients, warmup=1.0, duration=args.duration)

    common.print_header("Order submission and quote over REST vs a bare DRF insert", workers=args.workers, **load)
    print(f"   order and bare measured in {args.rounds} alternating slices each; the quote after them")
    print("   baseline: POST /bench/bare/rows, a DRF CreateAPIView inserting one row, same API-key authentication")
    print(f"   order: {CUSTOMERS} accounts in rotation, {PRODUCTS} products at 3 warehouses with ample stock, a new "
          "Idempotency-Key per request; each order is priced, credit-checked, reserved and written with its events")
    common.print_table([baseline, submitted, quote_own, quote_busy])
    for m in (baseline, submitted):
        parts = m.cpu_ms_per_request()
        print(f"   CPU per request, {m.label.split(':')[0]}: {sum(parts.values()):.2f} ms ("
              + ", ".join(f"{part} {ms:.2f}" for part, ms in parts.items()) + ")")
    cpu_ratio = sum(baseline.cpu_ms_per_request().values()) / sum(submitted.cpu_ms_per_request().values())
    print(f"   CPU ratio bare/order = {cpu_ratio:.2f}: the req/s ratio the two would have on a machine doing "
          "nothing else (steadier than req/s when other work takes the cores)")
    ratio = submitted.rps / baseline.rps if baseline.rps else 0.0
    order_p99 = submitted.percentile_ms(99)
    passed = ratio >= GOAL_RATIO and order_p99 < GOAL_ORDER_P99_MS
    print(f"   req/s ratio order/bare = {ratio:.2f} (goal >= {GOAL_RATIO}), order p99 = {order_p99:.1f} ms "
          f"(goal < {GOAL_ORDER_P99_MS:.0f})   {common.verdict(passed, baseline, submitted)}")
    quote_p95 = quote_own.percentile_ms(95)
    print(f"   quote ({QUOTE_LINES} lines) p95 = {quote_p95:.1f} ms with {args.workers} clients "
          f"(goal < {GOAL_QUOTE_P95_MS:.0f})   {common.verdict(quote_p95 < GOAL_QUOTE_P95_MS, quote_own)}")
    print(f"   (with {args.clients} clients, queueing included: quote p95 = {quote_busy.percentile_ms(95):.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
