"""The demo catalog: other teams' APIs in every state the board deals with, built through the services."""

from __future__ import annotations

import re

import pytest
from django.db.models import Sum

from canonical.context import Actor
from canonical.demo.systems import systems_ensure
from canonical.models import BusinessEvent
from governance.demo import demo_catalog_build, demo_usage_build
from governance.models import ApiSubscription, ApiVersion, Lifecycle, Review, SubscriptionStatus, UsageCounter

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    systems_ensure()
    return demo_catalog_build(actor=Actor.hub())


def _states(slug: str) -> dict[str, str]:
    return dict(ApiVersion.objects.filter(product__slug=slug).values_list("version", "status"))


def test_the_storefront_has_a_deprecated_v1_a_published_v2_and_a_version_in_review(demo):
    assert _states("storefront") == {"1.0.0": Lifecycle.DEPRECATED, "2.0.0": Lifecycle.PUBLISHED,
                                     "2.1.0": Lifecycle.IN_REVIEW}
    v1 = ApiVersion.objects.get(product__slug="storefront", version="1.0.0")
    assert v1.replacement.version == "2.0.0"
    assert (v1.sunset_at - v1.deprecated_at).days >= v1.product.minimum_deprecation_notice_days
    assert v1.published_at < v1.deprecated_at < v1.sunset_at
    assert BusinessEvent.objects.filter(event_type="api.deprecated", aggregate_id=str(v1.pk)).exists()
    # Two board members approved each published storefront version; 2.1.0 has one of its two.
    assert Review.objects.filter(version=v1, decision="approve").count() == 2
    assert Review.objects.filter(version__version="2.1.0", version__product__slug="storefront").count() == 1
    # The breaking change of 2.0.0 is in its report, allowed by the major version.
    v2 = ApiVersion.objects.get(product__slug="storefront", version="2.0.0")
    assert v2.compatibility_report["verdict"]["allowed"] and v2.compatibility_report["report"]["counts"]["error"] > 0


def test_tracking_access_needs_approval_and_one_request_waits(demo):
    assert _states("carrier-tracking") == {"1.0.0": Lifecycle.PUBLISHED, "1.1.0": Lifecycle.PUBLISHED}
    pending = ApiSubscription.objects.get(status=SubscriptionStatus.PENDING)
    assert (pending.consumer.name, pending.version.label) == ("Marketplace feed", "carrier-tracking@1.1.0")
    # The deprecated storefront version keeps the consumers it had; nobody new joined it.
    assert set(ApiSubscription.objects.filter(version__version="1.0.0", version__product__slug="storefront")
               .values_list("consumer__name", flat=True)) == {"Web store front end", "Sales rep mobile app"}


def test_building_again_changes_nothing(demo):
    before = (ApiVersion.objects.count(), ApiSubscription.objects.count(), Review.objects.count())
    again = demo_catalog_build(actor=Actor.hub())
    assert again.steps == []
    assert (ApiVersion.objects.count(), ApiSubscription.objects.count(), Review.objects.count()) == before


def test_usage_shows_who_still_calls_the_deprecated_version_and_is_written_once(demo):
    written = demo_usage_build()
    assert written > 0
    v1 = ApiVersion.objects.get(product__slug="storefront", version="1.0.0")
    callers = dict(UsageCounter.objects.filter(version=v1).values_list("consumer__name")
                   .annotate(n=Sum("count")))
    assert set(callers) == {"Web store front end", "Sales rep mobile app"}
    total = UsageCounter.objects.aggregate(n=Sum("count"))["n"]
    assert demo_usage_build() == 0
    assert UsageCounter.objects.aggregate(n=Sum("count"))["n"] == total
    # Counted against the release that serves the calls, never before it was published.
    assert not UsageCounter.objects.filter(version__version="1.0.0", version__product__slug="carrier-tracking")
    for row in UsageCounter.objects.select_related("version"):
        assert row.day >= row.version.published_at.date()


def test_the_board_pages_show_the_demo(demo, client, board_member):
    demo_usage_build()
    client.force_login(board_member)
    text = lambda url: re.sub(r"\s+", " ", client.get(url).content.decode())  # noqa: E731
    product = text("/governance/apis/storefront/")
    assert "days to sunset" in product and "Sales rep mobile app" in product
    assert product.count('class="row"') == 2  # two versions on the timeline
    queue = text("/governance/reviews/")
    assert "Storefront API <code>2.1.0</code>" in queue and "1 of 2" in queue and "Marketplace feed" in queue
    planner = text("/governance/apis/storefront/versions/1.0.0/deprecate/")
    assert "not yet" in planner and "subscribed" in planner
    catalog = text("/governance/?layer=experience")
    assert "Storefront API" in catalog and "Carrier tracking API" not in catalog


def test_the_demo_products_sit_beside_the_hubs_own_without_clashing(db):
    from governance.hub_api import HUB_PRODUCTS, hub_products_ensure
    from governance.models import ApiProduct

    systems_ensure()
    hub_products_ensure(actor=Actor.hub())
    built = demo_catalog_build(actor=Actor.hub())
    assert {p.slug for p in built.products}.isdisjoint({h.slug for h in HUB_PRODUCTS})
    assert ApiProduct.objects.count() == len(HUB_PRODUCTS) + len(built.products)
