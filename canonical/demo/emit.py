"""Row and event emission shared by the history and supply generators.

Events written here carry what ``event_record`` would give them (registered
type, its schema version, a per-aggregate sequence from 1) but are inserted in
bulk: every aggregate in a story is new, so its sequence is counted in memory.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.demo.bulk import IdPool, RowBatch
from canonical.demo.context import EVENT, EXTERNAL_REF, WRITE_ORDER
from canonical.demo.rand import DemoRandom
from canonical.events import EVENT_TYPES
from canonical.models import (
    AdvanceShipNotice,
    BusinessEvent,
    CreditMemo,
    Invoice,
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderLine,
    ReturnAuthorization,
    Shipment,
    SupplierAcknowledgement,
)

HUB_ACTOR = "hub"


def cents(value: int) -> str:
    """Integer cents as the decimal text the database takes for a money column."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"


class IdPools:
    """One pool per table whose rows are referenced before they are written."""

    def __init__(self):
        self.order = IdPool(Order)
        self.order_line = IdPool(OrderLine, block=80_000)
        self.shipment = IdPool(Shipment)
        self.invoice = IdPool(Invoice)
        self.rma = IdPool(ReturnAuthorization, block=2_000)
        self.credit_memo = IdPool(CreditMemo, block=2_000)
        self.purchase_order = IdPool(PurchaseOrder, block=2_000)
        self.po_line = IdPool(PurchaseOrderLine, block=10_000)
        self.acknowledgement = IdPool(SupplierAcknowledgement, block=2_000)
        self.asn = IdPool(AdvanceShipNotice, block=2_000)

    def new_transaction(self) -> None:
        for pool in vars(self).values():
            pool.new_transaction()


class Emitter:
    """Appends rows and events to the current batch."""

    def __init__(self, *, systems: dict[str, int]):
        self.systems = systems
        self.pools = IdPools()
        self.batch = RowBatch(WRITE_ORDER)
        self.rng = DemoRandom(0)
        self.correlation_id = ""
        self._sequences: dict[tuple[str, int], int] = {}
        self.actors = {pk: f"system:{code}" for code, pk in systems.items()}

    def begin_story(self, rng: DemoRandom, correlation_id: str) -> None:
        self.rng = rng
        self.correlation_id = correlation_id
        self._sequences = {}

    def sequence_continue(self, aggregate_type: str, aggregate_id: int, last: int) -> None:
        """The aggregate already has events up to ``last``: number the next ones after it."""
        self._sequences[(aggregate_type, aggregate_id)] = last

    def row(self, table, row: tuple) -> None:
        self.batch.add(table, row)

    def ref(self, system: str, entity_type: str, external_id: str, object_id: int, at: datetime) -> None:
        self.batch.add(EXTERNAL_REF, (self.systems[system], entity_type, external_id, object_id, at, at))

    def event(
        self, event_type: str, aggregate_type: str, aggregate_id: int, payload: dict, at: datetime, *,
        source: str | None, actor: str | None = None, causation: str = "",
    ) -> str:
        """Append one event; return its id (the causation id of what it leads to)."""
        key = (aggregate_type, aggregate_id)
        sequence = self._sequences.get(key, 0) + 1
        self._sequences[key] = sequence
        rng = self.rng
        event_id = rng.uuid7(at)
        recorded = at + timedelta(seconds=1 + 89 * rng.random())
        source_id = self.systems[source] if source else None
        self.batch.add(EVENT, (
            event_id, event_type, EVENT_TYPES[event_type], aggregate_type, str(aggregate_id), sequence, payload,
            self.correlation_id, causation, source_id, actor or (self.actors[source_id] if source_id else HUB_ACTOR),
            at, recorded, recorded,
        ))
        return event_id


def new_aggregates_events_record(
    *, event_type: str, aggregate_type: str, payloads: dict[int, dict], actor: Actor,
    occurred_at: dict[int, datetime] | datetime | None = None,
) -> int:
    """The first event of many aggregates created in bulk in the caller's transaction.

    The bulk counterpart of ``event_record`` for records that did not exist a moment
    ago: each is sequence 1 of its aggregate, and the unique (aggregate, sequence)
    constraint still refuses a second first event.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Events must be written inside the transaction that created their records.")
    now = timezone.now()
    events = [
        BusinessEvent(
            event_type=event_type, schema_version=EVENT_TYPES[event_type], aggregate_type=aggregate_type,
            aggregate_id=str(pk), sequence=1, payload=payload, correlation_id=actor.correlation_id,
            causation_id=actor.causation_id, source_system=actor.system, actor=actor.label,
            occurred_at=(occurred_at.get(pk, now) if isinstance(occurred_at, dict) else occurred_at) or now,
        )
        for pk, payload in payloads.items()
    ]
    BusinessEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)
