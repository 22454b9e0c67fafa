"""Each staff role's pages link only where that role may go, and the roles can read what their work
points at. Users get their permissions from the real staff roles (hub.roles)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from canonical.context import Actor
from canonical.services.events import audit_record, event_record
from connectors.models import Delivery, InboundMessage
from hub import roles
from tests.factories import (
    CustomerFactory,
    CustomerGroupFactory,
    ExternalRefFactory,
    IntegrationExceptionFactory,
    InvoiceFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    PurchaseOrderFactory,
    ReturnAuthorizationFactory,
    ShipmentFactory,
    SubscriptionFactory,
    SystemFactory,
    SystemOfRecordFactory,
)
from tests.staff import role_member

pytestmark = pytest.mark.django_db

ROLES = [roles.FINANCE, roles.OPERATIONS, roles.DATA_STEWARD, roles.GOVERNANCE_BOARD, roles.INTEGRATION_ENGINEER]
HREF = re.compile(r'href="(/(?:admin|portal|governance)/[^"#]*)"')
NOT_FOLLOWED = ("/admin/logout/", "/admin/password_change/")


@pytest.fixture
def world():
    erp = SystemFactory(code="erp", name="Acme ERP", kind="erp")
    SystemOfRecordFactory(domain="orders", system=erp)
    parent = CustomerFactory()
    group = CustomerGroupFactory()
    customer = CustomerFactory(parent=parent, group=group)
    order = OrderFactory(customer=customer, source_system=erp)
    location = LocationFactory()
    OrderLineFactory(order=order, location=location)
    ShipmentFactory(order=order)
    InvoiceFactory(customer=customer, order=order, amount=Decimal("20"))
    ReturnAuthorizationFactory(order=order)
    PurchaseOrderFactory(order=order)
    ExternalRefFactory(system=erp, entity_type="order", object_id=order.pk)
    ExternalRefFactory(system=erp, entity_type="customer", object_id=customer.pk)
    with transaction.atomic():
        event_record(event_type="order.created", aggregate_type="order", aggregate_id=order.pk,
                     payload={"number": order.number}, actor=Actor(system=erp))
        event = event_record(event_type="order.allocated", aggregate_type="order", aggregate_id=order.pk,
                             payload={"number": order.number}, actor=Actor(system=erp))
    # Exceptions for each team whose source is a delivery and an inbound message: pages most roles
    # may not open, so the exception's page names them without a link for those roles.
    delivery = Delivery.objects.create(subscription=SubscriptionFactory(), event=event, status="dead", attempts=1,
                                       next_attempt_at=order.placed_at, last_status_code=500)
    message = InboundMessage.objects.create(system=erp, message_type="order.status", body='{"status": "x"}',
                                            status="failed", authenticated=True)
    exceptions = {team: IntegrationExceptionFactory(team=team, delivery=delivery, inbound_message=message,
                                                    order=order).pk
                  for team in ("finance", "operations", "data_stewardship", "integration")}
    audit_record(actor=Actor.hub(), action="order.credit_hold_released", object_type="order", object_id=order.pk,
                 before={"status": "credit_hold"}, after={"status": "released"}, note="paid up")
    return {"order": order, "customer": customer, "group": group, "location": location, "delivery": delivery,
            "exceptions": exceptions}


def start_pages(world) -> list[str]:
    return [
        "/",
        reverse("credit-holds"),
        reverse("stewardship:duplicate-reviews"),
        reverse("admin:index"),
        reverse("admin:canonical_order_change", args=[world["order"].pk]),
        reverse("admin:canonical_customer_change", args=[world["customer"].pk]),
        reverse("admin:canonical_auditentry_changelist"),
        reverse("admin:canonical_customergroup_change", args=[world["group"].pk]),
        reverse("admin:canonical_location_change", args=[world["location"].pk]),
        reverse("admin:connectors_delivery_change", args=[world["delivery"].pk]),
        reverse("admin:connectors_subscription_change", args=[world["delivery"].subscription_id]),
        *(reverse("admin:connectors_integrationexception_change", args=[pk]) for pk in world["exceptions"].values()),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_link_on_a_roles_pages_opens_for_that_role(django_user_model, world, role):
    client = role_member(role)
    refused = []
    followed: set[str] = set()
    for page in start_pages(world):
        response = client.get(page)
        if response.status_code != 200:
            continue  # a page the role may not open: the 403 page is tested below
        for href in HREF.findall(response.content.decode()):
            href = href.replace("&amp;", "&")
            if href in followed or href.startswith(NOT_FOLLOWED):
                continue
            followed.add(href)
            if client.get(href).status_code == 403:
                refused.append(f"{page} -> {href}")
    assert followed, "the crawl found no links at all"
    assert refused == [], f"{role} is shown links it may not follow"


def test_finance_reads_the_audit_trail_and_what_its_order_pages_point_at(django_user_model, world):
    client = role_member(roles.FINANCE)
    order = world["order"]
    page = client.get(reverse("admin:canonical_order_change", args=[order.pk])).content.decode()
    for text in ("shipments", "invoices", "returns", "purchase orders", "business events", "audit trail",
                 "open the list"):
        assert f">{text}</a>" in page, text
    for name in ("auditentry", "businessevent", "shipment", "returnauthorization", "purchaseorder", "product",
                 "system"):
        assert client.get(reverse(f"admin:canonical_{name}_changelist")).status_code == 200, name
    audit = client.get(reverse("admin:canonical_auditentry_changelist"), {"action__startswith": "order.credit_hold_"})
    assert [entry.note for entry in audit.context["cl"].result_list] == ["paid up"]
    queue = client.get(reverse("credit-holds")).content.decode()
    assert 'id="audit-links"' in queue and "action__startswith=order.credit_hold_" in queue
    home = client.get("/").content.decode()
    assert reverse("admin:canonical_auditentry_changelist") in home
    assert reverse("stewardship:duplicate-reviews") not in home


def test_the_steward_sees_its_own_queue_and_not_the_order_pages(django_user_model, world):
    client = role_member(roles.DATA_STEWARD)
    home = client.get("/").content.decode()
    nav = home.split('<nav class="main"')[1].split("</nav>")[0]
    assert reverse("stewardship:duplicate-reviews") in nav
    assert reverse("credit-holds") not in home
    assert reverse("admin:canonical_order_changelist") not in home
    customer = client.get(reverse("admin:canonical_customer_change", args=[world["customer"].pk])).content.decode()
    assert ">child accounts</a>" in customer and ">audit trail</a>" in customer
    assert ">orders</a>" not in customer and ">business events</a>" not in customer


def test_the_order_page_asks_for_permissions_once_not_per_link(django_user_model, world):
    client = role_member(roles.FINANCE)
    url = reverse("admin:canonical_order_change", args=[world["order"].pk])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    permission_queries = [q["sql"] for q in queries.captured_queries if '"auth_permission"' in q["sql"]]
    assert len(permission_queries) <= 2  # the user's own and its groups', cached on the user


def test_an_exceptions_source_is_named_without_links_the_role_may_not_follow(django_user_model, world):
    delivery = world["delivery"]
    url = reverse("admin:connectors_integrationexception_change", args=[world["exceptions"]["finance"]])
    finance = role_member(roles.FINANCE).get(url).content.decode()
    assert f"Delivery #{delivery.pk}</h4>" in finance and "Inbound message #" in finance
    assert "/admin/connectors/delivery/" not in finance and "/admin/connectors/inboundmessage/" not in finance
    url = reverse("admin:connectors_integrationexception_change", args=[world["exceptions"]["integration"]])
    engineer = role_member(roles.INTEGRATION_ENGINEER).get(url).content.decode()
    assert reverse("admin:connectors_delivery_change", args=[delivery.pk]) in engineer
    assert reverse("admin:canonical_businessevent_change", args=[delivery.event_id]) in engineer
