"""The systems the hub knows and the system-of-record table, readable by staff and every partner."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import SystemFactory, SystemOfRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def landscape():
    crm = SystemFactory(code="crm", kind="crm", name="Salesforce")
    erp = SystemFactory(code="erp", kind="erp", name="SAP")
    wms = SystemFactory(code="wms", kind="wms", name="Manhattan")
    SystemFactory(code="old-shop", kind="ecommerce", is_active=False)
    SystemOfRecordFactory(domain="customers", system=crm)
    for domain in ("products", "prices", "orders"):
        SystemOfRecordFactory(domain=domain, system=erp)
    SystemOfRecordFactory(domain="inventory", system=wms)
    return {"crm": crm, "erp": erp, "wms": wms}


def test_any_partner_lists_systems_with_the_domains_they_own(partner_client, landscape):
    carrier = partner_client("ups", "carrier")
    response = carrier.get("/api/v1/systems", {"page_size": 200})
    assert response.status_code == 200
    owned = {s["code"]: s["owned_domains"] for s in response.json()["results"]}
    assert owned["erp"] == ["orders", "prices", "products"]
    assert owned["crm"] == ["customers"]
    assert owned["ups"] == []


def test_system_by_code_and_unknown_code(partner_client, landscape):
    supplier = partner_client("acme-supply", "supplier")
    data = supplier.get("/api/v1/systems/wms").json()
    assert (data["name"], data["kind"], data["owned_domains"]) == ("Manhattan", "wms", ["inventory"])
    missing = supplier.get("/api/v1/systems/nosuch")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"


def test_system_filters(partner_client, landscape):
    client = partner_client("ups", "carrier")

    def codes(**params):
        response = client.get("/api/v1/systems", params)
        assert response.status_code == 200, response.content
        return {s["code"] for s in response.json()["results"]}

    assert codes(owns="inventory") == {"wms"}
    assert codes(kind="ecommerce") == {"old-shop"}
    assert "old-shop" not in codes(is_active="true")
    assert client.get("/api/v1/systems", {"owns": "weather"}).status_code == 400


def test_system_of_record_table_and_one_domain(partner_client, landscape):
    client = partner_client("ups", "carrier")
    table = client.get("/api/v1/system-of-record")
    assert table.status_code == 200
    assert [(row["domain"], row["system"]) for row in table.json()] == [
        ("customers", "crm"), ("inventory", "wms"), ("orders", "erp"), ("prices", "erp"), ("products", "erp"),
    ]
    one = client.get("/api/v1/system-of-record/inventory").json()
    assert (one["system"], one["system_name"]) == ("wms", "Manhattan")
    assert client.get("/api/v1/system-of-record/invoices").status_code == 404


def test_staff_session_reads_and_anonymous_is_401(client, landscape):
    anonymous = APIClient().get("/api/v1/systems")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get("/api/v1/system-of-record").status_code == 200
    outsider = get_user_model().objects.create_user("visitor", password="x")
    client.force_login(outsider)
    assert client.get("/api/v1/systems").status_code == 403


def test_systems_are_read_only(partner_client, landscape):
    erp = partner_client("erp", "erp")
    assert erp.put("/api/v1/systems/erp", {"name": "Mine"}, format="json").status_code == 405
    assert erp.delete("/api/v1/system-of-record/products").status_code == 405


def test_systems_page_queries_do_not_grow_with_page_size(partner_client, landscape):
    client = partner_client("ups", "carrier")
    for n in range(50):
        SystemFactory(code=f"supplier-{n}", kind="supplier")
    client.get("/api/v1/systems", {"page_size": 1})
    counts = []
    for size in (1, 50):
        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get("/api/v1/systems", {"page_size": size}).json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
