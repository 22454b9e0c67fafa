"""Build the demo distributor (idempotent); ``--scale N`` adds N more historical orders for scale tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from canonical.demo.builder import DemoProfile, demo_build, scale_orders_add
from canonical.demo.bulk import Progress
from canonical.demo.products import catalogue_size


def _as_of(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of {value!r} is not an ISO date or date-time, e.g. 2026-01-31T12:00.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Build a believable demo distributor: systems and the system-of-record table, customer accounts, "
        "products and prices, warehouses and stock, supplier POs and historical orders with their shipments, "
        "invoices, returns, external references and events. Safe to run again: it only adds what is missing."
    )

    def add_arguments(self, parser):
        defaults = DemoProfile()
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same data.")
        parser.add_argument("--as-of", type=_as_of, default=None,
                            help="The moment the history ends (ISO date-time, UTC). Default: now, to the minute.")
        parser.add_argument("--customers", type=int, default=defaults.customers, help="Customer accounts.")
        parser.add_argument("--products", type=int, default=defaults.products, help="Products.")
        parser.add_argument("--orders", type=int, default=defaults.orders, help="Historical demo orders.")
        parser.add_argument("--scale", type=int, default=0, metavar="N",
                            help="Then add N more historical orders (each run adds N), for scale tests.")
        parser.add_argument("--scale-detail", choices=["orders", "full"], default="orders",
                            help="orders: the order aggregate only (orders, lines, reservations, references, "
                                 "events); full: also shipments, invoices, returns and drop-ship POs (slower).")
        parser.add_argument("--batch-size", type=int, default=5000, help="Scale orders per transaction.")

    def handle(self, *args, seed, as_of, customers, products, orders, scale, scale_detail, batch_size, **options):
        for name, value in (("--customers", customers), ("--products", products), ("--batch-size", batch_size)):
            if value < 1:
                raise CommandError(f"{name} must be at least 1.")
        for name, value in (("--orders", orders), ("--scale", scale)):
            if value < 0:
                raise CommandError(f"{name} cannot be negative.")
        if products > catalogue_size():
            raise CommandError(f"--products {products}: the demo catalogue has {catalogue_size()} distinct products.")
        as_of = as_of or datetime.now(UTC).replace(second=0, microsecond=0)
        started = time.monotonic()
        profile = DemoProfile(customers=customers, products=products, orders=orders)
        try:
            created = demo_build(profile=profile, seed=seed, as_of=as_of, report=self.stdout.write)
        except (LookupError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        made = ", ".join(f"{count} {part}" for part, count in created.items() if count)
        self.stdout.write(
            f"Demo distributor ready in {time.monotonic() - started:.1f}s "
            + (f"(created {made})." if made else "(everything was already there).")
        )
        if scale:
            progress = Progress(scale, "scale orders", stream=self.stderr)
            added = scale_orders_add(count=scale, seed=seed, as_of=as_of, batch_size=batch_size,
                                     full=scale_detail == "full", progress=progress)
            elapsed = progress.finish()
            self.stdout.write(f"Added {added:,} scale orders in {elapsed:.1f}s ({added / max(elapsed, 1e-9):,.0f}/s).")
