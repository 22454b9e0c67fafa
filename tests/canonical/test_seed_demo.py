"""seed_demo: a believable, consistent, idempotent demo distributor, and scale orders on top."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Max, Min, Q, Sum

from canonical.demo import builder
from canonical.demo.context import HistoryContext
from canonical.demo.customers import SIGNATURE_ACCOUNT, SIGNATURE_DUPLICATE, accounts_plan
from canonical.demo.emit import Emitter
from canonical.demo.history import DEMO, OrderHistory
from canonical.demo.products import products_plan
from canonical.demo.systems import SYSTEM_OF_RECORD, SYSTEMS
from canonical.models import (
    BusinessEvent,
    Customer,
    Domain,
    ExternalRef,
    InventoryPosition,
    Invoice,
    InvoiceStatus,
    Location,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    PurchaseOrder,
    ReturnAuthorization,
    ShipmentLine,
    SystemOfRecord,
)

pytestmark = pytest.mark.django_db

AS_OF = "2026-11-20T12:00"
SMALL = ["--customers", "30", "--products", "80", "--orders", "150", "--as-of", AS_OF]
OPEN_BEFORE_SHIPPING = ["received", "validated", "credit_hold", "released", "allocated", "backordered",
                        "submitted_to_erp", "in_fulfilment"]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def canonical_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in apps.get_app_config("canonical").get_models()}


def test_running_twice_leaves_the_same_counts():
    first = seed(*SMALL)
    counts = canonical_counts()
    second = seed(*SMALL)
    assert canonical_counts() == counts
    assert "created 150 orders" in first.replace(",", "") or "150 orders" in first
    assert "everything was already there" in second
    assert counts["Order"] == 150 and counts["Customer"] == 30 and counts["Product"] == 80


def test_systems_and_the_system_of_record_table_are_complete():
    seed(*SMALL)
    owners = dict(SystemOfRecord.objects.values_list("domain", "system__code"))
    assert set(owners) == set(Domain.values)
    assert owners == {domain: code for domain, (code, _) in SYSTEM_OF_RECORD.items()}
    assert set(SYSTEMS) <= set(apps.get_model("canonical", "System").objects.values_list("code", flat=True))
    assert Location.objects.count() == 3


def test_every_status_appears_and_every_order_has_a_reference_and_events():
    seed(*SMALL)
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    order_ids = set(Order.objects.values_list("id", flat=True))
    referenced = set(ExternalRef.objects.filter(entity_type="order").values_list("object_id", flat=True))
    with_events = {int(i) for i in BusinessEvent.objects.filter(aggregate_type="order", event_type="order.created")
                   .values_list("aggregate_id", flat=True)}
    assert order_ids <= referenced
    assert order_ids == with_events
    # Every order reached its status through events: one status event per step after "received".
    closed = Order.objects.filter(status="closed").first()
    steps = list(BusinessEvent.objects.filter(aggregate_type="order", aggregate_id=str(closed.pk))
                 .order_by("sequence").values_list("payload__to", flat=True))
    assert steps[0] is None and steps[-1] == "closed"


def test_event_sequences_run_from_one_without_gaps_per_aggregate():
    seed(*SMALL, "--scale", "40")
    per_aggregate = BusinessEvent.objects.values("aggregate_type", "aggregate_id").annotate(
        n=Count("id"), low=Min("sequence"), high=Max("sequence")
    )
    assert per_aggregate.count() > 150
    assert not per_aggregate.exclude(low=1, high=F("n")).exists()
    assert BusinessEvent.objects.filter(occurred_at__gt=datetime(2026, 11, 20, 12, tzinfo=UTC)).filter(
        aggregate_type__in=["order", "shipment", "invoice", "return", "purchase_order", "credit_memo"]
    ).count() == 0


def test_line_quantities_agree_with_the_order_status():
    seed(*SMALL)
    lines = OrderLine.objects.all()
    assert not lines.filter(order__status__in=OPEN_BEFORE_SHIPPING + ["cancelled"], quantity_shipped__gt=0).exists()
    assert not lines.filter(order__status__in=["shipped", "invoiced", "closed"]).exclude(
        quantity_shipped=F("quantity_ordered")).exists()
    assert not lines.filter(order__status__in=["invoiced", "closed"]).exclude(
        quantity_invoiced=F("quantity_shipped")).exists()
    assert not Order.objects.filter(status="backordered").exclude(lines__quantity_backordered__gt=0).exists()
    assert not Order.objects.filter(status="partially_shipped").exclude(lines__quantity_shipped__gt=0).exists()
    assert not lines.filter(order__status="cancelled").exclude(quantity_allocated=0, quantity_backordered=0).exists()
    shipped = dict(ShipmentLine.objects.values("order_line").annotate(total=Sum("quantity"))
                   .values_list("order_line", "total"))
    for line in lines.filter(is_drop_ship=False, quantity_shipped__gt=0):
        assert shipped[line.pk] == line.quantity_shipped
    # What the hub reserved for open orders is what the positions show as reserved.
    for position in InventoryPosition.objects.annotate(
        held=Sum("reservations__quantity", filter=Q(reservations__status="active"))
    ):
        assert (position.held or 0) == position.reserved <= position.on_hand


def test_invoices_returns_and_purchase_orders_are_there():
    seed(*SMALL)
    statuses = set(Invoice.objects.values_list("status", flat=True))
    assert {InvoiceStatus.PAID, InvoiceStatus.POSTED, InvoiceStatus.DISPUTED} <= statuses
    assert Invoice.objects.filter(status="disputed").exclude(dispute_reason="").count() >= 2
    assert ReturnAuthorization.objects.filter(status="credited", credit_memos__isnull=False).exists()
    kinds = set(PurchaseOrder.objects.values_list("kind", flat=True))
    assert kinds == {"replenishment", "drop_ship"}
    assert PurchaseOrder.objects.filter(acknowledgements__revision=2).exists() or PurchaseOrder.objects.filter(
        ship_notices__isnull=False).exists()
    assert InventoryPosition.objects.filter(on_hand=0).exists()
    assert InventoryPosition.objects.filter(in_transit__gt=0).exists()


def test_customers_come_in_hierarchies_with_likely_duplicates_across_crm_and_erp():
    seed(*SMALL)
    assert Customer.objects.filter(parent__isnull=False, is_ship_to=True, is_sold_to=False).exists()
    original = Customer.objects.get(name=SIGNATURE_ACCOUNT)
    duplicate = Customer.objects.get(name=SIGNATURE_DUPLICATE)
    assert original.tax_id == duplicate.tax_id != ""
    assert original.normalised_name == duplicate.normalised_name
    systems = lambda c: set(ExternalRef.objects.filter(entity_type="customer", object_id=c.pk)  # noqa: E731
                            .values_list("system__code", flat=True))
    assert systems(original) == {"crm", "erp"}
    assert systems(duplicate) == {"erp"}
    assert Customer.objects.filter(credit_status="hold").exists()
    assert Customer.objects.filter(credit_status="watch").exists()


def test_scale_adds_exactly_that_many_orders_with_lines_and_events_each_run():
    seed(*SMALL)
    before = Order.objects.count()
    out = seed(*SMALL, "--scale", "500", "--batch-size", "200")
    assert "Added 500 scale orders" in out
    scale_orders = Order.objects.filter(number__startswith="SO-2")
    assert Order.objects.count() == before + 500 == before + scale_orders.count()
    assert not scale_orders.annotate(lines_n=Count("lines")).filter(lines_n=0).exists()
    ids = {str(pk) for pk in scale_orders.values_list("id", flat=True)}
    created = set(BusinessEvent.objects.filter(aggregate_type="order", event_type="order.created",
                                               aggregate_id__in=ids).values_list("aggregate_id", flat=True))
    assert created == ids
    seed(*SMALL, "--scale", "500", "--batch-size", "200")
    assert Order.objects.filter(number__startswith="SO-2").count() == 1000
    statuses = Counter(scale_orders.values_list("status", flat=True))
    assert statuses["closed"] > statuses["received"]  # a long history is mostly closed


def test_same_seed_and_moment_give_the_same_orders():
    seed("--customers", "20", "--products", "40", "--orders", "0", "--as-of", AS_OF)

    def tell_orders() -> list[tuple]:
        with transaction.atomic():
            context = HistoryContext.load(as_of=datetime(2026, 11, 20, 12, tzinfo=UTC))
            emit = Emitter(systems=context.systems)
            history = OrderHistory(context=context, emitter=emit, seed=7, origin=DEMO)
            for index in range(1, 41):
                history.tell(index)
            emit.batch.flush()
            rows = list(Order.objects.order_by("number").values_list(
                "number", "status", "total_amount", "customer__account_number", "placed_at"))
            rows += list(OrderLine.objects.order_by("order__number", "line_number").values_list(
                "order__number", "product__sku", "quantity_ordered", "quantity_shipped", "unit_price"))
            # Ids come from sequences (not rolled back on PostgreSQL); everything else must repeat exactly.
            rows += list(BusinessEvent.objects.filter(aggregate_type="order").order_by("event_id").values_list(
                "event_id", "event_type", "sequence", "occurred_at", "correlation_id", "causation_id",
                "payload__order__number", "payload__to"))
            transaction.set_rollback(True)
        return rows

    assert tell_orders() == tell_orders()
    assert accounts_plan(seed=1, total=50) == accounts_plan(seed=1, total=50) != accounts_plan(seed=2, total=50)
    assert products_plan(seed=1, total=60) == products_plan(seed=1, total=60) != products_plan(seed=2, total=60)


@pytest.mark.parametrize("args, message", [
    (["--customers", "0"], "--customers must be at least 1"),
    (["--orders", "-1"], "--orders cannot be negative"),
    (["--as-of", "yesterday"], "is not an ISO date"),
    (["--products", "100000"], "distinct products"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
])
def test_bad_options_are_refused_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        seed(*args)
    assert not Product.objects.exists()


def test_default_profile_builds_the_full_size_distributor():
    """Exactly what `make run` loads."""
    out = seed("--as-of", AS_OF)
    assert "5000 orders" in out
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    assert Customer.objects.count() == 200
    assert Product.objects.count() == 2000
    assert Product.objects.filter(status="discontinued").exists()
    assert Product.objects.filter(status="inactive").exists()
    assert Product.objects.filter(drop_ship=True).exists()
    assert Customer.objects.filter(parent__isnull=True).count() >= 40
    duplicates = Customer.objects.values("tax_id").exclude(tax_id="").annotate(n=Count("id")).filter(n__gt=1)
    assert duplicates.count() >= 4
    assert InventoryPosition.objects.values("location").distinct().count() == 3


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_scale_on_postgresql_copies_batches_on_a_second_connection_while_telling_the_next(monkeypatch):
    # Outside a transaction a scale run pipelines: another thread copies each batch in.
    pipelined = []
    original = builder._write_pipelined
    monkeypatch.setattr(builder, "_write_pipelined", lambda *a, **kw: pipelined.append(1) or original(*a, **kw))
    seed(*SMALL, "--orders", "20", "--scale", "450", "--batch-size", "100")
    assert pipelined == [1]
    scale_orders = Order.objects.filter(number__startswith="SO-2")
    assert scale_orders.count() == 450
    assert sorted(scale_orders.values_list("number", flat=True))[-1] == "SO-2000000450"
    ids = {str(pk) for pk in scale_orders.values_list("id", flat=True)}
    assert set(BusinessEvent.objects.filter(aggregate_type="order", aggregate_id__in=ids, sequence=1)
               .values_list("aggregate_id", flat=True)) == ids
    for position in InventoryPosition.objects.annotate(
        held=Sum("reservations__quantity", filter=Q(reservations__status="active"))
    ):
        assert (position.held or 0) == position.reserved
