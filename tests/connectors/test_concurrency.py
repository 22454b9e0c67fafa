"""Concurrency on PostgreSQL: two dispatchers never send one delivery at once, and a worker killed
with SIGKILL mid-batch loses nothing (its leases expire and another worker finishes the work).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from connectors.models import Delivery, DeliveryAttempt
from connectors.services.dispatch import deliveries_dispatch
from connectors.services.relay import events_relay
from tests.connectors.outbound_support import record_event
from tests.connectors.receiver import Reply, receiver_fixture  # noqa: F401
from tests.factories import SubscriptionFactory

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _undelivered() -> bool:
    return Delivery.objects.exclude(status="delivered").exists()


def test_two_dispatchers_never_send_one_delivery_at_the_same_time(receiver):
    receiver.default = Reply(delay=0.01)
    SubscriptionFactory(connector__base_url=receiver.url)
    SubscriptionFactory(connector__base_url=receiver.url + "/second", event_types=["order.created"])
    events = [record_event() for _ in range(25)]
    events_relay()
    errors = []

    def dispatcher(name):
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and _undelivered():
                deliveries_dispatch(worker=name, batch=5)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert receiver.overlaps == []
    counts = receiver.counts()
    assert {str(e.event_id) for e in events} == set(counts) and set(counts.values()) == {2}  # two subscribers
    assert len(receiver.requests) == 50
    assert set(DeliveryAttempt.objects.values_list("worker", flat=True)) == {"one", "two"}


DOOMED_WORKER = """
import django
django.setup()
from connectors.services.dispatch import deliveries_dispatch
while True:
    deliveries_dispatch(worker="doomed", batch=8, lease_seconds=2)
"""


def test_a_worker_killed_mid_batch_loses_nothing(receiver):
    receiver.default = Reply(delay=0.3)  # slow answers: the kill lands mid-send
    SubscriptionFactory(connector__base_url=receiver.url, connector__timeout_seconds=5)
    events = [record_event() for _ in range(20)]
    events_relay()

    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "HUB_LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen([sys.executable, "-c", DOOMED_WORKER], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert receiver.wait_for(3, timeout=20), worker.stderr.read1().decode() if worker.poll() is not None else ""
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(5)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(5)

    in_flight_at_kill = Delivery.objects.filter(status="in_flight", leased_by="doomed").count()
    assert in_flight_at_kill >= 1  # it died holding leased work
    receiver.default = Reply()
    deadline = time.monotonic() + 15
    while _undelivered() and time.monotonic() < deadline:
        deliveries_dispatch(worker="heir", batch=50, lease_seconds=2)
        time.sleep(0.1)

    assert not _undelivered()
    counts = receiver.counts()
    assert {str(e.event_id) for e in events} == set(counts)  # every event arrived
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= in_flight_at_kill
    assert Delivery.objects.filter(leased_by="").count() == 20
