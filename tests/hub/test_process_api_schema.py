"""The quote, order and cancel answers match the OpenAPI document the hub publishes for them."""

from __future__ import annotations

import copy
import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from jsonschema import Draft202012Validator

from tests.hub.ordering_support import new_key, shop_build

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document() -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


def _json_schema(node):
    """OpenAPI 3.0 schema → JSON Schema: ``nullable: true`` becomes a null alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def assert_conforms(document: dict, path: str, method: str, status: int, body) -> None:
    response = document["paths"][path][method]["responses"][str(status)]
    schema = copy.deepcopy(response["content"]["application/json"]["schema"])
    root = {"$defs": {}, **_json_schema(schema)}
    components = _json_schema(document["components"]["schemas"])
    text = json.dumps(root).replace("#/components/schemas/", "#/$defs/")
    root = json.loads(text)
    root["$defs"] = json.loads(json.dumps(components).replace("#/components/schemas/", "#/$defs/"))
    errors = sorted(Draft202012Validator(root).iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_the_order_quote_and_cancel_answers_match_their_schema(partner_client, document):
    shop = shop_build()
    crm = partner_client("crm", "crm")
    quote = crm.post("/api/v1/pricing/quote", {
        "customer": "CRM-100", "lines": [{"sku": "WID-1", "quantity": "3", "requested_date": "2031-01-01"},
                                         {"sku": "NOPE", "quantity": "1"}, {"sku": "CRATE-1", "quantity": "1"}],
    }, format="json")
    assert quote.status_code == 200
    assert_conforms(document, "/api/v1/pricing/quote", "post", 200, quote.json())
    unknown = crm.post("/api/v1/pricing/quote", {"customer": "CRM-404", "lines": [{"sku": "WID-1", "quantity": "1"}]},
                       format="json")
    assert_conforms(document, "/api/v1/pricing/quote", "post", 200, unknown.json())

    placed = crm.post("/api/v1/orders", {
        "customer": "CRM-100", "ship_to": "CRM-100-1", "external_id": "SHOP-1",
        "lines": [{"sku": "WID-1", "quantity": "2"}, {"sku": "BOLT-1", "quantity": "10"},
                  {"sku": "CRATE-1", "quantity": "1"}],
    }, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert placed.status_code == 201 and placed.json()["purchase_orders"]
    assert_conforms(document, "/api/v1/orders", "post", 201, placed.json())
    with pytest.raises(AssertionError):  # the check bites
        assert_conforms(document, "/api/v1/orders", "post", 201, {**placed.json(), "outcome": "shipped"})

    shop.customer.credit_status = "hold"
    shop.customer.save()
    held = crm.post("/api/v1/orders", {"customer": "CRM-100", "ship_to": "CRM-100-1",
                                       "lines": [{"sku": "WID-1", "quantity": "1"}]},
                    format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert held.json()["outcome"] == "credit_hold"
    assert_conforms(document, "/api/v1/orders", "post", 201, held.json())

    cancelled = crm.post(f"/api/v1/orders/{placed.json()['order']['id']}/cancel", {"reason": "test"}, format="json")
    assert cancelled.status_code == 200
    assert_conforms(document, "/api/v1/orders/{id}/cancel", "post", 200, cancelled.json())
    # And the representation is the one the order endpoint serves.
    order = crm.get(f"/api/v1/orders/{placed.json()['order']['id']}").json()
    assert {k: v for k, v in placed.json()["order"].items() if k not in {"status", "updated_at", "lines"}} == {
        k: v for k, v in order.items() if k not in {"status", "updated_at", "lines"}}
