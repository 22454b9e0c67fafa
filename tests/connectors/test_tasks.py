"""django-q2 runs the dispatcher: the loop, its seats and hand-over, and the schedules that keep it going."""

from __future__ import annotations

import ast
import time

import pytest
from django.core.cache import cache
from django_q.models import OrmQ, Schedule

from connectors.models import Delivery
from connectors.tasks import DISPATCH_FUNC, _seat_key, dispatch_loop, ensure_dispatch_schedules
from tests.connectors.outbound_support import record_event
from tests.connectors.receiver import receiver_fixture  # noqa: F401
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_the_loop_relays_and_delivers_until_its_time_is_up(receiver):
    SubscriptionFactory(connector__base_url=receiver.url)
    events = [record_event() for _ in range(3)]
    started = time.monotonic()
    totals = dispatch_loop(seconds=2)
    assert 2 <= time.monotonic() - started < 5
    assert totals["relayed"] == 3 and totals["delivered"] == 3
    assert set(receiver.counts()) == {str(e.event_id) for e in events}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_scheduled_start_finds_its_seat_taken_and_returns_at_once():
    cache.set(_seat_key(1), "another-loop", timeout=60)
    started = time.monotonic()
    assert dispatch_loop(seconds=30, seat=1) == {"skipped": 1}
    assert time.monotonic() - started < 1


def test_a_loop_hands_its_seat_to_a_queued_successor():
    OrmQ.objects.all().delete()
    dispatch_loop(seconds=0.3, seat=2)
    [queued] = [q for q in OrmQ.objects.all() if q.func() == DISPATCH_FUNC]
    kwargs = queued.kwargs()
    assert kwargs["seat"] == 2 and kwargs["seconds"] == 0.3
    assert cache.get(_seat_key(2)) == kwargs["token"]
    # The successor takes the seat with its token; a scheduled start meanwhile does not.
    assert dispatch_loop(seconds=30, seat=2) == {"skipped": 1}
    assert "skipped" not in dispatch_loop(seconds=0.2, seat=2, token=kwargs["token"])


def test_dispatch_schedules_are_ensured_idempotently(settings):
    settings.HUB_DISPATCHERS = 3
    first = ensure_dispatch_schedules()
    again = ensure_dispatch_schedules()
    assert [s.pk for s in first] == [s.pk for s in again]
    schedules = Schedule.objects.filter(func=DISPATCH_FUNC).order_by("name")
    assert schedules.count() == 3
    assert all(s.schedule_type == Schedule.MINUTES and s.minutes == 1 and s.repeats == -1 for s in schedules)
    assert [ast.literal_eval(s.kwargs)["seat"] for s in schedules] == [1, 2, 3]

    Schedule.objects.create(name=schedules[0].name, func=DISPATCH_FUNC)  # a duplicate from a race
    settings.HUB_DISPATCHERS = 2
    ensure_dispatch_schedules()
    assert sorted(Schedule.objects.filter(func=DISPATCH_FUNC).values_list("name", flat=True)) == [
        "connectors: dispatcher seat 1", "connectors: dispatcher seat 2"]
