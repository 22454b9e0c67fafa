"""The hub's own scheduled tasks (django-q2), and the schedules that run them."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from connectors.tasks import ensure_dispatch_schedules
from hub.models import WorkerHeartbeat

WORKER_HEARTBEAT_SCHEDULE = "hub: worker heartbeat"
# Heartbeats of workers that stopped (every restart is a new hostname-pid) are pruned after this.
HEARTBEAT_RETENTION = timedelta(days=1)


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def worker_heartbeat() -> WorkerHeartbeat:
    """Record that a worker of this cluster ran a task just now; /readyz reads it."""
    now = timezone.now()
    beat, _ = WorkerHeartbeat.objects.update_or_create(name=worker_name(), defaults={"beat_at": now})
    WorkerHeartbeat.objects.filter(beat_at__lt=now - HEARTBEAT_RETENTION).delete()
    return beat


# (name, func, minutes): every schedule the hub needs. Other apps' periodic jobs join this list.
SCHEDULES: list[tuple[str, str, int]] = [
    (WORKER_HEARTBEAT_SCHEDULE, "hub.tasks.worker_heartbeat", 1),
    # Messages accepted with 202 whose worker task was lost (a killed worker) are processed again.
    ("connectors: inbound sweeper", "connectors.inbound.tasks.inbound_process_stale_task", 5),
    # Idempotency-Keys past their retention (HUB_IDEMPOTENCY_KEY_HOURS, at least 24 h) are deleted.
    ("hub: idempotency key purge", "hub.idempotency.idempotency_records_purge", 60),
]


def ensure_schedules() -> list[Schedule]:
    """Create or correct the hub's schedules; safe to run at every start, by several processes."""
    ensured = []
    with transaction.atomic():
        for name, func, minutes in SCHEDULES:
            existing = list(Schedule.objects.select_for_update().filter(name=name).order_by("id"))
            schedule = existing[0] if existing else Schedule(name=name, next_run=timezone.now())
            for duplicate in existing[1:]:
                duplicate.delete()
            schedule.func = func
            schedule.schedule_type = Schedule.MINUTES
            schedule.minutes = minutes
            schedule.repeats = -1
            schedule.save()
            ensured.append(schedule)
    # The delivery dispatcher loops: one schedule per seat, as many as settings.HUB_DISPATCHERS.
    ensured.extend(ensure_dispatch_schedules())
    return ensured
