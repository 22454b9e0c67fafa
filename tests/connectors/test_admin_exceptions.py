"""The exception queue in the admin: list, filters, search, change page, team scoping, every action."""

from __future__ import annotations

import json
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from canonical.context import Actor
from canonical.models import AuditEntry
from connectors.models import DeliveryStatus, InboundMessage, InboundStatus, IntegrationException
from connectors.services.exceptions import exception_ignore
from tests.connectors.inbound_support import URLCONF, send
from tests.connectors.outbound_support import deliver_all, record_event
from tests.connectors.receiver import Reply, receiver_fixture  # noqa: F401
from tests.factories import (
    CustomerFactory,
    IntegrationExceptionFactory,
    OrderFactory,
    OutboundConnectorFactory,
    SubscriptionFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:connectors_integrationexception_changelist")


def change_url(exception) -> str:
    return reverse("admin:connectors_integrationexception_change", args=[exception.pk])


def act_url(exception) -> str:
    return reverse("admin:connectors_integrationexception_act", args=[exception.pk])


def staff(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def ivy(django_user_model, client):
    """An integration engineer, logged in."""
    user = staff(django_user_model, "ivy", "work_integration_queue", "view_delivery", "view_inboundmessage",
                 "view_order", "view_customer")  # the business records its exceptions link to
    client.force_login(user)
    return user


def shown(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def listed(response) -> set[int]:
    return {row.pk for row in response.context["cl"].result_list}


def run_action(client, action: str, exceptions, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [e.pk for e in exceptions], **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_changelist_shows_the_queue_with_sla_severity_and_business_links(client, ivy):
    customer = CustomerFactory(account_number="C-100", name="Harbor Mechanical")
    order = OrderFactory(number="SO-7001", customer=customer)
    overdue = IntegrationExceptionFactory(order=order, customer=customer, severity="critical", title="Order rejected")
    IntegrationException.objects.filter(pk=overdue.pk).update(sla_due_at=timezone.now() - timedelta(hours=2))
    slow = IntegrationExceptionFactory(severity="low", title="Slow partner")
    IntegrationException.objects.filter(pk=slow.pk).update(occurrences=3)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "overdue 2 h" in html and 'class="sla-overdue"' in html
    assert '<span class="where">Integration queue</span>' in html  # the team under the title
    assert ">seen 3×</span>" in html and ">seen 1×" not in html  # the occurrences under the age
    assert 'class="severity severity-critical"' in html
    assert "order SO-7001" in html and reverse("admin:canonical_order_change", args=[order.pk]) in html
    assert "customer C-100" in html
    assert listed(response) == set(IntegrationException.objects.values_list("pk", flat=True))


def test_changelist_queries_do_not_grow_with_the_rows(client, ivy, django_assert_max_num_queries):
    for _ in range(3):
        order = OrderFactory()
        IntegrationExceptionFactory(order=order, customer=order.customer)
    with django_assert_max_num_queries(40) as few:
        client.get(CHANGELIST)
    for _ in range(12):
        order = OrderFactory()
        IntegrationExceptionFactory(order=order, customer=order.customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(CHANGELIST).status_code == 200


def test_filters_narrow_the_queue(client, ivy):
    old = IntegrationExceptionFactory(category="mapping", severity="high")
    IntegrationException.objects.filter(pk=old.pk).update(first_seen_at=timezone.now() - timedelta(days=9),
                                                          sla_due_at=timezone.now() - timedelta(days=8))
    customer = CustomerFactory()
    fresh = IntegrationExceptionFactory(category="validation", customer=customer)
    closed = IntegrationExceptionFactory()
    exception_ignore(exception=closed, actor=Actor.hub(), reason="test data")
    connector = OutboundConnectorFactory()
    via_connector = IntegrationExceptionFactory(connector=connector)
    cases = {
        "": {old.pk, fresh.pk, via_connector.pk},
        "status=all": {old.pk, fresh.pk, via_connector.pk, closed.pk},
        "status=ignored": {closed.pk},
        "category__exact=mapping": {old.pk},
        "severity__exact=high": {old.pk},
        "age=older": {old.pk},
        "age=hour": {fresh.pk, via_connector.pk},
        "overdue=yes": {old.pk},
        "overdue=no": {fresh.pk, via_connector.pk},
        f"customer={customer.pk}": {fresh.pk},
        f"connector__id__exact={connector.pk}": {via_connector.pk},
        "team=integration": {old.pk, fresh.pk, via_connector.pk},
    }
    for query, expected in cases.items():
        response = client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200, query
        assert listed(response) == expected, query


def test_search_by_order_number_and_correlation_id(client, ivy):
    order = OrderFactory(number="SO-55501")
    hit = IntegrationExceptionFactory(order=order)
    other = IntegrationExceptionFactory(actor=Actor(correlation_id="trace-abc"))
    assert listed(client.get(CHANGELIST, {"q": "SO-55501"})) == {hit.pk}
    assert listed(client.get(CHANGELIST, {"q": "trace-abc"})) == {other.pk}


def test_search_by_what_the_partner_sent_in_a_failed_message(client, ivy):
    def message(**fields):
        return InboundMessage.objects.create(message_type="shipment.milestone", status="failed", **fields)

    hit = IntegrationExceptionFactory(
        inbound_message=message(sender_message_id="66d17a42-aa", body='{"shipment_id": "WMS-R2-4", "n": 1}'))
    IntegrationExceptionFactory(inbound_message=message(body='{"shipment_id": "WMS-R2-5"}'))
    assert listed(client.get(CHANGELIST, {"q": "66d17a42-aa"})) == {hit.pk}
    assert listed(client.get(CHANGELIST, {"q": "WMS-R2-4"})) == {hit.pk}
    assert listed(client.get(CHANGELIST, {"q": "n\""})) == set()  # too short to look for in bodies


def test_finance_user_neither_sees_nor_acts_on_integration_exceptions(client, django_user_model):
    integration = IntegrationExceptionFactory(team="integration")
    finance = IntegrationExceptionFactory(team="finance", category="credit_hold")
    clerk = staff(django_user_model, "fay", "work_finance_queue")
    client.force_login(clerk)
    assert listed(client.get(CHANGELIST)) == {finance.pk}
    assert listed(client.get(f"{CHANGELIST}?team=integration")) == set(), "asking for another queue shows nothing"
    assert "?team=integration" not in client.get(CHANGELIST).content.decode(), "the team filter offers only theirs"
    response = client.get(change_url(integration), follow=True)
    assert response.redirect_chain and "doesn’t exist" in " ".join(shown(response))
    response = run_action(client, "assign_to_me", [integration])
    assert shown(response) == [f"0 assigned to you, 1 skipped (#{integration.pk}: not in your queues)."]
    response = client.post(act_url(integration), {"action": "assign_to_me"})
    assert response.status_code == 404
    integration.refresh_from_db()
    assert integration.assignee is None and integration.status == "open"


def test_the_queue_offers_a_team_only_the_actions_and_categories_its_exceptions_can_have(client, django_user_model):
    IntegrationExceptionFactory(team="finance", category="credit_hold")
    IntegrationExceptionFactory(team="integration", category="timeout")
    client.force_login(staff(django_user_model, "fay", "work_finance_queue"))
    html = client.get(CHANGELIST).content.decode()
    assert 'value="resolve"' in html
    assert not any(f'value="{name}"' in html for name in ("retry", "replay", "edit_and_reprocess"))
    assert "?category=credit_hold" in html and "?category=timeout" not in html


def test_staff_without_a_queue_permission_cannot_open_the_queue(client, django_user_model):
    client.force_login(staff(django_user_model, "sam", "view_integrationexception"))
    assert client.get(CHANGELIST).status_code == 403


def test_change_page_shows_context_source_attempts_and_audit_trail(client, ivy, receiver):
    receiver.default = Reply(status=503, body=b'{"error": "maintenance"}')
    SubscriptionFactory(connector=OutboundConnectorFactory(base_url=receiver.url, max_attempts=2))
    order = OrderFactory(number="SO-9100")
    record_event("order.created", aggregate_id=order.pk)
    deliver_all()
    exception = IntegrationException.objects.get()
    response = client.get(change_url(exception))
    assert response.status_code == 200
    html = response.content.decode()
    assert "order SO-9100" in html
    assert f"Delivery <a href=\"{reverse('admin:connectors_delivery_change', args=[exception.delivery_id])}\"" in html
    assert html.count("Failed, will retry") == 1 and html.count("Failed, dead") == 1
    assert "maintenance" in html
    assert '"event_type": "order.created"' in unescape(html)
    assert "exception.opened" in html
    assert 'value="retry"' in html and 'value="resolve"' in html and 'value="reopen"' not in html


def test_bulk_retry_then_success_resolves(client, ivy, receiver):
    receiver.default = Reply(status=500)
    SubscriptionFactory(connector=OutboundConnectorFactory(base_url=receiver.url, max_attempts=1))
    record_event("order.created")
    record_event("order.created")
    deliver_all()
    plain = IntegrationExceptionFactory()
    exceptions = [*IntegrationException.objects.filter(delivery__isnull=False), plain]
    response = run_action(client, "retry", exceptions)
    assert shown(response) == [
        f"2 queued for retry, 1 skipped (#{plain.pk}: It has no delivery or inbound message to retry.)."]
    receiver.default = Reply(status=200)
    deliver_all()
    assert set(IntegrationException.objects.exclude(pk=plain.pk).values_list("status", flat=True)) == {"resolved"}


def test_replay_action_requeues_the_delivery(client, ivy, receiver):
    receiver.default = Reply(status=500)
    SubscriptionFactory(connector=OutboundConnectorFactory(base_url=receiver.url, max_attempts=1))
    record_event("order.created")
    deliver_all()
    exception = IntegrationException.objects.get()
    response = client.post(act_url(exception), {"action": "replay"}, follow=True)
    assert response.redirect_chain[-1][0] == change_url(exception)
    assert shown(response) == ["1 replayed."]
    exception.delivery.refresh_from_db()
    assert exception.delivery.status == DeliveryStatus.PENDING


def test_resolve_asks_for_a_note_then_resolves_all_selected(client, ivy):
    exceptions = [IntegrationExceptionFactory(), IntegrationExceptionFactory()]
    page = run_action(client, "resolve", exceptions)
    assert page.templates[0].name == "admin/connectors/integrationexception/action_form.html"
    assert b"2</strong> exceptions selected" in page.content
    missing = run_action(client, "resolve", exceptions, apply="1", note="  ")
    assert b"This field is required." in missing.content
    assert IntegrationException.objects.filter(status="open").count() == 2
    done = run_action(client, "resolve", exceptions, apply="1", note="Partner re-sent the orders.")
    assert shown(done) == ["2 resolved."]
    assert set(IntegrationException.objects.values_list("status", "resolution_note")) == {
        ("resolved", "Partner re-sent the orders.")}
    assert AuditEntry.objects.filter(action="exception.resolved", actor_user=ivy).count() == 2


def test_ignore_one_from_its_page_with_a_reason(client, ivy):
    exception = IntegrationExceptionFactory()
    page = client.post(act_url(exception), {"action": "ignore"})
    assert page.status_code == 200 and b'name="reason"' in page.content
    done = client.post(act_url(exception), {"action": "ignore", "apply": "1", "reason": "Test order."}, follow=True)
    assert shown(done) == ["1 ignored."]
    exception.refresh_from_db()
    assert (exception.status, exception.resolution_note, exception.resolved_by) == ("ignored", "Test order.", ivy)
    reopened = client.post(act_url(exception), {"action": "reopen"}, follow=True)
    assert shown(reopened) == ["1 reopened."]


def test_a_credit_hold_is_not_resolved_from_the_queue_but_linked_to_the_credit_hold_queue(client, django_user_model):
    finance = staff(django_user_model, "fay", "work_finance_queue", "view_order")
    client.force_login(finance)
    order = OrderFactory(number="SO-9009")
    held = IntegrationExceptionFactory(category="credit_hold", team="finance", order=order)
    dispute = IntegrationExceptionFactory(category="invoice_dispute", team="finance")

    page = client.get(change_url(held))
    offered = [name for name, _ in page.context["exception_actions"]]
    assert "resolve" not in offered and "ignore" not in offered and "assign_to_me" in offered
    html = unescape(page.content.decode())
    work_page = reverse("credit-hold-for-exception", args=[held.pk])
    assert f'href="{work_page}">Release or reject in the credit-hold queue</a>' in html
    assert "Not resolved or ignored here: a credit hold is decided in the finance credit-hold queue" in html
    assert client.get(work_page).url == f"/portal/credit-holds/?order={order.pk}#order-{order.pk}"

    alone = client.post(act_url(held), {"action": "resolve"}, follow=True)  # a stale button: no note asked
    assert shown(alone) == [f"0 resolved, 1 skipped (#{held.pk}: a credit hold is decided in the finance "
                            "credit-hold queue: release or reject the order there, which resolves this exception)."]
    mixed = run_action(client, "ignore", [held, dispute], apply="1", reason="Customer withdrew it")
    assert shown(mixed)[0].startswith(f"1 ignored, 1 skipped (#{held.pk}: a credit hold is decided in")
    held.refresh_from_db()
    dispute.refresh_from_db()
    assert (held.status, dispute.status) == ("open", "ignored")


def test_a_duplicate_customer_is_not_resolved_from_the_queue_but_on_its_review_page(client, django_user_model):
    steward = staff(django_user_model, "stu", "work_data_stewardship_queue", "view_customer")
    client.force_login(steward)
    duplicate = IntegrationExceptionFactory(category="duplicate_customer", team="data_stewardship",
                                            customer=CustomerFactory())
    page = client.get(change_url(duplicate))
    assert "resolve" not in [name for name, _ in page.context["exception_actions"]]
    html = page.content.decode()
    assert reverse("stewardship:duplicate-review", args=[duplicate.pk]) in html
    assert "a duplicate customer is decided on the duplicate review page" in html
    done = run_action(client, "resolve", [duplicate], apply="1", note="Checked with sales; fine")
    assert "0 resolved, 1 skipped" in shown(done)[0]
    duplicate.refresh_from_db()
    assert duplicate.status == "open"


def test_assign_to_me_and_to_a_team(client, ivy):
    first, second = IntegrationExceptionFactory(), IntegrationExceptionFactory()
    assert shown(run_action(client, "assign_to_me", [first, second])) == ["2 assigned to you."]
    first.refresh_from_db()
    assert first.assignee == ivy and first.status == "in_progress"
    form = run_action(client, "assign_to_team", [first])
    assert b'name="team"' in form.content
    moved = run_action(client, "assign_to_team", [first], apply="1", team="operations")
    assert shown(moved) == ["1 moved to the Operations queue."]
    first.refresh_from_db()
    assert (first.team, first.assignee, first.status) == ("operations", None, "open")
    assert first.pk not in listed(client.get(CHANGELIST)), "it left the integration engineer's queue"


@pytest.fixture
def failed_message(partner_client):
    crm = partner_client("crm", "crm")
    SystemOfRecordFactory(domain="customers", system=crm.system)
    with override_settings(ROOT_URLCONF=URLCONF):
        response = send(crm, "crm", "customer.upsert", {"external_id": "SF-9", "customer": {"account_number": "A-9"}},
                        message_id="bad-9")
    assert response.status_code == 400
    return IntegrationException.objects.get(inbound_message=response.stored)


def test_edit_payload_and_reprocess_from_the_admin(client, ivy, failed_message):
    page = client.post(act_url(failed_message), {"action": "edit_and_reprocess"})
    assert page.status_code == 200
    field = f"body_{failed_message.pk}"
    assert json.loads(page.context["form"][field].initial) == json.loads(failed_message.inbound_message.body)
    fixed = json.dumps({"external_id": "SF-9", "customer": {"account_number": "A-9", "name": "Bay Supply"}})
    done = client.post(act_url(failed_message), {
        "action": "edit_and_reprocess", "apply": "1", field: fixed, "note": "added the name"}, follow=True)
    assert shown(done) == ["1 reprocessed."]
    failed_message.refresh_from_db()
    assert failed_message.status == "resolved"
    assert failed_message.inbound_message.status == InboundStatus.PROCESSED
    page = client.get(change_url(failed_message))
    assert b"added the name" in page.content and b"+" in page.content and b"Bay Supply" in page.content


def test_edit_payload_refuses_a_body_nested_too_deeply_and_says_why(client, ivy, failed_message):
    field = f"body_{failed_message.pk}"
    done = run_action(client, "edit_and_reprocess", [failed_message], apply="1", **{field: "[" * 5000 + "]" * 5000})
    (message,) = shown(done)
    assert message.startswith(f"0 reprocessed, 1 skipped (#{failed_message.pk}: The edited body is not usable: "
                              "The JSON nests arrays and objects more than 64 levels deep")


def test_edit_payload_refuses_invalid_json_and_says_why(client, ivy, failed_message):
    field = f"body_{failed_message.pk}"
    done = run_action(client, "edit_and_reprocess", [failed_message], apply="1", **{field: "{nope"})
    (message,) = shown(done)
    assert message.startswith(f"0 reprocessed, 1 skipped (#{failed_message.pk}: The edited body is not valid JSON")
    failed_message.refresh_from_db()
    assert failed_message.status == "open"


def test_edit_payload_for_exceptions_without_a_message_explains(client, ivy):
    response = run_action(client, "edit_and_reprocess", [IntegrationExceptionFactory()])
    assert shown(response) == ["None of the selected exceptions is an open one about an inbound message."]


def test_nothing_can_be_added_edited_or_deleted_by_form(client, ivy):
    exception = IntegrationExceptionFactory()
    assert client.get(reverse("admin:connectors_integrationexception_add")).status_code == 403
    assert client.get(reverse("admin:connectors_integrationexception_delete", args=[exception.pk])).status_code == 403
    client.post(change_url(exception), {"title": "changed", "status": "resolved"})
    exception.refresh_from_db()
    assert exception.status == "open" and exception.title != "changed"
