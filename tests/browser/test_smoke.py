"""Browser smoke tests: the home page for staff, and the API docs rendering with no network at all."""

from __future__ import annotations

import pytest
from django.db import transaction

from canonical.context import Actor
from canonical.services.events import event_record
from governance.services import api_key_issue, consumer_create
from hub.tasks import worker_heartbeat
from tests.browser.conftest import login, screenshot
from tests.factories import (
    ExternalRefFactory,
    OrderFactory,
    OrderLineFactory,
    SystemFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.browser


def test_home_page_renders_for_a_superuser(page, superuser):
    erp = SystemFactory(code="erp", name="Acme ERP", kind="erp")
    SystemOfRecordFactory(domain="orders", system=erp)
    SystemOfRecordFactory(domain="invoices", system=erp)
    crm = SystemFactory(code="crm", name="Salesforce CRM", kind="crm")
    SystemOfRecordFactory(domain="customers", system=crm)
    api_key_issue(consumer=consumer_create(name="CRM sync", system=crm, actor=Actor.hub()), actor=Actor.hub())
    with transaction.atomic():
        event_record(event_type="order.created", aggregate_type="order", aggregate_id=1, payload={},
                     actor=Actor(system=erp))
    worker_heartbeat()

    login(page, superuser.username)
    assert page.title() == "Home · Distribution Integration Hub"
    row = page.locator("tr.system-row[data-system=erp]")
    assert row.is_visible()
    assert "Acme ERP" in row.inner_text() and "Orders" in row.inner_text()
    assert "business event" in row.inner_text()
    assert page.locator("tr.system-row[data-system=crm]").is_visible()
    assert page.get_by_role("link", name="API docs").first.is_visible()
    path = screenshot(page, "home")
    assert path.stat().st_size > 10_000


def test_swagger_ui_renders_with_no_network(page, offline):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Distribution Integration Hub API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".swagger-ui .opblock").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert offline == [], f"the page tried to reach the internet: {offline}"
    assert errors == []
    screenshot(page, "swagger", full_page=False)


def test_redoc_renders_with_no_network(page, offline):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/api/redoc/")
    page.locator(".api-content h1").first.wait_for()
    assert "Distribution Integration Hub API" in page.locator(".api-content h1").first.inner_text()
    page.locator(".api-content [data-section-id^='operation/']").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert offline == [], f"the page tried to reach the internet: {offline}"
    assert errors == []
    screenshot(page, "redoc", full_page=False)


def test_admin_order_page_shows_lines_and_external_refs(page, superuser):
    erp = SystemFactory(code="erp", kind="erp")
    order = OrderFactory(source_system=erp)
    OrderLineFactory.create_batch(3, order=order)
    ExternalRefFactory(system=erp, entity_type="order", external_id="ERP-4711", object_id=order.pk)

    login(page, superuser.username, next_url="/admin/canonical/order/")
    assert page.locator("#result_list").get_by_text(order.number).is_visible()
    assert "1 order" in page.locator("p.paginator").inner_text()
    page.locator("#result_list").get_by_role("link", name=order.number).click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".external-refs").get_by_text("ERP-4711").is_visible()
    assert page.locator("#lines-group tbody tr.has_original").count() == 3
    screenshot(page, "admin-order")
