"""What the delivery benchmarks share: the receiver process, a django-q2 cluster, the partner, the events.

bench/delivery_throughput.py and bench/outbox_lag.py run the hub's outbound path as in production:
``manage.py qcluster`` (django-q2, ORM broker on the benchmark's PostgreSQL database) runs the
dispatcher loops of connectors.tasks, which relay events to deliveries and send them with httpx to
one webhook connector, signed with HMAC-SHA256. The partner is bench/receiver.py in a process of
its own. Call ``common.django_setup(url)`` (after ``cluster_environment()`` is in os.environ)
before anything here that touches the database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench import common

# "2 django-q2 workers": the cluster runs two worker processes (HUB_Q_WORKERS=2) and two dispatcher
# seats (HUB_DISPATCHERS=2), so each worker holds one dispatcher loop for its whole life (55 s, then
# its successor takes the seat). The cluster's own sentinel, pusher and monitor processes run too.
# The production default is HUB_DISPATCHERS + 1 workers, the extra one for the other schedules
# (heartbeat, inbound sweeper); those are not scheduled here, so no worker is taken from delivery.
Q_WORKERS = 2
DISPATCHERS = 2
SIGNING_SECRET_ENV = "BENCH_SIGNING_SECRET"
SIGNING_SECRET = "bench-signing-secret-0123456789"


def cluster_environment(*, workers: int = Q_WORKERS, dispatchers: int = DISPATCHERS) -> dict[str, str]:
    return {
        "HUB_Q_WORKERS": str(workers),
        "HUB_DISPATCHERS": str(dispatchers),
        "HUB_LOG_LEVEL": "WARNING",
        SIGNING_SECRET_ENV: SIGNING_SECRET,
    }


# --- the receiver -------------------------------------------------------------------------------


class ReceiverProcess:
    """bench/receiver.py on a free loopback port, started and stopped by this process."""

    def __init__(self) -> None:
        self.port = common.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ReceiverProcess:
        self.process = subprocess.Popen([sys.executable, str(common.REPO / "bench" / "receiver.py"), str(self.port)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.stats()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"the receiver exited with {self.process.returncode}") from None
                time.sleep(0.05)
        raise SystemExit("the receiver did not answer within 15 s")

    def _call(self, path: str, method: str = "GET"):
        request = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self._call("/__stats")

    def arrivals(self) -> dict[str, float]:
        return self._call("/__arrivals")

    def reset(self) -> None:
        self._call("/__reset", "POST")

    def wait_distinct(self, count: int, *, timeout: float, stall: float = 60.0, poll: float = 0.05) -> dict:
        """Poll until ``count`` distinct events arrived; stop early when nothing new came for ``stall`` s."""
        deadline = time.monotonic() + timeout
        last, last_change = -1, time.monotonic()
        while True:
            stats = self.stats()
            if stats["distinct"] >= count:
                return stats
            now = time.monotonic()
            if stats["distinct"] != last:
                last, last_change = stats["distinct"], now
            if now >= deadline or now - last_change >= stall:
                return stats
            time.sleep(poll)

    def __exit__(self, *exc_info) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


# --- the django-q2 cluster ----------------------------------------------------------------------


class QCluster:
    """``manage.py qcluster`` in a session of its own (so its worker processes stop with it)."""

    def __init__(self, url: str, *, workers: int = Q_WORKERS, dispatchers: int = DISPATCHERS):
        self.url = url
        self.env = {**common.server_environment(url), **cluster_environment(workers=workers, dispatchers=dispatchers)}
        self.workers = workers
        self.process: subprocess.Popen | None = None
        common.LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = common.LOG_DIR / f"qcluster-{Path(sys.argv[0]).stem}.log"

    def __enter__(self) -> QCluster:
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=common.REPO, env=self.env, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __exit__(self, *exc_info) -> None:
        # The dispatcher loops run up to 55 s; a benchmark that is done does not wait for them.
        if self.alive():
            pgid = os.getpgid(self.process.pid)
            os.killpg(pgid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        self.log.close()


def dispatchers_start(cluster: QCluster, *, timeout: float = 90.0) -> None:
    """Create the dispatcher schedules and queue each seat's first loop now, then wait until every
    seat is held by a running loop.

    The schedules alone would do it too, but django-q2's scheduler first looks at them 30 s after
    the cluster starts; queueing the loop is exactly what the schedule would do (a later scheduled
    start finds the seat taken and returns at once).
    """
    from django.conf import settings
    from django.core.cache import cache
    from django_q.tasks import async_task

    from connectors.tasks import DISPATCH_FUNC, LOOP_SECONDS, _seat_key, ensure_dispatch_schedules

    ensure_dispatch_schedules()
    seats = range(1, settings.HUB_DISPATCHERS + 1)
    for seat in seats:
        async_task(DISPATCH_FUNC, seconds=LOOP_SECONDS, seat=seat, task_name=f"dispatcher seat {seat}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not cluster.alive():
            raise SystemExit(f"the django-q2 cluster exited; see {cluster.log_path}")
        if all(cache.get(_seat_key(seat)) for seat in seats):
            return
        time.sleep(0.2)
    raise SystemExit(f"the dispatcher loops did not start within {timeout:.0f} s; see {cluster.log_path}")


# --- the partner and the events -----------------------------------------------------------------


def partner_create(receiver_url: str, *, ordered: bool = False):
    """A webhook connector to the receiver, HMAC-signed, and one subscription to every order event."""
    from canonical.models import System
    from connectors.models import Connector, Subscription

    system = System.objects.create(code="bench-partner", name="Bench partner", kind="ecommerce")
    connector = Connector.objects.create(
        code="bench-partner", name="Bench partner", system=system, kind="webhook", direction="outbound",
        base_url=receiver_url, auth_type="hmac", signing_secret_ref=f"env:{SIGNING_SECRET_ENV}",
        timeout_seconds=10.0, breaker_failure_threshold=1000,
    )
    return Subscription.objects.create(
        name="bench order events", connector=connector, event_types=["order.*"], ordered=ordered, path="/events",
    )


def order_payload(n: int) -> dict:
    """An order as the hub's order events carry it (about 900 bytes as JSON), unique per ``n``."""
    return {
        "order": {
            "id": n, "number": f"SO-BENCH-{n:07d}", "status": "confirmed", "currency": "USD",
            "customer": {"id": 1 + n % 500, "account_number": f"C{1 + n % 500:05d}", "name": "Bench Customer"},
            "ship_to": {"line1": "100 Main Street", "city": "Dallas", "region": "TX", "postal_code": "75201",
                        "country": "US"},
            "placed_at": "2030-01-01T12:00:00+00:00", "requested_date": "2030-01-08",
            "total": "1234.50", "source_system": "erp", "external_refs": [{"system": "erp", "external_id": str(n)}],
            "lines": [
                {"line_number": i, "sku": f"SKU-{(n + i) % 1000:04d}", "description": "Bench product",
                 "quantity_ordered": "10", "quantity_shipped": "0", "unit_price": "41.15", "uom": "EA"}
                for i in (1, 2, 3)
            ],
        },
        "changed": ["status"],
    }


def event_write(n: int, *, aggregates: int, correlation_id: str = ""):
    """One order event through the canonical service (the caller holds the transaction)."""
    from canonical.context import Actor
    from canonical.services.events import event_record

    return event_record(
        event_type="order.updated", aggregate_type="order", aggregate_id=1 + n % aggregates,
        payload=order_payload(n), actor=Actor.hub(correlation_id=correlation_id or f"bench-{n}"),
    )


def bodies_of(event_ids: list[int]) -> list[tuple[str, bytes]]:
    """(event id, the exact body the webhook transport sends) for each event, read back from the database."""
    from canonical.models import BusinessEvent
    from connectors.kinds.http import event_envelope, json_body

    events = BusinessEvent.objects.filter(pk__in=event_ids).order_by("pk")
    return [(str(e.event_id), json_body(event_envelope(e, e.payload))) for e in events.iterator(chunk_size=2000)]


def bare_loop(base_url: str, path: str, bodies: list[tuple[str, bytes]]) -> float:
    """POST every body with one persistent httpx.Client, one after the other; returns the seconds taken."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        client.get("/__stats")  # opens the connection, as a warm pool would have it
        started = time.perf_counter()
        for event_id, body in bodies:
            response = client.post(
                path, content=body, headers={"Content-Type": "application/json", "X-Hub-Event-Id": event_id}
            )
            if response.status_code != 200:
                raise SystemExit(f"the receiver answered {response.status_code} to the bare loop")
        return time.perf_counter() - started


# --- CPU accounting (Linux /proc): what each side spent, whatever else the machine was doing --------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return None


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process so far (0.0 when it is gone)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS if fields else 0.0


def _cpu_where(field: int, value: int) -> dict[int, float]:
    """CPU seconds so far of every live process whose /proc stat ``field`` (1 parent, 2 group) is ``value``."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and int(fields[field]) == value:
                found[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICKS
    return found


def group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds so far of every live process in the process group ``pgid``."""
    return _cpu_where(2, pgid)


def family_cpu(pid: int) -> dict[int, float]:
    """CPU seconds so far of process ``pid`` and of its live children (a server's master and workers)."""
    return {pid: process_cpu(pid), **_cpu_where(1, pid)}


def backends_cpu() -> dict[int, float]:
    """CPU seconds so far of the PostgreSQL backends serving this database, this process's own excepted.

    Empty when the server is not on this machine (its processes are not in /proc).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids = [row[0] for row in cursor.fetchall()]
    return {pid: cpu for pid in pids if (cpu := process_cpu(pid)) or _stat_fields(pid)}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """Seconds spent between two snapshots by the processes alive at the second (new ones from zero)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
