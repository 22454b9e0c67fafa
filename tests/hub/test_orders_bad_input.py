"""Every refusal of POST /api/v1/orders is a problem detail naming what was wrong; nothing is a 500."""

from __future__ import annotations

import json

import pytest

from canonical.models import Customer, Order
from hub.models import IdempotencyRecord
from tests.hub.ordering_support import new_key

pytestmark = pytest.mark.django_db


def body(**overrides):
    data = {"customer": "CRM-100", "ship_to": "CRM-100-1", "lines": [{"sku": "WID-1", "quantity": "1"}]}
    data.update(overrides)
    return data


def post(client, data, **headers):
    headers.setdefault("HTTP_IDEMPOTENCY_KEY", new_key())
    if isinstance(data, str | bytes):
        return client.generic("POST", "/api/v1/orders", data, content_type="application/json", **headers)
    return client.post("/api/v1/orders", data, format="json", **headers)


def assert_problem(response, status, *, slug=None, pointer=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    if slug:
        assert problem["type"].endswith(f"/{slug}"), problem
    if pointer:
        assert pointer in [e["pointer"] for e in problem.get("errors", [])], problem
    return problem


def test_no_idempotency_key_is_a_400_and_places_nothing(crm, shop):
    response = crm.post("/api/v1/orders", body(), format="json")
    assert_problem(response, 400, slug="idempotency-key-missing", pointer="header:Idempotency-Key")
    assert not Order.objects.exists() and not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "   ", '""', "x" * 256, "clé-é", "a\"b", "a\\b", "tab\there"])
def test_a_key_that_is_not_a_valid_string_is_a_400(crm, shop, key):
    response = post(crm, body(), HTTP_IDEMPOTENCY_KEY=key)
    slug = "idempotency-key-missing" if not key.strip() else "idempotency-key-invalid"
    assert_problem(response, 400, slug=slug)
    assert not Order.objects.exists()


def test_malformed_json_is_a_400_that_does_not_use_up_the_key(crm, shop):
    key = new_key()
    assert_problem(post(crm, '{"customer": ', HTTP_IDEMPOTENCY_KEY=key), 400, slug="malformed-json")
    assert post(crm, body(), HTTP_IDEMPOTENCY_KEY=key).status_code == 201


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        (body(customer="CRM-404"), "/customer"),
        (body(customer=999999), "/customer"),
        (body(customer={"system": "nope", "external_id": "1"}), "/customer"),
        (body(customer={"external_id": "CRM-100", "colour": 1}), "/customer"),
        (body(customer=True), "/customer"),
        (body(ship_to="CRM-404"), "/ship_to"),
        (body(lines=[]), "/lines"),
        (body(lines={"sku": "WID-1"}), "/lines"),
        (body(lines=[{"sku": "WID-1", "quantity": "1"}] * 201), "/lines"),
        (body(lines=[{"sku": "WID-1", "quantity": "0"}]), "/lines/0/quantity"),
        (body(lines=[{"sku": "WID-1", "quantity": "-2"}]), "/lines/0/quantity"),
        (body(lines=[{"sku": "WID-1", "quantity": "1.0001"}]), "/lines/0/quantity"),
        (body(lines=[{"sku": "WID-1", "quantity": "NaN"}]), "/lines/0/quantity"),
        (body(lines=[{"sku": "WID-1", "quantity": "1e400"}]), "/lines/0/quantity"),
        (body(lines=[{"sku": "WID-1"}]), "/lines/0/quantity"),
        (body(lines=[{"quantity": "1"}]), "/lines/0/sku"),
        (body(lines=[{"sku": "W\u0000", "quantity": "1"}]), "/lines/0/sku"),
        (body(lines=[{"sku": "WID-1", "quantity": "1", "unit_price": "-1"}]), "/lines/0/unit_price"),
        (body(lines=[{"sku": "WID-1", "quantity": "1", "requested_date": "2030-02-30"}]), "/lines/0/requested_date"),
        (body(lines=[{"sku": "WID-1", "quantity": "1", "discount": "5"}]), "/lines/0/discount"),
        (body(requested_date="tomorrow"), "/requested_date"),
        (body(customer_po="P" * 61), "/customer_po"),
        (body(external_id="x" * 201), "/external_id"),
        (body(priority="rush"), "/priority"),
        (body(**{"a\u0000": 1}), None),
    ],
)
def test_a_malformed_body_is_a_400_naming_the_field(crm, shop, data, pointer):
    response = post(crm, data)
    problem = assert_problem(response, 400, slug="validation-error", pointer=pointer)
    assert problem["errors"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("data", ["[]", '"order"', "42", "null"])
def test_a_body_that_is_not_an_object_is_a_400(crm, shop, data):
    assert_problem(post(crm, data), 400)


def _refusal(crm, data, pointer):
    problem = assert_problem(post(crm, data), 422, slug="order-refused", pointer=pointer)
    assert not Order.objects.exists()
    return problem


def test_an_inactive_customer_is_refused(crm, shop):
    Customer.objects.filter(pk=shop.customer.pk).update(status="inactive")
    _refusal(crm, body(), "/customer")


def test_a_customer_that_is_not_a_sold_to_is_refused(crm, shop):
    _refusal(crm, body(customer="CRM-100-1"), "/customer")


def test_a_ship_to_outside_the_customers_hierarchy_is_refused(crm, shop):
    problem = _refusal(crm, body(ship_to=shop.other.pk), "/ship_to")
    assert "not in the hierarchy" in problem["detail"]


def test_a_ship_to_that_is_not_a_ship_to_account_is_refused(crm, shop):
    _refusal(crm, body(ship_to=shop.payables.pk), "/ship_to")


def test_a_customer_with_several_sites_must_name_the_ship_to(crm, shop):
    Customer.objects.create(account_number="C-100-2", name="Second yard", parent=shop.customer, is_sold_to=False,
                            is_bill_to=False)
    data = body()
    data.pop("ship_to")
    _refusal(crm, data, "/ship_to")


def test_unknown_inactive_and_unpriced_skus_and_a_stale_price_are_all_named_at_once(crm, shop):
    problem = _refusal(crm, body(lines=[
        {"sku": "WID-1", "quantity": "1"},
        {"sku": "NOPE-1", "quantity": "1"},
        {"sku": "OLD-1", "quantity": "1"},
        {"sku": "NOPRICE-1", "quantity": "1"},
        {"sku": "GAD-1", "quantity": "1", "unit_price": "20.00"},
    ]), None)
    assert [e["pointer"] for e in problem["errors"]] == [
        "/lines/1/sku", "/lines/2/sku", "/lines/3/sku", "/lines/4/unit_price"]
    assert "15.00" in problem["errors"][3]["messages"][0]  # the contract price the customer gets


def test_a_supplier_cannot_place_orders(partner_client, shop):
    supplier = partner_client("acme-supply", "supplier")
    problem = assert_problem(post(supplier, body()), 403, slug="access-denied")
    assert problem["detail"].startswith("Placing orders is for the systems that sell (CRM, ecommerce, ERP); "
                                        "system 'acme-supply'")


def test_without_a_key_nobody_gets_in(client, shop):
    response = client.post("/api/v1/orders", json.dumps(body()), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY=new_key())
    assert response.status_code == 401


@pytest.mark.parametrize(("reference", "pointer", "says"), [
    ('"CRM-\\ud800"', "/customer", "surrogate"),
    ('{"system": "crm", "external_id": "\\ud800"}', "/customer/external_id", "surrogate"),
    ('{"system": "\\udfff", "external_id": "CRM-100"}', "/customer/system", "surrogate"),
    ('"CRM-\\u0000"', "/customer", "NUL"),
])
def test_a_string_no_database_can_hold_is_refused_by_its_pointer(crm, reference, pointer, says):
    # JSON lets a partner send a NUL or a lone surrogate; neither database can store or compare one.
    raw = '{"customer": REF, "lines": [{"sku": "WID-1", "quantity": "1"}]}'.replace("REF", reference)
    problem = assert_problem(post(crm, raw), 400, pointer=pointer)
    assert says in json.dumps(problem)
    assert not Order.objects.exists() and not IdempotencyRecord.objects.exists()


def test_the_plain_validation_of_an_order_body_answers_what_the_serializer_answers(shop):
    """plain_validated (canonical.api.fields) stands in for OrderSubmitInput on plainly valid bodies only.

    For each body: either it declines (None) or it gives exactly the serializer's validated data;
    and it never accepts a body the serializer refuses.
    """
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    from canonical.api.fields import plain_validated
    from hub.api.orders import OrderSubmitInput

    context = {"system": shop.crm}
    text = st.sampled_from(["WID-1", "GAD-1", " WID-1 ", "", "   ", "x" * 61, "NUL\x00", "PO-7", "\ud800"])
    number = st.sampled_from(["1", "2.5", " 3 ", "0", "-1", "0.0001", "1e3", "NaN", "Infinity", "12345678901234",
                              "abc", "", 4, 2.25, True, None, "1.005"])
    day = st.sampled_from(["2030-01-02", "2030-13-01", "", None, 20300102, "2030-01-02T10:00:00"])
    reference = st.sampled_from([shop.customer.pk, shop.site.pk, "CRM-100", "CRM-100-1", "NOPE", 0, -3, 2**70,
                                 True, None, "", {"system": "crm", "external_id": "CRM-100"},
                                 {"id": shop.customer.pk}, {"id": shop.customer.pk, "x": 1}, [1], 1.5])
    line = st.dictionaries(st.sampled_from(["sku", "quantity", "unit_price", "requested_date", "colour"]),
                           st.one_of(text, number, day), max_size=5)
    lines = st.one_of(st.lists(line, max_size=3), st.just("not a list"), st.just([]), st.none())
    body_strategy = st.dictionaries(
        st.sampled_from(["customer", "ship_to", "lines", "requested_date", "customer_po", "external_id", "extra"]),
        st.one_of(reference, lines, day, text, number), max_size=7,
    ) | st.fixed_dictionaries(  # mostly plain bodies, now and then one value off
        {"customer": st.sampled_from([shop.customer.pk, "CRM-100", {"system": "crm", "external_id": "CRM-100"}])
         | reference,
         "lines": st.lists(st.fixed_dictionaries(
             {"sku": st.sampled_from(["WID-1", "GAD-1", " GAD-1"]) | text,
              "quantity": st.sampled_from(["1", "2.5", 7, "0.125"]) | number},
             optional={"unit_price": st.sampled_from(["10.00", "9.5", None]) | number,
                       "requested_date": st.sampled_from(["2030-01-02", None]) | day}),
             min_size=1, max_size=3)},
        optional={"ship_to": st.sampled_from([shop.site.pk, "CRM-100-1", None]) | reference,
                  "customer_po": st.sampled_from(["PO-7", "", " PO 8 "]) | text,
                  "external_id": st.sampled_from(["SHOP-1", " SHOP-2 "]) | text,
                  "requested_date": st.sampled_from(["2030-01-02", None]) | day},
    )
    seen = {"plain": 0, "declined": 0}

    plain_line = {"sku": "WID-1", "quantity": "1"}

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(body_strategy)
    @example({"customer": shop.customer.pk, "lines": []})
    @example({"customer": shop.customer.pk, "lines": [plain_line] * 201})
    @example({"customer": shop.customer.pk, "lines": [{**plain_line, "colour": "red"}]})
    @example({"customer": shop.customer.pk, "lines": [{"sku": "WID-1"}]})
    @example({"lines": [plain_line]})
    @example({"customer": shop.customer.pk, "ship_to": None, "lines": [plain_line], "external_id": "A\x00"})
    def check(data):
        serializer = OrderSubmitInput(data=data, context=context)
        valid = serializer.is_valid()
        plain = plain_validated(OrderSubmitInput, data, context)
        if plain is None:
            seen["declined"] += 1
            return
        seen["plain"] += 1
        assert valid, (data, serializer.errors)
        assert plain == serializer.validated_data

    check()
    assert seen["plain"] >= 40 and seen["declined"] >= 40, seen


def test_a_line_worth_more_than_the_hub_can_hold_is_refused_naming_its_quantity(crm, shop):
    # Within the quantity's own limit (14 digits), but 400.00 each: 40 trillion, past any money field.
    problem = _refusal(crm, body(lines=[{"sku": "WID-1", "quantity": "1"},
                                        {"sku": "CRATE-1", "quantity": "99999999999.999"}]), "/lines/1/quantity")
    assert problem["errors"][0]["messages"][0] == (
        "The line's amount (99999999999.999 × 400.00 USD), 39,999,999,999,999.60, is more than the hub can hold "
        "(at most 999,999,999,999.99).")


def test_an_order_whose_total_the_hub_cannot_hold_is_refused_naming_the_lines(crm, shop):
    # Each line fits; together they do not.
    line = {"sku": "WID-1", "quantity": "99999999999"}
    problem = _refusal(crm, body(lines=[line, line]), "/lines")
    assert "The order's total, 1,599,999,999,984.00, is more than the hub can hold" in problem["detail"]
    assert problem["errors"][0]["messages"][0].endswith("Split it into several orders.")
