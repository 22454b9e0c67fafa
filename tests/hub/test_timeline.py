"""The order timeline: GET /api/v1/orders/{id}/timeline and its admin page."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from canonical.context import Actor
from canonical.models import BusinessEvent, OrderStatus
from canonical.services.events import audit_record, event_record
from connectors.models import (
    Category,
    Delivery,
    DeliveryAttempt,
    ExceptionStatus,
    InboundMessage,
)
from connectors.services.exceptions import exception_resolve
from hub.selectors.timeline import Kind, TimelineViewer, order_timeline
from hub.workflows.credit import credit_hold_release
from tests.connectors.outbound_support import deliver_all
from tests.connectors.receiver import Receiver
from tests.factories import (
    IntegrationExceptionFactory,
    InvoiceFactory,
    OrderFactory,
    OutboundConnectorFactory,
    ShipmentFactory,
    SubscriptionFactory,
    SystemFactory,
    SystemOfRecordFactory,
)
from tests.hub.credit_support import held_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.close()


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user("tina", password="x-secret-pass-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=[
        "view_order", "release_credit_hold", "view_businessevent", "view_delivery", "view_inboundmessage",
        "view_integrationexception", "view_auditentry", "work_finance_queue", "work_integration_queue"]))
    return user


def _staff_api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def story(partner_client, receiver, staff):
    """Held → released by finance → acknowledged by the ERP (inbound) → a refused ERP message →
    events delivered to a web store → an invoice disputed."""
    web_store = OutboundConnectorFactory(name="Web store", base_url=receiver.url,
                                         system=SystemFactory(code="shop", kind="ecommerce"))
    SubscriptionFactory(connector=web_store, name="orders to the web store", event_types=["order.*", "invoice.*"])
    order = held_order(actor=Actor.hub(correlation_id="corr-submit"))
    credit_hold_release(order=order, actor=Actor(user=staff, correlation_id="corr-release"),
                        note="Prepayment received")
    erp = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="orders", system=erp.system)
    ack = erp.post("/api/v1/inbound/erp/order.acknowledgement",
                   {"order": {"number": order.number}, "erp_order_number": "ERP-77"}, format="json",
                   HTTP_X_CORRELATION_ID="corr-ack", HTTP_X_MESSAGE_ID="ack-1")
    assert ack.status_code == 200, ack.content
    refused = erp.post("/api/v1/inbound/erp/order.status", {"order": {"number": order.number}, "status": "credit_hold"},
                       format="json", HTTP_X_CORRELATION_ID="corr-bad", HTTP_X_MESSAGE_ID="status-1")
    assert refused.status_code == 409, refused.content
    invoice = InvoiceFactory(order=order, customer=order.customer, number="INV-9001", amount=Decimal("300.00"))
    crm = partner_client("crm", "crm")
    disputed = crm.post(f"/api/v1/invoices/{invoice.pk}/dispute", {"reason": "Two units arrived broken"},
                        format="json")
    assert disputed.status_code == 200, disputed.content
    deliver_all()
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED_TO_ERP
    return {"order": order, "invoice": invoice, "erp": erp, "crm": crm, "partner_client": partner_client,
            "web_store": web_store}


def test_staff_see_every_kind_in_time_order_with_correlation_ids_and_links(story, staff):
    order = story["order"]
    response = _staff_api(staff).get(f"/api/v1/orders/{order.pk}/timeline")
    assert response.status_code == 200, response.content
    body = response.json()
    entries = body["entries"]
    assert body["order"] == {"id": order.pk, "number": order.number, "status": "submitted_to_erp",
                             "customer": order.customer_id, "correlation_id": "corr-submit"}
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    assert all(body["counts"][kind] > 0 for kind in Kind.values), body["counts"]
    assert body["truncated"] == []
    assert {"corr-submit", "corr-release", "corr-ack", "corr-bad"} <= set(body["correlation_ids"])

    statuses = [e["data"]["to"] for e in entries if e["kind"] == "status_change"]
    assert statuses == ["credit_hold", "released", "allocated", "submitted_to_erp"]
    released = next(e for e in entries if e["kind"] == "status_change" and e["status"] == "released")
    assert released["correlation_id"] == "corr-release" and released["actor"] == "user:tina"
    assert "/admin/canonical/businessevent/" in released["links"]["admin"]
    assert released["links"]["api"].endswith(f"/api/v1/orders/{order.pk}")

    # The ERP's acknowledgement, and the event it caused, share a correlation id and name each other.
    [ack] = [e for e in entries if e["kind"] == "inbound_message" and e["data"]["message_type"] == "order.acknowledgement"]
    assert ack["correlation_id"] == "corr-ack" and ack["status"] == "processed"
    assert ack["links"]["api"].endswith(f"/api/v1/inbound/messages/{ack['object_id']}")
    submitted = next(e for e in entries if e["kind"] == "status_change" and e["status"] == "submitted_to_erp")
    assert submitted["causation_id"] == f"inbound:{ack['object_id']}" and submitted["correlation_id"] == "corr-ack"
    assert entries.index(ack) < entries.index(submitted)

    # The refused message is there with the exception it opened.
    [bad] = [e for e in entries if e["kind"] == "inbound_message" and e["status"] == "failed"]
    assert bad["correlation_id"] == "corr-bad"
    exceptions = {e["data"]["category"]: e for e in entries if e["kind"] == "exception"}
    assert set(exceptions) >= {"credit_hold", "invoice_dispute"}
    assert exceptions["credit_hold"]["status"] == ExceptionStatus.RESOLVED
    assert exceptions["credit_hold"]["data"]["status_then"] == ExceptionStatus.OPEN  # when it was opened
    assert exceptions["credit_hold"]["data"]["resolution_note"] == "Released from credit hold: Prepayment received"
    assert any(e["correlation_id"] == "corr-bad" for e in entries if e["kind"] == "exception")

    # Deliveries of the order's events to the web store, and the invoice's events.
    attempts = [e for e in entries if e["kind"] == "delivery_attempt"]
    assert attempts and {a["data"]["connector"] for a in attempts} == {story["web_store"].code}
    assert all(a["status"] == "delivered" and a["data"]["status_code"] == 200 for a in attempts)
    assert any(a["data"]["event_type"] == "invoice.disputed" for a in attempts)
    assert any(e["kind"] == "event" and e["data"]["event_type"] == "invoice.disputed" for e in entries)

    # Audit: the finance decision with its note, and the exception resolutions.
    audit = [e for e in entries if e["kind"] == "audit"]
    decision = next(e for e in audit if e["data"]["action"] == "order.credit_hold_released")
    assert decision["data"]["note"] == "Prepayment received" and decision["actor"] == "user:tina"
    assert any(e["data"]["action"] == "exception.resolved" for e in audit)
    assert any(e["data"]["action"] == "invoice.disputed" for e in audit)


def test_a_partner_sees_what_its_system_may_read_and_nothing_internal(story):
    order = story["order"]
    crm = story["crm"]
    body = crm.get(f"/api/v1/orders/{order.pk}/timeline").json()
    kinds = {e["kind"] for e in body["entries"]}
    assert kinds == {"status_change", "event"}, kinds  # the CRM sent no message about it and has no connector
    assert all("admin" not in e["links"] for e in body["entries"])
    assert any(e["data"].get("event_type") == "invoice.disputed" for e in body["entries"])
    assert all(e["data"]["deliveries"] == [] for e in body["entries"])  # deliveries to others are not its business

    erp = story["erp"]
    body = erp.get(f"/api/v1/orders/{order.pk}/timeline").json()
    messages = [e for e in body["entries"] if e["kind"] == "inbound_message"]
    assert len(messages) == 2 and {m["data"]["system"] for m in messages} == {"erp"}
    assert not [e for e in body["entries"] if e["kind"] in ("exception", "audit", "delivery_attempt")]

    carrier = story["partner_client"]("ups", "carrier")  # carriers read shipments only, not orders
    response = carrier.get(f"/api/v1/orders/{order.pk}/timeline")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert "may not read orders" in response.json()["detail"]


def test_tms_sees_shipment_events_but_not_invoice_events(partner_client):
    order = OrderFactory()
    shipment = ShipmentFactory(order=order)
    invoice = InvoiceFactory(order=order, customer=order.customer)
    with transaction.atomic():
        for aggregate_type, pk in (("order", order.pk), ("shipment", shipment.pk), ("invoice", invoice.pk)):
            event_record(event_type=f"{aggregate_type}.updated", aggregate_type=aggregate_type, aggregate_id=pk,
                         payload={}, actor=Actor.hub())
    tms = partner_client("tms", "tms")
    body = tms.get(f"/api/v1/orders/{order.pk}/timeline").json()
    assert sorted(e["object_type"] for e in body["entries"]) == ["order", "shipment"]


@pytest.mark.parametrize("path", ["/api/v1/orders/999999/timeline", "/api/v1/orders/99999999999999999999/timeline",
                                  "/api/v1/orders/abc/timeline"])
def test_an_unknown_order_is_a_problem_detail(path, partner_client):
    response = partner_client("crm", "crm").get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_anonymous_callers_are_refused(client):
    order = OrderFactory()
    response = client.get(f"/api/v1/orders/{order.pk}/timeline")
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"


def _populate(order, n: int, *, connector) -> None:
    """n entries of every kind for ``order`` (events on the order and a shipment, attempts, messages,
    exceptions, audit entries), written directly: the test is about reading them."""
    subscription = SubscriptionFactory(connector=connector)
    shipment = ShipmentFactory(order=order)
    now = timezone.now()
    with transaction.atomic():
        for i in range(n):
            actor = Actor.hub(correlation_id=f"corr-{order.pk}-{i}")
            message = InboundMessage.objects.create(system=connector.system, message_type="order.status",
                                                    correlation_id=actor.correlation_id, status="processed")
            for aggregate_type, pk in (("order", order.pk), ("shipment", shipment.pk)):
                event = event_record(event_type=f"{aggregate_type}.updated", aggregate_type=aggregate_type,
                                     aggregate_id=pk, payload={}, actor=actor.caused_by(f"inbound:{message.pk}"))
            event_record(event_type="order.status_changed", aggregate_type="order", aggregate_id=order.pk,
                         payload={"from": "validated", "to": "allocated"}, actor=actor)
            delivery = Delivery.objects.create(subscription=subscription, event=event, next_attempt_at=now)
            DeliveryAttempt.objects.create(delivery=delivery, number=1, started_at=now, outcome="retry",
                                           status_code=503)
            exception = IntegrationExceptionFactory(order=order, actor=actor)
            audit_record(actor=actor, action="order.noted", object_type="order", object_id=order.pk, note=str(i))
            audit_record(actor=actor, action="exception.noted", object_type="exception", object_id=exception.pk)


def test_the_query_count_does_not_grow_with_the_entries(staff):
    connector = OutboundConnectorFactory()
    few, many = OrderFactory(), OrderFactory()
    _populate(few, 1, connector=connector)
    _populate(many, 8, connector=connector)
    client = _staff_api(staff)

    def measured(order):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/orders/{order.pk}/timeline")
        assert response.status_code == 200
        return len(queries.captured_queries), response.json()["counts"]

    few_queries, few_counts = measured(few)
    many_queries, many_counts = measured(many)
    assert all(count >= 1 for count in few_counts.values()), few_counts
    assert all(many_counts[kind] > few_counts[kind] for kind in Kind.values), (few_counts, many_counts)
    assert many_queries == few_queries, (few_queries, many_queries)


def test_each_kind_is_capped_and_the_cut_is_reported():
    order = OrderFactory()
    with transaction.atomic():
        for _ in range(5):
            event_record(event_type="order.updated", aggregate_type="order", aggregate_id=order.pk, payload={},
                         actor=Actor.hub())
    timeline = order_timeline(order=order, limit=3)
    assert timeline.truncated == [Kind.EVENT]
    kept = [e.data["sequence"] for e in timeline.entries]
    assert kept == [3, 4, 5]  # the newest, in time order


def test_created_and_status_changed_events_are_the_status_changes(staff):
    order = OrderFactory(status=OrderStatus.VALIDATED)
    with transaction.atomic():
        event_record(event_type="order.created", aggregate_type="order", aggregate_id=order.pk,
                     payload={"order": {"status": "validated"}}, actor=Actor.hub())
        event_record(event_type="order.status_changed", aggregate_type="order", aggregate_id=order.pk,
                     payload={"from": "validated", "to": "allocated", "reason": "allocation"}, actor=Actor.hub())
        event_record(event_type="order.allocated", aggregate_type="order", aggregate_id=order.pk,
                     payload={"status": "allocated"}, actor=Actor.hub())
    BusinessEvent.objects.filter(aggregate_id=str(order.pk), sequence=1).update(
        recorded_at=timezone.now() - timedelta(minutes=5))
    entries = order_timeline(order=order, viewer=TimelineViewer()).entries
    assert [(e.kind, e.title) for e in entries] == [
        ("status_change", "Created: Validated"),
        ("status_change", "Status: Validated → Allocated"),
        ("event", f"order.allocated (order {order.number})"),
    ]
    assert entries[1].data["reason"] == "allocation"


def test_the_admin_page_renders_the_same_timeline_and_the_order_page_links_to_it(story, staff, client):
    order = story["order"]
    client.force_login(staff)
    change = client.get(f"/admin/canonical/order/{order.pk}/change/")
    assert change.status_code == 200
    page_url = f"/admin/canonical/order/{order.pk}/timeline/"
    assert page_url in change.content.decode()
    response = client.get(page_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Timeline of order {order.number}" in html
    for text in ("Created: Credit hold", "Status: Credit hold → Released from credit hold", "order.acknowledgement from erp",
                 "corr-ack", "Prepayment received", "Invoice dispute"):
        assert text in html, text
    only_messages = client.get(page_url, {"kind": "inbound_message"}).content.decode()
    assert "order.acknowledgement from erp" in only_messages and "Created: Credit hold" not in only_messages
    by_correlation = client.get(page_url, {"correlation": "corr-ack"})
    assert all(row["entry"].correlation_id == "corr-ack" for row in by_correlation.context["rows"])
    assert len(by_correlation.context["rows"]) >= 3


def test_the_admin_page_needs_the_order_view_permission(django_user_model, client):
    order = OrderFactory()
    user = django_user_model.objects.create_user("nobody", password="x-secret-pass-1", is_staff=True)
    client.force_login(user)
    assert client.get(f"/admin/canonical/order/{order.pk}/timeline/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    response = client.get(f"/admin/canonical/order/{order.pk}/timeline/")
    assert response.status_code == 200
    assert client.get("/admin/canonical/order/424242/timeline/").status_code == 404


def test_exception_of_a_message_about_the_order_links_the_message(staff):
    """A message that failed before any event was written is found through its exception."""
    order = OrderFactory()
    erp = SystemFactory(code="erp", kind="erp")
    message = InboundMessage.objects.create(system=erp, message_type="order.status", status="failed",
                                            correlation_id="lonely", body=json.dumps({"order": {}}))
    IntegrationExceptionFactory(order=order, inbound_message=message, category=Category.VALIDATION)
    kinds = {(e.kind, e.object_id) for e in order_timeline(order=order).entries}
    assert (Kind.INBOUND_MESSAGE, str(message.pk)) in kinds


def test_past_entries_show_the_status_they_had_then_and_today_s_beside_it(staff, client):
    """A message that failed and was reprocessed later, and an exception resolved later, show as
    they were when they happened; the category is not said twice; the page groups the thousands."""
    order = OrderFactory(total_amount=Decimal("45327.34"))
    erp = SystemFactory(code="erp", kind="erp")
    message = InboundMessage.objects.create(system=erp, message_type="supplier.ack", status="failed",
                                            correlation_id="corr-late")
    exception = IntegrationExceptionFactory(
        order=order, inbound_message=message, category=Category.SUPPLIER_DATE_MISS, team="finance",
        title="Supplier date miss: acme-supply on PO-1 confirmed 2027-01-20")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    InboundMessage.objects.filter(pk=message.pk).update(received_at=an_hour_ago)
    type(exception).objects.filter(pk=exception.pk).update(first_seen_at=an_hour_ago)
    # Reprocessed and resolved since, as the services record it.
    InboundMessage.objects.filter(pk=message.pk).update(status="processed")
    audit_record(actor=Actor(user=staff), action="inbound.reprocessed", object_type="inbound_message",
                 object_id=message.pk, before={"status": "failed", "response_status": 422},
                 after={"status": "processed", "response_status": 200})
    exception_resolve(exception=exception, actor=Actor(user=staff), note="The corrected ack arrived")

    entries = {e.kind: e for e in order_timeline(order=order).entries if e.kind in (Kind.INBOUND_MESSAGE, Kind.EXCEPTION)}

    assert entries[Kind.INBOUND_MESSAGE].data["status_then"] == "failed"
    assert entries[Kind.INBOUND_MESSAGE].title.startswith("supplier.ack from erp: failed")
    assert entries[Kind.INBOUND_MESSAGE].status == "processed"  # the API's status stays the one of now
    assert entries[Kind.EXCEPTION].data["status_then"] == ExceptionStatus.OPEN
    assert entries[Kind.EXCEPTION].status == ExceptionStatus.RESOLVED
    assert entries[Kind.EXCEPTION].title == "Supplier date miss: acme-supply on PO-1 confirmed 2027-01-20"

    client.force_login(staff)
    html = client.get(f"/admin/canonical/order/{order.pk}/timeline/").content.decode()
    assert "45,327.34 USD" in html
    assert "Supplier date miss: Supplier date miss" not in html
    assert '<span class="tl-now">now resolved</span>' in html and '<span class="tl-now">now processed</span>' in html
    body = _staff_api(staff).get(f"/api/v1/orders/{order.pk}/timeline").json()
    then = {e["data"]["status_then"] for e in body["entries"] if e["kind"] in ("inbound_message", "exception")}
    assert then == {"failed", "open"}
