"""Outbox lag: events written at a steady 200/s for 60 s, delivered by a django-q2 cluster; recorded → delivered.

    .venv/bin/python bench/outbox_lag.py [--database-url postgres://.../hub_bench_lag] [--rate 200] [--duration 60]

Goal (issue 3): at a steady 200 events/s for 60 s, the p99 lag from an event being recorded to
its delivery is under 1 s. A separate writer process writes the events as the hub's services do:
one transaction per event, through ``canonical.services.events.event_record``, paced to the rate
(it never skips: if it falls behind it writes at once, and says so); its threads (4, each with
its own connection, like the hub's web workers) share the schedule. Meanwhile the cluster (2
django-q2 workers, each holding a dispatcher loop, as in bench/delivery_throughput.py) relays and
delivers them to the loopback receiver (bench/receiver.py).

The lag of an event is measured two ways, on the same machine's clock:

* recorded → delivered: the delivery's ``delivered_at`` (written by the dispatcher after the
  receiver answered) minus the event's ``recorded_at``: the hub's own record, the goal's figure;
* recorded → received: when the receiver had the whole request, minus ``recorded_at``.

The database is dropped, created and migrated each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, outbound  # noqa: E402

GOAL_P99_SECONDS = 1.0
RATE = 200.0
DURATION = 60.0
AGGREGATES = 500  # orders the events rotate over (a multiple of WRITER_THREADS)
WRITER_THREADS = 4
WARMUP_EVENTS = 300
FIRST_N = 1_000_000  # the writer's event numbers start here (the warm-up's below)
DEFAULT_URL = os.environ.get("BENCH_LAG_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench_lag")


# --- the writer (a process of its own) ------------------------------------------------------------


def writer(url: str, rate: float, duration: float, threads: int) -> dict:
    """Write ``rate`` × ``duration`` events on a fixed schedule, each in its own transaction.

    Event i is due at start + i/rate and is written by thread i % threads (its own database
    connection, as the hub's web workers each have one), so one slow write does not hold up the
    schedule. Events rotate over AGGREGATES orders, a multiple of ``threads``: each order is only
    ever written by one thread, as a row lock would ensure in a real service.
    """
    import threading

    common.django_setup(url)
    from django.db import connection, transaction

    total = int(round(rate * duration))
    lateness: list[float] = [0.0] * total
    write_seconds: list[float] = [0.0] * total
    ids: list[int] = [0] * total
    errors: list[str] = []
    start = time.perf_counter() + 0.5

    def work(k: int) -> None:
        try:
            connection.ensure_connection()
            for i in range(k, total, threads):
                due = start + i / rate
                now = time.perf_counter()
                if now < due:
                    time.sleep(due - now)
                    now = time.perf_counter()
                lateness[i] = now - due
                with transaction.atomic():
                    ids[i] = outbound.event_write(FIRST_N + i, aggregates=AGGREGATES).pk
                write_seconds[i] = time.perf_counter() - now
        except Exception as exc:  # noqa: BLE001 - reported by the harness
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if errors:
        raise SystemExit(f"the writer failed: {errors[0]}")
    elapsed = time.perf_counter() - start
    return {
        "written": total, "first_id": min(ids), "last_id": max(ids), "seconds": elapsed, "threads": threads,
        "late_p99": common.percentile(lateness, 99), "late_max": max(lateness),
        "write_p50": common.percentile(write_seconds, 50), "write_p99": common.percentile(write_seconds, 99),
    }


# --- the harness -----------------------------------------------------------------------------------


def _lags(first_id: int, last_id: int, arrivals: dict[str, float]) -> tuple[list[float], list[float], int]:
    from connectors.models import Delivery

    delivered, received, missing = [], [], 0
    rows = Delivery.objects.filter(event_id__gte=first_id, event_id__lte=last_id, status="delivered").values_list(
        "event__event_id", "event__recorded_at", "delivered_at"
    )
    for event_id, recorded_at, delivered_at in rows.iterator(chunk_size=5000):
        recorded = recorded_at.timestamp()
        delivered.append(delivered_at.timestamp() - recorded)
        arrived = arrivals.get(str(event_id))
        if arrived is None:
            missing += 1
        else:
            received.append(arrived - recorded)
    return delivered, received, missing


def _line(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"   {label:26s} p50 {common.percentile(ms, 50):7.1f} ms   p95 {common.percentile(ms, 95):7.1f} ms   "
            f"p99 {common.percentile(ms, 99):7.1f} ms   max {max(ms) if ms else float('nan'):7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL database to (re)create")
    parser.add_argument("--rate", type=float, default=RATE, help="events per second (default %(default)s)")
    parser.add_argument("--duration", type=float, default=DURATION, help="seconds of writing (default %(default)s)")
    parser.add_argument("--ordered", action="store_true", help="an ordered subscription instead of an unordered one")
    parser.add_argument("--writer-threads", type=int, default=WRITER_THREADS,
                        help="threads of the writer process, each with its own connection (default %(default)s)")
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.writer_threads < 1 or AGGREGATES % args.writer_threads:
        parser.error(f"--writer-threads must divide {AGGREGATES}")

    os.environ.update(outbound.cluster_environment())
    if args.writer:
        json.dump(writer(args.database_url, args.rate, args.duration, args.writer_threads), sys.stdout)
        return 0

    common.database_fresh(args.database_url)

    from django.db import transaction

    from connectors.models import Delivery, DeliveryAttempt, DeliveryStatus

    with outbound.ReceiverProcess() as receiver:
        outbound.partner_create(receiver.url, ordered=args.ordered)
        common.release_connections()
        with outbound.QCluster(args.database_url) as cluster:
            outbound.dispatchers_start(cluster)
            with transaction.atomic():
                for n in range(WARMUP_EVENTS):
                    outbound.event_write(n, aggregates=AGGREGATES)
            receiver.wait_distinct(WARMUP_EVENTS, timeout=120)
            common.release_connections()
            receiver.reset()

            process = subprocess.run(
                [sys.executable, __file__, "--writer", "--database-url", args.database_url,
                 "--rate", str(args.rate), "--duration", str(args.duration),
                 "--writer-threads", str(args.writer_threads)],
                cwd=common.REPO, capture_output=True, text=True,
            )
            if process.returncode != 0:
                raise SystemExit(f"the writer failed:\n{process.stderr[-3000:]}")
            written = json.loads(process.stdout)
            receiver.wait_distinct(written["written"], timeout=120, stall=30)
            deadline = time.monotonic() + 60
            pending = Delivery.objects.filter(event_id__gte=written["first_id"]).exclude(status=DeliveryStatus.DELIVERED)
            while pending.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            arrivals = receiver.arrivals()
            stats = receiver.stats()
            delivered, received, missing = _lags(written["first_id"], written["last_id"], arrivals)
            loops = DeliveryAttempt.objects.filter(delivery__event_id__gte=written["first_id"]).values(
                "worker").distinct().count()
            common.release_connections()

    n = written["written"]
    achieved = n / written["seconds"] if written["seconds"] else 0.0
    kept_rate = achieved >= 0.99 * args.rate and written["late_p99"] < 0.1
    print()
    print(f"== Outbox lag: {args.rate:g} events/s for {args.duration:g} s, recorded -> delivered ==")
    print("   PostgreSQL; django-q2 cluster (manage.py qcluster, ORM broker) with 2 worker processes, each holding one")
    print("   dispatcher loop (HUB_Q_WORKERS=2, HUB_DISPATCHERS=2); webhook connector signing with HMAC-SHA256,")
    print(f"   {'an ordered' if args.ordered else 'an unordered'} subscription to order.*; receiver bench/receiver.py "
          "in its own process")
    print(f"   writer: a separate process with {written['threads']} threads (a connection each), one transaction per "
          "event through event_record, on a fixed schedule")
    print(f"   machine: {common.machine_load()} at the end of the run (other work on it skews the figures)")
    print(f"   writer: {n:,} events in {written['seconds']:.1f} s = {achieved:.1f}/s; behind schedule p99 "
          f"{written['late_p99'] * 1000:.1f} ms, max {written['late_max'] * 1000:.1f} ms; a write took p50 "
          f"{written['write_p50'] * 1000:.1f} ms, p99 {written['write_p99'] * 1000:.1f} ms")
    if not kept_rate:
        print(f"   ! the writer could not keep {args.rate:g}/s steadily: the hub was offered {achieved:.1f}/s")
    print(f"   delivered: {len(delivered):,} of {n:,} recorded delivered; the receiver saw {stats['distinct']:,} "
          f"of them ({stats['requests'] - stats['distinct']} repeats, {missing} recorded but not seen), "
          f"sent by {loops} dispatcher loop(s)")
    print(_line("recorded -> delivered_at", delivered))
    print(_line("recorded -> received", received))
    complete = len(delivered) == n and not missing
    p99 = common.percentile(delivered, 99)
    verdict = "INVALID (not every event was delivered; see above)" if not complete else (
        "PASS" if p99 < GOAL_P99_SECONDS else "MISS")
    if complete and not kept_rate:
        verdict += f" (at {achieved:.0f}/s, below the {args.rate:g}/s asked)"
    print(f"   p99 recorded -> delivered = {p99 * 1000:.0f} ms   goal < {GOAL_P99_SECONDS * 1000:.0f} ms   {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
