"""The hub's own API in its own catalog.

The drf-spectacular schema of the running code is split into the hub's API products (by the
same URL prefixes the runtime policy routes by) and each product's part is registered as its
next version: patch when nothing a client sees changed, minor for additions, and refused when
it breaks clients, because a breaking change needs a new major and so a new /api/v<N>/ URL.

``PUBLISHED_SNAPSHOT`` is the schema as last published; tests compare the live schema with it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from canonical.context import Actor
from governance.diff import SemVer, compare_openapi
from governance.diff.versioning import ADDITIVE_CHECKS
from governance.models import ApiProduct, ApiVersion, Layer, Lifecycle, Team
from governance.policy.routing import API_PATH, longest_prefix
from governance.services.checks import COMPARABLE_STATES, semver_of
from governance.services.registry import (
    GovernanceError,
    VersionRefused,
    api_product_create,
    api_version_submit,
    api_version_upload,
    team_create,
)

PUBLISHED_SNAPSHOT = Path(__file__).resolve().parent / "fixtures" / "hub-api" / "published-openapi.json"


@dataclass(frozen=True)
class HubProduct:
    slug: str
    name: str
    domain: str
    layer: str
    prefixes: tuple[str, ...]
    description: str


HUB_TEAM = {"name": "Integration platform", "slug": "integration-platform",
            "contact_name": "Integration platform team", "contact_email": "integration-platform@hub.example"}

# Later issues add their products here; '' takes every path no other product claims.
HUB_PRODUCTS: tuple[HubProduct, ...] = (
    HubProduct("hub-canonical", "Canonical data API", "canonical data", Layer.SYSTEM, ("",),
               "Reads of every canonical entity and upserts by the owning system's external id, with "
               "system-of-record enforcement."),
    HubProduct("hub-inbound", "Inbound messages API", "integration", Layer.PROCESS, ("inbound/",),
               "Partner systems send messages (stored as received, validated, mapped, applied) and poll "
               "their status."),
    HubProduct("hub-events", "Business events API", "events", Layer.SYSTEM, ("events",),
               "The outbox of business events, for partners that poll instead of receiving webhooks."),
    HubProduct("hub-pricing", "Price and availability API", "orders", Layer.PROCESS, ("pricing/",),
               "One call for a selling system: contract or list price and its rule, available-to-promise per "
               "location and the promised date per line, and the customer's credit standing. (Order submission "
               "and cancellation share the /orders URL with the canonical order reads, so the policy routes "
               "them with the Canonical data API.)"),
)


# --- the schema ------------------------------------------------------------------------------


def live_schema() -> dict:
    """The drf-spectacular schema of the running code, as plain JSON data."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


def _refs(node: Any) -> Iterator[str]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                yield ref
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _prune_components(document: dict) -> None:
    """Keep only the components the document's paths reach (directly or through other components)."""
    components = document.get("components") or {}
    keep: set[tuple[str, str]] = set()
    pending = list(_refs(document.get("paths", {})))
    while pending:
        _, _, kind, name = pending.pop().split("/", 3)
        if (kind, name) in keep or name not in components.get(kind, {}):
            continue
        keep.add((kind, name))
        pending.extend(_refs(components[kind][name]))
    for kind, entries in list(components.items()):
        if kind == "securitySchemes":
            continue
        document["components"][kind] = {name: value for name, value in entries.items() if (kind, name) in keep}


def split_schema(schema: dict, products: tuple[HubProduct, ...] = HUB_PRODUCTS) -> dict[tuple[str, int], dict]:
    """{(product slug, major): that product's OpenAPI document for /api/v<major>/}."""
    table = [(prefix, product) for product in products for prefix in product.prefixes]
    parts: dict[tuple[str, int], dict] = {}
    for path, item in (schema.get("paths") or {}).items():
        match = API_PATH.match(path)
        product = longest_prefix(match["rest"], table) if match else None
        if product is None:
            continue
        key = (product.slug, int(match["major"]))
        if key not in parts:
            part = {name: copy.deepcopy(value) for name, value in schema.items() if name != "paths"}
            part["info"] = {**schema.get("info", {}), "title": product.name, "description": product.description}
            part["paths"] = {}
            parts[key] = part
        parts[key]["paths"][path] = copy.deepcopy(item)
    for part in parts.values():
        _prune_components(part)
    return parts


def _comparable(document: dict) -> dict:
    return {**document, "info": {k: v for k, v in (document.get("info") or {}).items() if k != "version"}}


# --- registration ----------------------------------------------------------------------------


@dataclass
class HubRegistration:
    product: ApiProduct
    major: int
    outcome: str  # registered | published | in_review | unchanged | refused
    version: ApiVersion | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``hub-inbound v1``."""
        return f"{self.product.slug} v{self.major}"

    @property
    def state(self) -> str:
        """``1.1.0 published``, ``unchanged`` or ``REFUSED`` (the reasons apart)."""
        if self.outcome == "refused":
            return "REFUSED"
        return "unchanged" if self.outcome == "unchanged" else f"{self.version.version} {self.outcome}"


def hub_products_ensure(*, actor: Actor) -> dict[str, ApiProduct]:
    """The hub's team and API products, created when missing (the board's later edits are kept)."""
    with transaction.atomic():
        team = Team.objects.filter(slug=HUB_TEAM["slug"]).first() or team_create(actor=actor, **HUB_TEAM)
        products = {p.slug: p for p in ApiProduct.objects.filter(slug__in=[h.slug for h in HUB_PRODUCTS])}
        for hub in HUB_PRODUCTS:
            if hub.slug not in products:
                # The hub's release pipeline publishes its API; the board follows it in the catalog.
                products[hub.slug] = api_product_create(
                    name=hub.name, slug=hub.slug, domain=hub.domain, layer=hub.layer, owner_team=team,
                    description=hub.description, path_prefixes=hub.prefixes, required_approvals=0, actor=actor,
                )
    return products


def _same_as_latest(product: ApiProduct, major: int, document: dict) -> ApiVersion | None:
    latest = max(product.versions.filter(major=major), key=semver_of, default=None)
    if latest is not None and _comparable(latest.openapi) == _comparable(document):
        return latest
    return None


def next_hub_version(product: ApiProduct, major: int, document: dict) -> tuple[str | None, list[str]]:
    """(next version number, reasons it cannot have one). None with no reasons means unchanged."""
    versions = list(product.versions.filter(major=major))
    if _same_as_latest(product, major, document) is not None:
        return None, []
    comparable = [v for v in versions if v.status in COMPARABLE_STATES]
    previous = max(comparable, key=semver_of, default=None)
    if previous is None:
        candidate = SemVer(major, 0, 0)
    else:
        report = compare_openapi(previous.openapi, document)
        if report.has_breaking:
            verdict = report.verdict(previous.version, f"{major}.{semver_of(previous).minor + 1}.0")
            return None, [verdict.summary, *verdict.reasons,
                          f"A breaking change needs a new major version, served at /api/v{major + 1}/."]
        old = semver_of(previous)
        additive = any(f.check_id in ADDITIVE_CHECKS for f in report.findings)
        candidate = SemVer(major, old.minor + 1, 0) if additive else SemVer(major, old.minor, old.patch + 1)
    taken = {semver_of(v).core for v in versions}
    while candidate.core in taken:
        candidate = SemVer(major, candidate.minor, candidate.patch + 1)
    return ".".join(map(str, candidate.core)), []


def hub_api_register(
    *, actor: Actor, schema: dict | None = None, publish: bool = False, parts: dict | None = None
) -> list[HubRegistration]:
    """Register the schema (the live one by default) as the next version of each hub API product.

    ``parts`` may give the schema already split (split_schema) to save the work.
    """
    if parts is None:
        schema = schema if schema is not None else live_schema()
        parts = split_schema(schema)
    version_label = (schema or {}).get("info", {}).get("version") or next(iter(parts.values()))["info"].get("version")
    products = hub_products_ensure(actor=actor)
    results = []
    for (slug, major), document in sorted(parts.items()):
        product = products[slug]
        number, reasons = next_hub_version(product, major, document)
        if number is None and reasons:
            results.append(HubRegistration(product, major, "refused", reasons=reasons))
            continue
        if number is None:
            version = _same_as_latest(product, major, document)
            if not (publish and version.status == Lifecycle.DRAFT):
                results.append(HubRegistration(product, major, "unchanged", version))
                continue
        else:
            document["info"]["version"] = number
            try:
                version = api_version_upload(
                    product=product, source=document, version=number, actor=actor,
                    changelog=f"Registered from the hub's schema ({version_label}).",
                )
            except VersionRefused as exc:
                results.append(HubRegistration(product, major, "refused", reasons=exc.reasons))
                continue
        outcome = "registered"
        if publish:
            try:
                submitted = api_version_submit(version=version, actor=actor)
            except GovernanceError as exc:
                results.append(HubRegistration(product, major, "refused", version, [str(exc), *exc.reasons]))
                continue
            version = submitted.version
            outcome = "published" if version.status == Lifecycle.PUBLISHED else "in_review"
        results.append(HubRegistration(product, major, outcome, version))
    return results


def hub_api_ensure_published(*, actor: Actor) -> list[HubRegistration]:
    """Make sure each part of the hub's API that this hub serves has a published version.

    A part is a product and a major version of the live schema (split_schema). Only the parts
    with no published version are registered and published, so a database kept from before an
    upgrade that adds a product or a major gets it too; when every part has one, it costs one
    query (the live schema is generated once per process). New versions within a published
    major are register_hub_api's to make (a governance decision), or demo_setup's.
    """
    live = _live_parts_of(settings.ROOT_URLCONF)
    published = set(ApiVersion.objects.filter(
        product__slug__in={slug for (slug, _), _ in live}, status=Lifecycle.PUBLISHED,
    ).values_list("product__slug", "major"))
    missing = {key: json.loads(text) for key, text in live if key not in published}
    return hub_api_register(actor=actor, parts=missing, publish=True) if missing else []


@lru_cache(maxsize=4)
def _live_parts_of(urlconf: str) -> tuple[tuple[tuple[str, int], str], ...]:
    """The live schema split per product, as JSON text, generated once per process and URLconf (tests
    register it again and again, some under a URLconf of their own, which does not serve the hub's API)."""
    return tuple((key, json.dumps(part)) for key, part in split_schema(live_schema()).items())


def snapshot_write(schema: dict, path: Path = PUBLISHED_SNAPSHOT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    return path


def snapshot_read(path: Path = PUBLISHED_SNAPSHOT) -> dict:
    return json.loads(path.read_text())


def breaking_changes_since(published: dict, live: dict) -> list[str]:
    """Reasons the live schema may not follow the published one: breaking changes within a major.

    A new major (new /api/v<N>/ paths) is free to differ; within a major, any error-level finding
    is refused, since the URL, and so the major version, stays the same.
    """
    before, after = split_schema(published), split_schema(live)
    reasons = []
    for key, old in sorted(before.items()):
        slug, major = key
        new = after.get(key)
        if new is None:
            reasons.append(f"{slug} v{major}: every operation of the published version is gone.")
            continue
        report = compare_openapi(old, new)
        reasons.extend(f"{slug} v{major}: [{f.check_id}] {f.location.operation or f.location.pointer}: {f.message}"
                       for f in report.findings if f.is_breaking)
    return reasons
