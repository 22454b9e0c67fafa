"""The staff home page: connected systems, their system-of-record domains and last activity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from canonical.context import Actor
from canonical.models import BusinessEvent, ExternalRef
from canonical.services.events import event_record
from governance.models import ApiKey
from governance.services import api_key_issue, consumer_create
from hub.portal import connected_systems
from hub.tasks import worker_heartbeat
from tests.factories import ExternalRefFactory, SystemFactory, SystemOfRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("ops", password="x-secret-pass-1", is_staff=True)
    client.force_login(user)
    return client


def _event_from(system, at=None):
    with transaction.atomic():
        event = event_record(event_type="customer.updated", aggregate_type="customer", aggregate_id=1,
                             payload={}, actor=Actor(system=system))
    if at is not None:
        BusinessEvent.objects.filter(pk=event.pk).update(recorded_at=at)


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login")) and "next=/" in response["Location"]


def test_signed_in_non_staff_users_are_sent_to_the_admin_login(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("partner", password="x-secret-pass-1"))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_home_lists_systems_with_their_domains_and_links(staff_client):
    erp = SystemFactory(code="erp", name="Acme ERP", kind="erp")
    SystemOfRecordFactory(domain="orders", system=erp)
    SystemOfRecordFactory(domain="invoices", system=erp)
    SystemFactory(code="hub", name="The hub itself", kind="hub")
    response = staff_client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme ERP" in page and "Orders" in page and "Invoices" in page
    assert "The hub itself" not in page
    for url in ("/admin/", "/api/docs/", "/api/redoc/", "/api/schema/", "/readyz", "/healthz"):
        assert f'href="{url}"' in page, url
    # Domains nobody owns are called out: writes to them are refused.
    assert 'id="unowned"' in page and "Customers" in page.split('id="unowned"')[1]


def test_last_activity_is_the_latest_of_events_references_and_api_calls():
    now = timezone.now()
    by_event = SystemFactory(code="crm", kind="crm")
    by_ref = SystemFactory(code="wms", kind="wms")
    by_call = SystemFactory(code="shop", kind="ecommerce")
    quiet = SystemFactory(code="carrier", kind="carrier")

    _event_from(by_event, at=now - timedelta(minutes=1))
    ExternalRefFactory(system=by_event)
    ExternalRef.objects.filter(system=by_event).update(updated_at=now - timedelta(hours=2))
    ExternalRefFactory(system=by_ref)
    ExternalRef.objects.filter(system=by_ref).update(updated_at=now - timedelta(hours=3))
    _event_from(by_ref, at=now - timedelta(days=2))
    consumer = consumer_create(name="storefront", system=by_call, actor=Actor.hub())
    key = api_key_issue(consumer=consumer, actor=Actor.hub()).key
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now - timedelta(seconds=30))

    rows = {row.system.code: row for row in connected_systems()}
    assert rows["crm"].last_activity_source == "business event"
    assert rows["crm"].last_activity == now - timedelta(minutes=1)
    assert rows["wms"].last_activity_source == "external reference"
    assert rows["wms"].last_activity == now - timedelta(hours=3)
    assert rows["shop"].last_activity_source == "API call" and rows["shop"].consumers == 1
    assert rows["carrier"].last_activity is None and rows[quiet.code].consumers == 0


def test_home_queries_do_not_grow_with_the_number_of_systems(staff_client):
    def add_system(n):
        system = SystemFactory(code=f"sys-{n}", kind="erp")
        _event_from(system)
        ExternalRefFactory(system=system)
        consumer = consumer_create(name=f"app-{n}", system=system, actor=Actor.hub())
        api_key_issue(consumer=consumer, actor=Actor.hub())

    add_system(0)
    staff_client.get("/")  # warm per-process caches
    with CaptureQueriesContext(connection) as one:
        staff_client.get("/")
    for n in range(1, 6):
        add_system(n)
    with CaptureQueriesContext(connection) as six:
        response = staff_client.get("/")
    assert len(response.context["systems"]) == 6
    assert len(six.captured_queries) == len(one.captured_queries)


def test_home_shows_the_worker_heartbeat(staff_client):
    assert "no heartbeat yet" in staff_client.get("/").content.decode()
    worker_heartbeat()
    page = staff_client.get("/").content.decode()
    assert "no heartbeat yet" not in page and 'class="badge ok"' in page
