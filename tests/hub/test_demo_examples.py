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
_CURL = re.compile(r"curl -s -X POST http://127\.0\.0\.1:8000(?P<path>/api/v1/[a-z/]+) .*?-d '(?P<body>\{.*?\})'",
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
