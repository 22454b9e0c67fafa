"""Build the demo distributor, idempotently, and add scale orders on top.

Every part is planned from the seed and compared with what exists by natural
key (system code, account number, SKU, location code, PO and order number), so
a second run creates nothing and takes a few seconds.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Length

from canonical.demo import catalog, customers, products, stock, supply, systems
from canonical.demo.bulk import Progress, RowBatch
from canonical.demo.context import EVENT, WRITE_ORDER, HistoryContext
from canonical.demo.emit import Emitter
from canonical.demo.history import DEMO, SCALE, OrderHistory, Origin, Touch
from canonical.demo.rand import DemoRandom
from canonical.models import BusinessEvent, InventoryPosition, Order
from canonical.services.events import events_feed_number

EVENT_OCCURRED_AT = EVENT.fields.index("occurred_at")


@dataclass(frozen=True)
class DemoProfile:
    customers: int = 200
    products: int = 2000
    orders: int = 5000


def demo_build(*, profile: DemoProfile, seed: int, as_of: datetime, report=None) -> dict[str, int]:
    """Create whatever part of the demo distributor is missing; return {part: records created}."""
    created: dict[str, int] = {}

    def step(part: str, make) -> None:
        started = time.monotonic()
        created[part] = int(make())
        if report is not None and created[part]:
            report(f"  {part}: {created[part]} created ({time.monotonic() - started:.1f}s)")

    found = systems.systems_ensure()
    system_ids = {code: s.pk for code, s in found.items()}
    step("system-of-record domains", lambda: systems.system_of_record_ensure(found))
    accounts = customers.accounts_plan(seed=seed, total=profile.customers)
    step("customer accounts", lambda: customers.accounts_ensure(plans=accounts, systems=found, as_of=as_of))
    items = products.products_plan(seed=seed, total=profile.products)
    step("products", lambda: catalog.products_ensure(plans=items, systems=found))
    step("price lists", lambda: catalog.price_list_ensure(plans=items, systems=found, as_of=as_of.date(), seed=seed))
    contracts = catalog.contracts_plan(seed=seed, accounts=accounts, products=items, as_of=as_of.date())
    step("contract prices", lambda: catalog.contracts_ensure(plans=contracts, systems=found))
    stock.locations_ensure(systems=found)
    on_hand = stock.stock_plan(seed=seed, products=items)
    purchases = supply.replenishment_plan(seed=seed, products=items, stock=on_hand, as_of=as_of)
    step("inventory positions", lambda: stock.positions_ensure(
        plan=on_hand, in_transit=supply.in_transit_plan(purchases), systems=found, as_of=as_of, seed=seed
    ))
    step("replenishment purchase orders",
         lambda: supply.replenishment_ensure(plans=purchases, systems=system_ids, seed=seed))
    step("orders", lambda: history_write(origin=DEMO, first=1, count=profile.orders, seed=seed, as_of=as_of))
    return created


def scale_orders_add(
    *, count: int, seed: int, as_of: datetime, batch_size: int, full: bool = False, progress: Progress | None = None
) -> int:
    """Add ``count`` more historical orders after the scale orders that exist already.

    By default only the order aggregate is written (see OrderHistory); ``full`` adds
    shipments, invoices, returns and drop-ship POs, at about three times the rows.
    """
    return history_write(
        origin=SCALE, first=_next_index(SCALE), count=count, seed=seed, as_of=as_of, batch_size=batch_size,
        full=full, progress=progress,
    )


def _next_index(origin: Origin) -> int:
    prefix = origin.number(0)[: len("SO-") + len(origin.lead)]
    length = len(origin.number(0))
    last = (
        Order.objects.filter(number__startswith=prefix).annotate(length=Length("number")).filter(length=length)
        .aggregate(last=Max("number"))["last"]
    )
    return int(last[len(prefix):]) + 1 if last else 1


def history_write(
    *, origin: Origin, first: int, count: int, seed: int, as_of: datetime, batch_size: int = 1000,
    full: bool = True, progress: Progress | None = None,
) -> int:
    """Tell orders ``first`` .. ``first + count - 1`` of ``origin`` that do not exist yet, a batch per transaction."""
    if count <= 0:
        return 0
    context = HistoryContext.load(as_of=as_of)
    emit = Emitter(systems=context.systems)
    history = OrderHistory(context=context, emitter=emit, seed=seed, origin=origin, full=full, first=first,
                           count=count)
    batches = [(start, min(start + batch_size, first + count)) for start in range(first, first + count, batch_size)]
    # Scale orders are new by construction (numbered after the last one), so on PostgreSQL, where ids
    # come from sequences, the next batch can be told while the previous one is being copied in.
    if origin.chronological and connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _write_pipelined(history, batches, seed=seed, progress=progress)
    written = 0
    for start, stop in batches:
        numbers = {origin.number(index): index for index in range(start, stop)}
        with transaction.atomic():
            existing = set(Order.objects.filter(number__in=list(numbers)).values_list("number", flat=True))
            if len(existing) < len(numbers):
                emit.pools.new_transaction()
                for number, index in numbers.items():
                    if number not in existing:
                        history.tell(index)
                        written += 1
                _batch_write(emit.batch, history.handover(), context=history.ctx, seed=seed, label=(origin.key, start))
        if progress is not None:
            progress.advance(stop - start)
    return written


def _write_pipelined(history: OrderHistory, batches: list[tuple[int, int]], *, seed: int, progress) -> int:
    written = queue.Queue(maxsize=1)
    failure: list[BaseException] = []

    def writer() -> None:
        try:
            while (item := written.get()) is not None:
                if failure:
                    continue  # keep taking batches so the teller is never blocked; the error is raised there
                batch, touched, start, size = item
                try:
                    with transaction.atomic():
                        _batch_write(batch, touched, context=history.ctx, seed=seed, label=(history.origin.key, start))
                except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which re-raises it
                    failure.append(exc)
                    continue
                if progress is not None:
                    progress.advance(size)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=writer, name="seed-demo-writer", daemon=True)
    thread.start()
    try:
        for start, stop in batches:
            if failure:
                break
            history.emit.batch = RowBatch(WRITE_ORDER)
            for index in range(start, stop):
                history.tell(index)
            written.put((history.emit.batch, history.handover(), start, stop - start))
    finally:
        written.put(None)
        thread.join()
    if failure:
        raise failure[0]
    return sum(stop - start for start, stop in batches)


def _batch_write(batch: RowBatch, touched: list[Touch], *, context: HistoryContext, seed: int, label: tuple) -> None:
    """Write one batch in the caller's transaction: reservations settled, events in time order."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Losing the last batches in a crash only means running the command again.
            cursor.execute("SET LOCAL synchronous_commit TO off")
    _reservations_settle(batch, touched, context=context, seed=seed, label=label)
    batch.rows[EVENT].sort(key=itemgetter(EVENT_OCCURRED_AT))
    batch.flush()
    # History is written as already handed on (no subscriber is sent it); it joins the pull feed here.
    events_feed_number(relayed_only=True)


def _reservations_settle(
    batch: RowBatch, touched: list[Touch], *, context: HistoryContext, seed: int, label: tuple
) -> None:
    """Move the reserved figure of every position the batch allocated from, with its inventory.changed event."""
    from canonical.serializers.inventory import InventoryPositionSerializer, QuantitiesSerializer

    if not touched:
        return
    by_id = {touch.position.id: touch for touch in touched}
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {InventoryPosition._meta.db_table} SET reserved = reserved + %s WHERE id = %s",
            [(str(touch.after - touch.before), pk) for pk, touch in by_id.items()],
        )
    last = dict(
        BusinessEvent.objects.filter(aggregate_type="inventory_position", aggregate_id__in=[str(pk) for pk in by_id])
        .values_list("aggregate_id").annotate(Max("sequence")).values_list("aggregate_id", "sequence__max")
    )
    positions = list(
        InventoryPosition.objects.filter(pk__in=by_id).select_related("product", "location", "last_updated_by")
    )
    befores = [
        InventoryPosition(on_hand=p.on_hand, reserved=by_id[p.pk].before, in_transit=p.in_transit) for p in positions
    ]
    emit = Emitter(systems=context.systems)
    emit.batch = batch
    rng = DemoRandom.for_part(seed, "reservations", *label)
    emit.begin_story(rng, rng.correlation_id())
    for position, data, before, after in zip(
        positions,
        InventoryPositionSerializer(positions, many=True).data,
        QuantitiesSerializer(befores, many=True).data,
        QuantitiesSerializer(positions, many=True).data,
        strict=True,
    ):
        at = max(by_id[position.pk].held_at, position.last_updated_at)
        emit.sequence_continue("inventory_position", position.pk, last.get(str(position.pk), 0))
        emit.event("inventory.changed", "inventory_position", position.pk, {
            "position": dict(data), "before": dict(before), "after": dict(after), "changed": ["reserved"],
            "as_of": at.isoformat(),
        }, at, source=None)
