"""Edge cases the schema fuzzer found: each must be a clear 4xx problem, never a 500, on both databases."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest

from canonical.json_depth import MAX_JSON_DEPTH, TOO_DEEP, JSONTooDeep, json_depth_check
from canonical.models import Customer
from tests.factories import SystemOfRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(partner_client):
    client = partner_client("crm")
    SystemOfRecordFactory(domain="customers", system=client.system)
    return client


@pytest.mark.parametrize("url", [
    "/api/v1/orders?customer=9223372036854775808",
    "/api/v1/invoices?order=9223372036854775808",
    "/api/v1/returns?order=99999999999999999999",
    "/api/v1/credit-memos?rma=9223372036854775808",
    "/api/v1/shipments?customer=-1",
])
def test_an_id_filter_out_of_range_is_a_400_naming_the_parameter(crm, url):
    response = crm.get(url)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    parameter = url.split("?")[1].split("=")[0]
    assert response.json()["errors"][0]["field"] == parameter


@pytest.mark.parametrize("url", [
    "/api/v1/inventory?reported_before=0381-02-06T13%3A05%3A27.9-19%3A29",
    "/api/v1/products?updated_since=0120-11-07T15%3A07%3A01-21%3A43",
])
def test_a_time_with_an_offset_postgresql_cannot_hold_is_compared_in_utc(crm, url):
    assert crm.get(url).status_code == 200


def test_a_time_without_a_utc_year_is_a_400(crm):
    response = crm.get("/api/v1/orders?updated_since=0001-01-01T00%3A00%3A00%2B05%3A00")
    assert response.status_code == 400
    assert "outside the range" in response.json()["detail"]


@pytest.mark.parametrize(("body", "pointer"), [
    ('{"name": "Acme", "credit_limit": 1e999}', "/credit_limit"),
    ('{"name": "Acme", "addresses": [{"line1": "1 Main St", "latitude": -1E400}]}', "/addresses/0/latitude"),
])
def test_a_number_read_as_infinity_is_a_400_naming_where(crm, body, pointer):
    """Python reads 1e999 as infinity, which no field and no database column takes."""
    response = crm.generic("PUT", "/api/v1/systems/crm/customers/CRM-1", body, content_type="application/json")
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert error["pointer"] == pointer and "too large for any numeric field" in error["messages"][0]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_malformed_json(crm, constant):
    response = crm.generic("PUT", "/api/v1/systems/crm/customers/CRM-1", '{"name": "Acme", "credit_limit": '
                           + constant + "}", content_type="application/json")
    assert response.status_code == 400, response.content
    assert constant.lstrip("-") in response.json()["detail"]


@pytest.mark.parametrize(("body", "pointer"), [
    ({"name": "Acme", "group": "cont\x00ractors"}, "/group"),
    ({"name": "Acme", "addresses": [{"line1": "1 Main St"}, {"city": "Spring\x00field"}]}, "/addresses/1/city"),
    ({"name": "Acme", "tax\x00id": "x"}, "/tax\\u0000id"),
])
def test_a_nul_character_anywhere_in_a_body_is_a_400_naming_where(crm, body, pointer):
    response = crm.put("/api/v1/systems/crm/customers/CRM-1", body, format="json")
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert error["pointer"] == pointer and "NUL" in error["messages"][0]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("segment", ["abc", "null,null", "1" * 30])
def test_an_inbound_message_id_that_is_not_a_number_is_not_found(crm, segment):
    response = crm.get(f"/api/v1/inbound/messages/{segment}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/v1/pricing/quote", "/api/v1/orders"])
@pytest.mark.parametrize("depth", [65, 5000])
def test_a_body_nested_too_deeply_is_a_400_not_a_500(crm, path, depth):
    # 5000 levels is past what Python's decoder can recurse: that was a 500.
    body = '{"customer": 1, "lines": ' + "[" * depth + "]" * depth + "}"
    response = crm.post(path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY='"deep-1"')
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["type"].endswith("/malformed-json") and problem["detail"] == TOO_DEEP


def test_the_depth_check_takes_sixty_four_levels_and_no_more():
    json_depth_check(json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH))
    json_depth_check({"a": [{"b": 1}] * 3, "c": "x"})
    with pytest.raises(JSONTooDeep):
        json_depth_check(json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)))
    with pytest.raises(JSONTooDeep):
        json_depth_check({"a": 1, "b": json.loads('{"c": ' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH)})


@pytest.mark.parametrize("position", ["2026", "2026-13-45 10:00:00+00:00", "not a time", ""])
@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/customers"])
def test_an_edited_page_cursor_is_invalid_not_a_500(crm, path, position):
    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()
    response = crm.get(path, {"cursor": cursor})
    assert response.status_code == 404, response.content
    assert response.json()["detail"] == "Invalid cursor"


def test_the_next_page_cursor_still_leads_to_the_next_page(crm):
    for number in range(3):
        Customer.objects.create(account_number=f"PAGE-{number}", name=f"Page {number}")
    first = crm.get("/api/v1/customers", {"page_size": 2}).json()
    following = crm.get(first["next"])
    assert following.status_code == 200
    seen = [c["account_number"] for c in first["results"] + following.json()["results"]]
    assert sorted(seen) == ["PAGE-0", "PAGE-1", "PAGE-2"]
