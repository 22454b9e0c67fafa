"""Products, price lists and contract prices over the partner API."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from canonical.models import (
    BusinessEvent,
    ContractPrice,
    ExternalRef,
    PriceList,
    PriceListItem,
    Product,
)
from tests.factories import (
    ContractPriceFactory,
    CustomerFactory,
    CustomerGroupFactory,
    PriceListFactory,
    PriceListItemFactory,
    ProductFactory,
    SystemFactory,
    SystemOfRecordFactory,
)

pytestmark = pytest.mark.django_db

PRODUCT = {
    "sku": "PVC-100",
    "description": "PVC pipe 100 mm, 3 m",
    "unit_of_measure": "EA",
    "status": "active",
    "drop_ship": False,
    "weight_kg": "4.250",
}


@pytest.fixture
def erp(partner_client):
    """The ERP owns products and prices, as in most distributors."""
    client = partner_client("erp", "erp")
    SystemOfRecordFactory(domain="products", system=client.system)
    SystemOfRecordFactory(domain="prices", system=client.system)
    return client


def put(client, entity, external_id, body, system="erp"):
    return client.put(f"/api/v1/systems/{system}/{entity}/{external_id}", body, format="json")


def pointers(response) -> set[str]:
    assert response["Content-Type"] == "application/problem+json"
    return {e["pointer"] for e in response.json()["errors"]}


def page_queries(client, url, params) -> tuple[int, dict]:
    client.get(url, {**params, "page_size": 1})  # warm up: key last-used stamp, content types
    counts = []
    for size in (1, 50):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {**params, "page_size": size})
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    return counts[0], counts[1]


# --- products -------------------------------------------------------------------------------------


def test_owner_creates_product_with_ref_and_event(erp):
    response = put(erp, "products", "MAT-100", PRODUCT)
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["sku"], data["weight_kg"], data["drop_ship"]) == ("PVC-100", "4.250", False)
    assert data["external_refs"] == [{"system": "erp", "external_id": "MAT-100"}]
    event = BusinessEvent.objects.get(aggregate_type="product", aggregate_id=str(data["id"]))
    assert (event.event_type, event.sequence, event.source_system) == ("product.created", 1, erp.system)
    assert event.payload["product"]["sku"] == "PVC-100"
    assert event.correlation_id == response["X-Correlation-ID"]


def test_same_product_twice_emits_one_event_and_a_change_emits_update(erp):
    assert put(erp, "products", "MAT-100", PRODUCT).status_code == 201
    assert put(erp, "products", "MAT-100", PRODUCT).status_code == 200
    assert BusinessEvent.objects.count() == 1
    response = put(erp, "products", "MAT-100", {**PRODUCT, "status": "discontinued", "weight_kg": "4.5"})
    assert response.status_code == 200
    assert response.json()["status"] == "discontinued"
    event = BusinessEvent.objects.order_by("-id").first()
    assert (event.event_type, event.sequence) == ("product.updated", 2)
    assert event.payload["changed"] == ["status", "weight_kg"]


def test_unknown_external_id_with_known_sku_links_to_that_product(erp):
    existing = ProductFactory(sku="PVC-100", description="Old text")
    ExternalRef.objects.create(system=SystemFactory(code="wms", kind="wms"), entity_type="product",
                               external_id="W-9", object_id=existing.pk)
    response = put(erp, "products", "MAT-100", PRODUCT)
    assert response.status_code == 200
    assert response.json()["id"] == existing.pk
    assert {r["system"] for r in response.json()["external_refs"]} == {"erp", "wms"}
    assert Product.objects.count() == 1


def test_second_external_id_from_same_system_for_a_sku_is_refused(erp):
    put(erp, "products", "MAT-100", PRODUCT)
    response = put(erp, "products", "MAT-999", {**PRODUCT, "description": "changed"})
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("/natural-key-conflict")
    assert problem["existing_external_id"] == "MAT-100"
    assert Product.objects.get().description == PRODUCT["description"]
    assert not ExternalRef.objects.filter(external_id="MAT-999").exists()


def test_changing_sku_to_one_another_product_holds_is_refused(erp):
    other = ProductFactory(sku="TAKEN-1")
    put(erp, "products", "MAT-100", PRODUCT)
    response = put(erp, "products", "MAT-100", {**PRODUCT, "sku": "TAKEN-1"})
    assert response.status_code == 409
    assert f"{other.pk} already has it" in response.json()["detail"]
    assert set(Product.objects.values_list("sku", flat=True)) == {"PVC-100", "TAKEN-1"}


def test_product_write_from_non_owner_is_refused_naming_the_owner(partner_client, erp):
    pim = partner_client("pim", "ecommerce")
    response = put(pim, "products", "P1", PRODUCT, system="pim")
    assert response.status_code == 409
    assert response.json()["system_of_record"] == "erp"
    assert not Product.objects.exists() and not BusinessEvent.objects.exists()


def test_product_write_as_another_system_is_forbidden(partner_client, erp):
    shop = partner_client("shop", "ecommerce")
    response = put(shop, "products", "P1", PRODUCT, system="erp")
    assert response.status_code == 403
    assert "cannot write records of system 'erp'" in response.json()["detail"]
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"description": "no sku", "colour": "red"}, {"/sku", "/colour"}),
        ({**PRODUCT, "weight_kg": "heavy", "drop_ship": "perhaps", "status": "lost"},
         {"/weight_kg", "/drop_ship", "/status"}),
        ({**PRODUCT, "weight_kg": "-1"}, {"/weight_kg"}),
        ({**PRODUCT, "sku": ["PVC-100"], "description": {"en": "pipe"}}, {"/sku", "/description"}),
        ([PRODUCT], {"/"}),
    ],
    ids=["unknown-and-missing", "wrong-types", "negative-weight", "list-for-string", "array-body"],
)
def test_bad_product_bodies_are_400_naming_the_fields(erp, body, expected):
    response = put(erp, "products", "MAT-100", body)
    assert response.status_code == 400, response.content
    assert expected <= pointers(response)
    assert not Product.objects.exists() and not BusinessEvent.objects.exists()


def test_malformed_and_non_json_product_bodies(erp):
    url = "/api/v1/systems/erp/products/MAT-100"
    malformed = erp.generic("PUT", url, '{"sku": "A",', content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.json()["type"].endswith("/malformed-json")
    form = erp.generic("PUT", url, "sku=A", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert not Product.objects.exists()


def test_product_by_external_id_and_unknown_ids(erp):
    put(erp, "products", "MAT-100", PRODUCT)
    assert erp.get("/api/v1/systems/erp/products/MAT-100").json()["sku"] == "PVC-100"
    missing = erp.get("/api/v1/systems/erp/products/NOPE")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/unknown-reference")
    assert erp.get("/api/v1/systems/nosuch/products/MAT-100").status_code == 404
    assert erp.get("/api/v1/products/999999").status_code == 404


def test_product_list_filters(erp):
    pipe = ProductFactory(sku="PIPE-1", description="Copper pipe", drop_ship=True)
    ProductFactory(sku="VALVE-1", description="Brass valve with pipe thread")
    ProductFactory(sku="OLD-1", description="Retired", status="discontinued")
    ExternalRef.objects.create(system=erp.system, entity_type="product", external_id="M1", object_id=pipe.pk)

    def skus(**params):
        response = erp.get("/api/v1/products", params)
        assert response.status_code == 200, response.content
        return {p["sku"] for p in response.json()["results"]}

    assert skus(q="pipe") == {"PIPE-1", "VALVE-1"}
    assert skus(q="valve") == {"VALVE-1"}
    assert skus(status="discontinued") == {"OLD-1"}
    assert skus(drop_ship="true") == {"PIPE-1"}
    assert skus(sku="OLD-1") == {"OLD-1"}
    assert skus(external_system="erp") == {"PIPE-1"}
    Product.objects.filter(sku="PIPE-1").update(updated_at=timezone.now() - timedelta(days=3))
    Product.objects.exclude(sku="PIPE-1").update(updated_at=timezone.now() - timedelta(days=10))
    since = (timezone.now() - timedelta(days=5)).isoformat()
    assert skus(updated_since=since) == {"PIPE-1"}
    assert erp.get("/api/v1/products", {"status": "lost"}).status_code == 400
    assert erp.get("/api/v1/products", {"updated_since": "yesterday"}).status_code == 400


def test_product_list_queries_do_not_grow_with_page_size(erp):
    for product in ProductFactory.create_batch(50):
        ExternalRef.objects.create(system=erp.system, entity_type="product", external_id=f"M-{product.pk}",
                                   object_id=product.pk)
    one, fifty = page_queries(erp, "/api/v1/products", {})
    assert one == fifty


def test_products_readable_by_supplier_not_by_carrier(partner_client):
    ProductFactory()
    assert partner_client("acme-supply", "supplier").get("/api/v1/products").status_code == 200
    carrier = partner_client("ups", "carrier").get("/api/v1/products")
    assert carrier.status_code == 403
    assert "may not read products" in carrier.json()["detail"]


# --- price lists ---------------------------------------------------------------------------------


@pytest.fixture
def catalogue():
    return {sku: ProductFactory(sku=sku) for sku in ("PVC-100", "PVC-150", "VALVE-20")}


def price_list_body(**overrides):
    body = {
        "code": "trade-usd",
        "name": "Trade prices USD",
        "currency": "USD",
        "valid_from": "2025-01-01",
        "items": [
            {"sku": "PVC-100", "min_quantity": "0", "unit_price": "12.50"},
            {"sku": "PVC-100", "min_quantity": "100", "unit_price": "11.00"},
            {"sku": "VALVE-20", "unit_price": "30.00"},
        ],
    }
    body.update(overrides)
    return body


def test_price_list_created_with_quantity_breaks_and_event(erp, catalogue):
    response = put(erp, "price-lists", "PL-1", price_list_body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert [(i["sku"], i["min_quantity"], i["unit_price"]) for i in data["items"]] == [
        ("PVC-100", "0.000", "12.50"), ("PVC-100", "100.000", "11.00"), ("VALVE-20", "0.000", "30.00"),
    ]
    event = BusinessEvent.objects.get(aggregate_type="price_list")
    assert event.event_type == "price_list.updated"
    assert event.payload["created"] is True
    assert len(event.payload["price_list"]["items"]) == 3


def test_price_list_items_replaced_only_when_they_differ(erp, catalogue):
    put(erp, "price-lists", "PL-1", price_list_body())
    same_breaks_other_order = price_list_body(items=list(reversed(price_list_body()["items"])))
    assert put(erp, "price-lists", "PL-1", same_breaks_other_order).status_code == 200
    assert BusinessEvent.objects.count() == 1
    without_items = {k: v for k, v in price_list_body().items() if k != "items"}
    assert put(erp, "price-lists", "PL-1", without_items).status_code == 200
    assert PriceListItem.objects.count() == 3 and BusinessEvent.objects.count() == 1

    cheaper = price_list_body(items=[{"sku": "PVC-150", "min_quantity": "10", "unit_price": "9.99"}])
    response = put(erp, "price-lists", "PL-1", cheaper)
    assert response.status_code == 200
    assert [(i["sku"], i["unit_price"]) for i in response.json()["items"]] == [("PVC-150", "9.99")]
    event = BusinessEvent.objects.order_by("-id").first()
    assert (event.sequence, event.payload["changed"], event.payload["created"]) == (2, ["items"], False)


def test_duplicate_quantity_break_is_400_naming_both_items(erp, catalogue):
    body = price_list_body()
    body["items"].append({"sku": "PVC-100", "min_quantity": "100.0", "unit_price": "10.00"})
    response = put(erp, "price-lists", "PL-1", body)
    assert response.status_code == 400
    assert pointers(response) == {"/items/3/min_quantity"}
    assert "already given at /items/1" in response.json()["detail"]
    assert not PriceList.objects.exists() and not BusinessEvent.objects.exists()


def test_unknown_sku_in_price_list_names_the_item(erp, catalogue):
    body = price_list_body()
    body["items"].append({"sku": "NO-SUCH", "unit_price": "1.00"})
    response = put(erp, "price-lists", "PL-1", body)
    assert response.status_code == 400
    assert pointers(response) == {"/items/3/sku"}
    assert "No product with SKU 'NO-SUCH'" in response.json()["detail"]
    assert not PriceList.objects.exists()


def test_negative_prices_and_quantities_and_bad_dates_are_refused(erp, catalogue):
    body = price_list_body(valid_to="2024-12-31")
    body["items"][0]["unit_price"] = "-1.00"
    body["items"][1]["min_quantity"] = "-5"
    body["items"][2]["colour"] = "red"
    response = put(erp, "price-lists", "PL-1", body)
    assert response.status_code == 400
    assert pointers(response) == {"/items/0/unit_price", "/items/1/min_quantity", "/items/2/colour"}
    dates = put(erp, "price-lists", "PL-1", price_list_body(valid_to="2024-12-31"))
    assert pointers(dates) == {"/valid_to"}
    assert not PriceList.objects.exists() and not PriceListItem.objects.exists()


def test_price_list_write_from_products_only_owner_is_409(partner_client, catalogue):
    pim = partner_client("pim", "erp")
    SystemOfRecordFactory(domain="products", system=pim.system)
    SystemOfRecordFactory(domain="prices", system=SystemFactory(code="erp"))
    response = put(pim, "price-lists", "PL-1", price_list_body(), system="pim")
    assert response.status_code == 409
    assert response.json()["system_of_record"] == "erp"
    assert not PriceList.objects.exists()


def test_price_list_filters_and_queries_per_page(erp, catalogue):
    products = ProductFactory.create_batch(3)
    for n in range(50):
        price_list = PriceListFactory(code=f"list-{n}", valid_to=date(2030, 1, 1) if n else date(2020, 1, 1))
        for product in products:
            PriceListItemFactory(price_list=price_list, product=product)
    PriceListItemFactory(price_list=PriceList.objects.get(code="list-7"), product=catalogue["VALVE-20"])
    one, fifty = page_queries(erp, "/api/v1/price-lists", {})
    assert one == fifty
    by_sku = erp.get("/api/v1/price-lists", {"sku": "VALVE-20"}).json()["results"]
    assert [p["code"] for p in by_sku] == ["list-7"]
    valid = erp.get("/api/v1/price-lists", {"valid_on": "2025-06-01", "page_size": 200}).json()["results"]
    assert len(valid) == 49 and "list-0" not in {p["code"] for p in valid}


# --- contract prices ------------------------------------------------------------------------------


@pytest.fixture
def account(erp):
    customer = CustomerFactory(account_number="A-1")
    ExternalRef.objects.create(system=erp.system, entity_type="customer", external_id="KUNNR-1",
                               object_id=customer.pk)
    return customer


def contract_body(**overrides):
    body = {
        "customer": "KUNNR-1",
        "sku": "PVC-100",
        "contract_reference": "K-2025-7",
        "min_quantity": "50",
        "unit_price": "10.25",
        "valid_from": "2025-01-01",
        "valid_to": "2025-12-31",
    }
    body.update(overrides)
    return body


def test_contract_price_for_customer_by_its_erp_id(erp, account, catalogue):
    response = put(erp, "contract-prices", "CP-1", contract_body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["customer"], data["customer_group"], data["sku"]) == (account.pk, None, "PVC-100")
    event = BusinessEvent.objects.get(aggregate_type="contract_price")
    assert (event.event_type, event.payload["created"]) == ("contract_price.updated", True)
    assert put(erp, "contract-prices", "CP-1", contract_body()).status_code == 200
    assert BusinessEvent.objects.count() == 1


def test_contract_price_moved_from_customer_to_group(erp, account, catalogue):
    CustomerGroupFactory(code="plumbers")
    put(erp, "contract-prices", "CP-1", contract_body())
    response = put(erp, "contract-prices", "CP-1", contract_body(customer=None, customer_group="plumbers"))
    assert response.status_code == 200, response.content
    price = ContractPrice.objects.get()
    assert (price.customer_id, price.customer_group.code) == (None, "plumbers")
    event = BusinessEvent.objects.order_by("-id").first()
    assert event.payload["changed"] == ["customer", "customer_group"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"customer_group": "plumbers"}, {"/"}),
        ({"customer": None}, {"/"}),
        ({"customer": "NOPE"}, {"/customer"}),
        ({"customer": True}, {"/customer"}),
        ({"customer": {"system": "nosuch", "external_id": "X"}}, {"/customer"}),
        ({"customer": None, "customer_group": "nosuch"}, {"/customer_group"}),
        ({"sku": "NO-SUCH"}, {"/sku"}),
        ({"valid_to": "2024-01-01"}, {"/valid_to"}),
        ({"unit_price": "-0.01", "min_quantity": "-1"}, {"/unit_price", "/min_quantity"}),
        ({"valid_from": "01/02/2025", "currency": "usd"}, {"/valid_from", "/currency"}),
        ({"valid_from": None}, {"/valid_from"}),
        ({"sku": "PVC\x00100", "customer": None, "customer_group": "plumb\x00ers"}, {"/sku", "/customer_group"}),
    ],
    ids=["both", "neither", "unknown-customer", "customer-not-a-ref", "unknown-system", "unknown-group", "unknown-sku", "dates",
         "negative", "formats", "missing-valid-from", "nul-characters"],
)
def test_bad_contract_prices_are_400_and_change_nothing(erp, account, catalogue, overrides, expected):
    CustomerGroupFactory(code="plumbers")
    response = put(erp, "contract-prices", "CP-1", contract_body(**overrides))
    assert response.status_code == 400, response.content
    assert pointers(response) == expected
    assert not ContractPrice.objects.exists() and not BusinessEvent.objects.exists()


def test_unknown_customer_error_names_the_system_and_id(erp, account, catalogue):
    response = put(erp, "contract-prices", "CP-1", contract_body(customer="NOPE"))
    assert "System 'erp' has no customer with external id 'NOPE'" in response.json()["detail"]


def test_contract_price_filters(erp, account, catalogue):
    group = CustomerGroupFactory(code="plumbers")
    current = ContractPriceFactory(customer=account, product=catalogue["PVC-100"],
                                   valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31))
    expired = ContractPriceFactory(customer=account, product=catalogue["PVC-150"],
                                   valid_from=date(2024, 1, 1), valid_to=date(2024, 12, 31))
    for_group = ContractPriceFactory(customer=None, customer_group=group, product=catalogue["PVC-100"],
                                     valid_from=date(2025, 3, 1))

    def ids(**params):
        response = erp.get("/api/v1/contract-prices", params)
        assert response.status_code == 200, response.content
        return {p["id"] for p in response.json()["results"]}

    assert ids(customer=account.pk) == {current.pk, expired.pk}
    assert ids(customer_group="plumbers") == {for_group.pk}
    assert ids(sku="PVC-100") == {current.pk, for_group.pk}
    assert ids(valid_on="2025-02-01") == {current.pk}
    assert ids(valid_on="2026-01-01") == {for_group.pk}
    assert ids(customer=account.pk, valid_on="2024-06-30") == {expired.pk}
    assert erp.get("/api/v1/contract-prices", {"valid_on": "soon"}).status_code == 400
    assert erp.get("/api/v1/contract-prices", {"customer": "9" * 25}).status_code == 400


def test_prices_are_not_for_the_warehouse(partner_client):
    wms = partner_client("wms", "wms").get("/api/v1/contract-prices")
    assert wms.status_code == 403
    assert "may not read prices" in wms.json()["detail"]


def test_customer_groups_are_listed(erp):
    CustomerGroupFactory(code="plumbers", name="Plumbing contractors")
    CustomerGroupFactory(code="hvac")
    response = erp.get("/api/v1/customer-groups", {"code": "plumbers"})
    assert response.status_code == 200
    assert [(g["code"], g["name"]) for g in response.json()["results"]] == [("plumbers", "Plumbing contractors")]
    assert erp.put("/api/v1/customer-groups/1", {}, format="json").status_code == 405
