"""What every benchmark shares: a PostgreSQL database of its own, gunicorn, the load, the figures.

A benchmark script calls ``django_setup(url)`` first (so it can build its data with
the hub's own services), then serves the hub with ``Gunicorn`` and drives it with
``load`` (bench/loadgen.py in a subprocess). Figures are printed, never asserted:
a benchmark is not a test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
LOG_DIR = REPO / "var" / "bench"

CLIENTS = 16
WARMUP_SECONDS = 3.0
DURATION_SECONDS = 15.0
MAX_REQUESTS = 300_000  # a bound on a run, far above what 15 s on two cores can reach

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def add_load_arguments(parser) -> None:
    parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent clients (default %(default)s)")
    parser.add_argument("--warmup", type=float, default=WARMUP_SECONDS, help="seconds before measuring")
    parser.add_argument("--duration", type=float, default=DURATION_SECONDS, help="seconds measured")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default %(default)s)")


# --- database ---------------------------------------------------------------------------------


def pg_connect(url: str, *, dbname: str = "postgres"):
    """A plain psycopg connection to the server of ``url`` (the maintenance database by default)."""
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        dbname=dbname,
        autocommit=True,
        connect_timeout=5,
    )


def database_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"The benchmarks run on PostgreSQL; {url!r} is not a postgres:// URL.")
    return parts.path.lstrip("/")


def database_exists(url: str) -> bool:
    with pg_connect(url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name(url)]).fetchone() is not None


def database_recreate(url: str) -> None:
    """Drop and create the benchmark's own database (never anything but the name it was given)."""
    from psycopg import sql

    name = database_name(url)
    with pg_connect(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_fresh(url: str) -> None:
    """Drop, create and migrate the benchmark's database, with Django set up on it."""
    database_recreate(url)
    django_setup(url)
    migrate()


BARE_PATH = "/bench/bare/rows"


def bare_requests(key: str) -> list[dict]:
    """The baseline's request for the load generator: one row inserted per POST (bench/bare)."""
    return [{"method": "POST", "path": BARE_PATH, "body": json.dumps({"name": "row-{n}", "value": 1}),
             "headers": {"Authorization": f"Bearer {key}"}}]


def server_environment(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, HUB_BENCH_BARE="1", DJANGO_DEBUG="false", DJANGO_SETTINGS_MODULE="hub.settings")
    return env


def django_setup(url: str) -> None:
    """Configure Django in this process against the benchmark database (bare app included)."""
    os.environ.update({k: v for k, v in server_environment(url).items() if k != "PATH"})
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)


def release_connections() -> None:
    """Close this process's connections before the server starts, so it has the database to itself."""
    from django.db import connections

    connections.close_all()


# --- server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn hub.wsgi -w N`` on a free loopback port, started and stopped by this process."""

    def __init__(self, url: str, *, workers: int = 2):
        self.url = url
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.ready_path = ""
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"gunicorn-{Path(sys.argv[0]).stem}.log"

    def __enter__(self) -> Gunicorn:
        command = [
            str(VENV_BIN / "gunicorn"), "hub.wsgi", "-w", str(self.workers),
            "-b", f"127.0.0.1:{self.port}", "--timeout", "60",
        ]
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(
            command, cwd=REPO, env=server_environment(self.url), stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_ready()
        return self

    def _get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                # /healthz answers once the process does; until a hub has it, the schema view will do.
                for path in ("/healthz", "/api/schema/"):
                    status = self._get(path)
                    if status == 200:
                        self.ready_path = path
                        # Both workers import the app lazily; touch the server a few times to load them.
                        for _ in range(4 * self.workers):
                            self._get(path)
                        return
                    if status != 404:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s; see {self.log_path}")

    def __exit__(self, *exc_info) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the load generator runs as one)."""
    times = os.times()
    return times.children_user + times.children_system


def server_cpu(server: Gunicorn) -> Callable[[], dict[str, dict[int, float]]]:
    """A CPU snapshot of ``server``'s processes (master and workers) and of the database's backends."""
    from bench.outbound import backends_cpu, family_cpu

    def snapshot() -> dict[str, dict[int, float]]:
        return {"server": family_cpu(server.process.pid), "database": backends_cpu()}

    return snapshot


# --- load and figures -------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (nan for no values): what every benchmark reports."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


@dataclass
class Measurement:
    label: str
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[str, int]
    error_samples: dict[str, str] = field(default_factory=dict)
    capped: bool = False
    # CPU seconds per part (server, database, load generator) over the slices, and the requests
    # they served, warm-ups included (load_interleaved with cpu=...).
    cpu: dict[str, float] = field(default_factory=dict)
    cpu_requests: float = 0.0

    def cpu_ms_per_request(self) -> dict[str, float]:
        return {part: 1000 * seconds / self.cpu_requests for part, seconds in self.cpu.items()} \
            if self.cpu_requests else {}

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> int:
        return sum(count for status, count in self.statuses.items() if not status.startswith("2"))

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of the recorded latencies, in milliseconds."""
        return percentile(self.latencies, p) * 1000


def load(
    server: Gunicorn,
    label: str,
    requests: list[dict],
    *,
    clients: int = CLIENTS,
    warmup: float = WARMUP_SECONDS,
    duration: float = DURATION_SECONDS,
    first_n: int = 0,
) -> Measurement:
    """Drive the server with ``clients`` concurrent clients for ``warmup`` + ``duration`` seconds."""
    spec = {
        "host": "127.0.0.1", "port": server.port, "clients": clients, "warmup": warmup,
        "duration": duration, "max_requests": MAX_REQUESTS, "first_n": first_n, "requests": requests,
    }
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "loadgen.py")],
        input=json.dumps(spec), capture_output=True, text=True, check=True,
    )
    result = json.loads(completed.stdout)
    return Measurement(label=label, **result)


def load_interleaved(
    server: Gunicorn,
    endpoints: list[tuple[str, list[dict]]],
    *,
    rounds: int = 3,
    clients: int = CLIENTS,
    warmup: float = WARMUP_SECONDS,
    duration: float = DURATION_SECONDS,
    cpu: Callable[[], dict[str, dict[int, float]]] | None = None,
) -> list[Measurement]:
    """Measure several endpoints in alternating slices (A B A B ...), ``duration`` seconds each in total.

    The machine may be busy with other work; alternating spreads any such noise over
    every endpoint instead of letting it land on one, so their ratio stays fair. ``cpu``: a
    snapshot of CPU seconds so far ({part: {pid: seconds}}, e.g. server_cpu), taken around each
    slice; the load generator's own CPU is added as "client".
    """
    merged: dict[str, Measurement] = {}
    for round_index in range(rounds):
        for label, requests in endpoints:
            slice_warmup = warmup if round_index == 0 else min(1.0, warmup)
            before = (cpu(), _children_cpu()) if cpu else None
            m = load(server, label, requests, clients=clients, warmup=slice_warmup, duration=duration / rounds,
                     first_n=round_index * 10_000_000)
            total = merged.setdefault(label, Measurement(label=label, requests=0, seconds=0.0, latencies=[],
                                                         statuses={}))
            if before is not None:
                after = cpu()
                spent = {part: sum(seconds - before[0][part].get(pid, 0.0) for pid, seconds in pids.items())
                         for part, pids in after.items()}
                spent["client"] = _children_cpu() - before[1]
                for part, seconds in spent.items():
                    total.cpu[part] = total.cpu.get(part, 0.0) + seconds
                # The warm-up's requests used CPU too; at the measured rate, they were this many.
                total.cpu_requests += m.requests * (slice_warmup + m.seconds) / m.seconds if m.seconds else 0.0
            total.requests += m.requests
            total.seconds += m.seconds
            total.latencies += m.latencies
            total.capped = total.capped or m.capped
            for status, count in m.statuses.items():
                total.statuses[status] = total.statuses.get(status, 0) + count
            for status, body in m.error_samples.items():
                total.error_samples.setdefault(status, body)
    return [merged[label] for label, _ in endpoints]


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def print_header(title: str, *, clients: int, warmup: float, duration: float, workers: int) -> None:
    print()
    print(f"== {title} ==")
    print(
        f"   PostgreSQL, gunicorn hub.wsgi -w {workers} (sync workers), {clients} concurrent clients on loopback, "
        f"{warmup:g} s warm-up + {duration:g} s measured per endpoint"
    )
    print(f"   machine: {machine_load()} at the end of the run (other work on it skews the figures)")


def print_table(measurements: list[Measurement]) -> None:
    width = max(len(m.label) for m in measurements)
    print(f"   {'endpoint':{width}s}  {'requests':>8s}  {'req/s':>8s}  {'p50 ms':>7s}  {'p95 ms':>7s}  "
          f"{'p99 ms':>7s}  {'non-2xx':>7s}")
    for m in measurements:
        print(
            f"   {m.label:{width}s}  {m.requests:8d}  {m.rps:8.1f}  {m.percentile_ms(50):7.1f}  "
            f"{m.percentile_ms(95):7.1f}  {m.percentile_ms(99):7.1f}  {m.failures:7d}"
        )
    for m in measurements:
        if m.failures:
            print(f"   ! {m.label}: statuses {m.statuses}")
            for status, body in m.error_samples.items():
                print(f"     first {status} body: {body[:300]}")
        if m.capped:
            print(f"   ! {m.label}: stopped at the request bound ({MAX_REQUESTS}) before the duration ended")


def verdict(passed: bool, *measurements: Measurement) -> str:
    if any(m.failures for m in measurements):
        return "INVALID (non-2xx responses; see above)"
    return "PASS" if passed else "MISS"


SHIPMENTS = 200  # milestones rotate over these, so 16 clients rarely wait on one shipment's row lock


def milestone_shipments_create(*, erp, wms, count: int = SHIPMENTS) -> None:
    """An order in fulfilment with ``count`` shipments the WMS knows as WMS-SH-<i>: what the milestone
    benchmarks (REST upsert and inbound message) report on."""
    from datetime import timedelta

    from django.utils import timezone

    from canonical.models import (
        Customer,
        EntityType,
        ExternalRef,
        Location,
        Order,
        OrderLine,
        OrderStatus,
        Product,
        Shipment,
    )

    customer = Customer.objects.create(account_number="BENCH-1", name="Bench Customer")
    product = Product.objects.create(sku="BENCH-SKU", description="Bench product")
    location = Location.objects.create(code="wh-bench", name="Bench warehouse")
    order = Order.objects.create(
        number="SO-BENCH-1", customer=customer, ship_to=customer, bill_to=customer,
        status=OrderStatus.IN_FULFILMENT, placed_at=timezone.now() - timedelta(days=1), source_system=erp,
    )
    OrderLine.objects.create(order=order, line_number=1, product=product, quantity_ordered=10, unit_price=5)
    for i in range(count):
        shipment = Shipment.objects.create(number=f"SH-BENCH-{i}", order=order, location=location)
        ExternalRef.objects.create(
            system=wms, entity_type=EntityType.SHIPMENT, external_id=f"WMS-SH-{i}", object_id=shipment.pk
        )
