"""The process APIs' documented examples (README, OpenAPI) work against the demo data `make run` loads."""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command

from hub.api.examples import ORDER_EXAMPLE, QUOTE_EXAMPLE

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
_CURL = re.compile(r"curl -s -X POST http://127\.0\.0\.1:8000(?P<path>/api/v1/[a-z/._]+) .*?-d '(?P<body>\{.*?\})'",
                   re.DOTALL)


def readme_examples() -> dict[str, dict]:
    found = {match["path"]: json.loads(match["body"]) for match in _CURL.finditer(README.read_text())}
    assert {"/api/v1/pricing/quote", "/api/v1/orders"} <= set(found), sorted(found)
    return found


def test_the_documented_quote_and_order_work_on_the_demo_data(partner_client):
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    crm = partner_client("crm", "crm")
    readme = readme_examples()

    for body in (QUOTE_EXAMPLE, readme["/api/v1/pricing/quote"]):
        response = crm.post("/api/v1/pricing/quote", body, format="json")
        assert response.status_code == 200, response.content
        quote = response.json()
        assert quote["problems"] == [] and quote["customer"]["name"] == "Acme Plumbing Inc."
        assert [line["problems"] for line in quote["lines"]] == [[], []], quote["lines"]

    for body in (ORDER_EXAMPLE, readme["/api/v1/orders"]):
        response = crm.post("/api/v1/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=f'"{uuid.uuid4()}"')
        assert response.status_code == 201, response.content
        assert response.json()["order"]["customer_po"] == "PO-4471"


_PUT_CUSTOMER = re.compile(r"curl -s -X PUT http://127\.0\.0\.1:8000(?P<path>/api/v1/systems/crm/customers/\S+) .*?"
                           r"-d '(?P<body>\{.*?\})'", re.DOTALL)
_ACTIVATION = re.compile(r"`POST /api/v1/inbound/erp/customer\.activated`\s*\(`(?P<body>\{.*?\})`\)", re.DOTALL)


def test_the_documented_customer_walkthrough_and_inbound_milestone_work_on_the_demo_data(partner_client):
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    text = README.read_text()

    # The README's first write: a new CRM account, clean (not a likely duplicate of a demo account).
    put = _PUT_CUSTOMER.search(text)
    crm = partner_client("crm", "crm")
    created = crm.put(put["path"], json.loads(put["body"]), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["onboarding"] == "activation_requested", created.json()

    # Onboarding step 4: the ERP answers; the account is active.
    erp = partner_client("erp", "erp")
    activated = erp.post("/api/v1/inbound/erp/customer.activated", json.loads(_ACTIVATION.search(text)["body"]),
                         format="json", HTTP_X_MESSAGE_ID=f"readme-{uuid.uuid4()}")
    assert activated.status_code in (200, 201), activated.content

    # The inbound example: the WMS ships a line of a demo order, creating the shipment.
    milestone = readme_examples()["/api/v1/inbound/wms/shipment.milestone"]
    wms = partner_client("wms", "wms")
    shipped = wms.post("/api/v1/inbound/wms/shipment.milestone", milestone, format="json",
                       HTTP_X_MESSAGE_ID="wms-88812-4")
    assert shipped.status_code == 201, shipped.content
