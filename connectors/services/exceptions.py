"""Raising exceptions into the staff queues. Repeats of the same failure count as occurrences."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from canonical.context import Actor
from canonical.services.events import audit_record
from connectors.models import (
    ACTIVE_EXCEPTION_STATUSES,
    SLA_BY_SEVERITY,
    IntegrationException,
    Severity,
)


def exception_raise(
    *,
    category: str,
    team: str,
    title: str,
    fingerprint: str,
    actor: Actor,
    severity: str = Severity.MEDIUM,
    detail: str = "",
    context: dict | None = None,
    workflow_step: str = "",
    **links,
) -> IntegrationException:
    """Open an exception, or count one more occurrence of the active one with the same fingerprint.

    ``links`` are the business records and sources it touches: customer, order, shipment,
    invoice, purchase_order, supplier, connector, delivery, inbound_message.
    """
    now = timezone.now()
    with transaction.atomic():
        existing = (
            IntegrationException.objects.select_for_update()
            .filter(fingerprint=fingerprint, status__in=ACTIVE_EXCEPTION_STATUSES)
            .first()
        )
        if existing is not None:
            IntegrationException.objects.filter(pk=existing.pk).update(
                occurrences=F("occurrences") + 1, last_seen_at=now, detail=detail or existing.detail
            )
            existing.refresh_from_db()
            return existing
        try:
            with transaction.atomic():
                created = IntegrationException.objects.create(
                    category=category,
                    team=team,
                    severity=severity,
                    title=title[:300],
                    detail=detail,
                    context=context or {},
                    fingerprint=fingerprint[:200],
                    last_seen_at=now,
                    sla_due_at=now + SLA_BY_SEVERITY[severity],
                    workflow_step=workflow_step,
                    correlation_id=actor.correlation_id,
                    **links,
                )
        except IntegrityError:
            # Another worker opened it between our check and insert: count ours on theirs.
            IntegrationException.objects.filter(
                fingerprint=fingerprint, status__in=ACTIVE_EXCEPTION_STATUSES
            ).update(occurrences=F("occurrences") + 1, last_seen_at=now)
            return IntegrationException.objects.get(fingerprint=fingerprint, status__in=ACTIVE_EXCEPTION_STATUSES)
        audit_record(
            actor=actor, action="exception.opened", object_type="exception", object_id=created.pk,
            after={"category": category, "team": team, "severity": severity, "title": created.title},
        )
    return created
