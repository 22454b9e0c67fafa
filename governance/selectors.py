"""Reads for the governance board's pages: the catalog, a product's versions and who uses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Case, Count, Max, OuterRef, Q, Subquery, Sum, When
from django.utils import timezone

from governance.models import (
    ApiProduct,
    ApiSubscription,
    ApiVersion,
    Consumer,
    EventContract,
    Lifecycle,
    SubscriptionStatus,
    UsageCounter,
)
from governance.services.checks import semver_of

USAGE_DAYS = 30
_LIGHT = ("openapi", "compatibility_report", "style_findings")


@dataclass(frozen=True)
class CatalogFilters:
    q: str = ""
    domain: str = ""
    owner: str = ""
    lifecycle: str = ""
    layer: str = ""


def catalog_products(filters: CatalogFilters):
    """Products with their owner, current version and its state, live consumers and next sunset.

    The current version is the newest one consumers can call (published, else deprecated); a product
    with none shows its newest version in any other state but draft (in review, blocked, retired).
    """
    serving = Case(When(status=Lifecycle.PUBLISHED, then=0), When(status=Lifecycle.DEPRECATED, then=1), default=2)
    newest = (ApiVersion.objects.filter(product=OuterRef("pk")).exclude(status=Lifecycle.DRAFT)
              .order_by(serving, "-major", "-minor", "-patch", "prerelease"))
    products = (
        ApiProduct.objects.select_related("owner_team", "system_of_record")
        .annotate(
            latest_version=Subquery(newest.values("version")[:1]),
            latest_status=Subquery(newest.values("status")[:1]),
            version_count=Count("versions", distinct=True),
            consumer_count=Count(
                "versions__subscriptions__consumer", distinct=True,
                filter=Q(versions__subscriptions__status=SubscriptionStatus.ACTIVE),
            ),
            next_sunset=Subquery(
                ApiVersion.objects.filter(product=OuterRef("pk"), status=Lifecycle.DEPRECATED)
                .order_by("sunset_at").values("sunset_at")[:1]
            ),
            in_review=Count("versions", distinct=True, filter=Q(versions__status=Lifecycle.IN_REVIEW)),
        )
        .order_by("name")
    )
    if filters.q:
        products = products.filter(Q(name__icontains=filters.q) | Q(slug__icontains=filters.q)
                                   | Q(description__icontains=filters.q) | Q(domain__icontains=filters.q))
    if filters.domain:
        products = products.filter(domain=filters.domain)
    if filters.owner:
        products = products.filter(owner_team__slug=filters.owner)
    if filters.layer:
        products = products.filter(layer=filters.layer)
    if filters.lifecycle:
        products = products.filter(versions__status=filters.lifecycle).distinct()
    return products


def catalog_choices() -> dict:
    from governance.models import Team

    return {
        "domains": list(ApiProduct.objects.order_by("domain").values_list("domain", flat=True).distinct()),
        "teams": list(Team.objects.order_by("name").values_list("slug", "name")),
    }


def catalog_contracts(q: str = ""):
    contracts = EventContract.objects.select_related("owner_team").annotate(
        latest=Max("versions__version"), version_count=Count("versions"))
    if q:
        contracts = contracts.filter(Q(event_type__icontains=q) | Q(description__icontains=q))
    return contracts.order_by("event_type")


def versions_of(product: ApiProduct) -> list[ApiVersion]:
    """A product's versions, newest first in semantic-version order."""
    versions = list(product.versions.defer(*_LIGHT).select_related("replacement"))
    return sorted(versions, key=semver_of, reverse=True)


@dataclass
class TimelineBar:
    version: ApiVersion
    # Percent offsets along the axis: published, deprecated, end (sunset/retired or the axis end).
    start: float
    deprecated: float | None
    end: float
    ends_with: str


@dataclass
class Timeline:
    start: date
    end: date
    today: float
    bars: list[TimelineBar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)


def version_timeline(versions: list[ApiVersion], *, now: datetime | None = None) -> Timeline | None:
    """Each published version as a bar from publication to sunset (or today) on one shared time axis."""
    now = now or timezone.now()
    dated = [v for v in versions if v.published_at]
    if not dated:
        return None
    first = min(v.published_at for v in dated)
    last = max([now + timedelta(days=30)] + [v.sunset_at for v in dated if v.sunset_at]
               + [v.retired_at for v in dated if v.retired_at])
    span = max((last - first).total_seconds(), 1.0)

    def at(moment: datetime) -> float:
        return round(100 * (moment - first).total_seconds() / span, 2)

    timeline = Timeline(start=first.date(), end=last.date(), today=at(now))
    for version in sorted(dated, key=semver_of):
        end_moment = version.retired_at or version.sunset_at or last
        ends_with = "retired" if version.retired_at else "sunset" if version.sunset_at else "open"
        timeline.bars.append(TimelineBar(
            version=version, start=at(version.published_at),
            deprecated=at(version.deprecated_at) if version.deprecated_at else None,
            end=max(at(end_moment), at(version.published_at) + 0.5), ends_with=ends_with,
        ))
    months = {}
    cursor = date(first.year, first.month, 1)
    while cursor <= last.date():
        moment = timezone.make_aware(datetime(cursor.year, cursor.month, 1)) if timezone.is_aware(first) else \
            datetime(cursor.year, cursor.month, 1)
        if moment >= first:
            months[cursor] = at(moment)
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    step = max(1, len(months) // 8)
    timeline.ticks = [(pos, d.strftime("%b %Y")) for i, (d, pos) in enumerate(sorted(months.items())) if i % step == 0]
    return timeline


@dataclass
class ConsumerUsage:
    consumer: Consumer
    subscription: ApiSubscription | None = None
    via: bool = False  # the subscription is to another release of the same major
    calls: int = 0
    errors: int = 0
    last_call: datetime | None = None


def usage_by_version(product: ApiProduct, *, days: int = USAGE_DAYS) -> dict[int, list[ConsumerUsage]]:
    """{version id: consumers} with subscription, calls and errors in the last ``days`` days, last call ever."""
    since = timezone.now().date() - timedelta(days=days - 1)
    rows: dict[tuple[int, int], ConsumerUsage] = {}
    consumers: dict[int, Consumer] = {}
    subscriptions = (ApiSubscription.objects.filter(version__product=product)
                     .exclude(status=SubscriptionStatus.REVOKED).select_related("consumer__system", "version")
                     .defer(*(f"version__{name}" for name in _LIGHT)))
    for sub in subscriptions:
        consumers[sub.consumer_id] = sub.consumer
        rows[(sub.version_id, sub.consumer_id)] = ConsumerUsage(consumer=sub.consumer, subscription=sub)
    usage = (
        UsageCounter.objects.filter(version__product=product)
        .values("version_id", "consumer_id")
        .annotate(calls=Sum("count", filter=Q(day__gte=since)),
                  errors=Sum("count", filter=Q(day__gte=since, status_class__in=["4xx", "5xx"])),
                  last_call=Max("last_called_at"))
    )
    usage = list(usage)
    missing = {u["consumer_id"] for u in usage} - set(consumers)
    consumers.update({c.pk: c for c in Consumer.objects.filter(pk__in=missing).select_related("system")})
    majors = dict(product.versions.values_list("pk", "major"))
    for u in usage:
        key = (u["version_id"], u["consumer_id"])
        row = rows.get(key)
        if row is None:
            # Calls are counted against the release that served them; the subscription may be to an
            # earlier release of the same major, which covers it.
            covering = next((r.subscription for (version_id, consumer_id), r in rows.items()
                             if consumer_id == u["consumer_id"] and r.subscription is not None
                             and majors.get(version_id) == majors.get(u["version_id"])), None)
            row = rows[key] = ConsumerUsage(consumer=consumers[u["consumer_id"]], subscription=covering,
                                            via=covering is not None)
        row.calls, row.errors, row.last_call = u["calls"] or 0, u["errors"] or 0, u["last_call"]
    result: dict[int, list[ConsumerUsage]] = {}
    for (version_id, _), row in rows.items():
        result.setdefault(version_id, []).append(row)
    for entries in result.values():
        entries.sort(key=lambda r: (-(r.calls or 0), r.consumer.name))
    return result


def usage_of_consumers(version: ApiVersion, consumers: list[Consumer], *, days: int = USAGE_DAYS) -> dict[int, dict]:
    """{consumer id: {calls, last_call}} for calls to the version's major in the last ``days`` days."""
    since = timezone.now().date() - timedelta(days=days - 1)
    rows = (UsageCounter.objects.filter(consumer__in=consumers, version__product_id=version.product_id,
                                        version__major=version.major)
            .values("consumer_id").annotate(calls=Sum("count", filter=Q(day__gte=since)),
                                            last_call=Max("last_called_at")))
    return {r["consumer_id"]: r for r in rows}


def successor_of(version: ApiVersion) -> ApiVersion | None:
    """The newest published version of a later major: where a deprecated version's consumers should go."""
    return (ApiVersion.objects.filter(product_id=version.product_id, major__gt=version.major,
                                      status=Lifecycle.PUBLISHED)
            .defer(*_LIGHT).order_by("-major", "-minor", "-patch").first())


def subscribers_of_major(version: ApiVersion) -> set[int]:
    """Ids of consumers with an active subscription to any release of ``version``'s major."""
    return set(ApiSubscription.objects.filter(version__product_id=version.product_id, version__major=version.major,
                                              status=SubscriptionStatus.ACTIVE).values_list("consumer_id", flat=True))


def review_queue():
    return (
        ApiVersion.objects.filter(status=Lifecycle.IN_REVIEW)
        .select_related("product__owner_team", "created_by")
        .defer("openapi")
        .order_by("submitted_at")
    )


def pending_subscriptions():
    """Subscription requests waiting for the board, oldest first."""
    return (
        ApiSubscription.objects.filter(status=SubscriptionStatus.PENDING)
        .select_related("consumer__system", "version__product__owner_team", "rate_plan")
        .defer(*(f"version__{name}" for name in _LIGHT))
        .order_by("requested_at")
    )


def subscriptions_of(version: ApiVersion):
    """Everyone subscribed to one version (revoked ones last), with their plan and who decided."""
    return (
        ApiSubscription.objects.filter(version=version)
        .select_related("consumer__system", "rate_plan", "decided_by")
        .order_by(Case(When(status=SubscriptionStatus.REVOKED, then=1), default=0), "consumer__name")
    )


def subscribable_consumers(version: ApiVersion):
    """Active consumers without a live subscription to ``version``: who the board could subscribe."""
    live = ApiSubscription.objects.filter(version=version).exclude(status=SubscriptionStatus.REVOKED)
    return (Consumer.objects.filter(is_active=True).exclude(pk__in=live.values("consumer_id"))
            .select_related("system").order_by("name"))


def board_queue_counts() -> dict[str, int]:
    """What waits for the board: versions in review and subscription requests."""
    return {
        "versions": ApiVersion.objects.filter(status=Lifecycle.IN_REVIEW).count(),
        "subscriptions": ApiSubscription.objects.filter(status=SubscriptionStatus.PENDING).count(),
    }


def days_until(moment: datetime | None, *, now: datetime | None = None) -> int | None:
    """Whole days until ``moment``; negative once it has passed (at least -1, so 'passed' shows at once)."""
    if moment is None:
        return None
    days = (moment - (now or timezone.now())).total_seconds() / 86_400
    return int(days) if days >= 0 else -max(1, int(-days))
