"""The governance board in a real browser: refused upload, major version, approval, deprecation, retirement.

The partner's calls go through the same middleware stack in-process (the live server's
middleware is loaded once per session, before this test can switch the policy on).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from canonical.context import Actor
from canonical.models import AuditEntry
from governance.hub_api import hub_api_ensure_published
from governance.models import ApiProduct, ApiVersion, Lifecycle
from governance.services import api_key_issue, api_version_upload, consumer_create, subscription_request
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.factories import ApiProductFactory, ApiVersionFactory, SystemFactory, TeamFactory
from tests.governance.conftest import orders_doc

pytestmark = pytest.mark.browser
POLICY_MIDDLEWARE = "governance.policy.middleware.GovernancePolicyMiddleware"
BOARD_PERMISSIONS = ["view_apiproduct", "add_apiversion", "change_apiversion", "review_apiversion",
                     "change_apisubscription"]


def _board_user(django_user_model, username: str):
    user = django_user_model.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="governance",
                                                        codename__in=BOARD_PERMISSIONS))
    return user


@pytest.fixture
def board_member(transactional_db, django_user_model):
    return _board_user(django_user_model, "board-member")


@pytest.fixture
def board_reviewer(transactional_db, django_user_model):
    """A second member of the board: approvals never come from a version's own author."""
    return _board_user(django_user_model, "board-reviewer")


@pytest.fixture
def partner(transactional_db, settings):
    """A CRM application subscribed to the hub's canonical API 1.0.0, calling with the policy on."""
    if POLICY_MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, POLICY_MIDDLEWARE]
    settings.HUB_POLICY_ENABLED = True
    settings.HUB_USAGE_FLUSH_SECONDS = 0
    hub_api_ensure_published(actor=Actor.hub())
    product = ApiProduct.objects.get(slug="hub-canonical")
    # The board wants one approval and one day's notice for this walk-through; 1.0.0 went out a month ago.
    ApiProduct.objects.filter(pk=product.pk).update(required_approvals=1, minimum_deprecation_notice_days=1)
    ApiVersion.objects.filter(product=product).update(published_at=timezone.now() - timedelta(days=30))
    consumer = consumer_create(name="CRM sync", system=SystemFactory(code="crm", kind="crm"),
                               contact_email="crm-team@example.com", actor=Actor.hub())
    subscription_request(consumer=consumer, version=product.versions.get(version="1.0.0"), actor=Actor.hub())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key}")
    return client


def _flash(page) -> str:
    return " ".join(page.locator("ul.messages li").all_inner_texts())


def test_board_refuses_a_breaking_minor_publishes_a_major_and_retires_the_old_one(
    page, offline, board_member, board_reviewer, partner
):
    v1 = ApiVersion.objects.get(product__slug="hub-canonical", version="1.0.0")
    assert partner.get("/api/v1/customers").status_code == 200
    breaking = json.loads(json.dumps(v1.openapi))
    breaking["paths"].pop("/api/v1/customers/{id}")

    login(page, "board-member", next_url="/governance/")
    assert page.locator("tr.product-row[data-slug=hub-canonical]").is_visible()
    screenshot(page, "governance-catalog")

    # A breaking change as 1.1.0: the dry run refuses it and says why.
    page.click("tr.product-row[data-slug=hub-canonical] a")
    page.click("text=Upload a new version")
    page.fill("#id_version", "1.1.0")
    page.fill("#id_document_text", json.dumps(breaking))
    page.fill("#id_changelog", "Single-customer reads move to the search endpoint.")
    page.click("#check")
    verdict = page.locator("#verdict").inner_text()
    assert "cannot be stored" in verdict
    assert "Refused: 1.1.0 is a minor release after 1.0.0" in verdict
    assert "/api/v1/customers/{id}" in page.locator("#reasons").inner_text()
    assert page.locator("#store-version").count() == 0
    screenshot(page, "governance-upload-refused")
    assert not ApiVersion.objects.filter(product__slug="hub-canonical", version="1.1.0").exists()

    # The same document as 2.0.0 passes the dry run and is stored, submitted and approved by another
    # member of the board (its author may not approve it).
    page.fill("#id_version", "2.0.0")
    page.click("#check")
    assert "Allowed: 2.0.0 is a major release" in page.locator("#verdict").inner_text()
    page.click("#store-version")
    assert "is stored as a draft" in _flash(page)
    page.click("#submit-review")
    assert "submitted to the board" in _flash(page)
    page.goto("/governance/reviews/")
    review = page.locator("#review-hub-canonical-2\\.0\\.0")
    assert review.locator("button[value=approve]").count() == 0
    assert "You uploaded this version" in review.inner_text()
    page.context.clear_cookies()
    login(page, "board-reviewer", next_url="/governance/reviews/")
    review.locator("textarea[name=comment]").fill("Breaking change is intended; 1.x gets the usual notice.")
    review.locator("button[value=approve]").click()
    assert "is published" in _flash(page)
    assert ApiVersion.objects.get(product__slug="hub-canonical", version="2.0.0").status == Lifecycle.PUBLISHED

    page.goto("/governance/apis/hub-canonical/versions/2.0.0/diff/")
    assert page.locator("tr.finding.error").count() >= 1
    assert page.locator("tr.finding-docs details").first.get_attribute("open") is not None
    assert "Not in 2.0.0." in page.locator("tr.finding-docs").first.inner_text()
    screenshot(page, "governance-diff")

    # Publishing the major offers to deprecate 1.0.0; the planner sends the notice.
    page.goto("/governance/apis/hub-canonical/")
    page.click("#offer-deprecate-1\\.0\\.0 a")
    assert "CRM sync" in page.locator("#affected").inner_text()
    today = timezone.localdate()
    page.fill("#id_deprecated_on", (today - timedelta(days=10)).isoformat())
    page.fill("#id_sunset_on", (today + timedelta(days=2)).isoformat())  # the notice (1 day) runs from today
    assert page.locator("#id_replacement option:checked").inner_text() == "Canonical data API 2.0.0"
    page.click("#deprecate")
    assert "is deprecated" in _flash(page) and "1 e-mailed" in _flash(page)
    assert page.locator("#version-state").inner_text() == "Deprecated"
    page.goto("/governance/apis/hub-canonical/")
    assert page.locator("#timeline .row").count() == 2
    screenshot(page, "governance-product")
    page.goto("/governance/apis/hub-canonical/versions/1.0.0/")

    # The partner still gets answers from 1.0.0, with the deprecation headers.
    served = partner.get("/api/v1/customers")
    assert served.status_code == 200
    v1.refresh_from_db()
    assert served["Deprecation"] == f"@{int(v1.deprecated_at.timestamp())}"
    assert served["Sunset"].endswith("GMT")
    assert 'rel="deprecation"' in served["Link"] and 'rel="sunset"' in served["Link"]
    assert "/governance/notices/hub-canonical/2.0.0/" in served["Link"]

    # After the sunset (time passes: the dates are moved back) the board retires it, and the partner is
    # sent to the replacement.
    past = timezone.now() - timedelta(days=1)
    ApiVersion.objects.filter(pk=v1.pk).update(deprecated_at=past - timedelta(days=10), sunset_at=past)
    page.goto("/governance/apis/hub-canonical/versions/1.0.0/")
    assert not page.locator("#retire").is_visible()  # behind a second step, with what it does
    page.locator("#retire-confirm summary").click()
    assert "410 Gone" in page.locator("#retire-confirm").inner_text()
    page.fill("#retire-note", "sunset passed, last caller moved to 2.0.0")
    screenshot(page, "governance-retire-confirm")
    page.click("#retire")
    assert "is retired" in _flash(page)
    note = AuditEntry.objects.filter(action__startswith="api_version.", object_id=str(v1.pk)).latest("at").note
    assert note == "sunset passed, last caller moved to 2.0.0"
    gone = partner.get("/api/v1/customers")
    assert gone.status_code == 410
    assert gone.json()["replacement"]["version"] == "2.0.0"
    assert 'rel="successor-version"' in gone["Link"]
    assert offline == []


def test_board_approves_a_subscription_request_and_waives_a_style_finding(page, offline, board_member, settings):
    if POLICY_MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, POLICY_MIDDLEWARE]
    settings.HUB_POLICY_ENABLED = True
    settings.HUB_USAGE_FLUSH_SECONDS = 0
    team = TeamFactory(name="Customer team", slug="customer-team", contact_email="customers@example.com")
    product = ApiProductFactory(name="Customers API", slug="customers", path_prefixes=["customers"],
                                owner_team=team, requires_subscription_approval=True)
    ApiVersionFactory(product=product, version="1.0.0")
    consumer = consumer_create(name="Shop sync", system=SystemFactory(code="shop", kind="ecommerce"),
                               contact_email="shop@example.com", actor=Actor.hub())
    partner = APIClient()
    partner.credentials(HTTP_X_API_KEY=api_key_issue(consumer=consumer, actor=Actor.hub()).raw_key)
    assert partner.get("/api/v1/customers").status_code == 403

    # The board subscribes the partner; the product wants approval, so it waits in the queue.
    login(page, "board-member", next_url="/governance/apis/customers/versions/1.0.0/")
    page.select_option("#subscribe-form select[name=consumer]", label="Shop sync (shop)")
    page.click("#subscribe")
    assert "waits for approval in the review queue" in _flash(page)
    assert "waiting for the API governance board's approval" in partner.get("/api/v1/customers").json()["detail"]
    assert page.locator("#review-queue-tab .count").inner_text() == "1"
    page.click("#review-queue-tab")
    request = page.locator("tr.subscription-request[data-consumer='Shop sync']")
    request.locator("button[value=revoke]").click()
    assert "Say why" in _flash(page)
    screenshot(page, "governance-subscription-requests")
    page.locator("tr.subscription-request[data-consumer='Shop sync'] button[value=approve]").click()
    assert "Approved: Shop sync → customers@1.0.0 is active" in _flash(page)
    assert page.locator("#requests-empty").is_visible()
    assert partner.get("/api/v1/customers").status_code == 200

    # A draft with a style error cannot go to review until the finding is waived, with a reason.
    document = orders_doc("1.1.0")
    document["paths"]["/v1/orders"]["get"].pop("operationId")
    api_version_upload(product=product, source=document, actor=Actor(user=board_member))
    page.goto("/governance/apis/customers/versions/1.1.0/")
    page.click("#submit-review")
    assert "has style errors" in _flash(page)
    row = page.locator("tr.style-finding", has_text="style-operation-id-missing")
    row.locator("summary").click()
    row.locator("input[type=text]").fill("Generated by a tool that cannot set operation ids yet")
    row.locator("button[type=submit]").click()
    assert "the reason is kept with the version" in _flash(page)
    assert "Waiver: Generated by a tool" in page.locator("tr.style-finding.waived").first.inner_text()
    page.click("#submit-review")
    assert "submitted to the board" in _flash(page)
    assert ApiVersion.objects.get(product=product, version="1.1.0").status == Lifecycle.IN_REVIEW
    assert offline == []
