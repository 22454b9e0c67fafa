"""Staff cancelling orders in the admin ("Cancel orders…" on the list, "Cancel order…" on an order's page):
the same workflow as POST /api/v1/orders/{id}/cancel, a reason required, shipped orders left alone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from canonical.models import BusinessEvent, InventoryPosition, Order
from hub import roles
from tests.hub.ordering_support import new_key
from tests.staff import role_member

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:canonical_order_changelist")


def place(client, quantity="4"):
    response = client.post(
        "/api/v1/orders", {"customer": "CRM-100", "ship_to": "CRM-100-1", "lines": [{"sku": "WID-1", "quantity": quantity}]},
        format="json", HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=response.json()["order"]["id"])


def test_operations_cancels_orders_from_the_list_with_a_reason(crm, shop):
    first, second, shipped = place(crm), place(crm, "2"), place(crm, "1")
    Order.objects.filter(pk=shipped.pk).update(status="shipped")
    client = role_member(roles.OPERATIONS)
    selected = {"action": "cancel_orders", "_selected_action": [first.pk, second.pk, shipped.pk]}

    page = client.post(CHANGELIST, selected)
    assert page.status_code == 200 and page.templates[0].name == "admin/hub/action_confirm.html"
    listed = page.content.decode()
    assert f"{first.number} · allocated · " in listed and f"{shipped.number} · shipped · " in listed
    assert "No, go back" in listed
    no_reason = client.post(CHANGELIST, {**selected, "apply": "1", "reason": " "})
    assert no_reason.status_code == 200 and no_reason.context["form"].errors["reason"]
    assert Order.objects.get(pk=first.pk).status == "allocated"

    done = client.post(CHANGELIST, {**selected, "apply": "1", "reason": "customer called: duplicate order"},
                       follow=True)
    [message] = [str(m) for m in done.context["messages"]]
    assert message == (f"2 cancelled ({first.number}, {second.number}), 1 left as they were "
                       f"({shipped.number}: it is shipped and cannot be cancelled any more).")
    assert set(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"cancelled"}
    assert Order.objects.get(pk=shipped.pk).status == "shipped"
    assert InventoryPosition.objects.get(product=shop.widget, location=shop.east).reserved == 1  # the shipped one's
    cancelled = BusinessEvent.objects.get(aggregate_type="order", aggregate_id=str(first.pk),
                                          event_type="order.cancelled")
    assert cancelled.payload["reason"] == "customer called: duplicate order"
    assert cancelled.actor == "user:operations"


def test_an_orders_page_offers_cancel_only_to_who_may_and_while_it_can(crm, shop):
    order = place(crm)
    url = reverse("admin:canonical_order_change", args=[order.pk])
    cancel_url = reverse("admin:canonical_order_cancel", args=[order.pk])
    operations, finance = role_member(roles.OPERATIONS), role_member(roles.FINANCE)
    assert cancel_url in operations.get(url).content.decode()
    assert cancel_url not in finance.get(url).content.decode()
    assert finance.post(cancel_url, {"apply": "1", "reason": "no"}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == "allocated"

    page = operations.get(cancel_url)
    assert page.status_code == 200 and order.number in page.content.decode()
    assert page.context["title"] == "Cancel an order" and page.context["back_url"] == url  # "No, go back"
    done = operations.post(cancel_url, {"apply": "1", "reason": "wrong ship-to"}, follow=True)
    assert done.redirect_chain[-1][0] == url
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert cancel_url not in operations.get(url).content.decode()  # nothing left to cancel


def test_cancelling_an_order_that_is_not_there_says_so(crm, shop):
    operations = role_member(roles.OPERATIONS)
    for wrong in ("999999", "abc"):
        response = operations.get(f"/admin/canonical/order/{wrong}/cancel/", follow=True)
        assert response.redirect_chain[-1][0] == CHANGELIST
        assert f"There is no order with id '{wrong}'." in [str(m) for m in response.context["messages"]]
