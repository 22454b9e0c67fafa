"""Smoke and behaviour tests for every admin registered on the site, and the canonical admins' specifics."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Task
from django_q.tasks import async_task

from canonical.admin.paginators import EstimatedCountPaginator
from canonical.context import Actor
from canonical.models import (
    Address,
    AdvanceShipNotice,
    AdvanceShipNoticeLine,
    AuditEntry,
    BusinessEvent,
    Contact,
    ContractPrice,
    CreditMemo,
    CustomerGroup,
    ExternalRef,
    InventoryPosition,
    Invoice,
    InvoiceLine,
    Order,
    OrderLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    ReturnAuthorization,
    ReturnLine,
    Shipment,
    ShipmentLine,
    ShipmentMilestone,
    SupplierAcknowledgement,
    SupplierAcknowledgementLine,
)
from canonical.services.events import audit_record, event_record
from connectors.models import (
    Delivery,
    DeliveryAttempt,
    InboundMessage,
    InboundMessageRevision,
    Mapping,
    RateWindow,
)
from governance.services import api_key_issue, consumer_create
from hub.models import IdempotencyRecord
from hub.tasks import ensure_schedules, worker_heartbeat
from tests.factories import (
    ContractPriceFactory,
    CustomerFactory,
    ExternalRefFactory,
    IntegrationExceptionFactory,
    InventoryPositionFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    OutboundConnectorFactory,
    PriceListItemFactory,
    ProductFactory,
    SubscriptionFactory,
    SystemFactory,
    SystemOfRecordFactory,
    governance_registry_sample,
)
from tests.staff import staff_client

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
OUR_APPS = {"canonical", "connectors", "governance", "hub"}
# Apps the dataset fixture fills; any other app's admin needs rows from its own tests to be checked here.
POPULATED_APPS = OUR_APPS | {"auth", "django_q"}
OURS = [(model, model_admin) for model, model_admin in REGISTERED if model._meta.app_label in OUR_APPS]


def _id(item) -> str:
    return item[0]._meta.label


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture(scope="module")
def _module_dataset(django_db_setup, django_db_blocker):
    """The dataset, built once for the module inside a transaction that is rolled back at its end.

    Each test runs in a savepoint inside that transaction (pytest-django's ``db`` nests), so what
    a test changes is undone after it and the next test sees the dataset as built. The admin user
    is the one pytest-django's ``admin_user`` fixture then finds (same username and password).
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "password")
            yield _dataset_build(admin)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def dataset(db, _module_dataset, admin_user):
    """One row (at least) of every model registered in the admin, linked the way real data is."""
    assert admin_user.pk == _module_dataset["admin_user"].pk
    return _module_dataset


def _dataset_build(admin_user) -> dict:
    now = timezone.now()
    erp = SystemFactory(code="erp", kind="erp")
    supplier = SystemFactory(code="acme", kind="supplier")
    SystemOfRecordFactory(domain="orders", system=erp)
    group = CustomerGroup.objects.create(code="contractors", name="Contractors")
    customer = CustomerFactory(group=group)
    ship_to = CustomerFactory(parent=customer, is_sold_to=False, is_bill_to=False)
    Address.objects.create(customer=customer, line1="1 Main St", city="Springfield", is_default=True)
    Contact.objects.create(customer=customer, name="Pat Buyer", email="pat@example.com", is_primary=True)
    product = ProductFactory()
    location = LocationFactory(code="wh-east")
    item = PriceListItemFactory(product=product)
    ContractPrice.objects.create(customer=customer, product=product, unit_price=Decimal("8.50"),
                                 valid_from=date.today())
    position = InventoryPositionFactory(product=product, location=location, on_hand=Decimal("40"),
                                        reserved=Decimal("5"), last_updated_by=erp)
    order = OrderFactory(customer=customer, ship_to=ship_to, source_system=erp)
    # line_number given: the factory's sequence runs on across the tests a worker ran before this module.
    line = OrderLineFactory(order=order, line_number=1, product=product, location=location, quantity_shipped=Decimal("2"),
                            quantity_returned=Decimal("1"))
    Reservation.objects.create(order_line=line, position=position, quantity=Decimal("3"))
    shipment = Shipment.objects.create(number="SH-1", order=order, location=location, carrier="UPS")
    ShipmentLine.objects.create(shipment=shipment, order_line=line, quantity=Decimal("2"))
    ShipmentMilestone.objects.create(shipment=shipment, code="dispatched", occurred_at=now, source_system=erp)
    invoice = Invoice.objects.create(number="INV-1", customer=customer, order=order, shipment=shipment,
                                     amount=Decimal("20"), issued_at=now, due_date=date.today())
    InvoiceLine.objects.create(invoice=invoice, order_line=line, product=product, quantity=Decimal("2"),
                               unit_price=Decimal("10"), amount=Decimal("20"))
    rma = ReturnAuthorization.objects.create(number="RMA-1", order=order, customer=customer, requested_at=now)
    ReturnLine.objects.create(rma=rma, order_line=line, quantity_requested=Decimal("1"))
    CreditMemo.objects.create(number="CM-1", customer=customer, rma=rma, invoice=invoice, amount=Decimal("10"),
                              issued_at=now)
    po = PurchaseOrder.objects.create(number="PO-1", supplier=supplier, ship_to_location=location, order=order,
                                      ordered_at=now, requested_date=date.today())
    po_line = PurchaseOrderLine.objects.create(purchase_order=po, line_number=1, product=product,
                                               quantity=Decimal("10"), order_line=line)
    ack = SupplierAcknowledgement.objects.create(purchase_order=po, acknowledged_at=now)
    SupplierAcknowledgementLine.objects.create(acknowledgement=ack, po_line=po_line, confirmed_quantity=Decimal("10"))
    asn = AdvanceShipNotice.objects.create(number="ASN-1", purchase_order=po, shipped_at=now)
    AdvanceShipNoticeLine.objects.create(asn=asn, po_line=po_line, quantity=Decimal("10"))
    ExternalRefFactory(system=erp, entity_type="order", external_id="ERP-ORDER-1", object_id=order.pk)
    ExternalRefFactory(system=erp, entity_type="product", external_id="ERP-SKU-1", object_id=product.pk)
    actor = Actor(system=erp)
    with transaction.atomic():
        event_record(event_type="order.created", aggregate_type="order", aggregate_id=order.pk,
                     payload={"number": order.number}, actor=actor)
    audit_record(actor=Actor(user=admin_user), action="order.note", object_type="order", object_id=order.pk,
                 before={"status": "received"}, after={"status": "validated"})
    consumer = consumer_create(name="ERP connector", system=erp, actor=Actor.hub())
    api_key_issue(consumer=consumer, actor=Actor.hub())
    governance_registry_sample(consumer=consumer, reviewer=admin_user)
    _connectors_sample(erp=erp, order=order, user=admin_user, now=now)
    from canonical.models import DuplicateDismissal  # the data stewards' decisions (hub onboarding)

    DuplicateDismissal.objects.create(customer_low=customer, customer_high=ship_to, reason="a ship-to, not a twin",
                                      decided_by=admin_user)
    worker_heartbeat()
    IdempotencyRecord.objects.create(
        scope=f"consumer:{consumer.pk}", key="order-1", method="POST", path="/api/v1/orders", fingerprint="0" * 64,
        status="completed", response_status=201, response_body={"order": {"id": order.pk}}, locked_at=now,
        completed_at=now, expires_at=now + timedelta(days=1),
    )
    ensure_schedules()
    Group.objects.get_or_create(name="operations")
    Task.objects.create(id=uuid.uuid4().hex, name="ok-task", func="hub.tasks.worker_heartbeat", started=now,
                        stopped=now, success=True)
    Task.objects.create(id=uuid.uuid4().hex, name="bad-task", func="hub.tasks.worker_heartbeat", started=now,
                        stopped=now, success=False)
    async_task("hub.tasks.worker_heartbeat")
    assert OrmQ.objects.exists()
    return {"order": order, "customer": customer, "product": product, "position": position, "erp": erp,
            "item": item, "consumer": consumer, "admin_user": admin_user}


def _connectors_sample(*, erp, order, user, now) -> None:
    """One row of every connectors model: a connector with its mapping, rate window and subscription,
    a delivery with an attempt, an inbound message with a staff revision, and an exception."""
    connector = OutboundConnectorFactory(system=erp, rate_limit_per_second=5)
    Mapping.objects.create(name="erp-order-out", direction="outbound", spec={"fields": {"id": "id"}})
    RateWindow.objects.create(connector=connector, slot=0, count=1)
    subscription = SubscriptionFactory(connector=connector)
    event = BusinessEvent.objects.filter(aggregate_type="order", aggregate_id=order.pk).first()
    delivery = Delivery.objects.create(subscription=subscription, event=event, status="dead", attempts=1,
                                       next_attempt_at=now, last_status_code=500)
    DeliveryAttempt.objects.create(delivery=delivery, number=1, started_at=now, status_code=500, outcome="dead")
    message = InboundMessage.objects.create(system=erp, message_type="order.status", body='{"status": "x"}',
                                            status="failed", authenticated=True)
    InboundMessageRevision.objects.create(message=message, body='{"status": "allocated"}', diff="-x\n+allocated",
                                          edited_by=user)
    IntegrationExceptionFactory(delivery=delivery, inbound_message=message, connector=connector, order=order)


def _whole_table_counts(queries) -> list[str]:
    """COUNT queries without a LIMIT: the ones that read every matching row of a table."""
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "LIMIT" not in q["sql"].upper()]


# --- every registered admin -------------------------------------------------------------------


@pytest.mark.parametrize("entry", REGISTERED, ids=_id)
def test_changelist_renders_with_data(admin_client, dataset, entry):
    model, _ = entry
    response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200, model._meta.label
    if model._meta.app_label in POPULATED_APPS:
        assert response.context["cl"].result_count >= 1, f"add a {model._meta.label} row to the dataset fixture"


@pytest.mark.parametrize("entry", REGISTERED, ids=_id)
def test_change_page_renders(admin_client, dataset, entry):
    model, _ = entry
    obj = model._default_manager.first()
    if obj is None and model._meta.app_label not in POPULATED_APPS:
        pytest.skip(f"the dataset fixture has no {model._meta.label} row")
    assert obj is not None, f"add a {model._meta.label} row to the dataset fixture"
    response = admin_client.get(_url(model, "change", obj.pk))
    assert response.status_code == 200, model._meta.label


@pytest.mark.parametrize("entry", OURS, ids=_id)
def test_add_page_renders_or_is_refused(admin_client, dataset, rf, admin_user, entry):
    model, model_admin = entry
    request = rf.get("/")
    request.user = admin_user
    response = admin_client.get(_url(model, "add"))
    assert response.status_code == (200 if model_admin.has_add_permission(request) else 403)


@pytest.mark.parametrize("entry", [e for e in OURS if e[1].search_fields], ids=_id)
def test_search_runs(admin_client, dataset, entry):
    model, _ = entry
    for term in ("ERP", "1", str(uuid.uuid4())):
        response = admin_client.get(_url(model, "changelist"), {"q": term})
        assert response.status_code == 200, (model._meta.label, term)


@pytest.mark.parametrize("entry", OURS, ids=_id)
def test_every_list_filter_choice_runs(admin_client, dataset, entry):
    model, _ = entry
    url = _url(model, "changelist")
    response = admin_client.get(url)
    for spec in response.context["cl"].filter_specs:
        for choice in spec.choices(response.context["cl"]):
            query = choice["query_string"]
            assert admin_client.get(url + query).status_code == 200, (model._meta.label, query)


def test_site_is_branded(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert admin.site.site_header == "Distribution Integration Hub"
    assert b"Distribution Integration Hub" in response.content


# --- read-only history --------------------------------------------------------------------------


@pytest.mark.parametrize("model", [BusinessEvent, AuditEntry], ids=lambda m: m.__name__)
def test_history_admins_refuse_add_change_and_delete(admin_client, dataset, model):
    obj = model.objects.first()
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "change", obj.pk), {"note": "edited"}).status_code == 403
    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
    page = admin_client.get(_url(model, "change", obj.pk))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    changelist = admin_client.get(_url(model, "changelist"))
    assert "delete_selected" not in dict(changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request))


def test_event_search_by_event_id(admin_client, dataset):
    event = BusinessEvent.objects.get()
    response = admin_client.get(_url(BusinessEvent, "changelist"), {"q": str(event.event_id)})
    assert list(response.context["cl"].result_list) == [event]
    response = admin_client.get(_url(BusinessEvent, "changelist"), {"q": str(uuid.uuid4())})
    assert list(response.context["cl"].result_list) == []


# --- no COUNT(*) over big tables ----------------------------------------------------------------

BIG_TABLES = [Order, BusinessEvent, InventoryPosition, ExternalRef, AuditEntry]


@pytest.mark.parametrize("model", BIG_TABLES, ids=lambda m: m.__name__)
def test_big_changelists_never_count_the_whole_table(admin_client, dataset, model):
    assert isinstance(admin.site._registry[model].get_paginator(None, model.objects.all(), 10),
                      EstimatedCountPaginator)
    for params in ({}, {"q": "1"}, {"o": "1"}):
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client.get(_url(model, "changelist"), params)
        assert response.status_code == 200
        table = model._meta.db_table
        assert any(table in q["sql"] for q in ctx.captured_queries), "the changelist did not query its table"
        assert _whole_table_counts(ctx.captured_queries) == [], params


def test_paginator_caps_the_count_and_says_so(admin_client, dataset, monkeypatch):
    OrderFactory.create_batch(4, customer=dataset["customer"])
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 3)
    response = admin_client.get(_url(Order, "changelist"), {"status__exact": "received"})
    paginator = response.context["cl"].paginator
    assert paginator.count == 3 and paginator.count_is_capped
    assert b"more than 3" in response.content


def test_paginator_counts_exactly_below_the_limit(admin_client, dataset):
    OrderFactory.create_batch(2, customer=dataset["customer"])
    response = admin_client.get(_url(Order, "changelist"))
    paginator = response.context["cl"].paginator
    assert paginator.count == Order.objects.count() == 3
    assert paginator.count_qualifier == ""


@pytest.mark.postgres_only
def test_paginator_uses_the_planner_estimate_for_an_unfiltered_big_table(admin_client, dataset, monkeypatch):
    OrderFactory.create_batch(30, customer=dataset["customer"])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Order._meta.db_table}")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 5)
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(_url(Order, "changelist"))
    paginator = response.context["cl"].paginator
    assert paginator.count_is_estimate and paginator.count == Order.objects.count()
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper() and "canonical_order" in q["sql"]]
    assert b"about 31" in response.content


# --- canonical specifics ------------------------------------------------------------------------


def test_inventory_shows_available_to_promise_and_filters_on_it(admin_client, dataset):
    empty = InventoryPositionFactory(on_hand=Decimal("5"), reserved=Decimal("5"))
    low = InventoryPositionFactory(on_hand=Decimal("12"), reserved=Decimal("4"))
    plenty = dataset["position"]  # 40 on hand, 5 reserved
    url = _url(InventoryPosition, "changelist")

    def shown(availability):
        return set(admin_client.get(url, {"availability": availability}).context["cl"].result_list)

    assert shown("none") == {empty}
    assert shown("low") == {low}
    assert shown("available") == {plenty}
    page = admin_client.get(_url(InventoryPosition, "change", low.pk))
    assert b"Available to promise" in page.content and b"8.000" in page.content


def test_updated_within_filter_separates_recent_from_old(admin_client, dataset):
    old = OrderFactory(customer=dataset["customer"])
    Order.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=10))
    url = _url(Order, "changelist")
    assert set(admin_client.get(url, {"updated_within": "day"}).context["cl"].result_list) == {dataset["order"]}
    assert set(admin_client.get(url, {"updated_within": "older"}).context["cl"].result_list) == {old}


def test_order_page_shows_lines_external_refs_and_history_links(admin_client, dataset):
    order = dataset["order"]
    content = admin_client.get(_url(Order, "change", order.pk)).content.decode()
    assert "ERP-ORDER-1" in content
    assert dataset["product"].sku in content
    assert f"aggregate_type=order&amp;aggregate_id={order.pk}" in content
    refs = admin_client.get(_url(ExternalRef, "changelist"), {"entity_type": "order", "object_id": order.pk})
    assert [ref.external_id for ref in refs.context["cl"].result_list] == ["ERP-ORDER-1"]
    assert _url(Order, "change", order.pk) in refs.content.decode()


def test_order_and_return_pages_name_lines_by_line_number_sku_and_quantity(admin_client, dataset):
    order, sku = dataset["order"], dataset["product"].sku
    line = order.lines.get()
    order_page = admin_client.get(_url(Order, "change", order.pk)).content.decode()
    return_page = admin_client.get(_url(ReturnAuthorization, "change", line.return_lines.get().rma_id)).content.decode()

    assert f"line 1 · {sku} × 5" in order_page
    assert f"1 × {sku} from line 1" in return_page  # the line's heading
    assert f"line 1 · {sku} × 5" in return_page  # its order line column
    for page in (order_page, return_page):
        assert f"{order.pk}/1 {dataset['product'].pk}" not in page and f"of line {line.pk}" not in page


# --- what the ERP owns is shown, never edited ---------------------------------------------------


@pytest.fixture
def operations_client(django_user_model):
    return staff_client("oscar", "view_order", "change_order", "view_orderline",
                         "change_orderline")


@pytest.fixture
def finance_client(django_user_model):
    return staff_client("fiona", "view_invoice", "change_invoice", "view_invoiceline")


def _order_form(order: Order, **changes) -> dict:
    data = {"number": order.number, "customer": order.customer_id, "ship_to": order.ship_to_id,
            "bill_to": order.bill_to_id, "customer_po": order.customer_po, "currency": order.currency,
            "total_amount": str(order.total_amount), "placed_at_0": order.placed_at.date().isoformat(),
            "placed_at_1": "00:00:00", "lines-TOTAL_FORMS": 0, "lines-INITIAL_FORMS": 0}
    return {**data, **changes}


@pytest.mark.parametrize("who", ["operations", "superuser"])
def test_a_changed_order_total_posted_to_the_admin_is_not_applied(request, dataset, who):
    client = request.getfixturevalue("operations_client" if who == "operations" else "admin_client")
    order = dataset["order"]
    url = _url(Order, "change", order.pk)
    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields and b'name="_save"' not in page.content

    response = client.post(url, _order_form(order, total_amount="0.01", status="cancelled"))

    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.total_amount, order.status) == (dataset["order"].total_amount, dataset["order"].status)
    assert client.post(_url(Order, "add"), _order_form(order, number="SO-BY-HAND")).status_code == 403
    assert client.post(_url(Order, "delete", order.pk), {"post": "yes"}).status_code == 403


def test_order_lines_cannot_be_rewritten_in_the_admin(operations_client, dataset):
    line = dataset["order"].lines.get()
    url = _url(OrderLine, "change", line.pk)
    assert operations_client.get(url).status_code == 200
    response = operations_client.post(url, {"order": line.order_id, "line_number": 1, "product": line.product_id,
                                            "quantity_ordered": "999", "unit_price": "0.01"})
    assert response.status_code == 403
    line.refresh_from_db()
    assert line.quantity_ordered != Decimal("999") and line.unit_price != Decimal("0.01")


def test_invoice_amounts_cannot_be_rewritten_in_the_admin(finance_client, dataset):
    invoice = Invoice.objects.get(number="INV-1")
    url = _url(Invoice, "change", invoice.pk)
    page = finance_client.get(url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    response = finance_client.post(url, {
        "number": invoice.number, "customer": invoice.customer_id, "currency": invoice.currency,
        "amount": "1.00", "amount_paid": str(invoice.amount), "issued_at_0": invoice.issued_at.date().isoformat(),
        "issued_at_1": "00:00:00", "dispute_reason": "edited", "lines-TOTAL_FORMS": 0, "lines-INITIAL_FORMS": 0,
    })
    assert response.status_code == 403
    invoice.refresh_from_db()
    assert (invoice.amount, invoice.amount_paid, invoice.dispute_reason) == (Decimal("20"), Decimal("0"), "")
    line = invoice.lines.get()
    assert finance_client.post(_url(InvoiceLine, "change", line.pk), {"amount": "0"}).status_code == 403
    # The list's "Dispute" action (the dispute workflow) still needs, and has, the change permission.
    changelist = finance_client.get(_url(Invoice, "changelist"))
    assert "dispute" in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)


FLOW_OWNED = [ReturnAuthorization, ReturnLine, CreditMemo, Shipment, ShipmentLine, ShipmentMilestone,
              PurchaseOrder, PurchaseOrderLine, SupplierAcknowledgement, SupplierAcknowledgementLine,
              AdvanceShipNotice, AdvanceShipNoticeLine, InventoryPosition, Reservation]


def _row(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.mark.parametrize("model", FLOW_OWNED, ids=lambda m: m.__name__)
def test_what_the_flows_own_is_shown_never_edited(admin_client, dataset, model):
    obj = model._default_manager.order_by("pk").first()
    before = _row(obj)
    url = _url(model, "change", obj.pk)
    page = admin_client.get(url)
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields and b'name="_save"' not in page.content

    # Every field posted back as it is, with one number changed where the row has one.
    form = {name: ("" if value is None else str(value)) for name, value in before.items()}
    for name, value in before.items():
        if isinstance(value, Decimal):
            form[name] = str(value + 1)
            break
    assert admin_client.post(url, form).status_code == 403
    assert admin_client.post(_url(model, "add"), form).status_code == 403
    assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    obj.refresh_from_db()
    assert _row(obj) == before
    changelist = admin_client.get(_url(model, "changelist"))
    assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)


def test_order_change_page_query_count_does_not_grow_with_lines(admin_client, dataset):
    order = dataset["order"]
    url = _url(Order, "change", order.pk)
    admin_client.get(url)  # warm per-process caches (content types) so only the page's own queries count
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    OrderLineFactory.create_batch(5, order=order)
    with CaptureQueriesContext(connection) as many:
        admin_client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize("model", [Order, InventoryPosition, ExternalRef, BusinessEvent, AuditEntry, Shipment],
                         ids=lambda m: m.__name__)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, dataset, model):
    url = _url(model, "changelist")
    admin_client.get(url)  # warm per-process caches (content types) so only the page's own queries count
    with CaptureQueriesContext(connection) as before:
        admin_client.get(url)
    _add_rows(model, dataset, 5)
    with CaptureQueriesContext(connection) as after:
        response = admin_client.get(url)
    assert response.context["cl"].result_count >= 6
    assert len(after.captured_queries) == len(before.captured_queries)


def _add_rows(model, dataset, n: int) -> None:
    for i in range(n):
        if model is Order:
            OrderFactory(customer=dataset["customer"], source_system=dataset["erp"])
        elif model is InventoryPosition:
            InventoryPositionFactory(last_updated_by=dataset["erp"])
        elif model is ExternalRef:
            ExternalRefFactory(system=SystemFactory(code=f"crm{i}", kind="crm"))
        elif model is BusinessEvent:
            with transaction.atomic():
                event_record(event_type="order.updated", aggregate_type="order", aggregate_id=dataset["order"].pk,
                             payload={}, actor=Actor(system=SystemFactory(code=f"wms{i}", kind="wms")))
        elif model is AuditEntry:
            audit_record(actor=Actor(system=SystemFactory(code=f"tms{i}", kind="tms")), action="x.y",
                         object_type="order", object_id=i)
        elif model is Shipment:
            Shipment.objects.create(number=f"SH-X{i}", order=OrderFactory(customer=CustomerFactory()),
                                    location=LocationFactory())


# --- the audit list names the records -------------------------------------------------------


def test_the_audit_list_names_each_record_in_one_query_per_type(admin_client, dataset):
    order, customer = dataset["order"], dataset["customer"]
    contract = ContractPrice.objects.select_related("product").first()
    for entity_type, object_id in (("order", order.pk), ("customer", customer.pk), ("contract_price", contract.pk),
                                   ("order", 999999), ("api_key", 7)):
        audit_record(actor=Actor.hub(), action="test.named", object_type=entity_type, object_id=object_id)
    url = _url(AuditEntry, "changelist")
    page = admin_client.get(url, {"action__exact": "test.named"}).content.decode()
    assert f">order {order.number}</a>" in page
    assert f">customer {customer}</a>" in page
    assert f">contract_price {contract.product.sku} for " in page
    assert "order:999999" in page and "api_key:7" in page  # gone, and a type with no admin page
    assert _url(Order, "change", 999999) not in page  # no link to a record that is gone

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url, {"action__exact": "test.named"}).status_code == 200
        return len(queries.captured_queries)

    before = page_queries()
    for _ in range(5):
        audit_record(actor=Actor.hub(), action="test.named", object_type="order",
                     object_id=OrderFactory(customer=customer).pk)
        audit_record(actor=Actor.hub(), action="test.named", object_type="contract_price",
                     object_id=ContractPriceFactory(customer=customer).pk)
    assert page_queries() == before


def test_the_audit_list_names_only_records_the_reader_may_open(dataset):
    client = staff_client("audra", "view_auditentry")
    order = dataset["order"]
    audit_record(actor=Actor.hub(), action="test.named", object_type="order", object_id=order.pk)
    page = client.get(_url(AuditEntry, "changelist"), {"action__exact": "test.named"}).content.decode()
    assert f"order:{order.pk}" in page and order.number not in page


def test_returns_show_what_they_are_worth_at_the_price_sold(admin_client, dataset):
    order = dataset["order"]
    line = order.lines.get()
    OrderLine.objects.filter(pk=line.pk).update(unit_price=Decimal("12.50"))
    rma = line.return_lines.get().rma
    ReturnLine.objects.filter(rma=rma).update(quantity_requested=Decimal("3"))
    listed = admin_client.get(_url(ReturnAuthorization, "changelist"), {"q": rma.number})
    assert listed.context["cl"].result_list[0].requested_value == Decimal("37.50")
    assert f"37.50 {order.currency}" in listed.content.decode()
    page = admin_client.get(_url(ReturnAuthorization, "change", rma.pk)).content.decode()
    assert f"37.50 {order.currency}" in page and "12.50" in page
