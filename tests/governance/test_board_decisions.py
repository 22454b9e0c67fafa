"""The board's pages beyond versions: subscriptions (subscribe, approve, decline, revoke) and style waivers."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from canonical.models import AuditEntry
from governance.models import ApiSubscription, ApiVersion, Lifecycle, SubscriptionStatus
from governance.services import (
    GovernanceError,
    api_version_submit,
    api_version_upload,
    api_version_waive,
)
from tests.factories import RatePlanFactory
from tests.governance.conftest import orders_doc

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(client, board_member):
    client.force_login(board_member)
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _undocumented() -> dict:
    document = orders_doc("1.0.0")
    document["paths"]["/v1/orders"]["get"].pop("operationId")
    return document


# --- style waivers on a draft ---------------------------------------------------------------------------


def test_a_draft_with_a_style_error_is_waived_then_submitted(product, board_actor):
    version = api_version_upload(product=product, source=_undocumented(), actor=board_actor)
    with pytest.raises(GovernanceError):
        api_version_submit(version=version, actor=board_actor)
    waiver = {"check_id": "style-operation-id-missing", "path": "/v1/orders", "method": "GET",
              "reason": "the generator cannot set it yet"}
    version = api_version_waive(version=version, waivers=[waiver], actor=board_actor)
    stored = next(f for f in version.style_findings if f["check_id"] == "style-operation-id-missing")
    assert stored["waived"] and stored["waiver_reason"] == "the generator cannot set it yet"
    assert version.style_waivers[0]["by"] == "board" and version.style_waivers[0]["at"]
    assert AuditEntry.objects.filter(action="api_version.style_waived", object_id=str(version.pk)).exists()
    assert api_version_submit(version=version, actor=board_actor).version.status == Lifecycle.IN_REVIEW


@pytest.mark.parametrize(("waiver", "message"), [
    ({"check_id": "style-summary-missing", "path": "/v1/orders", "method": "GET", "reason": "x"},
     "no such style finding"),
    ({"check_id": "style-operation-id-missing", "path": "/v1/orders", "method": "GET", "reason": " "},
     "not valid"),
    ({"check_id": "nope", "path": "/v1/orders", "reason": "x"}, "not valid"),
])
def test_a_waiver_must_name_a_real_finding_and_give_a_reason(product, board_actor, waiver, message):
    version = api_version_upload(product=product, source=_undocumented(), actor=board_actor)
    with pytest.raises(GovernanceError, match=message):
        api_version_waive(version=version, waivers=[waiver], actor=board_actor)
    assert ApiVersion.objects.get(pk=version.pk).style_waivers == []


def test_only_a_draft_takes_waivers(product, publish, board_actor):
    version = publish(product, orders_doc("1.0.0"))
    with pytest.raises(GovernanceError, match="only be waived while it is a draft"):
        api_version_waive(version=version, actor=board_actor, waivers=[
            {"check_id": "style-operation-id-missing", "path": "/v1/orders", "method": "GET", "reason": "x"}])


def test_the_version_page_waives_a_finding_next_to_it(board, product, board_actor):
    version = api_version_upload(product=product, source=_undocumented(), actor=board_actor)
    page = _text(board.get(f"/governance/apis/orders/versions/{version.version}/"))
    assert "Waive for this operation" in page
    prefix = re.search(r'name="prefix" value="(w\d+)"', page).group(1)
    url = f"/governance/apis/orders/versions/{version.version}/waive/"
    fields = {"prefix": prefix, f"{prefix}-check_id": "style-operation-id-missing", f"{prefix}-path": "/v1/orders",
              f"{prefix}-method": "GET"}
    missing_reason = _text(board.post(url, fields, follow=True))
    assert "Give the reason for the waiver." in missing_reason
    done = _text(board.post(url, {**fields, f"{prefix}-reason": "legacy generator"}, follow=True))
    assert "Waived style-operation-id-missing for /v1/orders" in done
    assert "Waiver: legacy generator" in done
    submitted = _text(board.post(f"/governance/apis/orders/versions/{version.version}/submit/", follow=True))
    assert "submitted to the board" in submitted


def test_a_finding_on_a_path_with_a_parameter_is_waived_without_an_error(board, product, board_actor):
    document = _undocumented()
    operation = document["paths"].pop("/v1/orders")
    operation["get"]["parameters"] = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    document["paths"]["/v1/orders/{id}"] = operation
    version = api_version_upload(product=product, source=document, actor=board_actor)
    page = _text(board.get(f"/governance/apis/orders/versions/{version.version}/"))
    prefix = re.search(r'name="prefix" value="(w\d+)"', page).group(1)
    done = board.post(f"/governance/apis/orders/versions/{version.version}/waive/", {
        "prefix": prefix, f"{prefix}-check_id": "style-operation-id-missing", f"{prefix}-path": "/v1/orders/{id}",
        f"{prefix}-method": "GET", f"{prefix}-reason": "legacy generator"}, follow=True)
    assert done.status_code == 200
    assert "Waived style-operation-id-missing for /v1/orders/{id}" in _text(done)


# --- subscriptions ---------------------------------------------------------------------------------------


def test_the_board_subscribes_a_consumer_and_revokes_it_with_a_reason(board, product, publish, consumer_with_key):
    version = publish(product, orders_doc("1.0.0"))
    consumer, _ = consumer_with_key("crm-app")
    plan = RatePlanFactory(name="partner", per_minute=600)
    url = "/governance/apis/orders/versions/1.0.0/"
    assert "crm-app (crm)" in _text(board.get(url))
    done = _text(board.post(url + "subscribe/", {"consumer": consumer.pk, "rate_plan": plan.pk}, follow=True))
    assert "crm-app is subscribed to orders@1.0.0" in done
    subscription = ApiSubscription.objects.get(consumer=consumer, version=version)
    assert subscription.status == SubscriptionStatus.ACTIVE and subscription.rate_plan == plan
    decide = f"/governance/subscriptions/{subscription.pk}/decide/"
    no_reason = _text(board.post(decide, {"decision": "revoke"}, follow=True))
    assert "Say why" in no_reason
    assert ApiSubscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.ACTIVE
    revoked = _text(board.post(decide, {"decision": "revoke", "note": "contract ended"}, follow=True))
    assert "Revoked: crm-app → orders@1.0.0" in revoked
    assert ApiSubscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.REVOKED
    assert AuditEntry.objects.get(action="subscription.revoked").note == "contract ended"


def test_a_product_that_needs_approval_queues_the_request_for_the_board(board, product, publish, consumer_with_key):
    product.requires_subscription_approval = True
    product.save()
    publish(product, orders_doc("1.0.0"))
    consumer, _ = consumer_with_key("shop-app", system_code="shop")
    queued = _text(board.post("/governance/apis/orders/versions/1.0.0/subscribe/", {"consumer": consumer.pk},
                              follow=True))
    assert "waits for approval in the review queue" in queued
    queue = _text(board.get("/governance/reviews/"))
    assert 'id="review-queue-tab"' in queue and '<span class="count"' in queue
    assert "shop-app" in queue and "Orders API <code>1.0.0</code>" in queue
    subscription = ApiSubscription.objects.get(consumer=consumer)
    approved = _text(board.post(f"/governance/subscriptions/{subscription.pk}/decide/",
                                {"decision": "approve", "next": "/governance/reviews/"}, follow=True))
    assert "Approved: shop-app → orders@1.0.0 is active" in approved
    assert "No subscription is waiting for approval." in approved
    assert ApiSubscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.ACTIVE


def test_a_pending_request_can_be_declined_and_an_outside_next_is_ignored(board, product, publish,
                                                                          consumer_with_key, subscribe):
    product.requires_subscription_approval = True
    product.save()
    version = publish(product, orders_doc("1.0.0"))
    consumer, _ = consumer_with_key("shop-app", system_code="shop")
    subscription = subscribe(consumer, version)
    response = board.post(f"/governance/subscriptions/{subscription.pk}/decide/",
                          {"decision": "revoke", "note": "no contract", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/governance/apis/orders/versions/1.0.0/#subscriptions"
    assert ApiSubscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.REVOKED


def test_a_deprecated_version_offers_no_subscribe_form_and_refuses_one(board, product, publish, consumer_with_key):
    version = publish(product, orders_doc("1.0.0"))
    ApiVersion.objects.filter(pk=version.pk).update(status=Lifecycle.DEPRECATED)
    consumer, _ = consumer_with_key("crm-app")
    page = _text(board.get("/governance/apis/orders/versions/1.0.0/"))
    assert 'id="subscribe-form"' not in page and "takes no new subscriptions" in page
    refused = _text(board.post("/governance/apis/orders/versions/1.0.0/subscribe/", {"consumer": consumer.pk},
                               follow=True))
    assert "is deprecated: it takes no new subscriptions; subscribe to a newer version instead" in refused
    assert not ApiSubscription.objects.exists()


def test_subscription_decisions_need_the_permission(client, product, publish, consumer_with_key, subscribe):
    version = publish(product, orders_doc("1.0.0"))
    consumer, _ = consumer_with_key("crm-app")
    subscription = subscribe(consumer, version)
    viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_apiproduct", "view_apiversion"]))
    client.force_login(viewer)
    page = _text(client.get("/governance/apis/orders/versions/1.0.0/"))
    assert "crm-app" in page and 'id="subscribe-form"' not in page and "Revoke" not in page
    response = client.post(f"/governance/subscriptions/{subscription.pk}/decide/", {"decision": "revoke",
                                                                                   "note": "x"})
    assert response.status_code == 403
    assert ApiSubscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.ACTIVE
