"""The hub's own API in its own catalog, and the guard against breaking it without a major version."""

from __future__ import annotations

import copy
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from canonical.context import Actor
from governance.hub_api import (
    HUB_PRODUCTS,
    PUBLISHED_SNAPSHOT,
    breaking_changes_since,
    hub_api_ensure_published,
    hub_api_register,
    live_schema,
    snapshot_read,
    split_schema,
)
from governance.models import ApiProduct, ApiVersion, Lifecycle
from governance.policy.routing import API_PATH
from tests.governance.hub_schemas import with_an_inbound_endpoint


@pytest.fixture(scope="module")
def schema() -> dict:
    return live_schema()


def test_the_live_schema_has_no_breaking_change_against_the_published_snapshot(schema):
    """Fails when an endpoint, field or status a partner relies on changes without a new /api/v<N>/.

    Intentional additions pass. To publish a release: manage.py register_hub_api --publish --snapshot.
    """
    reasons = breaking_changes_since(snapshot_read(PUBLISHED_SNAPSHOT), schema)
    assert reasons == [], "Breaking changes against the published hub API:\n" + "\n".join(reasons)


def test_the_guard_catches_a_removed_operation_and_a_new_required_field(schema):
    broken = copy.deepcopy(schema)
    broken["paths"].pop("/api/v1/customers/{id}")
    body = broken["paths"]["/api/v1/systems/{system}/customers/{external_id}"]["put"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    component = broken["components"]["schemas"][ref]
    component.setdefault("properties", {})["loyalty_tier"] = {"type": "string"}
    component.setdefault("required", []).append("loyalty_tier")
    reasons = breaking_changes_since(schema, broken)
    assert any("GET /api/v1/customers/{id}" in r and "hub-canonical v1" in r for r in reasons), reasons
    assert any("loyalty_tier" in r for r in reasons), reasons
    # The same operations under a new major are not a break of v1... but dropping v1 is.
    moved = copy.deepcopy(schema)
    moved["paths"] = {path.replace("/api/v1/", "/api/v2/"): item for path, item in moved["paths"].items()}
    assert any("every operation of the published version is gone" in r for r in breaking_changes_since(schema, moved))


def test_split_puts_every_partner_path_in_exactly_one_product(schema):
    parts = split_schema(schema)
    partner_paths = {p for p in schema["paths"] if API_PATH.match(p)}
    placed = [p for part in parts.values() for p in part["paths"]]
    assert sorted(placed) == sorted(partner_paths)
    inbound = parts[("hub-inbound", 1)]
    assert inbound["paths"] and all(p.startswith("/api/v1/inbound/") for p in inbound["paths"])
    assert inbound["info"]["title"] == "Inbound messages API"
    # Components are pruned to what the part's paths reach, and the security schemes stay.
    canonical = parts[("hub-canonical", 1)]
    assert len(canonical["components"]["schemas"]) < len(schema["components"]["schemas"])
    assert canonical["components"]["securitySchemes"] == schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_register_publishes_then_is_unchanged_then_adds_a_minor(schema):
    actor = Actor.hub()
    first = {(r.product.slug, r.outcome, r.version.version) for r in hub_api_register(
        actor=actor, schema=schema, publish=True)}
    assert first == {(slug, "published", "1.0.0") for slug, _ in split_schema(schema)}
    assert {"hub-canonical", "hub-inbound", "hub-events"} <= {slug for slug, _, _ in first}
    assert {p.slug for p in ApiProduct.objects.all()} == {p.slug for p in HUB_PRODUCTS}
    again = hub_api_register(actor=actor, schema=schema, publish=True)
    assert {r.outcome for r in again} == {"unchanged"}
    grown = with_an_inbound_endpoint(schema)
    results = {r.product.slug: r for r in hub_api_register(actor=actor, schema=grown, publish=True)}
    assert results["hub-inbound"].version.version == "1.1.0"
    assert results["hub-inbound"].version.status == Lifecycle.PUBLISHED
    assert results["hub-canonical"].outcome == "unchanged"


@pytest.mark.django_db
def test_register_refuses_a_breaking_change_and_the_command_says_why(schema):
    hub_api_register(actor=Actor.hub(), schema=schema, publish=True)
    broken = copy.deepcopy(schema)
    broken["paths"].pop("/api/v1/customers/{id}")
    [refused] = [r for r in hub_api_register(actor=Actor.hub(), schema=broken) if r.outcome == "refused"]
    assert refused.product.slug == "hub-canonical"
    assert any("/api/v2/" in reason for reason in refused.reasons)
    assert not ApiVersion.objects.filter(product__slug="hub-canonical", version__startswith="1.0.1").exists()


@pytest.mark.django_db
def test_register_hub_api_command_and_ensure_published():
    out = StringIO()
    call_command("register_hub_api", stdout=out)
    assert "hub-canonical v1: 1.0.0 registered" in out.getvalue()
    products = len(split_schema(live_schema()))
    assert ApiVersion.objects.filter(status=Lifecycle.DRAFT).count() == products
    with pytest.raises(CommandError, match="--snapshot records what was published"):
        call_command("register_hub_api", "--snapshot")
    hub_api_ensure_published(actor=Actor.hub())
    assert ApiVersion.objects.filter(status=Lifecycle.PUBLISHED).count() == products


@pytest.mark.django_db
def test_ensure_published_publishes_each_part_that_has_none(schema):
    """A database from before an upgrade that added a product gets the new product published too."""
    parts = split_schema(schema)
    inbound = {key: part for key, part in parts.items() if key[0] == "hub-inbound"}
    [only] = hub_api_register(actor=Actor.hub(), parts=copy.deepcopy(inbound), publish=True)
    assert only.outcome == "published"
    results = hub_api_ensure_published(actor=Actor.hub())
    assert {(r.product.slug, r.outcome) for r in results} == {(slug, "published") for slug, _ in parts
                                                               if slug != "hub-inbound"}
    assert ApiVersion.objects.filter(product__slug="hub-inbound").get() == only.version
    assert hub_api_ensure_published(actor=Actor.hub()) == []
    assert ApiVersion.objects.filter(status=Lifecycle.PUBLISHED).count() == len(parts)
