"""Shared set-up for the inbound tests: a urlconf with the inbound routes, and a sender that checks
that every request left an InboundMessage row behind (nothing a partner sent is lost)."""

from __future__ import annotations

import json

from django.test import override_settings
from django.urls import include, path
from rest_framework.test import APIClient

from connectors.models import InboundMessage, InboundStatus, IntegrationException, Team
from tests.factories import SystemOfRecordFactory

urlpatterns = [
    path("api/v1/", include("connectors.api.urls")),
]

URLCONF = "tests.connectors.inbound_support"


def send(client: APIClient, system: str, message_type: str, body, *, message_id: str | None = None,
         raw: bytes | str | None = None, content_type: str = "application/json", **headers):
    """POST a message; assert a new row holds it, byte for byte, with the response's correlation id."""
    before = set(InboundMessage.objects.values_list("id", flat=True))
    data = raw if raw is not None else json.dumps(body)
    if message_id is not None:
        headers["HTTP_X_MESSAGE_ID"] = message_id
    response = client.generic("POST", f"/api/v1/inbound/{system}/{message_type}", data, content_type, **headers)
    new = InboundMessage.objects.exclude(id__in=before)
    assert new.count() == 1, f"expected one stored message for the request, found {new.count()}"
    stored = new.get()
    expected = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
    assert stored.body == expected
    assert stored.correlation_id == response["X-Correlation-ID"]
    response.stored = stored
    return response


CUSTOMER = {
    "external_id": "0015g00000XyZ1AAA",
    "customer": {
        "account_number": "A-1001",
        "name": "Acme Plumbing Inc.",
        "credit_limit": "25000.00",
        "addresses": [{"kind": "billing", "line1": "1 Main St", "city": "Springfield", "is_default": True}],
    },
}


def inbound_routes():
    """Serve the inbound routes (the lead mounts them in hub.urls; tests do not depend on that)."""
    return override_settings(ROOT_URLCONF=URLCONF)


def crm_client(partner_client) -> APIClient:
    """A CRM's API client, the CRM owning customers."""
    client = partner_client("crm", "crm")
    SystemOfRecordFactory(domain="customers", system=client.system)
    return client


def exceptions_for(message):
    return IntegrationException.objects.filter(inbound_message=message)


def assert_failed_with_exception(response, *, status: int, slug: str, category: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith(f"/{slug}")
    assert problem["message_id"] == response.stored.pk
    stored = response.stored
    stored.refresh_from_db()
    assert (stored.status, stored.authenticated) == (InboundStatus.FAILED, True)
    assert stored.errors and stored.response_status == status and stored.response_body == problem
    exception = exceptions_for(stored).get()
    assert (exception.category, exception.team) == (category, Team.INTEGRATION)
    assert exception.fingerprint == f"inbound-message:{stored.pk}"
    assert exception.correlation_id == stored.correlation_id
    return problem, exception




def inbound_connector(system, **settings):
    from connectors.models import Connector

    return Connector.objects.create(
        code=f"{system.code}-inbound", name=f"{system.code} inbound", system=system, kind="webhook",
        direction="inbound", **settings,
    )
