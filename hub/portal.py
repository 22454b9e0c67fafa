"""Portal pages for staff. The home page: connected systems, what they own, when each was last heard from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Count, OuterRef, Subquery
from django.shortcuts import render
from django.utils import timezone

from canonical.models import BusinessEvent, Domain, ExternalRef, System, SystemKind, SystemOfRecord
from governance.models import ApiKey, Consumer
from hub.models import WorkerHeartbeat


@dataclass(frozen=True)
class SystemRow:
    system: System
    domains: list[str]
    consumers: int
    last_activity: datetime | None
    last_activity_source: str


def _latest(*candidates: tuple[datetime | None, str]) -> tuple[datetime | None, str]:
    seen = [(at, source) for at, source in candidates if at is not None]
    return max(seen, key=lambda pair: pair[0]) if seen else (None, "")


def connected_systems() -> list[SystemRow]:
    """Every connected system with its system-of-record domains and latest activity, in two queries.

    Each "latest" is a correlated subquery that walks an index backwards and stops at the
    first row, so the cost does not grow with the size of the event or reference tables.
    """
    last_event = (
        BusinessEvent.objects.filter(source_system=OuterRef("pk")).order_by("-id").values("recorded_at")[:1]
    )
    last_ref = ExternalRef.objects.filter(system=OuterRef("pk")).order_by("-updated_at").values("updated_at")[:1]
    last_key_use = (
        ApiKey.objects.filter(consumer__system=OuterRef("pk"), last_used_at__isnull=False)
        .order_by("-last_used_at")
        .values("last_used_at")[:1]
    )
    consumers = (
        Consumer.objects.filter(system=OuterRef("pk"), is_active=True)
        .order_by()
        .values("system")
        .annotate(n=Count("pk"))
        .values("n")
    )
    systems = (
        System.objects.exclude(kind=SystemKind.HUB)
        .annotate(
            last_event_at=Subquery(last_event),
            last_ref_at=Subquery(last_ref),
            last_key_use_at=Subquery(last_key_use),
            consumer_count=Subquery(consumers),
        )
        .prefetch_related("owned_domains")
        .order_by("-is_active", "code")
    )
    rows = []
    for system in systems:
        at, source = _latest(
            (system.last_event_at, "business event"),
            (system.last_ref_at, "external reference"),
            (system.last_key_use_at, "API call"),
        )
        domains = sorted(sor.get_domain_display() for sor in system.owned_domains.all())
        rows.append(SystemRow(system, domains, system.consumer_count or 0, at, source))
    return rows


@staff_member_required
def home(request):
    systems = connected_systems()
    owned = set(SystemOfRecord.objects.values_list("domain", flat=True))
    unowned = [label for value, label in Domain.choices if value not in owned]
    last_heartbeat = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
    max_age = timedelta(seconds=settings.HUB_WORKER_HEARTBEAT_MAX_AGE)
    context = {
        "systems": systems,
        "unowned_domains": unowned,
        "last_heartbeat": last_heartbeat,
        "heartbeat_fresh": last_heartbeat is not None and timezone.now() - last_heartbeat <= max_age,
    }
    return render(request, "hub/home.html", context)
