"""The worked examples in connectors/mapping/fixtures/: each input maps to exactly its expected output,
and the inbound outputs are valid messages of the hub's contracts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from canonical.api.serializers.orders import OrderUpsertInput
from connectors.inbound.registry import message_type_get, schema_errors
from connectors.mapping import MappingError, apply_mapping
from tests.factories import CustomerFactory, ExternalRefFactory, ProductFactory, SystemFactory

FIXTURES = Path(__file__).resolve().parents[2] / "connectors" / "mapping" / "fixtures"

EXAMPLES = [
    ("salesforce/account", "salesforce/account_inbound"),
    ("salesforce/order", "salesforce/order_inbound"),
    ("salesforce/customer_event", "salesforce/account_outbound"),
    ("salesforce/order_status_event", "salesforce/order_outbound"),
    ("erp/order_status", "erp/order_status_inbound"),
    ("erp/order_status", "erp/order_ack_inbound"),
    ("erp/order_created_event", "erp/order_outbound"),
]


def load(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def run(source: str, mapping: str) -> dict:
    return apply_mapping(load(f"{mapping}.mapping"), load(source))


def test_every_fixture_mapping_is_exercised():
    mappings = {str(p.relative_to(FIXTURES)).removesuffix(".mapping.json") for p in FIXTURES.glob("*/*.mapping.json")}
    assert mappings == {mapping for _, mapping in EXAMPLES}


@pytest.mark.parametrize(("source", "mapping"), EXAMPLES, ids=[m for _, m in EXAMPLES])
def test_fixture_maps_to_exactly_the_expected_output(source, mapping):
    assert run(source, mapping) == load(f"{mapping}.expected")


def test_salesforce_account_values_are_cleaned_and_coded():
    customer = run("salesforce/account", "salesforce/account_inbound")["customer"]
    assert customer["name"] == "Acme Plumbing Inc."  # stripped
    assert customer["currency"] == "USD"  # upper-cased from "usd"
    assert [(a["kind"], a["country"]) for a in customer["addresses"]] == [("billing", "US"), ("shipping", "US")]
    assert "Industry" not in json.dumps(customer)  # unmapped fields do not leak through


def test_salesforce_account_without_shipping_address_or_phone_maps_billing_only():
    account = load("salesforce/account")
    for key in [k for k in account if k.startswith("Shipping")] + ["Phone"]:
        account[key] = None
    customer = apply_mapping(load("salesforce/account_inbound.mapping"), account)["customer"]
    assert [a["kind"] for a in customer["addresses"]] == ["billing"]
    assert "contacts" not in customer


def test_salesforce_account_errors_name_each_salesforce_field():
    account = load("salesforce/account")
    account["Name"] = None
    del account["AccountNumber"]
    account["Type"] = "Competitor"
    account["BillingCountry"] = "Atlantis"
    with pytest.raises(MappingError) as caught:
        apply_mapping(load("salesforce/account_inbound.mapping"), account)
    assert [(e.pointer, e.reason) for e in caught.value.errors] == [
        ("/AccountNumber", "missing required field"),
        ("/Name", "required field is null"),
        ("/Type", "value 'Competitor' not in value map (allowed: 'Customer - Direct', 'Customer - Channel', "
                  "'Channel Partner / Reseller', 'Prospect', 'Other')"),
        ("/BillingCountry", "value 'Atlantis' not in value map (allowed: 'United States', 'USA', 'US', 'Canada', "
                            "'CA', 'Mexico', 'MX')"),
    ]


def test_salesforce_order_item_errors_point_into_the_records_array():
    order = load("salesforce/order")
    order["OrderItems"]["records"][1]["Quantity"] = "lots"
    del order["OrderItems"]["records"][0]["Product2"]
    with pytest.raises(MappingError) as caught:
        apply_mapping(load("salesforce/order_inbound.mapping"), order)
    assert {(e.pointer, e.target) for e in caught.value.errors} == {
        ("/OrderItems/records/0/Product2/ProductCode", "/order/lines/0/sku"),
        ("/OrderItems/records/1/Quantity", "/order/lines/1/quantity_ordered"),
    }


@pytest.mark.parametrize(
    ("mapping", "message_type"),
    [("salesforce/account_inbound", "customer.upsert"), ("erp/order_status_inbound", "order.status"),
     ("erp/order_ack_inbound", "order.acknowledgement")],
)
def test_inbound_outputs_are_valid_hub_messages(mapping, message_type):
    output = load(f"{mapping}.expected")
    assert schema_errors(message_type_get(message_type).validator, output) == []


@pytest.mark.parametrize(("code", "status"), [("OPEN", "submitted_to_erp"), ("rel", "in_fulfilment"),
                                               (" SHP ", "shipped"), ("INV", "invoiced"), ("CLS", "closed")])
def test_erp_status_codes_map_to_canonical_statuses(code, status):
    message = load("erp/order_status")
    message["header"]["status"] = code
    assert apply_mapping(load("erp/order_status_inbound.mapping"), message)["status"] == status


def test_unknown_erp_status_code_is_refused_naming_the_field():
    message = load("erp/order_status")
    message["header"]["status"] = "XX"
    with pytest.raises(MappingError) as caught:
        apply_mapping(load("erp/order_status_inbound.mapping"), message)
    assert str(caught.value).startswith("Mapping failed: /header/status: value 'XX' not in value map")


@pytest.mark.django_db
def test_salesforce_order_output_is_accepted_by_the_canonical_order_input():
    crm = SystemFactory(code="crm", kind="crm")
    customer = CustomerFactory()
    ExternalRefFactory(system=crm, entity_type="customer", external_id="0015g00000XyZ1AAA", object_id=customer.pk)
    ProductFactory(sku="SKU-00001")
    ProductFactory(sku="SKU-00002")
    serializer = OrderUpsertInput(data=run("salesforce/order", "salesforce/order_inbound")["order"],
                                  context={"system": SystemFactory(code="erp")})
    assert serializer.is_valid(), serializer.errors
    lines = serializer.validated_data["lines"]
    assert serializer.validated_data["customer"] == customer
    assert [(line["sku"].sku, line["quantity_ordered"], line["unit_price"]) for line in lines] == [
        ("SKU-00001", Decimal("10"), Decimal("12.50")), ("SKU-00002", Decimal("5"), Decimal("233.10")),
    ]
