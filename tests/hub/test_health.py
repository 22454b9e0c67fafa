"""/healthz and /readyz, the worker heartbeat task and the schedule that runs it."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_q.models import Schedule

from connectors.tasks import DISPATCH_SCHEDULE_PREFIX
from hub import health
from hub.models import WorkerHeartbeat
from hub.tasks import WORKER_HEARTBEAT_SCHEDULE, ensure_schedules, worker_heartbeat, worker_name
from tests.factories import OutboundConnectorFactory


def test_healthz_answers_without_touching_the_database(client):
    # No db fixture: any query would raise "Database access not allowed" and fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_ready_with_a_fresh_heartbeat(client):
    worker_heartbeat()
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "worker"}
    assert all(check["ok"] is True and check["detail"] for check in body["checks"].values())
    assert body["details"] == {"connector_breakers": {}}  # no connectors yet


@pytest.mark.django_db
def test_readyz_is_not_ready_without_any_heartbeat(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["worker"]["ok"] is False
    assert "No worker heartbeat" in body["checks"]["worker"]["detail"]
    assert body["checks"]["database"]["ok"] is True and body["checks"]["migrations"]["ok"] is True


@pytest.mark.django_db
def test_readyz_is_not_ready_when_the_heartbeat_is_stale(client, settings):
    settings.HUB_WORKER_HEARTBEAT_MAX_AGE = 60
    WorkerHeartbeat.objects.create(name="old-worker", beat_at=timezone.now() - timedelta(seconds=90))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "limit is 60 s" in response.json()["checks"]["worker"]["detail"]
    settings.HUB_WORKER_HEARTBEAT_MAX_AGE = 120
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_is_not_ready_with_unapplied_migrations(client):
    worker_heartbeat()
    with mock.patch.object(health.MigrationExecutor, "migration_plan", return_value=[("migration", False)] * 2):
        response = client.get("/readyz")
    assert response.status_code == 503
    migrations = response.json()["checks"]["migrations"]
    assert migrations == {"ok": False, "detail": "2 migration(s) not applied; run manage.py migrate."}


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_database_without_leaking_the_error(client):
    secret = "password authentication failed for user hub at db.internal:5432"

    def refuse(*args, **kwargs):
        raise OperationalError(secret)

    with mock.patch.object(health, "connections") as fake_connections:
        fake_connections.__getitem__.return_value.cursor.side_effect = refuse
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == {"ok": False, "detail": "The database did not answer (OperationalError)."}
    assert "db.internal" not in response.content.decode() and "password" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_needs_no_login_and_shows_detail_providers(client, monkeypatch):
    worker_heartbeat()
    monkeypatch.setitem(health.READINESS_DETAILS, "circuit_breakers", lambda: {"erp-rest": "open"})
    monkeypatch.setitem(health.READINESS_DETAILS, "broken", lambda: 1 / 0)
    response = client.get("/readyz")
    assert response.status_code == 200
    details = response.json()["details"]
    assert details["circuit_breakers"] == {"erp-rest": "open"}
    assert details["broken"] == {"error": "ZeroDivisionError"}


@pytest.mark.django_db
def test_readyz_shows_each_sending_connectors_circuit_breaker(client):
    worker_heartbeat()
    OutboundConnectorFactory(code="erp-rest", breaker_state="open", breaker_failures=5,
                             breaker_opened_at=timezone.now())
    OutboundConnectorFactory(code="shop-hook")
    breakers = client.get("/readyz").json()["details"]["connector_breakers"]
    assert breakers["erp-rest"]["state"] == "open" and breakers["erp-rest"]["consecutive_failures"] == 5
    assert "probe_at" in breakers["erp-rest"]
    assert breakers["shop-hook"] == {"state": "closed", "consecutive_failures": 0}


@pytest.mark.django_db
def test_worker_heartbeat_upserts_one_row_per_worker_and_prunes_dead_ones():
    WorkerHeartbeat.objects.create(name="gone-123", beat_at=timezone.now() - timedelta(days=2))
    first = worker_heartbeat()
    second = worker_heartbeat()
    assert first.pk == second.pk and second.name == worker_name()
    assert second.beat_at >= first.beat_at
    assert list(WorkerHeartbeat.objects.values_list("name", flat=True)) == [worker_name()]


@pytest.mark.django_db
def test_ensure_schedules_creates_the_heartbeat_schedule_once_and_repairs_it():
    schedule = _by_name(ensure_schedules())[WORKER_HEARTBEAT_SCHEDULE]
    assert (schedule.name, schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        WORKER_HEARTBEAT_SCHEDULE, "hub.tasks.worker_heartbeat", Schedule.MINUTES, 1, -1)
    next_run = schedule.next_run

    Schedule.objects.filter(pk=schedule.pk).update(minutes=15, schedule_type=Schedule.HOURLY)
    Schedule.objects.create(name=WORKER_HEARTBEAT_SCHEDULE, func="hub.tasks.worker_heartbeat")
    ensure_schedules()
    ensure_schedules()

    [again] = Schedule.objects.filter(name=WORKER_HEARTBEAT_SCHEDULE)
    assert again.pk == schedule.pk
    assert (again.schedule_type, again.minutes) == (Schedule.MINUTES, 1)
    assert again.next_run == next_run


@pytest.mark.django_db
def test_the_scheduled_function_is_importable_by_the_cluster():
    from django.utils.module_loading import import_string

    for schedule in ensure_schedules():
        assert callable(import_string(schedule.func)), schedule.name
    assert import_string(_by_name(ensure_schedules())[WORKER_HEARTBEAT_SCHEDULE].func) is worker_heartbeat


@pytest.mark.django_db
def test_ensure_schedules_runs_the_dispatchers_and_the_inbound_sweeper(settings):
    settings.HUB_DISPATCHERS = 3
    names = set(_by_name(ensure_schedules()))
    assert {"connectors: inbound sweeper", WORKER_HEARTBEAT_SCHEDULE} <= names
    assert len([name for name in names if name.startswith(DISPATCH_SCHEDULE_PREFIX)]) == 3


def _by_name(schedules) -> dict:
    return {schedule.name: schedule for schedule in schedules}


@pytest.mark.django_db
def test_ensure_schedules_command_lists_what_it_ensured():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("ensure_schedules", stdout=out)
    assert f"{WORKER_HEARTBEAT_SCHEDULE}: hub.tasks.worker_heartbeat every 1 min" in out.getvalue()
    assert Schedule.objects.filter(name__startswith=DISPATCH_SCHEDULE_PREFIX).count() >= 1
