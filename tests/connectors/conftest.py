"""Fixtures the inbound test modules share: the inbound routes, and a CRM partner owning customers."""

from __future__ import annotations

import pytest

from tests.connectors.inbound_support import crm_client, inbound_routes


@pytest.fixture
def inbound_urls():
    with inbound_routes():
        yield


@pytest.fixture
def crm(partner_client):
    return crm_client(partner_client)
