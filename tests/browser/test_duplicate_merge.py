"""A data steward merges a duplicate customer account from the exception queue, in a real browser:
the CRM's new account looks like an account keyed straight into the ERP; the steward opens the
exception, reviews the two accounts side by side, keeps the ERP's account, confirms what moves,
and sees the review resolved. An operations user cannot open the review.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from canonical.context import Actor
from canonical.models import Address, BusinessEvent, Customer, ExternalRef
from connectors.models import IntegrationException
from hub.roles import DATA_STEWARD, OPERATIONS, roles_apply
from hub.workflows.onboarding import customer_onboarding_check
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.factories import CustomerFactory, ExternalRefFactory, OrderFactory, SystemFactory

pytestmark = pytest.mark.browser

QUEUE = "/admin/connectors/integrationexception/"


@pytest.fixture
def staff(transactional_db, django_user_model):
    roles_apply(actor=Actor.hub())

    def make(username: str, role: str):
        user = django_user_model.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def duplicate(transactional_db):
    crm, erp = SystemFactory(code="crm", kind="crm"), SystemFactory(code="erp", kind="erp")
    legacy = CustomerFactory(account_number="C900001", name="Acme Plumbing Inc.", tax_id="12-3456789")
    ExternalRefFactory(system=erp, entity_type="customer", external_id="900001", object_id=legacy.pk)
    Address.objects.create(customer=legacy, kind="billing", line1="1 Main St", city="Springfield",
                           postal_code="62701", is_default=True)
    OrderFactory(customer=legacy, number="SO-0000042")
    new = CustomerFactory(account_number="A-2001", name="ACME Plumbing, Inc", tax_id="12-3456789", status="pending")
    ExternalRefFactory(system=crm, entity_type="customer", external_id="0015g00000AbC", object_id=new.pk)
    Address.objects.create(customer=new, kind="billing", line1="1 MAIN STREET", city="Springfield",
                           postal_code="62701", is_default=True)
    exception = customer_onboarding_check(customer=new, actor=Actor(system=crm)).exception
    return legacy, new, exception


def test_a_data_steward_merges_a_duplicate_from_the_queue(page, staff, duplicate):
    legacy, new, exception = duplicate
    steward = staff("stella", DATA_STEWARD)

    login(page, steward.username, next_url=QUEUE)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "duplicate customer" in rows.first.inner_text().lower()
    page.locator("#result_list").get_by_role("link", name=str(exception.pk), exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("C900001").first.is_visible()
    page.get_by_role("link", name="Review the duplicates").click()
    page.wait_for_load_state("networkidle")

    candidate = page.locator(f"#candidate-{legacy.pk}")
    assert candidate.locator(".score").inner_text() == "1.0"
    reasons = candidate.locator("ul.reasons").inner_text()
    assert "same tax id" in reasons and "same name" in reasons and "same address" in reasons
    assert "suggested: keep C900001" in candidate.inner_text()
    screenshot(page, "duplicate-review")

    candidate.get_by_role("link", name="Keep C900001, merge A-2001 into it").click()
    page.wait_for_load_state("networkidle")
    moves = page.locator("#moves")
    assert "crm: 0015g00000AbC" in moves.inner_text()
    page.fill("#id_note", "Same tax id and address; keyed in the CRM by a new rep.")
    screenshot(page, "duplicate-merge-confirm")
    page.locator("#confirm-merge").click()
    page.wait_for_load_state("networkidle")

    messages = page.locator("ul.messages").inner_text()
    assert "A-2001 was merged into C900001" in messages
    assert "The review is resolved; account C900001 is active" in messages
    assert page.locator("#review-status").inner_text() == "Resolved"
    assert "Merged A-2001 into C900001" in page.locator("#resolution").inner_text()
    screenshot(page, "duplicate-merged")

    new.refresh_from_db()
    assert (new.status, new.merged_into_id) == ("merged", legacy.pk)
    assert ExternalRef.objects.get(external_id="0015g00000AbC").object_id == legacy.pk
    assert IntegrationException.objects.get(pk=exception.pk).resolved_by == steward
    assert BusinessEvent.objects.filter(event_type="customer.merged", aggregate_id=str(new.pk)).exists()

    page.goto(QUEUE)
    assert page.get_by_text("0 exceptions").is_visible()


def test_an_operations_user_cannot_open_the_review(page, staff, duplicate):
    legacy, new, exception = duplicate
    operator = staff("otto", OPERATIONS)
    login(page, operator.username, next_url=QUEUE)
    assert page.locator("#result_list tbody tr").count() == 0 if page.locator("#result_list").count() else True
    response = page.goto(f"/portal/stewardship/duplicates/{exception.pk}/")
    assert response.status == 403
    assert Customer.objects.get(pk=new.pk).status == "pending"
