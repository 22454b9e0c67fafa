"""django-q2 runs the delivery dispatcher; the hub's own tables remain the record of what was delivered.

``ensure_dispatch_schedules`` keeps settings.HUB_DISPATCHERS schedules, one per *seat*,
each firing every minute. A loop holds its seat (a cache key, shared by all processes)
while it runs; a scheduled start that finds the seat taken returns at once. Shortly
before its time is up a loop queues its successor and hands it the seat, so each seat
is always worked, without gaps between minutes; the schedule only restarts a chain
that broke (a killed worker), after the seat's time-to-live.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections import Counter

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from connectors.services.dispatch import deliveries_dispatch
from connectors.services.relay import events_relay

logger = logging.getLogger("connectors.dispatch")

DISPATCH_SCHEDULE_PREFIX = "connectors: dispatcher seat "
DISPATCH_FUNC = "connectors.tasks.dispatch_loop"
LOOP_SECONDS = 55.0
# The successor is queued this long before the loop ends, to start while this one finishes.
HANDOFF_SECONDS = 3.0
# A seat outlives its loop by this much, so a crashed loop's seat frees itself.
SEAT_GRACE_SECONDS = 30.0
RELAY_BATCH = 500
IDLE_SLEEP_SECONDS = (0.1, 0.2)
ERROR_SLEEP_SECONDS = 1.0


def dispatcher_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _seat_key(seat: int) -> str:
    return f"connectors:dispatch-seat:{seat}"


def _seat_take(seat: int, token: str, *, ttl: float) -> bool:
    key = _seat_key(seat)
    if cache.get(key) == token:
        cache.set(key, token, timeout=ttl)
        return True
    return cache.add(key, token, timeout=ttl)


def _seat_hand_off(seat: int, token: str, *, seconds: float) -> None:
    """Reserve the seat for a successor and queue it; it takes the seat with the token it carries."""
    if cache.get(_seat_key(seat)) != token:
        return  # lost the seat (expired): the schedule will start a fresh loop
    successor = uuid.uuid4().hex
    cache.set(_seat_key(seat), successor, timeout=seconds + SEAT_GRACE_SECONDS)
    async_task(DISPATCH_FUNC, seconds=seconds, seat=seat, token=successor, task_name=f"dispatcher seat {seat}")


def dispatch_loop(seconds: float = LOOP_SECONDS, seat: int | None = None, token: str = "") -> dict:
    """Relay, then dispatch batches until idle, sleeping 100–200 ms when idle, until ``seconds`` are up.

    Returns totals (events relayed, deliveries delivered, retried, dead, deferred, lost).
    """
    me = token or uuid.uuid4().hex
    if seat is not None and not _seat_take(seat, me, ttl=seconds + SEAT_GRACE_SECONDS):
        return {"skipped": 1}
    worker = dispatcher_name()
    deadline = time.monotonic() + seconds
    handed_off = seat is None
    totals: Counter = Counter()
    while (left := deadline - time.monotonic()) > 0:
        if not handed_off and left <= HANDOFF_SECONDS:
            _seat_hand_off(seat, me, seconds=seconds)
            handed_off = True
        try:
            relayed = events_relay(limit=RELAY_BATCH)
            report = deliveries_dispatch(worker=worker, stop_at=deadline)
        except Exception:
            # A database blip must not end the loop; the leases keep the work safe meanwhile.
            logger.exception("dispatcher %s: relay or dispatch failed; retrying", worker)
            close_old_connections()  # drops a broken connection so the next round opens a new one
            time.sleep(ERROR_SLEEP_SECONDS)
            continue
        totals["relayed"] += relayed
        for name in ("claimed", "delivered", "retried", "dead", "deferred", "lost"):
            totals[name] += getattr(report, name)
        if relayed == 0 and report.claimed == 0:
            time.sleep(random.uniform(*IDLE_SLEEP_SECONDS))
    if not handed_off:
        _seat_hand_off(seat, me, seconds=seconds)
    return dict(totals)


def ensure_dispatch_schedules() -> list[Schedule]:
    """Create or correct one schedule per dispatcher seat (settings.HUB_DISPATCHERS); drop extra seats.

    Idempotent and safe to run at every start by several processes.
    """
    wanted = {f"{DISPATCH_SCHEDULE_PREFIX}{seat}": seat for seat in range(1, settings.HUB_DISPATCHERS + 1)}
    ensured = []
    with transaction.atomic():
        existing = list(
            Schedule.objects.select_for_update().filter(name__startswith=DISPATCH_SCHEDULE_PREFIX).order_by("id")
        )
        kept: dict[str, Schedule] = {}
        for schedule in existing:
            if schedule.name in wanted and schedule.name not in kept:
                kept[schedule.name] = schedule
            else:
                schedule.delete()
        for name, seat in wanted.items():
            schedule = kept.get(name) or Schedule(name=name, next_run=timezone.now())
            schedule.func = DISPATCH_FUNC
            schedule.args = None
            schedule.kwargs = repr({"seconds": LOOP_SECONDS, "seat": seat})
            schedule.schedule_type = Schedule.MINUTES
            schedule.minutes = 1
            schedule.repeats = -1
            schedule.save()
            ensured.append(schedule)
    return ensured
