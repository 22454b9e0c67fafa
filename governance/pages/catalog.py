"""Catalog, API product, event contracts, and the public deprecation notice of a version."""

from __future__ import annotations

import json

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from governance.models import ApiProduct, ApiVersion, EventContract, Layer, Lifecycle
from governance.pages.access import CHANGE, UPLOAD, board_required, can
from governance.policy.routing import base_path
from governance.selectors import (
    USAGE_DAYS,
    CatalogFilters,
    catalog_choices,
    catalog_contracts,
    catalog_products,
    days_until,
    usage_by_version,
    version_timeline,
    versions_of,
)


@board_required()
def catalog(request):
    filters = CatalogFilters(**{name: request.GET.get(name, "").strip() for name in CatalogFilters.__annotations__})
    products = list(catalog_products(filters))
    now = timezone.now()
    for product in products:
        product.sunset_days = days_until(product.next_sunset, now=now)
        product.latest_status_label = Lifecycle(product.latest_status).label if product.latest_status else ""
    context = {
        "products": products,
        "contracts": catalog_contracts(filters.q),
        "filters": filters,
        "filtered": any(vars(filters).values()),
        "layers": Layer.choices,
        "lifecycles": Lifecycle.choices,
        **catalog_choices(),
    }
    return render(request, "governance/catalog.html", context)


@board_required()
def product_detail(request, slug: str):
    product = get_object_or_404(ApiProduct.objects.select_related("owner_team", "system_of_record"), slug=slug)
    versions = versions_of(product)
    usage = usage_by_version(product)
    now = timezone.now()
    # Calls are counted against the newest live release of a major, whichever release was subscribed to.
    serving: dict[int, ApiVersion] = {}
    for v in versions:  # newest first
        if v.status in (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED):
            serving.setdefault(v.major, v)
    rows = [
        {"version": v, "consumers": usage.get(v.pk, []), "sunset_days": days_until(v.sunset_at, now=now),
         "base_path": base_path(v) if product.path_prefixes else "",
         "served_by": serving[v.major] if v.major in serving and serving[v.major].pk != v.pk else None}
        for v in versions
    ]
    # Publishing a new major offers to deprecate the older ones, for as long as they stay published.
    newest_major = max((v.major for v in versions if v.status == Lifecycle.PUBLISHED), default=None)
    older_majors = [v for v in versions if v.status == Lifecycle.PUBLISHED and v.major < (newest_major or 0)]
    context = {
        "product": product,
        "rows": rows,
        "timeline": version_timeline(versions, now=now),
        "usage_days": USAGE_DAYS,
        "offer_deprecation": older_majors,
        "can_upload": can(request, UPLOAD),
        "can_change": can(request, CHANGE),
    }
    return render(request, "governance/product.html", context)


@board_required()
def contract_detail(request, event_type: str):
    contract = get_object_or_404(EventContract.objects.select_related("owner_team"), event_type=event_type)
    versions = list(contract.versions.order_by("-version"))
    for version in versions:
        version.schema_text = json.dumps(version.schema, indent=2)
    return render(request, "governance/contract.html", {"contract": contract, "versions": versions})


def served_at(version: ApiVersion) -> str:
    """Where consumers call a version: the hub's path for the APIs it serves, else the document's server."""
    if version.product.path_prefixes:
        return base_path(version)
    servers = (version.openapi or {}).get("servers") or [{}]
    url = servers[0].get("url") if isinstance(servers[0], dict) else ""
    return url if isinstance(url, str) else ""


def notice(request, slug: str, version: str):
    """What a partner reads behind the Link headers: the version's lifecycle dates and its successor.

    Public on purpose (partners have API keys, not staff sessions); it shows nothing the
    Deprecation and Sunset headers do not already say.
    """
    found = get_object_or_404(
        ApiVersion.objects.select_related("product__owner_team", "replacement__product").defer("openapi"),
        product__slug=slug, version=version, status__in=[Lifecycle.PUBLISHED, Lifecycle.DEPRECATED,
                                                         Lifecycle.RETIRED, Lifecycle.BLOCKED],
    )
    context = {
        "version": found,
        "product": found.product,
        "sunset_days": days_until(found.sunset_at),
        "replacement_path": served_at(found.replacement) if found.replacement else "",
    }
    return render(request, "governance/notice.html", context)
