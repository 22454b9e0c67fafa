"""Delivery throughput: 10,000 events through a django-q2 cluster to one receiver, against a bare httpx loop.

    .venv/bin/python bench/delivery_throughput.py [--database-url postgres://.../hub_bench_delivery]

Goal (issue 3): the hub delivers at least 0.5 of the events per second of a bare httpx loop (one
persistent httpx.Client posting the same bodies to the same receiver, one after the other) in the
same run. The hub runs as in production: ``manage.py qcluster`` with 2 worker processes, each
holding one dispatcher loop (see bench/outbound.py for what "2 django-q2 workers" means here),
relaying events to deliveries and sending them signed, with every attempt recorded.

How the time is taken: the cluster is started and warmed up (a few hundred events delivered),
then the 10,000 events are written through ``event_record`` in ONE transaction while the cluster
idles; the bare loop posts their bodies (read back from that transaction) before it commits and
again after the hub is done. The hub's clock runs from that commit to the last delivery recorded
as delivered (the latest ``delivered_at``), so the relay's work is inside it. The database is
dropped, created and migrated each run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, outbound  # noqa: E402

GOAL_RATIO = 0.5
EVENTS = 10_000
WARMUP_EVENTS = 300
DEFAULT_URL = os.environ.get("BENCH_DELIVERY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench_delivery")
PATH = "/events"


def _write_events(first: int, count: int, *, aggregates: int) -> list[int]:
    return [outbound.event_write(n, aggregates=aggregates).pk for n in range(first, first + count)]


def _undelivered(first_event_id: int) -> int:
    from connectors.models import Delivery, DeliveryStatus

    return Delivery.objects.filter(event_id__gte=first_event_id).exclude(status=DeliveryStatus.DELIVERED).count()


def _wait_recorded(first_event_id: int, *, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (left := _undelivered(first_event_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _cpu_snapshot(receiver: outbound.ReceiverProcess, *, pgid: int | None) -> dict:
    """CPU seconds so far: the receiver, and either the cluster with its database backends (``pgid``)
    or this process (the bare loop)."""
    snapshot = {"receiver": {receiver.process.pid: outbound.process_cpu(receiver.process.pid)}}
    if pgid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        snapshot["loop"] = {os.getpid(): usage.ru_utime + usage.ru_stime}
    else:
        snapshot["cluster"] = outbound.group_cpu(pgid)
        snapshot["postgres"] = outbound.backends_cpu()
    return snapshot


def _cpu_delta(before: dict, after: dict) -> dict[str, float]:
    return {name: outbound.cpu_spent(before[name], after[name]) for name in before}


def _cpu_line(parts: dict[str, float], n: int) -> str:
    total = sum(parts.values())
    detail = ", ".join(f"{name} {1000 * seconds / n:.2f}" for name, seconds in parts.items())
    return f"{1000 * total / n:.2f} ms ({detail})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL database to (re)create")
    parser.add_argument("--events", type=int, default=EVENTS, help="events delivered (default %(default)s)")
    parser.add_argument("--ordered", action="store_true",
                        help="an ordered subscription (events spread over 1,000 orders) instead of an unordered one")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on the hub after this many seconds")
    args = parser.parse_args(argv)
    aggregates = 1000 if args.ordered else args.events + WARMUP_EVENTS

    os.environ.update(outbound.cluster_environment())
    common.database_fresh(args.database_url)

    from django.db import transaction
    from django.db.models import Count, Max, Min

    from connectors.models import Delivery, DeliveryAttempt

    with outbound.ReceiverProcess() as receiver:
        outbound.partner_create(receiver.url, ordered=args.ordered)
        common.release_connections()
        with outbound.QCluster(args.database_url) as cluster:
            outbound.dispatchers_start(cluster)
            with transaction.atomic():
                warm_ids = _write_events(0, WARMUP_EVENTS, aggregates=aggregates)
            receiver.wait_distinct(WARMUP_EVENTS, timeout=120)
            if _wait_recorded(warm_ids[0], timeout=60):
                raise SystemExit(f"the warm-up events were not all delivered; see {cluster.log_path}")
            receiver.reset()

            pgid = os.getpgid(cluster.process.pid)
            with transaction.atomic():
                ids = _write_events(WARMUP_EVENTS, args.events, aggregates=aggregates)
                bodies = outbound.bodies_of(ids)
                # The first bare run, while the events are not committed yet: the cluster sees none of them.
                cpu = _cpu_snapshot(receiver, pgid=None)
                bare_first = outbound.bare_loop(receiver.url, PATH, bodies)
                bare_cpu = _cpu_delta(cpu, _cpu_snapshot(receiver, pgid=None))
                bare_first_arrived = receiver.stats()["distinct"]
                receiver.reset()
            committed_at = time.time()
            cpu = _cpu_snapshot(receiver, pgid=pgid)

            arrived = receiver.wait_distinct(args.events, timeout=args.timeout)
            left = _wait_recorded(ids[0], timeout=60)
            hub_cpu = _cpu_delta(cpu, _cpu_snapshot(receiver, pgid=pgid))
            deliveries = Delivery.objects.filter(event_id__gte=ids[0])
            figures = deliveries.aggregate(last=Max("delivered_at"), first=Min("delivered_at"), count=Count("id"))
            attempts = DeliveryAttempt.objects.filter(delivery__event_id__gte=ids[0])
            attempt_count = attempts.count()
            loops = attempts.values("worker").distinct().count()
            common.release_connections()

            receiver.reset()
            cpu = _cpu_snapshot(receiver, pgid=None)
            bare_second = outbound.bare_loop(receiver.url, PATH, bodies)
            second_cpu = _cpu_delta(cpu, _cpu_snapshot(receiver, pgid=None))
            bare_cpu = {name: seconds + second_cpu[name] for name, seconds in bare_cpu.items()}
            bare_second_arrived = receiver.stats()["distinct"]

    n = args.events
    recorded_seconds = figures["last"].timestamp() - committed_at if figures["last"] else float("nan")
    arrived_seconds = arrived["last_at"] - committed_at if arrived["last_at"] else float("nan")
    first_seconds = arrived["first_at"] - committed_at if arrived["first_at"] else float("nan")
    hub_rate = n / recorded_seconds if figures["last"] and not left else 0.0
    bare_rates = [n / bare_first, n / bare_second]
    bare_rate = sum(bare_rates) / 2
    ratio = hub_rate / bare_rate if bare_rate else 0.0
    complete = arrived["distinct"] >= n and not left and figures["count"] == n
    complete = complete and bare_first_arrived >= n and bare_second_arrived >= n

    subscription = "an ordered subscription (1,000 orders)" if args.ordered else "an unordered subscription"
    print()
    print(f"== Delivery throughput: {n:,} events to one loopback receiver ==")
    print("   PostgreSQL; django-q2 cluster (manage.py qcluster, ORM broker) with 2 worker processes, each holding one")
    print("   dispatcher loop (HUB_Q_WORKERS=2, HUB_DISPATCHERS=2: relay, claim 50 with a lease, send, record);")
    print(f"   a webhook connector signing with HMAC-SHA256, {subscription} to order.*; ~1 KB bodies")
    print("   receiver: bench/receiver.py in its own process (asyncio, keep-alive, answers 200, counts by event id)")
    print("   clock: from the commit that made the events visible (written beforehand through event_record in one")
    print("   transaction while the warm cluster idled) to the last delivery recorded delivered (latest delivered_at)")
    print(f"   machine: {common.machine_load()} at the end of the run (other work on it skews the figures)")
    print(f"   hub:  {arrived['distinct']:,} of {n:,} events arrived ({arrived['requests'] - arrived['distinct']} repeats), "
          f"{attempt_count:,} attempts recorded by {loops} dispatcher loop(s), {left} not recorded delivered")
    print(f"         first arrival {first_seconds:.2f} s, last arrival {arrived_seconds:.2f} s, last recorded "
          f"{recorded_seconds:.2f} s after the commit  ->  {hub_rate:,.0f} events/s")
    print(f"   bare: one persistent httpx.Client posting the same {n:,} bodies in a loop: before the hub "
          f"{bare_rates[0]:,.0f}/s, after it {bare_rates[1]:,.0f}/s, mean {bare_rate:,.0f}/s")
    print(f"   CPU per event (any process, whatever else the machine did): hub {_cpu_line(hub_cpu, n)}; "
          f"bare {_cpu_line(bare_cpu, 2 * n)}")
    verdict = "INVALID (not every event arrived and was recorded; see above)" if not complete else (
        "PASS" if ratio >= GOAL_RATIO else "MISS")
    print(f"   events/s ratio hub/bare = {ratio:.2f}   goal >= {GOAL_RATIO}   {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
