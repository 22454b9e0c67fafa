"""Runtime policy on partner calls: key, subscription, lifecycle, rate plan, deprecation headers, usage."""

from __future__ import annotations

import threading
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from canonical.context import Actor
from governance.models import ApiVersion, Lifecycle, RateWindow, UsageCounter
from governance.policy.limits import DatabaseCounter
from governance.services import api_key_revoke
from tests.factories import ApiProductFactory, ApiVersionFactory, RatePlanFactory, TeamFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers"


@pytest.fixture
def customers_api(policy):
    """An API product serving /api/v1/customers..., published as 1.0.0."""
    product = ApiProductFactory(name="Customers API", slug="customers", path_prefixes=["customers"],
                                owner_team=TeamFactory(slug="crm-team", contact_email="crm-team@hub.example"))
    return ApiVersionFactory(product=product, version="1.0.0")


@pytest.fixture
def caller(consumer_with_key):
    consumer, raw = consumer_with_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.consumer = consumer
    return client


def _usage(consumer, version) -> dict[str, int]:
    return dict(UsageCounter.objects.filter(consumer=consumer, version=version).values_list("status_class", "count"))


def test_no_subscription_is_refused_with_the_product_version_and_how_to_subscribe(customers_api, caller):
    response = caller.get(URL)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/subscription-required")
    assert "Customers API 1.0.0 (customers@1.0.0)" in body["detail"]
    assert "crm-team@hub.example" in body["detail"]
    assert "--subscribe customers@1.0.0" in body["subscribe"]
    assert _usage(caller.consumer, customers_api) == {"4xx": 1}


def test_subscribed_call_is_served_and_counted_in_one_row_per_day_and_class(customers_api, caller, subscribe):
    subscribe(caller.consumer, customers_api)
    for _ in range(3):
        assert caller.get(URL).status_code == 200
    assert caller.get(f"{URL}/999999").status_code == 404
    assert _usage(caller.consumer, customers_api) == {"2xx": 3, "4xx": 1}
    assert UsageCounter.objects.count() == 2
    row = UsageCounter.objects.get(status_class="2xx")
    assert row.day == timezone.now().date() and row.last_called_at is not None


def test_a_subscription_to_an_earlier_minor_covers_the_newer_release(customers_api, caller, subscribe):
    subscribe(caller.consumer, customers_api)
    newer = ApiVersionFactory(product=customers_api.product, version="1.1.0")
    assert caller.get(URL).status_code == 200
    assert _usage(caller.consumer, newer) == {"2xx": 1}


def test_pending_subscription_waits_for_approval(customers_api, caller, subscribe):
    customers_api.product.requires_subscription_approval = True
    customers_api.product.save()
    subscription = subscribe(caller.consumer, customers_api)
    assert subscription.status == "pending"
    response = caller.get(URL)
    assert response.status_code == 403
    assert "waiting for the API governance board's approval" in response.json()["detail"]


def test_unknown_and_revoked_keys_get_401_before_anything_else(customers_api, caller):
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer hub_deadbeef_nope")
    response = forged.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="hub"'
    assert response.json()["detail"] == "The API key is not known."
    api_key_revoke(key=caller.consumer.keys.get(), actor=Actor.hub())
    assert caller.get(URL).json()["detail"] == "The API key has been revoked."
    assert not UsageCounter.objects.exists()


def test_retired_version_answers_410_with_a_link_to_its_replacement(customers_api, caller, subscribe):
    subscribe(caller.consumer, customers_api)
    replacement = ApiVersionFactory(product=customers_api.product, version="2.0.0")
    ApiVersion.objects.filter(pk=customers_api.pk).update(status=Lifecycle.RETIRED, retired_at=timezone.now(),
                                                          replacement=replacement)
    response = caller.get(URL)
    assert response.status_code == 410
    body = response.json()
    assert body["type"].endswith("/api-version-retired")
    assert body["replacement"] == {"product": "customers", "version": "2.0.0", "base_path": "/api/v2/customers"}
    assert "Use Customers API 2.0.0 at /api/v2/customers" in body["detail"]
    assert response["Link"] == '<http://testserver/governance/notices/customers/2.0.0/>; rel="successor-version"'
    assert _usage(caller.consumer, customers_api) == {"4xx": 1}


def test_blocked_version_answers_403_with_the_reason(customers_api, caller, subscribe):
    subscribe(caller.consumer, customers_api)
    ApiVersion.objects.filter(pk=customers_api.pk).update(status=Lifecycle.BLOCKED, block_reason="data leak")
    response = caller.get(URL)
    assert response.status_code == 403
    assert response.json()["type"].endswith("/api-version-blocked")
    assert "data leak" in response.json()["detail"]


def test_deprecated_version_serves_with_deprecation_sunset_and_link_headers(customers_api, caller, subscribe):
    subscribe(caller.consumer, customers_api)
    replacement = ApiVersionFactory(product=customers_api.product, version="2.0.0")
    deprecated_at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    sunset_at = deprecated_at + timedelta(days=90)
    ApiVersion.objects.filter(pk=customers_api.pk).update(
        status=Lifecycle.DEPRECATED, deprecated_at=deprecated_at, sunset_at=sunset_at, replacement=replacement)
    response = caller.get(URL)
    assert response.status_code == 200
    assert response["Deprecation"] == f"@{int(deprecated_at.timestamp())}"
    assert parsedate_to_datetime(response["Sunset"]) == sunset_at
    assert response["Sunset"].endswith(" GMT")
    notice = "http://testserver/governance/notices/customers/1.0.0/"
    assert response["Link"] == (
        f'<{notice}>; rel="deprecation"; type="text/html", <{notice}>; rel="sunset"; type="text/html", '
        '<http://testserver/governance/notices/customers/2.0.0/>; rel="successor-version"'
    )
    page = APIClient().get("/governance/notices/customers/1.0.0/")
    assert page.status_code == 200 and b"This version is deprecated" in page.content


def test_over_the_rate_plan_is_429_with_retry_after_and_refusals_do_not_count(
    customers_api, caller, subscribe, consumer_with_key, monkeypatch
):
    plan = RatePlanFactory(name="tight", per_minute=2, per_day=100)
    subscribe(caller.consumer, customers_api, rate_plan=plan)
    now = 1_900_000_040.0  # 20 s into a minute (1_900_000_020 is a minute boundary)
    monkeypatch.setattr("governance.policy.middleware.clock", lambda: now)
    first, second = caller.get(URL), caller.get(URL)
    assert (first.status_code, second.status_code) == (200, 200)
    # Each answer says what the plan allows and what is left of it (draft-ietf-httpapi-ratelimit-headers);
    # the day's window started at 1_899_936_000 (midnight UTC), so it resets in 22,360 s.
    policy = '"minute";q=2;w=60, "day";q=100;w=86400'
    assert first["RateLimit-Policy"] == second["RateLimit-Policy"] == policy
    assert first["RateLimit"] == '"minute";r=1;t=40, "day";r=99;t=22360'
    assert second["RateLimit"] == '"minute";r=0;t=40, "day";r=98;t=22360'
    refused = caller.get(URL)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    # The refused call is not counted: the day still has 98 left.
    assert refused["RateLimit-Policy"] == policy and refused["RateLimit"] == '"minute";r=0;t=40, "day";r=98;t=22360'
    assert refused.json()["rate_plan"] == "tight" and refused.json()["period"] == "minute"
    counts = dict(RateWindow.objects.filter(consumer=caller.consumer).values_list("period", "count"))
    assert counts == {"minute": 2, "day": 2}
    # Another consumer has its own windows.
    other, raw = consumer_with_key("other-app", system_code="shop")
    subscribe(other, customers_api, rate_plan=plan)
    other_client = APIClient()
    other_client.credentials(HTTP_X_API_KEY=raw)
    assert other_client.get(URL).status_code == 200
    # The next minute starts a new window.
    now += 60
    assert caller.get(URL).status_code == 200


def test_the_consumers_plan_and_the_default_plan_apply_when_the_subscription_has_none(
    customers_api, caller, subscribe, monkeypatch
):
    subscribe(caller.consumer, customers_api)
    monkeypatch.setattr("governance.policy.middleware.clock", lambda: 1_900_000_000.5)
    RatePlanFactory(name="default", burst=1, is_default=True)
    assert [caller.get(URL).status_code for _ in range(2)] == [200, 429]
    caller.consumer.rate_plan = RatePlanFactory(name="generous", burst=10)
    caller.consumer.save()
    assert caller.get(URL).status_code == 200


def test_redis_configuration_counts_in_the_shared_cache(customers_api, caller, subscribe, settings, monkeypatch):
    settings.REDIS_URL = "redis://configured"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "policy-test"}}
    subscribe(caller.consumer, customers_api, rate_plan=RatePlanFactory(name="cache", per_minute=1))
    monkeypatch.setattr("governance.policy.middleware.clock", lambda: 1_900_000_000.0)
    assert [caller.get(URL).status_code for _ in range(2)] == [200, 429]
    assert not RateWindow.objects.exists()


def test_a_call_without_a_rate_plan_carries_no_ratelimit_fields(customers_api, caller, subscribe):
    subscribe(caller.consumer, customers_api)
    response = caller.get(URL)
    assert response.status_code == 200
    assert "RateLimit" not in response and "RateLimit-Policy" not in response


def test_staff_sessions_and_unregistered_paths_pass_and_policy_can_be_switched_off(
    customers_api, caller, admin_client, settings
):
    assert admin_client.get(URL).status_code == 200
    assert caller.get("/api/v1/products").status_code == 200  # no product claims /api/v1/products
    settings.HUB_POLICY_ENABLED = False
    assert caller.get(URL).status_code == 200
    assert not UsageCounter.objects.exists()


def test_a_major_without_a_published_version_is_404(customers_api, caller):
    response = caller.get("/api/v7/customers")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/api-version-unknown")


def test_the_policy_costs_a_fixed_number_of_queries(customers_api, caller, subscribe, settings):
    subscribe(caller.consumer, customers_api, rate_plan=RatePlanFactory(name="q", per_minute=1000))
    caller.get(URL)  # the first call inserts the day's usage row (and prepares the statement on PostgreSQL)
    with CaptureQueriesContext(connection) as with_policy:
        assert caller.get(URL).status_code == 200
    settings.HUB_POLICY_ENABLED = False
    with CaptureQueriesContext(connection) as without:
        assert caller.get(URL).status_code == 200
    # route, version, subscription and plan in one statement, sent on PostgreSQL in the same round
    # trip as the key's own lookup (which the call without the policy makes too; SQLite runs the
    # two one after the other); rate windows (one statement); usage (written at every call here:
    # HUB_USAGE_FLUSH_SECONDS is 0 in these tests)
    expected = 2 if connection.vendor == "postgresql" else 3
    assert len(with_policy) - len(without) == expected, [q["sql"][:80] for q in with_policy.captured_queries]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_database_counter_loses_no_count_under_concurrency(consumer_with_key):
    consumer, _ = consumer_with_key()
    limits = [("minute", 60, 1000), ("day", 86_400, 100_000)]
    now = 1_900_000_000.0
    barrier = threading.Barrier(8)

    def hammer():
        barrier.wait()
        try:
            for _ in range(25):
                DatabaseCounter().hit(consumer.pk, limits, now)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert dict(RateWindow.objects.filter(consumer=consumer).values_list("period", "count")) == {
        "minute": 200, "day": 200}


@pytest.mark.parametrize("tail", ["a\x00b", "%B0%ED%88-x", "%00"])
def test_odd_characters_in_the_url_reach_the_view_instead_of_breaking_the_policy(customers_api, caller, subscribe,
                                                                                  tail):
    subscribe(caller.consumer, customers_api)
    response = caller.get(f"{URL}/{tail}")
    assert response.status_code in (400, 404), response.content[:300]
