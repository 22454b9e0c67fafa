"""Error pages (hub.views): a 403 is a page in the portal's layout for staff, a problem for the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from hub import roles
from hub.problems import PROBLEM_CONTENT_TYPE
from hub.views import handler403
from tests.factories import SystemFactory
from tests.staff import role_member

pytestmark = pytest.mark.django_db


def test_a_refused_admin_page_says_what_was_opened_and_that_the_role_lacks_it(django_user_model):
    client = role_member(roles.FINANCE)
    url = reverse("admin:connectors_connector_changelist")
    response = client.get(url)
    assert response.status_code == 403
    page = response.content.decode()
    assert '<header class="site">' in page and "Not part of your role" in page
    assert "the connectors list" in page and url in page
    assert "Your role (Finance) does not include it." in page
    assert f'href="{reverse("home")}" id="back-home"' in page


@pytest.mark.parametrize(("name", "args", "label"), [
    ("django_q_schedule_changelist", [], "the Scheduled tasks list"),  # an app label holding "_"
    ("canonical_orderline_changelist", [], "the order lines list"),  # not the order's pages
    ("canonical_customer_change", [1], "a page of customers"),
])
def test_a_refused_admin_page_is_named_by_its_model(django_user_model, name, args, label):
    page = role_member(roles.GOVERNANCE_BOARD).get(reverse(f"admin:{name}", args=args))
    assert page.status_code == 403
    assert f"You tried to open {label} (" in page.content.decode()


def test_a_refused_portal_page_gives_the_pages_own_reason(django_user_model):
    client = role_member(roles.DATA_STEWARD)
    response = client.get(reverse("credit-holds"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your role (Data steward) does not include it." in page
    assert "needs the &#x27;canonical.view_order&#x27; permission" in page
    assert 'id="back-home"' in page


def test_the_api_still_answers_a_403_with_a_problem(partner_client):
    SystemFactory(code="erp", kind="erp")
    shop = partner_client("shop", "ecommerce")
    response = shop.put("/api/v1/systems/erp/products/P1", {"sku": "P1"}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert "cannot write records of system 'erp'" in response.json()["detail"]


def test_a_permission_denied_outside_drf_under_the_api_is_a_problem(rf, admin_user):
    request = rf.get("/api/v1/anything")
    request.user = admin_user
    response = handler403(request, PermissionDenied("Not for this key."))
    assert response.status_code == 403 and response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert b'"detail": "Not for this key."' in response.content


def test_the_favicon_is_served_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and "max-age=86400" in response["Cache-Control"]
