"""The hub's live schema as a later release would serve it, for tests of what an upgrade registers."""

from __future__ import annotations

import copy


def with_an_inbound_endpoint(schema: dict) -> dict:
    """A copy of ``schema`` with one more inbound operation (``GET /api/v1/inbound/ping``): a new minor."""
    grown = copy.deepcopy(schema)
    grown["paths"]["/api/v1/inbound/ping"] = {"get": {
        **copy.deepcopy(grown["paths"]["/api/v1/inbound/messages/{message_id}"]["get"]),
        "operationId": "inbound_ping", "summary": "Ping", "parameters": []}}
    return grown
