"""Reads of the connectors app: the exception queues a user may work, their search, audit trails."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from canonical.models import AuditEntry, Customer, EntityType, ExternalRef
from connectors.models import Delivery, DeliveryAttempt, IntegrationException, Team
from connectors.services.exceptions import AUDIT_OBJECT_TYPE, queue_permission


def teams_worked_by(user) -> list[str]:
    """The team queues a user works: all for a superuser, else one per work_<team>_queue permission."""
    if user is None or not user.is_active:
        return []
    if user.is_superuser:
        return list(Team.values)
    return [team for team in Team.values if user.has_perm(queue_permission(team))]


def exceptions_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    queryset = IntegrationException.objects.all() if queryset is None else queryset
    if user is not None and user.is_active and user.is_superuser:
        return queryset
    return queryset.filter(team__in=teams_worked_by(user))


# Entity types an exception links to, by the field that holds the link.
_LINKED_ENTITIES = {
    EntityType.CUSTOMER: "customer_id",
    EntityType.ORDER: "order_id",
    EntityType.SHIPMENT: "shipment_id",
    EntityType.INVOICE: "invoice_id",
    EntityType.PURCHASE_ORDER: "purchase_order_id",
}


# The shortest term looked for inside the bodies of the inbound messages behind exceptions.
BODY_SEARCH_MIN = 4


def exceptions_search(*, queryset: QuerySet, term: str) -> QuerySet:
    """Exceptions matching an order number, customer account or name, a partner's external id
    (any system), a correlation id, words of the title; and, for a failed inbound message, the
    partner's message id or any text of the body it sent (the shipment or order id it named,
    which may exist nowhere else, since the message failed), for terms of BODY_SEARCH_MIN or more.
    """
    term = term.strip()
    if not term:
        return queryset
    condition = (
        Q(order__number__iexact=term)
        | Q(order__customer_po__iexact=term)
        | Q(customer__account_number__iexact=term)
        | Q(customer__name__icontains=term)
        | Q(correlation_id=term)
        | Q(title__icontains=term)
        | Q(invoice__number__iexact=term)
        | Q(shipment__number__iexact=term)
        | Q(shipment__tracking_number=term)
        | Q(purchase_order__number__iexact=term)
        | Q(inbound_message__sender_message_id=term)
    )
    if len(term) >= BODY_SEARCH_MIN:
        condition |= Q(inbound_message__body__contains=term)
    refs = ExternalRef.objects.filter(external_id=term, entity_type__in=list(_LINKED_ENTITIES))
    by_type: dict[str, list[int]] = {}
    for entity_type, object_id in refs.values_list("entity_type", "object_id")[:200]:
        by_type.setdefault(entity_type, []).append(object_id)
    for entity_type, ids in by_type.items():
        condition |= Q(**{f"{_LINKED_ENTITIES[entity_type]}__in": ids})
    if term.isdigit():
        condition |= Q(pk=int(term))
    return queryset.filter(condition)


def exception_audit_trail(*, exception: IntegrationException) -> QuerySet:
    return (
        AuditEntry.objects.filter(object_type=AUDIT_OBJECT_TYPE, object_id=str(exception.pk))
        .select_related("actor_user", "actor_system")
        .order_by("at", "id")
    )


def exception_customers(*, queryset: QuerySet, limit: int = 40) -> list[tuple[int, str]]:
    """Customers with exceptions in the queue, most exceptions first (for the queue's filter)."""
    counts = (
        queryset.filter(customer__isnull=False)
        .values("customer_id")
        .annotate(n=Count("id"))
        .order_by("-n", "customer_id")[:limit]
    )
    ids = [row["customer_id"] for row in counts]
    names = {c.pk: f"{c.account_number} {c.name}" for c in Customer.objects.filter(pk__in=ids)}
    return [(pk, names[pk]) for pk in ids if pk in names]


def delivery_attempts(*, delivery: Delivery, limit: int = 50) -> list[DeliveryAttempt]:
    """The latest attempts of a delivery, oldest first."""
    latest = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("-number")[:limit])
    return latest[::-1]
