"""The demo API catalog: products of other teams beside the hub's own, with a history the board can read.

``demo_catalog_build`` takes two API products through the real services (upload → submit → board
reviews → publish → subscribe → deprecate), then back-dates their lifecycle so the timeline, the
countdown to sunset and the deprecation planner have something to show:

- Storefront API (experience layer, Digital commerce): 1.0.0 deprecated with a sunset date and
  2.0.0 as its replacement; 2.1.0 waits in the review queue with one of its two approvals.
- Carrier tracking API (system layer, Logistics): 1.0.0 and 1.1.0 published; subscriptions
  need the board's approval, and one request waits for it.

``demo_usage_build`` writes 30 days of usage counters for every active subscription, so the
product pages show calls and last calls per consumer (who still calls the deprecated version).
Both are idempotent: a step that is done is skipped, and usage already counted is never changed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from canonical.context import Actor
from canonical.models import System
from governance import demo_documents as documents
from governance.models import (
    ApiProduct,
    ApiSubscription,
    ApiVersion,
    Consumer,
    EventContract,
    Layer,
    Lifecycle,
    RatePlan,
    SubscriptionStatus,
    Team,
    UsageCounter,
)
from governance.services import (
    api_product_create,
    api_version_deprecate,
    api_version_review,
    api_version_submit,
    api_version_upload,
    consumer_create,
    subscription_approve,
    subscription_request,
    team_create,
)

USAGE_DAYS = 30

# Board members who reviewed the demo history (they cannot sign in: the demo 'board' user is you).
REVIEWERS = (("board-priya", "Priya", "Raman"), ("board-marcus", "Marcus", "Lindqvist"))
# The product teams' members who upload their versions: the board approves them, never their authors.
AUTHORS = (("dana-commerce", "Dana", "Whitfield"), ("omar-logistics", "Omar", "Haddad"))

TEAMS = {
    "digital-commerce": {"name": "Digital commerce", "contact_name": "Dana Whitfield",
                         "contact_email": "digital-commerce@distributor.example"},
    "logistics": {"name": "Logistics", "contact_name": "Omar Haddad",
                  "contact_email": "logistics@distributor.example"},
}

RATE_PLANS = {
    "Standard partner": {"burst": 20, "per_minute": 600, "per_day": 200_000,
                         "description": "Most partner applications."},
    "High volume": {"burst": 100, "per_minute": 6_000, "per_day": 5_000_000,
                    "description": "Storefront and batch integrations with agreed volumes."},
    "Trial": {"burst": 5, "per_minute": 60, "per_day": 5_000, "description": "New partners, before go-live."},
}

# name: (system code, contact e-mail, description)
CONSUMERS = {
    "Web store front end": ("shop", "webstore-team@distributor.example",
                            "The B2B web store's server side; calls the storefront and tracking APIs."),
    "Sales rep mobile app": ("crm", "mobile-sales@distributor.example",
                             "The reps' iPad app; quotes, orders and delivery status at the customer's site."),
    "Marketplace feed": ("shop", "marketplace@partner.example",
                         "A marketplace partner selling the catalogue; asked for tracking for its buyers."),
}


@dataclass
class DemoCatalog:
    products: list[ApiProduct] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def done(self, step: str) -> None:
        self.steps.append(step)


def _days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def _people(names) -> list:
    """Demo history's people (reviewers, authors): named users that cannot sign in."""
    users = []
    for username, first, last in names:
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "is_staff": False,
                                         "email": f"{username}@distributor.example"})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


def _team(slug: str, *, actor: Actor) -> Team:
    return Team.objects.filter(slug=slug).first() or team_create(slug=slug, actor=actor, **TEAMS[slug])


def _product(slug: str, *, actor: Actor, **fields) -> ApiProduct:
    return ApiProduct.objects.filter(slug=slug).first() or api_product_create(slug=slug, actor=actor, **fields)


def _backdate(version: ApiVersion, *, published_days_ago: int | None, submitted_days_ago: int = 2) -> None:
    """Demo history: the version went out ``published_days_ago`` days ago (set once, when it is made);
    one still in review was submitted ``submitted_days_ago`` days ago."""
    if published_days_ago is None:
        submitted = _days_ago(submitted_days_ago)
        ApiVersion.objects.filter(pk=version.pk).update(created_at=submitted - timedelta(days=1),
                                                        submitted_at=submitted)
        version.reviews.update(at=submitted + timedelta(hours=20))
    else:
        published = _days_ago(published_days_ago)
        ApiVersion.objects.filter(pk=version.pk).update(
            created_at=published - timedelta(days=9), submitted_at=published - timedelta(days=6),
            published_at=published)
        version.reviews.update(at=published - timedelta(days=2))
    version.refresh_from_db()


def _release(product: ApiProduct, document: dict, *, changelog: str, reviewers: list, approvals: int,
             comments: tuple[str, ...], author, published_days_ago: int | None, catalog: DemoCatalog) -> ApiVersion:
    """Upload, submit and review a version unless it exists; back-date it once it is published."""
    number = document["info"]["version"]
    version = product.versions.filter(version=number).first()
    if version is None:
        version = api_version_upload(product=product, source=document, changelog=changelog,
                                     actor=Actor(user=author))
        version = api_version_submit(version=version, actor=Actor(user=author)).version
        for reviewer, comment in list(zip(reviewers, comments, strict=False))[:approvals]:
            version = api_version_review(version=version, decision="approve", comment=comment,
                                         actor=Actor(user=reviewer)).version
        _backdate(version, published_days_ago=published_days_ago if version.status == Lifecycle.PUBLISHED else None)
        catalog.done(f"{version.label}: {version.get_status_display().lower()}")
    return version


def _consumer(name: str, *, actor: Actor) -> Consumer | None:
    code, email, description = CONSUMERS[name]
    consumer = Consumer.objects.filter(name=name).first()
    if consumer is not None:
        return consumer
    system = System.objects.filter(code=code).first()
    if system is None:
        return None
    consumer = consumer_create(name=name, system=system, contact_email=email, actor=actor)
    Consumer.objects.filter(pk=consumer.pk).update(description=description)
    return consumer


def _subscribe(consumer: Consumer | None, version: ApiVersion, *, plan: RatePlan, approver, note: str,
               approve: bool = True) -> None:
    """A subscription (approved by the board when the product asks for it), unless one exists already."""
    if consumer is None or ApiSubscription.objects.filter(consumer=consumer, version=version).exists():
        return
    if version.status != Lifecycle.PUBLISHED:
        return
    subscription = subscription_request(consumer=consumer, version=version, rate_plan=plan, note=note,
                                        actor=Actor(user=approver))
    if approve and subscription.status == SubscriptionStatus.PENDING:
        subscription_approve(subscription=subscription, actor=Actor(user=approver), note="agreed volumes")
    # Demo history: asked for soon after the release and decided the next day; a waiting request is a day old.
    waiting = not approve and subscription.status == SubscriptionStatus.PENDING
    requested = (_days_ago(1) if waiting
                 else min(_days_ago(2), version.published_at + timedelta(days=3)))
    ApiSubscription.objects.filter(pk=subscription.pk).update(
        requested_at=requested, decided_at=None if waiting else requested + timedelta(days=1))


def demo_catalog_build(*, actor: Actor) -> DemoCatalog:
    """Teams, rate plans, two API products with versions in every state the board deals with, consumers."""
    catalog = DemoCatalog()
    with transaction.atomic():
        priya, marcus = _people(REVIEWERS)
        dana, omar = _people(AUTHORS)
        plans = {name: RatePlan.objects.get_or_create(name=name, defaults=limits)[0]
                 for name, limits in RATE_PLANS.items()}
        commerce, logistics = _team("digital-commerce", actor=actor), _team("logistics", actor=actor)
        storefront = _product(
            "storefront", actor=actor, name="Storefront API", domain="commerce", layer=Layer.EXPERIENCE,
            owner_team=commerce, description=documents.STOREFRONT_DESCRIPTION,
            system_of_record=System.objects.filter(code="shop").first(), required_approvals=2,
            requires_subscription_approval=True, documentation_url="https://developer.distributor.example/storefront",
        )
        tracking = _product(
            "carrier-tracking", actor=actor, name="Carrier tracking API", domain="fulfilment",
            layer=Layer.SYSTEM, owner_team=logistics, description=documents.TRACKING_DESCRIPTION,
            system_of_record=System.objects.filter(code="carrier").first(), required_approvals=1,
            requires_subscription_approval=True,
        )
        catalog.products = [storefront, tracking]
        web, mobile, marketplace = (_consumer(name, actor=actor) for name in CONSUMERS)

        # Storefront: 1.0.0 went out seven months ago; 2.0.0 replaced it six weeks ago.
        reviewers = [priya, marcus]
        v1 = _release(storefront, documents.storefront_v1(), changelog="First release for the new web store.",
                      reviewers=reviewers, approvals=2, comments=("Clean first version.", "Approved."),
                      author=dana, published_days_ago=210, catalog=catalog)
        _subscribe(web, v1, plan=plans["High volume"], approver=priya, note="web store launch")
        _subscribe(mobile, v1, plan=plans["Standard partner"], approver=priya, note="sales app 3.x")
        v2 = _release(storefront, documents.storefront_v2(),
                      changelog="Money as amount and currency; stock per DC on /products/{sku}/availability; "
                                "every order names its ship-to.",
                      reviewers=reviewers, approvals=2,
                      comments=("Breaking on purpose: 1.x gets the 90 days' notice.", "Agreed."),
                      author=dana, published_days_ago=45, catalog=catalog)
        _subscribe(web, v2, plan=plans["High volume"], approver=marcus, note="web store 2024 redesign")
        if v1.status == Lifecycle.PUBLISHED and v2.status == Lifecycle.PUBLISHED:
            # Deprecated 40 days ago (history): scheduled as the board would today, then back-dated, as
            # the notice period now runs from the day the consumers are told.
            api_version_deprecate(version=v1, sunset_at=timezone.now() + timedelta(days=95), replacement=v2,
                                  notify=False, note="2.0.0 is out; the sales app must move by the sunset.",
                                  actor=Actor(user=marcus))
            deprecated_at = _days_ago(40)
            ApiVersion.objects.filter(pk=v1.pk).update(deprecated_at=deprecated_at,
                                                       sunset_at=deprecated_at + timedelta(days=95))
            v1.refresh_from_db()
            catalog.done(f"{v1.label}: deprecated, sunset in 55 days")
        _release(storefront, documents.storefront_v2_1(),
                 changelog="Wish lists; an in-stock filter on the catalogue.", reviewers=reviewers, approvals=1,
                 comments=("Additive, fine by me.",), author=dana, published_days_ago=None, catalog=catalog)

        # Carrier tracking: 1.0.0 five months ago, 1.1.0 two months ago; access needs approval.
        t1 = _release(tracking, documents.tracking_v1(), changelog="Status, scan events and proof of delivery.",
                      reviewers=[marcus], approvals=1, comments=("Approved.",), author=omar,
                      published_days_ago=150, catalog=catalog)
        _subscribe(mobile, t1, plan=plans["Standard partner"], approver=marcus, note="delivery status on visits")
        t11 = _release(tracking, documents.tracking_v1_1(), changelog="Estimated delivery; scan texts in en/es/fr.",
                       reviewers=[priya], approvals=1, comments=("Additive.",), author=omar,
                       published_days_ago=60, catalog=catalog)
        _subscribe(web, t11, plan=plans["High volume"], approver=marcus, note="order page tracking")
        _subscribe(marketplace, t11, plan=plans["Trial"], approver=marcus,
                   note="Marketplace orders: tracking for their buyers.", approve=False)
    return catalog


def demo_contract_owners() -> int:
    """The canonical event contracts belong to the hub's team; give the unowned ones that owner."""
    from governance.hub_api import HUB_TEAM

    team = Team.objects.filter(slug=HUB_TEAM["slug"]).first()
    if team is None:
        return 0
    return EventContract.objects.filter(owner_team__isnull=True).update(owner_team=team)


# --- usage ---------------------------------------------------------------------------------------------


def _daily_calls(consumer: Consumer, version: ApiVersion, day_index: int, rng: random.Random) -> int:
    """How busy a consumer is on a version, ``day_index`` days ago: migrations show as trends."""
    if version.status == Lifecycle.DEPRECATED:
        if consumer.name == "Web store front end":
            # Moving to the replacement: from thousands a day to a trickle.
            return int(2_400 * max(0.04, (day_index - 3) / USAGE_DAYS) * rng.uniform(0.8, 1.2))
        return int(700 * rng.uniform(0.85, 1.15))  # has not moved yet: the board sees it
    if version.replaces.exists() and consumer.name == "Web store front end":
        return int(2_600 * min(1.0, 0.15 + (USAGE_DAYS - day_index) / USAGE_DAYS) * rng.uniform(0.85, 1.15))
    weekday = (timezone.now() - timedelta(days=day_index)).weekday()
    base = 40 + rng.randrange(1_200)
    return int(base * (0.35 if weekday >= 5 else 1.0))


def demo_usage_build(*, days: int = USAGE_DAYS) -> int:
    """Usage counters for every active subscription, for the last ``days`` days (today up to now).

    Deterministic per consumer, version and day; a counter that exists is left alone, so real
    calls recorded since are never overwritten. Returns how many counters were written.
    """
    now = timezone.now()
    today = now.astimezone(UTC).date()
    subscriptions = (ApiSubscription.objects.filter(status=SubscriptionStatus.ACTIVE)
                     .select_related("consumer", "version").order_by("pk"))
    existing = set(UsageCounter.objects.filter(day__gte=today - timedelta(days=days - 1))
                   .values_list("consumer_id", "version_id", "day", "status_class"))
    rows = []
    for subscription in subscriptions:
        # A subscription serves the newest live release of its major; that is where calls are counted.
        version = (ApiVersion.objects.filter(product_id=subscription.version.product_id,
                                             major=subscription.version.major,
                                             status__in=[Lifecycle.PUBLISHED, Lifecycle.DEPRECATED])
                   .order_by("-minor", "-patch").first())
        if version is None or version.published_at is None:
            continue
        consumer = subscription.consumer
        for day_index in range(days):
            day = today - timedelta(days=day_index)
            if day < version.published_at.astimezone(UTC).date():
                continue
            rng = random.Random(f"{consumer.name}|{version.label}|{day.isoformat()}")
            calls = _daily_calls(consumer, version, day_index, rng)
            if day_index == 0:
                calls = int(calls * min(1.0, (now - datetime.combine(today, time(0), tzinfo=UTC)).seconds / 86_400))
            if calls <= 0:
                continue
            last = (now - timedelta(minutes=rng.randrange(3, 90)) if day_index == 0
                    else datetime.combine(day, time(hour=rng.randrange(17, 23), minute=rng.randrange(60)), tzinfo=UTC))
            errors = int(calls * rng.uniform(0.002, 0.03))
            for status_class, count in (("2xx", calls - errors), ("4xx", errors), ("5xx", errors // 20)):
                key = (consumer.pk, version.pk, day, status_class)
                if count > 0 and key not in existing:
                    rows.append(UsageCounter(consumer_id=consumer.pk, version_id=version.pk, day=day,
                                             status_class=status_class, count=count, last_called_at=last))
                    existing.add(key)
    UsageCounter.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
