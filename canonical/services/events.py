"""Writing business events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.events import EVENT_TYPES
from canonical.models import AuditEntry, BusinessEvent, EventFeed
from canonical.services.inserts import rows_insert, write_batch


class UnknownEventType(ValueError):
    pass


def event_record(
    *,
    event_type: str,
    aggregate_type: str,
    aggregate_id: Any,
    payload: dict,
    actor: Actor,
    occurred_at=None,
) -> BusinessEvent:
    """Append one event for an aggregate. Must run inside the transaction that made the change.

    The caller holds a row lock on the aggregate (or has just created it), so the
    next sequence number cannot be taken twice; the unique constraint backs that up.
    """
    if event_type not in EVENT_TYPES:
        raise UnknownEventType(f"'{event_type}' is not a registered business event type.")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record must be called inside transaction.atomic() with the change it records.")
    event = BusinessEvent(
        event_type=event_type,
        schema_version=EVENT_TYPES[event_type],
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        sequence=0,  # set by the INSERT below
        payload=payload,
        correlation_id=actor.correlation_id,
        causation_id=actor.causation_id,
        source_system=actor.system,
        actor=actor.label,
        occurred_at=occurred_at or timezone.now(),
    )
    batch = write_batch()
    if batch is None:
        _events_insert([event])
    else:  # the batch's events go in one INSERT when it ends
        batch.rows("events", lambda events: _events_insert(events, read_back=False)).append(event)
    return event


def _events_insert(events: list[BusinessEvent], *, read_back: bool = True) -> None:
    """One INSERT for all ``events``, each taking the next sequence of its aggregate in the statement itself."""
    table, quote = BusinessEvent._meta.db_table, connection.ops.quote_name
    sequence, aggregate_type, aggregate_id = quote("sequence"), quote("aggregate_type"), quote("aggregate_id")
    next_sequence = (f"SELECT COALESCE(MAX({sequence}), 0) + %s FROM {quote(table)} "
                     f"WHERE {aggregate_type} = %s AND {aggregate_id} = %s")
    # The same over the incoming row (the JSON form of a batched INSERT), whose sequence holds k.
    next_over_row = (f"(SELECT COALESCE(MAX(e.{sequence}), 0) FROM {quote(table)} AS e "
                     f"WHERE e.{aggregate_type} = r.{aggregate_type} AND e.{aggregate_id} = r.{aggregate_id}) "
                     f"+ r.{sequence}")
    # The statement's subqueries all see the table as it was before it: the k-th event of an
    # aggregate in the batch takes the aggregate's last sequence + k.
    taken: dict[tuple[str, str], int] = {}
    computed = []
    for event in events:
        aggregate = (event.aggregate_type, event.aggregate_id)
        taken[aggregate] = taken.get(aggregate, 0) + 1
        event.sequence = taken[aggregate]
        computed.append({"sequence": (next_sequence, [taken[aggregate], *aggregate])})
    rows_insert(events, computed=computed, over_row={"sequence": next_over_row}, read_back=read_back)
    if not read_back:
        for event in events:
            event.sequence = 0  # not read back: unknown here, as the id is


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> AuditEntry:
    user = actor.user if actor.user is not None and getattr(actor.user, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor_user=user,
        actor_system=actor.system,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        note=note,
        correlation_id=actor.correlation_id,
    )


def events_feed_number(*, event_ids: list[int] | None = None, relayed_only: bool = False) -> int:
    """Give feed positions to events that have none, in id order; return how many were numbered.

    ``event_ids`` limits it to those events (the relay's batch); ``relayed_only`` to events
    already handed on (history written in bulk, which no subscriber is sent). Must run in the
    transaction that makes the events visible to the feed: the EventFeed row stays locked
    until it commits, so positions follow commit order.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Feed positions must be given inside the transaction that hands the events on.")
    if event_ids is not None and not event_ids:
        return 0
    EventFeed.objects.get_or_create(pk=1)
    feed = EventFeed.objects.select_for_update().get(pk=1)
    table = BusinessEvent._meta.db_table
    where, params = ["feed_position IS NULL"], []
    if event_ids is not None:
        where.append(f"id IN ({', '.join(['%s'] * len(event_ids))})")
        params.extend(event_ids)
    if relayed_only:
        where.append("relayed_at IS NOT NULL")
    # One statement for any number of rows (PostgreSQL and SQLite 3.33+ both take UPDATE ... FROM).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET feed_position = %s + numbered.rn FROM ("
            f"SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM {table} WHERE {' AND '.join(where)}"
            f") AS numbered WHERE {table}.id = numbered.id",
            [feed.last_position, *params],
        )
        numbered = cursor.rowcount
    if numbered:
        EventFeed.objects.filter(pk=1).update(last_position=feed.last_position + numbered)
    return numbered
