"""The order timeline: every status change, business event, delivery attempt, inbound message,
exception and audit entry that touched an order, in time order, with correlation ids.

What counts as touching the order:

* events of the order and of the records hanging off it (its shipments, invoices, returns,
  credit memos of those, and the purchase orders placed for it or for its lines);
  ``order.created`` (the first status) and ``order.status_changed`` events are the order's
  status changes;
* the delivery attempts of those events to subscribers;
* inbound messages that caused those events (an event's causation id ``inbound:<id>``), that
  share a correlation id with them or with the order, or that an exception about the order or
  its records points at;
* exceptions about the order, its records, those deliveries or those messages;
* audit entries of all of the above (staff decisions, retries, resolutions).

Each entry shows the status its record had at the entry's time, not today's: an exception opened
and resolved since shows "open" where it was opened. Statuses of messages and exceptions change only
through audited actions (reprocess, resolve, ignore, ...), so the status at a moment is the "before"
of the first audit entry about the record after it, or the current status when nothing changed it
since. The entry's ``status`` stays the record's status now (as partners read it), the status at
the time is the entry's ``data.status_then``, and the page shows that one first.

A fixed number of queries whatever the number of entries (each kind is one query; the events'
payloads are not loaded, only the keys the entries show). Each kind is capped at ``limit``
entries, the newest kept, and the timeline says which kinds were cut.

Visibility: staff see everything. A partner system sees the events of the domains its kind of
system may read (canonical.access), the delivery attempts to its own connectors and the inbound
messages it sent; the hub's exception queue and audit log are for staff.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.urls import NoReverseMatch, reverse

from canonical.access import acting_system, readable_aggregate_types
from canonical.models import (
    AuditEntry,
    BusinessEvent,
    CreditMemo,
    Invoice,
    Order,
    OrderStatus,
    PurchaseOrder,
    ReturnAuthorization,
    Shipment,
    System,
)
from connectors.models import Delivery, DeliveryAttempt, InboundMessage, InboundStatus, IntegrationException

MAX_ENTRIES_PER_KIND = 500
ERROR_SHOWN = 300
_STATUS_LABELS = dict(OrderStatus.choices)
_INBOUND_LABELS = dict(InboundStatus.choices)


class Kind(models.TextChoices):
    STATUS_CHANGE = "status_change", "Status change"
    EVENT = "event", "Business event"
    DELIVERY_ATTEMPT = "delivery_attempt", "Delivery attempt"
    INBOUND_MESSAGE = "inbound_message", "Inbound message"
    EXCEPTION = "exception", "Exception"
    AUDIT = "audit", "Audit entry"


# Same instant (one transaction): the cause before its effects.
_RANK = {Kind.INBOUND_MESSAGE: 0, Kind.AUDIT: 1, Kind.STATUS_CHANGE: 2, Kind.EVENT: 3, Kind.EXCEPTION: 4,
         Kind.DELIVERY_ATTEMPT: 5}

# The records hanging off an order, by the aggregate type their events carry.
_RECORD_MODELS: dict[str, type[models.Model]] = {
    "order": Order,
    "shipment": Shipment,
    "invoice": Invoice,
    "return": ReturnAuthorization,
    "credit_memo": CreditMemo,
    "purchase_order": PurchaseOrder,
}
_API_ROUTES = {"order": "order-detail", "shipment": "shipment-detail", "invoice": "invoice-detail",
               "return": "return-detail", "credit_memo": "credit-memo-detail",
               "purchase_order": "purchase-order-detail"}


@dataclass(frozen=True)
class TimelineViewer:
    """Who looks: staff (``system`` None) see everything; a partner what its system may read."""

    system: System | None = None
    aggregate_types: frozenset[str] | None = None  # None: every aggregate type

    @classmethod
    def for_user(cls, user) -> TimelineViewer:
        types = readable_aggregate_types(user)
        return cls(system=acting_system(user), aggregate_types=None if types is None else frozenset(types))

    @property
    def is_staff(self) -> bool:
        return self.system is None and self.aggregate_types is None

    def sees(self, aggregate_type: str) -> bool:
        return self.aggregate_types is None or aggregate_type in self.aggregate_types


STAFF = TimelineViewer()


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    title: str
    object_type: str
    object_id: str
    correlation_id: str = ""
    causation_id: str = ""
    actor: str = ""
    status: str = ""
    data: dict = field(default_factory=dict)
    admin_url: str = ""
    api_url: str = ""
    _tiebreak: int = 0

    @property
    def sort_key(self) -> tuple:
        return (self.at, _RANK[self.kind], self._tiebreak)

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label


@dataclass
class OrderTimeline:
    order: Order
    entries: list[TimelineEntry]
    records: dict[str, dict[int, str]]  # aggregate type -> {id: number}
    truncated: list[str]
    viewer: TimelineViewer

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(entry.kind for entry in self.entries)
        return {kind: counted.get(kind, 0) for kind in Kind.values}

    @property
    def correlation_ids(self) -> list[str]:
        return sorted({entry.correlation_id for entry in self.entries if entry.correlation_id})


def _admin(name: str, pk) -> str:
    try:
        return reverse(f"admin:{name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def _api(route: str | None, pk) -> str:
    if not route:
        return ""
    try:
        return reverse(route, args=[pk])
    except NoReverseMatch:
        return ""


def order_records(order: Order) -> dict[str, dict[int, str]]:
    """{aggregate type: {id: number}} for the order and the records hanging off it (five queries)."""
    returns = dict(ReturnAuthorization.objects.filter(order=order).values_list("pk", "number"))
    invoices = dict(Invoice.objects.filter(order=order).values_list("pk", "number"))
    return {
        "order": {order.pk: order.number},
        "shipment": dict(Shipment.objects.filter(order=order).values_list("pk", "number")),
        "invoice": invoices,
        "return": returns,
        "credit_memo": dict(
            CreditMemo.objects.filter(Q(rma__order=order) | Q(invoice__order=order)).values_list("pk", "number")
        ),
        "purchase_order": dict(
            PurchaseOrder.objects.filter(Q(order=order) | Q(lines__order_line__order=order))
            .distinct().values_list("pk", "number")
        ),
    }


def _newest(queryset: models.QuerySet, time_field: str, limit: int) -> tuple[list, bool]:
    rows = list(queryset.order_by(f"-{time_field}", "-pk")[: limit + 1])
    return rows[:limit], len(rows) > limit


def _records_condition(records: dict[str, dict[int, str]], viewer: TimelineViewer) -> Q:
    condition = Q(pk__in=[])
    for aggregate_type, ids in records.items():
        if ids and viewer.sees(aggregate_type):
            condition |= Q(aggregate_type=aggregate_type, aggregate_id__in=[str(pk) for pk in ids])
    return condition


def _inbound_id(causation_id: str) -> int | None:
    prefix, _, value = (causation_id or "").partition(":")
    return int(value) if prefix == "inbound" and value.isdigit() else None


def order_timeline(*, order: Order, viewer: TimelineViewer = STAFF,
                   limit: int = MAX_ENTRIES_PER_KIND) -> OrderTimeline:
    records = order_records(order)
    truncated: list[str] = []
    entries: list[TimelineEntry] = []

    # Events (the payload stays in the database: only the keys the entries show are read).
    events, cut = _newest(
        BusinessEvent.objects.filter(_records_condition(records, viewer))
        .defer("payload")
        .annotate(status_from=KT("payload__from"), status_to=KT("payload__to"), reason=KT("payload__reason"),
                  created_status=KT("payload__order__status")),
        "recorded_at", limit,
    )
    if cut:
        truncated.append(Kind.EVENT)
    events_by_pk = {event.pk: event for event in events}

    # Deliveries of those events, and their attempts.
    deliveries_qs = Delivery.objects.filter(event_id__in=list(events_by_pk)).select_related(
        "subscription__connector")
    if not viewer.is_staff:
        deliveries_qs = deliveries_qs.filter(subscription__connector__system=viewer.system)
    deliveries = {delivery.pk: delivery for delivery in deliveries_qs.order_by("pk")}
    deliveries_of: dict[int, list[Delivery]] = {}
    for delivery in deliveries.values():
        deliveries_of.setdefault(delivery.event_id, []).append(delivery)
    attempts, cut = _newest(DeliveryAttempt.objects.filter(delivery_id__in=list(deliveries)), "started_at", limit)
    if cut:
        truncated.append(Kind.DELIVERY_ATTEMPT)

    # Exceptions about the order, its records and those deliveries (staff only); the inbound
    # messages they point at are part of the timeline too.
    about_order = (
        Q(order=order)
        | Q(shipment_id__in=list(records["shipment"]))
        | Q(invoice_id__in=list(records["invoice"]))
        | Q(purchase_order_id__in=list(records["purchase_order"]))
        | Q(delivery_id__in=list(deliveries))
    )
    correlation_ids = {event.correlation_id for event in events if event.correlation_id}
    if order.correlation_id:
        correlation_ids.add(order.correlation_id)
    message_condition = (
        Q(pk__in=[pk for pk in (_inbound_id(event.causation_id) for event in events) if pk is not None])
        | Q(correlation_id__in=sorted(correlation_ids))
        | Q(pk__in=IntegrationException.objects.filter(about_order, inbound_message__isnull=False)
            .values("inbound_message_id"))
    )
    messages_qs = InboundMessage.objects.filter(message_condition)
    if not viewer.is_staff:
        messages_qs = messages_qs.filter(system=viewer.system)
    messages, cut = _newest(messages_qs.select_related("system").defer("body", "headers", "response_body"),
                            "received_at", limit)
    if cut:
        truncated.append(Kind.INBOUND_MESSAGE)

    exceptions: list[IntegrationException] = []
    audits: list[AuditEntry] = []
    if viewer.is_staff:
        exceptions, cut = _newest(
            IntegrationException.objects.filter(about_order | Q(inbound_message_id__in=[m.pk for m in messages]))
            .select_related("assignee"),
            "first_seen_at", limit,
        )
        if cut:
            truncated.append(Kind.EXCEPTION)
        audited = {**{t: list(ids) for t, ids in records.items()},
                   "exception": [e.pk for e in exceptions], "delivery": list(deliveries),
                   "inbound_message": [m.pk for m in messages]}
        audit_condition = Q(pk__in=[])
        for object_type, ids in audited.items():
            if ids:
                audit_condition |= Q(object_type=object_type, object_id__in=[str(pk) for pk in ids])
        audits, cut = _newest(
            AuditEntry.objects.filter(audit_condition).select_related("actor_user", "actor_system"), "at", limit)
        if cut:
            truncated.append(Kind.AUDIT)

    history = _status_history(messages, exceptions)
    entries.extend(_event_entry(event, records, deliveries_of.get(event.pk, [])) for event in events)
    entries.extend(_attempt_entry(attempt, deliveries[attempt.delivery_id], events_by_pk) for attempt in attempts)
    entries.extend(_message_entry(message, history) for message in messages)
    entries.extend(_exception_entry(exception, history) for exception in exceptions)
    entries.extend(_audit_entry(entry, records) for entry in audits)
    entries.sort(key=lambda entry: entry.sort_key)
    return OrderTimeline(order=order, entries=entries, records=records, truncated=truncated, viewer=viewer)


StatusHistory = dict[tuple[str, str], list[tuple[datetime, str]]]


def _status_history(messages: list[InboundMessage], exceptions: list[IntegrationException]) -> StatusHistory:
    """{(object type, id): [(when, status before that change), ...]} from the audit entries of the
    messages and exceptions, oldest first (one query, only the status of each entry's "before")."""
    history: StatusHistory = {}
    if not messages and not exceptions:
        return history
    condition = Q(pk__in=[])
    for object_type, rows in (("inbound_message", messages), ("exception", exceptions)):
        if rows:
            condition |= Q(object_type=object_type, object_id__in=[str(row.pk) for row in rows])
    changes = (
        AuditEntry.objects.filter(condition).annotate(status_before=KT("before__status"))
        .exclude(status_before__isnull=True).order_by("at", "pk")
        .values_list("object_type", "object_id", "at", "status_before")
    )
    for object_type, object_id, at, status in changes:
        if status:
            history.setdefault((object_type, object_id), []).append((at, status))
    return history


def _status_at(history: StatusHistory, object_type: str, pk: int, at: datetime, current: str) -> str:
    """The record's status at ``at``: before the first audited change after it, else the current one."""
    for changed_at, before in history.get((object_type, str(pk)), []):
        if changed_at > at:
            return before
    return current


def _record_label(records: dict[str, dict[int, str]], object_type: str, object_id: str) -> str:
    number = records.get(object_type, {}).get(int(object_id)) if str(object_id).isdigit() else None
    return f"{object_type.replace('_', ' ')} {number or object_id}"


def _event_entry(event: BusinessEvent, records, deliveries: Iterable[Delivery]) -> TimelineEntry:
    delivered = [
        {"delivery_id": d.pk, "subscription": d.subscription.name, "connector": d.subscription.connector.code,
         "status": d.status, "attempts": d.attempts}
        for d in deliveries
    ]
    data = {
        "event_id": str(event.event_id), "event_type": event.event_type, "schema_version": event.schema_version,
        "aggregate_type": event.aggregate_type, "aggregate_id": event.aggregate_id, "sequence": event.sequence,
        "occurred_at": event.occurred_at.isoformat(), "deliveries": delivered,
    }
    common = {
        "at": event.recorded_at, "object_type": event.aggregate_type, "object_id": event.aggregate_id,
        "correlation_id": event.correlation_id, "causation_id": event.causation_id, "actor": event.actor,
        "admin_url": _admin("canonical_businessevent", event.pk),
        "api_url": _api(_API_ROUTES.get(event.aggregate_type), event.aggregate_id), "_tiebreak": event.pk,
    }
    if event.event_type == "order.status_changed" and event.aggregate_type == "order":
        data.update({"from": event.status_from, "to": event.status_to})
        if event.reason:
            data["reason"] = event.reason
        title = (f"Status: {_STATUS_LABELS.get(event.status_from, event.status_from)} → "
                 f"{_STATUS_LABELS.get(event.status_to, event.status_to)}")
        return TimelineEntry(kind=Kind.STATUS_CHANGE, title=title, status=event.status_to or "", data=data, **common)
    if event.event_type == "order.created" and event.aggregate_type == "order" and event.created_status:
        # An order is created in its first status (validated, or credit_hold when held at once).
        data.update({"from": None, "to": event.created_status})
        title = f"Created: {_STATUS_LABELS.get(event.created_status, event.created_status)}"
        return TimelineEntry(kind=Kind.STATUS_CHANGE, title=title, status=event.created_status, data=data, **common)
    subject = _record_label(records, event.aggregate_type, event.aggregate_id)
    return TimelineEntry(kind=Kind.EVENT, title=f"{event.event_type} ({subject})", data=data, **common)


def _attempt_entry(attempt: DeliveryAttempt, delivery: Delivery, events: dict[int, BusinessEvent]) -> TimelineEntry:
    event = events[delivery.event_id]
    connector = delivery.subscription.connector
    outcome = attempt.get_outcome_display().lower()
    answer = f"HTTP {attempt.status_code}" if attempt.status_code else (attempt.error[:80] or "no answer")
    return TimelineEntry(
        at=attempt.started_at, kind=Kind.DELIVERY_ATTEMPT,
        title=f"{event.event_type} to {connector.name}, attempt {attempt.number}: {outcome} ({answer})",
        object_type="delivery", object_id=str(delivery.pk), correlation_id=attempt.correlation_id,
        causation_id=str(event.event_id), actor=f"connector:{connector.code}", status=attempt.outcome,
        data={"delivery_id": delivery.pk, "attempt": attempt.number, "event_id": str(event.event_id),
              "event_type": event.event_type, "subscription": delivery.subscription.name,
              "connector": connector.code, "status_code": attempt.status_code, "duration_ms": attempt.duration_ms,
              "error": attempt.error[:ERROR_SHOWN], "delivery_status": delivery.status},
        admin_url=_admin("connectors_delivery", delivery.pk), _tiebreak=attempt.pk,
    )


def _message_entry(message: InboundMessage, history: StatusHistory) -> TimelineEntry:
    system = message.system.code if message.system_id else "unknown"
    # Its first outcome (a message is processed as it arrives), which a reprocessing may have changed since.
    status = _status_at(history, "inbound_message", message.pk, message.received_at, message.status)
    return TimelineEntry(
        at=message.received_at, kind=Kind.INBOUND_MESSAGE,
        title=f"{message.message_type} from {system}: {_INBOUND_LABELS.get(status, status).lower()}",
        object_type="inbound_message", object_id=str(message.pk), correlation_id=message.correlation_id,
        actor=f"system:{system}", status=message.status,
        data={"message_id": message.pk, "message_type": message.message_type, "system": system,
              "status_then": status,
              "sender_message_id": message.sender_message_id, "processed_at":
              message.processed_at.isoformat() if message.processed_at else None,
              "response_status": message.response_status, "errors": (message.errors or [])[:5]},
        admin_url=_admin("connectors_inboundmessage", message.pk),
        api_url=_api("inbound-message-status", message.pk), _tiebreak=message.pk,
    )


def _exception_entry(exception: IntegrationException, history: StatusHistory) -> TimelineEntry:
    category = exception.get_category_display()
    # Many titles already start with their category ("Supplier date miss: ..."): say it once.
    title = exception.title if exception.title.lower().startswith(category.lower()) else f"{category}: {exception.title}"
    return TimelineEntry(
        at=exception.first_seen_at, kind=Kind.EXCEPTION, title=title,
        object_type="exception", object_id=str(exception.pk), correlation_id=exception.correlation_id,
        status=exception.status,
        data={"exception_id": exception.pk, "category": exception.category, "severity": exception.severity,
              "status_then": _status_at(history, "exception", exception.pk, exception.first_seen_at,
                                        exception.status),
              "team": exception.team, "occurrences": exception.occurrences,
              "assignee": exception.assignee.get_username() if exception.assignee_id else None,
              "last_seen_at": exception.last_seen_at.isoformat(),
              "resolved_at": exception.resolved_at.isoformat() if exception.resolved_at else None,
              "resolution_note": exception.resolution_note, "workflow_step": exception.workflow_step},
        admin_url=_admin("connectors_integrationexception", exception.pk), _tiebreak=exception.pk,
    )


def _audit_entry(entry: AuditEntry, records) -> TimelineEntry:
    if entry.actor_user_id:
        actor = f"user:{entry.actor_user.get_username()}"
    elif entry.actor_system_id:
        actor = f"system:{entry.actor_system.code}"
    else:
        actor = "hub"
    subject = _record_label(records, entry.object_type, entry.object_id)
    title = f"{entry.action} ({subject}) by {actor.partition(':')[2] or actor}"
    if entry.note:
        title += f": {entry.note[:120]}"
    return TimelineEntry(
        at=entry.at, kind=Kind.AUDIT, title=title, object_type=entry.object_type, object_id=entry.object_id,
        correlation_id=entry.correlation_id, actor=actor,
        data={"audit_id": entry.pk, "action": entry.action, "before": entry.before, "after": entry.after,
              "note": entry.note},
        admin_url=_admin("canonical_auditentry", entry.pk), _tiebreak=entry.pk,
    )
