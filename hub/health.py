"""Health endpoints for load balancers and orchestrators: /healthz (alive) and /readyz (ready).

Neither needs a login and neither reveals anything secret: checks report ok and a
short human detail, never exception messages, hostnames or connection strings
(those go to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from hub.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("readiness: database check failed", exc_info=True)
        return Check(False, f"The database did not answer ({type(exc).__name__}).")
    return Check(True, f"{connections[DEFAULT_DB_ALIAS].vendor} answered.")


def check_migrations() -> Check:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        logger.warning("readiness: migration check failed", exc_info=True)
        return Check(False, f"Could not read the migration state ({type(exc).__name__}).")
    if plan:
        return Check(False, f"{len(plan)} migration(s) not applied; run manage.py migrate.")
    return Check(True, "All migrations applied.")


def check_worker() -> Check:
    max_age = settings.HUB_WORKER_HEARTBEAT_MAX_AGE
    try:
        latest = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
        fresh = WorkerHeartbeat.objects.filter(beat_at__gte=timezone.now() - timedelta(seconds=max_age)).count()
    except Exception as exc:
        logger.warning("readiness: worker heartbeat check failed", exc_info=True)
        return Check(False, f"Could not read worker heartbeats ({type(exc).__name__}).")
    if latest is None:
        return Check(False, "No worker heartbeat yet: is a django-q2 cluster running (manage.py run_hub)?")
    age = int((timezone.now() - latest).total_seconds())
    if fresh == 0:
        return Check(False, f"Last worker heartbeat {age} s ago; the limit is {max_age} s.")
    return Check(True, f"{fresh} worker(s) seen; last heartbeat {age} s ago (limit {max_age} s).")


READINESS_CHECKS: dict[str, Callable[[], Check]] = {
    "database": check_database,
    "migrations": check_migrations,
    "worker": check_worker,
}

# Information that helps an operator but does not decide readiness, keyed by name.
# Connectors register their circuit-breaker states here (name -> callable returning JSON-able data).
READINESS_DETAILS: dict[str, Callable[[], object]] = {}


def _connector_breakers() -> dict:
    from connectors.services.breaker import breaker_states

    return breaker_states()


READINESS_DETAILS["connector_breakers"] = _connector_breakers


def readiness() -> tuple[bool, dict]:
    checks = {name: check() for name, check in READINESS_CHECKS.items()}
    details = {}
    for name, provide in READINESS_DETAILS.items():
        try:
            details[name] = provide()
        except Exception as exc:
            logger.warning("readiness: detail %s failed", name, exc_info=True)
            details[name] = {"error": type(exc).__name__}
    ready = all(check.ok for check in checks.values())
    body = {
        "status": "ok" if ready else "fail",
        "checks": {name: asdict(check) for name, check in checks.items()},
        "details": details,
    }
    return ready, body


@never_cache
@require_safe
def healthz(request):
    """The process answers. Touches nothing else, so a slow database never fails liveness."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    ready, body = readiness()
    return JsonResponse(body, status=200 if ready else 503)
