"""The governance board's pages: access, catalog filters, product, diff, upload with dry run, reviews, planner."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from canonical.models import AuditEntry, BusinessEvent
from governance.models import ApiVersion, Lifecycle
from governance.policy.usage import usage_record
from tests.factories import ApiProductFactory, ApiVersionFactory, TeamFactory
from tests.governance.conftest import orders_doc

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(client, board_member):
    client.force_login(board_member)
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_pages_need_a_signed_in_board_member(client, product):
    assert client.get("/governance/").status_code == 302
    assert client.get("/governance/").url.startswith("/admin/login/")
    outsider = get_user_model().objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(outsider)
    assert client.get("/governance/").status_code == 403
    assert client.get(f"/governance/apis/{product.slug}/").status_code == 403


@pytest.mark.parametrize("page", ["/governance/", "/governance/reviews/", "/governance/apis/orders/",
                                  "/governance/apis/orders/upload/", "/governance/apis/orders/versions/1.0.0/",
                                  "/governance/apis/orders/versions/1.0.0/diff/",
                                  "/governance/apis/orders/versions/1.0.0/deprecate/",
                                  "/governance/apis/orders/versions/1.0.0/openapi.json",
                                  "/governance/notices/orders/1.0.0/"])
def test_every_page_renders(board, product, publish, page):
    publish(product, orders_doc("1.0.0"))
    response = board.get(page)
    assert response.status_code == 200
    if page.endswith("/"):
        assert "https://" not in _text(response).split("</style>")[0]  # no stylesheet or script from the internet


def test_catalog_filters_by_domain_owner_lifecycle_layer_and_search(board):
    crm = TeamFactory(name="CRM team", slug="crm-team")
    erp = TeamFactory(name="ERP team", slug="erp-team")
    ApiVersionFactory(product=ApiProductFactory(name="Customer sync", slug="customer-sync", domain="customers",
                                                layer="system", owner_team=crm, description="Accounts and contacts"))
    ApiVersionFactory(product=ApiProductFactory(name="Order intake", slug="order-intake", domain="orders",
                                                layer="process", owner_team=erp), status=Lifecycle.DEPRECATED,
                      deprecated_at=timezone.now(), sunset_at=timezone.now() + timedelta(days=91))

    def shown(query: str) -> set[str]:
        return set(re.findall(r'data-slug="([^"]+)"', board.get(f"/governance/?{query}").content.decode()))

    assert shown("") == {"customer-sync", "order-intake"}
    assert shown("domain=orders") == {"order-intake"}
    assert shown("owner=crm-team") == {"customer-sync"}
    assert shown("lifecycle=deprecated") == {"order-intake"}
    assert shown("layer=system") == {"customer-sync"}
    assert shown("q=contacts") == {"customer-sync"}
    assert shown("q=nothing-like-this") == set()
    page = _text(board.get("/governance/?domain=orders"))
    assert "in 90 days" in page or "in 91 days" in page


def test_product_page_shows_the_timeline_consumers_usage_and_offers_deprecation(board, product, publish,
                                                                             consumer_with_key, subscribe):
    old = publish(product, orders_doc("1.0.0"))
    publish(product, orders_doc("2.0.0", drop=("/v1/orders/{id}",)))
    consumer, _ = consumer_with_key("crm-app")
    subscribe(consumer, old)
    for code in (200, 200, 500):
        usage_record(consumer_id=consumer.pk, version_id=old.pk, status_code=code, at=timezone.now())
    page = _text(board.get("/governance/apis/orders/"))
    assert 'id="timeline"' in page and page.count('class="row"') == 2
    assert "crm-app" in page and "3 <span class=\"muted\">(1 errors)</span>" in page
    assert 'id="offer-deprecate-1.0.0"' in page and "/governance/apis/orders/versions/1.0.0/deprecate/" in page


def test_diff_page_shows_findings_and_both_documents_at_each(board, product, publish, board_actor):
    publish(product, orders_doc("1.0.0"))
    changed = orders_doc("2.0.0")
    changed["components"]["schemas"]["Order"]["properties"]["status"] = {"type": "integer"}
    from governance.services import api_version_upload

    api_version_upload(product=product, source=changed, actor=board_actor)
    page = _text(board.get("/governance/apis/orders/versions/2.0.0/diff/"))
    assert "Allowed: 2.0.0 is a major release" in page
    assert page.count('class="finding error"') >= 1
    assert "&quot;type&quot;: &quot;string&quot;" in page and "&quot;type&quot;: &quot;integer&quot;" in page
    unknown = board.get("/governance/apis/orders/versions/2.0.0/diff/?against=9.9.9")
    assert "Choose a version to compare with" in _text(unknown)


def test_upload_dry_run_refuses_with_reasons_and_stores_nothing(board, product, publish):
    publish(product, orders_doc("1.0.0"))
    source = yaml.safe_dump(orders_doc("1.1.0", drop=("/v1/orders/{id}",)))
    response = board.post("/governance/apis/orders/upload/", {
        "action": "check", "document_file": SimpleUploadedFile("orders.yaml", source.encode())})
    page = _text(response)
    assert response.status_code == 200
    assert "cannot be stored" in page and "Refused: 1.1.0 is a minor release after 1.0.0" in page
    assert "[path-removed] GET /v1/orders/{id}" in page or "[path-removed] /v1/orders/{id}" in page
    assert 'id="store-version"' not in page
    # Forcing the upload anyway is refused the same way.
    forced = _text(board.post("/governance/apis/orders/upload/", {"action": "upload", "document_text": source}))
    assert "cannot be stored" in forced
    assert not ApiVersion.objects.filter(version="1.1.0").exists()
    assert AuditEntry.objects.filter(action="api_version.refused").count() == 1


def test_upload_dry_run_then_store_as_a_draft(board, product, publish, board_member):
    publish(product, orders_doc("1.0.0"))
    source = yaml.safe_dump(orders_doc("2.0.0", drop=("/v1/orders/{id}",)))
    dry = _text(board.post("/governance/apis/orders/upload/", {"action": "check", "document_text": source,
                                                                "changelog": "v2"}))
    assert "Allowed: 2.0.0 is a major release" in dry and 'id="store-version"' in dry
    assert not ApiVersion.objects.filter(version="2.0.0").exists()
    stored = board.post("/governance/apis/orders/upload/", {"action": "upload", "document_text": source,
                                                             "version": "2.0.0", "changelog": "v2"})
    assert stored.status_code == 302 and stored.url == "/governance/apis/orders/versions/2.0.0/"
    version = ApiVersion.objects.get(version="2.0.0")
    assert version.status == Lifecycle.DRAFT and version.changelog == "v2" and version.created_by == board_member


@pytest.mark.parametrize(
    ("data", "message"),
    [({}, "Choose an OpenAPI file or paste the document."),
     ({"document_text": "openapi: [unclosed"}, "not valid YAML"),
     ({"document_text": "{}", "waivers": "check_id: x"}, "Give the waivers as a list")],
)
def test_upload_form_errors_are_clear(board, product, data, message):
    page = _text(board.post("/governance/apis/orders/upload/", {"action": "check", **data}))
    assert message in page


def test_review_queue_approve_publishes_and_reject_needs_a_comment(board, product, author_actor):
    from governance.services import api_version_submit, api_version_upload

    version = api_version_upload(product=product, source=orders_doc("1.0.0"), actor=author_actor)
    api_version_submit(version=version, actor=author_actor)
    queue = _text(board.get("/governance/reviews/"))
    assert "Orders API <code>1.0.0</code>" in queue and "0 of 1" in queue
    assert 'value="approve"' in queue and "You uploaded this version" not in queue
    refused = board.post("/governance/apis/orders/versions/1.0.0/review/", {"decision": "reject"}, follow=True)
    assert "Say why" in _text(refused)
    assert ApiVersion.objects.get(pk=version.pk).status == Lifecycle.IN_REVIEW
    approved = board.post("/governance/apis/orders/versions/1.0.0/review/", {"decision": "approve",
                                                                            "comment": "ok"}, follow=True)
    assert "is published" in _text(approved)
    assert ApiVersion.objects.get(pk=version.pk).status == Lifecycle.PUBLISHED
    assert "Nothing is waiting for review." in _text(board.get("/governance/reviews/"))


def test_the_review_queue_offers_an_author_no_approve_button_for_their_own_version(board, product, board_actor):
    from governance.services import api_version_submit, api_version_upload

    api_version_submit(version=api_version_upload(product=product, source=orders_doc("1.0.0"), actor=board_actor),
                       actor=board_actor)
    queue = _text(board.get("/governance/reviews/"))
    item = queue.split('id="review-orders-1.0.0"')[1].split("</section>")[0]
    assert "You uploaded this version: its approvals come from other board members." in item
    assert 'value="approve"' not in item and 'value="reject"' in item
    refused = _text(board.post("/governance/apis/orders/versions/1.0.0/review/", {"decision": "approve"},
                               follow=True))
    assert "its approvals must come from other board members" in refused
    assert ApiVersion.objects.get(product=product).status == Lifecycle.IN_REVIEW


def test_a_review_ignores_a_next_that_leaves_the_site(board, product, board_actor):
    from governance.services import api_version_submit, api_version_upload

    api_version_submit(version=api_version_upload(product=product, source=orders_doc("1.0.0"), actor=board_actor),
                       actor=board_actor)
    for outside in ("//evil.example/", "https://evil.example/"):
        response = board.post("/governance/apis/orders/versions/1.0.0/review/", {"decision": "reject", "next": outside})
        assert response.status_code == 302 and response.url == "/governance/reviews/"


def test_deprecation_planner_checks_the_notice_and_notifies(board, product, publish, consumer_with_key, subscribe,
                                                           django_capture_on_commit_callbacks):
    old = publish(product, orders_doc("1.0.0"))
    new = publish(product, orders_doc("2.0.0", drop=("/v1/orders/{id}",)))
    consumer, _ = consumer_with_key("crm-app", email="crm@example.com")
    subscribe(consumer, old)
    url = "/governance/apis/orders/versions/1.0.0/deprecate/"
    page = _text(board.get(url))
    assert "crm-app" in page and "crm@example.com" in page
    today = timezone.localdate()
    too_soon = _text(board.post(url, {"deprecated_on": today, "sunset_on": today + timedelta(days=30),
                                      "replacement": new.pk, "notify": "on"}))
    assert "must be at least 90 days after the deprecation" in too_soon
    assert ApiVersion.objects.get(pk=old.pk).status == Lifecycle.PUBLISHED
    with django_capture_on_commit_callbacks(execute=True):
        done = board.post(url, {"deprecated_on": today, "sunset_on": today + timedelta(days=120),
                                "replacement": new.pk, "notify": "on", "note": "v2 is out"}, follow=True)
    assert "1 consumer(s) affected, 1 e-mailed" in _text(done)
    old.refresh_from_db()
    assert old.status == Lifecycle.DEPRECATED and old.replacement == new
    assert mail.outbox[0].to == ["crm@example.com"]
    assert BusinessEvent.objects.filter(event_type="api.deprecated", aggregate_id=str(old.pk)).exists()
    assert AuditEntry.objects.get(action="api_version.deprecated").note == "v2 is out"


def test_lifecycle_buttons_post_with_csrf_and_explain_refusals(board_member, product, publish):
    version = publish(product, orders_doc("1.0.0"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(board_member)
    assert client.post("/governance/apis/orders/versions/1.0.0/block/", {"reason": "x"}).status_code == 403
    page = client.get("/governance/apis/orders/versions/1.0.0/")
    token = page.cookies["csrftoken"].value
    blocked = client.post("/governance/apis/orders/versions/1.0.0/block/", {"reason": "leak",
                                                                           "csrfmiddlewaretoken": token}, follow=True)
    assert "is blocked" in _text(blocked) and ApiVersion.objects.get(pk=version.pk).status == Lifecycle.BLOCKED
    client.post("/governance/apis/orders/versions/1.0.0/unblock/", {"csrfmiddlewaretoken": token})
    retire = client.post("/governance/apis/orders/versions/1.0.0/retire/", {"csrfmiddlewaretoken": token},
                         follow=True)
    assert "cannot move from &#x27;published&#x27; to &#x27;retired&#x27;" in _text(retire)
    assert client.get("/governance/apis/orders/versions/1.0.0/block/").status_code == 405


def test_event_contract_page_shows_each_schema_version(board):
    from canonical.context import Actor
    from governance.services import event_contract_register

    schema = {"type": "object", "properties": {"order_id": {"type": "integer"}}}
    event_contract_register(event_type="order.created", schema=schema, actor=Actor.hub())
    event_contract_register(event_type="order.created", actor=Actor.hub(),
                            schema={**schema, "properties": {**schema["properties"], "note": {"type": "string"}}})
    catalog = _text(board.get("/governance/"))
    assert "order.created" in catalog and "v2" in catalog
    page = _text(board.get("/governance/contracts/order.created/"))
    assert "Version 2" in page and "Version 1" in page and "&quot;note&quot;" in page
