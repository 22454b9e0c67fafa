"""Role links in a real browser: finance follows the home page's audit-trail link and the order page's
related links; a page its role does not include is a 403 page in the site's layout with a way home.
Users get their permissions from the real staff roles."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from canonical.context import Actor
from hub import roles
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.factories import OrderFactory, OrderLineFactory, ShipmentFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def finance_user(transactional_db, django_user_model):
    roles.roles_apply(actor=Actor.hub())
    user = django_user_model.objects.create_user("fiona", "fiona@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=roles.FINANCE))
    return user


def test_finance_follows_its_links_and_meets_a_403_page_with_a_way_home(page, offline, finance_user):
    order = OrderFactory()
    OrderLineFactory(order=order)
    ShipmentFactory(order=order, number="SH-4411")
    login(page, finance_user.username)
    page.get_by_role("link", name="Audit trail").click()
    page.wait_for_load_state("networkidle")
    assert "/admin/canonical/auditentry/" in page.url and page.locator("#changelist").count() == 1

    page.goto(f"/admin/canonical/order/{order.pk}/change/")
    page.get_by_role("link", name="shipments", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert "SH-4411" in page.locator("#result_list").inner_text()

    response = page.goto("/admin/connectors/connector/")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not part of your role").is_visible()
    assert "Your role (Finance) does not include it." in page.locator("#forbidden").inner_text()
    screenshot(page, "forbidden-finance")
    page.locator("#back-home").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Connected systems").is_visible()
    assert offline == []
