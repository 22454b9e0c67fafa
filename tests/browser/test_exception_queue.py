"""The exception queue in a real browser: deliveries to a receiver answering 500 go dead, an
operations user finds the exceptions, the receiver is fixed, the user retries them in bulk, and
after the dispatcher runs sees them resolved.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from connectors.models import DeliveryStatus, IntegrationException
from tests.browser.conftest import PASSWORD, login, screenshot
from tests.connectors.outbound_support import deliver_all, record_event
from tests.connectors.receiver import Receiver, Reply
from tests.factories import CustomerFactory, OrderFactory, OutboundConnectorFactory, SubscriptionFactory

pytestmark = pytest.mark.browser

QUEUE = "/admin/connectors/integrationexception/"
# What an operations person needs to work the integration queue and follow an exception to its source.
OPERATIONS_PERMISSIONS = ("work_operations_queue", "work_integration_queue", "view_delivery",
                          "view_deliveryattempt", "view_inboundmessage", "view_order", "view_customer")


@pytest.fixture
def receiver():
    started = Receiver(default=Reply(status=500, body=b'{"error": "order service unavailable"}'))
    yield started
    started.close()


@pytest.fixture
def operations_user(transactional_db, django_user_model):
    group = Group.objects.create(name="operations-queue-test")
    group.permissions.set(Permission.objects.filter(codename__in=OPERATIONS_PERMISSIONS))
    user = django_user_model.objects.create_user("olivia", "olivia@example.com", PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


def test_operations_user_retries_dead_deliveries_in_bulk_and_sees_them_resolved(page, receiver, operations_user):
    connector = OutboundConnectorFactory(name="Web store", base_url=receiver.url, max_attempts=2)
    SubscriptionFactory(connector=connector, name="orders to the web store", path="/webhooks/hub")
    customer = CustomerFactory(name="Harbor Mechanical Supply")
    orders = [OrderFactory(number=f"SO-2024{n}", customer=customer) for n in range(3)]
    for order in orders:
        record_event("order.created", aggregate_id=order.pk, payload={"order": {"number": order.number}})
    deliver_all()
    exceptions = list(IntegrationException.objects.order_by("pk"))
    assert len(exceptions) == 3 and {e.delivery.status for e in exceptions} == {DeliveryStatus.DEAD}
    assert len(receiver.requests) == 6, "two attempts each, all answered 500"

    login(page, operations_user.username, next_url=QUEUE)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    for order in orders:
        assert page.locator("#result_list").get_by_role("link", name=f"order {order.number}").is_visible()
    assert "partner error" in rows.first.inner_text().lower()
    assert "integration queue · " in rows.first.inner_text().lower()  # the queue and connector, under the title
    # The whole row is on screen in this 1,280 px window: the list does not scroll sideways.
    assert page.evaluate("document.querySelector('#result_list').scrollWidth "
                         "<= document.querySelector('.results').clientWidth")
    screenshot(page, "exception-queue")

    # The person looks at one of them first: the failed attempts and the partner's answer.
    page.locator("#result_list").get_by_role("link", name=str(exceptions[0].pk), exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("order service unavailable").first.is_visible()
    assert page.locator("table.log").first.get_by_text("Failed, dead").is_visible()
    screenshot(page, "exception-detail")
    page.goto(QUEUE)

    receiver.default = Reply(status=200)
    page.locator("#action-toggle").check()
    page.select_option("select[name=action]", "retry")
    page.locator("button[name=index]").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("ul.messagelist").inner_text().strip() == "3 queued for retry."
    assert page.locator("#result_list tbody tr").count() == 3
    assert page.locator("#result_list").get_by_text("In progress").count() == 3

    deliver_all()
    page.get_by_role("link", name="Resolved", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#result_list tbody tr").count() == 3
    assert page.locator("#result_list").get_by_text("Resolved").count() == 3
    screenshot(page, "exception-queue-resolved")
    page.get_by_role("link", name="Open or in progress").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("0 exceptions").is_visible()

    assert {e.status for e in IntegrationException.objects.all()} == {"resolved"}
    assert len(receiver.requests) == 9
