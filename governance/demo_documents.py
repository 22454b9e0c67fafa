"""OpenAPI documents of the demo catalog's API products (not served by the hub; owned by other teams).

Written as data so that each version is a small, readable change from the one before, the way an
API team's own repository would hold them. Every document follows the built-in style rules.
"""

from __future__ import annotations

import copy
from typing import Any

_PROBLEM_REF = {"$ref": "#/components/responses/Problem"}
_PROBLEM_RESPONSE = {
    "description": "An RFC 9457 problem detail.",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(operation_id: str, summary: str, tag: str, ok: str, schema: dict, *, status: str = "200",
               parameters: list | None = None, body: str | None = None, errors: tuple[str, ...] = ("400",)) -> dict:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": True, "content": _json(_ref(body))}
    operation["responses"] = {status: {"description": ok, "content": _json(schema)},
                              **{code: _PROBLEM_REF for code in errors}}
    return operation


def _path_parameter(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _document(title: str, version: str, server: str, description: str, paths: dict, schemas: dict) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version, "description": description,
                 "contact": {"name": "API owners", "email": "api-owners@distributor.example"}},
        "servers": [{"url": server}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "responses": {"Problem": _PROBLEM_RESPONSE},
            "schemas": {**schemas, "Problem": _PROBLEM_SCHEMA},
        },
    }


# --- Storefront API (experience layer: what the web store and the sales app show customers) ----------

STOREFRONT_DESCRIPTION = (
    "Catalogue, prices, carts and orders for the B2B web store and the sales reps' mobile app, shaped for "
    "their screens. Owned by Digital commerce; built on the hub's process APIs."
)


def storefront_v1() -> dict:
    sku = _path_parameter("sku", "The item's SKU.")
    order_number = _path_parameter("order_number", "The order number shown to the customer.")
    paths = {
        "/products": {"get": _operation(
            "listProducts", "Search the catalogue", "catalogue", "A page of products",
            {"type": "array", "items": _ref("Product")},
            parameters=[_query("q", {"type": "string"}, "Words in the name or SKU."),
                        _query("category", {"type": "string"}, "Category code.")])},
        "/products/{sku}": {"get": _operation(
            "getProduct", "One product with price and stock", "catalogue", "The product", _ref("Product"),
            parameters=[sku], errors=("404",))},
        "/carts": {"post": _operation(
            "createCart", "Start a cart", "ordering", "The new cart", _ref("Cart"), status="201", body="CartInput",
            errors=("400", "422"))},
        "/orders": {"post": _operation(
            "placeOrder", "Place the order for a cart", "ordering", "The order as received", _ref("Order"),
            status="201", body="OrderInput", errors=("400", "409", "422"))},
        "/orders/{order_number}": {"get": _operation(
            "getOrder", "Order status for the customer", "ordering", "The order", _ref("Order"),
            parameters=[order_number], errors=("404",))},
    }
    schemas = {
        "Product": {"type": "object", "required": ["sku", "name", "price", "currency", "available"], "properties": {
            "sku": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"},
            "price": {"type": "number", "description": "Price for the signed-in customer."},
            "currency": {"type": "string", "enum": ["USD"]},
            "available": {"type": "integer", "description": "Units available to promise across all DCs."}}},
        "CartInput": {"type": "object", "required": ["lines"], "properties": {
            "lines": {"type": "array", "items": _ref("CartLine")}}},
        "CartLine": {"type": "object", "required": ["sku", "quantity"], "properties": {
            "sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}}},
        "Cart": {"type": "object", "required": ["id", "lines"], "properties": {
            "id": {"type": "string"}, "lines": {"type": "array", "items": _ref("CartLine")},
            "total": {"type": "number"}}},
        "OrderInput": {"type": "object", "required": ["cart_id"], "properties": {
            "cart_id": {"type": "string"}, "po_number": {"type": "string"}}},
        "Order": {"type": "object", "required": ["order_number", "status"], "properties": {
            "order_number": {"type": "string"}, "po_number": {"type": "string"},
            "status": {"type": "string", "enum": ["received", "credit_hold", "in_fulfilment", "shipped", "cancelled"]},
            "total": {"type": "number"}}},
    }
    return _document("Storefront API", "1.0.0", "https://api.distributor.example/storefront/v1",
                     STOREFRONT_DESCRIPTION, paths, schemas)


def storefront_v2() -> dict:
    """2.0.0: money as amount + currency, stock per DC on its own resource, a ship-to on every order."""
    document = copy.deepcopy(storefront_v1())
    document["info"]["version"] = "2.0.0"
    document["servers"] = [{"url": "https://api.distributor.example/storefront/v2"}]
    schemas = document["components"]["schemas"]
    schemas["Money"] = {"type": "object", "required": ["amount", "currency"], "properties": {
        "amount": {"type": "string", "description": "Decimal amount, e.g. \"129.90\"."},
        "currency": {"type": "string", "description": "ISO 4217 code."}}}
    product = schemas["Product"]
    product["required"] = ["sku", "name", "price"]
    product["properties"]["price"] = _ref("Money")
    del product["properties"]["currency"], product["properties"]["available"]
    schemas["Availability"] = {"type": "object", "required": ["sku", "locations"], "properties": {
        "sku": {"type": "string"},
        "locations": {"type": "array", "items": {"type": "object", "required": ["location", "available"],
                                                  "properties": {"location": {"type": "string"},
                                                                 "available": {"type": "integer"},
                                                                 "next_receipt": {"type": "string",
                                                                                  "format": "date"}}}}}}
    schemas["Cart"]["properties"]["total"] = _ref("Money")
    schemas["Order"]["properties"]["total"] = _ref("Money")
    schemas["Order"]["properties"]["status"]["enum"].insert(3, "partially_shipped")
    schemas["OrderInput"]["required"] = ["cart_id", "ship_to"]
    schemas["OrderInput"]["properties"]["ship_to"] = {"type": "string", "description": "Ship-to site code."}
    document["paths"]["/products/{sku}/availability"] = {"get": _operation(
        "getAvailability", "Available to promise per distribution centre", "catalogue", "Stock per DC",
        _ref("Availability"), parameters=[_path_parameter("sku", "The item's SKU.")], errors=("404",))}
    return document


def storefront_v2_1() -> dict:
    """2.1.0: wish lists, and an in-stock filter on the catalogue (additions only)."""
    document = copy.deepcopy(storefront_v2())
    document["info"]["version"] = "2.1.0"
    document["paths"]["/products"]["get"]["parameters"].append(
        _query("in_stock", {"type": "boolean"}, "Only products available to promise now."))
    document["components"]["schemas"]["WishList"] = {"type": "object", "required": ["id", "skus"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "skus": {"type": "array", "items": {"type": "string"}}}}
    document["paths"]["/wish-lists"] = {"get": _operation(
        "listWishLists", "The signed-in buyer's wish lists", "catalogue", "Wish lists",
        {"type": "array", "items": _ref("WishList")})}
    return document


# --- Carrier tracking API (system layer: the carrier's tracking, in the distributor's terms) ----------

TRACKING_DESCRIPTION = (
    "Parcel and freight tracking from Keystone Parcel & Freight: status, scan events and proof of delivery per "
    "tracking number, for the web store's order page and the sales app. Owned by Logistics."
)


def tracking_v1() -> dict:
    tracking_number = _path_parameter("tracking_number", "The carrier's tracking number.")
    paths = {
        "/shipments/{tracking_number}": {"get": _operation(
            "getTracking", "Status and scan events of a shipment", "tracking", "The shipment's tracking",
            _ref("Tracking"), parameters=[tracking_number], errors=("404",))},
        "/shipments/{tracking_number}/proof-of-delivery": {"get": _operation(
            "getProofOfDelivery", "Who signed for it, and when", "tracking", "The proof of delivery",
            _ref("ProofOfDelivery"), parameters=[tracking_number], errors=("404",))},
    }
    schemas = {
        "Tracking": {"type": "object", "required": ["tracking_number", "status", "events"], "properties": {
            "tracking_number": {"type": "string"},
            "status": {"type": "string", "enum": ["label_created", "picked_up", "in_transit", "out_for_delivery",
                                                  "delivered", "exception"]},
            "events": {"type": "array", "items": _ref("ScanEvent")}}},
        "ScanEvent": {"type": "object", "required": ["code", "occurred_at"], "properties": {
            "code": {"type": "string"}, "occurred_at": {"type": "string", "format": "date-time"},
            "location": {"type": "string"}, "detail": {"type": "string"}}},
        "ProofOfDelivery": {"type": "object", "required": ["delivered_at", "signed_by"], "properties": {
            "delivered_at": {"type": "string", "format": "date-time"}, "signed_by": {"type": "string"},
            "image_url": {"type": "string", "format": "uri"}}},
    }
    return _document("Carrier tracking API", "1.0.0", "https://api.distributor.example/tracking/v1",
                     TRACKING_DESCRIPTION, paths, schemas)


def tracking_v1_1() -> dict:
    """1.1.0: the carrier's estimated delivery, and scan texts in the caller's language (additions only)."""
    document = copy.deepcopy(tracking_v1())
    document["info"]["version"] = "1.1.0"
    document["components"]["schemas"]["Tracking"]["properties"]["estimated_delivery"] = {
        "type": "string", "format": "date", "description": "The carrier's current estimate."}
    document["paths"]["/shipments/{tracking_number}"]["get"]["parameters"].append(
        _query("lang", {"type": "string", "enum": ["en", "es", "fr"]}, "Language of the scan texts."))
    return document
